/*
 * The monitor's own HMP commands: help, info (and info version), getfd,
 * closefd.  Each calls the QMP implementation and only formats its result.
 */
#include "hmp-internal.h"

#include "qapi/qapi-commands.h"

#include <string.h>

typedef struct HelpCtx {
    Monitor *mon;
    const char *prefix;         /* "" or "info " */
    const char *only;           /* print just this command, or NULL */
    bool found;
} HelpCtx;

static void help_one(const HMPCommand *cmd, void *opaque)
{
    HelpCtx *h = opaque;
    g_auto(GStrv) names = g_strsplit(cmd->name, "|", -1);
    bool match = !h->only;

    for (char **n = names; !match && *n; n++) {
        match = !strcmp(*n, h->only);
    }
    if (match) {
        monitor_printf(h->mon, "%s%s %s -- %s\n", h->prefix, cmd->name,
                       cmd->params ? cmd->params : "", cmd->help);
        h->found = true;
    }
}

static void hmp_help(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    const char *name = hmp_arg_str(args, "name");
    g_auto(GStrv) words = g_strsplit(name ? name : "", " ", 3);
    HelpCtx h = { .mon = mon, .prefix = "" };

    if (!name) {
        hmp_for_each_command(false, help_one, &h);
        return;
    }
    if (!strcmp(words[0], "info")) {
        h.prefix = "info ";
        h.only = words[1];
        hmp_for_each_command(true, help_one, &h);
    } else {
        h.only = words[0];
        hmp_for_each_command(false, help_one, &h);
    }
    if (!h.found) {
        monitor_printf(mon, "unknown command: '%s'\n", name);
    }
}

/* Reached only as "info" alone: the dispatcher handles "info ITEM". */
static void hmp_info(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    HelpCtx h = { .mon = mon, .prefix = "info " };

    hmp_for_each_command(true, help_one, &h);
}

static void hmp_info_version(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    g_autoptr(VersionInfo) info = qmp_query_version(ctx, NULL);

    monitor_printf(mon, "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%"
                   G_GINT64_FORMAT " (%s)\n", info->qemu->major,
                   info->qemu->minor, info->qemu->micro, info->package);
}

static void hmp_getfd(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;

    qmp_getfd(ctx, hmp_arg_str(args, "fdname"), &err);
    hmp_handle_error(mon, err);
}

static void hmp_closefd(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;

    qmp_closefd(ctx, hmp_arg_str(args, "fdname"), &err);
    hmp_handle_error(mon, err);
}

const HMPCommand hmp_builtin_cmds[] = {
    { "help|?", "name:S?", "[cmd]",
      "show the help", hmp_help },
    { "info", "item:s?", "[subcommand]",
      "show various information about the system state", hmp_info },
    { "getfd", "fdname:s", "name",
      "receive a file descriptor via SCM rights and assign it a name",
      hmp_getfd },
    { "closefd", "fdname:s", "name",
      "close a file descriptor previously passed via SCM rights", hmp_closefd },
};
const size_t hmp_builtin_cmds_len = G_N_ELEMENTS(hmp_builtin_cmds);

const HMPCommand hmp_builtin_info_cmds[] = {
    { "version", "", "", "show the version of tern", hmp_info_version },
};
const size_t hmp_builtin_info_cmds_len = G_N_ELEMENTS(hmp_builtin_info_cmds);
