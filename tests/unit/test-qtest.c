/*
 * The qtest protocol parser and its replies, over a real RAM block and a
 * fake port space, including malformed requests and the dirty log.
 */
#include <glib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "qemu/bitmap.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"
#include "qtest.h"

typedef struct Fixture {
    QTestServer *s;
    GuestMemory *gm;
    RAMBlock *rb;
    uint32_t last_port, last_value;
    unsigned last_size;
} Fixture;

static uint32_t fake_pio_read(void *opaque, uint16_t port, unsigned size)
{
    return port == 0x3fd ? 0x60 : 0xffffffffu >> (32 - size * 8);
}

static void fake_pio_write(void *opaque, uint16_t port, unsigned size,
                           uint32_t v)
{
    Fixture *f = opaque;

    f->last_port = port;
    f->last_size = size;
    f->last_value = v;
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    QTestOps ops = { .pio_read = fake_pio_read, .pio_write = fake_pio_write,
                     .opaque = f, .has_clock = GPOINTER_TO_INT(data) };

    f->gm = guest_memory_new();
    ops.memory = f->gm;
    f->rb = memory_add_main_ram(f->gm, 1 << 20, &err);
    g_assert_true(memory_map_block(f->gm, f->rb, 0, &err));
    f->s = qtest_server_new(&ops);
    bql_lock();
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    bql_unlock();
    qtest_server_free(f->s);
    guest_memory_free(f->gm);
}

static void check(Fixture *f, const char *req, const char *want)
{
    g_autofree char *reply = qtest_server_process_line(f->s, req);
    g_autofree char *want_nl = g_strconcat(want, "\n", NULL);

    if (strcmp(reply, want_nl) != 0) {
        g_error("'%s': got '%s' want '%s'", req, g_strchomp(reply), want);
    }
}

static void check_prefix(Fixture *f, const char *req, const char *prefix)
{
    g_autofree char *reply = qtest_server_process_line(f->s, req);

    if (!g_str_has_prefix(reply, prefix)) {
        g_error("'%s': got '%s' want prefix '%s'", req, g_strchomp(reply),
                prefix);
    }
}

static void test_read_write(Fixture *f, gconstpointer data)
{
    check(f, "writeb 0x1000 0x12", "OK");
    check(f, "writew 0x1002 0x3456", "OK");
    check(f, "writel 0x1004 0x789abcde", "OK");
    check(f, "writeq 0x1008 0x0102030405060708", "OK");
    check(f, "readb 0x1000", "OK 0x0000000000000012");
    check(f, "readw 0x1002", "OK 0x0000000000003456");
    check(f, "readl 0x1004", "OK 0x00000000789abcde");
    check(f, "readq 0x1008", "OK 0x0102030405060708");
    /* little-endian in memory */
    g_assert_cmpint(f->rb->host[0x1002], ==, 0x56);
    g_assert_cmpint(f->rb->host[0x1008], ==, 0x08);
    check(f, "writeb 4096 255", "OK");
    check(f, "readb 4096", "OK 0x00000000000000ff");
}

static void test_bulk(Fixture *f, gconstpointer data)
{
    check(f, "write 0x2000 4 0xdeadbeef", "OK");
    check(f, "read 0x2000 4", "OK 0xdeadbeef");
    check(f, "write 0x2000 4 0xaa", "OK");        /* short data: zero-filled */
    check(f, "read 0x2000 4", "OK 0xaa000000");
    check(f, "b64write 0x3000 3 AQID", "OK");
    check(f, "read 0x3000 3", "OK 0x010203");
    check(f, "b64read 0x3000 3", "OK AQID");
    check(f, "memset 0x4000 16 0x7f", "OK");
    check(f, "read 0x4000 2", "OK 0x7f7f");
    check(f, "memset 0x4000 0 1", "OK");
    check(f, "endianness", "OK little");
}

static void test_pio(Fixture *f, gconstpointer data)
{
    check(f, "outb 0x3f8 0x41", "OK");
    g_assert_cmphex(f->last_port, ==, 0x3f8);
    g_assert_cmpuint(f->last_size, ==, 1);
    g_assert_cmphex(f->last_value, ==, 0x41);
    check(f, "outl 0xe4 1", "OK");
    g_assert_cmpuint(f->last_size, ==, 4);
    check(f, "inb 0x3fd", "OK 0x0060");
    check(f, "inw 0x80", "OK 0xffff");
    check(f, "inl 0x80", "OK 0xffffffff");
}

