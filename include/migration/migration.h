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

#include "qapi/qapi-types.h"
#include "migration/channel.h"
#include "migration/downtime-phases.h"
#include "crypto/object-set.h"
#include "migration/global-state.h"
#include "migration/machine-ops.h"
#include "qemu/thread.h"
#include "migration/migration-stats.h"
#include "migration/options.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"

typedef struct RAMState RAMState;
typedef struct TransportListener TransportListener;
typedef struct ReturnPathSource ReturnPathSource;
typedef struct ReturnPathDst ReturnPathDst;
typedef struct PostcopyIncoming PostcopyIncoming;
typedef struct PostcopyRecoverDst PostcopyRecoverDst;

typedef struct MigrationTls MigrationTls;     /* migration/tls.h */

/*
 * The source's automatic postcopy recovery (parameter
 * x-postcopy-auto-recover, migration/postcopy-auto-recover.c); guarded by
 * MigrationState.lock.
 */
typedef struct PostcopyAutoRecover {
    XPostcopyAutoRecoverStatus status;
    uint32_t attempts;                  /* since the link last broke */
    uint32_t recoveries;                /* breaks healed by an attempt */
    uint64_t delay;                     /* ms: the wait before the next attempt */
    int64_t due;                        /* µs, monotonic: when it starts */
    bool user_paused;                   /* migrate-pause: none until migrate resume */
} PostcopyAutoRecover;

