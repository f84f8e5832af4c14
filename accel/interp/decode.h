/*
 * Instruction decoding helpers: register operands by size, immediates, and
 * the ModRM/SIB effective address (32-bit addressing only).  The decoder
 * reads instruction bytes straight from a host pointer into guest RAM, so a
 * guest that rewrites its own code is always decoded afresh.
 */
#ifndef ACCEL_INTERP_DECODE_H
#define ACCEL_INTERP_DECODE_H

#include "mem.h"

/* A decoded r/m operand: a register number or a guest address. */
typedef struct Operand {
    bool is_mem;
    uint8_t reg;
    uint32_t addr;
} Operand;

/* Register @r of @size bytes; for size 1, 4..7 are AH, CH, DH, BH. */
static inline uint32_t reg_read(const AccelVCPU *cpu, unsigned r, unsigned size)
{
    switch (size) {
    case 1:
        return r < 4 ? cpu->regs[r] & 0xff : (cpu->regs[r - 4] >> 8) & 0xff;
    case 2:
        return cpu->regs[r] & 0xffff;
    default:
        return cpu->regs[r];
    }
}

static inline void reg_write(AccelVCPU *cpu, unsigned r, unsigned size, uint32_t v)
{
    switch (size) {
    case 1:
        if (r < 4) {
            cpu->regs[r] = (cpu->regs[r] & ~0xffu) | (v & 0xff);
        } else {
            cpu->regs[r - 4] = (cpu->regs[r - 4] & ~0xff00u) | ((v & 0xff) << 8);
        }
        break;
    case 2:
        cpu->regs[r] = (cpu->regs[r] & ~0xffffu) | (v & 0xffff);
        break;
    default:
        cpu->regs[r] = v;
        break;
    }
}

static inline uint32_t fetch_imm(const uint8_t **pp, unsigned size)
{
    uint32_t v = ld_le(*pp, size);
    *pp += size;
    return v;
}

/* A sign-extended 8-bit immediate. */
static inline uint32_t fetch_simm8(const uint8_t **pp)
{
    return (uint32_t)(int32_t)(int8_t)*(*pp)++;
}

/* Decode ModRM (+SIB, displacement) at *@pp; returns the reg field. */
static inline unsigned decode_modrm(const AccelVCPU *cpu, const uint8_t **pp,
                                    Operand *op)
{
    const uint8_t *p = *pp;
    uint8_t modrm = *p++;
    unsigned mod = modrm >> 6, rm = modrm & 7;
    uint32_t addr;

    if (mod == 3) {
        op->is_mem = false;
        op->reg = rm;
        op->addr = 0;
        *pp = p;
        return (modrm >> 3) & 7;
    }
    if (rm == 4) {
        uint8_t sib = *p++;
        unsigned base = sib & 7, index = (sib >> 3) & 7;

        if (base == 5 && mod == 0) {
            addr = ld_le(p, 4);
            p += 4;
        } else {
            addr = cpu->regs[base];
        }
        if (index != 4) {
            addr += cpu->regs[index] << (sib >> 6);
        }
    } else if (rm == 5 && mod == 0) {
        addr = ld_le(p, 4);
        p += 4;
    } else {
        addr = cpu->regs[rm];
    }
    if (mod == 1) {
        addr += (uint32_t)(int32_t)(int8_t)*p++;
    } else if (mod == 2) {
        addr += ld_le(p, 4);
        p += 4;
    }
    op->is_mem = true;
    op->reg = 0;
    op->addr = addr;
    *pp = p;
    return (modrm >> 3) & 7;
}

static inline bool op_read(AccelVCPU *cpu, const Operand *op, unsigned size,
                           uint32_t *val)
{
    if (!op->is_mem) {
        *val = reg_read(cpu, op->reg, size);
        return true;
    }
    return mem_read(cpu, op->addr, size, val);
}

static inline bool op_write(AccelVCPU *cpu, const Operand *op, unsigned size,
                            uint32_t val)
{
    if (!op->is_mem) {
        reg_write(cpu, op->reg, size, val);
        return true;
    }
    return mem_write(cpu, op->addr, size, val);
}

static inline bool push32(AccelVCPU *cpu, unsigned size, uint32_t val)
{
    uint32_t sp = cpu->regs[R_ESP] - size;

    if (!mem_write(cpu, sp, size, val)) {
        return false;
    }
    cpu->regs[R_ESP] = sp;
    return true;
}

static inline bool pop32(AccelVCPU *cpu, unsigned size, uint32_t *val)
{
    if (!mem_read(cpu, cpu->regs[R_ESP], size, val)) {
        return false;
    }
    cpu->regs[R_ESP] += size;
    return true;
}

#endif
