/*
 * The switchover decision (migration/switchover.c): remaining bytes against
 * the planned bandwidth x what is left of downtime-limit once the dirty
 * sync is paid, fed from a rate window on a fake clock and a fake channel.
 */
#include "rate-window.h"
#include "switchover.h"
#include "migration-fakes.h"

#include <glib.h>

/* 2.4 GB/s: what one window of the filled 1 GiB bench measured. */
#define FAST    2400000.0

/* A plan past the first round (every page sent once). */
static SwitchoverPlan plan_at(double trusted, uint64_t limit)
{
    return (SwitchoverPlan) {
        .downtime_limit = limit,
        .trusted_bandwidth = trusted,
        .first_round_done = true,
    };
}

/* Pages never sent go before the stop, however fast the link; nothing left always may stop. */
static void test_first_round(void)
{
    SwitchoverPlan p = plan_at(FAST, 300);

    p.first_round_done = false;
    g_assert_false(switchover_ready(&p, 4096));
    g_assert_true(switchover_ready(&p, 0));
    p.first_round_done = true;
    g_assert_true(switchover_ready(&p, 4096));
}

/* The trusted bandwidth for the whole limit when syncs cost nothing. */
static void test_threshold(void)
{
    SwitchoverPlan p = plan_at(FAST, 300);
    uint64_t threshold = (uint64_t)(FAST * 300);

    g_assert_cmpfloat(switchover_bandwidth(&p), ==, FAST);
    g_assert_cmpuint(switchover_threshold(&p), ==, threshold);
    g_assert_true(switchover_ready(&p, threshold));
    g_assert_false(switchover_ready(&p, threshold + 1));
}

/* The last sync's time is set aside from the limit. */
static void test_sync_cost(void)
{
    SwitchoverPlan p = plan_at(FAST, 300);

    switchover_note_sync(&p, 250);
    switchover_note_sync(&p, 20);
    g_assert_cmpint(p.sync_ms, ==, 20);
    g_assert_cmpuint(switchover_threshold(&p), ==,
                     (uint64_t)(FAST * 280));
    g_assert_cmpint(switchover_expected_downtime(&p, 240000000), ==, 20 + 100);
}

/* A sync as long as the limit leaves room for nothing but an empty final pass. */
static void test_sync_eats_limit(void)
{
    SwitchoverPlan p = plan_at(FAST, 30);

    switchover_note_sync(&p, 30);
    g_assert_cmpuint(switchover_threshold(&p), ==, 0);
    g_assert_true(switchover_ready(&p, 0));
    g_assert_false(switchover_ready(&p, 1));
}

/* Before any window closed: only a migration with nothing left may stop. */
static void test_nothing_measured(void)
{
    SwitchoverPlan p = plan_at(0, 300);

    g_assert_cmpuint(switchover_threshold(&p), ==, 0);
    g_assert_true(switchover_ready(&p, 0));
    g_assert_false(switchover_ready(&p, 4096));
    g_assert_cmpint(switchover_expected_downtime(&p, 4096), ==, 0);
}

/* avail-switchover-bandwidth (bytes/s) is the user's figure: taken whole. */
static void test_avail_switchover_bandwidth(void)
{
    SwitchoverPlan p = plan_at(FAST, 300);

    p.avail_bandwidth = 1000000000;
    g_assert_cmpfloat(switchover_bandwidth(&p), ==, 1000000.0);
    g_assert_cmpuint(switchover_threshold(&p), ==, 300000000);
    g_assert_cmpint(switchover_expected_downtime(&p, 150000000), ==, 150);
}

/* Whatever is pending, a plan that says "ready" expects no more than the limit. */
static void test_ready_keeps_limit(void)
{
    static const double rates[] = { 1.0, 977.5, 125000.0, FAST };
    static const uint64_t limits[] = { 1, 50, 300, 2000 };

    for (unsigned i = 0; i < G_N_ELEMENTS(rates); i++) {
        for (unsigned j = 0; j < G_N_ELEMENTS(limits); j++) {
            SwitchoverPlan p = plan_at(rates[i], limits[j]);

            switchover_note_sync(&p, limits[j] / 4);
            for (uint64_t pending = 0; pending < (1ull << 33);
                 pending = pending * 3 + 4096) {
                if (switchover_ready(&p, pending)) {
                    g_assert_cmpint(switchover_expected_downtime(&p, pending), <=,
                                    (int64_t)limits[j]);
                }
            }
        }
    }
}

