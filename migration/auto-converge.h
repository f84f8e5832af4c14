/*
 * Auto-converge: QEMU's rule for when a precopy migration throttles the
 * guest, and by how much (qemu-migration-facts-2.md §14.1-14.2).  The rule
 * is pure (samples in, percentages out) so it is tested without threads or
 * clocks; migration_converge_*() apply it to a running migration.
 */
#ifndef MIGRATION_AUTO_CONVERGE_H
#define MIGRATION_AUTO_CONVERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "migration-clock.h"
#include "qapi/qapi-types.h"

/* A period ends at the first dirty sync more than this long after it began. */
#define CONVERGE_PERIOD_MS  1000

/* What the migration has done so far, taken after a dirty sync. */
typedef struct ConvergeSample {
    int64_t now_ms;
    uint64_t dirtied_pages;     /* pages the syncs found newly dirty, cumulative */
    uint64_t bytes_sent;        /* bytes on the migration stream, cumulative */
} ConvergeSample;

typedef struct ConvergeState {
    ConvergeSample period;      /* the sample the current period began with */
    unsigned high_periods;      /* high periods since the last action */
    unsigned periods;           /* periods ended so far */
    uint64_t last_sent;         /* bytes sent in the last period ended */
    int64_t last_ms;            /* its length */
} ConvergeState;

/* Why a period was "high", for the action (and for tailslow). */
typedef struct ConvergeExcess {
    uint64_t dirty_bytes;       /* dirtied in the period */
    uint64_t threshold_bytes;   /* sent in the period x threshold / 100 */
} ConvergeExcess;

void converge_init(ConvergeState *c, const ConvergeSample *now);

/*
 * After a dirty sync.  Once more than CONVERGE_PERIOD_MS have passed since
 * the period began, the period ends (and the next begins at @now).  It was
 * high when the bytes dirtied in it exceed @threshold_pct percent of the
 * bytes sent in it; on the second high period (not necessarily in a row)
 * this returns true with the figures in @excess, and the count restarts.
 */
bool converge_period_end(ConvergeState *c, const ConvergeSample *now,
                         unsigned threshold_pct, ConvergeExcess *excess);

/*
 * The throttle after an action, from @throttle_now (0: not throttling):
 * cpu-throttle-initial first, then + cpu-throttle-increment (with
 * cpu-throttle-tailslow, no more than what would bring the dirty rate down
 * to the threshold), at most max-cpu-throttle, within 1..99.
 */
int auto_converge_step(const MigrationParameters *p, int throttle_now,
                       const ConvergeExcess *excess);

/*
 * tern's own: the dirty-page budget (x-auto-converge-dirty-budget).  QEMU's
 * throttle cannot hold a guest whose vCPU rewrites its working set within
 * the slice it still runs at max-cpu-throttle (the interpreter's a-b:
 * some 300,000 page writes per 10 ms slice); the budget caps the dirty
 * rate itself, below the bandwidth, so that every round leaves less than
 * the one before.
 *
 * Due when an action comes with the throttle already at max-cpu-throttle
 * (QEMU's rule says "still too fast" and has nothing left to raise) and
 * the parameter is not 0.
 */
bool auto_converge_budget_due(const MigrationParameters *p, int throttle_now);

/*
 * The budget of each of @vcpus vCPUs, MB/s (QEMU's MB: MiB): @pct percent
 * of the @sent_bytes sent in @period_ms, shared equally, at least 1 (the
 * dirty limit's unit).  0 when @pct, @vcpus or @period_ms is 0.
 */
uint64_t auto_converge_dirty_budget(unsigned pct, uint64_t sent_bytes, int64_t period_ms,
                                    unsigned vcpus);

typedef struct MigrationState MigrationState;

/* The running migration's side: its state, on the migration thread's stack. */
typedef struct MigrationConverge {
    MigrationState *s;
    const MigrationClock *clock;    /* the migration's (the rate window's) */
    ConvergeState state;
    bool budget_due;                /* the dirty-page budget holds from now on */
} MigrationConverge;

/*
 * At the start of the migration thread, before setup's first dirty sync;
 * periods are timed on @clock.
 */
void migration_converge_start(MigrationConverge *mc, MigrationState *s,
                              const MigrationClock *clock);
/*
 * After every dirty sync (migration thread): end the period, act on a
 * trigger: auto-converge throttles (and, at max-cpu-throttle, adds the
 * dirty-page budget, renewed at every period from then on), dirty-limit
 * limits every vCPU (taking the BQL), only while the migration is active.
 */
void migration_converge_sync(MigrationConverge *mc);
/*
 * The migration ended (BQL held): the guest runs at full speed again, and
 * with the dirty-limit capability or the dirty-page budget every vCPU's
 * limit is lifted.
 */
void migration_converge_stop(MigrationState *s);

/*
 * query-migrate: cpu-throttle-percentage, QEMU's dirty-limit members and
 * x-auto-converge-dirty-limit.  BQL held.
 */
void migration_converge_info(MigrationState *s, MigrationInfo *info);

#endif
