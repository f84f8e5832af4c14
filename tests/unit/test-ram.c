/*
 * Unit tests for the RAM section payloads (migration/ram.c, ram-load.c):
 * exact bytes per qemu-migration-facts.md §4.6, round trips through the
 * memory-buffer QEMUFile, dirty passes, the rate limit, and every way the
 * destination must reject a stream.
 */
#include "ram-fixture.h"
#include "qemu/error.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- source: exact bytes ---- */

static void on_sync_count(void *opaque, uint64_t count)
{
    uint64_t *last = opaque;

    g_assert_cmpuint(count, ==, *last + 1);
    *last = count;
}

static void test_setup_bytes(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    static const uint8_t expect[] = {
        0, 0, 0, 0, 0, 0, 0x50, 0x04,               /* 5 pages | MEM_SIZE */
        1, 'a', 0, 0, 0, 0, 0, 0, 0x20, 0x00,       /* "a", 0x2000 */
        2, 'b', 'b', 0, 0, 0, 0, 0, 0, 0x30, 0x00,  /* "bb", 0x3000 */
        0, 0, 0, 0, 0, 0, 0, 0x10,                  /* EOS */
    };
    MigrationAtomicStats stats = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    uint64_t pending = 0;
    g_autoptr(RAMState) rs = NULL;
    uint64_t last_sync = 0;
    FakeDirty d;
    QEMUFile *f;

    fake_dirty_init(&d, blocks);
    rs = source_new(&d, &stats);
    ram_state_set_sync_hook(rs, on_sync_count, &last_sync);
    f = qemu_file_new_output_buffer();
    g_assert_true(ram_save_handlers.save_setup(f, rs, NULL));
    bytes = output_bytes(f);
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), expect, sizeof(expect));

    g_assert_cmpuint(last_sync, ==, 1);
    g_assert_cmpuint(ram_state_dirty_sync_count(rs), ==, 1);
    g_assert_cmpuint(migration_stat_get(&stats.dirty_sync_count), ==, 1);
    g_assert_cmpuint(migration_stat_get(&stats.total), ==, 5 * PAGE);
    g_assert_cmpuint(ram_state_dirty_pages(rs), ==, 5);
    ram_save_handlers.state_pending_estimate(rs, &pending);
    g_assert_cmpuint(pending, ==, 5 * PAGE);
    ram_save_handlers.save_cleanup(rs);
    g_assert_null(block(blocks, 0)->bmap);
    fake_dirty_cleanup(&d);
}

static void test_page_record_bytes(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    g_autoptr(GByteArray) expect = g_byte_array_new();
    MigrationAtomicStats stats = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(RAMState) rs = NULL;
    uint8_t page_5a[PAGE], page_11[PAGE];
    FakeDirty d;
    QEMUFile *f;
    GBytes *setup;

    memset(page_5a, 0x5a, PAGE);
    memset(page_11, 0x11, PAGE);
    memset(block(blocks, 0)->host + PAGE, 0x5a, PAGE);
    memset(block(blocks, 1)->host, 0x77, PAGE);     /* written, then zeroed again */
    memset(block(blocks, 1)->host, 0, PAGE);
    memset(block(blocks, 1)->host + PAGE, 0x11, PAGE);

    fake_dirty_init(&d, blocks);
    rs = source_new(&d, &stats);
    f = qemu_file_new_output_buffer();
    g_assert_true(ram_save_handlers.save_setup(f, rs, NULL));
    setup = qemu_file_output_buffer_bytes(f);
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, rs, NULL), ==,
                    SAVEVM_ITERATE_DONE);
    bytes = output_bytes(f);

    put64(expect, 0x0000 | RAM_SAVE_FLAG_ZERO);                           /* a:0 never written */
    put_name(expect, "a");
    put_u8(expect, 0);
    put64(expect, 0x1000 | RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE);  /* a:1 */
    g_byte_array_append(expect, page_5a, PAGE);
    put64(expect, 0x0000 | RAM_SAVE_FLAG_ZERO);                           /* bb:0 zeroed */
    put_name(expect, "bb");
    put_u8(expect, 0);
    put64(expect, 0x1000 | RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE);  /* bb:1 */
    g_byte_array_append(expect, page_11, PAGE);
    put64(expect, 0x2000 | RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_CONTINUE);  /* bb:2 */
    put_u8(expect, 0);
    put64(expect, RAM_SAVE_FLAG_EOS);

    g_assert_cmpmem((const uint8_t *)g_bytes_get_data(bytes, NULL) + g_bytes_get_size(setup),
                    g_bytes_get_size(bytes) - g_bytes_get_size(setup), expect->data, expect->len);
    g_assert_cmpuint(migration_stat_get(&stats.zero_pages), ==, 3);
    g_assert_cmpuint(migration_stat_get(&stats.normal_pages), ==, 2);
    g_assert_cmpuint(migration_stat_get(&stats.precopy_bytes), ==, expect->len - 8);
    g_assert_cmpuint(migration_stat_get(&stats.downtime_bytes), ==, 0);
    g_assert_cmpuint(migration_stat_get(&stats.remaining), ==, 0);
    /* Never-written pages were decided on without reading them. */
    g_assert_true(page_untouched(block(blocks, 0), 0));
    g_assert_true(page_untouched(block(blocks, 1), 2));
    g_bytes_unref(setup);
    fake_dirty_cleanup(&d);
}

