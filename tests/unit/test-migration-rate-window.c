/*
 * The bandwidth window (migration/rate-window.c) on a fake clock and a fake
 * channel: the max-bandwidth budget, when a window ends, what it measures
 * and which figure the switchover may trust.
 */
#include "rate-window.h"
#include "migration-fakes.h"

#include <glib.h>

typedef struct Fixture {
    FakeClock clock;
    FakeChannel ch;
    QEMUFile *f;
    RateWindow w;
} Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    fake_clock_init(&fx->clock, 5 * G_USEC_PER_SEC);
    fx->ch = (FakeChannel) { 0 };
    fx->f = fake_channel_file(&fx->ch);
    rate_window_init(&fx->w, &fx->clock.clock, fx->f);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    g_assert_true(qemu_fclose(fx->f, NULL));
}

/*
 * One window: @bytes sent during @send_ms of sending, closed after
 * @window_ms; @data: it carried mostly page data.
 */
static void window_of(Fixture *fx, uint64_t bytes, int64_t send_ms, int64_t window_ms,
                      uint64_t max_bandwidth, bool data)
{
    fake_channel_put(fx->f, bytes);
    rate_window_sent(&fx->w, send_ms * 1000);
    fake_clock_advance_ms(&fx->clock, window_ms);
    g_assert_cmpint(rate_window_close(&fx->w, max_bandwidth, data), ==, window_ms);
}

static void one_window(Fixture *fx, uint64_t bytes, int64_t send_ms, int64_t window_ms,
                       uint64_t max_bandwidth)
{
    window_of(fx, bytes, send_ms, window_ms, max_bandwidth, true);
}

static void test_budget(void)
{
    g_assert_cmpuint(rate_window_budget(0), ==, 0);
    g_assert_cmpuint(rate_window_budget(1000000), ==, 100000);
    g_assert_cmpuint(rate_window_budget(128 << 20), ==, (128 << 20) / 10);
}

/* max-bandwidth 1 MB/s: 100000 bytes per window, then sleep out the window. */
static void test_budget_spent_early(Fixture *fx, gconstpointer data)
{
    int64_t start = fx->clock.now_us;
    int64_t sleep_until;

    fake_channel_put(fx->f, 99999);
    g_assert_false(rate_window_spent(&fx->w, 1000000));
    g_assert_false(rate_window_due(&fx->w, 1000000, &sleep_until));

    fake_channel_put(fx->f, 1);
    fake_clock_advance_ms(&fx->clock, 40);
    g_assert_true(rate_window_spent(&fx->w, 1000000));
    g_assert_true(rate_window_due(&fx->w, 1000000, &sleep_until));
    g_assert_cmpint(sleep_until, ==, start + RATE_WINDOW_MS * 1000);

    /* The caller slept until the window's end: nothing more to sleep. */
    fake_clock_advance_ms(&fx->clock, 60);
    g_assert_true(rate_window_due(&fx->w, 1000000, &sleep_until));
    g_assert_cmpint(sleep_until, ==, 0);
    g_assert_cmpint(rate_window_close(&fx->w, 1000000, true), ==, 100);
    g_assert_cmpfloat(fx->w.bandwidth, ==, 1000.0);
    /* The next window starts empty. */
    g_assert_false(rate_window_spent(&fx->w, 1000000));
}

/* Unlimited: never spent, the window ends by time alone. */
static void test_unlimited_ends_by_time(Fixture *fx, gconstpointer data)
{
    int64_t sleep_until;

    fake_channel_put(fx->f, 64 << 20);
    fake_clock_advance_ms(&fx->clock, RATE_WINDOW_MS - 1);
    g_assert_false(rate_window_spent(&fx->w, 0));
    g_assert_false(rate_window_due(&fx->w, 0, &sleep_until));
    fake_clock_advance_ms(&fx->clock, 1);
    g_assert_true(rate_window_due(&fx->w, 0, &sleep_until));
    g_assert_cmpint(sleep_until, ==, 0);
}

/*
 * mbps is over the whole window; the trusted figure is over the time spent
 * sending (a window that also synced or ran out of pages still says how
 * fast pages go out).
 */
static void test_close_measures(Fixture *fx, gconstpointer data)
{
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 0);
    one_window(fx, 2400000, 50, 100, 0);
    g_assert_cmpfloat(fx->w.bandwidth, ==, 24000.0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 48000.0);
}

/* A window in which nothing timed its sending: the window's length is the time. */
static void test_close_without_send_time(Fixture *fx, gconstpointer data)
{
    one_window(fx, 1000000, 0, 125, 0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 8000.0);
}

/* Under max-bandwidth the final pass is planned within the limit, not at the link's rate. */
static void test_close_capped_by_max_bandwidth(Fixture *fx, gconstpointer data)
{
    one_window(fx, 100000, 10, 100, 1000000);
    g_assert_cmpfloat(fx->w.bandwidth, ==, 1000.0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 1000.0);
}

