/*
 * The convergence prediction and the stall event (converge-predict.h):
 * the model as pure functions, then its glue to the migration thread and
 * to query-migrate.
 */
#include "converge-predict.h"

#include "migration/migration.h"
#include "migration/ram.h"
#include "migration-states.h"
#include "rate-window.h"
#include "switchover.h"
#include "exec/ramblock.h"
#include "qapi/qapi-events.h"

/* ---- the model ---- */

/* Rounded up, for non-negative figures (no libm). */
static int64_t predict_ceil(double x)
{
    int64_t i = (int64_t)x;

    return i + (x > (double)i);
}

Prediction predict_compute(const PredictInput *in)
{
    Prediction p = { 0 };
    double net = in->bandwidth - in->dirty_rate;
    uint64_t wire = MIN(in->remaining_data, in->remaining);
    uint64_t at_stop;
    double confidence;

    if (in->bandwidth <= 0) {
        return p;
    }
    p.converges = wire <= in->threshold || net > 0;
    at_stop = p.converges ? MIN(wire, in->threshold) : wire;
    p.downtime_ms = predict_ceil(at_stop * 1000.0 / MAX(in->final_bandwidth, in->bandwidth)) +
                    in->sync_ms;
    if (p.converges) {
        double live_ms = wire > in->threshold ? (wire - in->threshold) * 1000.0 / net : 0;

        p.completion_ms = predict_ceil(live_ms) + p.downtime_ms;
    }
    confidence = MIN((double)in->samples / PREDICT_SAMPLES, 1.0) *
                 MAX(1.0 - in->dirty_rate_cv, 0.0);
    if (!in->first_round_done) {
        confidence /= 2;
    }
    p.confidence = (unsigned)(confidence * 100 + 0.5);
    return p;
}

StallAdvice predict_stall_advice(const PredictInput *in, uint64_t downtime_limit_ms)
{
    StallAdvice a = { 0 };
    double needed = in->dirty_rate * 1.5;
    double share;

    if (downtime_limit_ms) {
        double at_once = in->remaining * 1000.0 / downtime_limit_ms;

        needed = needed > 0 ? MIN(needed, at_once) : at_once;
    }
    a.bandwidth_needed = (uint64_t)predict_ceil(needed);
    a.saturated = in->dirty_rate >= in->bandwidth * 0.9;
    if (in->dirty_rate > 0 && in->bandwidth > 0) {
        /* The CPU share at which the guest dirties two thirds of the bandwidth. */
        share = in->bandwidth * 2 / 3 / in->dirty_rate;
        if (share < 1) {
            unsigned pct = (unsigned)predict_ceil((1 - share) * 100);

            if (pct <= 99) {
                a.has_throttle_needed = true;
                a.throttle_needed = MAX(pct, 1);
            }
        }
    }
    return a;
}

bool predict_stall_note(PredictStall *st, uint64_t remaining, uint64_t threshold,
                        bool first_round_done)
{
    if (!first_round_done || remaining <= threshold) {
        *st = (PredictStall) { 0 };
        return false;
    }
    if (!st->has_best || remaining < st->best - st->best / 16) {
        st->best = remaining;
        st->has_best = true;
        st->flat_syncs = 0;
        st->reported = false;
        return false;
    }
    if (++st->flat_syncs < PREDICT_STALL_SYNCS || st->reported) {
        return false;
    }
    st->reported = true;
    return true;
}

void predict_rate_init(PredictRate *r, int64_t now_us, uint64_t dirtied_pages)
{
    *r = (PredictRate) { .span_start_us = now_us, .span_start_pages = dirtied_pages };
}

void predict_rate_note(PredictRate *r, int64_t now_us, uint64_t dirtied_pages)
{
    int64_t us = now_us - r->span_start_us;

    if (us < PREDICT_SAMPLE_MIN_MS * 1000) {
        return;
    }
    r->samples[r->count % PREDICT_SAMPLES] =
        (double)(dirtied_pages - r->span_start_pages) * TARGET_PAGE_SIZE *
        G_USEC_PER_SEC / us;
    r->count++;
    r->span_start_us = now_us;
    r->span_start_pages = dirtied_pages;
}

double predict_rate_mean(const PredictRate *r, unsigned *samples, double *cv)
{
    unsigned n = MIN(r->count, PREDICT_SAMPLES);
    double sum = 0, dev = 0, mean;

    *samples = n;
    *cv = 0;
    if (!n) {
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        sum += r->samples[i];
    }
    mean = sum / n;
    for (unsigned i = 0; i < n; i++) {
        dev += r->samples[i] > mean ? r->samples[i] - mean : mean - r->samples[i];
    }
    if (mean > 0) {
        *cv = dev / n / mean;
    }
    return mean;
}

/* ---- the tracker ---- */

void predict_tracker_start(PredictTracker *t, const MigrationClock *clock,
                           uint64_t dirtied_pages, uint64_t data_pages)
{
    int64_t now = migration_clock_now_us(clock);

    *t = (PredictTracker) { .clock = clock, .last_sync_us = now, .data_pages = data_pages };
    predict_rate_init(&t->rate, now, dirtied_pages);
}

void predict_tracker_sync(PredictTracker *t, uint64_t dirtied_pages)
{
    t->last_sync_us = migration_clock_now_us(t->clock);
    predict_rate_note(&t->rate, t->last_sync_us, dirtied_pages);
}

