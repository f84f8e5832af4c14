/*
 * The interp accelerator running the real guest programs: a-b's serial
 * output and page pattern, exact dirty logging, determinism, errors for
 * unsupported instructions and stray accesses, HLT, kicks from another
 * thread, CPU state round trips, and the fill pattern.
 */
#include <glib.h>
#include <string.h>

#include "guest-blobs.h"
#include "guest-vm.h"
#include "sysemu/interp.h"

#define RAM_SIZE (128 * 1024 * 1024)
#define MiB (1024 * 1024)

static GuestParams params_range(uint32_t start, uint32_t end)
{
    return (GuestParams){ .magic = GUEST_PARAMS_MAGIC, .ram_size_lo = RAM_SIZE,
                          .start = start, .end = end, .seed = 1 };
}

static GuestVM *vm_new_or_die(const char *guest, const GuestParams *params)
{
    g_autoptr(GError) err = NULL;
    GuestVM *vm = guest_vm_new(RAM_SIZE, guest, params, &err);

    g_assert_no_error(err);
    return vm;
}

static void run_insns(GuestVM *vm, uint64_t n)
{
    g_autoptr(GError) err = NULL;
    uint64_t done = 0;
    VCPUExit ex = interp_run_for(vm->cpu, &vm->io, n, &done, &err);

    g_assert_no_error(err);
    g_assert_cmpint(ex, ==, VCPU_EXIT_KICKED);
    g_assert_cmpuint(done, ==, n);
}

/*
 * The a-b invariant on [first, first + n) pages: every first byte equals the
 * first page's, or is exactly one less from some page on.
 */
static void assert_ab_pattern(GuestVM *vm, uint64_t first, uint64_t n)
{
    uint8_t top = guest_vm_page_byte(vm, first);
    bool stepped = false;

    for (uint64_t i = first; i < first + n; i++) {
        uint8_t b = guest_vm_page_byte(vm, i);

        if (b == top && !stepped) {
            continue;
        }
        if (!stepped && b == (uint8_t)(top - 1)) {
            stepped = true;
            continue;
        }
        g_assert_cmpuint(b, ==, (uint8_t)(top - 1));
    }
}

static void test_ab_default_range(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", NULL);
    g_autofree char *serial = NULL;
    uint64_t pages = (GUEST_DEFAULT_END - GUEST_DEFAULT_START) / TARGET_PAGE_SIZE;

    /* Zeroing + 64 sweeps at 4 instructions a page, with some to spare. */
    run_insns(vm, (64 + 2) * pages * 4);
    serial = guest_vm_serial(vm);
    g_assert_cmpuint(strlen(serial), >=, 2);
    g_assert_cmpint(serial[0], ==, 'A');
    for (size_t i = 1; serial[i]; i++) {
        g_assert_cmpint(serial[i], ==, 'B');
    }
    assert_ab_pattern(vm, GUEST_DEFAULT_START / TARGET_PAGE_SIZE, pages);
    /* The page just past the range is never touched. */
    g_assert_cmpuint(guest_vm_page_byte(vm, GUEST_DEFAULT_END / TARGET_PAGE_SIZE), ==, 0);
}

static void test_ab_pattern_midsweep(void)
{
    GuestParams p = params_range(MiB, 3 * MiB);
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", &p);
    uint64_t first = MiB / TARGET_PAGE_SIZE, n = 2 * MiB / TARGET_PAGE_SIZE;

    /* Stop at several points inside a sweep; the invariant holds at each. */
    for (int i = 0; i < 50; i++) {
        run_insns(vm, 997);
        assert_ab_pattern(vm, first, n);
    }
    g_assert_cmpuint(guest_vm_page_byte(vm, first - 1), ==, 0);
    g_assert_cmpuint(guest_vm_page_byte(vm, first + n), ==, 0);
}

static void test_ab_serial_param_range(void)
{
    GuestParams p = params_range(MiB, 2 * MiB);
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", &p);
    g_autofree char *serial = NULL;

    /* 256 pages, 4 instructions each (+4 a sweep): 640 sweeps make 10 'B's. */
    run_insns(vm, 256 * 4 * 64 * 10 + 20000);
    serial = guest_vm_serial(vm);
    g_assert_cmpstr(serial, ==, "ABBBBBBBBBB");
}

