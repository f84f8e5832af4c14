/*
 * tern's own convergence prediction (not in QEMU): from the measured
 * bandwidth and the rate at which the guest dirties pages that were
 * already sent, when a precopy migration will complete, how long the
 * guest will be stopped, and how sure that is; and the stall: the
 * remaining RAM that stopped shrinking, with what would make it converge.
 *
 * The model is pure (figures in, prediction out) so it is tested without
 * threads or clocks; migration_predict_*() apply it to a running migration
 * and publish the result for query-migrate.
 *
 * The model: between dirty syncs the remaining RAM R grows by what the
 * guest dirties again (D bytes/s, pages the syncs found newly dirty) and
 * shrinks by what is sent (B bytes/s, the bandwidth the switchover plans
 * on), so it shrinks at B - D.  The switchover comes when R fits in the
 * threshold T (what B sends within downtime-limit): after (R - T) / (B - D),
 * then the guest stops for min(R, T) / F plus the final dirty sync, F being
 * the rate of the final pass, which runs without max-bandwidth.  R is the
 * pending estimate plus what the guest dirtied since the last sync (D x
 * the time since: the next sync adds it).  In the first round R counts
 * only the data pages not sent yet: never-written pages (the residency
 * probe's) cost a few bytes each.
 */
#ifndef MIGRATION_CONVERGE_PREDICT_H
#define MIGRATION_CONVERGE_PREDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "migration-clock.h"
#include "qapi/qapi-types.h"
#include "qemu/thread.h"

/* A dirty-rate sample spans at least this long (syncs closer together are merged). */
#define PREDICT_SAMPLE_MIN_MS   200
/* The dirty rate is the mean of this many samples; confidence needs them all. */
#define PREDICT_SAMPLES         4
/* A stall: this many dirty syncs in a row without the remaining shrinking. */
#define PREDICT_STALL_SYNCS     5

/* The figures the model runs on. */
typedef struct PredictInput {
    uint64_t remaining;         /* bytes left to send */
    /*
     * The bytes of @remaining that cost their size on the wire: before the
     * first round ended, the data pages never sent yet (a never-written
     * page goes as a few bytes); then all of @remaining.
     */
    uint64_t remaining_data;
    double bandwidth;           /* bytes/s the switchover plans on; 0: not measured */
    double final_bandwidth;     /* bytes/s of the final pass (no max-bandwidth); 0: @bandwidth */
    double dirty_rate;          /* bytes/s of sent pages dirtied again */
    uint64_t threshold;         /* bytes that may be left when the VM stops */
    int64_t sync_ms;            /* what the final dirty sync is planned to take */
    unsigned samples;           /* dirty-rate samples behind @dirty_rate */
    double dirty_rate_cv;       /* their variation: mean absolute deviation / mean */
    bool first_round_done;      /* every page was sent once */
} PredictInput;

typedef struct Prediction {
    bool converges;
    int64_t completion_ms;      /* from now; with @converges only */
    int64_t downtime_ms;        /* at the predicted switchover, or of one now */
    unsigned confidence;        /* 0..100 */
} Prediction;

/*
 * The prediction for @in.  Confidence: 0 without a bandwidth; otherwise
 * 100 x (samples / PREDICT_SAMPLES, at most 1) x (1 - the dirty rate's
 * variation, at least 0), halved while the first round
 * runs (its rate covers only the pages sent so far).
 */
Prediction predict_compute(const PredictInput *in);

/* What would make a stalled migration converge, by the model. */
typedef struct StallAdvice {
    uint64_t bandwidth_needed;  /* bytes/s */
    bool has_throttle_needed;
    unsigned throttle_needed;   /* percent, 1..99 */
    bool saturated;             /* the guest dirties pages as fast as they are sent */
} StallAdvice;

/*
 * The bandwidth at which the remaining RAM fits in @downtime_limit_ms at
 * once, or at which it shrinks by a third of it each second (1.5 x the
 * dirty rate), whichever is smaller; the throttle that brings the dirty
 * rate to two thirds of the bandwidth (a dirty rate proportional to the
 * vCPUs' share of time, as auto-converge assumes), when one of 1..99 does.
 * Saturated: the measured dirty rate is at least 90 % of the bandwidth,
 * that is the guest rewrote nearly everything that was sent; its real rate
 * may be higher (the dirty log cannot see a page dirtied twice), so the
 * throttle is only a lower bound and postcopy is the sure way.
 */
StallAdvice predict_stall_advice(const PredictInput *in, uint64_t downtime_limit_ms);

/* The stall detector: fed the remaining RAM after each dirty sync. */
typedef struct PredictStall {
    uint64_t best;              /* the lowest remaining since the first round (0: none yet) */
    bool has_best;
    unsigned flat_syncs;        /* syncs since @best last fell by a sixteenth */
    bool reported;              /* the event for this stall was sent */
} PredictStall;

