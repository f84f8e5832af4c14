/*
 * The convergence prediction's model (migration/converge-predict.h) on
 * figures given by hand: the prediction, the stall detector, the advice
 * and the dirty-rate samples; then the tracker on synthetic migrations
 * driven by a fake clock, its predictions against when they completed.
 * No thread.
 */
#include <glib.h>

#include "converge-predict.h"
#include "exec/ramblock.h"
#include "migration-fakes.h"

#define MB 1000000.0

/* 100 MB left, 10 MB/s, 300 ms allowed: what a quiet guest gets. */
static PredictInput quiet_input(void)
{
    return (PredictInput) {
        .remaining = 100000000,
        .remaining_data = 100000000,
        .bandwidth = 10 * MB,
        .dirty_rate = 0,
        .threshold = 3000000,
        .sync_ms = 2,
        .samples = PREDICT_SAMPLES,
        .first_round_done = true,
    };
}

/* A guest that dirties nothing converges: (R - T) / B, then T / B stopped. */
static void test_quiet_converges(void)
{
    PredictInput in = quiet_input();
    Prediction p = predict_compute(&in);

    g_assert_true(p.converges);
    g_assert_cmpint(p.downtime_ms, ==, 300 + 2);
    g_assert_cmpint(p.completion_ms, ==, 9700 + 302);
    g_assert_cmpuint(p.confidence, ==, 100);
}

/* The remaining shrinks at B - D: half the bandwidth dirtied doubles the live time. */
static void test_dirtying_slows(void)
{
    PredictInput in = quiet_input();
    Prediction p;

    in.dirty_rate = 5 * MB;
    p = predict_compute(&in);
    g_assert_true(p.converges);
    g_assert_cmpint(p.completion_ms, ==, 19400 + 302);
    /* What already fits: the switchover now, for all of it. */
    in.remaining = 1000000;
    p = predict_compute(&in);
    g_assert_true(p.converges);
    g_assert_cmpint(p.downtime_ms, ==, 100 + 2);
    g_assert_cmpint(p.completion_ms, ==, 102);
}

/* Dirtying as fast as it sends: no convergence, the downtime of a switch now. */
static void test_fast_guest_does_not_converge(void)
{
    PredictInput in = quiet_input();
    Prediction p;

    in.dirty_rate = 10 * MB;
    p = predict_compute(&in);
    g_assert_false(p.converges);
    g_assert_cmpint(p.completion_ms, ==, 0);
    g_assert_cmpint(p.downtime_ms, ==, 10000 + 2);
    in.dirty_rate = 12 * MB;
    g_assert_false(predict_compute(&in).converges);
}

/* Confidence: none without a bandwidth; fewer, unsteadier samples, the first round. */
static void test_confidence(void)
{
    PredictInput in = quiet_input();

    in.bandwidth = 0;
    g_assert_false(predict_compute(&in).converges);
    g_assert_cmpuint(predict_compute(&in).confidence, ==, 0);
    in = quiet_input();
    in.samples = 1;
    g_assert_cmpuint(predict_compute(&in).confidence, ==, 25);
    in.samples = 2 * PREDICT_SAMPLES;
    in.dirty_rate_cv = 0.2;
    g_assert_cmpuint(predict_compute(&in).confidence, ==, 80);
    in.first_round_done = false;
    g_assert_cmpuint(predict_compute(&in).confidence, ==, 40);
    in.dirty_rate_cv = 1.5;
    g_assert_cmpuint(predict_compute(&in).confidence, ==, 0);
}

/* The stall: five flat syncs after the first round, reported once per stall. */
static void test_stall(void)
{
    PredictStall st = { 0 };

    /* The first round does not count, however flat. */
    for (int i = 0; i < 10; i++) {
        g_assert_false(predict_stall_note(&st, 1000, 10, false));
    }
    g_assert_false(predict_stall_note(&st, 1000, 10, true));        /* the first low */
    for (int i = 1; i < PREDICT_STALL_SYNCS; i++) {
        /* Within a sixteenth of the low is not shrinking. */
        g_assert_false(predict_stall_note(&st, i % 2 ? 950 : 1100, 10, true));
    }
    g_assert_true(predict_stall_note(&st, 1000, 10, true));
    for (int i = 0; i < 10; i++) {
        g_assert_false(predict_stall_note(&st, 1000, 10, true));   /* once */
    }
    /* It shrank: a new stall is a new event. */
    g_assert_false(predict_stall_note(&st, 900, 10, true));
    for (int i = 1; i < PREDICT_STALL_SYNCS; i++) {
        g_assert_false(predict_stall_note(&st, 900, 10, true));
    }
    g_assert_true(predict_stall_note(&st, 900, 10, true));
    /* What fits in the threshold converged: never a stall, however long. */
    st = (PredictStall) { 0 };
    for (int i = 0; i < 3 * PREDICT_STALL_SYNCS; i++) {
        g_assert_false(predict_stall_note(&st, i % 2 ? 10 : 0, 10, true));
    }
}

