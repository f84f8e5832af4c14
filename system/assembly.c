/*
 * The one place the process is assembled.  The board (hw/) and the
 * migration core (migration/) do not know each other: here the machine's
 * RAM, dirty log and run state are handed to the migration objects, the
 * machine's devices and vCPUs register their sections, device loads take
 * the BQL, and a device's blocker becomes a migration blocker.
 */
#include "assembly.h"
#include "cmdline.h"
#include "crypto/object-set.h"
#include "dirty-limit-qmp.h"
#include "qemu/error.h"
#include "hmp-cmds.h"
#include "screendump-cmds.h"

#include "migration/migration-hmp.h"
#include "migration/migration.h"
#include "migration/misc.h"
#include "migration/snapshots.h"
#include "monitor/monitor.h"
#include "qemu/main-loop.h"
#include "sysemu/cpu-throttle.h"
#include "sysemu/cpus.h"
#include "sysemu/dirty-limit.h"
#include "sysemu/memory.h"
#include "sysemu/runstate.h"
#include "sysemu/vm.h"

#include <string.h>

/* A device asks for, or drops, a migration blocker.  BQL held. */
static void assembly_device_blocker(void *opaque, const char *reason,
                                    bool blocked)
{
    TernContext *ctx = opaque;

    /* The vCPUs, the only writers of device registers, start afterwards. */
    g_assert(ctx->migration);
    if (blocked) {
        migration_add_blocker(ctx->migration->out, reason);
    } else {
        migration_remove_blocker(ctx->migration->out, reason);
    }
}

/* The machine's dirty log, for the "ram" section (migration thread). */
static bool assembly_dirty_sync(void *opaque, RAMBlock *rb,
                                unsigned long *dest, GError **errp)
{
    TernContext *ctx = opaque;

    return memory_sync_dirty(ctx->machine->memory, rb, dest, errp);
}

/* Devices change state under the BQL, also when a stream loads them. */
static void assembly_device_load_lock(void *opaque)
{
    bql_lock();
}

static void assembly_device_load_unlock(void *opaque)
{
    bql_unlock();
}

/*
 * The running VM as the migration core sees it: vm/'s run state, the
 * vCPUs' start and stop, the dirty log, -uuid, and the board's type.
 */
static bool assembly_vm_uuid(void *opaque, uint8_t uuid[16])
{
    TernContext *ctx = opaque;

    if (!vm_has_uuid(ctx->vm)) {
        return false;
    }
    memcpy(uuid, vm_get_uuid(ctx->vm), 16);
    return true;
}

static RunState assembly_vm_get_state(void *opaque)
{
    TernContext *ctx = opaque;

    return runstate_get(ctx->vm);
}

static void assembly_vm_set_state(void *opaque, RunState state)
{
    TernContext *ctx = opaque;

    runstate_set(ctx->vm, state);
}

static bool assembly_vm_may_enter(void *opaque, RunState state)
{
    TernContext *ctx = opaque;

    return runstate_transition_valid(runstate_get(ctx->vm), state);
}

static bool assembly_vm_autostart(void *opaque)
{
    TernContext *ctx = opaque;

    return runstate_autostart(ctx->vm);
}

static void assembly_vm_start(void *opaque)
{
    TernContext *ctx = opaque;

    vm_start(ctx->vm);
}

static void assembly_vm_stop(void *opaque, RunState state)
{
    TernContext *ctx = opaque;

    vm_stop_force_state(ctx->vm, state);
}

static bool assembly_vm_dirty_log_start(void *opaque, GError **errp)
{
    TernContext *ctx = opaque;

    return memory_dirty_log_start(ctx->machine->memory, errp);
}

static void assembly_vm_dirty_log_stop(void *opaque)
{
    TernContext *ctx = opaque;

    memory_dirty_log_stop(ctx->machine->memory);
}

static void assembly_vm_throttle_set(void *opaque, int pct)
{
    TernContext *ctx = opaque;

    if (pct) {
        cpu_throttle_set(ctx->vm, pct);
    } else {
        cpu_throttle_stop(ctx->vm);
    }
}

static int assembly_vm_throttle_get(void *opaque)
{
    TernContext *ctx = opaque;

    return cpu_throttle_get_percentage(ctx->vm);
}

static int assembly_vm_vcpu_count(void *opaque)
{
    TernContext *ctx = opaque;

    return cpus_count(ctx->vm);
}

