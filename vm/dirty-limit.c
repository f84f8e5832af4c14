/*
 * The vCPU dirty limit (sysemu/dirty-limit.h): the settings, and the token
 * bucket each limited vCPU runs through before every run.
 */
#include "vm-internal.h"

#include "exec/ramblock.h"
#include "sysemu/dirty-limit.h"

/* MB/s (QEMU's MB are MiB) as pages per second. */
static double dirty_limit_pages_per_s(uint64_t mbps)
{
    return (double)(mbps << 20) / TARGET_PAGE_SIZE;
}

bool dirty_limit_supported(VM *vm)
{
    return vm->ops && vm->ops->vcpu_dirty_budget && cpus_count(vm) > 0;
}

void dirty_limit_set(VM *vm, int index, uint64_t mbps)
{
    for (int i = 0; i < cpus_count(vm); i++) {
        if (index < 0 || i == index) {
            CPUDirtyLimit *dl = cpus_dirty_limit_of(vm, i);

            dl->limit_mbps = mbps;
            if (!mbps) {
                dl->current_mbps = 0;
            }
            /* Out of the guest, so that the next run starts counting. */
            cpus_kick_one(vm, i);
        }
    }
}

bool dirty_limit_get(VM *vm, int index, uint64_t *limit, uint64_t *current)
{
    CPUDirtyLimit *dl = cpus_dirty_limit_of(vm, index);

    if (!dl || !dl->limit_mbps) {
        return false;
    }
    *limit = dl->limit_mbps;
    *current = dl->current_mbps;
    return true;
}

/* The figures of the period just ended: its distinct pages, its waits. */
static void dirty_limit_end_period(CPUDirtyLimit *dl, int64_t now)
{
    int64_t us = MAX(now - dl->period_start_us, 1);

    dl->current_mbps = ((dl->period_pages * TARGET_PAGE_SIZE) >> 20) *
                       G_USEC_PER_SEC / us;
    dl->rate_pps = dl->period_pages * G_USEC_PER_SEC / us;
    dl->round_wait_us = dl->period_waits ? dl->period_wait_us / dl->period_waits : 0;
    dl->period_start_us = now;
    dl->period_pages = 0;
    dl->period_wait_us = 0;
    dl->period_waits = 0;
}

int64_t dirty_limit_before_run(VM *vm, CPUDirtyLimit *dl, AccelVCPU *vcpu)
{
    uint64_t (*budget_fn)(AccelVCPU *, uint64_t, bool) = vm->ops->vcpu_dirty_budget;
    int64_t now = g_get_monotonic_time();
    double rate, burst, cap;
    bool new_period = false;

    if (!budget_fn || (!dl->limit_mbps && !dl->counting)) {
        return 0;
    }
    if (!dl->limit_mbps) {
        budget_fn(vcpu, 0, false);
        dl->counting = false;
        return 0;
    }
    rate = dirty_limit_pages_per_s(dl->limit_mbps);
    burst = MAX(rate * DIRTY_LIMIT_BURST_US / G_USEC_PER_SEC, 1);
    /*
     * A vCPU kept from running (a loaded host) may catch up, within one
     * period: the limit holds on average over the period, as QEMU's.
     */
    cap = MAX(rate * vm->dirty_limit_period_us / G_USEC_PER_SEC, 1);
    if (!dl->counting) {
        *dl = (CPUDirtyLimit) {
            .limit_mbps = dl->limit_mbps,
            .counting = true,
            .tokens = burst,
            .last_us = now,
            .period_start_us = now,
        };
        new_period = true;
    } else {
        /* What the last run dirtied; the budget stays until set below. */
        uint64_t used = budget_fn(vcpu, dl->budget, false);

        dl->tokens -= used;
        dl->period_pages += used;
        dl->tokens = MIN(dl->tokens + (now - dl->last_us) * rate / G_USEC_PER_SEC,
                         cap);
        dl->last_us = now;
        if (now - dl->period_start_us >= vm->dirty_limit_period_us) {
            dirty_limit_end_period(dl, now);
            new_period = true;
        }
    }
    if (dl->tokens < 1) {
        /* Wait until half a burst is back, so the waits are not tiny. */
        double want = MAX(burst / 2, 1);
        int64_t wait_us = (int64_t)((want - dl->tokens) * G_USEC_PER_SEC / rate) + 1;

        budget_fn(vcpu, dl->budget ? dl->budget : 1, new_period);
        dl->period_wait_us += wait_us;
        dl->period_waits++;
        return wait_us;
    }
    dl->budget = (uint64_t)dl->tokens;
    budget_fn(vcpu, dl->budget, new_period);
    return 0;
}

void dirty_limit_set_period(VM *vm, int64_t us)
{
    vm->dirty_limit_period_us = us > 0 ? us : DIRTY_LIMIT_PERIOD_US;
}

bool dirty_limit_in_service(VM *vm)
{
    for (int i = 0; i < cpus_count(vm); i++) {
        if (cpus_dirty_limit_of(vm, i)->limit_mbps) {
            return true;
        }
    }
    return false;
}

/*
 * The interpreter has no dirty ring; its bucket plays the ring's part.  A
 * "round" is one emptying of the bucket: the throttle time per round is
 * the longest of the limited vCPUs' average waits for tokens over the last
 * period, and the ring full time is how long a burst of pages (the
 * bucket's size) takes at the limited vCPUs' average dirty rate.
 */
bool dirty_limit_round_info(VM *vm, uint64_t *throttle_us, uint64_t *ring_full_us)
{
    uint64_t max_wait = 0, rate_sum = 0, burst_sum = 0;
    unsigned limited = 0;

    for (int i = 0; i < cpus_count(vm); i++) {
        const CPUDirtyLimit *dl = cpus_dirty_limit_of(vm, i);

        if (!dl->limit_mbps) {
            continue;
        }
        limited++;
        max_wait = MAX(max_wait, dl->round_wait_us);
        rate_sum += dl->rate_pps;
        burst_sum += MAX(dirty_limit_pages_per_s(dl->limit_mbps) *
                         DIRTY_LIMIT_BURST_US / G_USEC_PER_SEC, 1);
    }
    if (!limited) {
        return false;
    }
    *throttle_us = max_wait;
    /* (burst_sum / limited) pages at (rate_sum / limited) pages per second. */
    *ring_full_us = rate_sum ? burst_sum * G_USEC_PER_SEC / rate_sum : 0;
    return true;
}
