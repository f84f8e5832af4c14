/*
 * The tern-pc machine running the real guest programs under interp (always)
 * and kvm (when /dev/kvm works): a-b's serial output and memory pattern,
 * stop/cont, the dirty bitmap after a sync, CPU state round trips, and an
 * unsupported opcode ending in internal-error.  Prints a-b's dirtying rate.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "chardev-stub.h"
#include "guest-blobs.h"
#include "hw/machine.h"
#include "qapi/qmp-event.h"
#include "qemu/bitmap.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "test-accel.h"

#define RAM_SIZE   (8u << 20)
#define AB_START   (1u << 20)
#define AB_END     (3u << 20)
#define AB_PAGES   ((AB_END - AB_START) / TARGET_PAGE_SIZE)

typedef struct Run {
    VM *vm;
    Machine *m;
    Chardev *chr;
    char *kernel;
} Run;

static void ignore_event(const char *event, JsonObject *data, void *opaque)
{
    if (data) {
        json_object_unref(data);
    }
}

/* Boot @guest under @accel, stopped; returns FALSE (test skipped) when the
 * accelerator cannot run here. */
static bool run_boot(Run *r, const char *accel, const char *guest)
{
    g_autoptr(MachineConfig) cfg = machine_config_new();
    g_autoptr(GError) err = NULL;
    const GuestBlob *blob = guest_blob_find(guest);
    const AccelOps *ops = accel_find(accel);
    int fd;

    g_assert_nonnull(blob);
    if (!ops->available(&err)) {
        g_test_skip_printf("accelerator %s unusable here: %s", accel,
                           err->message);
        return false;
    }
    fd = g_file_open_tmp("tern-guest-XXXXXX", &r->kernel, &err);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(r->kernel, (const char *)blob->data,
                                      blob->size, &err));
    r->chr = stub_chr_new();
    cfg->accels = g_strsplit(accel, ",", -1);
    cfg->ram_size = RAM_SIZE;
    cfg->kernel = g_strdup(r->kernel);
    cfg->append = g_strdup_printf("start=%u,end=%u", AB_START, AB_END);
    cfg->serial = r->chr;
    qapi_event_set_emitter(ignore_event, NULL);
    bql_lock();
    r->vm = vm_new();
    r->m = machine_create(cfg, r->vm, &err);
    g_assert_no_error(err);
    return true;
}

static void run_free(Run *r)
{
    if (runstate_is_running(r->vm)) {
        vm_stop(r->vm, RUN_STATE_PAUSED);
    }
    machine_free(r->m);
    vm_free(r->vm);
    bql_unlock();
    stub_chr_free(r->chr);
    g_unlink(r->kernel);
    g_free(r->kernel);
    qapi_event_set_emitter(NULL, NULL);
}

/* Let the guest run (BQL released) for @ms, serving the main loop. */
static void run_for(guint ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        main_loop_iterate(false);
        bql_unlock();
        g_usleep(2000);
        bql_lock();
    }
}

static guint count_char(Run *r, char c)
{
    const GString *out = stub_chr_written(r->chr);
    guint n = 0;

    for (gsize i = 0; i < out->len; i++) {
        n += out->str[i] == c;
    }
    return n;
}

/* Wait until the serial output holds at least @bs 'B's (or time out). */
static void wait_for_bs(Run *r, guint bs)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (count_char(r, 'B') < bs) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        run_for(10);
    }
}

/* a-b's invariant: page bytes equal, except one step down somewhere. */
static void check_ab_pattern(Run *r)
{
    const uint8_t *ram = r->m->ram->host;
    uint8_t first = ram[AB_START];
    guint steps = 0;

    for (guint64 a = AB_START + TARGET_PAGE_SIZE; a < AB_END;
         a += TARGET_PAGE_SIZE) {
        uint8_t prev = ram[a - TARGET_PAGE_SIZE];

        if (ram[a] != prev) {
            g_assert_cmpint((uint8_t)(prev - 1), ==, ram[a]);
            steps++;
        }
    }
    g_assert_cmpuint(steps, <=, 1);
    g_assert_cmpint(ram[AB_END], ==, 0);      /* beyond the range: untouched */
    (void)first;
}

static void test_ab(gconstpointer data)
{
    const char *accel = data;
    Run r = { 0 };
    guint bs_before, bs_after;
    gint64 t0, t1;
    double pages_per_sec;

    if (!run_boot(&r, accel, "a-b")) {
        return;
    }
    g_assert_cmpstr(stub_chr_written(r.chr)->str, ==, "");
    vm_start(r.vm);
    wait_for_bs(&r, 1);
    g_assert_true(g_str_has_prefix(stub_chr_written(r.chr)->str, "AB"));

    /* stop: nothing changes while stopped */
    vm_stop(r.vm, RUN_STATE_PAUSED);
    check_ab_pattern(&r);
    {
        g_autofree uint8_t *snap = g_memdup2(r.m->ram->host + AB_START,
                                             AB_END - AB_START);
        guint bs = count_char(&r, 'B');

        run_for(50);
        g_assert_cmpmem(snap, AB_END - AB_START, r.m->ram->host + AB_START,
                        AB_END - AB_START);
        g_assert_cmpuint(count_char(&r, 'B'), ==, bs);
    }

    /* cont resumes it; measure the dirtying rate from the 'B's */
    bs_before = count_char(&r, 'B');
    t0 = g_get_monotonic_time();
    vm_start(r.vm);
    wait_for_bs(&r, bs_before + 2);
    vm_stop(r.vm, RUN_STATE_PAUSED);
    t1 = g_get_monotonic_time();
    bs_after = count_char(&r, 'B');
    check_ab_pattern(&r);
    pages_per_sec = (double)(bs_after - bs_before) * GUEST_AB_SWEEPS_PER_B *
                    AB_PAGES / ((t1 - t0) / 1e6);
    g_test_message("a-b under %s: %.0f pages/s dirtied (%u pages per sweep)",
                   accel, pages_per_sec, AB_PAGES);
    g_printerr("# a-b dirtying rate under %s: %.0f pages/s\n", accel,
               pages_per_sec);
    run_free(&r);
}

