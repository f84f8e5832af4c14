/*
 * The architectural state of one 32-bit x86 vCPU, shared by every
 * accelerator (kvm, interp) so that a guest saved under one loads under the
 * other.  This is what the "cpu" VMState section migrates.
 */
#ifndef SYSEMU_CPU_STATE_H
#define SYSEMU_CPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, CPU_NB_REGS };
enum { R_ES, R_CS, R_SS, R_DS, R_FS, R_GS, CPU_NB_SEGS };

/* A segment register with its hidden descriptor cache. */
typedef struct X86Segment {
    uint16_t selector;
    uint32_t base;
    uint32_t limit;
    uint32_t flags;     /* descriptor high dword bits 8..23: type, S, DPL, P, AVL, L, D/B, G */
} X86Segment;

typedef struct X86DescTable {
    uint32_t base;
    uint16_t limit;
} X86DescTable;

#define X86_FXSAVE_SIZE 512

typedef struct X86CPUState {
    uint32_t regs[CPU_NB_REGS];
    uint32_t eip;
    uint32_t eflags;
    X86Segment segs[CPU_NB_SEGS];
    X86Segment ldt;
    X86Segment tr;
    X86DescTable gdt;
    X86DescTable idt;
    uint64_t cr0, cr2, cr3, cr4;
    uint64_t efer;
    /* MSRs a 32-bit guest uses */
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t tsc;
    uint64_t pat;
    /* x87/SSE state in FXSAVE layout (the legacy area of XSAVE) */
    uint8_t fxsave[X86_FXSAVE_SIZE];
    bool halted;        /* executed HLT, waiting for an interrupt */
} X86CPUState;

/*
 * Reset @env to tern's documented entry state: 32-bit flat protected mode
 * (CS/DS/ES/SS/FS/GS base 0 limit 4 GiB), paging off, interrupts off,
 * EIP = @entry, ESP = @stack.
 */
void x86_cpu_state_reset(X86CPUState *env, uint32_t entry, uint32_t stack);

#endif
