/*
 * vCPU register state between KVM and X86CPUState (include/sysemu/cpu-state.h):
 * general registers, segments and control registers, x87/SSE through XSAVE
 * (or the older KVM_GET/SET_FPU), and the MSRs a 32-bit guest uses.
 */
#include "kvm-int.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "qemu/error.h"

/* X86Segment.flags: bits 8..23 of a descriptor's high dword. */
#define SEG_TYPE_SHIFT  8
#define SEG_S_SHIFT     12
#define SEG_DPL_SHIFT   13
#define SEG_P_SHIFT     15
#define SEG_AVL_SHIFT   20
#define SEG_L_SHIFT     21
#define SEG_DB_SHIFT    22
#define SEG_G_SHIFT     23

/* FXSAVE image offsets (64-bit format, which is what KVM reports). */
#define FX_FCW          0
#define FX_FSW          2
#define FX_FTW          4
#define FX_FOP          6
#define FX_FIP          8
#define FX_FDP          16
#define FX_MXCSR        24
#define FX_ST0          32
#define FX_XMM0         160
#define FX_XMM_COUNT    16

/* XSAVE header: XSTATE_BV follows the 512-byte legacy area. */
#define XSAVE_XSTATE_BV_OFFSET 512
#define XSTATE_FP_SSE   0x3ull

#define CR0_ET          (1ull << 4)

#define MSR_IA32_TSC            0x10
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_CR_PAT         0x277

enum { KVM_MSR_SYSENTER_CS, KVM_MSR_SYSENTER_ESP, KVM_MSR_SYSENTER_EIP,
       KVM_MSR_TSC, KVM_MSR_PAT, KVM_MSR_COUNT };

static const uint32_t kvm_msr_index[KVM_MSR_COUNT] = {
    [KVM_MSR_SYSENTER_CS] = MSR_IA32_SYSENTER_CS,
    [KVM_MSR_SYSENTER_ESP] = MSR_IA32_SYSENTER_ESP,
    [KVM_MSR_SYSENTER_EIP] = MSR_IA32_SYSENTER_EIP,
    [KVM_MSR_TSC] = MSR_IA32_TSC,
    [KVM_MSR_PAT] = MSR_IA32_CR_PAT,
};

/*
 * A segment without P is "unusable" to KVM (as VMX calls it), which is what
 * a null selector in a data register means.  flags bits 16..19 (limit
 * 19:16 in a raw descriptor) are not kept: @limit holds the full limit.
 */
static void kvm_seg_from_env(struct kvm_segment *out, const X86Segment *in)
{
    uint32_t f = in->flags;

    *out = (struct kvm_segment){
        .base = in->base,
        .limit = in->limit,
        .selector = in->selector,
        .type = (f >> SEG_TYPE_SHIFT) & 0xf,
        .s = (f >> SEG_S_SHIFT) & 1,
        .dpl = (f >> SEG_DPL_SHIFT) & 3,
        .present = (f >> SEG_P_SHIFT) & 1,
        .avl = (f >> SEG_AVL_SHIFT) & 1,
        .l = (f >> SEG_L_SHIFT) & 1,
        .db = (f >> SEG_DB_SHIFT) & 1,
        .g = (f >> SEG_G_SHIFT) & 1,
    };
    out->unusable = !out->present;
}

static void kvm_seg_to_env(X86Segment *out, const struct kvm_segment *in)
{
    out->selector = in->selector;
    out->base = (uint32_t)in->base;
    out->limit = in->limit;
    out->flags = ((uint32_t)in->type << SEG_TYPE_SHIFT) |
                 ((uint32_t)in->s << SEG_S_SHIFT) |
                 ((uint32_t)in->dpl << SEG_DPL_SHIFT) |
                 ((uint32_t)(in->present && !in->unusable) << SEG_P_SHIFT) |
                 ((uint32_t)in->avl << SEG_AVL_SHIFT) |
                 ((uint32_t)in->l << SEG_L_SHIFT) |
                 ((uint32_t)in->db << SEG_DB_SHIFT) |
                 ((uint32_t)in->g << SEG_G_SHIFT);
}

