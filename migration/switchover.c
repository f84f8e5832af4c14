/*
 * The switchover decision (migration/switchover.h): pure arithmetic on what
 * the rate window and the dirty syncs measured, so tests can state it.
 */
#include "switchover.h"

#include <glib.h>

double switchover_bandwidth(const SwitchoverPlan *p)
{
    if (p->avail_bandwidth) {
        return (double)p->avail_bandwidth / 1000;
    }
    return p->trusted_bandwidth;
}

uint64_t switchover_threshold(const SwitchoverPlan *p)
{
    int64_t budget_ms = (int64_t)p->downtime_limit - p->sync_ms;

    if (budget_ms <= 0) {
        return 0;
    }
    return (uint64_t)(switchover_bandwidth(p) * budget_ms);
}

bool switchover_ready(const SwitchoverPlan *p, uint64_t pending)
{
    if (pending == 0) {
        return true;
    }
    return p->first_round_done && pending <= switchover_threshold(p);
}

int64_t switchover_expected_downtime(const SwitchoverPlan *p, uint64_t pending)
{
    double bw = switchover_bandwidth(p);

    if (bw <= 0) {
        return 0;
    }
    return p->sync_ms + (int64_t)(pending / bw);
}

void switchover_note_sync(SwitchoverPlan *p, int64_t ms)
{
    p->sync_ms = ms;
}
