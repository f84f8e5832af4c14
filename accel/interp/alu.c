/*
 * Multiply and divide: the group-3 accumulator forms and the two/three
 * operand IMUL.  Out of line because guests use them rarely and they are
 * longer than the rest of the ALU.
 */
#include "alu.h"

static int32_t sext(uint32_t v, unsigned size)
{
    unsigned shift = 32 - size * 8;
    return (int32_t)(v << shift) >> shift;
}

/* Product of the accumulator and @src into (AH:AL | DX:AX | EDX:EAX). */
static void alu_mul(AccelVCPU *cpu, bool is_signed, unsigned size, uint32_t src)
{
    uint32_t acc = cpu->regs[R_EAX] & cc_mask(size);
    unsigned bits = size * 8;
    uint64_t prod;
    bool overflow;

    if (is_signed) {
        int64_t p = (int64_t)sext(acc, size) * sext(src, size);
        prod = (uint64_t)p;
        overflow = p != (int64_t)sext((uint32_t)p & cc_mask(size), size);
    } else {
        prod = (uint64_t)acc * src;
        overflow = (prod >> bits) != 0;
    }
    if (size == 1) {
        cpu->regs[R_EAX] = (cpu->regs[R_EAX] & ~0xffffu) | (uint32_t)(prod & 0xffff);
    } else {
        uint32_t lo = (uint32_t)prod & cc_mask(size);
        uint32_t hi = (uint32_t)(prod >> bits) & cc_mask(size);
        uint32_t keep = size == 2 ? 0xffff0000u : 0;

        cpu->regs[R_EAX] = (cpu->regs[R_EAX] & keep) | lo;
        cpu->regs[R_EDX] = (cpu->regs[R_EDX] & keep) | hi;
    }
    cc_set(cpu, CC_OP_CO, size, (uint32_t)prod & cc_mask(size), 0, overflow, overflow);
}

/* Divide (AH:AL | DX:AX | EDX:EAX) by @src; false on #DE. */
static bool alu_div(AccelVCPU *cpu, bool is_signed, unsigned size, uint32_t src)
{
    unsigned bits = size * 8;
    uint64_t dividend;
    uint64_t quot, rem;

    if (size == 1) {
        dividend = cpu->regs[R_EAX] & 0xffff;
    } else {
        dividend = ((uint64_t)(cpu->regs[R_EDX] & cc_mask(size)) << bits) |
                   (cpu->regs[R_EAX] & cc_mask(size));
    }
    if (src == 0) {
        return false;
    }
    if (is_signed) {
        int64_t n = (int64_t)(dividend << (64 - 2 * bits)) >> (64 - 2 * bits);
        int64_t d = sext(src, size);
        int64_t q, r;

        if (n == INT64_MIN && d == -1) {
            return false;
        }
        q = n / d;
        r = n % d;
        if (q > (int64_t)(cc_mask(size) >> 1) || q < -(int64_t)(cc_mask(size) >> 1) - 1) {
            return false;
        }
        quot = (uint64_t)q;
        rem = (uint64_t)r;
    } else {
        quot = dividend / src;
        rem = dividend % src;
        if (quot > cc_mask(size)) {
            return false;
        }
    }
    if (size == 1) {
        cpu->regs[R_EAX] = (cpu->regs[R_EAX] & ~0xffffu) |
                           (uint32_t)(quot & 0xff) | (uint32_t)((rem & 0xff) << 8);
    } else {
        uint32_t keep = size == 2 ? 0xffff0000u : 0;

        cpu->regs[R_EAX] = (cpu->regs[R_EAX] & keep) | ((uint32_t)quot & cc_mask(size));
        cpu->regs[R_EDX] = (cpu->regs[R_EDX] & keep) | ((uint32_t)rem & cc_mask(size));
    }
    return true;
}

bool alu_muldiv(AccelVCPU *cpu, unsigned op, unsigned size, uint32_t src)
{
    switch (op) {
    case 4:
        alu_mul(cpu, false, size, src);
        return true;
    case 5:
        alu_mul(cpu, true, size, src);
        return true;
    case 6:
        return alu_div(cpu, false, size, src);
    default:
        return alu_div(cpu, true, size, src);
    }
}

uint32_t alu_imul2(AccelVCPU *cpu, unsigned size, uint32_t a, uint32_t b)
{
    int64_t p = (int64_t)sext(a, size) * sext(b, size);
    uint32_t r = (uint32_t)p & cc_mask(size);
    bool overflow = p != (int64_t)sext(r, size);

    cc_set(cpu, CC_OP_CO, size, r, 0, overflow, overflow);
    return r;
}
