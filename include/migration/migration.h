/*
 * The migration state machine: one MigrationState for the outgoing side
 * (source) and one MigrationIncomingState for the incoming side
 * (destination), as in QEMU.  Both are created once by main() and passed
 * explicitly; only the QMP/HMP glue (migration-qmp.c) reaches them through
 * the pointer saved at start-up.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/qapi-types-migration.h"
#include "migration/migration-stats.h"
#include "migration/options.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"

typedef struct RAMState RAMState;

typedef struct MigrationState {
    /*
     * Written with g_atomic_int_compare_and_exchange by whoever moves the
     * machine (QMP handlers under the BQL, the migration thread without it);
     * read lock-free by query-migrate.
     */
    gint state;                         /* MigrationStatus */

    /* ---- fixed while a migration runs (set by migrate under the BQL) ---- */
    MigrationOptions *opts;             /* snapshot taken at migrate */
    MigrationAddress *addr;             /* where to */
    SaveVMState *savevm;                /* sections to send (owned by the machine) */
    GThread *thread;

    /* ---- shared with the QMP side; protected by @lock ---- */
    GMutex lock;
    GCond cond;                         /* signalled on cancel and migrate-continue */
    QEMUFile *to_dst;                   /* NULL until connected; shut down by cancel */
    char *error_desc;                   /* first error, for query-migrate */
    bool continue_requested;            /* migrate-continue while pre-switchover */

    /* ---- timing, ms since the epoch of g_get_monotonic_time()/1000 ---- */
    gint64 start_time;
    gint64 setup_time;                  /* duration of setup, once known */
    gint64 total_time;                  /* final, once completed */
    gint64 downtime;                    /* final, once completed */
    gint64 expected_downtime;           /* updated every iteration */
    guint64 max_bandwidth;              /* atomic: bytes/s, 0 = unlimited; may change live */

    MigrationStats stats;               /* atomics; RAM counters live here too */
    RAMState *ram;

    /* Migration blockers: reasons (char*), added and removed under the BQL. */
    GPtrArray *blockers;

    bool vm_was_running;                /* the VM ran when migrate started */
} MigrationState;

typedef struct MigrationIncomingState {
    gint state;                         /* MigrationStatus, as above */

    /* ---- set under the BQL before the incoming thread starts ---- */
    bool deferred;                      /* -incoming defer */
    bool started;                       /* migrate-incoming / -incoming URI used */
    bool exit_on_error;
    SaveVMState *savevm;
    MigrationOptions *opts;             /* the destination's own settings */
    GSource *listener;                  /* accepting a connection, main loop */
    GArray *listen_addrs;               /* SocketAddress* for query-migrate socket-address */
    GThread *thread;

    GMutex lock;
    QEMUFile *from_src;
    char *error_desc;
} MigrationIncomingState;

/* ---- states ---- */

/* Move @state from @old to @new; emit MIGRATION when the events cap is on.  Any thread. */
bool migrate_set_state(gint *state, MigrationOptions *opts,
                       MigrationStatus old_state, MigrationStatus new_state);

/* setup, active, pre-switchover, device, cancelling: a migration owns the VM. */
bool migration_is_running(MigrationStatus s);

/* ---- source (migration.c) ---- */
MigrationState *migration_state_new(SaveVMState *savevm, MigrationOptions *opts);
void migration_state_free(MigrationState *s);

bool migration_start(MigrationState *s, MigrationAddress *addr, GError **errp);
void migration_cancel(MigrationState *s);
bool migration_continue(MigrationState *s, MigrationStatus expected, GError **errp);
/* Record the first error of the migration (any thread). */
void migration_set_error(MigrationState *s, const GError *err);

/* Blockers (BQL held): a device that cannot migrate says why. */
void migration_add_blocker(MigrationState *s, const char *reason);
void migration_remove_blocker(MigrationState *s, const char *reason);

/* query-migrate on the source side (BQL held; never waits for the stream). */
MigrationInfo *migration_source_info(MigrationState *s);

/* ---- destination (incoming.c) ---- */
MigrationIncomingState *migration_incoming_new(SaveVMState *savevm, MigrationOptions *opts);
void migration_incoming_free(MigrationIncomingState *mis);
bool migration_incoming_start(MigrationIncomingState *mis, MigrationAddress *addr,
                              bool exit_on_error, GError **errp);
void migration_incoming_info(MigrationIncomingState *mis, MigrationInfo *info);

#endif
