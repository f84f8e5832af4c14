/*
 * The interpreter's executor: fetch from guest RAM, decode prefixes and the
 * one-byte opcode, and execute, with lazy flags and direct host-pointer
 * memory.  One switch dispatches on the opcode byte (no per-byte function
 * pointers); the 0x0f page and string instructions live in their own files.
 */
#include "alu.h"
#include "exec-internal.h"

/* How many instructions run between two looks at the kick flag. */
#define KICK_CHECK_INTERVAL 256

/*
 * Prefix bytes accepted on one instruction.  The longest instruction of the
 * subset without prefixes is 11 bytes (c7 ModRM SIB disp32 imm32), so with
 * 4 prefixes the decoder never reads past the 16 bytes at EIP.
 */
#define MAX_PREFIXES 4

/* The 0x00..0x3d pattern: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz. */
static inline ExecStatus exec_alu_form(AccelVCPU *cpu, uint8_t op, unsigned opsize,
                                       const uint8_t **pp)
{
    unsigned aluop = op >> 3, form = op & 7;
    unsigned size = (form & 1) ? opsize : 1;
    Operand rm;
    unsigned reg;
    uint32_t a, b, r;

    switch (form >> 1) {
    case 0:
        reg = decode_modrm(cpu, pp, &rm);
        if (!op_read(cpu, &rm, size, &a)) {
            return EXEC_FAULT;
        }
        r = alu_binop(cpu, aluop, size, a, reg_read(cpu, reg, size));
        if (aluop != ALU_CMP && !op_write(cpu, &rm, size, r)) {
            return EXEC_FAULT;
        }
        return EXEC_OK;
    case 1:
        reg = decode_modrm(cpu, pp, &rm);
        if (!op_read(cpu, &rm, size, &b)) {
            return EXEC_FAULT;
        }
        r = alu_binop(cpu, aluop, size, reg_read(cpu, reg, size), b);
        if (aluop != ALU_CMP) {
            reg_write(cpu, reg, size, r);
        }
        return EXEC_OK;
    default:
        b = fetch_imm(pp, size);
        r = alu_binop(cpu, aluop, size, reg_read(cpu, R_EAX, size), b);
        if (aluop != ALU_CMP) {
            reg_write(cpu, R_EAX, size, r);
        }
        return EXEC_OK;
    }
}

/* 0x80, 0x81, 0x83: op Eb,Ib / Ev,Iz / Ev,sIb. */
static inline ExecStatus exec_group1(AccelVCPU *cpu, uint8_t op, unsigned opsize,
                                     const uint8_t **pp)
{
    unsigned size = op == 0x80 ? 1 : opsize;
    Operand rm;
    unsigned aluop = decode_modrm(cpu, pp, &rm);
    uint32_t a, b, r;

    if (op == 0x83) {
        b = fetch_simm8(pp) & cc_mask(size);
    } else {
        b = fetch_imm(pp, size);
    }
    if (!op_read(cpu, &rm, size, &a)) {
        return EXEC_FAULT;
    }
    r = alu_binop(cpu, aluop, size, a, b);
    if (aluop != ALU_CMP && !op_write(cpu, &rm, size, r)) {
        return EXEC_FAULT;
    }
    return EXEC_OK;
}

/* 0xc0, 0xc1 (imm8), 0xd0, 0xd1 (1), 0xd2, 0xd3 (CL): shifts and rotates. */
static ExecStatus exec_group2(AccelVCPU *cpu, uint8_t op, unsigned opsize,
                              const uint8_t **pp)
{
    unsigned size = (op & 1) ? opsize : 1;
    Operand rm;
    unsigned sub = decode_modrm(cpu, pp, &rm);
    unsigned count;
    uint32_t v, r;

    if (op <= 0xc1) {
        count = *(*pp)++;
    } else if (op <= 0xd1) {
        count = 1;
    } else {
        count = cpu->regs[R_ECX] & 0xff;
    }
    if (!op_read(cpu, &rm, size, &v)) {
        return EXEC_FAULT;
    }
    r = alu_shift(cpu, sub, size, v, count);
    return op_write(cpu, &rm, size, r) ? EXEC_OK : EXEC_FAULT;
}

