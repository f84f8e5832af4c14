/*
 * The bandwidth window (migration/rate-window.h).  It only reads the clock
 * and the channel's transferred count; sleeping, publishing figures and
 * deciding the switchover are the caller's.
 */
#include "rate-window.h"

#include <glib.h>

static int64_t migration_clock_monotonic_us(void *opaque)
{
    return g_get_monotonic_time();
}

const MigrationClock migration_clock_monotonic = {
    .now_us = migration_clock_monotonic_us,
};

/* Bytes the migration sent so far: the main channel's, plus the extra counter's. */
static uint64_t rate_window_total(const RateWindow *w)
{
    return qemu_file_transferred(w->f) + (w->extra ? migration_stat_get(w->extra) : 0);
}

/* Bytes the budget counts so far: as rate_window_total, with queued bytes when committed is set. */
static uint64_t rate_window_committed_total(const RateWindow *w)
{
    if (!w->committed) {
        return rate_window_total(w);
    }
    return qemu_file_transferred(w->f) + migration_stat_get(w->committed);
}

static void rate_window_restart_counts(RateWindow *w)
{
    w->start_bytes = rate_window_total(w);
    w->start_committed = rate_window_committed_total(w);
}

void rate_window_init(RateWindow *w, const MigrationClock *clock, QEMUFile *f)
{
    *w = (RateWindow) {
        .clock = clock,
        .f = f,
        .start_us = migration_clock_now_us(clock),
    };
    rate_window_restart_counts(w);
}

void rate_window_add_counter(RateWindow *w, const MigrationStat *extra)
{
    w->extra = extra;
    rate_window_restart_counts(w);
}

void rate_window_add_committed(RateWindow *w, const MigrationStat *committed)
{
    w->committed = committed;
    rate_window_restart_counts(w);
}

uint64_t rate_window_budget(uint64_t max_bandwidth)
{
    return max_bandwidth * RATE_WINDOW_MS / 1000;
}

static uint64_t rate_window_bytes(const RateWindow *w)
{
    return rate_window_total(w) - w->start_bytes;
}

/*
 * Bytes this window charged to the budget.  The committed count may fall
 * (a page reserved in full turned out to be a zero page): never below 0.
 */
static uint64_t rate_window_charged(const RateWindow *w)
{
    uint64_t now = rate_window_committed_total(w);

    return now > w->start_committed ? now - w->start_committed : 0;
}

bool rate_window_spent(const RateWindow *w, uint64_t max_bandwidth)
{
    uint64_t budget = rate_window_budget(max_bandwidth);

    return budget && rate_window_charged(w) >= budget;
}

void rate_window_sent(RateWindow *w, int64_t us)
{
    w->send_us += MAX(us, 0);
}

int64_t rate_window_paid_until(const RateWindow *w, uint64_t max_bandwidth)
{
    int64_t paid;

    if (!max_bandwidth) {
        return 0;
    }
    paid = w->start_us + (int64_t)(rate_window_charged(w) * G_USEC_PER_SEC / max_bandwidth);
    return paid > migration_clock_now_us(w->clock) ? paid : 0;
}

bool rate_window_due(const RateWindow *w, uint64_t max_bandwidth, int64_t *sleep_until_us)
{
    int64_t end = w->start_us + RATE_WINDOW_MS * 1000;
    bool spent = rate_window_spent(w, max_bandwidth);
    bool elapsed = migration_clock_now_us(w->clock) >= end;

    *sleep_until_us = spent && !elapsed ? end : 0;
    return spent || elapsed;
}

/* Bytes per ms while sending; the window's length when no sending was timed. */
static double rate_window_send_rate(const RateWindow *w, int64_t elapsed_us,
                                    uint64_t max_bandwidth)
{
    int64_t us = w->send_us > 0 ? w->send_us : elapsed_us;
    double rate = (double)rate_window_bytes(w) * 1000 / MAX(us, 1);

    if (max_bandwidth) {
        rate = MIN(rate, (double)max_bandwidth / 1000);
    }
    return rate;
}

int64_t rate_window_close(RateWindow *w, uint64_t max_bandwidth, bool data_window)
{
    int64_t now = migration_clock_now_us(w->clock);
    int64_t elapsed_ms = MAX((now - w->start_us) / 1000, 1);

    w->bandwidth = (double)rate_window_bytes(w) / elapsed_ms;
    w->send_rate = rate_window_send_rate(w, now - w->start_us, max_bandwidth);
    if (data_window) {
        w->unlimited_send_rate = rate_window_send_rate(w, now - w->start_us, 0);
        w->history[w->next] = w->send_rate;
        w->next = (w->next + 1) % RATE_WINDOW_HISTORY;
        w->nr_history = MIN(w->nr_history + 1, RATE_WINDOW_HISTORY);
    }
    w->start_us = now;
    rate_window_restart_counts(w);
    w->send_us = 0;
    return elapsed_ms;
}

double rate_window_trusted_bandwidth(const RateWindow *w)
{
    double slowest;

    if (w->nr_history == 0) {
        return w->forgotten > 0 ? w->forgotten : w->send_rate;
    }
    slowest = w->history[0];
    for (unsigned i = 1; i < w->nr_history; i++) {
        slowest = MIN(slowest, w->history[i]);
    }
    return slowest;
}

void rate_window_forget_history(RateWindow *w)
{
    w->forgotten = rate_window_trusted_bandwidth(w);
    w->nr_history = 0;
    w->next = 0;
}