static void test_ab_end_clamped_to_ram(void)
{
    GuestParams p = params_range(RAM_SIZE - 2 * TARGET_PAGE_SIZE, 0xfffff000u);
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", &p);

    run_insns(vm, 100000);
    /* Written (its value after so many sweeps may be anything, 0 too). */
    g_assert_true(guest_vm_page_is_dirty(vm, RAM_SIZE / TARGET_PAGE_SIZE - 1));
}

/* After a clear, the dirty log holds exactly the pages a-b incremented. */
static void test_dirty_log_exact(void)
{
    GuestParams p = params_range(MiB, 2 * MiB);
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", &p);
    uint64_t first = MiB / TARGET_PAGE_SIZE, n = 256;
    uint8_t before[256];
    static const uint64_t windows[] = { 1, 333, 700, 1024, 1500, 5000 };

    run_insns(vm, 5000);
    for (size_t w = 0; w < G_N_ELEMENTS(windows); w++) {
        guest_vm_dirty_clear(vm);
        for (uint64_t i = 0; i < n; i++) {
            before[i] = guest_vm_page_byte(vm, first + i);
        }
        run_insns(vm, windows[w]);
        for (uint64_t page = 0; page < RAM_SIZE / TARGET_PAGE_SIZE; page++) {
            bool in_range = page >= first && page < first + n;
            bool changed = in_range && guest_vm_page_byte(vm, page) != before[page - first];

            /* Under 256 sweeps, a written page always has a new value. */
            g_assert_cmpint(guest_vm_page_is_dirty(vm, page), ==, changed);
        }
    }
}

static void state_get(GuestVM *vm, X86CPUState *env)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(accel_interp_ops.vcpu_get_state(vm->cpu, env, &err));
    g_assert_no_error(err);
}

static void assert_same_state(const X86CPUState *a, const X86CPUState *b)
{
    g_assert_cmpmem(a->regs, sizeof(a->regs), b->regs, sizeof(b->regs));
    g_assert_cmphex(a->eip, ==, b->eip);
    g_assert_cmphex(a->eflags, ==, b->eflags);
    g_assert_cmpuint(a->tsc, ==, b->tsc);
    g_assert_cmpint(a->halted, ==, b->halted);
}

/* Same program, same count, in different slices: same memory and state. */
static void test_determinism(void)
{
    GuestParams p = params_range(MiB, 2 * MiB);
    p.seed = 7;
    p.flags = GUEST_FLAG_FILL_THEN_AB;
    g_autoptr(GuestVM) a = vm_new_or_die("fill", &p);
    g_autoptr(GuestVM) b = vm_new_or_die("fill", &p);
    X86CPUState sa, sb;
    uint64_t total = 3500017;     /* fill (3.4 M) then a-b */

    run_insns(a, total);
    for (uint64_t left = total; left;) {
        uint64_t n = MIN(left, 12345);
        run_insns(b, n);
        left -= n;
    }
    g_assert_true(memcmp(a->rb.host, b->rb.host, RAM_SIZE) == 0);
    state_get(a, &sa);
    state_get(b, &sb);
    assert_same_state(&sa, &sb);
}

static void test_unsupported_opcode(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("bad-opcode", NULL);
    const GuestBlob *blob = guest_blob_find("bad-opcode");
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;
    g_autofree char *serial = NULL;
    g_autofree char *expect = NULL;
    const uint8_t *ud2 = memmem(blob->data, blob->size, "\x0f\x0b", 2);
    uint32_t eip = GUEST_LOAD_ADDR + (uint32_t)(ud2 - blob->data);
    X86CPUState env;
    uint64_t done;

    g_assert_nonnull(ud2);
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 1000, &done, &err), ==,
                    VCPU_EXIT_ERROR);
    expect = g_strdup_printf("unsupported instruction 0f 0b at EIP 0x%08x", eip);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, expect);
    serial = guest_vm_serial(vm);
    g_assert_cmpstr(serial, ==, "A");
    state_get(vm, &env);
    g_assert_cmphex(env.eip, ==, eip);
    /* Never skipped: running again stops at the same place. */
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 1000, &done, &err2), ==,
                    VCPU_EXIT_ERROR);
    g_assert_cmpuint(done, ==, 0);
    g_assert_cmpstr(err2->message, ==, expect);
}

