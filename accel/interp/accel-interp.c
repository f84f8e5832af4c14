/*
 * The interp accelerator's AccelOps: VM and vCPU lifetime, the run loop
 * around the executor, kicks, CPU state transfer in the X86CPUState shared
 * with kvm, and dirty logging (which for the interpreter is just the
 * RAMBlock's dirty_log that every store already marks).
 */
#include "exec/ramblock.h"
#include "hw/guest-params.h"
#include "qemu/bitmap.h"
#include "qemu/error.h"
#include "sysemu/cpu-state.h"
#include "flags.h"

#define CR0_PE (1u << 0)
#define CR0_PG (1u << 31)
#define SEG_FLAG_DB (1u << 22)

static bool interp_available(GError **errp)
{
    return true;
}

static AccelState *interp_vm_new(GPtrArray *ram_blocks, GError **errp)
{
    g_autofree InterpRAM *blocks = g_new0(InterpRAM, MAX(ram_blocks->len, 1));
    AccelState *s;

    for (unsigned i = 0; i < ram_blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(ram_blocks, i);

        if (!rb->dirty_log) {
            error_setg(errp, "interp: RAM block '%s' has no dirty log", rb->idstr);
            return NULL;
        }
        blocks[i] = (InterpRAM){ .base = rb->guest_addr, .size = rb->used_length,
                                 .host = rb->host, .dirty = rb->dirty_log };
    }
    s = g_new0(AccelState, 1);
    for (unsigned i = 0; i < ram_blocks->len; i++) {
        if (blocks[i].base == 0) {
            s->ram_host = blocks[i].host;
            s->ram_size = blocks[i].size;
            s->ram_dirty = blocks[i].dirty;
            break;
        }
    }
    s->blocks = g_steal_pointer(&blocks);
    s->n_blocks = ram_blocks->len;
    return s;
}

static void interp_vm_free(AccelState *s)
{
    if (s) {
        g_free(s->blocks);
        g_free(s);
    }
}

static bool interp_vcpu_set_state(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    static const int flat_segs[] = { R_CS, R_DS, R_ES, R_SS };

    if (!(env->cr0 & CR0_PE) || (env->cr0 & CR0_PG)) {
        error_setg(errp, "interp: only protected mode with paging off is supported "
                   "(CR0 0x%08" G_GINT64_MODIFIER "x)", env->cr0);
        return false;
    }
    if (!(env->segs[R_CS].flags & SEG_FLAG_DB)) {
        error_setg(errp, "interp: only 32-bit code segments are supported");
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(flat_segs); i++) {
        if (env->segs[flat_segs[i]].base != 0) {
            error_setg(errp, "interp: only flat segments are supported "
                       "(segment %d has base 0x%08x)", flat_segs[i],
                       env->segs[flat_segs[i]].base);
            return false;
        }
    }
    cpu->env = *env;
    memcpy(cpu->regs, env->regs, sizeof(cpu->regs));
    cpu->eip = env->eip;
    cpu_set_eflags(cpu, env->eflags);
    cpu->tsc_offset = env->tsc - cpu->icount;
    return true;
}

static bool interp_vcpu_get_state(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    *env = cpu->env;
    memcpy(env->regs, cpu->regs, sizeof(cpu->regs));
    env->eip = cpu->eip;
    env->eflags = cpu_get_eflags(cpu);
    env->tsc = cpu->tsc_offset + cpu->icount;
    return true;
}

static AccelVCPU *interp_vcpu_new(AccelState *s, int index, GError **errp)
{
    AccelVCPU *cpu = g_new0(AccelVCPU, 1);
    X86CPUState env;

    cpu->vm = s;
    cpu->index = index;
    x86_cpu_state_reset(&env, GUEST_ENTRY, GUEST_STACK_TOP);
    if (!interp_vcpu_set_state(cpu, &env, errp)) {
        g_free(cpu);
        return NULL;
    }
    return cpu;
}

static void interp_vcpu_free(AccelVCPU *cpu)
{
    g_free(cpu->dl_seen);
    g_free(cpu);
}

/*
 * Counting for the dirty limit: distinct pages of main RAM stored to per
 * period (what KVM's dirty ring would report), stopping the run once the
 * budget is spent.  Stores to other RAM blocks are not counted.
 */
