/*
 * The dirty page rate limit of vCPUs (QEMU's set-vcpu-dirty-limit): a
 * vCPU limited to L MB/s may dirty at most L x 256 distinct pages of 4 KiB
 * per second.  QEMU needs KVM's dirty ring for it; tern enforces it where
 * the accelerator counts the pages each vCPU stores to
 * (AccelOps.vcpu_dirty_budget: the interpreter): a token bucket refilled
 * at the limit pays for each new page; it starts with 10 ms of pages and
 * holds at most one period's (1 s: a vCPU the host kept from running may
 * catch up), and a vCPU whose bucket is empty waits outside the guest
 * (counting as parked) until it holds 5 ms of pages again.  The current
 * rate is the distinct pages of the last period: 1 s, or the
 * x-vcpu-dirty-limit-period of a migration with the dirty-limit capability.
 */
#ifndef SYSEMU_DIRTY_LIMIT_H
#define SYSEMU_DIRTY_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "sysemu/vm.h"

#define DIRTY_LIMIT_PERIOD_US   1000000
#define DIRTY_LIMIT_BURST_US    10000

/* Can this VM's accelerator enforce a limit (and does it have vCPUs)?  BQL held. */
bool dirty_limit_supported(VM *vm);

/* Limit vCPU @index (all when < 0) to @mbps MB/s; 0 lifts the limit.  BQL held. */
void dirty_limit_set(VM *vm, int index, uint64_t mbps);

/*
 * vCPU @index's limit and its dirty rate over the last period (MB/s);
 * false when it has no limit.  BQL held.
 */
bool dirty_limit_get(VM *vm, int index, uint64_t *limit, uint64_t *current);

/* The period (µs, > 0; otherwise back to DIRTY_LIMIT_PERIOD_US).  BQL held. */
void dirty_limit_set_period(VM *vm, int64_t us);

/* Is any vCPU limited?  BQL held. */
bool dirty_limit_in_service(VM *vm);

/*
 * QEMU's dirty-limit figures for query-migrate, measured over the last
 * period (dirty-limit.c says how the bucket stands in for the ring):
 * @throttle_us the longest wait per round of a vCPU, @ring_full_us the
 * time a round of pages takes at the average rate, 0 when idle.  False
 * when no vCPU is limited.  BQL held.
 */
bool dirty_limit_round_info(VM *vm, uint64_t *throttle_us, uint64_t *ring_full_us);

#endif