PredictInput predict_tracker_input(const PredictTracker *t, const PredictInput *plan,
                                   uint64_t pending, uint64_t data_sent)
{
    PredictInput in = *plan;
    uint64_t unseen;

    in.dirty_rate = predict_rate_mean(&t->rate, &in.samples, &in.dirty_rate_cv);
    if (!in.first_round_done) {
        /* Pages the guest writes meanwhile are counted when the round ends. */
        in.remaining = pending;
        in.remaining_data = MIN(pending, t->data_pages > data_sent
                                         ? (t->data_pages - data_sent) * TARGET_PAGE_SIZE : 0);
        return in;
    }
    unseen = (uint64_t)(in.dirty_rate * (migration_clock_now_us(t->clock) - t->last_sync_us) /
                        G_USEC_PER_SEC);
    in.remaining = in.remaining_data = pending + unseen;
    return in;
}

/* ---- the running migration ---- */

MigrationPredict *migration_predict_new(void)
{
    MigrationPredict *p = g_new0(MigrationPredict, 1);

    qemu_mutex_init(&p->lock);
    return p;
}

void migration_predict_free(MigrationPredict *p)
{
    if (!p) {
        return;
    }
    qemu_mutex_destroy(&p->lock);
    g_free(p);
}

void migration_predict_start(MigrationState *s, const MigrationClock *clock)
{
    MigrationPredict *p = s->predict;

    predict_tracker_start(&p->tracker, clock, ram_state_dirtied_pages(s->ram),
                          ram_state_data_pages(s->ram));
    p->stall = (PredictStall) { 0 };
    p->last = (PredictInput) { 0 };
    p->downtime_limit = 0;
    qemu_mutex_lock(&p->lock);
    p->valid = false;
    qemu_mutex_unlock(&p->lock);
}

/* The model's input from the last plan, with the dirty rate as it stands. */
static PredictInput migration_predict_input(MigrationState *s, uint64_t pending)
{
    MigrationPredict *p = s->predict;

    return predict_tracker_input(&p->tracker, &p->last, pending,
                                 migration_stat_get(&s->stats.normal_pages));
}

static void migration_predict_stalled(MigrationState *s, const PredictInput *in)
{
    MigrationPredict *p = s->predict;
    StallAdvice a = predict_stall_advice(in, p->downtime_limit);

    if (!migrate_cap(s->run_opts, MIGRATION_CAPABILITY_EVENTS)) {
        return;
    }
    qapi_event_send_migration_stalled(migration_stat_get(&s->stats.dirty_sync_count),
                                      PREDICT_STALL_SYNCS, in->remaining,
                                      (uint64_t)in->dirty_rate,
                                      (uint64_t)in->bandwidth, a.bandwidth_needed,
                                      a.has_throttle_needed, a.throttle_needed,
                                      a.saturated);
}

void migration_predict_sync(MigrationState *s)
{
    MigrationPredict *p = s->predict;
    uint64_t remaining = migration_stat_get(&s->stats.remaining);
    PredictInput in;

    predict_tracker_sync(&p->tracker, ram_state_dirtied_pages(s->ram));
    if (migration_status(s) != MIGRATION_STATUS_ACTIVE) {
        return;
    }
    in = migration_predict_input(s, remaining);
    if (predict_stall_note(&p->stall, remaining, in.threshold, in.first_round_done)) {
        migration_predict_stalled(s, &in);
    }
}

void migration_predict_plan(MigrationState *s, const SwitchoverPlan *plan,
                            const RateWindow *w, uint64_t pending)
{
    MigrationPredict *p = s->predict;
    double bandwidth = switchover_bandwidth(plan);
    PredictInput in;
    Prediction result;

    p->last = (PredictInput) {
        .bandwidth = (bandwidth > 0 ? bandwidth : w->bandwidth) * 1000,
        /* The final pass runs without max-bandwidth (the user's figure wins). */
        .final_bandwidth = (plan->avail_bandwidth ? bandwidth : w->unlimited_send_rate) * 1000,
        .threshold = switchover_threshold(plan),
        .sync_ms = plan->sync_ms,
        .first_round_done = plan->first_round_done,
    };
    p->downtime_limit = plan->downtime_limit;
    in = migration_predict_input(s, pending);
    result = predict_compute(&in);
    /* What was seen beats the model: a stalled migration does not converge. */
    if (p->stall.flat_syncs >= PREDICT_STALL_SYNCS) {
        result.converges = false;
        result.completion_ms = 0;
    }
    qemu_mutex_lock(&p->lock);
    p->valid = in.bandwidth > 0;
    p->result = result;
    p->input = in;
    qemu_mutex_unlock(&p->lock);
}

void migration_predict_info(MigrationState *s, MigrationStatus st, MigrationInfo *info)
{
    MigrationPredict *p = s->predict;
    XMigrationPrediction *x;

    if (st != MIGRATION_STATUS_ACTIVE && st != MIGRATION_STATUS_PRE_SWITCHOVER) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    if (!p->valid) {
        qemu_mutex_unlock(&p->lock);
        return;
    }
    x = g_new0(XMigrationPrediction, 1);
    x->converges = p->result.converges;
    x->has_completion_time = p->result.converges;
    x->completion_time = p->result.completion_ms;
    x->downtime = p->result.downtime_ms;
    x->confidence = p->result.confidence;
    x->remaining = p->input.remaining;
    x->bandwidth = (uint64_t)p->input.bandwidth;
    x->dirty_rate = (uint64_t)p->input.dirty_rate;
    qemu_mutex_unlock(&p->lock);
    info->x_prediction = x;
}