/* A converging migration never stalls: each sync shrinks by more than a sixteenth. */
static void test_converging_never_stalls(void)
{
    PredictStall st = { 0 };
    uint64_t r = 1 << 30;

    for (int i = 0; i < 100 && r; i++, r = r * 7 / 8) {
        g_assert_false(predict_stall_note(&st, r, 0, true));
    }
}

/* What would make it converge. */
static void test_advice(void)
{
    PredictInput in = quiet_input();
    StallAdvice a;

    /* Dirtying 12 of 10 MB/s: 18 MB/s would do, or a throttle of 45 % (to 6.6 MB/s). */
    in.dirty_rate = 12 * MB;
    a = predict_stall_advice(&in, 300);
    g_assert_cmpuint(a.bandwidth_needed, ==, 18000000);
    g_assert_true(a.has_throttle_needed);
    g_assert_cmpuint(a.throttle_needed, ==, 45);
    g_assert_true(a.saturated);
    /* 100 MB in 10 s of downtime needs less than 1.5 x the dirty rate. */
    a = predict_stall_advice(&in, 10000);
    g_assert_cmpuint(a.bandwidth_needed, ==, 10000000);
    /* 1000x the bandwidth: no throttle of 99 % or less brings it down. */
    in.dirty_rate = 10000 * MB;
    a = predict_stall_advice(&in, 300);
    g_assert_false(a.has_throttle_needed);
    /* Not saturated below 90 % of the bandwidth. */
    in.dirty_rate = 8 * MB;
    a = predict_stall_advice(&in, 300);
    g_assert_false(a.saturated);
    g_assert_true(a.has_throttle_needed);
    g_assert_cmpuint(a.throttle_needed, ==, 17);
    /* No downtime allowed: only the dirty rate says. */
    a = predict_stall_advice(&in, 0);
    g_assert_cmpuint(a.bandwidth_needed, ==, 12000000);
}

/* Samples span 200 ms or more; the mean and variation of the last four. */
static void test_rate_samples(void)
{
    const uint64_t pages_per_mb = 1000000 / TARGET_PAGE_SIZE;
    PredictRate r;
    unsigned n;
    double cv;
    uint64_t pages = 0;
    int64_t us = 0;

    predict_rate_init(&r, us, pages);
    g_assert_cmpfloat(predict_rate_mean(&r, &n, &cv), ==, 0);
    g_assert_cmpuint(n, ==, 0);
    /* Syncs 100 ms apart: every second one closes a sample. */
    for (int i = 0; i < 12; i++) {
        us += 100000;
        pages += pages_per_mb * 4096 / TARGET_PAGE_SIZE;
        predict_rate_note(&r, us, pages);
    }
    g_assert_cmpuint(r.count, ==, 6);
    g_assert_cmpfloat(predict_rate_mean(&r, &n, &cv), ==,
                      (double)pages_per_mb * 10 * TARGET_PAGE_SIZE);
    g_assert_cmpuint(n, ==, PREDICT_SAMPLES);
    g_assert_cmpfloat(cv, ==, 0);
    /* One of the four at twice the rate: mean 1.25x, variation 0.375x / 1.25x. */
    us += 200000;
    pages += 4 * pages_per_mb;
    predict_rate_note(&r, us, pages);
    g_assert_cmpfloat(predict_rate_mean(&r, &n, &cv), ==,
                      (double)pages_per_mb * 12.5 * TARGET_PAGE_SIZE);
    g_assert_cmpfloat_with_epsilon(cv, 0.3, 1e-9);
}

/* ---- synthetic migrations ---- */

#define SIM_WINDOW_MS   100

/*
 * A precopy migration after its first round, as migration.c runs it: each
 * 100 ms window sends what the bandwidth allows from the dirty bitmap,
 * while the guest dirties distinct pages at its rate (unseen until a
 * sync).  A pass that empties the bitmap syncs; so does every window whose
 * estimate fits the threshold (the exact check), and if what it then
 * holds still fits, the VM stops: the rest goes at the final rate.
 */
