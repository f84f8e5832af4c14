/*
 * KVM vCPUs: creation (CPUID, the kvm_run area, the reset state), the run
 * loop that turns KVM exits into port I/O callbacks and VCPUExit values, and
 * the kick that makes a running vcpu_run return promptly from any thread.
 */
#include "kvm-int.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "qemu/error.h"

/* The kernel's sigset_t is 64 bits on every Linux architecture KVM runs on. */
#define KVM_KERNEL_SIGSET_BYTES 8

static struct kvm_cpuid2 *kvm_get_supported_cpuid(int kvm_fd, GError **errp)
{
    for (int nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *cpuid = g_malloc0(sizeof(*cpuid) +
                                             nent * sizeof(struct kvm_cpuid_entry2));

        cpuid->nent = nent;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
            return cpuid;
        }
        g_free(cpuid);
        if (errno != E2BIG) {
            error_setg_errno(errp, errno, "KVM_GET_SUPPORTED_CPUID");
            return NULL;
        }
    }
    error_setg(errp, "KVM_GET_SUPPORTED_CPUID: too many entries");
    return NULL;
}

/* Everything the host KVM supports, with this vCPU's APIC id filled in. */
static bool kvm_vcpu_setup_cpuid(AccelVCPU *cpu, GError **errp)
{
    g_autofree struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(cpu->s->kvm_fd, errp);

    if (!cpuid) {
        return false;
    }
    for (unsigned i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 1) {
            e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)cpu->index << 24);
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = cpu->index;
        }
    }
    if (ioctl(cpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_CPUID2");
        return false;
    }
    return true;
}

void kvm_vcpu_free(AccelVCPU *cpu)
{
    if (!cpu) {
        return;
    }
    if (cpu->run) {
        munmap(cpu->run, cpu->s->vcpu_mmap_size);
    }
    if (cpu->fd >= 0) {
        close(cpu->fd);
    }
    pthread_mutex_destroy(&cpu->kick_lock);
    g_free(cpu);
}