/* ---- round trips ---- */

/* Source: random pages, zeroed pages and untouched pages in two blocks. */
static void fill_source(FakeDirty *d)
{
    GRand *rand = g_rand_new_with_seed(42);

    for (guint b = 0; b < d->blocks->len; b++) {
        RAMBlock *rb = block(d->blocks, b);
        uint64_t pages = ramblock_pages(rb);

        /* The first 2 MiB: every third page random, every fifth rewritten to zero. */
        for (uint64_t p = 0; p < MIN(pages, 512); p++) {
            if (p % 3 == 0) {
                for (size_t i = 0; i < PAGE; i += 4) {
                    *(uint32_t *)(rb->host + p * PAGE + i) = g_rand_int(rand);
                }
            } else if (p % 5 == 0) {
                memset(rb->host + p * PAGE, 0, PAGE);
            }
        }
        /* The rest stays untouched. */
    }
    g_rand_free(rand);
}

static void round_trip(RAMLoadFaultPolicy policy)
{
    g_autoptr(GPtrArray) src_blocks = test_blocks_new("pc.ram", 1024, "vga.vram", 600);
    g_autoptr(GPtrArray) dst_blocks = test_blocks_new("pc.ram", 1024, "vga.vram", 600);
    MigrationAtomicStats stats = { 0 };
    g_autoptr(RAMState) src = NULL;
    g_autoptr(RAMState) dst = ram_load_state_new(dst_blocks);
    g_autoptr(GBytes) stream = NULL;
    GError *err = NULL;
    FakeDirty d;

    fake_dirty_init(&d, src_blocks);
    fill_source(&d);
    /* A destination page holding old data where the source has a zero page. */
    memset(block(dst_blocks, 0)->host + 5 * PAGE, 0xee, PAGE);

    src = source_new(&d, &stats);
    stream = save_everything(src);
    ram_state_set_load_fault_policy(dst, policy);
    g_assert_true(load_all(dst, g_bytes_get_data(stream, NULL), g_bytes_get_size(stream), &err));
    g_assert_no_error(err);

    g_assert_cmpuint(migration_stat_get(&stats.zero_pages) + migration_stat_get(&stats.normal_pages),
                     ==, 1024 + 600);
    g_assert_cmpuint(migration_stat_get(&stats.normal_pages), ==, 171 + 171);
    /* Pages beyond the first 2 MiB only received zero pages: never touched on either side. */
    for (uint64_t p = 512; p < 1024; p++) {
        g_assert_true(page_untouched(block(src_blocks, 0), p));
        g_assert_true(page_untouched(block(dst_blocks, 0), p));
    }
    for (uint64_t p = 512; p < 600; p++) {
        g_assert_true(page_untouched(block(dst_blocks, 1), p));
    }
    /* Compared last: reading faults the untouched pages in. */
    assert_blocks_equal(src_blocks, dst_blocks);
    ram_save_handlers.save_cleanup(src);
    fake_dirty_cleanup(&d);
}

static void test_round_trip_populate_chunk(void)
{
    round_trip(RAM_LOAD_FAULT_POPULATE_CHUNK);
}

static void test_round_trip_hugepage(void)
{
    round_trip(RAM_LOAD_FAULT_HUGEPAGE);
}

static void test_round_trip_plain(void)
{
    round_trip(RAM_LOAD_FAULT_PLAIN);
}