typedef struct SimMigration {
    FakeClock clock;
    PredictTracker tracker;
    PredictInput plan;          /* bandwidths, threshold, sync time */
    double dirty_rate;          /* bytes/s the guest dirties */
    double estimate;            /* bytes in the bitmap */
    double unseen;              /* dirtied since the last sync */
    uint64_t dirtied_pages;     /* found by the syncs, cumulative */
} SimMigration;

static void sim_init(SimMigration *m, uint64_t remaining, double bandwidth,
                     double dirty_rate, uint64_t downtime_ms)
{
    *m = (SimMigration) {
        .plan = {
            .bandwidth = bandwidth,
            .final_bandwidth = bandwidth * 20,
            .threshold = (uint64_t)(bandwidth * downtime_ms / 1000),
            .first_round_done = true,
        },
        .dirty_rate = dirty_rate,
        .estimate = remaining,
    };
    fake_clock_init(&m->clock, 1000000);
    predict_tracker_start(&m->tracker, &m->clock.clock, 0, 0);
}

static void sim_sync(SimMigration *m)
{
    m->estimate += m->unseen;
    m->dirtied_pages += (uint64_t)(m->unseen / TARGET_PAGE_SIZE);
    m->unseen = 0;
    predict_tracker_sync(&m->tracker, m->dirtied_pages);
}

/* One window; true when the VM stopped, with the downtime in *@stop_ms. */
static bool sim_window(SimMigration *m, int64_t *stop_ms)
{
    if (m->estimate <= m->plan.threshold) {
        sim_sync(m);
        if (m->estimate <= m->plan.threshold) {
            *stop_ms = (int64_t)(m->estimate * 1000 / m->plan.final_bandwidth);
            return true;
        }
    }
    m->estimate -= MIN(m->estimate, m->plan.bandwidth * SIM_WINDOW_MS / 1000);
    m->unseen += m->dirty_rate * SIM_WINDOW_MS / 1000;
    fake_clock_advance_ms(&m->clock, SIM_WINDOW_MS);
    if (m->estimate == 0) {
        sim_sync(m);
    }
    return false;
}

static Prediction sim_predict(SimMigration *m, PredictInput *in)
{
    *in = predict_tracker_input(&m->tracker, &m->plan, (uint64_t)m->estimate, 0);
    return predict_compute(in);
}

/*
 * 100 MB left at 32 MB/s, the guest dirtying @dirty_mbs MB/s: every
 * prediction made once a dirty-rate sample exists (a quiet guest: every
 * one), between syncs too (the
 * unseen dirt counts), is within a window plus 5 % of when it completed.
 */
static void sim_converging(double dirty_mbs)
{
    SimMigration m;
    int64_t made_us[400], predicted_ms[400], stop_ms = 0;
    unsigned n = 0;

    sim_init(&m, 100 * MB, 32 * MB, dirty_mbs * MB, 300);
    for (;;) {
        PredictInput in;
        Prediction p = sim_predict(&m, &in);

        /* Without a sample the rate is taken as 0: right for a quiet guest only. */
        if (in.samples || dirty_mbs == 0) {
            g_assert_true(p.converges);
            g_assert_cmpuint(n, <, G_N_ELEMENTS(made_us));
            made_us[n] = m.clock.now_us;
            predicted_ms[n++] = p.completion_ms;
        }
        if (sim_window(&m, &stop_ms)) {
            break;
        }
    }
    g_assert_cmpuint(n, >, 0);
    for (unsigned i = 0; i < n; i++) {
        int64_t actual_ms = (m.clock.now_us - made_us[i]) / 1000 + stop_ms;
        int64_t err = predicted_ms[i] - actual_ms;

        g_assert_cmpint(ABS(err), <=, SIM_WINDOW_MS + actual_ms / 20);
    }
}

static void test_sim_converging(void)
{
    sim_converging(0);
    sim_converging(8);
    sim_converging(16);
    sim_converging(24);
}

/*
 * Dirtying 40 of 32 MB/s never converges: once sampled, every prediction
 * says so, with the downtime of a switchover now at the final rate.
 */
