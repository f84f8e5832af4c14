/*
 * QMP commands over the run state: query-status, stop, cont, quit,
 * query-name, query-uuid.
 * They run in the main loop with the BQL held and follow QEMU's semantics,
 * including inmigrate, where stop and cont only decide whether the VM will
 * start once the incoming migration completes.
 */
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/context.h"
#include "sysemu/runstate.h"

StatusInfo *qmp_query_status(TernContext *ctx, GError **errp)
{
    StatusInfo *info = g_new0(StatusInfo, 1);

    info->running = runstate_is_running(ctx->vm);
    info->status = runstate_get(ctx->vm);
    return info;
}

bool qmp_stop(TernContext *ctx, GError **errp)
{
    if (runstate_check(ctx->vm, RUN_STATE_INMIGRATE)) {
        runstate_set_autostart(ctx->vm, false);
    } else {
        vm_stop(ctx->vm, RUN_STATE_PAUSED);
    }
    return true;
}

bool qmp_cont(TernContext *ctx, GError **errp)
{
    if (runstate_needs_reset(ctx->vm)) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return false;
    }
    if (runstate_check(ctx->vm, RUN_STATE_FINISH_MIGRATE)) {
        error_setg(errp, "Migration is not finalized yet");
        return false;
    }
    if (runstate_check(ctx->vm, RUN_STATE_INMIGRATE)) {
        runstate_set_autostart(ctx->vm, true);
    } else {
        vm_start(ctx->vm);
    }
    return true;
}

/* The reply goes out before the main loop acts on the shutdown request. */
bool qmp_quit(TernContext *ctx, GError **errp)
{
    qemu_system_shutdown_request(ctx->vm, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return true;
}

NameInfo *qmp_query_name(TernContext *ctx, GError **errp)
{
    NameInfo *info = g_new0(NameInfo, 1);

    info->name = g_strdup(vm_get_name(ctx->vm));
    return info;
}

UuidInfo *qmp_query_uuid(TernContext *ctx, GError **errp)
{
    UuidInfo *info = g_new0(UuidInfo, 1);

    info->UUID = vm_uuid_string(ctx->vm);
    return info;
}
