/*
 * Single instructions and short sequences under the interpreter: results
 * and the arithmetic flags at their corner cases (carry, overflow, adjust,
 * parity, zero-count shifts), condition codes against flags computed here,
 * stack, string, I/O and system instructions, and self-modifying code.
 */
#include <glib.h>
#include <string.h>

#include "guest-vm.h"
#include "sysemu/interp.h"

#define RAM_SIZE (2 * 1024 * 1024)
#define STACK_TOP 0x80000u
#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define DF 0x400u
#define ARITH (CF | PF | AF | ZF | SF | OF)

typedef struct InsnCase {
    const char *name;
    const uint8_t *code;
    size_t len;
    uint32_t eax, ebx, ecx, edx, flags_in;
    uint32_t out_eax, out_edx;
    uint32_t flags_out, flags_mask;
} InsnCase;

#define CODE(s) .code = (const uint8_t *)(s), .len = sizeof(s) - 1

static const InsnCase cases[] = {
    { "add-of", CODE("\x01\xd8"), .eax = 0x7fffffff, .ebx = 1,
      .out_eax = 0x80000000, .flags_out = OF | SF | AF | PF, .flags_mask = ARITH },
    { "add-cf", CODE("\x01\xd8"), .eax = 0xffffffff, .ebx = 1,
      .out_eax = 0, .flags_out = CF | ZF | AF | PF, .flags_mask = ARITH },
    { "add8", CODE("\x00\xd8"), .eax = 0x80, .ebx = 0x80,
      .out_eax = 0, .flags_out = CF | OF | ZF | PF, .flags_mask = ARITH },
    { "add16", CODE("\x66\x01\xd8"), .eax = 0x12347fff, .ebx = 1,
      .out_eax = 0x12348000, .flags_out = OF | SF | AF | PF, .flags_mask = ARITH },
    { "sub-borrow", CODE("\x29\xd8"), .eax = 0, .ebx = 1,
      .out_eax = 0xffffffff, .flags_out = CF | SF | AF | PF, .flags_mask = ARITH },
    { "sub-of", CODE("\x29\xd8"), .eax = 0x80000000, .ebx = 1,
      .out_eax = 0x7fffffff, .flags_out = OF | AF | PF, .flags_mask = ARITH },
    { "cmp-eq", CODE("\x39\xd8"), .eax = 5, .ebx = 5,
      .out_eax = 5, .flags_out = ZF | PF, .flags_mask = ARITH },
    { "cmp8-imm", CODE("\x3c\x80"), .eax = 0x7f,
      .out_eax = 0x7f, .flags_out = CF | OF | SF | PF, .flags_mask = ARITH },
    { "sub-imm8-sext", CODE("\x83\xe8\x01"), .eax = 0,
      .out_eax = 0xffffffff, .flags_out = CF | SF | AF | PF, .flags_mask = ARITH },
    { "adc-carry-in", CODE("\x11\xd8"), .eax = 0xffffffff, .ebx = 0, .flags_in = CF,
      .out_eax = 0, .flags_out = CF | ZF | AF | PF, .flags_mask = ARITH },
    { "adc-no-carry", CODE("\x11\xd8"), .eax = 0xffffffff, .ebx = 0,
      .out_eax = 0xffffffff, .flags_out = SF | PF, .flags_mask = ARITH },
    { "sbb-borrow-in", CODE("\x19\xd8"), .eax = 0, .ebx = 0, .flags_in = CF,
      .out_eax = 0xffffffff, .flags_out = CF | SF | AF | PF, .flags_mask = ARITH },
    { "sbb-equal", CODE("\x19\xd8"), .eax = 5, .ebx = 5, .flags_in = CF,
      .out_eax = 0xffffffff, .flags_out = CF | SF | AF | PF, .flags_mask = ARITH },
    { "inc-of-keeps-cf", CODE("\x40"), .eax = 0x7fffffff, .flags_in = CF,
      .out_eax = 0x80000000, .flags_out = CF | OF | SF | AF | PF, .flags_mask = ARITH },
    { "inc-wrap", CODE("\x40"), .eax = 0xffffffff,
      .out_eax = 0, .flags_out = ZF | AF | PF, .flags_mask = ARITH },
    { "dec-of", CODE("\x48"), .eax = 0x80000000, .flags_in = CF,
      .out_eax = 0x7fffffff, .flags_out = CF | OF | AF | PF, .flags_mask = ARITH },
    { "dec-zero", CODE("\x48"), .eax = 1,
      .out_eax = 0, .flags_out = ZF | PF, .flags_mask = ARITH },
    { "inc8", CODE("\xfe\xc0"), .eax = 0x1ff,
      .out_eax = 0x100, .flags_out = ZF | AF | PF, .flags_mask = ARITH },
    { "neg-zero", CODE("\xf7\xd8"), .eax = 0,
      .out_eax = 0, .flags_out = ZF | PF, .flags_mask = ARITH },
    { "neg-min", CODE("\xf7\xd8"), .eax = 0x80000000,
      .out_eax = 0x80000000, .flags_out = CF | OF | SF | PF, .flags_mask = ARITH },
    { "neg-one", CODE("\xf7\xd8"), .eax = 1,
      .out_eax = 0xffffffff, .flags_out = CF | SF | AF | PF, .flags_mask = ARITH },
    { "not", CODE("\xf7\xd0"), .eax = 0x0f0f0f0f, .flags_in = CF | ZF,
      .out_eax = 0xf0f0f0f0, .flags_out = CF | ZF, .flags_mask = ARITH },
    { "shl1-cf-of", CODE("\xd1\xe0"), .eax = 0x80000000,
      .out_eax = 0, .flags_out = CF | ZF | PF | OF, .flags_mask = ARITH & ~AF },
    { "shl1-of", CODE("\xd1\xe0"), .eax = 0x40000000,
      .out_eax = 0x80000000, .flags_out = OF | SF | PF, .flags_mask = ARITH & ~AF },
    { "shr1-cf", CODE("\xd1\xe8"), .eax = 1,
      .out_eax = 0, .flags_out = CF | ZF | PF, .flags_mask = ARITH & ~AF },
    { "shr1-of", CODE("\xd1\xe8"), .eax = 0x80000000,
      .out_eax = 0x40000000, .flags_out = OF | PF, .flags_mask = ARITH & ~AF },
    { "sar1", CODE("\xd1\xf8"), .eax = 0x80000001,
      .out_eax = 0xc0000000, .flags_out = CF | SF | PF, .flags_mask = ARITH & ~AF },
    { "shl-cl0-keeps-flags", CODE("\xd3\xe0"), .eax = 0x1234, .ecx = 0, .flags_in = CF | ZF,
      .out_eax = 0x1234, .flags_out = CF | ZF, .flags_mask = ARITH },
    { "shl-imm4", CODE("\xc1\xe0\x04"), .eax = 0x12345678,
      .out_eax = 0x23456780, .flags_out = CF, .flags_mask = CF | ZF | SF | PF },
    { "shr8-cl", CODE("\xd2\xe8"), .eax = 0x81, .ecx = 1,
      .out_eax = 0x40, .flags_out = CF | OF, .flags_mask = CF | OF | ZF | SF },
    { "rol1", CODE("\xd1\xc0"), .eax = 0x80000000,
      .out_eax = 1, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "ror1", CODE("\xd1\xc8"), .eax = 1,
      .out_eax = 0x80000000, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "rol-keeps-zf", CODE("\xd1\xc0"), .eax = 1, .flags_in = ZF,
      .out_eax = 2, .flags_out = ZF, .flags_mask = CF | OF | ZF },
    { "rcl1", CODE("\xd1\xd0"), .eax = 0x80000000,
      .out_eax = 0, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "rcr1", CODE("\xd1\xd8"), .eax = 0, .flags_in = CF,
      .out_eax = 0x80000000, .flags_out = OF, .flags_mask = CF | OF },
    { "imul2-of", CODE("\x0f\xaf\xc3"), .eax = 0x10000, .ebx = 0x10000,
      .out_eax = 0, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "imul2", CODE("\x0f\xaf\xc3"), .eax = 3, .ebx = 4,
      .out_eax = 12, .flags_out = 0, .flags_mask = CF | OF },
    { "imul2-neg", CODE("\x0f\xaf\xc3"), .eax = (uint32_t)-3, .ebx = 4,
      .out_eax = (uint32_t)-12, .flags_out = 0, .flags_mask = CF | OF },
    { "imul3-imm8", CODE("\x6b\xc3\xfe"), .ebx = 5,
      .out_eax = (uint32_t)-10, .flags_out = 0, .flags_mask = CF | OF },
    { "imul3-imm32-of", CODE("\x69\xc3\x00\x00\x01\x00"), .ebx = 0x10000,
      .out_eax = 0, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "mul32", CODE("\xf7\xe3"), .eax = 0xffffffff, .ebx = 2,
      .out_eax = 0xfffffffe, .out_edx = 1, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "mul32-small", CODE("\xf7\xe3"), .eax = 3, .ebx = 4, .edx = 99,
      .out_eax = 12, .out_edx = 0, .flags_out = 0, .flags_mask = CF | OF },
    { "imul1", CODE("\xf7\xeb"), .eax = 0xffffffff, .ebx = 2,
      .out_eax = 0xfffffffe, .out_edx = 0xffffffff, .flags_out = 0, .flags_mask = CF | OF },
    { "mul8", CODE("\xf6\xe3"), .eax = 0x12340010, .ebx = 0x10,
      .out_eax = 0x12340100, .flags_out = CF | OF, .flags_mask = CF | OF },
    { "div32", CODE("\xf7\xf3"), .eax = 0, .edx = 1, .ebx = 2,
      .out_eax = 0x80000000, .out_edx = 0 },
    { "idiv32", CODE("\xf7\xfb"), .eax = (uint32_t)-7, .edx = 0xffffffff, .ebx = 2,
      .out_eax = (uint32_t)-3, .out_edx = 0xffffffff },
    { "div8", CODE("\xf6\xf3"), .eax = 0x0107, .ebx = 0x10,
      .out_eax = 0x0710 },
    { "and", CODE("\x21\xd8"), .eax = 0xf0f0, .ebx = 0x0ff0, .flags_in = CF | OF,
      .out_eax = 0x00f0, .flags_out = PF, .flags_mask = CF | OF | ZF | SF | PF },
    { "xor-self", CODE("\x31\xc0"), .eax = 1234,
      .out_eax = 0, .flags_out = ZF | PF, .flags_mask = CF | OF | ZF | SF | PF },
    { "test", CODE("\x85\xd8"), .eax = 0x80000000, .ebx = 0x80000000,
      .out_eax = 0x80000000, .flags_out = SF | PF, .flags_mask = CF | OF | ZF | SF | PF },
    { "or-imm-group1", CODE("\x81\xc8\x00\x00\x00\x80"), .eax = 1,
      .out_eax = 0x80000001, .flags_out = SF, .flags_mask = CF | OF | ZF | SF | PF },
    { "bswap", CODE("\x0f\xc8"), .eax = 0x12345678, .out_eax = 0x78563412 },
    { "cdq", CODE("\x99"), .eax = 0x80000000, .out_eax = 0x80000000, .out_edx = 0xffffffff },
    { "cwde", CODE("\x98"), .eax = 0xff80, .out_eax = 0xffffff80 },
    { "movzx8", CODE("\x0f\xb6\xc3"), .ebx = 0x1ff, .out_eax = 0xff },
    { "movsx8", CODE("\x0f\xbe\xc3"), .ebx = 0x1ff, .out_eax = 0xffffffff },
    { "movsx16", CODE("\x0f\xbf\xc3"), .ebx = 0x8000, .out_eax = 0xffff8000 },
    { "mov16-imm", CODE("\x66\xb8\x34\x12"), .eax = 0xffffffff, .out_eax = 0xffff1234 },
    { "mov-ah", CODE("\xb4\x12"), .eax = 0xffffffff, .out_eax = 0xffff12ff },
    { "add-ah-bh", CODE("\x00\xfc"), .eax = 0x0100, .ebx = 0x0200, .out_eax = 0x0300 },
    { "lea-sib", CODE("\x8d\x44\x93\x08"), .ebx = 0x100, .edx = 3,
      .out_eax = 0x114, .out_edx = 3 },
    { "xchg-eax-ebx", CODE("\x93"), .eax = 1, .ebx = 2, .out_eax = 2 },
    { "cmc", CODE("\xf5"), .flags_in = CF, .flags_out = 0, .flags_mask = CF },
    { "stc", CODE("\xf9"), .flags_out = CF, .flags_mask = CF },
};

