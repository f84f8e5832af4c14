/*
 * String instructions (MOVS, STOS, LODS with optional REP) and port I/O.
 * A REP instruction is interruptible between iterations, like on hardware:
 * ESI/EDI/ECX always describe the work left, so a kick or the instruction
 * budget can stop it midway and the next run resumes it.
 */
#include "flags.h"
#include "exec-internal.h"

uint32_t exec_io_in(const CPUIOHandler *io, uint16_t port, unsigned size)
{
    if (!io || !io->pio_read) {
        return cc_mask(size);
    }
    return io->pio_read(io->opaque, port, size) & cc_mask(size);
}

void exec_io_out(const CPUIOHandler *io, uint16_t port, unsigned size, uint32_t val)
{
    if (io && io->pio_write) {
        io->pio_write(io->opaque, port, size, val & cc_mask(size));
    }
}

/* One iteration; false on a memory fault (registers untouched then). */
static bool string_step(AccelVCPU *cpu, uint8_t op, unsigned size, uint32_t delta)
{
    uint32_t v;

    switch (op) {
    case 0xa4:
    case 0xa5:
        if (!mem_read(cpu, cpu->regs[R_ESI], size, &v) ||
            !mem_write(cpu, cpu->regs[R_EDI], size, v)) {
            return false;
        }
        cpu->regs[R_ESI] += delta;
        cpu->regs[R_EDI] += delta;
        return true;
    case 0xaa:
    case 0xab:
        if (!mem_write(cpu, cpu->regs[R_EDI], size, cpu->regs[R_EAX])) {
            return false;
        }
        cpu->regs[R_EDI] += delta;
        return true;
    default:    /* LODS */
        if (!mem_read(cpu, cpu->regs[R_ESI], size, &v)) {
            return false;
        }
        switch (size) {
        case 1:
            cpu->regs[R_EAX] = (cpu->regs[R_EAX] & ~0xffu) | v;
            break;
        case 2:
            cpu->regs[R_EAX] = (cpu->regs[R_EAX] & ~0xffffu) | v;
            break;
        default:
            cpu->regs[R_EAX] = v;
            break;
        }
        cpu->regs[R_ESI] += delta;
        return true;
    }
}

ExecStatus exec_string(AccelVCPU *cpu, uint8_t op, unsigned opsize, bool rep,
                       uint32_t next_eip, uint64_t *left)
{
    unsigned size = (op & 1) ? opsize : 1;
    uint32_t delta = (cpu->eflags & EFLAGS_DF) ? -size : size;

    if (!rep) {
        if (!string_step(cpu, op, size, delta)) {
            return EXEC_FAULT;
        }
        cpu->eip = next_eip;
        return EXEC_OK;
    }
    /* This call already counted one instruction; the rest come off *left. */
    for (bool first = true; cpu->regs[R_ECX]; first = false) {
        if (!first) {
            if (!*left) {
                return EXEC_OK;     /* budget spent: resume here next time */
            }
            (*left)--;
        }
        if (!string_step(cpu, op, size, delta)) {
            return EXEC_FAULT;
        }
        cpu->regs[R_ECX]--;
    }
    cpu->eip = next_eip;
    return EXEC_OK;
}
