/*
 * The documented entry state of a tern vCPU (include/sysemu/cpu-state.h).
 */
#include "sysemu/cpu-state.h"

#include <string.h>

/* Descriptor high-dword bits 8..23 for flat 4 GiB segments. */
#define SEG_FLAGS_CODE32  0x00c09b00u   /* G, D, P, S, type 0xb (exec/read, accessed) */
#define SEG_FLAGS_DATA32  0x00c09300u   /* G, B, P, S, type 0x3 (read/write, accessed) */
#define SEG_FLAGS_TSS32   0x00008b00u   /* P, type 0xb (busy 32-bit TSS) */
#define SEG_FLAGS_LDT     0x00008200u   /* P, type 0x2 */

#define CR0_PE  (1u << 0)
#define CR0_ET  (1u << 4)
#define EFLAGS_RESERVED1 (1u << 1)
#define FXSAVE_MXCSR_OFFSET 24
#define MXCSR_DEFAULT 0x1f80u
#define FXSAVE_FCW_DEFAULT 0x037f

static X86Segment flat_segment(uint16_t selector, uint32_t flags)
{
    return (X86Segment){ .selector = selector, .base = 0,
                         .limit = 0xffffffffu, .flags = flags };
}

void x86_cpu_state_reset(X86CPUState *env, uint32_t entry, uint32_t stack)
{
    memset(env, 0, sizeof(*env));
    env->eip = entry;
    env->regs[R_ESP] = stack;
    env->eflags = EFLAGS_RESERVED1;
    for (int i = 0; i < CPU_NB_SEGS; i++) {
        env->segs[i] = flat_segment(0x10, SEG_FLAGS_DATA32);
    }
    env->segs[R_CS] = flat_segment(0x08, SEG_FLAGS_CODE32);
    env->tr = (X86Segment){ .selector = 0x18, .limit = 0x67, .flags = SEG_FLAGS_TSS32 };
    env->ldt = (X86Segment){ .selector = 0, .limit = 0xffff, .flags = SEG_FLAGS_LDT };
    env->cr0 = CR0_PE | CR0_ET;
    env->pat = 0x0007040600070406ull;
    env->fxsave[0] = FXSAVE_FCW_DEFAULT & 0xff;
    env->fxsave[1] = FXSAVE_FCW_DEFAULT >> 8;
    memcpy(&env->fxsave[FXSAVE_MXCSR_OFFSET], &(uint32_t){ MXCSR_DEFAULT }, 4);
}