/*
 * The estimator on a fake clock: a fast window then a slow one; the plan
 * follows the slow one until it ages out of the history.
 */
static void test_plan_from_windows(void)
{
    FakeChannel ch = { 0 };
    QEMUFile *f = fake_channel_file(&ch);
    FakeClock clock;
    RateWindow w;
    SwitchoverPlan p = plan_at(0, 300);
    static const double rates[] = { FAST, FAST / 4, FAST, FAST, FAST };
    static const bool ready[] = { true, false, false, true, true };
    uint64_t pending = 600000000;       /* fits at FAST, not at FAST / 4 */

    fake_clock_init(&clock, 0);
    rate_window_init(&w, &clock.clock, f);
    for (unsigned i = 0; i < G_N_ELEMENTS(rates); i++) {
        fake_channel_put(f, (uint64_t)(rates[i] * 50));
        rate_window_sent(&w, 50 * 1000);
        fake_clock_advance_ms(&clock, RATE_WINDOW_MS);
        rate_window_close(&w, 0, true);
        p.trusted_bandwidth = rate_window_trusted_bandwidth(&w);
        g_assert_cmpint(switchover_ready(&p, pending), ==, ready[i]);
    }
    g_assert_true(qemu_fclose(f, NULL));
}

/*
 * The a-b case: the first round's windows ran at the destination's first
 * touch (FAST / 40); its working set (100 MB) does not fit until the
 * history is forgotten at the round's end and one window of pages sent
 * again (FAST) closed.
 */
static void test_plan_after_first_round(void)
{
    FakeChannel ch = { 0 };
    QEMUFile *f = fake_channel_file(&ch);
    FakeClock clock;
    RateWindow w;
    SwitchoverPlan p = plan_at(0, 300);
    uint64_t pending = 100000000;

    fake_clock_init(&clock, 0);
    rate_window_init(&w, &clock.clock, f);
    for (unsigned i = 0; i < 2; i++) {
        fake_channel_put(f, (uint64_t)(FAST / 40 * RATE_WINDOW_MS));
        rate_window_sent(&w, RATE_WINDOW_MS * 1000);
        fake_clock_advance_ms(&clock, RATE_WINDOW_MS);
        rate_window_close(&w, 0, true);
    }
    rate_window_forget_history(&w);
    p.trusted_bandwidth = rate_window_trusted_bandwidth(&w);
    g_assert_false(switchover_ready(&p, pending));

    fake_channel_put(f, (uint64_t)(FAST * 50));
    rate_window_sent(&w, 50 * 1000);
    fake_clock_advance_ms(&clock, RATE_WINDOW_MS);
    rate_window_close(&w, 0, true);
    p.trusted_bandwidth = rate_window_trusted_bandwidth(&w);
    g_assert_true(switchover_ready(&p, pending));
    g_assert_true(qemu_fclose(f, NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/switchover/threshold", test_threshold);
    g_test_add_func("/migration/switchover/first-round", test_first_round);
    g_test_add_func("/migration/switchover/sync-cost", test_sync_cost);
    g_test_add_func("/migration/switchover/sync-eats-limit", test_sync_eats_limit);
    g_test_add_func("/migration/switchover/nothing-measured", test_nothing_measured);
    g_test_add_func("/migration/switchover/avail-switchover-bandwidth",
                    test_avail_switchover_bandwidth);
    g_test_add_func("/migration/switchover/ready-keeps-limit", test_ready_keeps_limit);
    g_test_add_func("/migration/switchover/plan-from-windows", test_plan_from_windows);
    g_test_add_func("/migration/switchover/plan-after-first-round",
                    test_plan_after_first_round);
    return g_test_run();
}
