/*
 * vCPU threads: one per vCPU, each running the accelerator's vcpu_run in a
 * loop, parked while the VM is stopped or the vCPU is halted.  The set of
 * vCPUs is the VM object's (sysemu/vm.h); it is changed only with the BQL
 * held.
 */
#ifndef SYSEMU_CPUS_H
#define SYSEMU_CPUS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sysemu/accel-ops.h"
#include "sysemu/cpu-state.h"
#include "sysemu/vm.h"

/*
 * Create @vm's @count vCPUs on @accel and start their threads, parked (they
 * run once vm_start() is called).  vCPU 0 starts at tern's entry state
 * (x86_cpu_state_reset(@entry, @stack)); the others start the same way but
 * halted: tern's guests are single-CPU programs, so extra vCPUs wait for a
 * wake-up that only cpu_set_state() (halted = false) gives.  @io is copied.
 * BQL held.
 */
bool cpus_create(VM *vm, const AccelOps *ops, AccelState *accel, int count,
                 const CPUIOHandler *io, uint32_t entry, uint32_t stack,
                 GError **errp);

/* Stop and join every vCPU thread and free the vCPUs.  BQL held. */
void cpus_destroy(VM *vm);

int cpus_count(VM *vm);

/* The index of the vCPU whose thread has kernel id @tid, or -1.  Any thread. */
int cpus_index_of_thread(VM *vm, int tid);

/*
 * Kick every vCPU out of the accelerator and wait until all are parked.
 * BQL held (released while waiting); never on a vCPU thread.
 */
void cpus_pause_all(VM *vm);

/* Let every vCPU run again (those not halted).  BQL held. */
void cpus_resume_all(VM *vm);

/*
 * Park every vCPU until cpus_quiesce_end() without a stop: the run state,
 * STOP/RESUME events and stop/cont are untouched, and a vCPU that vm_stop()
 * parked meanwhile stays parked after the end.  For a moment in which no
 * vCPU may be inside the accelerator (the dirty log collect without
 * membarrier).  BQL held (released while waiting); never on a vCPU thread.
 */
void cpus_quiesce_begin(VM *vm);
void cpus_quiesce_end(VM *vm);

/*
 * On a vCPU thread: leave the accelerator soon and park until the next
 * cpus_resume_all() (a stop requested from guest I/O).  BQL held.
 */
void cpus_stop_current(void);

/* Is the calling thread a vCPU thread? */
bool cpus_on_vcpu_thread(void);

/*
 * Copy vCPU @index's architectural state out / in.  The VM must be stopped
 * (every vCPU parked); BQL held.
 */
bool cpu_get_state(VM *vm, int index, X86CPUState *env, GError **errp);
bool cpu_set_state(VM *vm, int index, const X86CPUState *env,
                   GError **errp);

/* The message of the last vCPU failure (unsupported instruction...), or
 * NULL; kept for tests and HMP, cleared by cpus_destroy(). */
const char *cpus_last_error(VM *vm);

#endif