/* The kvm_segment fields of kvm_sregs in R_ES..R_GS order. */
static struct kvm_segment *kvm_sregs_seg(struct kvm_sregs *sregs, int seg)
{
    switch (seg) {
    case R_ES: return &sregs->es;
    case R_CS: return &sregs->cs;
    case R_SS: return &sregs->ss;
    case R_DS: return &sregs->ds;
    case R_FS: return &sregs->fs;
    default: return &sregs->gs;
    }
}

static bool kvm_get_sregs(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    struct kvm_sregs sregs;

    if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_SREGS");
        return false;
    }
    for (int i = 0; i < CPU_NB_SEGS; i++) {
        kvm_seg_to_env(&env->segs[i], kvm_sregs_seg(&sregs, i));
    }
    kvm_seg_to_env(&env->ldt, &sregs.ldt);
    kvm_seg_to_env(&env->tr, &sregs.tr);
    env->gdt = (X86DescTable){ .base = (uint32_t)sregs.gdt.base, .limit = sregs.gdt.limit };
    env->idt = (X86DescTable){ .base = (uint32_t)sregs.idt.base, .limit = sregs.idt.limit };
    env->cr0 = sregs.cr0;
    env->cr2 = sregs.cr2;
    env->cr3 = sregs.cr3;
    env->cr4 = sregs.cr4;
    env->efer = sregs.efer;
    return true;
}

/*
 * Some KVMs drop what they cannot virtualise without failing the ioctl (the
 * nested kvm_pvm clears CR0.PG for non-PVM guests).  Better a clear error
 * than a guest that resumes in a different mode.  CR0.ET is hardwired to 1
 * on every CPU since the 486, so KVM may set it; that changes nothing.
 */
static bool kvm_check_sregs_kept(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    struct kvm_sregs sregs;

    if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_SREGS");
        return false;
    }
    if (((sregs.cr0 ^ env->cr0) & ~CR0_ET) || sregs.cr4 != env->cr4 ||
        sregs.efer != env->efer) {
        error_setg(errp, "KVM did not keep CR0 0x%" G_GINT64_MODIFIER "x, CR4 0x%"
                   G_GINT64_MODIFIER "x, EFER 0x%" G_GINT64_MODIFIER "x (it has 0x%"
                   G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x, 0x%"
                   G_GINT64_MODIFIER "x)", env->cr0, env->cr4, env->efer,
                   (uint64_t)sregs.cr0, (uint64_t)sregs.cr4, (uint64_t)sregs.efer);
        return false;
    }
    return true;
}

static bool kvm_set_sregs(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    struct kvm_sregs sregs;

    /* Start from KVM's copy to keep what X86CPUState does not hold (APIC base, CR8). */
    if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_SREGS");
        return false;
    }
    for (int i = 0; i < CPU_NB_SEGS; i++) {
        kvm_seg_from_env(kvm_sregs_seg(&sregs, i), &env->segs[i]);
    }
    kvm_seg_from_env(&sregs.ldt, &env->ldt);
    kvm_seg_from_env(&sregs.tr, &env->tr);
    sregs.gdt = (struct kvm_dtable){ .base = env->gdt.base, .limit = env->gdt.limit };
    sregs.idt = (struct kvm_dtable){ .base = env->idt.base, .limit = env->idt.limit };
    sregs.cr0 = env->cr0;
    sregs.cr2 = env->cr2;
    sregs.cr3 = env->cr3;
    sregs.cr4 = env->cr4;
    sregs.efer = env->efer;
    memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
    if (ioctl(cpu->fd, KVM_SET_SREGS, &sregs) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_SREGS (CR0 0x%" G_GINT64_MODIFIER "x, CR4 0x%"
                         G_GINT64_MODIFIER "x, EFER 0x%" G_GINT64_MODIFIER "x)",
                         env->cr0, env->cr4, env->efer);
        return false;
    }
    return kvm_check_sregs_kept(cpu, env, errp);
}

static bool kvm_get_regs(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    struct kvm_regs regs;

    if (ioctl(cpu->fd, KVM_GET_REGS, &regs) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_REGS");
        return false;
    }
    env->regs[R_EAX] = regs.rax;
    env->regs[R_ECX] = regs.rcx;
    env->regs[R_EDX] = regs.rdx;
    env->regs[R_EBX] = regs.rbx;
    env->regs[R_ESP] = regs.rsp;
    env->regs[R_EBP] = regs.rbp;
    env->regs[R_ESI] = regs.rsi;
    env->regs[R_EDI] = regs.rdi;
    env->eip = regs.rip;
    env->eflags = regs.rflags;
    return true;
}

