/*
 * What the HMP files share: the argument parser, the command tables and
 * the built-in commands.
 */
#ifndef MONITOR_HMP_INTERNAL_H
#define MONITOR_HMP_INTERNAL_H

#include "monitor/hmp.h"

/* Parse the text after the command name; NULL + @errp (one line) if bad. */
JsonObject *hmp_parse_args(const HMPCommand *cmd, const char *args,
                           GError **errp);

/* The command called @name (or an alias of it in "q|quit"), or NULL. */
const HMPCommand *hmp_find_command(const char *name, bool info);

/* Call @fn for every command (@info: info sub-commands) in table order. */
void hmp_for_each_command(bool info,
                          void (*fn)(const HMPCommand *cmd, void *opaque),
                          void *opaque);

/* The monitor's built-in commands (hmp-cmds.c). */
extern const HMPCommand hmp_builtin_cmds[];
extern const size_t hmp_builtin_cmds_len;
extern const HMPCommand hmp_builtin_info_cmds[];
extern const size_t hmp_builtin_info_cmds_len;

#endif
