/*
 * Unit tests for the KVM accelerator (accel/kvm): tiny 32-bit guests held
 * as byte arrays run over hand-made RAMBlocks, checking port I/O dispatch,
 * HLT, error exits, state round trips, dirty logging and kicks.  Every test
 * skips, saying why, where /dev/kvm is unusable.
 */
#include "sysemu/accel-ops.h"
#include "qemu/error.h"
#include "test-accel.h"
#include "kvm-int.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#define RAM0_SIZE   (1024 * 1024)       /* "pc.ram" at guest 0 */
#define RAM1_ADDR   0x200000u
#define RAM1_SIZE   (64 * 1024)         /* "extra" at guest 2 MiB */
#define CODE_ADDR   0x1000u
#define STACK_ADDR  0x8000u
#define TEST_PORT   0x3f8
#define IN_VALUE    0x5a

typedef struct PioAccess {
    uint16_t port;
    unsigned size;
    uint32_t value;
    bool write;
} PioAccess;

typedef struct TestVM {
    RAMBlock blocks[2];
    GPtrArray *ram;             /* RAMBlock *, borrowed from blocks[] */
    AccelState *s;
    AccelVCPU *cpu;
    GArray *pio;                /* PioAccess */
    CPUIOHandler io;
    unsigned kick_at;           /* kick the vCPU from inside this access (1-based), 0 = never */
} TestVM;

/*
 * Port I/O, several sizes and a string OUT; increments in three pages; an IN
 * stored to a fourth; a byte to the second RAM block; HLT.
 */
static const uint8_t guest_io_and_writes[] = {
    0xb0, 0x41,                                 /* mov al, 'A' */
    0x66, 0xba, 0xf8, 0x03,                     /* mov dx, 0x3f8 */
    0xee,                                       /* out dx, al */
    0x66, 0xb8, 0x34, 0x12,                     /* mov ax, 0x1234 */
    0x66, 0xef,                                 /* out dx, ax */
    0xb8, 0x78, 0x56, 0x34, 0x12,               /* mov eax, 0x12345678 */
    0xef,                                       /* out dx, eax */
    0xbe, 0x00, 0x11, 0x00, 0x00,               /* mov esi, 0x1100 ("xyz") */
    0xb9, 0x03, 0x00, 0x00, 0x00,               /* mov ecx, 3 */
    0xf3, 0x6e,                                 /* rep outsb */
    0xfe, 0x05, 0x00, 0x00, 0x01, 0x00,         /* inc byte [0x10000] */
    0xfe, 0x05, 0x00, 0x10, 0x01, 0x00,         /* inc byte [0x11000] */
    0xfe, 0x05, 0x00, 0x30, 0x01, 0x00,         /* inc byte [0x13000] */
    0xec,                                       /* in al, dx */
    0xa2, 0x00, 0x40, 0x01, 0x00,               /* mov [0x14000], al */
    0xc6, 0x05, 0x00, 0x30, 0x20, 0x00, 0x07,   /* mov byte [0x203000], 7 */
    0xf4,                                       /* hlt */
};
#define GUEST_STRING_ADDR 0x1100u
#define GUEST_IN_ACCESS   7                 /* the IN is the 7th port access */
#define GUEST_AFTER_IN    (CODE_ADDR + 50)  /* EIP after "in al, dx" */

/* Pages of pc.ram / extra that guest_io_and_writes writes. */
static const unsigned guest_dirty_ram0[] = { 0x10, 0x11, 0x13, 0x14 };
static const unsigned guest_dirty_ram1[] = { 0x3 };

static const uint8_t guest_loop[] = {
    0xff, 0x05, 0x00, 0x00, 0x01, 0x00,         /* inc dword [0x10000] */
    0xeb, 0xf8,                                 /* jmp back */
};
#define LOOP_COUNTER_ADDR 0x10000u

static const uint8_t guest_mmio_read[] = {
    0xa0, 0x00, 0x00, 0x00, 0xf0,               /* mov al, [0xf0000000] */
    0xf4,
};

static const uint8_t guest_mmio_write[] = {
    0xc6, 0x05, 0x04, 0x00, 0x00, 0xf0, 0x01,   /* mov byte [0xf0000004], 1 */
    0xf4,
};

static const uint8_t guest_ud2[] = { 0x0f, 0x0b };

