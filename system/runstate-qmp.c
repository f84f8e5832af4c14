/*
 * QMP commands over the run state: query-status, stop, cont, query-name.
 * They run in the main loop with the BQL held and follow QEMU's semantics,
 * including inmigrate, where stop and cont only decide whether the VM will
 * start once the incoming migration completes.
 */
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/runstate.h"

StatusInfo *qmp_query_status(TernContext *ctx, GError **errp)
{
    StatusInfo *info = g_new0(StatusInfo, 1);

    info->running = runstate_is_running();
    info->status = runstate_get();
    return info;
}

bool qmp_stop(TernContext *ctx, GError **errp)
{
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        runstate_set_autostart(false);
    } else {
        vm_stop(RUN_STATE_PAUSED);
    }
    return true;
}

bool qmp_cont(TernContext *ctx, GError **errp)
{
    if (runstate_needs_reset()) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return false;
    }
    if (runstate_check(RUN_STATE_FINISH_MIGRATE)) {
        error_setg(errp, "Migration is not finalized yet");
        return false;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        runstate_set_autostart(true);
    } else {
        vm_start();
    }
    return true;
}

NameInfo *qmp_query_name(TernContext *ctx, GError **errp)
{
    NameInfo *info = g_new0(NameInfo, 1);

    info->name = g_strdup(vm_get_name());
    return info;
}

UuidInfo *qmp_query_uuid(TernContext *ctx, GError **errp)
{
    UuidInfo *info = g_new0(UuidInfo, 1);

    info->UUID = vm_uuid_string();
    return info;
}
