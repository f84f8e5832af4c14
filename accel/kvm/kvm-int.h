/*
 * Private state of the KVM accelerator, shared by its files: kvm-all.c (the
 * VM and its memory slots), kvm-cpu.c (vCPU creation, the run loop, kicks),
 * kvm-state.c (register state) and kvm-dirty.c (dirty logging).
 */
#ifndef ACCEL_KVM_INT_H
#define ACCEL_KVM_INT_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sysemu/accel-ops.h"

/*
 * The signal that kicks a vCPU thread out of KVM_RUN.  It is blocked on the
 * vCPU thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK), so it never
 * interrupts the machine's own system calls on that thread.
 */
#define KVM_KICK_SIGNAL SIGUSR1

/* Where KVM's real-mode TSS and identity-map pages go (QEMU's addresses). */
#define KVM_TSS_ADDR          0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull
#define KVM_RESERVED_END      0xfffc0000ull

/* One KVM memory slot per RAMBlock, slot number = index in AccelState.slots. */
typedef struct KVMSlot {
    RAMBlock *rb;
    uint64_t size;              /* bytes mapped: used_length, or less below KVM's pages */
    unsigned long *bitmap;      /* scratch for KVM_GET_DIRTY_LOG, 64-bit padded */
    size_t bitmap_bytes;
} KVMSlot;

struct AccelState {
    int kvm_fd;                 /* /dev/kvm */
    int vm_fd;
    int vcpu_mmap_size;
    int xsave_size;             /* bytes of KVM_GET_XSAVE2, 0 = no XSAVE2 */
    bool has_xsave;
    bool manual_protect;        /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled */

    /*
     * slots_lock serialises the dirty_log_* hooks, which may come from the
     * main thread and the migration thread.  The slot array itself is fixed
     * after vm_new.
     */
    GMutex slots_lock;
    KVMSlot *slots;
    unsigned nr_slots;
    bool dirty_logging;         /* under slots_lock */
};

struct AccelVCPU {
    AccelState *s;
    int index;
    int fd;
    struct kvm_run *run;        /* mmap'd, vcpu_mmap_size bytes */

    /*
     * Kick protocol, see the timeline in kvm-cpu.c.  kick_lock protects
     * @in_run and @thread; run->immediate_exit is the sticky "kick pending"
     * flag, written by kickers and cleared by the vCPU thread.  A pthread
     * mutex rather than a GMutex: the protocol is pthread_kill-level anyway,
     * and ThreadSanitizer sees pthread locks (GLib's futex GMutex it cannot).
     */
    pthread_mutex_t kick_lock;
    bool in_run;
    pthread_t thread;

    /* Owned by the thread calling vcpu_run (or the parked-state hooks). */
    bool halted;                /* HLT executed; no irqchip, so KVM cannot track it */
};

/* kvm-all.c */

/* Open @path read-write; on failure QEMU's "Could not access KVM kernel module: ..." */
int kvm_device_open(const char *path, GError **errp);

typedef struct KVMCapability {
    const char *name;           /* "KVM_CAP_USER_MEMORY" */
    int cap;
} KVMCapability;

/* Check that @fd offers every capability in @caps; KVMMissingCap names the first missing. */
bool kvm_check_caps(int fd, const KVMCapability *caps, size_t n, GError **errp);

/* Register (or re-register with new @flags) slot @slot over its RAMBlock. */
bool kvm_slot_register(AccelState *s, unsigned slot, uint32_t flags, GError **errp);

/*
 * kvm-cpu.c: the AccelOps vCPU hooks.  A vCPU starts in x86_cpu_state_reset()'s
 * state at EIP 0; vcpu_run needs a non-NULL @io; the first vcpu_run on a
 * thread blocks KVM_KICK_SIGNAL there for good.  Free vCPUs before their VM.
 */
AccelVCPU *kvm_vcpu_new(AccelState *s, int index, GError **errp);
void kvm_vcpu_free(AccelVCPU *cpu);
VCPUExit kvm_vcpu_run(AccelVCPU *cpu, const CPUIOHandler *io, GError **errp);
void kvm_vcpu_kick(AccelVCPU *cpu);

/* kvm-state.c: the AccelOps state hooks (vCPU parked). */
bool kvm_vcpu_get_state(AccelVCPU *cpu, X86CPUState *env, GError **errp);
bool kvm_vcpu_set_state(AccelVCPU *cpu, const X86CPUState *env, GError **errp);
/* struct kvm_fpu (the pre-XSAVE interface) is the FXSAVE image with its fields spelled out. */
void kvm_fpu_to_fxsave(uint8_t *fx, const struct kvm_fpu *fpu);
void kvm_fpu_from_fxsave(struct kvm_fpu *fpu, const uint8_t *fx);

/* kvm-dirty.c: the AccelOps dirty-log hooks (any thread; serialised by slots_lock). */
bool kvm_dirty_log_start(AccelState *s, GError **errp);
bool kvm_dirty_log_sync(AccelState *s, RAMBlock *rb, unsigned long *dest, GError **errp);
void kvm_dirty_log_stop(AccelState *s);

#endif