static uint32_t test_pio_read(void *opaque, uint16_t port, unsigned size)
{
    TestVM *vm = opaque;
    PioAccess a = { .port = port, .size = size, .value = IN_VALUE, .write = false };

    g_array_append_val(vm->pio, a);
    if (vm->pio->len == vm->kick_at) {
        accel_kvm_ops.vcpu_kick(vm->cpu);
    }
    return IN_VALUE;
}

static void test_pio_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    TestVM *vm = opaque;
    PioAccess a = { .port = port, .size = size, .value = value, .write = true };

    g_array_append_val(vm->pio, a);
    if (vm->pio->len == vm->kick_at) {
        accel_kvm_ops.vcpu_kick(vm->cpu);
    }
}

/* True if KVM is usable; otherwise marks the test skipped with the reason. */
static bool kvm_usable(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *why = NULL;

    if (accel_kvm_ops.available(&err)) {
        return true;
    }
    why = g_strdup_printf("KVM unusable: %s", err->message);
    g_test_skip(why);
    return false;
}

static void test_block_init(RAMBlock *rb, const char *id, uint64_t addr, uint64_t size)
{
    void *host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert(host != MAP_FAILED);
    *rb = (RAMBlock){ .idstr = g_strdup(id), .host = host, .used_length = size,
                      .guest_addr = addr, .page_size = getpagesize(), .fd = -1 };
}

/* A VM with two RAM blocks and one vCPU about to run @code at CODE_ADDR. */
static TestVM *test_vm_new(const uint8_t *code, size_t len)
{
    TestVM *vm = g_new0(TestVM, 1);
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    test_block_init(&vm->blocks[0], "pc.ram", 0, RAM0_SIZE);
    test_block_init(&vm->blocks[1], "extra", RAM1_ADDR, RAM1_SIZE);
    vm->ram = g_ptr_array_new();
    g_ptr_array_add(vm->ram, &vm->blocks[0]);
    g_ptr_array_add(vm->ram, &vm->blocks[1]);
    memcpy(vm->blocks[0].host + CODE_ADDR, code, len);
    memcpy(vm->blocks[0].host + GUEST_STRING_ADDR, "xyz", 3);
    vm->pio = g_array_new(FALSE, TRUE, sizeof(PioAccess));
    vm->io = (CPUIOHandler){ test_pio_read, test_pio_write, vm };

    vm->s = accel_kvm_ops.vm_new(vm->ram, &err);
    g_assert_no_error(err);
    vm->cpu = accel_kvm_ops.vcpu_new(vm->s, 0, &err);
    g_assert_no_error(err);
    x86_cpu_state_reset(&env, CODE_ADDR, STACK_ADDR);
    g_assert_true(accel_kvm_ops.vcpu_set_state(vm->cpu, &env, &err));
    g_assert_no_error(err);
    return vm;
}

static void test_vm_free(TestVM *vm)
{
    accel_kvm_ops.vcpu_free(vm->cpu);
    accel_kvm_ops.vm_free(vm->s);
    for (int i = 0; i < 2; i++) {
        munmap(vm->blocks[i].host, vm->blocks[i].used_length);
        g_free(vm->blocks[i].idstr);
    }
    g_ptr_array_free(vm->ram, TRUE);
    g_array_free(vm->pio, TRUE);
    g_free(vm);
}

/* Point EIP back at CODE_ADDR, keeping everything else. */
static void test_vm_restart(TestVM *vm)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    x86_cpu_state_reset(&env, CODE_ADDR, STACK_ADDR);
    g_assert_true(accel_kvm_ops.vcpu_set_state(vm->cpu, &env, &err));
    g_assert_no_error(err);
}

static VCPUExit test_vm_run(TestVM *vm, GError **errp)
{
    return accel_kvm_ops.vcpu_run(vm->cpu, &vm->io, errp);
}

static void test_open_error(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(kvm_device_open("/nonexistent/kvm", &err), <, 0);
    g_assert_error(err, TERN_ERROR, TERN_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==,
                    "Could not access KVM kernel module: No such file or directory");
}

