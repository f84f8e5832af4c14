/*
 * Unit tests for the RAM section's postcopy parts (migration/ram-postcopy.c)
 * and the postcopy commands' parser (savevm-commands.c): every bad page
 * request and every bad discard is refused with a clear message and
 * touches nothing outside its block; requested pages come before the
 * background pass; discards drop what the destination held.
 */
#include "ram-internal.h"
#include "savevm-commands.h"
#include "savevm-internal.h"
#include "qemu/error.h"

#include "ram-fixture.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

typedef struct Fixture {
    GPtrArray *blocks;
    RAMState *rs;
} Fixture;

static void fx_setup(Fixture *fx, gconstpointer data)
{
    fx->blocks = test_blocks_new("pc.ram", 64, "small", 4);
    fx->rs = ram_load_state_new(fx->blocks);
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
    ram_state_free(fx->rs);
    g_ptr_array_unref(fx->blocks);
}

static RAMBlock *blk(Fixture *fx, guint i)
{
    return g_ptr_array_index(fx->blocks, i);
}

/* @call must fail with @want in @err (a macro: @err is read after @call). */
#define assert_error(call, err, want)                   \
    do {                                                \
        bool ok_ = (call);                              \
        g_assert_false(ok_);                            \
        g_assert_nonnull(err);                          \
        g_assert_cmpstr((err)->message, ==, (want));    \
    } while (0)

/* ---- source: page requests ---- */

static void test_request_refused(Fixture *fx, gconstpointer data)
{
    struct {
        const char *block;
        uint64_t start, len;
        const char *want;
    } cases[] = {
        { "nope", 0, PAGE, "MIG_RP_MSG_REQ_PAGES has no block 'nope'" },
        { "pc.ram", 100, PAGE,
          "MIG_RP_MSG_REQ_PAGES: Misaligned page request, start:64 len: 4096" },
        { "pc.ram", 0, 100,
          "MIG_RP_MSG_REQ_PAGES: Misaligned page request, start:0 len: 100" },
        { "small", 3 * PAGE, 2 * PAGE,
          "MIG_RP_MSG_REQ_PAGES request overrun, start=3000 len=2000 blocklen=4000" },
        { "small", 4 * PAGE, PAGE,
          "MIG_RP_MSG_REQ_PAGES request overrun, start=4000 len=1000 blocklen=4000" },
    };
    g_autoptr(GError) before = NULL;

    /* Before the switch, any request is refused. */
    assert_error(ram_postcopy_queue_request(fx->rs, "pc.ram", 0, PAGE, &before), before,
                 "page request for 'pc.ram' before postcopy started");
    ram_postcopy_source_start(fx->rs);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;

        assert_error(ram_postcopy_queue_request(fx->rs, cases[i].block, cases[i].start,
                                                cases[i].len, &err), err, cases[i].want);
    }
    g_assert_false(ram_postcopy_requests_pending(fx->rs));
    ram_postcopy_source_stop(fx->rs);
    /* After every page went out, late requests are dropped quietly. */
    g_assert_true(ram_postcopy_queue_request(fx->rs, "pc.ram", 0, PAGE, NULL));
    g_assert_false(ram_postcopy_requests_pending(fx->rs));
}

/* Requested pages come out in order, skipping those already sent. */
static void test_request_order(Fixture *fx, gconstpointer data)
{
    RAMBlock *rb = blk(fx, 0);
    uint64_t page = 0;

    for (guint i = 0; i < fx->blocks->len; i++) {
        RAMBlock *b = blk(fx, i);

        b->bmap = bitmap_new(ramblock_pages(b));
        bitmap_set(b->bmap, 0, ramblock_pages(b));
        fx->rs->dirty_pages += ramblock_pages(b);
    }
    clear_bit(11, rb->bmap);               /* page 11 went out already */
    fx->rs->dirty_pages--;
    ram_postcopy_source_start(fx->rs);
    g_assert_true(ram_postcopy_queue_request(fx->rs, "pc.ram", 10 * PAGE, 3 * PAGE, NULL));
    g_assert_true(ram_postcopy_queue_request(fx->rs, "small", 2 * PAGE, PAGE, NULL));
    g_assert_true(ram_postcopy_requests_pending(fx->rs));

    g_assert_true(ram_postcopy_take_request(fx->rs, &page) == rb);
    g_assert_cmpuint(page, ==, 10);
    g_assert_true(ram_postcopy_take_request(fx->rs, &page) == rb);
    g_assert_cmpuint(page, ==, 12);
    g_assert_true(ram_postcopy_take_request(fx->rs, &page) == blk(fx, 1));
    g_assert_cmpuint(page, ==, 2);
    g_assert_null(ram_postcopy_take_request(fx->rs, &page));
    g_assert_false(ram_postcopy_requests_pending(fx->rs));
    g_assert_false(test_bit(10, rb->bmap) || test_bit(12, rb->bmap));
    g_assert_cmpuint(fx->rs->dirty_pages, ==, 64 + 4 - 1 - 3);
    ram_postcopy_source_stop(fx->rs);
}

/* ---- destination: advise and discard ---- */