static void test_dirty_pages_resent(void)
{
    g_autoptr(GPtrArray) src_blocks = test_blocks_new("a", 64, "b", 64);
    g_autoptr(GPtrArray) dst_blocks = test_blocks_new("a", 64, "b", 64);
    MigrationAtomicStats stats = { 0 };
    g_autoptr(RAMState) src = NULL;
    g_autoptr(RAMState) dst = ram_load_state_new(dst_blocks);
    g_autoptr(GBytes) first = NULL, second = NULL;
    uint64_t last_sync = 0, pending = 0;
    QEMUFile *f = qemu_file_new_output_buffer();
    GError *err = NULL;
    FakeDirty d;

    fake_dirty_init(&d, src_blocks);
    src = source_new(&d, &stats);
    ram_state_set_sync_hook(src, on_sync_count, &last_sync);
    fake_guest_write(&d, 0, 3, 0x33);       /* before setup: sent by the first pass */
    g_assert_true(ram_save_handlers.save_setup(f, src, NULL));
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, src, NULL), ==,
                    SAVEVM_ITERATE_DONE);
    first = output_bytes(f);
    g_assert_true(load_all(dst, g_bytes_get_data(first, NULL), g_bytes_get_size(first), &err));
    assert_blocks_equal(src_blocks, dst_blocks);

    /* The guest writes on; the next pass sends exactly those pages. */
    fake_guest_write(&d, 0, 3, 0x44);
    fake_guest_write(&d, 1, 63, 0x55);
    fake_guest_write(&d, 1, 10, 0x00);
    ram_save_handlers.state_pending_estimate(src, &pending);
    g_assert_cmpuint(pending, ==, 0);
    g_assert_true(ram_save_handlers.state_pending_exact(src, &pending, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(pending, ==, 3 * PAGE);
    g_assert_cmpuint(last_sync, ==, 2);
    g_assert_cmpuint(migration_stat_get(&stats.remaining), ==, 3 * PAGE);

    f = qemu_file_new_output_buffer();
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, src, NULL), ==,
                    SAVEVM_ITERATE_DONE);
    g_assert_cmpuint(migration_stat_get(&stats.normal_pages), ==, 1 + 2);
    g_assert_cmpuint(migration_stat_get(&stats.zero_pages), ==, 127 + 1);

    /* Nothing synced since the round ended: the next iterate starts a pass itself. */
    fake_guest_write(&d, 1, 0, 0x66);
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, src, NULL), ==,
                    SAVEVM_ITERATE_DONE);
    g_assert_cmpuint(last_sync, ==, 3);
    /* complete: a final sync; what was dirtied while stopped counts as downtime bytes. */
    fake_guest_write(&d, 0, 0, 0x77);
    g_assert_true(ram_save_handlers.save_live_complete(f, src, NULL));
    g_assert_cmpuint(last_sync, ==, 4);
    g_assert_cmpuint(migration_stat_get(&stats.downtime_bytes), ==, 8 + 1 + 1 + PAGE);
    second = output_bytes(f);
    g_assert_true(load_all(dst, g_bytes_get_data(second, NULL), g_bytes_get_size(second), &err));
    g_assert_no_error(err);
    assert_blocks_equal(src_blocks, dst_blocks);
    ram_save_handlers.save_cleanup(src);
    fake_dirty_cleanup(&d);
}

/* ---- rate limit ---- */

typedef struct FakeLimit {
    QEMUFile *f;
    uint64_t budget;
    unsigned asked;
} FakeLimit;

static bool fake_limit_exceeded(void *opaque)
{
    FakeLimit *l = opaque;

    l->asked++;
    return qemu_file_transferred(l->f) >= l->budget;
}