static void test_missing_cap(void)
{
    static const KVMCapability caps[] = {
        { "KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY },
        { "KVM_CAP_IMAGINARY", 0x7fffffff },
    };
    g_autoptr(GError) err = NULL;
    int fd;

    if (!kvm_usable()) {
        return;
    }
    fd = kvm_device_open("/dev/kvm", &err);
    g_assert_no_error(err);
    g_assert_false(kvm_check_caps(fd, caps, G_N_ELEMENTS(caps), &err));
    g_assert_error(err, TERN_ERROR, TERN_ERROR_KVM_MISSING_CAP);
    g_assert_cmpstr(err->message, ==, "kvm does not support KVM_CAP_IMAGINARY");
    g_assert_cmpstr(tern_error_class_name(err), ==, "KVMMissingCap");
    close(fd);
}

static void test_bad_ramblock(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) ram = g_ptr_array_new();
    RAMBlock rb;

    if (!kvm_usable()) {
        return;
    }
    test_block_init(&rb, "odd", 0, 2 * TARGET_PAGE_SIZE);
    rb.used_length = TARGET_PAGE_SIZE + 1;
    g_ptr_array_add(ram, &rb);
    g_assert_null(accel_kvm_ops.vm_new(ram, &err));
    g_assert_nonnull(strstr(err->message, "'odd'"));
    munmap(rb.host, 2 * TARGET_PAGE_SIZE);
    g_free(rb.idstr);
}

/* A 4 GiB block covers KVM's reserved pages: it is mapped up to them. */
static void test_ramblock_4g(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) ram = g_ptr_array_new();
    AccelState *s;
    RAMBlock rb;

    if (!kvm_usable()) {
        return;
    }
    test_block_init(&rb, "pc.ram", 0, 4ull << 30);
    g_ptr_array_add(ram, &rb);
    s = accel_kvm_ops.vm_new(ram, &err);
    g_assert_no_error(err);
    accel_kvm_ops.vm_free(s);

    /* A block starting inside the reserved pages cannot be mapped. */
    rb.guest_addr = 0xfffbd000ull;
    rb.used_length = TARGET_PAGE_SIZE;
    g_assert_null(accel_kvm_ops.vm_new(ram, &err));
    g_assert_nonnull(strstr(err->message, "reserved pages"));
    munmap(rb.host, 4ull << 30);
    g_free(rb.idstr);
}

static void test_check_pio(const TestVM *vm)
{
    static const PioAccess expected[] = {
        { TEST_PORT, 1, 'A', true }, { TEST_PORT, 2, 0x1234, true },
        { TEST_PORT, 4, 0x12345678, true }, { TEST_PORT, 1, 'x', true },
        { TEST_PORT, 1, 'y', true }, { TEST_PORT, 1, 'z', true },
        { TEST_PORT, 1, IN_VALUE, false },
    };

    g_assert_cmpuint(vm->pio->len, ==, G_N_ELEMENTS(expected));
    for (unsigned i = 0; i < vm->pio->len; i++) {
        const PioAccess *a = &g_array_index(vm->pio, PioAccess, i);

        g_assert_cmpuint(a->port, ==, expected[i].port);
        g_assert_cmpuint(a->size, ==, expected[i].size);
        g_assert_cmpuint(a->value, ==, expected[i].value);
        g_assert_cmpint(a->write, ==, expected[i].write);
    }
}

static void test_pio_and_halt(void)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_io_and_writes, sizeof(guest_io_and_writes));
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    g_assert_no_error(err);
    test_check_pio(vm);
    g_assert_cmpuint(vm->blocks[0].host[0x10000], ==, 1);
    g_assert_cmpuint(vm->blocks[0].host[0x11000], ==, 1);
    g_assert_cmpuint(vm->blocks[0].host[0x13000], ==, 1);
    g_assert_cmpuint(vm->blocks[0].host[0x14000], ==, IN_VALUE);
    g_assert_cmpuint(vm->blocks[1].host[0x3000], ==, 7);

    /* Halted after the HLT, and it stays halted: no interrupt can come. */
    g_assert_true(accel_kvm_ops.vcpu_get_state(vm->cpu, &env, &err));
    g_assert_true(env.halted);
    g_assert_cmpuint(env.eip, ==, CODE_ADDR + sizeof(guest_io_and_writes));
    g_assert_cmpuint(env.regs[R_EAX] & 0xff, ==, IN_VALUE);
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(vm->pio->len, ==, 7);
    test_vm_free(vm);
}

