/*
 * Lazy arithmetic flags (see CCOp): instructions record operands and result,
 * readers compute only the flag they need.  Inline because every ALU
 * instruction and every conditional branch goes through here.
 */
#ifndef ACCEL_INTERP_FLAGS_H
#define ACCEL_INTERP_FLAGS_H

#include "interp-internal.h"

static inline uint32_t cc_mask(unsigned size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t cc_sign(unsigned size)
{
    return 1u << (size * 8 - 1);
}

/* Record an arithmetic result; operands and result already truncated to @size. */
static inline void cc_set(AccelVCPU *cpu, CCOp op, unsigned size,
                          uint32_t res, uint32_t a, uint32_t b, uint32_t c)
{
    cpu->cc_op = op;
    cpu->cc_size = size;
    cpu->cc_res = res;
    cpu->cc_a = a;
    cpu->cc_b = b;
    cpu->cc_c = c;
}

static inline bool cc_cf(const AccelVCPU *cpu)
{
    uint32_t a = cpu->cc_a, b = cpu->cc_b, r = cpu->cc_res;

    switch (cpu->cc_op) {
    case CC_OP_EFLAGS:
        return r & EFLAGS_CF;
    case CC_OP_ADD:
        return r < a;
    case CC_OP_ADC:
        return cpu->cc_c ? r <= a : r < a;
    case CC_OP_SUB:
        return a < b;
    case CC_OP_SBB:
        return cpu->cc_c ? a <= b : a < b;
    case CC_OP_LOGIC:
        return false;
    default:    /* INC, DEC, CO */
        return cpu->cc_c;
    }
}

static inline bool cc_of(const AccelVCPU *cpu)
{
    uint32_t a = cpu->cc_a, b = cpu->cc_b, r = cpu->cc_res;
    uint32_t sign = cc_sign(cpu->cc_size);

    switch (cpu->cc_op) {
    case CC_OP_EFLAGS:
        return r & EFLAGS_OF;
    case CC_OP_ADD:
    case CC_OP_ADC:
    case CC_OP_INC:
        return (a ^ r) & (b ^ r) & sign;
    case CC_OP_SUB:
    case CC_OP_SBB:
    case CC_OP_DEC:
        return (a ^ b) & (a ^ r) & sign;
    case CC_OP_LOGIC:
        return false;
    default:    /* CO */
        return b;
    }
}

static inline bool cc_zf(const AccelVCPU *cpu)
{
    if (cpu->cc_op == CC_OP_EFLAGS) {
        return cpu->cc_res & EFLAGS_ZF;
    }
    return cpu->cc_res == 0;
}

static inline bool cc_sf(const AccelVCPU *cpu)
{
    if (cpu->cc_op == CC_OP_EFLAGS) {
        return cpu->cc_res & EFLAGS_SF;
    }
    return cpu->cc_res & cc_sign(cpu->cc_size);
}

static inline bool cc_pf(const AccelVCPU *cpu)
{
    if (cpu->cc_op == CC_OP_EFLAGS) {
        return cpu->cc_res & EFLAGS_PF;
    }
    return !__builtin_parity(cpu->cc_res & 0xff);
}

static inline bool cc_af(const AccelVCPU *cpu)
{
    switch (cpu->cc_op) {
    case CC_OP_EFLAGS:
        return cpu->cc_res & EFLAGS_AF;
    case CC_OP_LOGIC:
    case CC_OP_CO:
        return false;
    default:
        return (cpu->cc_a ^ cpu->cc_b ^ cpu->cc_res) & 0x10;
    }
}

/* The six arithmetic flags as EFLAGS bits. */
static inline uint32_t cc_eflags(const AccelVCPU *cpu)
{
    if (cpu->cc_op == CC_OP_EFLAGS) {
        return cpu->cc_res & EFLAGS_ARITH;
    }
    return (cc_cf(cpu) ? EFLAGS_CF : 0) | (cc_pf(cpu) ? EFLAGS_PF : 0) |
           (cc_af(cpu) ? EFLAGS_AF : 0) | (cc_zf(cpu) ? EFLAGS_ZF : 0) |
           (cc_sf(cpu) ? EFLAGS_SF : 0) | (cc_of(cpu) ? EFLAGS_OF : 0);
}

/* Replace the arithmetic flags with explicit EFLAGS bits. */
static inline void cc_load_eflags(AccelVCPU *cpu, uint32_t flags)
{
    cpu->cc_op = CC_OP_EFLAGS;
    cpu->cc_size = 4;
    cpu->cc_res = flags & EFLAGS_ARITH;
}

/* The full EFLAGS register. */
static inline uint32_t cpu_get_eflags(const AccelVCPU *cpu)
{
    return (cpu->eflags & ~EFLAGS_ARITH) | cc_eflags(cpu) | EFLAGS_FIXED1;
}

static inline void cpu_set_eflags(AccelVCPU *cpu, uint32_t flags)
{
    cpu->eflags = (flags & ~EFLAGS_ARITH) | EFLAGS_FIXED1;
    cc_load_eflags(cpu, flags);
}

/* Set CF (and keep the other arithmetic flags). */
static inline void cc_set_cf(AccelVCPU *cpu, bool cf)
{
    cc_load_eflags(cpu, (cc_eflags(cpu) & ~EFLAGS_CF) | (cf ? EFLAGS_CF : 0));
}

/*
 * Evaluate condition code @cc (the low nibble of Jcc/SETcc/CMOVcc).  The
 * compare-and-branch case gets a direct comparison, no flag computation.
 */
static inline bool cc_test(const AccelVCPU *cpu, unsigned cc)
{
    bool r;

    if (cpu->cc_op == CC_OP_SUB) {
        uint32_t a = cpu->cc_a, b = cpu->cc_b;
        unsigned shift = 32 - cpu->cc_size * 8;
        int32_t sa = (int32_t)(a << shift), sb = (int32_t)(b << shift);

        switch (cc >> 1) {
        case 1: r = a < b; break;
        case 2: r = a == b; break;
        case 3: r = a <= b; break;
        case 6: r = sa < sb; break;
        case 7: r = sa <= sb; break;
        default: goto generic;
        }
        return r ^ (cc & 1);
    }
generic:
    switch (cc >> 1) {
    case 0: r = cc_of(cpu); break;
    case 1: r = cc_cf(cpu); break;
    case 2: r = cc_zf(cpu); break;
    case 3: r = cc_cf(cpu) || cc_zf(cpu); break;
    case 4: r = cc_sf(cpu); break;
    case 5: r = cc_pf(cpu); break;
    case 6: r = cc_sf(cpu) != cc_of(cpu); break;
    default: r = cc_zf(cpu) || (cc_sf(cpu) != cc_of(cpu)); break;
    }
    return r ^ (cc & 1);
}

#endif