static int assembly_vm_vcpu_index_of_thread(void *opaque, int tid)
{
    TernContext *ctx = opaque;

    return cpus_index_of_thread(ctx->vm, tid);
}

static bool assembly_vm_dirty_limit_supported(void *opaque)
{
    TernContext *ctx = opaque;

    return dirty_limit_supported(ctx->vm);
}

static void assembly_vm_dirty_limit_set(void *opaque, uint64_t mbps, uint64_t period_ms)
{
    TernContext *ctx = opaque;

    dirty_limit_set_period(ctx->vm, mbps ? (int64_t)period_ms * 1000 : 0);
    dirty_limit_set(ctx->vm, -1, mbps);
}

static bool assembly_vm_dirty_limit_info(void *opaque, uint64_t *throttle_us,
                                         uint64_t *ring_full_us)
{
    TernContext *ctx = opaque;

    return dirty_limit_round_info(ctx->vm, throttle_us, ring_full_us);
}

static const MigrationMachineOps assembly_vm = {
    .machine_type = MACHINE_TYPE_NAME,
    .uuid = assembly_vm_uuid,
    .get_state = assembly_vm_get_state,
    .set_state = assembly_vm_set_state,
    .may_enter = assembly_vm_may_enter,
    .autostart = assembly_vm_autostart,
    .start = assembly_vm_start,
    .stop = assembly_vm_stop,
    .dirty_log_start = assembly_vm_dirty_log_start,
    .dirty_log_stop = assembly_vm_dirty_log_stop,
    .throttle_set = assembly_vm_throttle_set,
    .throttle_get = assembly_vm_throttle_get,
    .vcpu_count = assembly_vm_vcpu_count,
    .vcpu_index_of_thread = assembly_vm_vcpu_index_of_thread,
    .dirty_limit_supported = assembly_vm_dirty_limit_supported,
    .dirty_limit_set = assembly_vm_dirty_limit_set,
    .dirty_limit_info = assembly_vm_dirty_limit_info,
};

void assembly_init_vm(TernContext *ctx)
{
    ctx->vm = vm_new();
}

void assembly_init_monitors(TernContext *ctx, const QmpCommandList *cmds)
{
    ctx->monitors = monitors_new(cmds, ctx);
    system_hmp_register();
    screendump_hmp_register();
    migration_hmp_register();
    snapshot_hmp_register();
    dirty_rate_hmp_register();
    dirty_limit_hmp_register();
}

bool assembly_create_objects(TernContext *ctx, GPtrArray *objects, GError **errp)
{
    ctx->objects = object_set_new();
    for (guint i = 0; i < objects->len; i++) {
        CmdlineObject *obj = g_ptr_array_index(objects, i);

        if (!object_set_add(ctx->objects, obj->opts, errp)) {
            error_prepend(errp, "-object %s: ", obj->spec);
            return false;
        }
    }
    return true;
}

bool assembly_build(TernContext *ctx, MachineConfig *cfg, GError **errp)
{
    RAMDirtySource dirty = { .sync = assembly_dirty_sync, .opaque = ctx };
    MigrationMachineOps vm = assembly_vm;
    MigrationObjects *o;

    cfg->blocker = (DeviceBlocker){ assembly_device_blocker, ctx };
    ctx->machine = machine_create(cfg, ctx->vm, errp);
    if (!ctx->machine) {
        return false;
    }
    vm.opaque = ctx;
    o = ctx->migration = migration_objects_new(
        ram_block_list_mapped(ctx->machine->memory), &dirty, &vm);
    migration_objects_set_tls(o, ctx->objects);
    machine_register_vmstate(ctx->machine, o->savevm);
    savevm_set_device_load_lock(o->savevm, assembly_device_load_lock,
                                assembly_device_load_unlock, NULL);
    return true;
}

void assembly_teardown(TernContext *ctx)
{
    if (ctx->migration) {
        /* The threads take the BQL; let them finish without it. */
        bql_unlock();
        migration_objects_stop(ctx->migration);
        bql_lock();
        migration_objects_free(g_steal_pointer(&ctx->migration));
    }
    monitors_free(g_steal_pointer(&ctx->monitors));
    object_set_free(g_steal_pointer(&ctx->objects));
    machine_free(g_steal_pointer(&ctx->machine));
    vm_free(g_steal_pointer(&ctx->vm));
}