/* 0xf6, 0xf7: TEST imm, NOT, NEG, MUL, IMUL, DIV, IDIV. */
static ExecStatus exec_group3(AccelVCPU *cpu, const uint8_t *base, uint8_t op,
                              unsigned opsize, const uint8_t **pp)
{
    unsigned size = (op & 1) ? opsize : 1;
    Operand rm;
    unsigned sub = decode_modrm(cpu, pp, &rm);
    uint32_t v, imm = 0;

    if (sub == 1) {
        return exec_unsupported(cpu, base, *pp);
    }
    if (sub == 0) {
        imm = fetch_imm(pp, size);
    }
    if (!op_read(cpu, &rm, size, &v)) {
        return EXEC_FAULT;
    }
    switch (sub) {
    case 0:
        alu_binop(cpu, ALU_AND, size, v, imm);
        return EXEC_OK;
    case 2:
        return op_write(cpu, &rm, size, ~v & cc_mask(size)) ? EXEC_OK : EXEC_FAULT;
    case 3:
        if (!op_write(cpu, &rm, size, (0 - v) & cc_mask(size))) {
            return EXEC_FAULT;
        }
        alu_neg(cpu, size, v);
        return EXEC_OK;
    default:
        return alu_muldiv(cpu, sub, size, v) ? EXEC_OK : EXEC_DIVIDE_ERROR;
    }
}

/* 0xfe, 0xff: INC, DEC, CALL near indirect, JMP near indirect, PUSH. */
static ExecStatus exec_group45(AccelVCPU *cpu, const uint8_t *base, uint8_t op,
                               unsigned opsize, const uint8_t **pp, uint32_t eip)
{
    unsigned size = (op & 1) ? opsize : 1;
    Operand rm;
    unsigned sub = decode_modrm(cpu, pp, &rm);
    uint32_t next = eip + (uint32_t)(*pp - base);
    uint32_t v;

    if (sub > 1 && (op == 0xfe || sub == 3 || sub == 5 || sub == 7)) {
        return exec_unsupported(cpu, base, *pp);
    }
    if (!op_read(cpu, &rm, size, &v)) {
        return EXEC_FAULT;
    }
    switch (sub) {
    case 0:
    case 1:
        if (!op_write(cpu, &rm, size, sub ? alu_dec(cpu, size, v) : alu_inc(cpu, size, v))) {
            return EXEC_FAULT;
        }
        cpu->eip = next;
        return EXEC_OK;
    case 2:
        if (!push32(cpu, 4, next)) {
            return EXEC_FAULT;
        }
        cpu->eip = v;
        return EXEC_OK;
    case 4:
        cpu->eip = v;
        return EXEC_OK;
    default:
        if (!push32(cpu, size, v)) {
            return EXEC_FAULT;
        }
        cpu->eip = next;
        return EXEC_OK;
    }
}

/*
 * When the next 16 bytes at EIP are not all in main RAM: copy what there is
 * from any block, zero-filling the rest.  Returns the number of bytes
 * available; 0 is a fetch fault.  (An instruction that itself runs past the
 * end of RAM therefore reads zeros for its missing bytes; docs/interp.md.)
 */
static unsigned fetch_slow(AccelVCPU *cpu, uint32_t eip, uint8_t *buf)
{
    unsigned n;

    memset(buf, 0, 16);
    for (n = 0; n < 16; n++) {
        InterpRAM *blk;
        uint8_t *p = interp_mem_slow(cpu, eip + n, 1, &blk);

        if (!p) {
            break;
        }
        buf[n] = *p;
    }
    if (n == 0) {
        cpu->fault_addr = eip;
        cpu->fault_size = 1;
        cpu->fault_is_fetch = true;
    }
    return n;
}

static ExecStatus exec_mov_moffs(AccelVCPU *cpu, uint8_t op, unsigned opsize,
                                 const uint8_t **pp)
{
    unsigned size = (op & 1) ? opsize : 1;
    uint32_t addr = fetch_imm(pp, 4), v;

    if (op < 0xa2) {
        if (!mem_read(cpu, addr, size, &v)) {
            return EXEC_FAULT;
        }
        reg_write(cpu, R_EAX, size, v);
        return EXEC_OK;
    }
    return mem_write(cpu, addr, size, reg_read(cpu, R_EAX, size)) ? EXEC_OK : EXEC_FAULT;
}

static ExecStatus exec_xchg(AccelVCPU *cpu, uint8_t op, unsigned opsize,
                            const uint8_t **pp)
{
    unsigned size = (op & 1) ? opsize : 1;
    Operand rm;
    unsigned reg = decode_modrm(cpu, pp, &rm);
    uint32_t a, b = reg_read(cpu, reg, size);

    if (!op_read(cpu, &rm, size, &a) || !op_write(cpu, &rm, size, b)) {
        return EXEC_FAULT;
    }
    reg_write(cpu, reg, size, a);
    return EXEC_OK;
}

