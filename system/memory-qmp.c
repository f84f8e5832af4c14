/*
 * QMP over guest memory: query-memory-size-summary.
 */
#include "hw/machine.h"
#include "qapi/qapi-commands.h"
#include "sysemu/context.h"
#include "sysemu/memory.h"

MemoryInfo *qmp_query_memory_size_summary(TernContext *ctx, GError **errp)
{
    MemoryInfo *info = g_new0(MemoryInfo, 1);

    info->base_memory = memory_main_ram_size(ctx->machine->memory);
    /* QEMU reports 0 plugged memory for a machine that could hot-plug;
     * tern cannot, but keeps the member so replies look the same. */
    info->has_plugged_memory = true;
    info->plugged_memory = 0;
    return info;
}