static void test_rate_limit(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 256, NULL, 0);
    MigrationAtomicStats stats = { 0 };
    g_autoptr(RAMState) rs = NULL;
    g_autoptr(GBytes) bytes = NULL;
    FakeLimit limit = { .f = qemu_file_new_output_buffer() };
    RAMRateLimit rl = { .exceeded = fake_limit_exceeded, .opaque = &limit };
    uint64_t sent;
    FakeDirty d;
    SaveVMIterateResult ret;

    fake_dirty_init(&d, blocks);
    for (uint64_t p = 0; p < 256; p++) {
        fake_guest_write(&d, 0, p, p % 255 + 1);
    }
    rs = source_new(&d, &stats);
    ram_state_set_rate_limit(rs, &rl);
    g_assert_true(ram_save_handlers.save_setup(limit.f, rs, NULL));

    /* Already over budget: nothing but EOS, and more remains. */
    limit.budget = 0;
    g_assert_cmpint(ram_save_handlers.save_live_iterate(limit.f, rs, NULL), ==,
                    SAVEVM_ITERATE_MORE);
    g_assert_cmpuint(migration_stat_get(&stats.normal_pages), ==, 0);

    /* A budget of 10 pages: stops at the next check, 16 pages in. */
    limit.budget = qemu_file_transferred(limit.f) + 10 * PAGE;
    limit.asked = 0;
    g_assert_cmpint(ram_save_handlers.save_live_iterate(limit.f, rs, NULL), ==,
                    SAVEVM_ITERATE_MORE);
    sent = migration_stat_get(&stats.normal_pages);
    g_assert_cmpuint(sent, >=, 10);
    g_assert_cmpuint(sent, <=, 32);
    g_assert_cmpuint(limit.asked, <, sent);     /* not asked every page */
    g_assert_cmpuint(ram_state_dirty_pages(rs), ==, 256 - sent);

    ram_state_set_rate_limit(rs, NULL);
    do {
        ret = ram_save_handlers.save_live_iterate(limit.f, rs, NULL);
    } while (ret == SAVEVM_ITERATE_MORE);
    g_assert_cmpint(ret, ==, SAVEVM_ITERATE_DONE);
    g_assert_cmpuint(migration_stat_get(&stats.normal_pages), ==, 256);
    bytes = output_bytes(limit.f);
    ram_save_handlers.save_cleanup(rs);
    fake_dirty_cleanup(&d);
}

static void test_source_errors(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 4, NULL, 0);
    g_autoptr(RAMState) dst_only = ram_load_state_new(blocks);
    g_autoptr(RAMState) rs = NULL;
    QEMUFile *f = qemu_file_new_output_buffer();
    GError *err = NULL;
    FakeDirty d;
    uint64_t pending = 0;

    g_assert_false(ram_save_handlers.save_setup(f, dst_only, &err));
    g_assert_nonnull(strstr(err->message, "no dirty page source"));
    g_clear_error(&err);

    fake_dirty_init(&d, blocks);
    rs = source_new(&d, NULL);
    d.fail = true;
    g_assert_false(ram_save_handlers.save_setup(f, rs, &err));
    g_assert_cmpstr(err->message, ==, "dirty bitmap sync of RAM block \"a\": fake sync failure");
    g_clear_error(&err);
    d.fail = false;
    g_assert_true(ram_save_handlers.save_setup(f, rs, NULL));
    d.fail = true;
    g_assert_false(ram_save_handlers.state_pending_exact(rs, &pending, &err));
    g_assert_cmpstr(err->message, ==,
                    "dirty bitmap sync of RAM block \"a\": fake sync failure");
    g_clear_error(&err);
    ram_save_handlers.save_cleanup(rs);
    qemu_fclose(f, NULL);
    fake_dirty_cleanup(&d);
}

/* ---- destination rejects ---- */

/* A block list for blocks "a" (2 pages) and "bb" (3 pages). */
static void put_block_list(GByteArray *s)
{
    put64(s, 5 * PAGE | RAM_SAVE_FLAG_MEM_SIZE);
    put_name(s, "a");
    put64(s, 2 * PAGE);
    put_name(s, "bb");
    put64(s, 3 * PAGE);
}

/* Load @s into fresh blocks "a"/"bb"; the error message must contain @needle. */
static void expect_reject(GByteArray *s, const char *needle)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    GError *err = NULL;

    g_assert_false(load_all(rs, s->data, s->len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, needle)) {
        g_error("error \"%s\" does not mention \"%s\"", err->message, needle);
    }
    g_assert_nonnull(strstr(err->message, "stream offset"));
    g_error_free(err);
    for (guint i = 0; i < blocks->len; i++) {
        for (uint64_t p = 0; p < ramblock_pages(block(blocks, i)); p++) {
            g_assert_true(page_untouched(block(blocks, i), p));
        }
    }
}

static void test_reject_unknown_block(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();

    put64(s, 2 * PAGE | RAM_SAVE_FLAG_MEM_SIZE);
    put_name(s, "zz");
    put64(s, 2 * PAGE);
    expect_reject(s, "Unknown ramblock \"zz\", cannot accept migration (RAM section, stream offset 8)");

    g_byte_array_set_size(s, 0);
    put64(s, RAM_SAVE_FLAG_ZERO);
    put_u8(s, 3);
    g_byte_array_append(s, (const guint8 *)"a\0\"", 3);
    put_u8(s, 0);
    expect_reject(s, "Unknown ramblock \"a\\000\\042\"");
}