static void test_sim_not_converging(void)
{
    SimMigration m;
    int64_t stop_ms;
    unsigned sampled = 0;

    sim_init(&m, 100 * MB, 32 * MB, 40 * MB, 300);
    for (int i = 0; i < 200; i++) {
        PredictInput in;
        Prediction p = sim_predict(&m, &in);

        if (in.samples) {
            sampled++;
            g_assert_false(p.converges);
            g_assert_cmpint(p.downtime_ms, ==,
                            (int64_t)((in.remaining * 1000 + m.plan.final_bandwidth - 1) /
                                      m.plan.final_bandwidth));
        }
        g_assert_false(sim_window(&m, &stop_ms));
    }
    g_assert_cmpuint(sampled, >, 100);
}

/*
 * A guest that doubles its dirty rate: steady samples give a high
 * confidence; after the change they disagree for a while (it falls), then
 * agree again on the new rate.
 */
static void test_sim_rate_change(void)
{
    SimMigration m;
    int64_t stop_ms;
    unsigned lowest = 100;
    PredictInput in;
    Prediction p;

    /* No downtime allowed: it never stops; every pass takes a window or so. */
    sim_init(&m, 32 * MB, 32 * MB, 4 * MB, 0);
    for (int i = 0; i < 100; i++) {
        p = sim_predict(&m, &in);
        if (i > 50) {
            g_assert_cmpuint(in.samples, ==, PREDICT_SAMPLES);
            g_assert_cmpuint(p.confidence, >=, 95);
        }
        g_assert_false(sim_window(&m, &stop_ms));
    }
    m.dirty_rate = 8 * MB;
    for (int i = 0; i < 100; i++) {
        p = sim_predict(&m, &in);
        lowest = MIN(lowest, p.confidence);
        g_assert_false(sim_window(&m, &stop_ms));
    }
    g_assert_cmpuint(lowest, <, 80);
    g_assert_cmpuint(lowest, <, 100);
    p = sim_predict(&m, &in);
    g_assert_cmpfloat_with_epsilon(in.dirty_rate, 8 * MB, 0.05 * MB);
}

/*
 * In the first round only the data pages not sent yet cost their size:
 * 100 MB pending of which 10 MB of data, 3 MB of it sent.
 */
static void test_first_round_data(void)
{
    FakeClock clock;
    PredictTracker t;
    PredictInput plan = { .bandwidth = 10 * MB, .threshold = 1 * MB };
    PredictInput in;
    uint64_t data_pages = 10 * (uint64_t)MB / TARGET_PAGE_SIZE;
    uint64_t sent = 3 * (uint64_t)MB / TARGET_PAGE_SIZE;

    fake_clock_init(&clock, 0);
    predict_tracker_start(&t, &clock.clock, 0, data_pages);
    fake_clock_advance_ms(&clock, 5000);
    in = predict_tracker_input(&t, &plan, 100 * MB, sent);
    g_assert_cmpuint(in.remaining, ==, 100 * MB);
    g_assert_cmpuint(in.remaining_data, ==, (data_pages - sent) * TARGET_PAGE_SIZE);
    /* More sent than held data at the start (the guest wrote more): none left. */
    in = predict_tracker_input(&t, &plan, 100 * MB, 2 * data_pages);
    g_assert_cmpuint(in.remaining_data, ==, 0);
    /* After the round every pending byte counts, and no dirt is unseen at rate 0. */
    plan.first_round_done = true;
    in = predict_tracker_input(&t, &plan, 5 * MB, sent);
    g_assert_cmpuint(in.remaining_data, ==, 5 * MB);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/converge-predict/quiet-converges", test_quiet_converges);
    g_test_add_func("/converge-predict/dirtying-slows", test_dirtying_slows);
    g_test_add_func("/converge-predict/fast-guest", test_fast_guest_does_not_converge);
    g_test_add_func("/converge-predict/confidence", test_confidence);
    g_test_add_func("/converge-predict/stall", test_stall);
    g_test_add_func("/converge-predict/converging-never-stalls",
                    test_converging_never_stalls);
    g_test_add_func("/converge-predict/advice", test_advice);
    g_test_add_func("/converge-predict/rate-samples", test_rate_samples);
    g_test_add_func("/converge-predict/sim/converging", test_sim_converging);
    g_test_add_func("/converge-predict/sim/not-converging", test_sim_not_converging);
    g_test_add_func("/converge-predict/sim/rate-change", test_sim_rate_change);
    g_test_add_func("/converge-predict/first-round-data", test_first_round_data);
    return g_test_run();
}
