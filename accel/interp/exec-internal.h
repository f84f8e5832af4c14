/*
 * Declarations shared by the executor's files: the one-byte dispatcher in
 * execute.c hands two-byte opcodes, string instructions and port I/O to
 * the files named below.
 */
#ifndef ACCEL_INTERP_EXEC_INTERNAL_H
#define ACCEL_INTERP_EXEC_INTERNAL_H

#include "decode.h"

/*
 * Record the bytes [@base, @end) of an instruction we cannot execute.  Every
 * executor file ends its unknown opcodes here, so it sits below them all.
 */
static inline ExecStatus exec_unsupported(AccelVCPU *cpu, const uint8_t *base,
                                          const uint8_t *end)
{
    size_t len = MIN((size_t)(end - base), sizeof(cpu->bad_bytes));

    memcpy(cpu->bad_bytes, base, len);
    cpu->bad_len = len;
    return EXEC_UNSUPPORTED;
}

/*
 * The 0x0f page; @p points after the 0x0f byte.  On EXEC_OK the
 * instruction is complete, cpu->eip included.
 */
ExecStatus exec_twobyte(AccelVCPU *cpu, const uint8_t *base, const uint8_t *p,
                        unsigned opsize);

/*
 * MOVS/STOS/LODS (@op 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad) with optional REP.
 * A REP runs at most 1 + *@left iterations, taking the extra ones off *@left
 * (each iteration counts as an instruction); EIP moves past the instruction
 * only once ECX reaches zero.
 */
ExecStatus exec_string(AccelVCPU *cpu, uint8_t op, unsigned opsize, bool rep,
                       uint32_t next_eip, uint64_t *left);

/* IN/OUT through the machine's handler; a missing handler reads all-ones. */
uint32_t exec_io_in(const CPUIOHandler *io, uint16_t port, unsigned size);
void exec_io_out(const CPUIOHandler *io, uint16_t port, unsigned size, uint32_t val);

/* CPUID leaf @leaf for vCPU @index into EAX, EBX, ECX, EDX. */
void exec_cpuid(AccelVCPU *cpu);

#endif