static ExecStatus exec_pop_rm(AccelVCPU *cpu, unsigned opsize, const uint8_t **pp)
{
    const uint8_t *modrm = *pp;
    Operand rm;
    uint32_t v;

    if (!pop32(cpu, opsize, &v)) {
        return EXEC_FAULT;
    }
    /* The address is computed with ESP already incremented. */
    decode_modrm(cpu, pp, &rm);
    if (!op_write(cpu, &rm, opsize, v)) {
        cpu->regs[R_ESP] -= opsize;
        *pp = modrm;
        return EXEC_FAULT;
    }
    return EXEC_OK;
}

static void exec_in_out(AccelVCPU *cpu, const CPUIOHandler *io, uint8_t op,
                        unsigned opsize, const uint8_t **pp)
{
    unsigned size = (op & 1) ? opsize : 1;
    uint16_t port = (op & 8) ? (uint16_t)cpu->regs[R_EDX] : *(*pp)++;

    if (op & 2) {
        exec_io_out(io, port, size, reg_read(cpu, R_EAX, size));
    } else {
        reg_write(cpu, R_EAX, size, exec_io_in(io, port, size));
    }
}

static ExecStatus exec_popf(AccelVCPU *cpu, unsigned opsize)
{
    uint32_t v, old = cpu_get_eflags(cpu);
    uint32_t mask = opsize == 2 ? (EFLAGS_POPF_MASK & 0xffff) : EFLAGS_POPF_MASK;

    if (!pop32(cpu, opsize, &v)) {
        return EXEC_FAULT;
    }
    cpu_set_eflags(cpu, (old & ~mask) | (v & mask));
    return EXEC_OK;
}

/*
 * Execute the instruction at EIP.  @left: see exec_string.  Deliberately one
 * switch over the opcode byte: the compiler makes it a single jump table and
 * keeps the decode state in registers; anything longer than a few lines is a
 * helper above or in another file.
 */