static GuestVM *insn_vm_new(void)
{
    g_autoptr(GError) err = NULL;
    GuestVM *vm = guest_vm_new(RAM_SIZE, "idle", NULL, &err);

    g_assert_no_error(err);
    return vm;
}

static void set_regs(GuestVM *vm, const uint32_t regs[CPU_NB_REGS], uint32_t eflags)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    x86_cpu_state_reset(&env, GUEST_LOAD_ADDR, STACK_TOP);
    memcpy(env.regs, regs, sizeof(env.regs));
    env.regs[R_ESP] = STACK_TOP;
    env.eflags = eflags | 0x2;
    g_assert_true(accel_interp_ops.vcpu_set_state(vm->cpu, &env, &err));
}

static void get_state(GuestVM *vm, X86CPUState *env)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(accel_interp_ops.vcpu_get_state(vm->cpu, env, &err));
}

/* Load @code at the entry point and run @n instructions. */
static VCPUExit run_code(GuestVM *vm, const void *code, size_t len, uint64_t n,
                         const CPUIOHandler *io, GError **errp)
{
    memcpy(vm->rb.host + GUEST_LOAD_ADDR, code, len);
    return interp_run_for(vm->cpu, io ? io : &vm->io, n, NULL, errp);
}

static void test_insn_case(gconstpointer opaque)
{
    const InsnCase *c = opaque;
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = c->eax, [R_EBX] = c->ebx,
                                   [R_ECX] = c->ecx, [R_EDX] = c->edx };
    X86CPUState env;

    set_regs(vm, regs, c->flags_in);
    g_assert_cmpint(run_code(vm, c->code, c->len, 1, NULL, &err), ==, VCPU_EXIT_KICKED);
    g_assert_no_error(err);
    get_state(vm, &env);
    g_assert_cmphex(env.eip, ==, GUEST_LOAD_ADDR + c->len);
    g_assert_cmphex(env.regs[R_EAX], ==, c->out_eax);
    if (c->out_edx || c->code[0] == 0x99 || c->code[0] == 0xf7) {
        g_assert_cmphex(env.regs[R_EDX], ==, c->out_edx);
    }
    g_assert_cmphex(env.eflags & c->flags_mask, ==, c->flags_out);
}

