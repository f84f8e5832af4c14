/*
 * Private state of the interp accelerator: the VM (guest RAM as host
 * pointers) and the vCPU (registers, lazy flags, the last fault).  Shared by
 * the decoder, the executor and the AccelOps glue; nothing outside
 * accel/interp includes it.
 */
#ifndef ACCEL_INTERP_INTERNAL_H
#define ACCEL_INTERP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "sysemu/accel-ops.h"
#include "sysemu/interp.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* One guest RAM range as the interpreter sees it. */
typedef struct InterpRAM {
    uint64_t base;              /* guest-physical */
    uint64_t size;
    uint8_t *host;
    unsigned long *dirty;       /* the RAMBlock's dirty_log */
} InterpRAM;

struct AccelState {
    /* The block at guest-physical 0 (main RAM): the inlined fast path. */
    uint8_t *ram_host;
    uint64_t ram_size;
    unsigned long *ram_dirty;
    /* Every block, main RAM included, for the out-of-line path. */
    InterpRAM *blocks;
    unsigned n_blocks;
};

/*
 * Lazy flags: arithmetic records its operands and result, and the six
 * arithmetic flags are computed only when something reads them.
 */
typedef enum CCOp {
    CC_OP_EFLAGS,   /* flags are in cc_res as EFLAGS bits */
    CC_OP_ADD,      /* res = a + b */
    CC_OP_ADC,      /* res = a + b + c */
    CC_OP_SUB,      /* res = a - b (also CMP, NEG with a = 0) */
    CC_OP_SBB,      /* res = a - b - c */
    CC_OP_LOGIC,    /* CF = OF = 0 */
    CC_OP_INC,      /* res = a + 1 (b = 1), CF kept in c */
    CC_OP_DEC,      /* res = a - 1 (b = 1), CF kept in c */
    CC_OP_CO,       /* shifts, multiply: CF = c, OF = b, AF = 0 */
} CCOp;

/* What stopped the executor; the glue turns it into a VCPUExit + message. */
typedef enum ExecStatus {
    EXEC_OK,
    EXEC_HALT,
    EXEC_FAULT,         /* access outside RAM: fault_addr/fault_size */
    EXEC_UNSUPPORTED,   /* bad_bytes/bad_len */
    EXEC_DIVIDE_ERROR,  /* #DE: no exceptions are delivered */
} ExecStatus;

struct AccelVCPU {
    AccelState *vm;
    int index;

    uint32_t regs[CPU_NB_REGS];
    uint32_t eip;
    uint32_t eflags;            /* every bit but the arithmetic ones */
    CCOp cc_op;
    unsigned cc_size;           /* operand bytes: 1, 2, 4 */
    uint32_t cc_res, cc_a, cc_b, cc_c;

    uint64_t icount;            /* instructions retired before this chunk, for RDTSC */
    /* The executor's current chunk: retired in it = chunk_size - *chunk_left - 1. */
    uint64_t chunk_size;
    const uint64_t *chunk_left;
    uint64_t tsc_offset;        /* TSC = tsc_offset + icount */

    /* State the interpreter keeps but does not use (flat mode assumed). */
    X86CPUState env;

    int kicked;                 /* atomic: set by vcpu_kick, any thread */

    /*
     * The dirty limit's budget (AccelOps.vcpu_dirty_budget); the vCPU's
     * thread only.  dl_budget 0: not counting.  dl_seen has a bit per page
     * of main RAM this vCPU stored to in the current period.
     */
    uint64_t dl_budget;
    uint64_t dl_pages;          /* new pages counted since the last collect */
    unsigned long *dl_seen;

    /* Details of the last non-OK ExecStatus. */
    uint32_t fault_addr;
    unsigned fault_size;
    bool fault_is_fetch;
    uint8_t bad_bytes[16];
    unsigned bad_len;
};

#define EFLAGS_CF  0x0001u
#define EFLAGS_PF  0x0004u
#define EFLAGS_AF  0x0010u
#define EFLAGS_ZF  0x0040u
#define EFLAGS_SF  0x0080u
#define EFLAGS_TF  0x0100u
#define EFLAGS_IF  0x0200u
#define EFLAGS_DF  0x0400u
#define EFLAGS_OF  0x0800u
#define EFLAGS_ARITH (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)
/* Bits POPF may change at CPL 0 in our model (no VM86, no AC/ID games). */
#define EFLAGS_POPF_MASK (EFLAGS_ARITH | EFLAGS_TF | EFLAGS_IF | EFLAGS_DF | 0x3000u | 0x4000u | \
                          0x40000u | 0x200000u)
#define EFLAGS_FIXED1 0x0002u

/*
 * Execute up to @budget instructions; returns why it stopped and stores the
 * number retired in *@done.  Stops early (EXEC_OK) when cpu->kicked is seen.
 */
ExecStatus interp_exec(AccelVCPU *cpu, const CPUIOHandler *io, uint64_t budget,
                       uint64_t *done);

#endif