/* Run @code to an error; check the message mentions each of @needles. */
static void test_run_to_error(const uint8_t *code, size_t len, const char *const *needles)
{
    g_autoptr(GError) err = NULL;
    TestVM *vm = test_vm_new(code, len);

    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_ERROR);
    g_assert_nonnull(err);
    g_test_message("error: %s", err->message);
    for (; *needles; needles++) {
        g_assert_nonnull(strstr(err->message, *needles));
    }
    test_vm_free(vm);
}

/*
 * A kick that arrives while an IN is handled: KVM_RUN completes the IN
 * before it honours the kick, so the state read then is consistent (AL
 * loaded, EIP past the IN) -- what migration needs.
 */
static void test_kick_during_io(void)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_io_and_writes, sizeof(guest_io_and_writes));
    vm->kick_at = GUEST_IN_ACCESS;
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_KICKED);
    g_assert_no_error(err);
    g_assert_cmpuint(vm->pio->len, ==, GUEST_IN_ACCESS);
    g_assert_true(accel_kvm_ops.vcpu_get_state(vm->cpu, &env, &err));
    g_assert_cmphex(env.eip, ==, GUEST_AFTER_IN);
    g_assert_cmphex(env.regs[R_EAX] & 0xff, ==, IN_VALUE);
    g_assert_false(env.halted);

    /* Putting the same state back and resuming finishes the program. */
    g_assert_true(accel_kvm_ops.vcpu_set_state(vm->cpu, &env, &err));
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    g_assert_no_error(err);
    test_check_pio(vm);
    g_assert_cmpuint(vm->blocks[0].host[0x14000], ==, IN_VALUE);
    test_vm_free(vm);
}

static void test_mmio_error(void)
{
    static const char *const read_needles[] = {
        "read of 1 bytes", "0xf0000000", "at EIP 0x00001000", NULL
    };
    static const char *const write_needles[] = {
        "write of 1 bytes", "0xf0000004", "just before EIP 0x00001007", NULL
    };

    if (!kvm_usable()) {
        return;
    }
    test_run_to_error(guest_mmio_read, sizeof(guest_mmio_read), read_needles);
    test_run_to_error(guest_mmio_write, sizeof(guest_mmio_write), write_needles);
}

static void test_triple_fault(void)
{
    /* #UD with an empty IDT escalates to a triple fault. */
    static const char *const needles[] = { "EIP", NULL };

    if (!kvm_usable()) {
        return;
    }
    test_run_to_error(guest_ud2, sizeof(guest_ud2), needles);
}

/* A state with a distinct, valid value in every field KVM keeps. */
static void test_state_fill(X86CPUState *env)
{
    static const uint32_t data_flags = 0x00c0f300u;     /* G, B, P, DPL 3, S, rw accessed */

    x86_cpu_state_reset(env, 0x12345, 0x7ff0);
    for (int i = 0; i < CPU_NB_REGS; i++) {
        env->regs[i] = 0x11111111u * (i + 1);
    }
    env->eip = 0x0040abcd;
    env->eflags = 0x000008d7;           /* OF SF ZF AF PF CF + reserved bit 1 */
    for (int i = 0; i < CPU_NB_SEGS; i++) {
        env->segs[i] = (X86Segment){ .selector = 0x23 + 8 * i, .base = 0x1000u * (i + 1),
                                     .limit = 0xfffff, .flags = data_flags & ~(1u << 23) };
    }
    env->segs[R_CS] = (X86Segment){ .selector = 0x1b, .base = 0x100000, .limit = 0xffffffffu,
                                    .flags = 0x00c0fb00u };
    env->segs[R_SS].flags = data_flags;
    env->segs[R_SS].limit = 0xffffffffu;
    env->ldt = (X86Segment){ .selector = 0x50, .base = 0x6000, .limit = 0x7f, .flags = 0x8200 };
    env->tr = (X86Segment){ .selector = 0x58, .base = 0x7000, .limit = 0x67, .flags = 0x8b00 };
    env->gdt = (X86DescTable){ .base = 0x2000, .limit = 0x5f };
    env->idt = (X86DescTable){ .base = 0x3000, .limit = 0x7ff };
    env->cr0 = 0x00050033;              /* AM WP NE ET MP PE (tern's guests do not page) */
    env->cr2 = 0xdeadb000;
    env->cr3 = 0x00345000;
    env->cr4 = 0x00000690;              /* OSXMMEXCPT OSFXSR PGE PSE */
    env->efer = 0x800;                  /* NXE */
    env->sysenter_cs = 0x10;
    env->sysenter_esp = 0x8000;
    env->sysenter_eip = 0x9abc;
    env->tsc = 1000000000ull;
    env->pat = 0x0007010600070106ull;
    env->halted = true;
    /* FCW FSW FTW FOP FIP FDP MXCSR, then ST0-7 and XMM0-15. */
    memcpy(env->fxsave + 0, &(uint16_t){ 0x027f }, 2);
    memcpy(env->fxsave + 2, &(uint16_t){ 0x3800 }, 2);
    env->fxsave[4] = 0x81;
    memcpy(env->fxsave + 6, &(uint16_t){ 0x01d9 }, 2);
    memcpy(env->fxsave + 8, &(uint64_t){ 0x12345678 }, 8);
    memcpy(env->fxsave + 16, &(uint64_t){ 0x9abcdef0 }, 8);
    memcpy(env->fxsave + 24, &(uint32_t){ 0x7fc0 }, 4);
    for (int i = 32; i < 160; i += 16) {
        for (int j = 0; j < 10; j++) {
            env->fxsave[i + j] = (uint8_t)(i + j * 7 + 1);
        }
    }
    for (int i = 160; i < 416; i++) {
        env->fxsave[i] = (uint8_t)(i * 13 + 5);
    }
}

