/*
 * The "cpu" VMState section (include/hw/cpu-vmstate.h): the X86CPUState
 * fields as data, the checks a loaded state must pass before any vCPU is
 * touched, and the hooks that move the state between the accelerator and
 * the snapshot the engine reads and writes.
 */
#include "cpu-vmstate.h"

#include <inttypes.h>
#include <string.h>

#include "qemu/error.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

#define CR0_PE          (1ull << 0)
#define CR0_NW          (1ull << 29)
#define CR0_CD          (1ull << 30)
#define CR0_PG          (1ull << 31)
#define EFER_LME        (1ull << 8)
#define EFER_LMA        (1ull << 10)
#define EFLAGS_FIXED1   0x00000002u
/* EFLAGS bits 3, 5, 15 and 22..31 are reserved (zero); 17 is VM (vm86). */
#define EFLAGS_RESERVED 0xffc08028u
#define EFLAGS_VM       (1u << 17)

/* X86Segment.flags: descriptor high dword bits 8..23. */
#define SEG_FLAGS_MASK  0x00ffff00u
#define SEG_TYPE(f)     (((f) >> 8) & 0xf)
#define SEG_TYPE_CODE   0x8     /* else data */
#define SEG_TYPE_RW     0x2     /* code: readable; data: writable */
#define SEG_S           (1u << 12)
#define SEG_P           (1u << 15)
#define SEG_L           (1u << 21)
#define SEG_G           (1u << 23)
#define SEG_TYPE_LDT    0x2
#define SEG_TYPE_TSS16_BUSY 0x3
#define SEG_TYPE_TSS32_BUSY 0xb

#define FXSAVE_MXCSR_OFFSET 24
#define MXCSR_RESERVED  0xffff0000u

static const char *const seg_names[CPU_NB_SEGS] = {
    [R_ES] = "ES", [R_CS] = "CS", [R_SS] = "SS",
    [R_DS] = "DS", [R_FS] = "FS", [R_GS] = "GS",
};

/* Checks every present segment needs; a segment without P is unusable. */
static bool x86_segment_check(const char *name, const X86Segment *seg,
                              GError **errp)
{
    uint32_t f = seg->flags;

    if (f & ~SEG_FLAGS_MASK) {
        error_setg(errp, "segment %s: invalid flags 0x%08x (bits outside 8..23)",
                   name, f);
        return false;
    }
    if (!(f & SEG_P)) {
        return true;
    }
    if (f & SEG_L) {
        error_setg(errp, "segment %s: 64-bit code segments are not supported",
                   name);
        return false;
    }
    if ((f & SEG_G) ? (seg->limit & 0xfff) != 0xfff : seg->limit > 0xfffff) {
        error_setg(errp, "segment %s: limit 0x%08x does not fit its granularity "
                   "(flags 0x%08x)", name, seg->limit, f);
        return false;
    }
    return true;
}

/* CS, SS, DS, ES, FS, GS: code or data descriptors of the right kind. */
static bool x86_data_segment_check(int i, const X86Segment *seg, GError **errp)
{
    uint32_t f = seg->flags, type = SEG_TYPE(f);
    bool code = type & SEG_TYPE_CODE;

    if (!x86_segment_check(seg_names[i], seg, errp)) {
        return false;
    }
    if (!(f & SEG_P)) {
        if (i == R_CS) {
            error_setg(errp, "segment CS: not present");
            return false;
        }
        return true;
    }
    if (!(f & SEG_S)) {
        error_setg(errp, "segment %s: a system descriptor (flags 0x%08x)",
                   seg_names[i], f);
        return false;
    }
    if ((i == R_CS && !code) || (i == R_SS && (code || !(type & SEG_TYPE_RW))) ||
        (i != R_CS && code && !(type & SEG_TYPE_RW))) {
        error_setg(errp, "segment %s: descriptor type 0x%x is not allowed there",
                   seg_names[i], type);
        return false;
    }
    return true;
}

static bool x86_system_segments_check(const X86CPUState *env, GError **errp)
{
    uint32_t ldt = env->ldt.flags, tr = env->tr.flags;

    if (!x86_segment_check("LDT", &env->ldt, errp) ||
        !x86_segment_check("TR", &env->tr, errp)) {
        return false;
    }
    if ((ldt & SEG_P) && ((ldt & SEG_S) || SEG_TYPE(ldt) != SEG_TYPE_LDT)) {
        error_setg(errp, "segment LDT: not an LDT descriptor (flags 0x%08x)", ldt);
        return false;
    }
    if ((tr & SEG_P) && ((tr & SEG_S) || (SEG_TYPE(tr) != SEG_TYPE_TSS16_BUSY &&
                                          SEG_TYPE(tr) != SEG_TYPE_TSS32_BUSY))) {
        error_setg(errp, "segment TR: not a busy TSS descriptor (flags 0x%08x)", tr);
        return false;
    }
    return true;
}

static bool x86_control_check(const X86CPUState *env, GError **errp)
{
    if (!(env->cr0 & CR0_PE) || (env->cr0 & CR0_PG)) {
        error_setg(errp, "CR0 0x%" PRIx64 ": only protected mode without paging "
                   "is supported", env->cr0);
        return false;
    }
    if ((env->cr0 >> 32) || ((env->cr0 & CR0_NW) && !(env->cr0 & CR0_CD))) {
        error_setg(errp, "invalid CR0 0x%" PRIx64, env->cr0);
        return false;
    }
    if (env->cr4 >> 32) {
        error_setg(errp, "invalid CR4 0x%" PRIx64 " (reserved bits set)", env->cr4);
        return false;
    }
    if (env->efer & (EFER_LME | EFER_LMA)) {
        error_setg(errp, "EFER 0x%" PRIx64 ": long mode is not supported", env->efer);
        return false;
    }
    if (!(env->eflags & EFLAGS_FIXED1) || (env->eflags & EFLAGS_RESERVED)) {
        error_setg(errp, "invalid EFLAGS 0x%08x (reserved bits)", env->eflags);
        return false;
    }
    if (env->eflags & EFLAGS_VM) {
        error_setg(errp, "EFLAGS 0x%08x: virtual-8086 mode is not supported",
                   env->eflags);
        return false;
    }
    return true;
}