/* Reference flags of SUB and ADD, computed independently of the interpreter. */
static uint32_t ref_flags(uint32_t a, uint32_t b, bool is_sub)
{
    uint32_t r = is_sub ? a - b : a + b;
    uint32_t f = 0;

    if (is_sub ? a < b : r < a) {
        f |= CF;
    }
    if (is_sub ? ((a ^ b) & (a ^ r)) >> 31 : (~(a ^ b) & (a ^ r)) >> 31) {
        f |= OF;
    }
    if (r == 0) {
        f |= ZF;
    }
    if (r >> 31) {
        f |= SF;
    }
    if (!__builtin_parity(r & 0xff)) {
        f |= PF;
    }
    return f;
}

static bool ref_cond(uint32_t f, unsigned cc)
{
    bool cf = f & CF, zf = f & ZF, sf = f & SF, of = f & OF, pf = f & PF;
    bool r[8] = { of, cf, zf, cf || zf, sf, pf, sf != of, zf || (sf != of) };

    return r[cc >> 1] ^ (cc & 1);
}

/* CMP/ADD then SETcc and Jcc, for every condition, against ref_flags. */
static void test_conditions(void)
{
    static const uint32_t vals[] = { 0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x80 };
    g_autoptr(GuestVM) vm = insn_vm_new();

    for (size_t i = 0; i < G_N_ELEMENTS(vals); i++) {
        for (size_t j = 0; j < G_N_ELEMENTS(vals); j++) {
            for (int is_sub = 0; is_sub < 2; is_sub++) {
                for (unsigned cc = 0; cc < 16; cc++) {
                    g_autoptr(GError) err = NULL;
                    /* cmp/add %ebx,%eax ; setcc %cl ; jcc +1 ; inc %edx */
                    uint8_t code[] = { is_sub ? 0x39 : 0x01, 0xd8, 0x0f, 0x90 + cc, 0xc1,
                                       0x70 + cc, 0x01, 0x42 };
                    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = vals[i], [R_EBX] = vals[j],
                                                   [R_ECX] = 0xaaaaaaaa };
                    bool expect = ref_cond(ref_flags(vals[i], vals[j], is_sub), cc);
                    X86CPUState env;

                    set_regs(vm, regs, 0);
                    run_code(vm, code, sizeof(code), 2, NULL, &err);
                    g_assert_no_error(err);
                    get_state(vm, &env);
                    g_assert_cmphex(env.regs[R_ECX], ==, 0xaaaaaa00u | expect);
                    g_assert_cmphex(env.eflags & (CF | OF | ZF | SF | PF), ==,
                                    ref_flags(vals[i], vals[j], is_sub));
                    interp_run_for(vm->cpu, &vm->io, 1, NULL, &err);
                    get_state(vm, &env);
                    /* A taken jump skips the inc. */
                    g_assert_cmphex(env.eip, ==, GUEST_LOAD_ADDR + 7 + expect);
                }
            }
        }
    }
}