/*
 * The TSC keeps counting from the value set.  The nested kvm_pvm ignores
 * TSC writes (the guest sees the host's TSC); accept that, loudly.
 */
static void test_check_tsc(uint64_t set, uint64_t got)
{
    const uint64_t slack = 1000000000000ull;    /* minutes, at any clock rate */
    uint64_t host = __rdtsc();

    if (got >= set && got - set < slack) {
        return;
    }
    g_test_message("KVM ignored the TSC write: set %" G_GUINT64_FORMAT ", got %"
                   G_GUINT64_FORMAT " (host %" G_GUINT64_FORMAT ")", set, got, host);
    g_assert_cmpuint(got, <=, host);
    g_assert_cmpuint(host - got, <, slack);
}

static void test_state_compare(const X86CPUState *a, const X86CPUState *b)
{
    g_assert_cmpmem(a->regs, sizeof(a->regs), b->regs, sizeof(b->regs));
    g_assert_cmphex(a->eip, ==, b->eip);
    g_assert_cmphex(a->eflags, ==, b->eflags);
    for (int i = 0; i < CPU_NB_SEGS; i++) {
        g_assert_cmphex(a->segs[i].selector, ==, b->segs[i].selector);
        g_assert_cmphex(a->segs[i].base, ==, b->segs[i].base);
        g_assert_cmphex(a->segs[i].limit, ==, b->segs[i].limit);
        g_assert_cmphex(a->segs[i].flags, ==, b->segs[i].flags);
    }
    g_assert_cmpmem(&a->ldt, sizeof(a->ldt), &b->ldt, sizeof(b->ldt));
    g_assert_cmpmem(&a->tr, sizeof(a->tr), &b->tr, sizeof(b->tr));
    g_assert_cmphex(a->gdt.base, ==, b->gdt.base);
    g_assert_cmphex(a->gdt.limit, ==, b->gdt.limit);
    g_assert_cmphex(a->idt.base, ==, b->idt.base);
    g_assert_cmphex(a->idt.limit, ==, b->idt.limit);
    g_assert_cmphex(a->cr0, ==, b->cr0);
    g_assert_cmphex(a->cr2, ==, b->cr2);
    g_assert_cmphex(a->cr3, ==, b->cr3);
    g_assert_cmphex(a->cr4, ==, b->cr4);
    g_assert_cmphex(a->efer, ==, b->efer);
    g_assert_cmphex(a->sysenter_cs, ==, b->sysenter_cs);
    g_assert_cmphex(a->sysenter_esp, ==, b->sysenter_esp);
    g_assert_cmphex(a->sysenter_eip, ==, b->sysenter_eip);
    g_assert_cmphex(a->pat, ==, b->pat);
    test_check_tsc(a->tsc, b->tsc);
    g_assert_cmpint(a->halted, ==, b->halted);
    /* x87 and SSE, except MXCSR_MASK (bytes 28..31), which the CPU dictates. */
    g_assert_cmpmem(a->fxsave, 28, b->fxsave, 28);
    g_assert_cmpmem(a->fxsave + 32, 416 - 32, b->fxsave + 32, 416 - 32);
}