static void test_advise_checks(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    assert_error(ram_postcopy_incoming_advise(fx->rs, 0x201000, PAGE, &e1), e1,
                 "Postcopy needs matching RAM page sizes (s=201000 d=1000)");
    assert_error(ram_postcopy_incoming_advise(fx->rs, PAGE, 8192, &e2), e2,
                 "Postcopy needs matching target page sizes (s=8192 d=4096)");
    blk(fx, 1)->shared = true;
    assert_error(ram_postcopy_incoming_advise(fx->rs, PAGE, PAGE, &e3), e3,
                 "Postcopy on shared RAM (small) is not yet supported");
    blk(fx, 1)->shared = false;
    g_assert_true(ram_postcopy_incoming_advise(fx->rs, PAGE, PAGE, NULL));
    g_assert_nonnull(blk(fx, 0)->receivedmap);
}

static void test_discard(Fixture *fx, gconstpointer data)
{
    RAMBlock *rb = blk(fx, 0);
    struct {
        const char *block;
        uint64_t start, len;
        const char *want;
    } bad[] = {
        { "nope", 0, PAGE, "discard of unknown RAM block 'nope'" },
        { "pc.ram", 1, PAGE, "discard [0x1, +0x1000) of 'pc.ram' is not aligned "
          "to its page size 0x1000" },
        { "small", 2 * PAGE, 3 * PAGE, "discard [0x2000, +0x3000) is outside RAM "
          "block 'small' (0x4000 bytes)" },
        { "small", UINT64_MAX & TARGET_PAGE_MASK, 2 * PAGE,
          "discard [0xfffffffffffff000, +0x2000) is outside RAM block 'small' "
          "(0x4000 bytes)" },
    };
    g_autoptr(GError) early = NULL;

    assert_error(ram_postcopy_incoming_discard(fx->rs, "pc.ram", 0, PAGE, &early), early,
                 "discard of 'pc.ram' before POSTCOPY_ADVISE");
    g_assert_true(ram_postcopy_incoming_advise(fx->rs, PAGE, PAGE, NULL));
    memset(rb->host, 0xab, rb->used_length);
    memset(blk(fx, 1)->host, 0xcd, blk(fx, 1)->used_length);
    bitmap_set(rb->receivedmap, 0, 64);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        assert_error(ram_postcopy_incoming_discard(fx->rs, bad[i].block, bad[i].start,
                                                   bad[i].len, &err), err, bad[i].want);
    }
    /* Nothing was dropped by the refused ones. */
    for (uint64_t i = 0; i < blk(fx, 1)->used_length; i++) {
        g_assert_cmpuint(blk(fx, 1)->host[i], ==, 0xcd);
    }
    g_assert_true(ram_postcopy_incoming_discard(fx->rs, "pc.ram", 4 * PAGE, 2 * PAGE, NULL));
    g_assert_cmpuint(rb->host[4 * PAGE], ==, 0);
    g_assert_cmpuint(rb->host[6 * PAGE - 1], ==, 0);
    g_assert_cmpuint(rb->host[6 * PAGE], ==, 0xab);
    g_assert_cmpuint(rb->host[4 * PAGE - 1], ==, 0xab);
    g_assert_true(ram_postcopy_received(rb, 3 * PAGE));
    g_assert_false(ram_postcopy_received(rb, 4 * PAGE));
    g_assert_false(ram_postcopy_received(rb, 5 * PAGE));
    g_assert_true(ram_postcopy_received(rb, 6 * PAGE));
}

/* ---- the RAM_DISCARD command's framing ---- */

static bool fx_discard_hook(void *opaque, const char *name, const uint64_t *starts,
                            const uint64_t *lengths, size_t n, GError **errp)
{
    GString *seen = opaque;

    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(seen, "%s:%" G_GINT64_MODIFIER "x+%" G_GINT64_MODIFIER "x;",
                               name, starts[i], lengths[i]);
    }
    return true;
}

static const SaveVMCommandOps discard_ops = {
    .postcopy_ram_discard = fx_discard_hook,
};

/* Parse one command record (after its 0x08) through discard_ops. */
static SaveVMCommandResult parse_command(const uint8_t *bytes, size_t len, GString *seen,
                                         GError **errp)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    QEMUFile *f = qemu_file_new_input_buffer(bytes, len);
    SaveVMCommandResult res;

    savevm_set_command_ops(s, &discard_ops, seen);
    res = savevm_load_command(s, f, 0, savevm_load_sections, errp);
    qemu_fclose(f, NULL);
    return res;
}

static void test_discard_command(void)
{
    g_autoptr(GString) seen = g_string_new(NULL);
    QEMUFile *out = qemu_file_new_output_buffer();
    uint64_t starts[2] = { 0x1000, 0x8000 }, lengths[2] = { 0x2000, 0x1000 };
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *data;
    gsize len;

    savevm_send_postcopy_ram_discard(out, "pc.ram", starts, lengths, 2);
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    data = g_bytes_get_data(bytes, &len);
    g_assert_cmpuint(data[0], ==, QEMU_VM_COMMAND);
    g_assert_cmpint(parse_command(data + 1, len - 1, seen, NULL), ==, SAVEVM_CMD_CONTINUE);
    g_assert_cmpstr(seen->str, ==, "pc.ram:1000+2000;pc.ram:8000+1000;");
}