static uint64_t interp_vcpu_dirty_budget(AccelVCPU *cpu, uint64_t budget,
                                         bool new_period)
{
    uint64_t npages = cpu->vm->ram_size >> TARGET_PAGE_BITS;
    uint64_t pages = cpu->dl_pages;

    cpu->dl_pages = 0;
    if (!budget) {
        g_clear_pointer(&cpu->dl_seen, g_free);
    } else if (!cpu->dl_seen) {
        cpu->dl_seen = bitmap_new(npages);
    } else if (new_period) {
        bitmap_clear(cpu->dl_seen, 0, npages);
    }
    cpu->dl_budget = budget;
    return pages;
}

/* Turn a stopping ExecStatus into a VCPUExit, with the message for errors. */
static VCPUExit interp_exit_for(AccelVCPU *cpu, ExecStatus st, GError **errp)
{
    g_autoptr(GString) bytes = NULL;

    switch (st) {
    case EXEC_HALT:
        cpu->env.halted = true;
        return VCPU_EXIT_HALT;
    case EXEC_FAULT:
        if (cpu->fault_is_fetch) {
            error_setg(errp, "instruction fetch outside RAM at EIP 0x%08x", cpu->eip);
        } else {
            error_setg(errp, "memory access outside RAM at address 0x%08x (%u bytes) "
                       "at EIP 0x%08x", cpu->fault_addr, cpu->fault_size, cpu->eip);
        }
        return VCPU_EXIT_ERROR;
    case EXEC_UNSUPPORTED:
        bytes = g_string_new(NULL);
        for (unsigned i = 0; i < cpu->bad_len; i++) {
            g_string_append_printf(bytes, "%s%02x", i ? " " : "", cpu->bad_bytes[i]);
        }
        error_setg(errp, "unsupported instruction %s at EIP 0x%08x", bytes->str, cpu->eip);
        return VCPU_EXIT_ERROR;
    case EXEC_DIVIDE_ERROR:
        error_setg(errp, "divide error at EIP 0x%08x (exceptions are not delivered)",
                   cpu->eip);
        return VCPU_EXIT_ERROR;
    default:
        g_assert_not_reached();
    }
}

VCPUExit interp_run_for(AccelVCPU *cpu, const CPUIOHandler *io,
                        uint64_t max_insns, uint64_t *executed, GError **errp)
{
    uint64_t done = 0;
    ExecStatus st = EXEC_OK;

    if (executed) {
        *executed = 0;
    }
    if (__atomic_exchange_n(&cpu->kicked, 0, __ATOMIC_ACQUIRE)) {
        return VCPU_EXIT_KICKED;
    }
    if (cpu->env.halted) {
        return VCPU_EXIT_HALT;
    }
    st = interp_exec(cpu, io, max_insns, &done);
    if (executed) {
        *executed = done;
    }
    if (st != EXEC_OK) {
        return interp_exit_for(cpu, st, errp);
    }
    if (done < max_insns) {
        /* Stopped early: only a kick does that. */
        __atomic_store_n(&cpu->kicked, 0, __ATOMIC_RELAXED);
    }
    return VCPU_EXIT_KICKED;
}

static VCPUExit interp_vcpu_run(AccelVCPU *cpu, const CPUIOHandler *io, GError **errp)
{
    /* No budget: only a kick, HLT or an error ends this. */
    return interp_run_for(cpu, io, UINT64_MAX, NULL, errp);
}

static void interp_vcpu_kick(AccelVCPU *cpu)
{
    __atomic_store_n(&cpu->kicked, 1, __ATOMIC_RELEASE);
}

const AccelOps accel_interp_ops = {
    .name = "interp",
    .available = interp_available,
    .vm_new = interp_vm_new,
    .vm_free = interp_vm_free,
    .vcpu_new = interp_vcpu_new,
    .vcpu_free = interp_vcpu_free,
    .vcpu_run = interp_vcpu_run,
    .vcpu_run_for = interp_run_for,
    .vcpu_dirty_budget = interp_vcpu_dirty_budget,
    .vcpu_kick = interp_vcpu_kick,
    .vcpu_get_state = interp_vcpu_get_state,
    .vcpu_set_state = interp_vcpu_set_state,
    /*
     * No dirty_log_* hooks: every interpreter store marks rb->dirty_log,
     * which memory_sync_dirty() merges for all writers.
     */
};