static void test_cmov(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    /* cmp %ebx,%eax ; cmovl %edx,%ecx ; cmovg %ebx,%esi */
    static const uint8_t code[] = { 0x39, 0xd8, 0x0f, 0x4c, 0xca, 0x0f, 0x4f, 0xf3 };
    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = (uint32_t)-1, [R_EBX] = 1, [R_EDX] = 77,
                                   [R_ESI] = 5 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    run_code(vm, code, sizeof(code), 3, NULL, &err);
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_ECX], ==, 77);
    g_assert_cmpuint(env.regs[R_ESI], ==, 5);
}

static void test_stack_call_ret(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = {
        0x68, 0x44, 0x33, 0x22, 0x11,       /* push $0x11223344 */
        0x5b,                               /* pop %ebx */
        0x6a, 0xfe,                         /* push $-2 */
        0x8f, 0xc1,                         /* pop %ecx (8f /0) */
        0xe8, 0x01, 0x00, 0x00, 0x00,       /* call f */
        0xf4,                               /* hlt */
        0xb8, 0x07, 0x00, 0x00, 0x00,       /* f: mov $7,%eax */
        0xff, 0x74, 0x24, 0x00,             /* push 0(%esp) (ff /6) */
        0x5a,                               /* pop %edx */
        0xc3,                               /* ret */
    };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 100, NULL, &err), ==, VCPU_EXIT_HALT);
    get_state(vm, &env);
    g_assert_cmphex(env.regs[R_EBX], ==, 0x11223344);
    g_assert_cmphex(env.regs[R_ECX], ==, 0xfffffffe);
    g_assert_cmphex(env.regs[R_EAX], ==, 7);
    g_assert_cmphex(env.regs[R_EDX], ==, GUEST_LOAD_ADDR + 15);
    g_assert_cmphex(env.regs[R_ESP], ==, STACK_TOP);
    g_assert_cmphex(env.eip, ==, GUEST_LOAD_ADDR + 16);
}