static void test_reject_length_mismatch(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();

    put64(s, 3 * PAGE | RAM_SAVE_FLAG_MEM_SIZE);
    put_name(s, "a");
    put64(s, 3 * PAGE);
    expect_reject(s, "Length mismatch: a: 0x3000 in != 0x2000 (RAM block \"a\", stream offset 8)");

    /* The lengths do not add up to the announced total. */
    g_byte_array_set_size(s, 0);
    put64(s, 1 * PAGE | RAM_SAVE_FLAG_MEM_SIZE);
    put_name(s, "a");
    put64(s, 2 * PAGE);
    expect_reject(s, "exceeds the total of 0x1000 bytes");
}

static void test_reject_bad_offset(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();

    put_block_list(s);
    put64(s, 2 * PAGE | RAM_SAVE_FLAG_PAGE);
    put_name(s, "a");
    expect_reject(s, "Illegal RAM offset 0x2000 (block length 0x2000) (RAM block \"a\", stream offset 29)");

    g_byte_array_set_size(s, 0);
    put64(s, (1ull << 63) | RAM_SAVE_FLAG_ZERO);
    put_name(s, "bb");
    put_u8(s, 0);
    expect_reject(s, "Illegal RAM offset 0x8000000000000000");

    /* Misaligned: the stray low bits read as flags nobody defines. */
    g_byte_array_set_size(s, 0);
    put64(s, 0x1800 | RAM_SAVE_FLAG_PAGE);
    put_name(s, "a");
    expect_reject(s, "unknown flag bits 0x800 (or an offset that is not page-aligned)");
}

static void test_reject_continue_first(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();

    put_block_list(s);
    put64(s, RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_CONTINUE);
    put_u8(s, 0);
    expect_reject(s, "CONTINUE flag but no block named before it (RAM section, stream offset 29)");
}

static void test_reject_zero_fill(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();

    put64(s, PAGE | RAM_SAVE_FLAG_ZERO);
    put_name(s, "bb");
    put_u8(s, 7);
    expect_reject(s, "Found a zero page with value 7 (RAM block \"bb\", stream offset 0)");
}

static void test_reject_flags(void)
{
    static const struct {
        uint64_t word;
        const char *needle;
    } cases[] = {
        { RAM_SAVE_FLAG_MULTIFD_FLUSH, "MULTIFD_FLUSH (0x200)" },
        /* The compress capability is off on this destination. */
        { RAM_SAVE_FLAG_COMPRESS_PAGE, "Received an unexpected compressed page" },
        { RAM_SAVE_FLAG_HOOK, "HOOK (0x80)" },
        { RAM_SAVE_FLAG_FULL | RAM_SAVE_FLAG_PAGE, "FULL (0x01)" },
        { RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE, "Unknown combination of migration flags: 0xa" },
        { 0, "Unknown combination of migration flags: 0x0" },
        { RAM_SAVE_FLAG_CONTINUE, "Unknown combination of migration flags: 0x20" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) s = g_byte_array_new();

        put64(s, cases[i].word);
        put_name(s, "a");
        expect_reject(s, cases[i].needle);
    }
}

static void test_reject_empty_name_and_version(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, NULL, 0);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    QEMUFile *f;
    GError *err = NULL;

    put64(s, RAM_SAVE_FLAG_PAGE);
    put_u8(s, 0);
    expect_reject(s, "RAM block name of length 0");

    g_byte_array_set_size(s, 0);
    put64(s, RAM_SAVE_FLAG_EOS);
    f = qemu_file_new_input_buffer(s->data, s->len);
    g_assert_false(ram_save_handlers.load_state(f, rs, 3, &err));
    g_assert_cmpstr(err->message, ==, "RAM section version 3 is not supported (tern loads version 4)");
    g_clear_error(&err);
    g_assert_true(ram_save_handlers.load_state(f, rs, 4, &err));
    qemu_fclose(f, NULL);
}