static void test_state_round_trip_one(TestVM *vm)
{
    g_autoptr(GError) err = NULL;
    X86CPUState in, out;

    test_state_fill(&in);
    g_assert_true(accel_kvm_ops.vcpu_set_state(vm->cpu, &in, &err));
    g_assert_no_error(err);
    g_assert_true(accel_kvm_ops.vcpu_get_state(vm->cpu, &out, &err));
    g_assert_no_error(err);
    test_state_compare(&in, &out);

    /* A halted vCPU stays halted: vcpu_run reports it without running. */
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    g_assert_no_error(err);
}

static void test_state_round_trip(void)
{
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_loop, sizeof(guest_loop));
    test_state_round_trip_one(vm);
    test_vm_free(vm);
}

/*
 * The KVM_GET/SET_FPU fallback: the layout conversion always, the ioctls
 * only where XSAVE is missing (with XSAVE, KVM_SET_FPU does not mark the x87
 * and SSE components in use, so it is not a path we take there).
 */
static void test_state_fpu_fallback(void)
{
    X86CPUState in, out;
    struct kvm_fpu fpu;
    TestVM *vm;

    test_state_fill(&in);
    kvm_fpu_from_fxsave(&fpu, in.fxsave);
    g_assert_cmphex(fpu.fcw, ==, 0x027f);
    g_assert_cmphex(fpu.fsw, ==, 0x3800);
    g_assert_cmphex(fpu.ftwx, ==, 0x81);
    g_assert_cmphex(fpu.last_opcode, ==, 0x01d9);
    g_assert_cmphex(fpu.last_ip, ==, 0x12345678);
    g_assert_cmphex(fpu.last_dp, ==, 0x9abcdef0);
    g_assert_cmphex(fpu.mxcsr, ==, 0x7fc0);
    g_assert_cmpmem(fpu.fpr, sizeof(fpu.fpr), in.fxsave + 32, 128);
    g_assert_cmpmem(fpu.xmm, sizeof(fpu.xmm), in.fxsave + 160, 256);
    kvm_fpu_to_fxsave(out.fxsave, &fpu);
    g_assert_cmpmem(in.fxsave, 28, out.fxsave, 28);
    g_assert_cmpmem(in.fxsave + 32, 416 - 32, out.fxsave + 32, 416 - 32);

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_loop, sizeof(guest_loop));
    if (vm->s->has_xsave) {
        g_test_message("KVM has XSAVE: KVM_GET/SET_FPU not exercised");
    } else {
        test_state_round_trip_one(vm);
    }
    test_vm_free(vm);
}

static unsigned long *test_bitmap_new(const RAMBlock *rb)
{
    const size_t long_bits = 8 * sizeof(unsigned long);

    return g_new0(unsigned long, (ramblock_pages(rb) + long_bits - 1) / long_bits);
}

/* Sync @rb's log and check it holds exactly @pages. */
static void test_check_dirty(TestVM *vm, RAMBlock *rb, const unsigned *pages, size_t n)
{
    g_autoptr(GError) err = NULL;
    g_autofree unsigned long *bmap = test_bitmap_new(rb);
    const size_t long_bits = 8 * sizeof(unsigned long);
    size_t expected = 0;

    g_assert_true(accel_kvm_ops.dirty_log_sync(vm->s, rb, bmap, &err));
    g_assert_no_error(err);
    for (uint64_t page = 0; page < ramblock_pages(rb); page++) {
        bool dirty = bmap[page / long_bits] & (1ul << (page % long_bits));
        bool want = false;

        for (size_t i = 0; i < n; i++) {
            want |= pages[i] == page;
        }
        if (dirty != want) {
            g_test_message("%s page 0x%" G_GINT64_MODIFIER "x: dirty %d, expected %d",
                           rb->idstr, page, dirty, want);
        }
        g_assert_cmpint(dirty, ==, want);
        expected += want;
    }
    g_assert_cmpuint(expected, ==, n);
}