static void test_indirect_jumps(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = {
        0xb8, 0x10, 0x00, 0x01, 0x00,       /* mov $0x10010,%eax */
        0xff, 0xd0,                         /* call *%eax */
        0xff, 0x25, 0x20, 0x00, 0x01, 0x00, /* jmp *0x10020 */
        0xf4, 0xf4, 0xf4,
        0xc2, 0x00, 0x00,                   /* 0x10010: ret $0 */
        0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
        0x24, 0x00, 0x01, 0x00,             /* 0x10020: .long 0x10024 */
        0x41, 0xf4,                         /* 0x10024: inc %ecx ; hlt */
    };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 100, NULL, &err), ==, VCPU_EXIT_HALT);
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_ECX], ==, 1);
    g_assert_cmphex(env.eip, ==, 0x10026);
}

static void test_pushf_popf(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = {
        0xf9,                               /* stc */
        0xfd,                               /* std */
        0x9c,                               /* pushf */
        0x58,                               /* pop %eax */
        0x68, 0xd4, 0x08, 0x00, 0x00,       /* push $0x8d4 (OF SF ZF AF PF, DF clear) */
        0x9d,                               /* popf */
    };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    run_code(vm, code, sizeof(code), 6, NULL, &err);
    get_state(vm, &env);
    g_assert_cmphex(env.regs[R_EAX] & (CF | DF | 0x2), ==, CF | DF | 0x2);
    g_assert_cmphex(env.eflags & (ARITH | DF), ==, 0x8d4 & (ARITH | DF));
}

