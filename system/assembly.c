/*
 * The one place the process is assembled.  The board (hw/) and the
 * migration core (migration/) do not know each other: here the machine's
 * RAM and dirty log are handed to the migration objects, the machine's
 * devices and vCPUs register their sections, device loads take the BQL,
 * and a device's blocker becomes a migration blocker.
 */
#include "assembly.h"

#include "migration/migration-hmp.h"
#include "migration/migration.h"
#include "migration/misc.h"
#include "monitor/monitor.h"
#include "qemu/main-loop.h"
#include "sysemu/hmp-cmds.h"
#include "sysemu/memory.h"

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
    return memory_sync_dirty(rb, dest, errp);
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

void assembly_init_monitors(TernContext *ctx, const QmpCommandList *cmds)
{
    ctx->monitors = monitors_new(cmds, ctx);
    system_hmp_register();
    migration_hmp_register();
}

bool assembly_build(TernContext *ctx, MachineConfig *cfg, GError **errp)
{
    RAMDirtySource dirty = { .sync = assembly_dirty_sync };
    MigrationObjects *o;

    cfg->blocker = (DeviceBlocker){ assembly_device_blocker, ctx };
    ctx->machine = machine_create(cfg, errp);
    if (!ctx->machine) {
        return false;
    }
    o = ctx->migration = migration_objects_new(ram_block_list_mapped(),
                                               &dirty);
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
    machine_free(g_steal_pointer(&ctx->machine));
}
