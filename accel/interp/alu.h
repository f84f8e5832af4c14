/*
 * Integer arithmetic of the interpreter: the eight group-1 operations,
 * shifts and rotates, INC/DEC/NEG, each recording lazy flags.  Inline: these
 * are the hot path.  Multiply and divide live in alu.c.
 */
#ifndef ACCEL_INTERP_ALU_H
#define ACCEL_INTERP_ALU_H

#include "flags.h"

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* @a and @b truncated to @size; returns the (truncated) result. */
static inline uint32_t alu_binop(AccelVCPU *cpu, unsigned op, unsigned size,
                                 uint32_t a, uint32_t b)
{
    uint32_t mask = cc_mask(size), r, c;

    switch (op) {
    case ALU_ADD:
        r = (a + b) & mask;
        cc_set(cpu, CC_OP_ADD, size, r, a, b, 0);
        return r;
    case ALU_OR:
        r = a | b;
        break;
    case ALU_ADC:
        c = cc_cf(cpu);
        r = (a + b + c) & mask;
        cc_set(cpu, CC_OP_ADC, size, r, a, b, c);
        return r;
    case ALU_SBB:
        c = cc_cf(cpu);
        r = (a - b - c) & mask;
        cc_set(cpu, CC_OP_SBB, size, r, a, b, c);
        return r;
    case ALU_AND:
        r = a & b;
        break;
    case ALU_XOR:
        r = a ^ b;
        break;
    default:    /* SUB, CMP */
        r = (a - b) & mask;
        cc_set(cpu, CC_OP_SUB, size, r, a, b, 0);
        return r;
    }
    cc_set(cpu, CC_OP_LOGIC, size, r, 0, 0, 0);
    return r;
}

static inline uint32_t alu_inc(AccelVCPU *cpu, unsigned size, uint32_t a)
{
    uint32_t r = (a + 1) & cc_mask(size);
    cc_set(cpu, CC_OP_INC, size, r, a, 1, cc_cf(cpu));
    return r;
}

static inline uint32_t alu_dec(AccelVCPU *cpu, unsigned size, uint32_t a)
{
    uint32_t r = (a - 1) & cc_mask(size);
    cc_set(cpu, CC_OP_DEC, size, r, a, 1, cc_cf(cpu));
    return r;
}

static inline uint32_t alu_neg(AccelVCPU *cpu, unsigned size, uint32_t a)
{
    uint32_t r = (0 - a) & cc_mask(size);
    cc_set(cpu, CC_OP_SUB, size, r, 0, a, 0);
    return r;
}

/* Set CF and OF, keep the other arithmetic flags (rotates). */
static inline void cc_set_cf_of(AccelVCPU *cpu, bool cf, bool of)
{
    uint32_t f = cc_eflags(cpu) & ~(EFLAGS_CF | EFLAGS_OF);
    cc_load_eflags(cpu, f | (cf ? EFLAGS_CF : 0) | (of ? EFLAGS_OF : 0));
}

/*
 * Group-2 operation @op (ROL ROR RCL RCR SHL SHR SAL SAR) of @v by @count
 * (masked to 5 bits as on the 386 and later).  A zero count changes nothing,
 * flags included.
 */
static inline uint32_t alu_shift(AccelVCPU *cpu, unsigned op, unsigned size,
                                 uint32_t v, unsigned count)
{
    unsigned bits = size * 8;
    uint32_t mask = cc_mask(size), sign = cc_sign(size), r;
    bool cf, of;

    count &= 31;
    if (!count) {
        return v;
    }
    switch (op) {
    case 0: {   /* ROL */
        unsigned n = count % bits;
        r = n ? ((v << n) | (v >> (bits - n))) & mask : v;
        cf = r & 1;
        cc_set_cf_of(cpu, cf, cf ^ !!(r & sign));
        return r;
    }
    case 1: {   /* ROR */
        unsigned n = count % bits;
        r = n ? ((v >> n) | (v << (bits - n))) & mask : v;
        cf = r & sign;
        cc_set_cf_of(cpu, cf, !!(r & sign) ^ !!(r & (sign >> 1)));
        return r;
    }
    case 2:     /* RCL */
    case 3: {   /* RCR */
        unsigned n = count % (bits + 1);
        cf = cc_cf(cpu);
        r = v;
        for (unsigned i = 0; i < n; i++) {
            bool out;
            if (op == 2) {
                out = r & sign;
                r = ((r << 1) | cf) & mask;
            } else {
                out = r & 1;
                r = (r >> 1) | (cf ? sign : 0);
            }
            cf = out;
        }
        of = op == 2 ? (cf ^ !!(r & sign)) : (!!(r & sign) ^ !!(r & (sign >> 1)));
        cc_set_cf_of(cpu, cf, of);
        return r;
    }
    case 4:     /* SHL */
    case 6: {   /* SAL */
        uint64_t wide = (uint64_t)v << count;
        r = (uint32_t)wide & mask;
        cf = (wide >> bits) & 1;
        of = cf ^ !!(r & sign);
        break;
    }
    case 5:     /* SHR */
        cf = (v >> (count - 1)) & 1;
        r = v >> count;
        of = v & sign;
        break;
    default: {  /* SAR */
        int32_t sv = (int32_t)(v << (32 - bits)) >> (32 - bits);
        cf = (sv >> (count - 1)) & 1;
        r = (uint32_t)(sv >> count) & mask;
        of = false;
        break;
    }
    }
    cc_set(cpu, CC_OP_CO, size, r, 0, of, cf);
    return r;
}

/* Group-3 MUL/IMUL/DIV/IDIV (@op 4..7) on the accumulator; false on #DE. */
bool alu_muldiv(AccelVCPU *cpu, unsigned op, unsigned size, uint32_t src);

/* IMUL r, r/m[, imm]: truncated product, CF = OF = truncation lost bits. */
uint32_t alu_imul2(AccelVCPU *cpu, unsigned size, uint32_t a, uint32_t b);

#endif
