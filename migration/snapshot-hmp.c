/*
 * The snapshot commands of HMP, as QEMU's: savevm [tag], loadvm tag,
 * delvm tag and info snapshots.  Unlike the QMP jobs they run at once
 * (snapshot.c), and print "Error: ..." when they fail.
 */
#include "snapshot.h"
#include "monitor/hmp.h"
#include "qemu/error.h"
#include "sysemu/context.h"

#include <time.h>

static MigrationObjects *snapshot_hmp_objects(Monitor *mon, TernContext *ctx)
{
    if (!ctx || !ctx->migration) {
        hmp_handle_error(mon, g_error_new_literal(TERN_ERROR, TERN_ERROR_GENERIC,
                                                  "Migration is not initialized"));
        return NULL;
    }
    return ctx->migration;
}

/* As QEMU: a savevm without a tag is named by the local time. */
static char *snapshot_hmp_default_tag(void)
{
    char buf[32];
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(buf, sizeof(buf), "vm-%Y%m%d%H%M%S", &tm);
    return g_strdup(buf);
}

static void snapshot_hmp_savevm(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    MigrationObjects *o = snapshot_hmp_objects(mon, ctx);
    g_autofree char *tag = NULL;
    GError *err = NULL;

    if (!o) {
        return;
    }
    tag = hmp_arg_str(args, "name") ? g_strdup(hmp_arg_str(args, "name"))
                                    : snapshot_hmp_default_tag();
    if (!snapshots_save(o, tag, true, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void snapshot_hmp_loadvm(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    MigrationObjects *o = snapshot_hmp_objects(mon, ctx);
    GError *err = NULL;

    if (o && !snapshots_load(o, hmp_arg_str(args, "name"), &err)) {
        hmp_handle_error(mon, err);
    }
}

static void snapshot_hmp_delvm(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    MigrationObjects *o = snapshot_hmp_objects(mon, ctx);
    GError *err = NULL;

    if (o && !snapshots_delete(o, hmp_arg_str(args, "name"), &err)) {
        hmp_handle_error(mon, err);
    }
}

static void snapshot_hmp_info(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    MigrationObjects *o = snapshot_hmp_objects(mon, ctx);
    g_autofree char *text = NULL;
    GError *err = NULL;

    if (!o) {
        return;
    }
    text = snapshots_info_text(o, &err);
    if (text) {
        monitor_puts(mon, text);
    } else {
        hmp_handle_error(mon, err);
    }
}

/* Names, arguments and help texts as in QEMU 9.1's hmp-commands*.hx. */
static const HMPCommand snapshot_cmds[] = {
    { "savevm", "name:s?", "tag",
      "save a VM snapshot. If no tag is provided, a new snapshot is created",
      snapshot_hmp_savevm },
    { "loadvm", "name:s", "tag", "restore a VM snapshot from its tag", snapshot_hmp_loadvm },
    { "delvm", "name:s", "tag", "delete a VM snapshot from its tag", snapshot_hmp_delvm },
};

static const HMPCommand snapshot_info_cmds[] = {
    { "snapshots", "", "", "show the currently saved VM snapshots", snapshot_hmp_info },
};

void snapshot_hmp_register(void)
{
    hmp_register_commands(snapshot_cmds, G_N_ELEMENTS(snapshot_cmds));
    hmp_register_info_commands(snapshot_info_cmds, G_N_ELEMENTS(snapshot_info_cmds));
}