static void test_rep_stos_interruptible(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = { 0xfc, 0xf3, 0xab, 0xf4 };    /* cld; rep stosl; hlt */
    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = 0xabcdef01, [R_ECX] = 10, [R_EDI] = 0x20000 };
    uint64_t done;
    X86CPUState env;

    set_regs(vm, regs, 0);
    memcpy(vm->rb.host + GUEST_LOAD_ADDR, code, sizeof(code));
    /* cld + 4 iterations: the REP stops midway with EIP on it. */
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 5, &done, &err), ==, VCPU_EXIT_KICKED);
    g_assert_cmpuint(done, ==, 5);
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_ECX], ==, 6);
    g_assert_cmphex(env.eip, ==, GUEST_LOAD_ADDR + 1);
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 100, &done, &err), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(done, ==, 7);
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_ECX], ==, 0);
    g_assert_cmphex(env.regs[R_EDI], ==, 0x20028);
    for (int i = 0; i < 10; i++) {
        g_assert_cmphex(GUINT32_FROM_LE(((uint32_t *)(vm->rb.host + 0x20000))[i]), ==,
                        0xabcdef01);
    }
    g_assert_cmphex(GUINT32_FROM_LE(((uint32_t *)(vm->rb.host + 0x20000))[10]), ==, 0);
    g_assert_true(guest_vm_page_is_dirty(vm, 0x20));
}

static void test_rep_movs_backwards(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = { 0xfd, 0xf3, 0xa4, 0xfc, 0xf4 };  /* std; rep movsb; cld; hlt */
    uint32_t regs[CPU_NB_REGS] = { [R_ECX] = 5, [R_ESI] = 0x30004, [R_EDI] = 0x31004 };
    X86CPUState env;

    memcpy(vm->rb.host + 0x30000, "hello", 5);
    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 100, NULL, &err), ==, VCPU_EXIT_HALT);
    g_assert_cmpmem(vm->rb.host + 0x31000, 5, "hello", 5);
    get_state(vm, &env);
    g_assert_cmphex(env.regs[R_ESI], ==, 0x2ffff);
    g_assert_false(env.eflags & DF);
}

static void test_loop(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    /* mov $5,%ecx ; 1: inc %eax ; loop 1b ; jecxz +1 ; hlt ; inc %ebx ; hlt */
    static const uint8_t code[] = { 0xb9, 0x05, 0x00, 0x00, 0x00, 0x40, 0xe2, 0xfd,
                                    0xe3, 0x01, 0xf4, 0x43, 0xf4 };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 100, NULL, &err), ==, VCPU_EXIT_HALT);
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_EAX], ==, 5);
    g_assert_cmpuint(env.regs[R_EBX], ==, 1);
}

typedef struct IOLog {
    uint16_t port[4];
    unsigned size[4];
    uint32_t value[4];
    unsigned n;
} IOLog;

static uint32_t log_pio_read(void *opaque, uint16_t port, unsigned size)
{
    return 0x12345678u + port;
}