typedef struct MigrationState {
    /*
     * Written with g_atomic_int_compare_and_exchange by whoever moves the
     * machine (QMP handlers under the BQL, the migration thread without it);
     * read lock-free by query-migrate.
     */
    gint state;                         /* MigrationStatus */

    /* ---- fixed while a migration runs (set by migrate under the BQL) ---- */
    MigrationOptions *opts;             /* the process's settings (caps cannot change while running) */
    MigrationOptions *run_opts;         /* snapshot taken at migrate, for the thread */
    MigrationAddress *addr;             /* where to */
    MigrationAddress *cpr_addr;         /* cpr-transfer's cpr channel, or NULL */
    SaveVMState *savevm;                /* sections to send (owned by MigrationObjects) */
    MigrationMachineOps machine;        /* the VM it moves: run state, dirty log, identity */
    ObjectSet *objects;                 /* where tls-creds is looked up (BQL), or NULL */
    MigrationTls *tls;                  /* this migration's TLS, or NULL (migration/tls.h) */
    GError *tls_err;                    /* why it could not have TLS: fails at connect */
    GThread *thread;
    /*
     * Triggered by migrate_cancel (any thread); every channel of the
     * migration shares it.  Replaced by migrate once the old thread is joined.
     */
    ChannelCancel *cancel;
    QEMUFile *to_dst;                   /* thread only: NULL until connected */
    uint64_t transferred_before;        /* thread only: bytes of earlier connections (postcopy recovery) */
    struct MultiFDSend *multifd;        /* thread only: the multifd channels, or NULL */
    ReturnPathSource *rp;               /* thread only: the return path's reader, or NULL */
    /* Set at creation (migration.c): where the return path's postcopy messages go. */
    const struct ReturnPathPostcopyOps *rp_postcopy;
    /* Postcopy preempt: atomic pointer, read by the return-path thread (postcopy-preempt.h). */
    struct PostcopyPreemptSource *preempt;

    /* ---- shared with the QMP side; protected by @lock ---- */
    QemuMutex lock;
    QemuCond cond;                      /* signalled on cancel, migrate-continue, new limits */
    char *error_desc;                   /* first error, for query-migrate */
    bool continue_requested;            /* migrate-continue while pre-switchover */
    gint start_postcopy;                /* atomic: migrate-start-postcopy was issued */
    gint switchover_acked;              /* atomic: the destination sent SWITCHOVER_ACK */
    gint rp_ponged;                     /* atomic: a PONG came back on the return path */
    guint recv_bitmaps_pending;         /* postcopy recovery: received bitmaps still to come */
    gint dst_failed;                    /* atomic: the destination's SHUT said its load failed */
    PostcopyAutoRecover auto_recover;   /* postcopy-auto-recover.c */
    /* x-switchover-commit (migration/switchover-commit.c), under @lock. */
    struct {
        bool loaded;                    /* the destination said LOADED */
        bool rp_ended;                  /* the return path's reader ended */
        bool committed;                 /* decided: the guest is the destination's */
        bool stop_waiting;              /* migrate_cancel once committed */
    } commit;

    /*
     * ---- timing, ms since the epoch of g_get_monotonic_time()/1000 ----
     * start_time is set by migrate before the thread starts; the others are
     * written by the thread and read by query-migrate with atomic accesses
     * (a query in cancelling may run while setup still ends).
     */
    int64_t start_time;
    int64_t setup_time;                 /* duration of setup, once known */
    int64_t total_time;                 /* final, once completed */
    int64_t downtime;                   /* final, once completed */
    int64_t expected_downtime;          /* updated every iteration */
    uint64_t mbps_milli;                /* atomic: throughput of the last window, Mbit/s x 1000 */

    /* Limits that migrate-set-parameters may change while a migration runs (atomic). */
    uint64_t max_bandwidth;             /* bytes/s, 0 = unlimited */
    uint64_t downtime_limit;            /* ms */
    uint64_t max_postcopy_bandwidth;    /* bytes/s for postcopy's background pages, 0 = unlimited */
    gboolean switchover_hold;           /* x-switchover-hold: precopy does not switch over */
    /*
     * dirty-limit (auto-converge.c), under the BQL: the vcpu-dirty-limit
     * in force (migrate-set-parameters changes it live), and
     * whether the trigger has limited the vCPUs with it.
     */
    uint64_t vcpu_dirty_limit;          /* MB/s */
    bool dirty_limit_applied;
    /*
     * auto-converge's dirty-page budget (x-auto-converge-dirty-budget),
     * under the BQL: the MB/s every vCPU is held to, 0 while none.
     */
    uint64_t converge_budget_mbps;

    MigrationAtomicStats stats;         /* written by the thread and RAM, read by query-migrate */
    /* Each multifd channel's, written by its send thread, read by query-migrate. */
    MigrationChannelStats multifd_channel_stats[MIGRATION_MULTIFD_CHANNELS_MAX];
    RAMState *ram;                      /* the "ram" section's state (registered in savevm) */
    GlobalState *global_state;          /* the "globalstate" section (registered in savevm) */

    /* Migration blockers: reasons (char*), added and removed under the BQL. */
    GPtrArray *blockers;

    /*
     * The thread's clock: its rate windows, auto-converge's periods, the
     * prediction and the downtime's marks.  Monotonic; a unit test may set
     * another before migrate.
     */
    const struct MigrationClock *clock;
    RunState vm_old_state;              /* before switchover stopped the VM (thread only) */
    int64_t vm_stop_time;               /* thread only: when it stopped the VM (ms) */
    struct MigrationConverge *converge; /* thread only: auto-converge, on its stack */
    struct MigrationPredict *predict;   /* the prediction (converge-predict.h), its own lock */
    DowntimePhases downtime_phases;     /* the thread's marks, read once completed */
} MigrationState;