/* A valid stream cut at every offset fails cleanly; in full it loads. */
static void test_truncated_everywhere(void)
{
    g_autoptr(GPtrArray) src_blocks = test_blocks_new("a", 3, "bb", 2);
    g_autoptr(RAMState) src = NULL;
    g_autoptr(GBytes) stream = NULL;
    const uint8_t *data;
    size_t len;
    FakeDirty d;

    fake_dirty_init(&d, src_blocks);
    fake_guest_write(&d, 0, 1, 0xab);
    fake_guest_write(&d, 1, 0, 0xcd);
    src = source_new(&d, NULL);
    stream = save_everything(src);
    data = g_bytes_get_data(stream, &len);

    for (size_t cut = 1; cut < len; cut++) {
        g_autoptr(GPtrArray) dst_blocks = test_blocks_new("a", 3, "bb", 2);
        g_autoptr(RAMState) dst = ram_load_state_new(dst_blocks);
        GError *err = NULL;
        bool whole_sections;

        /* A cut right after an EOS leaves whole payloads, which load fine. */
        whole_sections = cut >= 8 && memcmp(data + cut - 8, "\0\0\0\0\0\0\0\x10", 8) == 0;
        if (load_all(dst, data, cut, &err)) {
            g_assert_true(whole_sections);
            continue;
        }
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "stream offset"));
        g_error_free(err);
    }
    {
        g_autoptr(GPtrArray) dst_blocks = test_blocks_new("a", 3, "bb", 2);
        g_autoptr(RAMState) dst = ram_load_state_new(dst_blocks);

        g_assert_true(load_all(dst, data, len, NULL));
        assert_blocks_equal(src_blocks, dst_blocks);
    }
    ram_save_handlers.save_cleanup(src);
    fake_dirty_cleanup(&d);
}

/* CONTINUE refers to the block of the previous record, even across sections (QEMU streams do that). */
static void test_continue_across_sections(void)
{
    g_autoptr(GByteArray) s = g_byte_array_new();
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    uint8_t page[PAGE];
    GError *err = NULL;

    /* Plain faults: a populated chunk would cover the page checked below. */
    ram_state_set_load_fault_policy(rs, RAM_LOAD_FAULT_PLAIN);
    memset(page, 0x3c, PAGE);
    put64(s, RAM_SAVE_FLAG_ZERO);
    put_name(s, "bb");
    put_u8(s, 0);
    put64(s, RAM_SAVE_FLAG_EOS);
    put64(s, 2 * PAGE | RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE);
    g_byte_array_append(s, page, PAGE);
    put64(s, RAM_SAVE_FLAG_EOS);
    g_assert_true(load_all(rs, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(block(blocks, 1)->host + 2 * PAGE, PAGE, page, PAGE);
    g_assert_true(page_untouched(block(blocks, 1), 0));
}

static void test_stats_reset(void)
{
    MigrationAtomicStats stats;

    memset(&stats, 0xff, sizeof(stats));
    migration_stats_reset(&stats);
    g_assert_cmpuint(migration_stat_get(&stats.downtime_bytes), ==, 0);
    migration_stat_add(&stats.zero_pages, 3);
    migration_stat_add(&stats.normal_pages, 4);
    g_assert_cmpuint(migration_stats_pages_sent(&stats), ==, 7);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram/save/setup-bytes", test_setup_bytes);
    g_test_add_func("/ram/save/page-record-bytes", test_page_record_bytes);
    g_test_add_func("/ram/save/dirty-pages-resent", test_dirty_pages_resent);
    g_test_add_func("/ram/save/rate-limit", test_rate_limit);
    g_test_add_func("/ram/save/errors", test_source_errors);
    g_test_add_func("/ram/round-trip/populate-chunk", test_round_trip_populate_chunk);
    g_test_add_func("/ram/round-trip/hugepage", test_round_trip_hugepage);
    g_test_add_func("/ram/round-trip/plain", test_round_trip_plain);
    g_test_add_func("/ram/load/continue-across-sections", test_continue_across_sections);
    g_test_add_func("/ram/load/reject/unknown-block", test_reject_unknown_block);
    g_test_add_func("/ram/load/reject/length-mismatch", test_reject_length_mismatch);
    g_test_add_func("/ram/load/reject/bad-offset", test_reject_bad_offset);
    g_test_add_func("/ram/load/reject/continue-first", test_reject_continue_first);
    g_test_add_func("/ram/load/reject/zero-fill", test_reject_zero_fill);
    g_test_add_func("/ram/load/reject/flags", test_reject_flags);
    g_test_add_func("/ram/load/reject/empty-name-and-version", test_reject_empty_name_and_version);
    g_test_add_func("/ram/load/truncated-everywhere", test_truncated_everywhere);
    g_test_add_func("/ram/stats/reset", test_stats_reset);
    return g_test_run();
}