static void log_pio_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    IOLog *log = opaque;

    g_assert_cmpuint(log->n, <, 4);
    log->port[log->n] = port;
    log->size[log->n] = size;
    log->value[log->n] = value;
    log->n++;
}

static void test_port_io(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    IOLog log = { 0 };
    CPUIOHandler io = { log_pio_read, log_pio_write, &log };
    static const uint8_t code[] = {
        0xe6, 0x80,                 /* out %al,$0x80 */
        0x66, 0xef,                 /* out %ax,(%dx) */
        0xef,                       /* out %eax,(%dx) */
        0xec,                       /* in (%dx),%al */
        0xe5, 0x10,                 /* in $0x10,%eax */
        0x89, 0xc3,                 /* mov %eax,%ebx */
        0x66, 0xed,                 /* in (%dx),%ax */
    };
    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = 0xaabbccdd, [R_EDX] = 0x3f8 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    run_code(vm, code, sizeof(code), 7, &io, &err);
    g_assert_cmpuint(log.n, ==, 3);
    g_assert_cmpuint(log.port[0], ==, 0x80);
    g_assert_cmpuint(log.size[0], ==, 1);
    g_assert_cmphex(log.value[0], ==, 0xdd);
    g_assert_cmpuint(log.size[1], ==, 2);
    g_assert_cmphex(log.value[1], ==, 0xccdd);
    g_assert_cmpuint(log.port[2], ==, 0x3f8);
    g_assert_cmphex(log.value[2], ==, 0xaabbccdd);
    get_state(vm, &env);
    g_assert_cmphex(env.regs[R_EBX], ==, 0x12345688);
    g_assert_cmphex(env.regs[R_EAX], ==, 0x12345a70);     /* AX from port 0x3f8 */
}

static void test_cpuid_rdtsc(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    /* cpuid ; rdtsc ; mov %eax,%esi ; nop ; rdtsc */
    static const uint8_t code[] = { 0x0f, 0xa2, 0x0f, 0x31, 0x89, 0xc6, 0x90, 0x0f, 0x31 };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;
    char vendor[13] = { 0 };

    set_regs(vm, regs, 0);
    run_code(vm, code, 2, 1, NULL, &err);
    get_state(vm, &env);
    memcpy(vendor, &env.regs[R_EBX], 4);
    memcpy(vendor + 4, &env.regs[R_EDX], 4);
    memcpy(vendor + 8, &env.regs[R_ECX], 4);
    g_assert_cmpstr(vendor, ==, "TernInterpVM");
    g_assert_cmpuint(env.regs[R_EAX], >=, 1);
    run_code(vm, code, sizeof(code), 4, NULL, &err);
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_EAX] - env.regs[R_ESI], ==, 3);
}

static void test_self_modifying(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    /* movb $0x42, 0x10008 ; mov $0,%eax (its immediate is at 0x10008) */
    static const uint8_t code[] = { 0xc6, 0x05, 0x08, 0x00, 0x01, 0x00, 0x42,
                                    0xb8, 0x00, 0x00, 0x00, 0x00 };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;

    set_regs(vm, regs, 0);
    for (int round = 0; round < 2; round++) {
        guest_vm_dirty_clear(vm);
        set_regs(vm, regs, 0);
        run_code(vm, code, sizeof(code), 2, NULL, &err);
        g_assert_no_error(err);
        get_state(vm, &env);
        g_assert_cmphex(env.regs[R_EAX], ==, 0x42);
        g_assert_true(guest_vm_page_is_dirty(vm, GUEST_LOAD_ADDR >> 12));
    }
}

static void test_divide_error(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = { 0xf7, 0xf3 };   /* div %ebx, EBX = 0 */
    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = 1 };

    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 1, NULL, &err), ==, VCPU_EXIT_ERROR);
    g_assert_cmpstr(err->message, ==,
                    "divide error at EIP 0x00010000 (exceptions are not delivered)");
}