typedef struct MigrationIncomingState {
    gint state;                         /* MigrationStatus, as above */

    /* ---- set under the BQL before the incoming thread starts ---- */
    bool deferred;                      /* -incoming defer */
    bool started;                       /* migrate-incoming / -incoming URI used */
    bool exit_on_error;
    bool cpr_transfer;                  /* the CPR state came: RAM is ours already */
    int cpr_sock;                       /* its cpr channel, closed once main listens; or -1 */
    SaveVMState *savevm;
    MigrationMachineOps machine;        /* the VM it loads into: run state, identity */
    MigrationOptions *opts;             /* the destination's own settings */
    ObjectSet *objects;                 /* where tls-creds/-authz are looked up (BQL) */
    MigrationTls *tls;                  /* made at the connection when TLS is on */
    GThread *thread;
    GlobalState *global_state;          /* what the source's run state was */
    TransportListener *listener;        /* accepting the connection, main loop */
    SaveVMConfig load_cfg;              /* from @opts when the connection came */
    /* Shared by the load's channels; triggered (any thread) to end the load. */
    ChannelCancel *cancel;
    QEMUFile *from_src;                 /* incoming thread only, once started */
    /*
     * Every accepted channel runs on its own thread, which tells its kind
     * by its first bytes: the main channel's loads the stream, a multifd
     * channel's receives pages.  @thread is the first channel's; the
     * others are in @extra_threads.  Main loop only (joined in the
     * finish or at exit).
     */
    GPtrArray *extra_threads;
    unsigned nr_channels;               /* accepted so far */
    bool multi_channel;                 /* the address can accept more (tcp, unix) */
    struct MultiFDRecv *multifd;        /* with the multifd capability, from the first channel */
    gint main_seen;                     /* atomic: a channel was taken as the main one */
    ReturnPathDst *rp;                  /* from OPEN_RETURN_PATH to the load's end, or NULL */
    /*
     * Incoming thread, read by the main loop after the join: the load
     * failed but the guest's state here is whole (x-switchover-commit: no
     * commit came), so it stays, paused; and the main stream still holds
     * bytes to drain once SHUT is sent (a malformed trailer).
     */
    bool state_complete;
    bool drain_after_shut;
    RAMState *ram;                      /* the "ram" section's state (registered in savevm) */
    PostcopyIncoming *postcopy;         /* from POSTCOPY_ADVISE on, or NULL */
    DowntimePhases downtime_phases;     /* main loop: marked as a precopy load completes */
    /* With postcopy-preempt, from the first channel on (postcopy-preempt.h), or NULL. */
    struct PostcopyPreemptDst *preempt;
    PostcopyRecoverDst *recover;        /* postcopy recovery's state (postcopy-recover.h) */

    QemuMutex lock;
    char *error_desc;
    /*
     * The load's end, handed from the incoming thread to the main loop:
     * the thread attaches @finish (an idle source) and leaves its error in
     * @load_err; migration_incoming_free() destroys a source that never ran.
     */
    GSource *finish;
    GError *load_err;
} MigrationIncomingState;

/* ---- states ---- */

/* Move @state from @old to @new; emit MIGRATION when the events cap is on.  Any thread. */
bool migrate_set_state(gint *state, MigrationOptions *opts,
                       MigrationStatus old_state, MigrationStatus new_state);

/*
 * setup, active, pre-switchover, device, cancelling and the postcopy
 * states: a migration owns the VM.
 */
bool migration_is_running(MigrationStatus s);

/* ---- source (migration.c) ---- */
/* @machine is copied. */
MigrationState *migration_state_new(SaveVMState *savevm, MigrationOptions *opts,
                                    RAMState *ram, GlobalState *gs,
                                    const MigrationMachineOps *machine);
void migration_state_free(MigrationState *s);

/*
 * migrate (BQL held): may a migration start now?  Not while one runs, in
 * inmigrate or postmigrate, or with a blocker; the error says why.
 */
bool migration_can_start(MigrationState *s, GError **errp);

/*
 * migrate (BQL held, in the monitor's command): check again that the
 * migration may start and start the thread.  An fd: address must hold an
 * fd number by now (the command resolves a name with its monitor).  Takes
 * ownership of @addr.
 */
bool migration_start(MigrationState *s, MigrationAddress *addr, GError **errp);
/* The same with cpr-transfer's cpr channel @cpr (NULL: none; taken too). */
bool migration_start_cpr(MigrationState *s, MigrationAddress *addr, MigrationAddress *cpr,
                         GError **errp);