/* The slowest of the last RATE_WINDOW_HISTORY windows; older ones age out. */
static void test_trusted_is_slowest_recent(Fixture *fx, gconstpointer data)
{
    static const uint64_t rates[] = { 3000, 1000, 2000, 4000, 5000, 6000 };
    static const double trusted[] = { 3000, 1000, 1000, 2000, 4000, 5000 };

    G_STATIC_ASSERT(RATE_WINDOW_HISTORY == 2);
    for (unsigned i = 0; i < G_N_ELEMENTS(rates); i++) {
        one_window(fx, rates[i] * 100, 100, 100, 0);
        g_assert_cmpfloat(fx->w.bandwidth, ==, (double)rates[i]);
        g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, trusted[i]);
    }
}

/*
 * Windows that mostly scanned zero pages stay out of the history; until a
 * data window closes, the last window's figure is all there is.
 */
static void test_zero_windows_left_out(Fixture *fx, gconstpointer data)
{
    window_of(fx, 50000, 100, 100, 0, false);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 500.0);
    one_window(fx, 4000000, 100, 100, 0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 40000.0);
    window_of(fx, 1000, 100, 100, 0, false);
    g_assert_cmpfloat(fx->w.bandwidth, ==, 10.0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 40000.0);
}

/*
 * A window cut short under max-bandwidth 1 MB/s may close once its bytes
 * are paid for at that rate; unlimited, or already paid, at once.
 */
static void test_paid_until(Fixture *fx, gconstpointer data)
{
    int64_t start = fx->clock.now_us;

    g_assert_cmpint(rate_window_paid_until(&fx->w, 0), ==, 0);
    fake_channel_put(fx->f, 30000);
    fake_clock_advance_ms(&fx->clock, 10);
    g_assert_cmpint(rate_window_paid_until(&fx->w, 0), ==, 0);
    g_assert_cmpint(rate_window_paid_until(&fx->w, 1000000), ==, start + 30 * 1000);
    fake_clock_advance_ms(&fx->clock, 20);
    g_assert_cmpint(rate_window_paid_until(&fx->w, 1000000), ==, 0);
}

/*
 * After the first round the history is forgotten: its slowest figure holds
 * until the next data window, which then decides alone; a zero window in
 * between changes nothing.
 */
static void test_forget_history(Fixture *fx, gconstpointer data)
{
    one_window(fx, 2000 * 100, 100, 100, 0);
    one_window(fx, 3000 * 100, 100, 100, 0);
    rate_window_forget_history(&fx->w);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 2000.0);
    window_of(fx, 50000, 100, 100, 0, false);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 2000.0);
    one_window(fx, 40000 * 100, 100, 100, 0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 40000.0);
    one_window(fx, 30000 * 100, 100, 100, 0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 30000.0);
    one_window(fx, 50000 * 100, 100, 100, 0);
    g_assert_cmpfloat(rate_window_trusted_bandwidth(&fx->w), ==, 30000.0);
}

/*
 * With a committed counter (multifd: bytes queued and sent), the budget
 * counts it, the measured bandwidth counts bytes sent, and a committed
 * count that falls (a charged page was a zero page) never wraps.
 */
static void test_committed_counts_for_budget(Fixture *fx, gconstpointer data)
{
    MigrationStat sent = 0, committed = 0;
    int64_t start = fx->clock.now_us;

    rate_window_add_counter(&fx->w, &sent);
    rate_window_add_committed(&fx->w, &committed);
    migration_stat_add(&committed, 100000);     /* queued, nothing out yet */
    g_assert_true(rate_window_spent(&fx->w, 1000000));
    g_assert_cmpint(rate_window_paid_until(&fx->w, 1000000), ==, start + 100000);

    /* The packets went out smaller than charged: the count falls. */
    migration_stat_add(&committed, (uint64_t)-60000);
    migration_stat_add(&sent, 40000);
    g_assert_false(rate_window_spent(&fx->w, 1000000));
    fake_clock_advance_ms(&fx->clock, 100);
    g_assert_cmpint(rate_window_close(&fx->w, 1000000, true), ==, 100);
    g_assert_cmpfloat(fx->w.bandwidth, ==, 400.0);

    /* Below where the new window started: charged nothing, not 2^64 - n. */
    migration_stat_add(&committed, (uint64_t)-1000);
    g_assert_false(rate_window_spent(&fx->w, 1000000));
    g_assert_cmpint(rate_window_paid_until(&fx->w, 1000000), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/rate-window/budget", test_budget);
#define ADD(path, fn) \
    g_test_add("/migration/rate-window/" path, Fixture, NULL, \
               fixture_setup, fn, fixture_teardown)
    ADD("budget-spent-early", test_budget_spent_early);
    ADD("unlimited-ends-by-time", test_unlimited_ends_by_time);
    ADD("close-measures", test_close_measures);
    ADD("close-without-send-time", test_close_without_send_time);
    ADD("close-capped-by-max-bandwidth", test_close_capped_by_max_bandwidth);
    ADD("trusted-is-slowest-recent", test_trusted_is_slowest_recent);
    ADD("zero-windows-left-out", test_zero_windows_left_out);
    ADD("paid-until", test_paid_until);
    ADD("forget-history", test_forget_history);
    ADD("committed-counts-for-budget", test_committed_counts_for_budget);
#undef ADD
    return g_test_run();
}
