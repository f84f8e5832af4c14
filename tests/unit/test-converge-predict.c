/*
 * The convergence prediction's model (migration/converge-predict.h) on
 * figures given by hand: the prediction, the stall detector, the advice
 * and the dirty-rate samples.  No clock, no thread.
 */
#include <glib.h>

#include "converge-predict.h"
#include "exec/ramblock.h"

#define MB 1000000.0

/* 100 MB left, 10 MB/s, 300 ms allowed: what a quiet guest gets. */
static PredictInput quiet_input(void)
{
    return (PredictInput) {
        .remaining = 100000000,
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
    return g_test_run();
}