static void load_code(GuestVM *vm, const uint8_t *code, size_t len)
{
    memcpy(vm->rb.host + GUEST_LOAD_ADDR, code, len);
}

static void test_access_outside_ram(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("idle", NULL);
    g_autoptr(GError) err = NULL;
    /* mov %eax, 0x20000000 ; a store 384 MiB past the end of RAM */
    static const uint8_t code[] = { 0xa3, 0x00, 0x00, 0x00, 0x20 };
    X86CPUState env;

    load_code(vm, code, sizeof(code));
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 10, NULL, &err), ==, VCPU_EXIT_ERROR);
    g_assert_cmpstr(err->message, ==,
                    "memory access outside RAM at address 0x20000000 (4 bytes) "
                    "at EIP 0x00010000");
    state_get(vm, &env);
    g_assert_cmphex(env.eip, ==, GUEST_LOAD_ADDR);
}

static void test_fetch_outside_ram(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("idle", NULL);
    g_autoptr(GError) err = NULL;
    /* jmp *%eax with EAX past the end of RAM */
    static const uint8_t code[] = { 0xb8, 0x00, 0x00, 0x00, 0x40, 0xff, 0xe0 };

    load_code(vm, code, sizeof(code));
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 10, NULL, &err), ==, VCPU_EXIT_ERROR);
    g_assert_cmpstr(err->message, ==, "instruction fetch outside RAM at EIP 0x40000000");
}

static void test_idle_halts(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("idle", NULL);
    g_autoptr(GError) err = NULL;
    X86CPUState env;
    uint64_t done;

    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 1000, &done, &err), ==, VCPU_EXIT_HALT);
    g_assert_no_error(err);
    state_get(vm, &env);
    g_assert_true(env.halted);
    g_assert_false(env.eflags & 0x200);
    /* No interrupt ever comes: it stays halted. */
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 1000, &done, &err), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(done, ==, 0);
    /* vcpu_run also reports the halt. */
    g_assert_cmpint(accel_interp_ops.vcpu_run(vm->cpu, &vm->io, &err), ==, VCPU_EXIT_HALT);
}

typedef struct KickCtx {
    GuestVM *vm;
    VCPUExit exit;
    gint64 returned_at;
    gint returned;              /* atomic */
} KickCtx;

static gpointer kick_thread(gpointer opaque)
{
    KickCtx *ctx = opaque;
    g_autoptr(GError) err = NULL;

    ctx->exit = accel_interp_ops.vcpu_run(ctx->vm->cpu, &ctx->vm->io, &err);
    ctx->returned_at = g_get_monotonic_time();
    g_atomic_int_set(&ctx->returned, 1);
    return NULL;
}

/* Wait (at most @timeout_s, or the test fails) until @cond_fn holds. */
static void kick_wait(gboolean (*cond_fn)(KickCtx *), KickCtx *ctx,
                      int timeout_s, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;

    while (!cond_fn(ctx)) {
        if (g_get_monotonic_time() > deadline) {
            g_error("%s within %d s", what, timeout_s);
        }
        g_usleep(1000);
    }
}

static gboolean kick_guest_started(KickCtx *ctx)
{
    g_autofree char *serial = guest_vm_serial(ctx->vm);

    return serial[0] == 'A';
}

static gboolean kick_vcpu_returned(KickCtx *ctx)
{
    return g_atomic_int_get(&ctx->returned);
}

static void test_kick_from_thread(void)
{
    GuestParams p = params_range(MiB, 9 * MiB);
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", &p);
    KickCtx ctx = { .vm = vm };
    GThread *t;
    gint64 kicked_at;

    t = g_thread_new("vcpu", kick_thread, &ctx);
    /* Kick a guest that runs (its 'A' is out), however soon that is. */
    kick_wait(kick_guest_started, &ctx, 60, "the guest did not print 'A'");
    kicked_at = g_get_monotonic_time();
    accel_interp_ops.vcpu_kick(vm->cpu);
    /* A lost kick never returns; how fast it returns is up to the
     * scheduler (typically microseconds), so it is a figure only. */
    kick_wait(kick_vcpu_returned, &ctx, 60, "vcpu_run did not return");
    g_thread_join(t);
    g_assert_cmpint(ctx.exit, ==, VCPU_EXIT_KICKED);
    g_test_message("kick latency %" G_GINT64_FORMAT " us",
                   ctx.returned_at - kicked_at);
    /* The kick was consumed: the next run makes progress. */
    run_insns(vm, 1000);
}

