/*
 * The migration objects, created and freed as a whole: the sections every
 * stream carries (ram, globalstate), the options, and the outgoing and
 * incoming states.  What they run on (the RAM blocks, how dirty pages are
 * collected, the run state and the VM's start and stop, the lock around
 * device loads, the devices' sections) is
 * given by the process assembly (system/assembly.c): nothing here knows
 * the machine.
 */
#include "migration/misc.h"
#include "snapshot.h"

#include "migration/migration.h"
#include "migration/ram-verify.h"
#include "migration/savevm.h"
#include "dirty-rate.h"

MigrationObjects *migration_objects_new(GPtrArray *ram_blocks,
                                        const RAMDirtySource *dirty,
                                        const MigrationMachineOps *machine)
{
    MigrationObjects *o = g_new0(MigrationObjects, 1);

    o->opts = migration_options_new();
    o->savevm = savevm_state_new();
    o->out = migration_state_new(o->savevm, o->opts, NULL, &o->global_state,
                                 machine);
    o->ram = ram_state_new(ram_blocks, dirty, &o->out->stats);
    o->out->ram = o->ram;
    o->in = migration_incoming_new(o->savevm, o->opts, &o->global_state,
                                   machine);
    o->in->ram = o->ram;
    o->in_retired = g_ptr_array_new_with_free_func((GDestroyNotify)migration_incoming_free);
    o->dirty_rate = dirty_rate_new(ram_blocks, dirty, machine, o->out);

    savevm_register_live(o->savevm, "ram", 0, 4, &ram_save_handlers, o->ram);
    /* After "ram": its END section follows the RAM's last pages. */
    savevm_register_live(o->savevm, RAM_VERIFY_SECTION_IDSTR, 0, RAM_VERIFY_SECTION_VERSION,
                         &ram_verify_handlers, ram_state_verify(o->ram));
    savevm_register_vmsd(o->savevm, "globalstate", 0, &vmstate_globalstate,
                         &o->global_state);
    return o;
}

void migration_objects_set_tls(MigrationObjects *o, ObjectSet *objects)
{
    o->out->objects = objects;
    o->in->objects = objects;
}

void migration_objects_stop(MigrationObjects *o)
{
    /* First: a dirty-bitmap measurement takes down its blocker on o->out. */
    dirty_rate_free(g_steal_pointer(&o->dirty_rate));
    migration_state_free(g_steal_pointer(&o->out));
    migration_incoming_free(g_steal_pointer(&o->in));
    g_clear_pointer(&o->in_retired, g_ptr_array_unref);
}

void migration_objects_free(MigrationObjects *o)
{
    if (!o) {
        return;
    }
    g_assert(!o->out && !o->in && !o->in_retired);
    snapshots_free(o->snapshots);
    ram_state_free(o->ram);
    savevm_state_free(o->savevm);
    migration_options_free(o->opts);
    g_free(o);
}
