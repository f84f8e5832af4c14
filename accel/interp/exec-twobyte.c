/*
 * The 0x0f opcode page: near conditional jumps, SETcc, CMOVcc, MOVZX/MOVSX,
 * two-operand IMUL, BSWAP, CPUID, RDTSC and the multi-byte NOP.
 */
#include "alu.h"
#include "exec-internal.h"

/* Vendor string of our CPUID leaf 0: "TernInterpVM" in EBX, EDX, ECX order. */
#define CPUID_VENDOR_EBX 0x6e726554u    /* "Tern" */
#define CPUID_VENDOR_EDX 0x65746e49u    /* "Inte" */
#define CPUID_VENDOR_ECX 0x4d567072u    /* "rpVM" */
/* Family 6, model 3, stepping 3. */
#define CPUID_SIGNATURE  0x00000633u
#define CPUID_EDX_TSC    (1u << 4)
#define CPUID_EDX_CX8    (1u << 8)
#define CPUID_EDX_CMOV   (1u << 15)

void exec_cpuid(AccelVCPU *cpu)
{
    uint32_t leaf = cpu->regs[R_EAX];
    uint32_t a = 0, b = 0, c = 0, d = 0;

    switch (leaf) {
    case 0:
        a = 1;
        b = CPUID_VENDOR_EBX;
        d = CPUID_VENDOR_EDX;
        c = CPUID_VENDOR_ECX;
        break;
    case 1:
        a = CPUID_SIGNATURE;
        b = (uint32_t)cpu->index << 24;     /* initial APIC id */
        d = CPUID_EDX_TSC | CPUID_EDX_CMOV;
        break;
    case 0x80000000u:
        a = 0x80000000u;
        break;
    default:
        break;
    }
    cpu->regs[R_EAX] = a;
    cpu->regs[R_EBX] = b;
    cpu->regs[R_ECX] = c;
    cpu->regs[R_EDX] = d;
}

static ExecStatus exec_movx(AccelVCPU *cpu, uint8_t op, unsigned opsize,
                            const uint8_t **pp)
{
    unsigned src_size = (op & 1) ? 2 : 1;
    Operand rm;
    unsigned reg = decode_modrm(cpu, pp, &rm);
    uint32_t v;

    if (!op_read(cpu, &rm, src_size, &v)) {
        return EXEC_FAULT;
    }
    if (op >= 0xbe) {
        unsigned shift = 32 - src_size * 8;
        v = (uint32_t)((int32_t)(v << shift) >> shift);
    }
    reg_write(cpu, reg, opsize, v);
    return EXEC_OK;
}

ExecStatus exec_twobyte(AccelVCPU *cpu, const uint8_t *base, const uint8_t *p,
                        unsigned opsize)
{
    uint32_t eip = cpu->eip;
    uint8_t op = *p++;
    Operand rm;
    unsigned reg;
    uint32_t v, imm;
    uint64_t tsc;

    switch (op) {
    case 0x1f:  /* NOP Ev */
        decode_modrm(cpu, &p, &rm);
        break;
    case 0x31:
        /* Deterministic: the TSC counts retired instructions. */
        tsc = cpu->tsc_offset + cpu->icount + (cpu->chunk_size - *cpu->chunk_left - 1);
        cpu->regs[R_EAX] = (uint32_t)tsc;
        cpu->regs[R_EDX] = (uint32_t)(tsc >> 32);
        break;
    case 0x40 ... 0x4f:
        reg = decode_modrm(cpu, &p, &rm);
        if (!op_read(cpu, &rm, opsize, &v)) {
            return EXEC_FAULT;
        }
        if (cc_test(cpu, op & 15)) {
            reg_write(cpu, reg, opsize, v);
        }
        break;
    case 0x80 ... 0x8f:
        imm = fetch_imm(&p, 4);
        eip += (uint32_t)(p - base);
        cpu->eip = cc_test(cpu, op & 15) ? eip + imm : eip;
        return EXEC_OK;
    case 0x90 ... 0x9f:
        decode_modrm(cpu, &p, &rm);
        if (!op_write(cpu, &rm, 1, cc_test(cpu, op & 15))) {
            return EXEC_FAULT;
        }
        break;
    case 0xa2:
        exec_cpuid(cpu);
        break;
    case 0xaf:
        reg = decode_modrm(cpu, &p, &rm);
        if (!op_read(cpu, &rm, opsize, &v)) {
            return EXEC_FAULT;
        }
        reg_write(cpu, reg, opsize, alu_imul2(cpu, opsize, reg_read(cpu, reg, opsize), v));
        break;
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf:
        if (exec_movx(cpu, op, opsize, &p) != EXEC_OK) {
            return EXEC_FAULT;
        }
        break;
    case 0xc8 ... 0xcf:
        cpu->regs[op & 7] = __builtin_bswap32(cpu->regs[op & 7]);
        break;
    default:
        return exec_unsupported(cpu, base, p);
    }
    cpu->eip = eip + (uint32_t)(p - base);
    return EXEC_OK;
}