/* Start, run, sync exactly the written pages, sync nothing, again; stop. */
static void test_dirty_log_on(TestVM *vm)
{
    g_autoptr(GError) err = NULL;
    g_autofree unsigned long *bmap = test_bitmap_new(&vm->blocks[0]);

    g_assert_false(accel_kvm_ops.dirty_log_sync(vm->s, &vm->blocks[0], bmap, &err));
    g_assert_nonnull(strstr(err->message, "not active"));
    g_clear_error(&err);

    g_assert_true(accel_kvm_ops.dirty_log_start(vm->s, &err));
    g_assert_no_error(err);
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    test_check_dirty(vm, &vm->blocks[0], guest_dirty_ram0, G_N_ELEMENTS(guest_dirty_ram0));
    test_check_dirty(vm, &vm->blocks[1], guest_dirty_ram1, G_N_ELEMENTS(guest_dirty_ram1));

    /* Nothing written since: both empty. */
    test_check_dirty(vm, &vm->blocks[0], NULL, 0);
    test_check_dirty(vm, &vm->blocks[1], NULL, 0);

    /* The same pages again: the sync re-protected them. */
    test_vm_restart(vm);
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(vm->blocks[0].host[0x10000], ==, 2);
    test_check_dirty(vm, &vm->blocks[0], guest_dirty_ram0, G_N_ELEMENTS(guest_dirty_ram0));
    test_check_dirty(vm, &vm->blocks[1], guest_dirty_ram1, G_N_ELEMENTS(guest_dirty_ram1));

    accel_kvm_ops.dirty_log_stop(vm->s);
    g_assert_false(accel_kvm_ops.dirty_log_sync(vm->s, &vm->blocks[0], bmap, &err));
    g_clear_error(&err);

    /* Restarting logging starts from a clean log. */
    test_vm_restart(vm);
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_HALT);
    g_assert_true(accel_kvm_ops.dirty_log_start(vm->s, &err));
    test_check_dirty(vm, &vm->blocks[0], NULL, 0);
    accel_kvm_ops.dirty_log_stop(vm->s);
}

static void test_dirty_log(void)
{
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_io_and_writes, sizeof(guest_io_and_writes));
    test_dirty_log_on(vm);
    test_vm_free(vm);
}

/* The same without manual protect, where KVM_GET_DIRTY_LOG clears the log itself. */
static void test_dirty_log_no_manual_protect(void)
{
    struct kvm_enable_cap off = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_io_and_writes, sizeof(guest_io_and_writes));
    if (vm->s->manual_protect) {
        g_assert_cmpint(ioctl(vm->s->vm_fd, KVM_ENABLE_CAP, &off), ==, 0);
        vm->s->manual_protect = false;
    }
    test_dirty_log_on(vm);
    test_vm_free(vm);
}

/* vcpu_run on a thread of its own, so the test thread can kick it. */
typedef struct RunThread {
    TestVM *vm;
    GThread *thread;
    VCPUExit exit;
    GError *err;
    gint64 returned_at;
    GMutex lock;
    GCond cond;
    gint done;                  /* atomic; lock + cond only to wait for it */
} RunThread;

static gpointer test_run_thread(gpointer opaque)
{
    RunThread *t = opaque;

    t->exit = test_vm_run(t->vm, &t->err);
    t->returned_at = g_get_monotonic_time();
    g_mutex_lock(&t->lock);
    g_atomic_int_set(&t->done, 1);
    g_cond_signal(&t->cond);
    g_mutex_unlock(&t->lock);
    return NULL;
}

static void test_run_thread_start(RunThread *t, TestVM *vm)
{
    *t = (RunThread){ .vm = vm };
    g_mutex_init(&t->lock);
    g_cond_init(&t->cond);
    t->thread = g_thread_new("vcpu", test_run_thread, t);
}

/* Wait for vcpu_run to return KICKED; a lost kick fails here rather than hanging. */
static void test_run_thread_finish(RunThread *t)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    bool done;

    g_mutex_lock(&t->lock);
    while (!g_atomic_int_get(&t->done) && g_cond_wait_until(&t->cond, &t->lock, deadline)) {
    }
    done = g_atomic_int_get(&t->done);
    g_mutex_unlock(&t->lock);
    if (!done) {
        g_error("vcpu_run did not return within 60 s of the kick");
    }
    g_thread_join(t->thread);
    g_mutex_clear(&t->lock);
    g_cond_clear(&t->cond);
    g_assert_no_error(t->err);
    g_assert_cmpint(t->exit, ==, VCPU_EXIT_KICKED);
}