AccelVCPU *kvm_vcpu_new(AccelState *s, int index, GError **errp)
{
    AccelVCPU *cpu = g_new0(AccelVCPU, 1);
    X86CPUState env;
    void *run;

    pthread_mutex_init(&cpu->kick_lock, NULL);
    cpu->s = s;
    cpu->index = index;
    cpu->fd = ioctl(s->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (cpu->fd < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_VCPU %d", index);
        goto fail;
    }
    run = mmap(NULL, s->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu->fd, 0);
    if (run == MAP_FAILED) {
        error_setg_errno(errp, errno, "mmap of vCPU %d's kvm_run area", index);
        goto fail;
    }
    cpu->run = run;
    if (!kvm_vcpu_setup_cpuid(cpu, errp)) {
        goto fail;
    }
    /* KVM starts vCPUs in real mode at 0xfffffff0; tern's guests start flat 32-bit. */
    x86_cpu_state_reset(&env, 0, 0);
    if (!kvm_vcpu_set_state(cpu, &env, errp)) {
        goto fail;
    }
    return cpu;

fail:
    kvm_vcpu_free(cpu);
    return NULL;
}

/*
 * The kick.  run->immediate_exit is a sticky "kick pending" flag: KVM_RUN
 * checks it on entry (after completing a pending port I/O, so the guest
 * state is consistent).  A vCPU already in guest mode does not look at it
 * again, so the kicker also sends KVM_KICK_SIGNAL, which is blocked on the
 * vCPU thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK): KVM checks for a
 * pending signal just before every guest entry, and the IPI of the signal
 * forces a guest exit.  kick_lock keeps pthread_kill from aiming at a thread
 * that has left vcpu_run (and may have exited).
 *
 *   kicker                                 vCPU thread
 *   ------                                 -----------
 *   Kick before the vCPU thread registers:
 *   lock; immediate_exit = 1;
 *   in_run false: no signal; unlock
 *                                          lock; in_run = true; unlock
 *                                          KVM_RUN sees immediate_exit: -EINTR
 *
 *   Kick just after KVM_RUN checked immediate_exit (the tight race):
 *                                          KVM_RUN: immediate_exit == 0, continue
 *   lock; immediate_exit = 1;
 *   pthread_kill (pending, unblocked); unlock
 *                                          signal_pending() before entry: -EINTR
 *
 *   Kick while the guest runs:
 *   lock; immediate_exit = 1;
 *   pthread_kill; unlock                   IPI: guest exit, signal pending: -EINTR
 *
 *   Kick while the vCPU handles a port I/O exit in user space:
 *   lock; immediate_exit = 1;
 *   pthread_kill (blocked: stays pending)
 *                                          KVM_RUN completes the IN/OUT, then
 *                                          sees immediate_exit: -EINTR
 *
 * After -EINTR the vCPU thread swallows the pending signal (sigtimedwait) and
 * clears immediate_exit before returning VCPU_EXIT_KICKED.  A kick landing
 * between those two steps leaves a flag or a signal behind, so the next
 * vcpu_run returns VCPU_EXIT_KICKED at once: callers treat KICKED as "check
 * your flags", never as "exactly one kick happened".
 */
void kvm_vcpu_kick(AccelVCPU *cpu)
{
    pthread_mutex_lock(&cpu->kick_lock);
    __atomic_store_n(&cpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (cpu->in_run) {
        pthread_kill(cpu->thread, KVM_KICK_SIGNAL);
    }
    pthread_mutex_unlock(&cpu->kick_lock);
}

/* Swallow a pending kick (flag and signal); true if there was one. */
static bool kvm_vcpu_consume_kick(AccelVCPU *cpu)
{
    static const struct timespec zero;
    bool kicked = false;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, KVM_KICK_SIGNAL);
    while (sigtimedwait(&set, NULL, &zero) == KVM_KICK_SIGNAL) {
        kicked = true;
    }
    if (__atomic_exchange_n(&cpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST)) {
        kicked = true;
    }
    return kicked;
}

/*
 * Block the kick signal on the calling thread and let KVM unblock it only
 * for the duration of KVM_RUN.  Done on every vcpu_run entry because the
 * caller's thread (and its mask) may differ from the previous call's.
 */
static bool kvm_vcpu_setup_sigmask(AccelVCPU *cpu, GError **errp)
{
    g_autofree struct kvm_signal_mask *kmask =
        g_malloc0(sizeof(*kmask) + KVM_KERNEL_SIGSET_BYTES);
    sigset_t block, mask;

    sigemptyset(&block);
    sigaddset(&block, KVM_KICK_SIGNAL);
    if (pthread_sigmask(SIG_BLOCK, &block, &mask) != 0) {
        error_setg(errp, "cannot block the vCPU kick signal");
        return false;
    }
    sigdelset(&mask, KVM_KICK_SIGNAL);
    kmask->len = KVM_KERNEL_SIGSET_BYTES;
    memcpy(kmask->sigset, &mask, KVM_KERNEL_SIGSET_BYTES);
    if (ioctl(cpu->fd, KVM_SET_SIGNAL_MASK, kmask) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_SIGNAL_MASK");
        return false;
    }
    return true;
}

/* "EIP 0x...", for error messages. */
static char *kvm_vcpu_eip(AccelVCPU *cpu)
{
    struct kvm_regs regs;

    if (ioctl(cpu->fd, KVM_GET_REGS, &regs) < 0) {
        return g_strdup("EIP unknown");
    }
    return g_strdup_printf("EIP 0x%08" G_GINT64_MODIFIER "x", (uint64_t)regs.rip);
}

static bool kvm_handle_io(AccelVCPU *cpu, const CPUIOHandler *io, GError **errp)
{
    struct kvm_run *run = cpu->run;
    unsigned size = run->io.size;
    uint64_t bytes = (uint64_t)run->io.count * size;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;

    if ((size != 1 && size != 2 && size != 4) ||
        run->io.data_offset + bytes > (uint64_t)cpu->s->vcpu_mmap_size) {
        error_setg(errp, "KVM reported a malformed port I/O exit (port 0x%x, size %u, count %u)",
                   run->io.port, size, run->io.count);
        return false;
    }
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint32_t value = 0;

        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&value, data, size);
            io->pio_write(io->opaque, run->io.port, size, value);
        } else {
            value = io->pio_read(io->opaque, run->io.port, size);
            memcpy(data, &value, size);
        }
    }
    return true;
}

