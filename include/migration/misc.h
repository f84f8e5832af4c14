/*
 * The migration subsystem as the process assembly sees it: the objects it
 * is made of, created and freed as a whole, and -incoming.
 */
#ifndef MIGRATION_MISC_H
#define MIGRATION_MISC_H

#include <glib.h>
#include <stdbool.h>

#include "crypto/object-set.h"
#include "migration/global-state.h"
#include "migration/machine-ops.h"
#include "migration/ram.h"

typedef struct DirtyRateState DirtyRateState;
typedef struct MigrationIncomingState MigrationIncomingState;
typedef struct MigrationOptions MigrationOptions;
typedef struct MigrationState MigrationState;
typedef struct SaveVMState SaveVMState;

/*
 * Everything migration_objects_new() creates; the process's context owns
 * one (include/sysemu/context.h).  Both states share the options, the
 * section registry and the global state.
 */
typedef struct MigrationObjects {
    SaveVMState *savevm;            /* the sections a stream carries */
    MigrationOptions *opts;         /* capabilities and parameters */
    RAMState *ram;                  /* the "ram" section's state */
    GlobalState global_state;       /* the "globalstate" section */
    MigrationState *out;            /* the outgoing migration */
    MigrationIncomingState *in;     /* the incoming migration */
    /*
     * Incoming states that failed and were replaced for a new
     * migrate-incoming (migration_incoming_renew): migrate-pause, out of
     * band without the BQL, may still hold one, so they stay until exit.
     */
    GPtrArray *in_retired;
    DirtyRateState *dirty_rate;     /* calc-dirty-rate */
    struct Snapshots *snapshots;    /* the snapshot store and jobs (migration/snapshot.h) */
} MigrationObjects;

/*
 * The objects over the guest-mapped RAM blocks @ram_blocks (borrowed, fixed
 * for the process's life), whose dirty pages @dirty collects, for the VM
 * @machine runs (copied): the options, the section registry with "ram" and
 * "globalstate" registered (the machine adds its own sections), both
 * migration states.  Main thread, once.
 */
MigrationObjects *migration_objects_new(GPtrArray *ram_blocks,
                                        const RAMDirtySource *dirty,
                                        const MigrationMachineOps *machine);

/*
 * The objects (borrowed; they outlive the migrations) in which both
 * directions look up tls-creds and tls-authz.  Without it a migration with
 * TLS fails: "No TLS credentials with id ...".
 */
void migration_objects_set_tls(MigrationObjects *o, ObjectSet *objects);

/*
 * Cancel what runs and join the migration threads.  Without the BQL: the
 * threads take it to finish.
 */
void migration_objects_stop(MigrationObjects *o);

/* Free everything (after migration_objects_stop()); NULL-safe. */
void migration_objects_free(MigrationObjects *o);

/*
 * -incoming URI|defer, or the main channel in the channel form (@uri NULL,
 * @channel copied): listen now, or wait for migrate-incoming.  There is
 * no monitor yet, so fd:NAME is an error (fd:N is fine).  BQL held.
 */
bool migration_incoming_setup(MigrationObjects *o, const char *uri,
                              const MigrationAddress *channel, GError **errp);

/*
 * Does a running migration with the dirty-limit capability own the vCPUs'
 * dirty limits (QEMU then refuses set- and cancel-vcpu-dirty-limit)?
 * migration/auto-converge.c.  BQL held.
 */
bool migration_dirty_limit_held(MigrationState *s);

#endif
