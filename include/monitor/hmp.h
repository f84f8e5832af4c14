/*
 * HMP commands: each area of tern describes its human commands in a static
 * table and registers it at start-up.  A handler parses nothing itself: it
 * gets its arguments typed, calls the QMP implementation (qmp_*()) that does
 * the work, and prints the result with monitor_printf().
 */
#ifndef MONITOR_HMP_H
#define MONITOR_HMP_H

#include "monitor/monitor.h"

#include <json-glib/json-glib.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One command.  @args_type lists the arguments in QEMU's notation,
 * comma-separated "name:type", where type is
 *   s  a word, or a "quoted string" with \" \\ \n escapes
 *   S  the rest of the line
 *   b  on/off (also yes/no, true/false)
 *   i  a signed 64-bit integer (decimal or 0x hex)
 *   o  a size in bytes ("64M", "1G", "4096")
 *   -x a flag "-x" given before the other arguments (stored as true)
 *   -xs a flag with a value, "-x WORD", where it stands among the
 *      arguments (stored as the string), e.g. "filename:s,format:-fs"
 * and a trailing '?' makes it optional.  Example: "detach:-d,uri:s".
 */
typedef struct HMPCommand {
    const char *name;
    const char *args_type;
    const char *params;         /* synopsis for help, e.g. "[-d] uri" */
    const char *help;           /* one line */
    /*
     * Main loop, BQL held.  @ctx: the context the monitors were
     * given.  @args: name -> string / int / bool (borrowed).
     */
    void (*cmd)(Monitor *mon, TernContext *ctx, JsonObject *args);
} HMPCommand;

/*
 * Add commands (@info: "info" sub-commands) to the shell.  The table is
 * borrowed and must be static.  Start-up, main thread, before monitors run.
 */
void hmp_register_commands(const HMPCommand *table, size_t n);
void hmp_register_info_commands(const HMPCommand *table, size_t n);

/* Forget registered tables (monitors_free() calls it). */
void hmp_unregister_all(void);

/* Argument getters; absent optional arguments give NULL / false / @def. */
const char *hmp_arg_str(JsonObject *args, const char *name);
bool hmp_arg_bool(JsonObject *args, const char *name);
int64_t hmp_arg_int(JsonObject *args, const char *name, int64_t def);

/* Print "Error: <message>" for a failed QMP call and free @err (NULL-safe). */
void hmp_handle_error(Monitor *mon, GError *err);

/* Run one command line on @mon (as if typed at its prompt). */
void hmp_handle_command(Monitor *mon, const char *cmdline);

#endif