static void test_dirty(gconstpointer data)
{
    const char *accel = data;
    g_autoptr(GError) err = NULL;
    Run r = { 0 };
    guint64 pages = RAM_SIZE / TARGET_PAGE_SIZE;
    unsigned long *dirty = bitmap_new(pages);
    uint8_t byte = 0x77;

    if (!run_boot(&r, accel, "a-b")) {
        g_free(dirty);
        return;
    }
    g_assert_true(memory_dirty_log_start(r.m->memory, &err));
    vm_start(r.vm);
    wait_for_bs(&r, 1);
    vm_stop(r.vm, RUN_STATE_PAUSED);
    g_assert_true(memory_sync_dirty(r.m->memory, r.m->ram, dirty, &err));
    /* the guest swept its whole range at least once */
    g_assert_cmpuint(bitmap_count_one_range(dirty, AB_START / TARGET_PAGE_SIZE,
                                            AB_PAGES), ==, AB_PAGES);
    /* and wrote nothing above it */
    g_assert_cmpuint(bitmap_count_one_range(dirty, AB_END / TARGET_PAGE_SIZE,
                                            pages - AB_END / TARGET_PAGE_SIZE),
                     ==, 0);

    /* stopped: exactly the pages written since the previous sync */
    bitmap_clear(dirty, 0, pages);
    g_assert_true(guest_memory_write(r.m->memory, 5u << 20, &byte, 1, &err));
    g_assert_true(guest_memory_write(r.m->memory, (6u << 20) + 4095, &byte, 1, &err));
    g_assert_true(memory_sync_dirty(r.m->memory, r.m->ram, dirty, &err));
    g_assert_cmpuint(bitmap_count_one(dirty, pages), ==, 2);
    g_assert_true(test_bit((5u << 20) / TARGET_PAGE_SIZE, dirty));
    g_assert_true(test_bit((6u << 20) / TARGET_PAGE_SIZE, dirty));
    bitmap_clear(dirty, 0, pages);
    g_assert_true(memory_sync_dirty(r.m->memory, r.m->ram, dirty, &err));
    g_assert_true(bitmap_empty(dirty, pages));

    memory_dirty_log_stop(r.m->memory);
    run_free(&r);
    g_free(dirty);
}

static void test_cpu_state(gconstpointer data)
{
    const char *accel = data;
    g_autoptr(GError) err = NULL;
    X86CPUState a, b;
    Run r = { 0 };

    if (!run_boot(&r, accel, "a-b")) {
        return;
    }
    vm_start(r.vm);
    wait_for_bs(&r, 1);
    vm_stop(r.vm, RUN_STATE_PAUSED);
    g_assert_true(cpu_get_state(r.vm, 0, &a, &err));
    g_assert_cmphex(a.eip, >=, MACHINE_KERNEL_ADDR);
    g_assert_true(cpu_set_state(r.vm, 0, &a, &err));
    g_assert_true(cpu_get_state(r.vm, 0, &b, &err));
    g_assert_cmpmem(&a.regs, sizeof(a.regs), &b.regs, sizeof(b.regs));
    g_assert_cmphex(a.eip, ==, b.eip);
    g_assert_cmphex(a.eflags, ==, b.eflags);
    g_assert_cmphex(a.cr0, ==, b.cr0);
    g_assert_cmpmem(&a.segs, sizeof(a.segs), &b.segs, sizeof(b.segs));
    /* and the guest carries on from it */
    vm_start(r.vm);
    wait_for_bs(&r, count_char(&r, 'B') + 1);
    run_free(&r);
}

static void test_bad_opcode(gconstpointer data)
{
    const char *accel = data;
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    Run r = { 0 };

    if (!run_boot(&r, accel, "bad-opcode")) {
        return;
    }
    vm_start(r.vm);
    while (!runstate_check(r.vm, RUN_STATE_INTERNAL_ERROR)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        run_for(10);
    }
    g_assert_nonnull(cpus_last_error(r.vm));
    g_test_message("%s", cpus_last_error(r.vm));
    g_assert_true(g_str_has_prefix(cpus_last_error(r.vm), "vCPU 0: "));
    run_free(&r);
}

int main(int argc, char **argv)
{
    static const char *const accels[] = { "interp", "kvm" };

    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
        if (!test_accel_selected(!strcmp(accels[i], "kvm"))) {
            continue;
        }
        g_autofree char *ab = g_strdup_printf("/machine-run/%s/a-b", accels[i]);
        g_autofree char *dirty = g_strdup_printf("/machine-run/%s/dirty",
                                                 accels[i]);
        g_autofree char *state = g_strdup_printf("/machine-run/%s/cpu-state",
                                                 accels[i]);
        g_autofree char *bad = g_strdup_printf("/machine-run/%s/bad-opcode",
                                               accels[i]);

        g_test_add_data_func(ab, accels[i], test_ab);
        g_test_add_data_func(dirty, accels[i], test_dirty);
        g_test_add_data_func(state, accels[i], test_cpu_state);
        g_test_add_data_func(bad, accels[i], test_bad_opcode);
    }
    return g_test_run();
}