/*
 * After a dirty sync with @remaining bytes to send.  Nothing counts before
 * the first round ends, nor once the remaining fits in @threshold (the
 * migration converged; it waits for something else).  The remaining
 * "shrinks" when it falls below 15/16 of the lowest seen so far;
 * PREDICT_STALL_SYNCS syncs in a row without that is a stall: true once
 * per stall (again only after it shrank).
 */
bool predict_stall_note(PredictStall *st, uint64_t remaining, uint64_t threshold,
                        bool first_round_done);

/* The dirty-rate samples: bytes/s over spans of PREDICT_SAMPLE_MIN_MS or more. */
typedef struct PredictRate {
    int64_t span_start_us;
    uint64_t span_start_pages;  /* dirtied pages (cumulative) at the span's start */
    double samples[PREDICT_SAMPLES];
    unsigned count;             /* samples taken, may exceed PREDICT_SAMPLES */
} PredictRate;

void predict_rate_init(PredictRate *r, int64_t now_us, uint64_t dirtied_pages);
/* At a dirty sync: close the span when it is long enough. */
void predict_rate_note(PredictRate *r, int64_t now_us, uint64_t dirtied_pages);
/*
 * The mean of the kept samples (0 without any), their number and their
 * variation (mean absolute deviation over the mean; 0 for a zero mean).
 */
double predict_rate_mean(const PredictRate *r, unsigned *samples, double *cv);

/*
 * The model's input as a migration goes: the dirty-rate samples and the
 * marks they need, on the clock the tracker was given (the migration's;
 * a unit test's fake one).  The caller's thread only.
 */
typedef struct PredictTracker {
    const MigrationClock *clock;
    PredictRate rate;
    int64_t last_sync_us;       /* the last dirty sync (what it found is in the estimate) */
    uint64_t data_pages;        /* pages that held data at the start (first-round cost) */
} PredictTracker;

/* At the start: @dirtied_pages so far, @data_pages holding data now. */
void predict_tracker_start(PredictTracker *t, const MigrationClock *clock,
                           uint64_t dirtied_pages, uint64_t data_pages);
/* After a dirty sync, with the cumulative pages the syncs found newly dirty. */
void predict_tracker_sync(PredictTracker *t, uint64_t dirtied_pages);
/*
 * The model's input now: @plan's bandwidths, threshold, sync time and
 * first round, with the dirty rate as sampled, @pending bytes in the
 * estimate and @data_sent pages sent as data so far.  After the first
 * round, what the guest dirtied since the last sync (the dirty rate x the
 * time since) is added: the next sync finds it.  In the first round only
 * the data pages not sent yet cost their size (PredictInput).
 */
PredictInput predict_tracker_input(const PredictTracker *t, const PredictInput *plan,
                                   uint64_t pending, uint64_t data_sent);

/* ---- the running migration ---- */

typedef struct MigrationState MigrationState;
typedef struct SwitchoverPlan SwitchoverPlan;
typedef struct RateWindow RateWindow;

/*
 * One per MigrationState.  The thread's part is the migration thread's
 * only; the published part is under @lock (query-migrate reads it).
 */
typedef struct MigrationPredict {
    /* ---- migration thread only ---- */
    PredictTracker tracker;
    PredictStall stall;
    PredictInput last;          /* the figures of the last plan (bandwidth: bytes/s) */
    uint64_t downtime_limit;    /* ms, of the last plan */

    /* ---- published, under @lock ---- */
    QemuMutex lock;
    bool valid;                 /* a bandwidth was measured */
    Prediction result;
    PredictInput input;
} MigrationPredict;

MigrationPredict *migration_predict_new(void);
void migration_predict_free(MigrationPredict *p);

/* At the start of the migration thread: forget the last migration's figures. */
void migration_predict_start(MigrationState *s, const MigrationClock *clock);
/*
 * After every dirty sync (migration thread, with or without the BQL):
 * a dirty-rate sample, and the stall check, which sends MIGRATION_STALLED
 * (with the events capability) while the migration is active.
 */
void migration_predict_sync(MigrationState *s);
/*
 * After every switchover decision (migration thread): predict from @plan
 * and @pending bytes left, on @w's last window while the plan has no
 * bandwidth yet; the final pass at @w's unlimited send rate, or at
 * avail-switchover-bandwidth when set.
 */
void migration_predict_plan(MigrationState *s, const SwitchoverPlan *plan,
                            const RateWindow *w, uint64_t pending);
/* query-migrate's x-prediction, in status @st (active or pre-switchover).  Any thread. */
void migration_predict_info(MigrationState *s, MigrationStatus st, MigrationInfo *info);

#endif