static uint32_t test_loop_counter(TestVM *vm)
{
    uint32_t v;

    memcpy(&v, vm->blocks[0].host + LOOP_COUNTER_ADDR, 4);
    return v;
}

/*
 * Run the endless loop on another thread until its counter passes @after
 * (the guest runs: how soon is up to the scheduler), kick, return the kick
 * latency (us).
 */
static gint64 test_run_and_kick(TestVM *vm, uint32_t after)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    RunThread t;
    gint64 kicked_at;

    test_run_thread_start(&t, vm);
    while (test_loop_counter(vm) <= after) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the guest loop did not run within 60 s");
        }
        g_usleep(1000);
    }
    kicked_at = g_get_monotonic_time();
    accel_kvm_ops.vcpu_kick(vm->cpu);
    test_run_thread_finish(&t);
    return t.returned_at - kicked_at;
}

static void test_kick(void)
{
    g_autoptr(GError) err = NULL;
    gint64 start, latency;
    uint32_t count1, count2;
    X86CPUState env;
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_loop, sizeof(guest_loop));

    /* A kick before vcpu_run is not lost. */
    accel_kvm_ops.vcpu_kick(vm->cpu);
    g_assert_cmpint(test_vm_run(vm, &err), ==, VCPU_EXIT_KICKED);
    g_assert_cmpuint(test_loop_counter(vm), ==, 0);

    /* A kick while the guest loops forever; the rate of the loop. */
    start = g_get_monotonic_time();
    latency = test_run_and_kick(vm, 0);
    count1 = test_loop_counter(vm);
    g_assert_cmpuint(count1, >, 0);
    /* A figure, not an oracle: a lost kick fails test_run_thread_finish(). */
    g_test_message("kick latency %" G_GINT64_FORMAT " us; inc/jmp loop: %.2f M instructions/s",
                   latency, 2.0 * count1 / (g_get_monotonic_time() - start));

    /* The kick was consumed: the guest resumes where it stopped. */
    g_assert_true(accel_kvm_ops.vcpu_get_state(vm->cpu, &env, &err));
    g_assert_false(env.halted);
    test_run_and_kick(vm, count1);
    count2 = test_loop_counter(vm);
    g_assert_cmpuint(count2, >, count1);
    test_vm_free(vm);
}

/* Kicks aimed at the moment vcpu_run starts: none may be lost. */
static void test_kick_race(void)
{
    TestVM *vm;

    if (!kvm_usable()) {
        return;
    }
    vm = test_vm_new(guest_loop, sizeof(guest_loop));
    for (int i = 0; i < 200; i++) {
        RunThread t;

        test_run_thread_start(&t, vm);
        if (i % 4) {
            g_usleep(g_random_int_range(0, 300));
        }
        accel_kvm_ops.vcpu_kick(vm->cpu);
        test_run_thread_finish(&t);
    }
    test_vm_free(vm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The one case that needs no /dev/kvm; the rest run from test-kvm-kvm. */
    if (test_accel_selected(false)) {
        g_test_add_func("/kvm/open-error", test_open_error);
    }
    if (!test_accel_selected(true)) {
        return g_test_run();
    }
    g_test_add_func("/kvm/missing-cap", test_missing_cap);
    g_test_add_func("/kvm/bad-ramblock", test_bad_ramblock);
    g_test_add_func("/kvm/ramblock-4g", test_ramblock_4g);
    g_test_add_func("/kvm/pio-and-halt", test_pio_and_halt);
    g_test_add_func("/kvm/kick-during-io", test_kick_during_io);
    g_test_add_func("/kvm/mmio-error", test_mmio_error);
    g_test_add_func("/kvm/triple-fault", test_triple_fault);
    g_test_add_func("/kvm/state-round-trip", test_state_round_trip);
    g_test_add_func("/kvm/state-fpu-fallback", test_state_fpu_fallback);
    g_test_add_func("/kvm/dirty-log", test_dirty_log);
    g_test_add_func("/kvm/dirty-log-no-manual-protect", test_dirty_log_no_manual_protect);
    g_test_add_func("/kvm/kick", test_kick);
    g_test_add_func("/kvm/kick-race", test_kick_race);
    return g_test_run();
}