void migration_cancel(MigrationState *s);
/*
 * Migration thread: connect to s->addr (TLS when on) on s->cancel and
 * make s->to_dst; at the start and for a postcopy resume.
 */
bool migration_connect(MigrationState *s, GError **errp);
bool migration_continue(MigrationState *s, MigrationStatus expected, GError **errp);
/* Record the first error of the migration (any thread). */
void migration_set_error(MigrationState *s, const GError *err);

/* Blockers (BQL held): a device that cannot migrate says why. */
void migration_add_blocker(MigrationState *s, const char *reason);
void migration_remove_blocker(MigrationState *s, const char *reason);

/* migrate-set-parameters changed a limit a running migration follows. */
void migration_set_max_bandwidth(MigrationState *s, uint64_t bytes_per_second);
void migration_set_downtime_limit(MigrationState *s, uint64_t ms);
void migration_set_switchover_hold(MigrationState *s, bool hold);
/*
 * vcpu-dirty-limit changed (BQL held): a dirty-limit migration whose
 * trigger already limited the vCPUs limits them to @mbps at once; one
 * whose trigger has not fired yet uses @mbps when it does.
 */
void migration_set_vcpu_dirty_limit(MigrationState *s, uint64_t mbps);
/*
 * migrate-set-parameters changed xbzrle-cache-size (BQL held): a running
 * migration with XBZRLE gets a new, empty cache of @size bytes; fails when
 * it cannot be built.  Nothing to do when no such migration runs.
 */
bool migration_set_xbzrle_cache_size(MigrationState *s, uint64_t size, GError **errp);

/*
 * The configuration section's settings for @opts on @machine (static
 * strings; nothing to free).
 */
void migration_savevm_config(const MigrationMachineOps *machine,
                             const MigrationOptions *opts, SaveVMConfig *cfg);

/* query-migrate on the source side (BQL held; never waits for the stream). */
MigrationInfo *migration_source_info(MigrationState *s);

/* ---- destination (incoming.c) ---- */
/* @machine is copied. */
MigrationIncomingState *migration_incoming_new(SaveVMState *savevm, MigrationOptions *opts,
                                               GlobalState *gs,
                                               const MigrationMachineOps *machine);
void migration_incoming_free(MigrationIncomingState *mis);
/*
 * migrate-incoming after one that failed (BQL held): when the load is
 * over and the guest never ran here (precopy, or postcopy before RUN),
 * the process may take a new stream from a fresh source.  Not after a
 * load that runs, completed or ran the guest, nor with cpr-transfer.
 */
bool migration_incoming_may_restart(MigrationIncomingState *mis);
/*
 * Then: a fresh state for the same VM.  @mis is left failed, every
 * thread of it joined; the caller keeps it until nothing out of band
 * can hold it (MigrationObjects.in_retired), then frees it.
 */
MigrationIncomingState *migration_incoming_renew(MigrationIncomingState *mis);
bool migration_incoming_start(MigrationIncomingState *mis, MigrationAddress *addr,
                              bool exit_on_error, GError **errp);
void migration_incoming_info(MigrationIncomingState *mis, MigrationInfo *info);
/*
 * cpr-transfer (before the incoming migration starts): the CPR state came
 * on @cpr_sock, taken here: RAM holds the guest already (every block is
 * skipped) and the socket is closed once the main listener is up, which
 * lets the old process connect.
 */
void migration_incoming_set_cpr(MigrationIncomingState *mis, int cpr_sock);
/*
 * Is a stream being loaded (the incoming thread runs)?  BQL held: the
 * load enters and leaves this state under the BQL, so a caller that holds
 * it cannot race with the thread's reading of mis->opts.  Listening
 * (setup) is not loading: as in QEMU, the destination's capabilities may
 * be set between -incoming URI and the source's connection.
 */
bool migration_incoming_is_loading(MigrationIncomingState *mis);

#endif
