/*
 * QMP query-kvm: which accelerator runs the guest, in QEMU's shape.
 */
#include "hw/machine.h"
#include "qapi/qapi-commands.h"
#include "sysemu/accel-ops.h"
#include "sysemu/context.h"

KvmInfo *qmp_query_kvm(TernContext *ctx, GError **errp)
{
    Machine *m = ctx->machine;
    KvmInfo *info = g_new0(KvmInfo, 1);

    info->enabled = m && m->accel_ops == &accel_kvm_ops;
    info->present = accel_kvm_ops.available(NULL);
    return info;
}