static inline __attribute__((always_inline))
ExecStatus exec_insn(AccelVCPU *cpu, const CPUIOHandler *io, uint64_t *left)
{
    const AccelState *vm = cpu->vm;
    uint32_t eip = cpu->eip;
    uint8_t buf[16];
    const uint8_t *base, *p;
    unsigned opsize = 4;
    bool rep = false;
    ExecStatus st = EXEC_OK;
    Operand rm;
    unsigned reg, size;
    uint32_t v, imm;
    uint8_t op;

    if (likely((uint64_t)eip + 16 <= vm->ram_size)) {
        base = vm->ram_host + eip;
    } else {
        unsigned avail = fetch_slow(cpu, eip, buf);

        if (!avail) {
            return EXEC_FAULT;
        }
        base = buf;
    }
    p = base;
    for (;;) {
        op = *p++;
        if (op == 0x66) {
            opsize = 2;
        } else if (op == 0xf3 || op == 0xf2) {
            rep = true;
        } else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
                   op == 0x64 || op == 0x65 || op == 0xf0) {
            /* Flat segments: overrides change nothing; LOCK is moot here. */
        } else {
            break;
        }
        if (p - base > MAX_PREFIXES) {
            /* Also keeps decoding within the 16 bytes fetched. */
            return exec_unsupported(cpu, base, p);
        }
    }

    switch (op) {
    case 0x00 ... 0x05: case 0x08 ... 0x0d: case 0x10 ... 0x15: case 0x18 ... 0x1d:
    case 0x20 ... 0x25: case 0x28 ... 0x2d: case 0x30 ... 0x35: case 0x38 ... 0x3d:
        st = exec_alu_form(cpu, op, opsize, &p);
        break;
    case 0x0f:
        return exec_twobyte(cpu, base, p, opsize);
    case 0x40 ... 0x47:
        reg_write(cpu, op & 7, opsize, alu_inc(cpu, opsize, reg_read(cpu, op & 7, opsize)));
        break;
    case 0x48 ... 0x4f:
        reg_write(cpu, op & 7, opsize, alu_dec(cpu, opsize, reg_read(cpu, op & 7, opsize)));
        break;
    case 0x50 ... 0x57:
        if (!push32(cpu, opsize, reg_read(cpu, op & 7, opsize))) {
            return EXEC_FAULT;
        }
        break;
    case 0x58 ... 0x5f:
        if (!pop32(cpu, opsize, &v)) {
            return EXEC_FAULT;
        }
        reg_write(cpu, op & 7, opsize, v);
        break;
    case 0x68:
    case 0x6a:
        imm = op == 0x68 ? fetch_imm(&p, opsize) : fetch_simm8(&p);
        if (!push32(cpu, opsize, imm)) {
            return EXEC_FAULT;
        }
        break;
    case 0x69:
    case 0x6b:
        reg = decode_modrm(cpu, &p, &rm);
        imm = op == 0x69 ? fetch_imm(&p, opsize) : fetch_simm8(&p) & cc_mask(opsize);
        if (!op_read(cpu, &rm, opsize, &v)) {
            return EXEC_FAULT;
        }
        reg_write(cpu, reg, opsize, alu_imul2(cpu, opsize, v, imm));
        break;
    case 0x70 ... 0x7f:
        imm = fetch_simm8(&p);
        eip += (uint32_t)(p - base);
        cpu->eip = cc_test(cpu, op & 15) ? eip + imm : eip;
        return EXEC_OK;
    case 0x80:
    case 0x81:
    case 0x83:
        st = exec_group1(cpu, op, opsize, &p);
        break;
    case 0x84:
    case 0x85:
        size = (op & 1) ? opsize : 1;
        reg = decode_modrm(cpu, &p, &rm);
        if (!op_read(cpu, &rm, size, &v)) {
            return EXEC_FAULT;
        }
        alu_binop(cpu, ALU_AND, size, v, reg_read(cpu, reg, size));
        break;
    case 0x86:
    case 0x87:
        st = exec_xchg(cpu, op, opsize, &p);
        break;
    case 0x88:
    case 0x89:
        size = (op & 1) ? opsize : 1;
        reg = decode_modrm(cpu, &p, &rm);
        if (!op_write(cpu, &rm, size, reg_read(cpu, reg, size))) {
            return EXEC_FAULT;
        }
        break;
    case 0x8a:
    case 0x8b:
        size = (op & 1) ? opsize : 1;
        reg = decode_modrm(cpu, &p, &rm);
        if (!op_read(cpu, &rm, size, &v)) {
            return EXEC_FAULT;
        }
        reg_write(cpu, reg, size, v);
        break;
    case 0x8d:
        reg = decode_modrm(cpu, &p, &rm);
        if (!rm.is_mem) {
            return exec_unsupported(cpu, base, p);
        }
        reg_write(cpu, reg, opsize, rm.addr);
        break;
    case 0x8f:
        if (((*p >> 3) & 7) != 0) {
            return exec_unsupported(cpu, base, p + 1);
        }
        st = exec_pop_rm(cpu, opsize, &p);
        break;
    case 0x90:
        break;
    case 0x91 ... 0x97:
        v = reg_read(cpu, op & 7, opsize);
        reg_write(cpu, op & 7, opsize, reg_read(cpu, R_EAX, opsize));
        reg_write(cpu, R_EAX, opsize, v);
        break;
    case 0x98:  /* CWDE / CBW */
        if (opsize == 4) {
            cpu->regs[R_EAX] = (uint32_t)(int32_t)(int16_t)cpu->regs[R_EAX];
        } else {
            reg_write(cpu, R_EAX, 2, (uint32_t)(int32_t)(int8_t)cpu->regs[R_EAX]);
        }
        break;
    case 0x99:  /* CDQ / CWD */
        v = (reg_read(cpu, R_EAX, opsize) & cc_sign(opsize)) ? 0xffffffffu : 0;
        reg_write(cpu, R_EDX, opsize, v);
        break;
    case 0x9c:
        if (!push32(cpu, opsize, cpu_get_eflags(cpu) & 0x00fcffffu)) {
            return EXEC_FAULT;
        }
        break;
    case 0x9d:
        st = exec_popf(cpu, opsize);
        break;
    case 0xa0 ... 0xa3:
        st = exec_mov_moffs(cpu, op, opsize, &p);
        break;
    case 0xa4:
    case 0xa5:
    case 0xaa ... 0xad:
        return exec_string(cpu, op, opsize, rep, eip + (uint32_t)(p - base), left);
    case 0xa8:
    case 0xa9:
        size = (op & 1) ? opsize : 1;
        imm = fetch_imm(&p, size);
        alu_binop(cpu, ALU_AND, size, reg_read(cpu, R_EAX, size), imm);
        break;
    case 0xb0 ... 0xb7:
        reg_write(cpu, op & 7, 1, *p++);
        break;
    case 0xb8 ... 0xbf:
        reg_write(cpu, op & 7, opsize, fetch_imm(&p, opsize));
        break;
    case 0xc0:
    case 0xc1:
    case 0xd0 ... 0xd3:
        st = exec_group2(cpu, op, opsize, &p);
        break;
    case 0xc2:
    case 0xc3:
        imm = op == 0xc2 ? fetch_imm(&p, 2) : 0;
        if (!pop32(cpu, 4, &v)) {
            return EXEC_FAULT;
        }
        cpu->regs[R_ESP] += imm;
        cpu->eip = v;
        return EXEC_OK;
    case 0xc6:
    case 0xc7:
        size = (op & 1) ? opsize : 1;
        if (decode_modrm(cpu, &p, &rm) != 0) {
            return exec_unsupported(cpu, base, p);
        }
        imm = fetch_imm(&p, size);
        if (!op_write(cpu, &rm, size, imm)) {
            return EXEC_FAULT;
        }
        break;
    case 0xe0 ... 0xe3:  /* LOOPNE, LOOPE, LOOP, JECXZ */
        imm = fetch_simm8(&p);
        eip += (uint32_t)(p - base);
        if (op == 0xe3) {
            cpu->eip = cpu->regs[R_ECX] == 0 ? eip + imm : eip;
        } else {
            bool taken = --cpu->regs[R_ECX] != 0;

            if (op == 0xe0) {
                taken = taken && !cc_zf(cpu);
            } else if (op == 0xe1) {
                taken = taken && cc_zf(cpu);
            }
            cpu->eip = taken ? eip + imm : eip;
        }
        return EXEC_OK;
    case 0xe4 ... 0xe7:
    case 0xec ... 0xef:
        exec_in_out(cpu, io, op, opsize, &p);
        break;
    case 0xe8:
        imm = fetch_imm(&p, 4);
        eip += (uint32_t)(p - base);
        if (!push32(cpu, 4, eip)) {
            return EXEC_FAULT;
        }
        cpu->eip = eip + imm;
        return EXEC_OK;
    case 0xe9:
    case 0xeb:
        imm = op == 0xe9 ? fetch_imm(&p, 4) : fetch_simm8(&p);
        cpu->eip = eip + (uint32_t)(p - base) + imm;
        return EXEC_OK;
    case 0xf4:
        cpu->eip = eip + (uint32_t)(p - base);
        return EXEC_HALT;
    case 0xf5:
        cc_set_cf(cpu, !cc_cf(cpu));
        break;
    case 0xf6:
    case 0xf7:
        st = exec_group3(cpu, base, op, opsize, &p);
        break;
    case 0xf8:
    case 0xf9:
        cc_set_cf(cpu, op & 1);
        break;
    case 0xfa:
        cpu->eflags &= ~EFLAGS_IF;
        break;
    case 0xfb:
        cpu->eflags |= EFLAGS_IF;
        break;
    case 0xfc:
        cpu->eflags &= ~EFLAGS_DF;
        break;
    case 0xfd:
        cpu->eflags |= EFLAGS_DF;
        break;
    case 0xfe:
    case 0xff:
        return exec_group45(cpu, base, op, opsize, &p, eip);
    default:
        return exec_unsupported(cpu, base, p);
    }
    if (likely(st == EXEC_OK)) {
        cpu->eip = eip + (uint32_t)(p - base);
    }
    return st;
}

ExecStatus interp_exec(AccelVCPU *cpu, const CPUIOHandler *io, uint64_t budget,
                       uint64_t *done)
{
    uint64_t room = budget;
    ExecStatus st = EXEC_OK;

    while (room && !__atomic_load_n(&cpu->kicked, __ATOMIC_RELAXED)) {
        uint64_t chunk = MIN(room, KICK_CHECK_INTERVAL);
        uint64_t left = chunk;

        cpu->chunk_size = chunk;
        cpu->chunk_left = &left;
        while (left) {
            left--;
            st = exec_insn(cpu, io, &left);
            if (unlikely(st != EXEC_OK)) {
                if (st != EXEC_HALT) {
                    left++;     /* the faulting instruction did not retire */
                }
                break;
            }
        }
        cpu->chunk_left = NULL;
        room -= chunk - left;
        cpu->icount += chunk - left;
        if (st != EXEC_OK) {
            break;
        }
    }
    *done = budget - room;
    return st;
}
