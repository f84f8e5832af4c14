/*
 * HMP commands over the run state and guest memory: stop, cont (c), quit
 * (q), info status, info name, info ramblock.  Each calls the QMP command
 * that does the job and only formats its result; info ramblock prints the
 * block table QEMU prints (QEMU has only an unstable QMP twin for it).
 */
#include "hmp-cmds.h"

#include "hw/machine.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"
#include "sysemu/context.h"
#include "sysemu/memory.h"

static void hmp_stop(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_stop(ctx, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_cont(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_cont(ctx, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_quit(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_quit(ctx, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_info_status(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;
    g_autoptr(StatusInfo) info = qmp_query_status(ctx, &err);

    if (!info) {
        hmp_handle_error(mon, err);
        return;
    }
    /* QEMU's wording: the state is named unless it is plain running/paused. */
    monitor_printf(mon, "VM status: %s", info->running ? "running" : "paused");
    if (!info->running && info->status != RUN_STATE_PAUSED) {
        monitor_printf(mon, " (%s)", RunState_str(info->status));
    }
    monitor_printf(mon, "\n");
}

static void hmp_info_name(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    GError *err = NULL;
    g_autoptr(NameInfo) info = qmp_query_name(ctx, &err);

    if (!info) {
        hmp_handle_error(mon, err);
        return;
    }
    if (info->name) {
        monitor_printf(mon, "%s\n", info->name);
    }
}

static void hmp_info_ramblock(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    g_autofree char *table = memory_format_ramblocks(ctx->machine->memory);

    monitor_puts(mon, table);
}

static const HMPCommand system_cmds[] = {
    { "stop|s", "", "", "stop emulation", hmp_stop },
    { "cont|c", "", "", "resume emulation", hmp_cont },
    { "quit|q", "", "", "quit the emulator", hmp_quit },
};

static const HMPCommand system_info_cmds[] = {
    { "status", "", "", "show the current VM status (running|paused)",
      hmp_info_status },
    { "name", "", "", "show the current VM name", hmp_info_name },
    { "ramblock", "", "", "Display system ramblock information",
      hmp_info_ramblock },
};

void system_hmp_register(void)
{
    hmp_register_commands(system_cmds, G_N_ELEMENTS(system_cmds));
    hmp_register_info_commands(system_info_cmds,
                               G_N_ELEMENTS(system_info_cmds));
}