static bool kvm_set_regs(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    struct kvm_regs regs = {
        .rax = env->regs[R_EAX], .rcx = env->regs[R_ECX],
        .rdx = env->regs[R_EDX], .rbx = env->regs[R_EBX],
        .rsp = env->regs[R_ESP], .rbp = env->regs[R_EBP],
        .rsi = env->regs[R_ESI], .rdi = env->regs[R_EDI],
        .rip = env->eip, .rflags = env->eflags,
    };

    if (ioctl(cpu->fd, KVM_SET_REGS, &regs) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_REGS");
        return false;
    }
    return true;
}

void kvm_fpu_to_fxsave(uint8_t *fx, const struct kvm_fpu *fpu)
{
    memset(fx, 0, X86_FXSAVE_SIZE);
    memcpy(fx + FX_FCW, &fpu->fcw, 2);
    memcpy(fx + FX_FSW, &fpu->fsw, 2);
    fx[FX_FTW] = fpu->ftwx;
    memcpy(fx + FX_FOP, &fpu->last_opcode, 2);
    memcpy(fx + FX_FIP, &fpu->last_ip, 8);
    memcpy(fx + FX_FDP, &fpu->last_dp, 8);
    memcpy(fx + FX_MXCSR, &fpu->mxcsr, 4);
    memcpy(fx + FX_ST0, fpu->fpr, sizeof(fpu->fpr));
    memcpy(fx + FX_XMM0, fpu->xmm, sizeof(fpu->xmm));
}

void kvm_fpu_from_fxsave(struct kvm_fpu *fpu, const uint8_t *fx)
{
    memset(fpu, 0, sizeof(*fpu));
    memcpy(&fpu->fcw, fx + FX_FCW, 2);
    memcpy(&fpu->fsw, fx + FX_FSW, 2);
    fpu->ftwx = fx[FX_FTW];
    memcpy(&fpu->last_opcode, fx + FX_FOP, 2);
    memcpy(&fpu->last_ip, fx + FX_FIP, 8);
    memcpy(&fpu->last_dp, fx + FX_FDP, 8);
    memcpy(&fpu->mxcsr, fx + FX_MXCSR, 4);
    memcpy(fpu->fpr, fx + FX_ST0, sizeof(fpu->fpr));
    memcpy(fpu->xmm, fx + FX_XMM0, FX_XMM_COUNT * 16);
}

static size_t kvm_xsave_size(const AccelState *s)
{
    return MAX(sizeof(struct kvm_xsave), (size_t)s->xsave_size);
}

static struct kvm_xsave *kvm_get_xsave(AccelVCPU *cpu, GError **errp)
{
    struct kvm_xsave *xs = g_malloc0(kvm_xsave_size(cpu->s));
    unsigned long req = cpu->s->xsave_size ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;

    if (ioctl(cpu->fd, req, xs) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_XSAVE");
        g_free(xs);
        return NULL;
    }
    return xs;
}

static bool kvm_get_fpu(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    struct kvm_fpu fpu;

    if (cpu->s->has_xsave) {
        g_autofree struct kvm_xsave *xs = kvm_get_xsave(cpu, errp);

        if (!xs) {
            return false;
        }
        memcpy(env->fxsave, xs->region, X86_FXSAVE_SIZE);
        return true;
    }
    if (ioctl(cpu->fd, KVM_GET_FPU, &fpu) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_FPU");
        return false;
    }
    kvm_fpu_to_fxsave(env->fxsave, &fpu);
    return true;
}