static void test_discard_command_bad(void)
{
    /* be16 cmd 6 ; be16 len ; u8 version ; u8 n ; name ; u8 0 ; ranges */
    static const uint8_t short_len[] = { 0, 6, 0, 3, 0, 1, 'x' };
    static const uint8_t version[] = { 0, 6, 0, 20, 1, 1, 'x', 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 };
    static const uint8_t nil[] = { 0, 6, 0, 20, 0, 1, 'x', 7,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 };
    static const uint8_t odd[] = { 0, 6, 0, 21, 0, 1, 'x', 0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0 };
    static const uint8_t unknown[] = { 0, 12, 0, 0 };
    static const uint8_t ping_len[] = { 0, 2, 0, 2, 0, 0 };
    struct {
        const uint8_t *bytes;
        size_t len;
        const char *want;
    } cases[] = {
        { short_len, sizeof(short_len), "command POSTCOPY_RAM_DISCARD at offset 0: "
          "CMD_POSTCOPY_RAM_DISCARD invalid length (3)" },
        { version, sizeof(version), "command POSTCOPY_RAM_DISCARD at offset 0: "
          "CMD_POSTCOPY_RAM_DISCARD invalid version (1)" },
        { nil, sizeof(nil), "command POSTCOPY_RAM_DISCARD at offset 0: "
          "CMD_POSTCOPY_RAM_DISCARD missing nil (7)" },
        { odd, sizeof(odd), "command POSTCOPY_RAM_DISCARD at offset 0: "
          "CMD_POSTCOPY_RAM_DISCARD invalid length (21)" },
        { unknown, sizeof(unknown), "MIG_CMD 0xc unknown (len 0x0) at offset 0" },
        { ping_len, sizeof(ping_len), "PING received with bad length - expecting 4, got 2" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GString) seen = g_string_new(NULL);
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(parse_command(cases[i].bytes, cases[i].len, seen, &err), ==,
                        SAVEVM_CMD_ERROR);
        g_assert_cmpstr(err->message, ==, cases[i].want);
        g_assert_cmpuint(seen->len, ==, 0);
    }
}

/* ---- PACKAGED ---- */

static bool fx_listen_hook(void *opaque, QEMUFile *f, GError **errp)
{
    return true;
}

static const SaveVMCommandOps package_ops = {
    .postcopy_listen = fx_listen_hook,
};

/* The address space the process has mapped now, in bytes. */
static rlim_t mapped_bytes(void)
{
    g_autofree char *statm = NULL;

    g_assert_true(g_file_get_contents("/proc/self/statm", &statm, NULL, NULL));
    return (rlim_t)g_ascii_strtoull(statm, NULL, 10) * sysconf(_SC_PAGESIZE);
}

/*
 * Found by fuzz-postcopy: a PACKAGED that claims 0xfffffff0 bytes with 1 KiB
 * behind it made the destination allocate the whole claim before reading.
 * Now the buffer grows with what arrives: with 256 MiB of address space to
 * spare, the load fails on the short stream, not on the allocation.
 */
static void test_packaged_short(void)
{
    if (g_test_subprocess()) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_autoptr(SaveVMState) s = savevm_state_new();
        g_autoptr(GError) err = NULL;
        static const uint8_t head[] = { 0, 7, 0, 4, 0xff, 0xff, 0xff, 0xf0 };
        struct rlimit lim = { .rlim_cur = mapped_bytes() + (256u << 20),
                              .rlim_max = RLIM_INFINITY };
        QEMUFile *f;

        g_byte_array_append(b, head, sizeof(head));
        g_byte_array_set_size(b, sizeof(head) + 1024);
        memset(b->data + sizeof(head), 0, 1024);
        g_assert_cmpint(setrlimit(RLIMIT_AS, &lim), ==, 0);
        savevm_set_command_ops(s, &package_ops, NULL);
        f = qemu_file_new_input_buffer(b->data, b->len);
        g_assert_cmpint(savevm_load_command(s, f, 0, savevm_load_sections, &err), ==,
                        SAVEVM_CMD_ERROR);
        qemu_fclose(f, NULL);
        g_assert_nonnull(strstr(err->message, "reading a packaged state of 4294967280 bytes"));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/ram-postcopy/request/refused", Fixture, NULL, fx_setup,
               test_request_refused, fx_teardown);
    g_test_add("/ram-postcopy/request/order", Fixture, NULL, fx_setup,
               test_request_order, fx_teardown);
    g_test_add("/ram-postcopy/advise", Fixture, NULL, fx_setup,
               test_advise_checks, fx_teardown);
    g_test_add("/ram-postcopy/discard", Fixture, NULL, fx_setup,
               test_discard, fx_teardown);
    g_test_add_func("/ram-postcopy/discard-command", test_discard_command);
    g_test_add_func("/ram-postcopy/discard-command/bad", test_discard_command_bad);
    g_test_add_func("/ram-postcopy/packaged-command/short", test_packaged_short);
    return g_test_run();
}
