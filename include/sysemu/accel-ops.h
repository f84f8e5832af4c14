/*
 * The accelerator interface: what runs guest instructions (kvm, interp) or
 * stands in for them (qtest).  One table of operations per accelerator; the
 * machine picks one with -accel (a fallback list, as in QEMU).
 *
 * Threads: vm_new/vm_free and vcpu_new run on the main thread at start-up
 * and shut-down.  vcpu_run runs on the vCPU's own thread.  vcpu_kick may be
 * called from any thread.  vcpu_get_state/vcpu_set_state are called only
 * while the vCPU is parked (not inside vcpu_run).  The dirty_log_* hooks run
 * on the migration thread or the main thread while vCPUs may be running.
 */
#ifndef SYSEMU_ACCEL_OPS_H
#define SYSEMU_ACCEL_OPS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "exec/ramblock.h"
#include "sysemu/cpu-state.h"

typedef struct AccelState AccelState;   /* one per VM, accelerator-private */
typedef struct AccelVCPU AccelVCPU;     /* one per vCPU, accelerator-private */

/* Port I/O exits go to the machine's devices through this table. */
typedef struct CPUIOHandler {
    /* Called on the vCPU thread without the BQL; the handler takes it. */
    uint32_t (*pio_read)(void *opaque, uint16_t port, unsigned size);
    void (*pio_write)(void *opaque, uint16_t port, unsigned size, uint32_t value);
    void *opaque;
} CPUIOHandler;

typedef enum VCPUExit {
    VCPU_EXIT_KICKED,   /* vcpu_kick() was called; the caller decides what next */
    VCPU_EXIT_HALT,     /* the guest executed HLT with interrupts that never come */
    VCPU_EXIT_ERROR,    /* unsupported instruction, bad access...; errp says what and where */
} VCPUExit;

typedef struct AccelOps {
    const char *name;                   /* "kvm", "interp", "qtest" */

    /* Is this accelerator usable here?  Sets @errp with the reason if not. */
    bool (*available)(GError **errp);

    /* Create the VM over @ram_blocks (RAMBlock*, guest_addr set; fixed afterwards). */
    AccelState *(*vm_new)(GPtrArray *ram_blocks, GError **errp);
    void (*vm_free)(AccelState *s);

    AccelVCPU *(*vcpu_new)(AccelState *s, int index, GError **errp);
    void (*vcpu_free)(AccelVCPU *cpu);

    /* Run until kicked, halted or failed (see VCPUExit). */
    VCPUExit (*vcpu_run)(AccelVCPU *cpu, const CPUIOHandler *io, GError **errp);
    /*
     * Optional: run at most @max_insns instructions (*@executed says how
     * many ran), returning VCPU_EXIT_KICKED when the budget is spent, or as
     * vcpu_run does.  The throttle (sysemu/cpu-throttle.h) ends its time
     * slices with it; without it, a kick every slice does.
     */
    VCPUExit (*vcpu_run_for)(AccelVCPU *cpu, const CPUIOHandler *io,
                             uint64_t max_insns, uint64_t *executed, GError **errp);
    /*
     * Optional, for the dirty limit (sysemu/dirty-limit.h): count the
     * distinct pages the vCPU stores to, and end its runs
     * (VCPU_EXIT_KICKED) once @budget new pages were counted; @budget 0
     * stops counting.  @new_period forgets which pages were counted.
     * Returns the pages counted since the previous call.  On the vCPU's
     * thread, between runs.
     */
    uint64_t (*vcpu_dirty_budget)(AccelVCPU *cpu, uint64_t budget, bool new_period);
    /* Make a running (or about to run) vcpu_run return VCPU_EXIT_KICKED soon. */
    void (*vcpu_kick)(AccelVCPU *cpu);

    bool (*vcpu_get_state)(AccelVCPU *cpu, X86CPUState *env, GError **errp);
    bool (*vcpu_set_state)(AccelVCPU *cpu, const X86CPUState *env, GError **errp);

    /*
     * Dirty tracking.  start: from now on, record guest writes.  sync: OR the
     * pages of @rb written since the previous sync (or start) into @dest (one
     * bit per target page) and forget them.  Writers other than the
     * accelerator set rb->dirty_log; memory_sync_dirty() (vm/memory.c) merges
     * both, so accelerators handle only their own writes here.  All three
     * may be NULL: an accelerator whose stores already mark rb->dirty_log
     * (interp) or that runs no guest code (qtest) has nothing to add.
     */
    bool (*dirty_log_start)(AccelState *s, GError **errp);
    bool (*dirty_log_sync)(AccelState *s, RAMBlock *rb, unsigned long *dest,
                           GError **errp);
    void (*dirty_log_stop)(AccelState *s);
} AccelOps;

extern const AccelOps accel_kvm_ops;
extern const AccelOps accel_interp_ops;
extern const AccelOps accel_qtest_ops;

#endif