static void test_errors(Fixture *f, gconstpointer data)
{
    check(f, "frobnicate 1", "FAIL Unknown command 'frobnicate'");
    check(f, "", "FAIL Unknown command ''");
    check_prefix(f, "readb", "FAIL usage");
    check_prefix(f, "readb zz", "FAIL usage");
    check_prefix(f, "writel 0x10", "FAIL usage");
    check_prefix(f, "writel 0x10 1 2", "FAIL usage");
    check_prefix(f, "outb 0x10000 1", "FAIL port");
    check_prefix(f, "inb -1", "FAIL usage");
    check_prefix(f, "readl 0x100000", "FAIL guest range");
    check_prefix(f, "readq 0xffffffffffffffff", "FAIL guest range");
    check_prefix(f, "read 0 0", "FAIL size must not be 0");
    check_prefix(f, "read 0 0x100000000", "FAIL size");
    check(f, "write 0 1 0", "FAIL invalid argument size");
    check(f, "write 0 1 0xzz", "FAIL invalid hex data");
    check_prefix(f, "memset 0xffff0 0x20 0", "FAIL guest range");
    check_prefix(f, "clock_step 10", "FAIL Unknown command 'clock_step'");
}

static rlim_t mapped_bytes(void)
{
    g_autofree char *statm = NULL;

    g_assert_true(g_file_get_contents("/proc/self/statm", &statm, NULL, NULL));
    return (rlim_t)g_ascii_strtoull(statm, NULL, 10) * sysconf(_SC_PAGESIZE);
}

/*
 * A bulk access outside guest RAM is refused before anything is allocated:
 * with 32 MiB of address space to spare, a 64 MiB read, b64read or write
 * there must answer FAIL, not abort in g_malloc().
 */
static void test_bad_range_allocates_nothing(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        struct rlimit lim = { .rlim_cur = mapped_bytes() + (32u << 20),
                              .rlim_max = RLIM_INFINITY };

        g_assert_cmpint(setrlimit(RLIMIT_AS, &lim), ==, 0);
        check_prefix(f, "read 0x10000000 0x4000000", "FAIL guest range");
        check_prefix(f, "b64read 0x10000000 0x4000000", "FAIL guest range");
        check_prefix(f, "write 0x10000000 0x4000000 0x00", "FAIL guest range");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void test_clock(Fixture *f, gconstpointer data)
{
    check(f, "clock_step 100", "OK 100");
    check(f, "clock_step 50", "OK 150");
    check_prefix(f, "clock_step", "FAIL cannot advance clock");
    check(f, "clock_set 1000", "OK 1000");
    check(f, "clock_set 10", "FAIL 1000");
    check(f, "clock_step -5", "FAIL could not advance time");
}

static void test_feed(Fixture *f, gconstpointer data)
{
    g_autoptr(GString) out = g_string_new(NULL);

    qtest_server_feed(f->s, "writeb 0x10 1\nread", 18, out);
    g_assert_cmpstr(out->str, ==, "OK\n");
    qtest_server_feed(f->s, "b 0x10\r\n", 8, out);
    g_assert_cmpstr(out->str, ==, "OK\nOK 0x0000000000000001\n");
}

static void test_dirty(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    unsigned long *dest = bitmap_new(ramblock_pages(f->rb));

    g_assert_true(memory_dirty_log_start(f->gm, &err));
    check(f, "writeb 0x5000 1", "OK");
    check(f, "write 0x7ffe 4 0x01020304", "OK");
    check(f, "memset 0x20000 0x2000 0", "OK");
    check(f, "readb 0x9000", "OK 0x0000000000000000");
    g_assert_true(memory_sync_dirty(f->gm, f->rb, dest, &err));
    g_assert_cmpuint(bitmap_count_one(dest, ramblock_pages(f->rb)), ==, 5);
    g_assert_true(test_bit(5, dest));
    g_assert_true(test_bit(7, dest));
    g_assert_true(test_bit(8, dest));
    g_assert_true(test_bit(0x20, dest));
    g_assert_true(test_bit(0x21, dest));
    memory_dirty_log_stop(f->gm);
    g_free(dest);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
#define ADD(path, fn, clock) \
    g_test_add("/qtest/" path, Fixture, GINT_TO_POINTER(clock), fixture_setup, \
               fn, fixture_teardown)
    ADD("read-write", test_read_write, 0);
    ADD("bulk", test_bulk, 0);
    ADD("pio", test_pio, 0);
    ADD("errors", test_errors, 0);
    ADD("bad-range-allocates-nothing", test_bad_range_allocates_nothing, 0);
    ADD("clock", test_clock, 1);
    ADD("feed", test_feed, 0);
    ADD("dirty", test_dirty, 0);
    return g_test_run();
}
