/*
 * The switchover decision (switchover.c): may the VM stop now, so that what
 * is left reaches the channel within downtime-limit?
 *
 * QEMU switches over when pending <= bandwidth x downtime-limit, with the
 * bandwidth of the last window.  On a loaded machine that misses the limit
 * by 2x (bench: 590 MB of never-sent pages left after one 2.4 GB/s window,
 * sent at 1.5 GB/s with the VM stopped; the final sync, device state and
 * EOF took under 1 ms of it).  Here:
 *
 *   - the VM never stops before every page was sent once (the first round
 *     is done): a page never sent costs the same bytes whether it goes
 *     before or after the stop, so sending it live costs no total time,
 *     and a guest that dirties little then stops with almost nothing left;
 *   - the bandwidth is the trusted one (rate_window_trusted_bandwidth: the
 *     slowest send rate of the last windows that carried page data, since
 *     the first round ended: what is left then was all sent before, and
 *     lands on pages the destination holds);
 *   - the final dirty sync runs with the VM stopped: the last sync's time
 *     is set aside from the limit first (the slowest of all would let one
 *     preempted sync keep a migration from ever converging).
 *
 * avail-switchover-bandwidth, when set, is the user's figure for the
 * bandwidth at switchover and replaces the measured one (as in QEMU).
 */
#ifndef MIGRATION_SWITCHOVER_H
#define MIGRATION_SWITCHOVER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct SwitchoverPlan {
    uint64_t downtime_limit;    /* ms */
    uint64_t avail_bandwidth;   /* avail-switchover-bandwidth, bytes/s; 0 = unset */
    double trusted_bandwidth;   /* bytes per ms (rate_window_trusted_bandwidth) */
    int64_t sync_ms;            /* the last dirty sync, ms */
    bool first_round_done;      /* every page was sent once */
} SwitchoverPlan;

/* Bytes per ms the final pass is planned on; 0 while nothing was measured. */
double switchover_bandwidth(const SwitchoverPlan *p);

/* Bytes that may still be pending when the VM stops: what fits in the limit. */
uint64_t switchover_threshold(const SwitchoverPlan *p);

/* May the VM stop with @pending bytes left?  Always with nothing left. */
bool switchover_ready(const SwitchoverPlan *p, uint64_t pending);

/*
 * The downtime the plan expects for @pending bytes, ms (query-migrate
 * expected-downtime); 0 while no bandwidth was measured.
 */
int64_t switchover_expected_downtime(const SwitchoverPlan *p, uint64_t pending);

/* Note a dirty sync that took @ms: the final one is planned to take as long. */
void switchover_note_sync(SwitchoverPlan *p, int64_t ms);

#endif
