/*
 * The bandwidth window of the outgoing migration (rate-window.c).  Every
 * RATE_WINDOW_MS it measures what the channel took: the throughput over the
 * window (query-migrate's mbps; max-bandwidth is enforced on it, the caller
 * sleeping out a window whose budget was spent early) and the rate while
 * pages were being sent, whose minimum over the last windows is the
 * bandwidth the switchover decision trusts.
 */
#ifndef MIGRATION_RATE_WINDOW_H
#define MIGRATION_RATE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "migration-clock.h"
#include "migration/migration-stats.h"
#include "migration/qemu-file.h"

/* The rate-limit window, as QEMU's BUFFER_DELAY. */
#define RATE_WINDOW_MS          100
/*
 * Windows the trusted bandwidth looks back over.  Three held the a-b bench's
 * threshold down for 300 ms after its first round (whose windows run at the
 * destination's first-touch rate) and doubled its total time; two keep one
 * fast window from deciding alone.
 */
#define RATE_WINDOW_HISTORY     2

typedef struct RateWindow {
    const MigrationClock *clock;
    QEMUFile *f;                /* the channel whose transferred bytes are measured */
    const MigrationStat *extra; /* bytes sent beside it (multifd), or NULL */
    /*
     * Bytes handed to senders beside it that may not have left yet (multifd:
     * sent plus queued), or NULL: the budget counts these, so that queued
     * packets cannot carry a window past it.
     */
    const MigrationStat *committed;
    int64_t start_us;
    uint64_t start_bytes;
    uint64_t start_committed;
    int64_t send_us;            /* time spent sending in this window (rate_window_sent) */
    double bandwidth;           /* bytes per ms over the last closed window, 0 before */
    double send_rate;           /* bytes per ms of sending in the last closed window */
    /*
     * The send rate of the last windows that carried mostly page data, a
     * ring.  Time spent syncing, sleeping or with nothing to send is not in
     * it: the final pass is a sync, planned for apart, and one long send.
     * A window that mostly found zero pages measured the scan (a few bytes
     * per page), not the channel, and is left out.
     */
    double history[RATE_WINDOW_HISTORY];
    unsigned nr_history;        /* windows in @history (at most RATE_WINDOW_HISTORY) */
    unsigned next;              /* where the next window's figure goes */
    /* What @history said when rate_window_forget_history emptied it. */
    double forgotten;
    /*
     * The send rate of the last data window without the max-bandwidth cap
     * (0 before one): what the final pass, which runs unlimited, may reach.
     */
    double unlimited_send_rate;
} RateWindow;

/* Start the first window now, on @f. */
void rate_window_init(RateWindow *w, const MigrationClock *clock, QEMUFile *f);

/* Count @extra's bytes (multifd channels') with the main channel's from now on. */
void rate_window_add_counter(RateWindow *w, const MigrationStat *extra);

/*
 * Charge the budget with @committed (bytes queued beside the main channel
 * and sent, multifd's) instead of the extra counter's bytes sent: a queued
 * packet counts before it leaves.  The measured bandwidth stays on bytes
 * sent.
 */
void rate_window_add_committed(RateWindow *w, const MigrationStat *committed);

/* Bytes one window may carry under @max_bandwidth (bytes/s); 0 = unlimited. */
uint64_t rate_window_budget(uint64_t max_bandwidth);

/* Has this window's budget under @max_bandwidth been spent? Never when unlimited. */
bool rate_window_spent(const RateWindow *w, uint64_t max_bandwidth);

/* The caller spent @us sending (one iteration): the send rate's denominator. */
void rate_window_sent(RateWindow *w, int64_t us);

/*
 * When may a window that ends before RATE_WINDOW_MS close without having
 * carried more than @max_bandwidth allows?  The time its bytes are paid for
 * at that rate when it is still ahead, else 0 (also when unlimited).
 */
int64_t rate_window_paid_until(const RateWindow *w, uint64_t max_bandwidth);

/*
 * Is this window over?  True once RATE_WINDOW_MS have passed, or once the
 * budget is spent; then *@sleep_until_us is when the window would have ended
 * (the caller flushes and sleeps until then before closing it), else 0.
 */
bool rate_window_due(const RateWindow *w, uint64_t max_bandwidth, int64_t *sleep_until_us);

/*
 * Measure the window that ends now, record its send rate (capped at
 * @max_bandwidth when one is set: the final pass is planned within the
 * user's limit) in the history when it carried mostly page data
 * (@data_window), and start the next one.  Returns the window's length in
 * ms (at least 1).
 */
int64_t rate_window_close(RateWindow *w, uint64_t max_bandwidth, bool data_window);

/*
 * The bandwidth to plan a switchover on, bytes per ms: the slowest send
 * rate in the history (one window's figure swings by 2x on a loaded
 * machine); while the history is empty, what it said when it was forgotten
 * or else the last window's; 0 before the first window closes.
 */
double rate_window_trusted_bandwidth(const RateWindow *w);

/*
 * Empty the history: the windows so far measured sending that no longer
 * predicts the final pass.  The first round's windows carry pages the
 * destination touches for the first time (bench, a-b 1 GiB under load:
 * 20-120 MB/s), every later page lands on a page it holds (1-2 GB/s);
 * kept, they held the a-b threshold down for two more windows (200-300 ms,
 * up to 10 dirty syncs).  Until a data window closes, the trusted figure
 * stays what the history said; then that window's figure replaces it.
 */
void rate_window_forget_history(RateWindow *w);

#endif