static bool kvm_set_fpu(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    struct kvm_fpu fpu;

    if (cpu->s->has_xsave) {
        /* Keep the extended components KVM has; replace x87 and SSE. */
        g_autofree struct kvm_xsave *xs = kvm_get_xsave(cpu, errp);
        uint64_t xstate_bv;
        uint8_t *region;

        if (!xs) {
            return false;
        }
        region = (uint8_t *)xs->region;
        memcpy(region, env->fxsave, X86_FXSAVE_SIZE);
        memcpy(&xstate_bv, region + XSAVE_XSTATE_BV_OFFSET, 8);
        xstate_bv |= XSTATE_FP_SSE;
        memcpy(region + XSAVE_XSTATE_BV_OFFSET, &xstate_bv, 8);
        if (ioctl(cpu->fd, KVM_SET_XSAVE, xs) < 0) {
            error_setg_errno(errp, errno, "KVM_SET_XSAVE");
            return false;
        }
        return true;
    }
    kvm_fpu_from_fxsave(&fpu, env->fxsave);
    if (ioctl(cpu->fd, KVM_SET_FPU, &fpu) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_FPU");
        return false;
    }
    return true;
}

static struct kvm_msrs *kvm_msrs_new(void)
{
    struct kvm_msrs *msrs = g_malloc0(sizeof(*msrs) +
                                      KVM_MSR_COUNT * sizeof(struct kvm_msr_entry));

    msrs->nmsrs = KVM_MSR_COUNT;
    for (int i = 0; i < KVM_MSR_COUNT; i++) {
        msrs->entries[i].index = kvm_msr_index[i];
    }
    return msrs;
}

/* KVM_GET/SET_MSRS return how many MSRs they processed; name the first refused. */
static bool kvm_msrs_check(int ret, const char *what, GError **errp)
{
    if (ret < 0) {
        error_setg_errno(errp, errno, "%s", what);
        return false;
    }
    if (ret < KVM_MSR_COUNT) {
        error_setg(errp, "%s: KVM refused MSR 0x%x", what, kvm_msr_index[ret]);
        return false;
    }
    return true;
}

static bool kvm_get_msrs(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    g_autofree struct kvm_msrs *msrs = kvm_msrs_new();

    if (!kvm_msrs_check(ioctl(cpu->fd, KVM_GET_MSRS, msrs), "KVM_GET_MSRS", errp)) {
        return false;
    }
    env->sysenter_cs = msrs->entries[KVM_MSR_SYSENTER_CS].data;
    env->sysenter_esp = msrs->entries[KVM_MSR_SYSENTER_ESP].data;
    env->sysenter_eip = msrs->entries[KVM_MSR_SYSENTER_EIP].data;
    env->tsc = msrs->entries[KVM_MSR_TSC].data;
    env->pat = msrs->entries[KVM_MSR_PAT].data;
    return true;
}

/*
 * A host write of IA32_TSC sets the guest's TSC offset.  The nested kvm_pvm
 * accepts and ignores it (its guests read the host TSC); nothing to do then.
 */
static bool kvm_set_msrs(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    g_autofree struct kvm_msrs *msrs = kvm_msrs_new();

    msrs->entries[KVM_MSR_SYSENTER_CS].data = env->sysenter_cs;
    msrs->entries[KVM_MSR_SYSENTER_ESP].data = env->sysenter_esp;
    msrs->entries[KVM_MSR_SYSENTER_EIP].data = env->sysenter_eip;
    msrs->entries[KVM_MSR_TSC].data = env->tsc;
    msrs->entries[KVM_MSR_PAT].data = env->pat;
    return kvm_msrs_check(ioctl(cpu->fd, KVM_SET_MSRS, msrs), "KVM_SET_MSRS", errp);
}

bool kvm_vcpu_get_state(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    memset(env, 0, sizeof(*env));
    if (!kvm_get_regs(cpu, env, errp) || !kvm_get_sregs(cpu, env, errp) ||
        !kvm_get_fpu(cpu, env, errp) || !kvm_get_msrs(cpu, env, errp)) {
        return false;
    }
    /* Without an irqchip KVM's MP state is always RUNNABLE; the halt is ours. */
    env->halted = cpu->halted;
    return true;
}

/*
 * Control registers and segments go first: KVM checks CR0/CR4/EFER and
 * refuses bad combinations, and nothing else should change if they fail.
 */
bool kvm_vcpu_set_state(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    if (!kvm_set_sregs(cpu, env, errp) || !kvm_set_regs(cpu, env, errp) ||
        !kvm_set_fpu(cpu, env, errp) || !kvm_set_msrs(cpu, env, errp)) {
        return false;
    }
    cpu->halted = env->halted;
    return true;
}
