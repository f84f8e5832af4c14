/*
 * libFuzzer target: an HMP command line (monitor/hmp.c, hmp-args.c): the
 * command and info sub-command lookup, help, and the argument parser over
 * every args_type tern's commands use (strings, quoted strings with
 * escapes, flags, flags with values, booleans, sizes, integers, optional
 * arguments, the rest of the line).  The commands are stand-ins with
 * tern's names and args_type strings that print what was parsed: the
 * parser, not the machine, is the target.  The input up to its first NUL
 * is one line.
 */
#include "monitor-internal.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints each parsed argument, so every value the parser made is read. */
static void fuzz_hmp_print(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    g_autoptr(GList) names = json_object_get_members(args);

    for (GList *l = names; l; l = l->next) {
        JsonNode *v = json_object_get_member(args, l->data);
        GType t = json_node_get_value_type(v);

        if (t == G_TYPE_STRING) {
            monitor_printf(mon, "%s=[%s] ", (char *)l->data, json_node_get_string(v));
        } else if (t == G_TYPE_BOOLEAN) {
            monitor_printf(mon, "%s=%d ", (char *)l->data, json_node_get_boolean(v));
        } else {
            monitor_printf(mon, "%s=%" G_GINT64_FORMAT " ", (char *)l->data,
                           json_node_get_int(v));
        }
    }
}

/* tern's HMP commands' names and args_type (migration, system, screendump, dirty rate/limit). */
static const HMPCommand fuzz_hmp_cmds[] = {
    { "migrate", "detach:-d,resume:-r,uri:s", "", "", fuzz_hmp_print },
    { "migrate_cancel", "", "", "", fuzz_hmp_print },
    { "migrate_continue", "state:s", "", "", fuzz_hmp_print },
    { "migrate_incoming", "uri:s", "", "", fuzz_hmp_print },
    { "migrate_set_capability", "capability:s,state:b", "", "", fuzz_hmp_print },
    { "migrate_set_parameter", "parameter:s,value:s", "", "", fuzz_hmp_print },
    { "migrate_recover", "uri:s", "", "", fuzz_hmp_print },
    { "stop|s", "", "", "", fuzz_hmp_print },
    { "cont|c", "", "", "", fuzz_hmp_print },
    { "screendump", "filename:s,format:-fs,device:s?,head:i?", "", "", fuzz_hmp_print },
    { "set_vcpu_dirty_limit", "dirty_rate:i,cpu_index:i?", "", "", fuzz_hmp_print },
    { "cancel_vcpu_dirty_limit", "cpu_index:i?", "", "", fuzz_hmp_print },
    { "calc_dirty_rate", "dirty_ring:-r,dirty_bitmap:-b,second:i,sample_pages_per_GB:i?",
      "", "", fuzz_hmp_print },
    { "x_size", "sz:o", "", "", fuzz_hmp_print },
    { "x_rest", "text:S", "", "", fuzz_hmp_print },
};

static const HMPCommand fuzz_hmp_info_cmds[] = {
    { "migrate", "", "", "", fuzz_hmp_print },
    { "status", "", "", "", fuzz_hmp_print },
    { "vcpu_dirty_limit", "", "", "", fuzz_hmp_print },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool registered;
    g_autofree char *line = g_strndup((const char *)data, size);
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;

    if (!registered) {
        hmp_register_commands(fuzz_hmp_cmds, G_N_ELEMENTS(fuzz_hmp_cmds));
        hmp_register_info_commands(fuzz_hmp_info_cmds, G_N_ELEMENTS(fuzz_hmp_info_cmds));
        registered = true;
    }
    out = qmp_human_monitor_command(NULL, line, false, 0, &err);
    return 0;
}
