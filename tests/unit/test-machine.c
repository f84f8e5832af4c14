/*
 * The tern-pc board under the qtest accelerator: memory layout and backend
 * rules, kernel loading, device wiring through the vCPUs' I/O path, and
 * accelerator fallback.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "chardev-stub.h"
#include "hw/machine.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

static char *tmp_kernel(const char *bytes, gsize len)
{
    g_autoptr(GError) err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("tern-kernel-XXXXXX", &path, &err);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, bytes, len, &err));
    return path;
}

static MachineConfig *qtest_config(void)
{
    MachineConfig *cfg = machine_config_new();

    cfg->accels = g_strsplit("qtest", ",", -1);
    cfg->ram_size = 4 << 20;
    return cfg;
}

static void test_boot(void)
{
    g_autoptr(VM) vm = vm_new();
    g_autoptr(MachineConfig) cfg = qtest_config();
    g_autoptr(GError) err = NULL;
    g_autofree char *kernel = tmp_kernel("\xf4\x90\x90", 3);
    Chardev *chr = stub_chr_new();
    X86CPUState env;
    Machine *m;

    cfg->kernel = g_strdup(kernel);
    cfg->serial = chr;
    cfg->smp = 2;
    bql_lock();
    m = machine_create(cfg, vm, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(m->accel_ops->name, ==, "qtest");
    g_assert_cmpstr(m->ram->idstr, ==, "pc.ram");
    g_assert_cmpuint(m->ram->used_length, ==, 4 << 20);
    g_assert_cmpuint(m->ram->guest_addr, ==, 0);
    g_assert_cmpmem(m->ram->host + MACHINE_KERNEL_ADDR, 3, "\xf4\x90\x90", 3);
    g_assert_cmpint(cpus_count(vm), ==, 2);
    g_assert_true(cpu_get_state(vm, 0, &env, &err));
    g_assert_cmphex(env.eip, ==, MACHINE_KERNEL_ADDR);
    bql_unlock();

    /* the vCPUs' port path reaches the devices */
    machine_pio_write(m, 0x3f8, 1, 'A');
    machine_pio_write(m, 0xe4, 4, 5);
    g_assert_cmpstr(stub_chr_written(chr)->str, ==, "A");
    g_assert_cmpuint(machine_pio_read(m, 0xe0, 4), ==, 5);
    g_assert_cmpuint(m->testdev->counter, ==, 5);
    g_assert_cmphex(machine_pio_read(m, 0x3fd, 1), ==, 0x60);

    bql_lock();
    vm_start(vm);
    vm_stop(vm, RUN_STATE_PAUSED);
    machine_free(m);
    bql_unlock();
    stub_chr_free(chr);
    g_unlink(kernel);
}

static void expect_create_error(MachineConfig *cfg, const char *msg)
{
    g_autoptr(VM) vm = vm_new();
    g_autoptr(GError) err = NULL;
    Machine *m;

    bql_lock();
    m = machine_create(cfg, vm, &err);
    bql_unlock();
    g_assert_null(m);
    if (!strstr(err->message, msg)) {
        g_error("got '%s', want '%s'", err->message, msg);
    }
}

static MemoryBackendConfig *backend(const char *id, uint64_t size)
{
    MemoryBackendConfig *b = g_new0(MemoryBackendConfig, 1);

    b->kind = MEMORY_BACKEND_MEMFD;
    b->id = g_strdup(id);
    b->size = size;
    b->share = true;
    return b;
}

