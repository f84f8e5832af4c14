/*
 * Wiring the migration subsystem into the machine at start-up: which
 * sections the stream carries, and the objects QMP works on.
 */
#include "migration/misc.h"
#include "migration/migration-hmp.h"
#include "migration/migration.h"
#include "migration/ram.h"
#include "migration/transport.h"
#include "hw/machine.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"
#include "sysemu/runstate.h"

/* Everything migration_init() creates; one per process. */
typedef struct MigrationObjects {
    SaveVMState *savevm;
    MigrationOptions *opts;
    RAMState *ram;
    GlobalState global_state;
    MigrationState *out;
    MigrationIncomingState *in;
} MigrationObjects;

static MigrationObjects objects;

static bool ram_dirty_sync(void *opaque, RAMBlock *rb, unsigned long *dest,
                           GError **errp)
{
    return memory_sync_dirty(rb, dest, errp);
}

static void device_load_lock(void *opaque)
{
    bql_lock();
}

static void device_load_unlock(void *opaque)
{
    bql_unlock();
}

/* Capabilities are frozen while this process sends or loads a stream. */
static bool migration_in_progress(void)
{
    return migration_is_running(g_atomic_int_get(&objects.out->state)) ||
           migration_incoming_is_loading(objects.in);
}

static void max_bandwidth_changed(uint64_t bytes_per_second)
{
    migration_set_max_bandwidth(objects.out, bytes_per_second);
}

static void downtime_limit_changed(uint64_t ms)
{
    migration_set_downtime_limit(objects.out, ms);
}

/* The testdev's CONTROL.BLOCK_MIGRATION bit raises a migration blocker. */
#define TESTDEV_BLOCKER_REASON "testdev: migration is blocked by the guest (CONTROL.BLOCK_MIGRATION)"

static void testdev_blocker_changed(TestDevState *dev, bool blocked, void *opaque)
{
    MigrationState *s = opaque;

    if (blocked) {
        migration_add_blocker(s, TESTDEV_BLOCKER_REASON);
    } else {
        migration_remove_blocker(s, TESTDEV_BLOCKER_REASON);
    }
}

bool migration_init(Machine *m, GError **errp)
{
    static const MigrationOptionsLiveHooks live_hooks = {
        .max_bandwidth_changed = max_bandwidth_changed,
        .downtime_limit_changed = downtime_limit_changed,
    };
    RAMDirtySource dirty = { .sync = ram_dirty_sync };
    MigrationObjects *o = &objects;

    o->opts = migration_options_new();
    o->savevm = savevm_state_new();
    o->out = migration_state_new(o->savevm, o->opts, NULL, &o->global_state);
    o->ram = ram_state_new(ram_block_list_mapped(), &dirty, &o->out->stats);
    o->out->ram = o->ram;
    o->in = migration_incoming_new(o->savevm, o->opts, &o->global_state);

    savevm_register_live(o->savevm, "ram", 0, 4, &ram_save_handlers, o->ram);
    savevm_register_vmsd(o->savevm, "globalstate", 0, &vmstate_globalstate,
                         &o->global_state);
    machine_register_vmstate(m, o->savevm);
    if (m->testdev) {
        testdev_set_blocker_hook(m->testdev, testdev_blocker_changed, o->out);
    }
    savevm_set_device_load_lock(o->savevm, device_load_lock, device_load_unlock, NULL);

    migration_options_init_current(o->opts, migration_in_progress);
    migration_options_set_live_hooks(&live_hooks);
    migration_object_init(o->out, o->in);
    migration_hmp_register();
    return true;
}

bool migration_incoming_setup(const char *uri, bool autostart, GError **errp)
{
    MigrationAddress *addr;

    runstate_set_autostart(autostart);
    if (g_str_equal(uri, "defer")) {
        objects.in->deferred = true;
        return true;
    }
    addr = migration_uri_parse(uri, errp);
    if (!addr || !transport_prepare(addr, errp)) {
        qapi_free_MigrationAddress(addr);
        error_prepend(errp, "-incoming %s: ", uri);
        return false;
    }
    return migration_incoming_start(objects.in, addr, true, errp);
}

void migration_shutdown(void)
{
    MigrationObjects *o = &objects;

    if (!o->savevm) {
        return;
    }
    /* The threads take the BQL; let them finish without it. */
    bql_unlock();
    migration_state_free(o->out);
    migration_incoming_free(o->in);
    bql_lock();
    migration_options_set_live_hooks(NULL);
    migration_options_init_current(NULL, NULL);
    ram_state_free(o->ram);
    savevm_state_free(o->savevm);
    migration_options_free(o->opts);
    *o = (MigrationObjects){ 0 };
}