static void test_kick_before_run(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("a-b", NULL);
    g_autoptr(GError) err = NULL;
    uint64_t done = 1;

    accel_interp_ops.vcpu_kick(vm->cpu);
    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 100, &done, &err), ==,
                    VCPU_EXIT_KICKED);
    g_assert_cmpuint(done, ==, 0);
    run_insns(vm, 100);
}

static void test_state_roundtrip(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("idle", NULL);
    g_autoptr(GError) err = NULL;
    X86CPUState in, out;

    x86_cpu_state_reset(&in, 0x12345, 0x8000);
    for (int i = 0; i < CPU_NB_REGS; i++) {
        in.regs[i] = 0x11111111u * (i + 1);
    }
    in.eflags = 0x2 | 0x1 | 0x4 | 0x40 | 0x80 | 0x400 | 0x800 | 0x200;
    in.tsc = 123456789;
    in.cr3 = 0x5000;
    in.sysenter_esp = 0xdeadbeef;
    in.fxsave[100] = 0x5a;
    g_assert_true(accel_interp_ops.vcpu_set_state(vm->cpu, &in, &err));
    g_assert_no_error(err);
    state_get(vm, &out);
    assert_same_state(&in, &out);
    g_assert_cmpmem(in.segs, sizeof(in.segs), out.segs, sizeof(out.segs));
    g_assert_cmpuint(out.cr3, ==, in.cr3);
    g_assert_cmpuint(out.sysenter_esp, ==, in.sysenter_esp);
    g_assert_cmpmem(in.fxsave, sizeof(in.fxsave), out.fxsave, sizeof(out.fxsave));
}

static void test_state_rejects_paging(void)
{
    g_autoptr(GuestVM) vm = vm_new_or_die("idle", NULL);
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    x86_cpu_state_reset(&env, GUEST_ENTRY, GUEST_STACK_TOP);
    env.cr0 |= 1u << 31;
    g_assert_false(accel_interp_ops.vcpu_set_state(vm->cpu, &env, &err));
    g_assert_nonnull(strstr(err->message, "paging"));
}

/* State + memory moved to a fresh vCPU continue exactly like the original. */
static void test_state_migrates(void)
{
    GuestParams p = params_range(MiB, 3 * MiB);
    g_autoptr(GuestVM) src = vm_new_or_die("a-b", &p);
    g_autoptr(GuestVM) ref = vm_new_or_die("a-b", &p);
    g_autoptr(GuestVM) dst = vm_new_or_die("idle", NULL);
    g_autoptr(GError) err = NULL;
    X86CPUState env, e1, e2;

    run_insns(src, 123457);
    run_insns(ref, 123457);
    state_get(src, &env);
    memcpy(dst->rb.host, src->rb.host, RAM_SIZE);
    g_assert_true(accel_interp_ops.vcpu_set_state(dst->cpu, &env, &err));
    g_assert_no_error(err);
    run_insns(dst, 200003);
    run_insns(ref, 200003);
    g_assert_true(memcmp(dst->rb.host, ref->rb.host, RAM_SIZE) == 0);
    state_get(dst, &e1);
    state_get(ref, &e2);
    assert_same_state(&e1, &e2);
}

