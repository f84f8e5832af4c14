/*
 * Interfaces of the interp accelerator beyond AccelOps, for tests and
 * benchmarks that need to run a guest for an exact number of instructions.
 */
#ifndef SYSEMU_INTERP_H
#define SYSEMU_INTERP_H

#include <glib.h>
#include <stdint.h>

#include "sysemu/accel-ops.h"

/*
 * Run @cpu (created by accel_interp_ops.vcpu_new) for at most @max_insns
 * instructions (each iteration of a REP string instruction counts as one).
 * Returns VCPU_EXIT_KICKED when the budget is used up or vcpu_kick() was
 * called (the kick is consumed only in the latter case), VCPU_EXIT_HALT on
 * HLT, VCPU_EXIT_ERROR with @errp set on an unsupported instruction or an
 * access outside RAM (the vCPU is left at the faulting instruction).
 * *@executed (may be NULL) receives the number of instructions retired.
 * Same state and memory + same @max_insns => same result, always.
 */
VCPUExit interp_run_for(AccelVCPU *cpu, const CPUIOHandler *io,
                        uint64_t max_insns, uint64_t *executed, GError **errp);

#endif