static void test_xchg_mem(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = { 0x87, 0x03 };   /* xchg %eax,(%ebx) */
    uint32_t regs[CPU_NB_REGS] = { [R_EAX] = 0x11111111, [R_EBX] = 0x40000 };
    X86CPUState env;
    uint32_t v = GUINT32_TO_LE(0x22222222);

    memcpy(vm->rb.host + 0x40000, &v, 4);
    set_regs(vm, regs, 0);
    run_code(vm, code, sizeof(code), 1, NULL, &err);
    get_state(vm, &env);
    g_assert_cmphex(env.regs[R_EAX], ==, 0x22222222);
    memcpy(&v, vm->rb.host + 0x40000, 4);
    g_assert_cmphex(GUINT32_FROM_LE(v), ==, 0x11111111);
}

static void test_unsupported_group(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = { 0x90, 0xff, 0xf8 };     /* nop ; ff /7 */
    uint32_t regs[CPU_NB_REGS] = { 0 };

    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 5, NULL, &err), ==, VCPU_EXIT_ERROR);
    g_assert_cmpstr(err->message, ==, "unsupported instruction ff f8 at EIP 0x00010001");
}

static void test_too_many_prefixes(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x90 };
    uint32_t regs[CPU_NB_REGS] = { 0 };

    set_regs(vm, regs, 0);
    g_assert_cmpint(run_code(vm, code, sizeof(code), 5, NULL, &err), ==, VCPU_EXIT_ERROR);
    g_assert_cmpstr(err->message, ==,
                    "unsupported instruction 66 66 66 66 66 at EIP 0x00010000");
}

/* Code in the last bytes of RAM goes through the careful fetch path. */
static void test_code_at_end_of_ram(void)
{
    g_autoptr(GuestVM) vm = insn_vm_new();
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = {
        0xe9, 0xf5, 0xff, 0x1e, 0x00,           /* jmp RAM_SIZE - 6 */
    };
    static const uint8_t tail[] = { 0x90, 0x40, 0x40, 0x43, 0xeb, 0x00 };
    uint32_t regs[CPU_NB_REGS] = { 0 };
    X86CPUState env;

    memcpy(vm->rb.host + RAM_SIZE - sizeof(tail), tail, sizeof(tail));
    set_regs(vm, regs, 0);
    /* jmp, nop, inc, inc, inc %ebx, jmp to RAM_SIZE: fetch fault. */
    g_assert_cmpint(run_code(vm, code, sizeof(code), 10, NULL, &err), ==, VCPU_EXIT_ERROR);
    g_assert_cmpstr(err->message, ==, "instruction fetch outside RAM at EIP 0x00200000");
    get_state(vm, &env);
    g_assert_cmpuint(env.regs[R_EAX], ==, 2);
    g_assert_cmpuint(env.regs[R_EBX], ==, 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/interp/insn/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_insn_case);
    }
    g_test_add_func("/interp/insn/conditions", test_conditions);
    g_test_add_func("/interp/insn/cmov", test_cmov);
    g_test_add_func("/interp/insn/stack-call-ret", test_stack_call_ret);
    g_test_add_func("/interp/insn/indirect-jumps", test_indirect_jumps);
    g_test_add_func("/interp/insn/pushf-popf", test_pushf_popf);
    g_test_add_func("/interp/insn/rep-stos-interruptible", test_rep_stos_interruptible);
    g_test_add_func("/interp/insn/rep-movs-backwards", test_rep_movs_backwards);
    g_test_add_func("/interp/insn/loop", test_loop);
    g_test_add_func("/interp/insn/port-io", test_port_io);
    g_test_add_func("/interp/insn/cpuid-rdtsc", test_cpuid_rdtsc);
    g_test_add_func("/interp/insn/self-modifying", test_self_modifying);
    g_test_add_func("/interp/insn/divide-error", test_divide_error);
    g_test_add_func("/interp/insn/xchg-mem", test_xchg_mem);
    g_test_add_func("/interp/insn/unsupported-group", test_unsupported_group);
    g_test_add_func("/interp/insn/too-many-prefixes", test_too_many_prefixes);
    g_test_add_func("/interp/insn/code-at-end-of-ram", test_code_at_end_of_ram);
    return g_test_run();
}
