/*
 * set-vcpu-dirty-limit, cancel-vcpu-dirty-limit, query-vcpu-dirty-limit
 * and their HMP twins over the VM's dirty limit (sysemu/dirty-limit.h),
 * with QEMU's texts.  Main loop, BQL held.
 */
#include "dirty-limit-qmp.h"

#include <inttypes.h>

#include "migration/misc.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/context.h"
#include "sysemu/cpus.h"
#include "sysemu/dirty-limit.h"

static bool dirty_limit_index_ok(TernContext *ctx, bool has_cpu_index,
                                 int64_t cpu_index, GError **errp)
{
    if (has_cpu_index && (cpu_index < 0 || cpu_index >= cpus_count(ctx->vm))) {
        error_setg(errp, "incorrect cpu index specified");
        return false;
    }
    return true;
}

/* QEMU's rule: a dirty-limit migration that limits vCPUs owns the limits. */
static bool dirty_limit_owned_by_migration(TernContext *ctx)
{
    return ctx->migration && migration_dirty_limit_held(ctx->migration->out) &&
           dirty_limit_in_service(ctx->vm);
}

bool qmp_cancel_vcpu_dirty_limit(TernContext *ctx, bool has_cpu_index,
                                 int64_t cpu_index, GError **errp)
{
    if (!dirty_limit_supported(ctx->vm)) {
        return true;        /* as QEMU without a dirty ring: nothing to lift */
    }
    if (!dirty_limit_index_ok(ctx, has_cpu_index, cpu_index, errp)) {
        return false;
    }
    if (dirty_limit_owned_by_migration(ctx)) {
        error_setg(errp, "can't cancel dirty page rate limit while migration "
                   "is running");
        return false;
    }
    dirty_limit_set(ctx->vm, has_cpu_index ? cpu_index : -1, 0);
    return true;
}

bool qmp_set_vcpu_dirty_limit(TernContext *ctx, bool has_cpu_index,
                              int64_t cpu_index, uint64_t dirty_rate,
                              GError **errp)
{
    if (!dirty_limit_supported(ctx->vm)) {
        error_setg(errp, "dirty page limit feature requires KVM with "
                   "accelerator property 'dirty-ring-size' set'");
        return false;
    }
    if (!dirty_limit_index_ok(ctx, has_cpu_index, cpu_index, errp)) {
        return false;
    }
    if (dirty_limit_owned_by_migration(ctx)) {
        error_setg(errp, "can't set dirty page rate limit while migration is running");
        return false;
    }
    if (!dirty_rate) {
        return qmp_cancel_vcpu_dirty_limit(ctx, has_cpu_index, cpu_index, errp);
    }
    dirty_limit_set(ctx->vm, has_cpu_index ? cpu_index : -1, dirty_rate);
    return true;
}

DirtyLimitInfoList *qmp_query_vcpu_dirty_limit(TernContext *ctx, GError **errp)
{
    DirtyLimitInfoList *head = NULL, **tail = &head;

    for (int i = 0; i < cpus_count(ctx->vm); i++) {
        DirtyLimitInfo *info;
        uint64_t limit, current;

        if (!dirty_limit_get(ctx->vm, i, &limit, &current)) {
            continue;
        }
        info = g_new0(DirtyLimitInfo, 1);
        info->cpu_index = i;
        info->limit_rate = limit;
        info->current_rate = current;
        *tail = g_new0(DirtyLimitInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}

static void dirty_limit_hmp_set(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    int64_t dirty_rate = hmp_arg_int(args, "dirty_rate", 0);
    int64_t cpu_index = hmp_arg_int(args, "cpu_index", -1);
    GError *err = NULL;

    if (dirty_rate < 0) {
        error_setg(&err, "invalid dirty page limit %" PRId64, dirty_rate);
    } else {
        qmp_set_vcpu_dirty_limit(ctx, cpu_index != -1, cpu_index, dirty_rate, &err);
    }
    hmp_handle_error(mon, err);
}

static void dirty_limit_hmp_cancel(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    int64_t cpu_index = hmp_arg_int(args, "cpu_index", -1);
    GError *err = NULL;

    qmp_cancel_vcpu_dirty_limit(ctx, cpu_index != -1, cpu_index, &err);
    hmp_handle_error(mon, err);
}

static void dirty_limit_hmp_info(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    g_autoptr(DirtyLimitInfoList) head = qmp_query_vcpu_dirty_limit(ctx, NULL);

    if (!head) {
        monitor_printf(mon, "Dirty page limit not enabled!\n");
        return;
    }
    for (DirtyLimitInfoList *l = head; l; l = l->next) {
        monitor_printf(mon, "vcpu[%" PRIi64 "], limit rate %" PRIi64 " (MB/s), "
                       "current rate %" PRIi64 " (MB/s)\n", l->value->cpu_index,
                       l->value->limit_rate, l->value->current_rate);
    }
}

static const HMPCommand dirty_limit_cmds[] = {
    { "set_vcpu_dirty_limit", "dirty_rate:i,cpu_index:i?", "dirty_rate [cpu_index]",
      "set dirty page rate limit, use cpu_index to set limit on a specified "
      "virtual cpu", dirty_limit_hmp_set },
    { "cancel_vcpu_dirty_limit", "cpu_index:i?", "[cpu_index]",
      "cancel dirty page rate limit, use cpu_index to cancel limit on a "
      "specified virtual cpu", dirty_limit_hmp_cancel },
};

static const HMPCommand dirty_limit_info_cmds[] = {
    { "vcpu_dirty_limit", "", "", "show dirty page limit information of all vCPU",
      dirty_limit_hmp_info },
};

void dirty_limit_hmp_register(void)
{
    hmp_register_commands(dirty_limit_cmds, G_N_ELEMENTS(dirty_limit_cmds));
    hmp_register_info_commands(dirty_limit_info_cmds,
                               G_N_ELEMENTS(dirty_limit_info_cmds));
}