static bool x86_msr_fpu_check(const X86CPUState *env, GError **errp)
{
    uint32_t mxcsr;

    for (int i = 0; i < 8; i++) {
        uint8_t type = env->pat >> (i * 8);

        /* 2 and 3 are reserved memory types, as is everything above 7. */
        if (type == 2 || type == 3 || type > 7) {
            error_setg(errp, "invalid PAT 0x%016" PRIx64 " (entry %d is %u)",
                       env->pat, i, type);
            return false;
        }
    }
    memcpy(&mxcsr, &env->fxsave[FXSAVE_MXCSR_OFFSET], sizeof(mxcsr));
    mxcsr = GUINT32_FROM_LE(mxcsr);
    if (mxcsr & MXCSR_RESERVED) {
        error_setg(errp, "invalid MXCSR 0x%08x (reserved bits set)", mxcsr);
        return false;
    }
    return true;
}

bool x86_cpu_state_check(const X86CPUState *env, GError **errp)
{
    if (!x86_control_check(env, errp)) {
        return false;
    }
    for (int i = 0; i < CPU_NB_SEGS; i++) {
        if (!x86_data_segment_check(i, &env->segs[i], errp)) {
            return false;
        }
    }
    return x86_system_segments_check(env, errp) && x86_msr_fpu_check(env, errp);
}

static bool cpu_vmstate_require_stopped(const CPUVMState *s, GError **errp)
{
    if (runstate_is_running(s->vm)) {
        error_setg(errp, "vCPU %d: the VM is running; its state moves only "
                   "while the VM is stopped", s->index);
        return false;
    }
    return true;
}

static bool cpu_pre_save(void *opaque, GError **errp)
{
    CPUVMState *s = opaque;

    return cpu_vmstate_require_stopped(s, errp) &&
           cpu_get_state(s->vm, s->index, &s->env, errp);
}

/*
 * Check, then apply.  An accelerator may have applied part of the state
 * before refusing the rest (KVM sets registers in several ioctls), so on
 * failure the vCPU gets back the state it had.
 */
static bool cpu_post_load(void *opaque, int version_id, GError **errp)
{
    CPUVMState *s = opaque;
    X86CPUState old;

    if (!x86_cpu_state_check(&s->env, errp) ||
        !cpu_vmstate_require_stopped(s, errp) ||
        !cpu_get_state(s->vm, s->index, &old, errp)) {
        return false;
    }
    if (!cpu_set_state(s->vm, s->index, &s->env, errp)) {
        cpu_set_state(s->vm, s->index, &old, NULL);
        return false;
    }
    return true;
}

/* QEMU's equivalent is vmsd "segment" (target/i386/machine.c). */
static const VMStateDescription vmstate_cpu_segment = {
    .name = "cpu/segment",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(selector, X86Segment),
        VMSTATE_UINT32(base, X86Segment),
        VMSTATE_UINT32(limit, X86Segment),
        VMSTATE_UINT32(flags, X86Segment),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_cpu_dtable = {
    .name = "cpu/dtable",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(base, X86DescTable),
        VMSTATE_UINT16(limit, X86DescTable),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_cpu = {
    .name = "cpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = cpu_pre_save,
    .post_load = cpu_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(env.regs, CPUVMState, CPU_NB_REGS),
        VMSTATE_UINT32(env.eip, CPUVMState),
        VMSTATE_UINT32(env.eflags, CPUVMState),
        VMSTATE_STRUCT_ARRAY(env.segs, CPUVMState, CPU_NB_SEGS, 1,
                             vmstate_cpu_segment, X86Segment),
        VMSTATE_STRUCT(env.ldt, CPUVMState, 1, vmstate_cpu_segment, X86Segment),
        VMSTATE_STRUCT(env.tr, CPUVMState, 1, vmstate_cpu_segment, X86Segment),
        VMSTATE_STRUCT(env.gdt, CPUVMState, 1, vmstate_cpu_dtable, X86DescTable),
        VMSTATE_STRUCT(env.idt, CPUVMState, 1, vmstate_cpu_dtable, X86DescTable),
        VMSTATE_UINT64(env.cr0, CPUVMState),
        VMSTATE_UINT64(env.cr2, CPUVMState),
        VMSTATE_UINT64(env.cr3, CPUVMState),
        VMSTATE_UINT64(env.cr4, CPUVMState),
        VMSTATE_UINT64(env.efer, CPUVMState),
        VMSTATE_UINT64(env.sysenter_cs, CPUVMState),
        VMSTATE_UINT64(env.sysenter_esp, CPUVMState),
        VMSTATE_UINT64(env.sysenter_eip, CPUVMState),
        VMSTATE_UINT64(env.tsc, CPUVMState),
        VMSTATE_UINT64(env.pat, CPUVMState),
        VMSTATE_BUFFER(env.fxsave, CPUVMState),
        VMSTATE_BOOL(env.halted, CPUVMState),
        VMSTATE_END_OF_LIST()
    },
};