static uint32_t xorshift32(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static void test_fill(void)
{
    GuestParams p = params_range(MiB, 2 * MiB);
    p.seed = 0xc0ffee;
    g_autoptr(GuestVM) vm = vm_new_or_die("fill", &p);
    g_autoptr(GError) err = NULL;
    uint32_t x = p.seed;
    g_autofree char *serial = NULL;

    g_assert_cmpint(interp_run_for(vm->cpu, &vm->io, 10000000, NULL, &err), ==,
                    VCPU_EXIT_HALT);
    for (uint32_t a = MiB; a < 2 * MiB; a += 4) {
        uint32_t v;

        x = xorshift32(x);
        memcpy(&v, vm->rb.host + a, 4);
        g_assert_cmphex(GUINT32_FROM_LE(v), ==, x);
    }
    g_assert_cmpuint(vm->rb.host[2 * MiB], ==, 0);
    serial = guest_vm_serial(vm);
    g_assert_cmpstr(serial, ==, "");
}

static void test_fill_then_ab(void)
{
    GuestParams p = params_range(MiB, 2 * MiB);
    p.flags = GUEST_FLAG_FILL_THEN_AB;
    g_autoptr(GuestVM) vm = vm_new_or_die("fill", &p);
    g_autofree char *serial = NULL;

    run_insns(vm, 262144 * 13 + 256 * 4 * 70 + 1000);  /* fill: 13 per word */
    serial = guest_vm_serial(vm);
    g_assert_true(g_str_has_prefix(serial, "AB"));
    assert_ab_pattern(vm, MiB / TARGET_PAGE_SIZE, 256);
}

static uint32_t blob_u32(const GuestBlob *b, size_t off)
{
    return b->data[off] | b->data[off + 1] << 8 | b->data[off + 2] << 16 |
           (uint32_t)b->data[off + 3] << 24;
}

/* The images carry the defaults where guest-params.h says they do. */
static void test_guest_images(void)
{
    static const char *const names[] = { "a-b", "idle", "fill", "bad-opcode" };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *bs_name = g_strconcat(names[i], ".bootsect", NULL);
        const GuestBlob *flat = guest_blob_find(names[i]);
        const GuestBlob *bs = guest_blob_find(bs_name);

        g_assert_nonnull(flat);
        g_assert_nonnull(bs);
        g_assert_cmpuint(bs->size, ==, GUEST_BOOTSECT_SIZE);
        g_assert_cmphex(bs->data[510], ==, 0x55);
        g_assert_cmphex(bs->data[511], ==, 0xaa);
        g_assert_cmphex(blob_u32(bs, GUEST_BOOTSECT_OFF_START), ==, GUEST_DEFAULT_START);
        g_assert_cmphex(blob_u32(bs, GUEST_BOOTSECT_OFF_END), ==, GUEST_DEFAULT_END);
        g_assert_cmphex(blob_u32(bs, GUEST_BOOTSECT_OFF_SEED), ==, GUEST_DEFAULT_SEED);
        g_assert_cmphex(blob_u32(bs, GUEST_BOOTSECT_OFF_FLAGS), ==, 0);
        /* Flat binaries end with the same table. */
        g_assert_cmphex(blob_u32(flat, flat->size - 16), ==, GUEST_DEFAULT_START);
        g_assert_cmphex(blob_u32(flat, flat->size - 12), ==, GUEST_DEFAULT_END);
    }
    g_assert_null(guest_blob_find("no-such-guest"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/interp/guest-images", test_guest_images);
    g_test_add_func("/interp/a-b/default-range", test_ab_default_range);
    g_test_add_func("/interp/a-b/pattern-midsweep", test_ab_pattern_midsweep);
    g_test_add_func("/interp/a-b/serial", test_ab_serial_param_range);
    g_test_add_func("/interp/a-b/end-clamped", test_ab_end_clamped_to_ram);
    g_test_add_func("/interp/dirty-log/exact", test_dirty_log_exact);
    g_test_add_func("/interp/determinism", test_determinism);
    g_test_add_func("/interp/error/unsupported-opcode", test_unsupported_opcode);
    g_test_add_func("/interp/error/access-outside-ram", test_access_outside_ram);
    g_test_add_func("/interp/error/fetch-outside-ram", test_fetch_outside_ram);
    g_test_add_func("/interp/halt", test_idle_halts);
    g_test_add_func("/interp/kick/from-thread", test_kick_from_thread);
    g_test_add_func("/interp/kick/before-run", test_kick_before_run);
    g_test_add_func("/interp/state/roundtrip", test_state_roundtrip);
    g_test_add_func("/interp/state/rejects-paging", test_state_rejects_paging);
    g_test_add_func("/interp/state/migrates", test_state_migrates);
    g_test_add_func("/interp/fill", test_fill);
    g_test_add_func("/interp/fill-then-a-b", test_fill_then_ab);
    return g_test_run();
}
