/*
 * vCPU throttling: make every vCPU of a VM spend a share of its time asleep
 * instead of running the guest, the mechanism behind QEMU's auto-converge
 * (and QEMU's cpu-throttle.c numbers: 1..99 percent, a 10 ms time slice).
 *
 * How the share is enforced: a throttled vCPU runs one time slice, measures
 * how long it ran (t), and then sleeps t * p / (100 - p) outside the
 * accelerator, so it runs (100 - p) % of the wall time.  An accelerator
 * with an instruction budget (AccelOps.vcpu_run_for: the interpreter) ends
 * each slice itself after a number of instructions calibrated to take
 * about one slice; one without (kvm) is kicked out of the guest every slice
 * by the VM's throttle thread.  A sleeping vCPU counts as parked, so
 * stopping the VM never waits for a throttle sleep.
 */
#ifndef SYSEMU_CPU_THROTTLE_H
#define SYSEMU_CPU_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "sysemu/vm.h"

#define CPU_THROTTLE_PCT_MIN 1
#define CPU_THROTTLE_PCT_MAX 99
#define CPU_THROTTLE_TIMESLICE_US 10000

/* Throttle @vm's vCPUs by @pct percent, clamped to 1..99.  Any thread. */
void cpu_throttle_set(VM *vm, int pct);
/* Let the vCPUs run at full speed again.  Any thread. */
void cpu_throttle_stop(VM *vm);
/* The current percentage; 0 when not throttled.  Any thread. */
int cpu_throttle_get_percentage(VM *vm);

/* The sleep that pays for running @run_us at @pct percent: run * pct / (100 - pct). */
int64_t cpu_throttle_sleep_us(int pct, int64_t run_us);

/*
 * The instruction budget of the next slice, from a slice that executed
 * @insns instructions in @run_us: as many as take one time slice at that
 * speed, within [CPU_THROTTLE_SLICE_MIN_INSNS, CPU_THROTTLE_SLICE_MAX_INSNS].
 */
#define CPU_THROTTLE_SLICE_MIN_INSNS    1000
#define CPU_THROTTLE_SLICE_MAX_INSNS    (UINT64_C(1) << 32)
uint64_t cpu_throttle_next_slice(uint64_t insns, int64_t run_us);

#endif