static void test_memory_backend(void)
{
    g_autoptr(VM) vm = vm_new();
    g_autoptr(MachineConfig) cfg = qtest_config();
    g_autoptr(GError) err = NULL;
    Machine *m;

    cfg->ram_size = 0;
    g_ptr_array_add(cfg->backends, backend("mem0", 2 << 20));
    cfg->memory_backend = g_strdup("mem0");
    bql_lock();
    m = machine_create(cfg, vm, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(m->ram->idstr, ==, "mem0");
    g_assert_true(m->ram->shared);
    g_assert_cmpuint(memory_main_ram_size(m->memory), ==, 2 << 20);
    machine_free(m);
    bql_unlock();
}

static void test_errors(void)
{
    g_autoptr(MachineConfig) a = qtest_config();
    g_autoptr(MachineConfig) b = qtest_config();
    g_autoptr(MachineConfig) c = qtest_config();
    g_autoptr(MachineConfig) d = qtest_config();
    g_autoptr(MachineConfig) e = qtest_config();
    g_autofree char *big = NULL;
    g_autofree char *big_kernel = NULL;

    a->memory_backend = g_strdup("nope");
    expect_create_error(a, "Memory backend 'nope' not found");

    g_ptr_array_add(b->backends, backend("mem0", 2 << 20));
    b->memory_backend = g_strdup("mem0");
    expect_create_error(b, "Machine memory size does not match the size of "
                        "the memory backend");

    c->kernel = g_strdup("/nonexistent/kernel.bin");
    expect_create_error(c, "could not load kernel '/nonexistent/kernel.bin': "
                        "No such file or directory");

    big = g_malloc0(4 << 20);
    big_kernel = tmp_kernel(big, 4 << 20);
    d->kernel = g_strdup(big_kernel);
    expect_create_error(d, "does not fit in RAM");
    g_unlink(big_kernel);

    /* The VGA's framebuffer at 0xe0000000 needs main RAM to end below it. */
    e->ram_size = UINT64_C(0xe0001000);
    e->vga_vram_mb = 1;
    expect_create_error(e, "'vga.vram' would overlap 'pc.ram' in guest memory");
}

static void test_guest_params(void)
{
    g_autoptr(VM) vm = vm_new();
    g_autoptr(MachineConfig) cfg = qtest_config();
    g_autoptr(GError) err = NULL;
    g_autofree char *kernel = tmp_kernel("\xf4", 1);
    GuestParams p;
    Machine *m;

    cfg->kernel = g_strdup(kernel);
    cfg->append = g_strdup("start=2M,end=3M,seed=42,flags=1");
    bql_lock();
    m = machine_create(cfg, vm, &err);
    g_assert_no_error(err);
    memcpy(&p, m->ram->host + GUEST_PARAMS_ADDR, sizeof(p));
    g_assert_cmphex(p.magic, ==, GUEST_PARAMS_MAGIC);
    g_assert_cmphex(p.ram_size_lo, ==, 4 << 20);
    g_assert_cmphex(p.start, ==, 2 << 20);
    g_assert_cmphex(p.end, ==, 3 << 20);
    g_assert_cmpuint(p.seed, ==, 42);
    g_assert_cmpuint(p.flags, ==, 1);
    machine_free(m);
    bql_unlock();

    /* defaults, with end clamped to RAM */
    g_assert_true(machine_parse_append(NULL, 4 << 20, &p, &err));
    g_assert_cmphex(p.start, ==, GUEST_DEFAULT_START);
    g_assert_cmphex(p.end, ==, 4 << 20);
    g_assert_cmpuint(p.seed, ==, GUEST_DEFAULT_SEED);

    g_assert_false(machine_parse_append("start=1M,end=1M", 4 << 20, &p, &err));
    g_assert_true(g_str_has_prefix(err->message, "-append 'start=1M,end=1M': "));
    g_clear_error(&err);
    g_assert_false(machine_parse_append("end=8M", 4 << 20, &p, &err));
    g_clear_error(&err);
    g_assert_false(machine_parse_append("colour=blue", 4 << 20, &p, &err));
    g_assert_nonnull(strstr(err->message, "Invalid parameter 'colour'"));
    g_clear_error(&err);
    g_assert_false(machine_parse_append("flags=2", 4 << 20, &p, &err));
    g_clear_error(&err);

    g_free(cfg->kernel);
    cfg->kernel = NULL;
    expect_create_error(cfg, "-append only allowed with -kernel option");
    g_unlink(kernel);
}

static void test_accel_fallback(void)
{
    g_autoptr(MachineConfig) cfg = qtest_config();
    g_autoptr(MachineConfig) none = qtest_config();

    g_strfreev(cfg->accels);
    cfg->accels = g_strsplit("nosuch,qtest", ",", -1);
    if (g_test_subprocess()) {
        g_autoptr(GError) err = NULL;
        g_autoptr(VM) vm = vm_new();
        Machine *m;

        bql_lock();
        m = machine_create(cfg, vm, &err);
        g_assert_nonnull(m);
        machine_free(m);
        bql_unlock();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("tern: accelerator 'nosuch' is not built into "
                              "this tern; using accelerator qtest\n");

    g_strfreev(none->accels);
    none->accels = g_strsplit("nosuch", ",", -1);
    expect_create_error(none, "no usable accelerator: accelerator 'nosuch' is "
                        "not built into this tern");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    g_test_add_func("/machine/boot", test_boot);
    g_test_add_func("/machine/memory-backend", test_memory_backend);
    g_test_add_func("/machine/errors", test_errors);
    g_test_add_func("/machine/guest-params", test_guest_params);
    g_test_add_func("/machine/accel-fallback", test_accel_fallback);
    return g_test_run();
}