static const char *kvm_internal_error_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "exit while delivering an event";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
    default: return "unknown suberror";
    }
}

/* Describe an exit we cannot continue from. */
static void kvm_exit_error(AccelVCPU *cpu, GError **errp)
{
    struct kvm_run *run = cpu->run;
    g_autofree char *eip = kvm_vcpu_eip(cpu);

    switch (run->exit_reason) {
    case KVM_EXIT_MMIO:
        /* KVM's emulator finishes a write before exiting, so EIP has moved on. */
        error_setg(errp, "guest %s of %u bytes at unmapped guest-physical address "
                   "0x%" G_GINT64_MODIFIER "x %s %s (no MMIO devices)",
                   run->mmio.is_write ? "write" : "read", run->mmio.len,
                   (uint64_t)run->mmio.phys_addr, run->mmio.is_write ? "just before" : "at",
                   eip);
        break;
    case KVM_EXIT_SHUTDOWN:
        error_setg(errp, "guest triple fault (KVM_EXIT_SHUTDOWN) at %s", eip);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        error_setg(errp, "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason "
                   "0x%" G_GINT64_MODIFIER "x) at %s",
                   (uint64_t)run->fail_entry.hardware_entry_failure_reason, eip);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        error_setg(errp, "KVM internal error, suberror %u (%s) at %s",
                   run->internal.suberror, kvm_internal_error_name(run->internal.suberror),
                   eip);
        break;
    case KVM_EXIT_UNKNOWN:
        error_setg(errp, "KVM exit with unknown hardware reason 0x%" G_GINT64_MODIFIER "x at %s",
                   (uint64_t)run->hw.hardware_exit_reason, eip);
        break;
    default:
        error_setg(errp, "unexpected KVM exit reason %u at %s", run->exit_reason, eip);
        break;
    }
}

static void kvm_vcpu_enter(AccelVCPU *cpu)
{
    pthread_mutex_lock(&cpu->kick_lock);
    cpu->thread = pthread_self();
    cpu->in_run = true;
    pthread_mutex_unlock(&cpu->kick_lock);
}

static void kvm_vcpu_leave(AccelVCPU *cpu)
{
    pthread_mutex_lock(&cpu->kick_lock);
    cpu->in_run = false;
    pthread_mutex_unlock(&cpu->kick_lock);
}

/* The KVM_RUN loop proper; port I/O is handled here, anything else returns. */
static VCPUExit kvm_vcpu_loop(AccelVCPU *cpu, const CPUIOHandler *io, GError **errp)
{
    for (;;) {
        if (cpu->halted) {
            /* No interrupt can wake it: report the halt, unless a kick is pending. */
            return kvm_vcpu_consume_kick(cpu) ? VCPU_EXIT_KICKED : VCPU_EXIT_HALT;
        }
        if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR) {
                if (kvm_vcpu_consume_kick(cpu)) {
                    return VCPU_EXIT_KICKED;
                }
                continue;       /* some other signal; keep running */
            }
            if (errno == EAGAIN) {
                continue;
            }
            error_setg_errno(errp, errno, "KVM_RUN");
            return VCPU_EXIT_ERROR;
        }
        switch (cpu->run->exit_reason) {
        case KVM_EXIT_IO:
            if (!kvm_handle_io(cpu, io, errp)) {
                return VCPU_EXIT_ERROR;
            }
            break;
        case KVM_EXIT_HLT:
            cpu->halted = true;
            return VCPU_EXIT_HALT;
        default:
            kvm_exit_error(cpu, errp);
            return VCPU_EXIT_ERROR;
        }
    }
}

VCPUExit kvm_vcpu_run(AccelVCPU *cpu, const CPUIOHandler *io, GError **errp)
{
    VCPUExit ret;

    if (!kvm_vcpu_setup_sigmask(cpu, errp)) {
        return VCPU_EXIT_ERROR;
    }
    kvm_vcpu_enter(cpu);
    ret = kvm_vcpu_loop(cpu, io, errp);
    kvm_vcpu_leave(cpu);
    return ret;
}
