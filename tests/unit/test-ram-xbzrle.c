/*
 * XBZRLE in the RAM section (migration/ram-xbzrle.c, page-cache.c): the
 * page cache's slot and age rules, the exact bytes of an XBZRLE record,
 * the counters of each outcome (miss, delta, unchanged, overflow), random
 * rounds of guest writes through a cache too small to hold them, a resize
 * between iterate calls, and every way a destination refuses a record.
 */
#include "ram-fixture.h"
#include "page-cache.h"
#include "ram-internal.h"
#include "qemu/error.h"

#include <string.h>

/* ---- page cache ---- */

static void test_cache_rules(void)
{
    g_autoptr(PageCache) c = page_cache_new(4 * PAGE, PAGE, NULL);
    g_autofree uint8_t *a = g_malloc(PAGE);
    g_autofree uint8_t *b = g_malloc(PAGE);
    uint8_t *copy;

    memset(a, 0xaa, PAGE);
    memset(b, 0xbb, PAGE);
    g_assert_cmpuint(page_cache_slots(c), ==, 4);
    g_assert_null(page_cache_lookup(c, 0, 1));
    copy = page_cache_insert(c, 0, a, 1);
    g_assert_nonnull(copy);
    g_assert_cmpmem(copy, PAGE, a, PAGE);
    g_assert_true(page_cache_lookup(c, 0, 1) == copy);
    /* Page 4 shares page 0's slot: refused while page 0 is fresh (used in 1, lifetime 2). */
    g_assert_null(page_cache_lookup(c, 4, 2));
    g_assert_null(page_cache_insert(c, 4, b, 1));
    g_assert_null(page_cache_insert(c, 4, b, 2));
    /* A hit in generation 5 keeps it until generation 7. */
    g_assert_nonnull(page_cache_lookup(c, 0, 5));
    g_assert_null(page_cache_insert(c, 4, b, 6));
    copy = page_cache_insert(c, 4, b, 7);
    g_assert_nonnull(copy);
    g_assert_cmpmem(copy, PAGE, b, PAGE);
    g_assert_null(page_cache_lookup(c, 0, 7));
    /* The same page is always replaced by its newer copy. */
    g_assert_nonnull(page_cache_insert(c, 4, a, 7));
    g_assert_cmpmem(page_cache_lookup(c, 4, 7), PAGE, a, PAGE);
}

static void test_cache_sizes(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    g_assert_null(page_cache_new(PAGE / 2, PAGE, &e1));
    g_assert_cmpstr(e1->message, ==,
                    "Parameter 'cache size' expects is smaller than one target page size");
    g_assert_null(page_cache_new(3 * PAGE, PAGE, &e2));
    g_assert_cmpstr(e2->message, ==,
                    "Parameter 'cache size' expects is not a power of two number of pages");
    /* More than any host gives: refused, not an abort. */
    g_assert_null(page_cache_new(1ULL << 62, PAGE, &e3));
    g_assert_cmpstr(e3->message, ==, "Parameter 'cache size' expects Failed to allocate cache");
}

/* ---- source ---- */

/* A source with XBZRLE on, a @cache_pages-page cache, its first round already sent. */
typedef struct XbzrleRig {
    GPtrArray *src_blocks;
    GPtrArray *dst_blocks;
    FakeDirty d;
    MigrationAtomicStats stats;
    RAMState *src;
    RAMState *dst;
} XbzrleRig;

/* Sync and send everything dirty with one iterate call; the destination loads it. */
static GBytes *rig_round(XbzrleRig *r)
{
    QEMUFile *f = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    GBytes *out;
    uint64_t pending;

    g_assert_true(ram_save_handlers.state_pending_exact(r->src, &pending, &err));
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, r->src, &err), ==,
                    SAVEVM_ITERATE_DONE);
    g_assert_no_error(err);
    out = output_bytes(f);
    g_assert_true(load_all(r->dst, g_bytes_get_data(out, NULL), g_bytes_get_size(out), &err));
    g_assert_no_error(err);
    assert_blocks_equal(r->src_blocks, r->dst_blocks);
    return out;
}

static void rig_init(XbzrleRig *r, uint64_t pages, uint64_t cache_pages)
{
    QEMUFile *f = qemu_file_new_output_buffer();
    g_autoptr(GBytes) first = NULL;

    memset(r, 0, sizeof(*r));
    r->src_blocks = test_blocks_new("a", pages, "b", pages);
    r->dst_blocks = test_blocks_new("a", pages, "b", pages);
    fake_dirty_init(&r->d, r->src_blocks);
    r->src = source_new(&r->d, &r->stats);
    r->dst = ram_load_state_new(r->dst_blocks);
    ram_state_set_xbzrle(r->src, true, cache_pages * PAGE);
    for (uint64_t p = 0; p < pages; p += 2) {
        fake_guest_write(&r->d, 0, p, 0x10 + p);
        fake_guest_write(&r->d, 1, p, 0x90 + p);
    }
    g_assert_true(ram_save_handlers.save_setup(f, r->src, NULL));
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, r->src, NULL), ==,
                    SAVEVM_ITERATE_DONE);
    first = output_bytes(f);
    g_assert_true(load_all(r->dst, g_bytes_get_data(first, NULL), g_bytes_get_size(first), NULL));
    /* The first round neither reads nor fills the cache. */
    g_assert_cmpuint(migration_stat_get(&r->stats.xbzrle_cache_miss), ==, 0);
    g_assert_cmpuint(migration_stat_get(&r->stats.xbzrle_pages), ==, 0);
}

static void rig_cleanup(XbzrleRig *r)
{
    ram_save_handlers.save_cleanup(r->src);
    ram_state_free(r->src);
    ram_state_free(r->dst);
    fake_dirty_cleanup(&r->d);
    g_ptr_array_unref(r->src_blocks);
    g_ptr_array_unref(r->dst_blocks);
}

/* The guest writes @len bytes of @value at @at in a page. */
static void guest_poke(XbzrleRig *r, guint blk, uint64_t page, size_t at, size_t len,
                       uint8_t value)
{
    memset(block(r->src_blocks, blk)->host + page * PAGE + at, value, len);
    set_bit(page, r->d.written[blk]);
}

static uint64_t counter(XbzrleRig *r, MigrationStat *s)
{
    return migration_stat_get(s);
}

static void test_outcomes(void)
{
    XbzrleRig r;
    g_autoptr(GBytes) round2 = NULL, round3 = NULL, round4 = NULL;
    /* Block "a" page 2, bytes 5..6 changed to 0xee: one XBZRLE record. */
    static const uint8_t expect3[] = {
        0, 0, 0, 0, 0, 0, 0x20, 0x40,           /* offset 0x2000 | XBZRLE */
        1, 'a',                                 /* first record: the block's name */
        0x01, 0x00, 0x04,                       /* ENCODING_FLAG_XBZRLE, be16 4 */
        0x05, 0x02, 0xee, 0xee,                 /* 5 unchanged, 2 new */
        0, 0, 0, 0, 0, 0, 0, 0x10,              /* EOS */
    };

    rig_init(&r, 16, 64);
    /* Round 2: every page seen for the first time, so inserted and sent whole. */
    guest_poke(&r, 0, 2, 5, 2, 0xdd);
    guest_poke(&r, 0, 3, 0, 1, 0x01);           /* was zero: now data */
    round2 = rig_round(&r);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_cache_miss), ==, 2);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 0);

    /* Round 3: a two-byte change is a delta of 4 bytes. */
    guest_poke(&r, 0, 2, 5, 2, 0xee);
    round3 = rig_round(&r);
    g_assert_cmpmem(g_bytes_get_data(round3, NULL), g_bytes_get_size(round3),
                    expect3, sizeof(expect3));
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 1);
    /* 2 bytes of name, 3 of encoding byte and length, 4 of delta. */
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_bytes), ==, 2 + 3 + 4);

    /* Round 4: written but unchanged (nothing sent), changed all over (overflow). */
    guest_poke(&r, 0, 2, 5, 2, 0xee);
    for (size_t i = 0; i < PAGE; i += 2) {
        guest_poke(&r, 0, 3, i, 1, 0x40 + i);
    }
    round4 = rig_round(&r);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 3);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_overflow), ==, 1);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_bytes), ==, 9 + PAGE);
    /* One normal page record (name, word, page) and EOS. */
    g_assert_cmpuint(g_bytes_get_size(round4), ==, 8 + 2 + PAGE + 8);
    rig_cleanup(&r);
}

/* A page sent as zeros is cached as zeros: its next change is a delta. */
static void test_zero_page_cached(void)
{
    XbzrleRig r;
    g_autoptr(GBytes) round2 = NULL, round3 = NULL;

    rig_init(&r, 16, 64);
    guest_poke(&r, 1, 4, 0, PAGE, 0);           /* had data, now zeros */
    round2 = rig_round(&r);
    g_assert_cmpuint(counter(&r, &r.stats.zero_pages), ==, 8 + 8 + 1);
    guest_poke(&r, 1, 4, 100, 1, 0x7f);
    round3 = rig_round(&r);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 1);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_cache_miss), ==, 0);
    rig_cleanup(&r);
}

/*
 * Many rounds of random small writes through a cache of 8 slots for 256
 * pages: misses, refused inserts, evictions and deltas mixed; after every
 * round the destination must equal the source.
 */
static void test_random_rounds(void)
{
    XbzrleRig r;

    rig_init(&r, 128, 8);
    for (int round = 0; round < 200; round++) {
        int writes = g_test_rand_int_range(1, 24);
        g_autoptr(GBytes) out = NULL;

        for (int w = 0; w < writes; w++) {
            guint blk = g_test_rand_int_range(0, 2);
            /* Mostly a few hot pages, so some stay cached. */
            uint64_t page = g_test_rand_bit() ? g_test_rand_int_range(0, 6)
                                              : g_test_rand_int_range(0, 128);
            size_t at = g_test_rand_int_range(0, PAGE);
            size_t len = g_test_rand_int_range(1, MIN(PAGE - at, 64) + 1);

            guest_poke(&r, blk, page, at, len, g_test_rand_int());
        }
        out = rig_round(&r);
    }
    g_test_message("%" G_GUINT64_FORMAT " deltas/unchanged, %" G_GUINT64_FORMAT " misses",
                   counter(&r, &r.stats.xbzrle_pages), counter(&r, &r.stats.xbzrle_cache_miss));
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), >, 0);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_cache_miss), >, 0);
    rig_cleanup(&r);
}

static void test_resize(void)
{
    XbzrleRig r;
    g_autoptr(GBytes) a = NULL, b = NULL, c = NULL;
    g_autoptr(GError) err = NULL;

    rig_init(&r, 16, 64);
    guest_poke(&r, 0, 0, 0, 1, 1);
    a = rig_round(&r);                          /* miss: cached */
    g_assert_false(ram_state_resize_xbzrle_cache(r.src, 3 * PAGE, &err));
    g_assert_nonnull(err);
    g_assert_true(ram_state_resize_xbzrle_cache(r.src, 16 * PAGE, NULL));
    guest_poke(&r, 0, 0, 0, 1, 2);
    b = rig_round(&r);                          /* the new cache is empty: a miss again */
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_cache_miss), ==, 2);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 0);
    guest_poke(&r, 0, 0, 0, 1, 3);
    c = rig_round(&r);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 1);
    rig_cleanup(&r);
}

/* The final pass reads the cache but does not fill it. */
static void test_complete(void)
{
    XbzrleRig r;
    g_autoptr(GBytes) a = NULL, out = NULL;
    QEMUFile *f;

    rig_init(&r, 16, 64);
    guest_poke(&r, 0, 1, 0, 1, 1);
    a = rig_round(&r);
    guest_poke(&r, 0, 1, 9, 1, 2);              /* cached: a delta */
    guest_poke(&r, 1, 1, 9, 1, 2);              /* not cached: whole */
    f = qemu_file_new_output_buffer();
    g_assert_true(ram_save_handlers.save_live_complete(f, r.src, NULL));
    out = output_bytes(f);
    g_assert_true(load_all(r.dst, g_bytes_get_data(out, NULL), g_bytes_get_size(out), NULL));
    assert_blocks_equal(r.src_blocks, r.dst_blocks);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 1);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_cache_miss), ==, 2);
    g_assert_cmpuint(counter(&r, &r.stats.downtime_bytes), ==,
                     (8 + 2 + 3 + 3) + (8 + 2 + PAGE));
    rig_cleanup(&r);
}

/* In postcopy the destination places whole pages: no deltas, no cache lookups. */
static void test_postcopy_sends_whole(void)
{
    XbzrleRig r;
    g_autoptr(GBytes) a = NULL, b = NULL;

    rig_init(&r, 16, 64);
    guest_poke(&r, 0, 2, 5, 1, 0x42);
    a = rig_round(&r);                          /* a miss: cached */
    r.src->postcopy.active = true;              /* as the switch to postcopy sets it */
    guest_poke(&r, 0, 2, 6, 1, 0x43);
    b = rig_round(&r);
    r.src->postcopy.active = false;
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_pages), ==, 0);
    g_assert_cmpuint(counter(&r, &r.stats.xbzrle_cache_miss), ==, 1);
    /* The word, the name, the page, EOS. */
    g_assert_cmpuint(g_bytes_get_size(b), ==, 8 + 2 + PAGE + 8);
    rig_cleanup(&r);
}

/* ---- destination refusals ---- */

/* Load @s into fresh blocks "a"/"bb"; the error names @needle, block "bb", and no page changed. */
static void expect_refused(GByteArray *s, const char *needle)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    g_autoptr(GError) err = NULL;

    g_assert_false(load_all(rs, s->data, s->len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, needle) ||
        !strstr(err->message, "RAM record at stream offset 0 (block \"bb\", page offset 0x1000)")) {
        g_error("error \"%s\" does not name \"%s\", the record and the block", err->message,
                needle);
    }
    for (guint i = 0; i < blocks->len; i++) {
        for (uint64_t p = 0; p < ramblock_pages(block(blocks, i)); p++) {
            g_assert_true(page_untouched(block(blocks, i), p));
        }
    }
}

/* An XBZRLE record for page 1 of "bb": encoding byte, length, @n bytes of @delta. */
static GByteArray *xbzrle_record(guint8 encoding, guint16 len, const guint8 *delta, size_t n)
{
    GByteArray *s = g_byte_array_new();

    put64(s, PAGE | RAM_SAVE_FLAG_XBZRLE);
    put_name(s, "bb");
    put_u8(s, encoding);
    put_u8(s, len >> 8);
    put_u8(s, len);
    g_byte_array_append(s, delta, n);
    return s;
}

static void test_load_refusals(void)
{
    static const guint8 past_page[] = { 0xff, 0x1f, 0x02, 0xaa, 0xbb };
    static const guint8 ok[] = { 0x05, 0x01, 0xaa };
    g_autoptr(GByteArray) wrong = xbzrle_record(0x02, sizeof(ok), ok, sizeof(ok));
    g_autoptr(GByteArray) too_long = xbzrle_record(0x01, PAGE + 1, ok, sizeof(ok));
    g_autoptr(GByteArray) cut = xbzrle_record(0x01, 10, ok, sizeof(ok));
    g_autoptr(GByteArray) bad = xbzrle_record(0x01, sizeof(past_page), past_page,
                                              sizeof(past_page));

    expect_refused(wrong, "Failed to load XBZRLE page - wrong compression! "
                          "(encoding byte 0x02, expected 0x01)");
    expect_refused(too_long, "Failed to load XBZRLE page - len overflow! "
                             "(4097 bytes of delta for a 4096-byte page)");
    expect_refused(cut, "unexpected end of migration stream");
    expect_refused(bad, "Failed to load XBZRLE page - decode error! XBZRLE delta: run of 2 "
                        "new bytes at delta offset 2 ends past the page");
}

/* A destination placing postcopy pages refuses a delta, as QEMU's does. */
static void test_load_postcopy_refused(void)
{
    static const guint8 delta[] = { 0x05, 0x01, 0xaa };
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    g_autoptr(GByteArray) s = xbzrle_record(0x01, sizeof(delta), delta, sizeof(delta));
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_input_buffer(s->data, s->len);

    g_assert_true(ram_save_handlers.load_setup(rs, NULL));
    rs->load.postcopy.listening = true;         /* as LISTEN sets it */
    g_assert_false(ram_save_handlers.load_state(f, rs, RAM_SECTION_VERSION, &err));
    rs->load.postcopy.listening = false;
    ram_save_handlers.load_cleanup(rs);
    qemu_fclose(f, NULL);
    g_assert_nonnull(strstr(err->message, "XBZRLE page during postcopy"));
    g_assert_nonnull(strstr(err->message, "RAM block \"bb\", stream offset 0"));
    g_assert_true(page_untouched(block(blocks, 1), 1));
}

/* A destination loads a delta whatever its own capabilities (QEMU's does too). */
static void test_load_delta(void)
{
    static const guint8 delta[] = { 0x05, 0x01, 0xaa };
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 2, "bb", 3);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    g_autoptr(GByteArray) s = xbzrle_record(0x01, sizeof(delta), delta, sizeof(delta));
    g_autoptr(GError) err = NULL;
    uint8_t *host = block(blocks, 1)->host + PAGE;

    memset(host, 0x33, PAGE);
    put64(s, RAM_SAVE_FLAG_EOS);
    g_assert_true(load_all(rs, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(host[4], ==, 0x33);
    g_assert_cmpuint(host[5], ==, 0xaa);
    g_assert_cmpuint(host[6], ==, 0x33);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-xbzrle/cache/rules", test_cache_rules);
    g_test_add_func("/ram-xbzrle/cache/sizes", test_cache_sizes);
    g_test_add_func("/ram-xbzrle/save/outcomes", test_outcomes);
    g_test_add_func("/ram-xbzrle/save/zero-page-cached", test_zero_page_cached);
    g_test_add_func("/ram-xbzrle/save/random-rounds", test_random_rounds);
    g_test_add_func("/ram-xbzrle/save/resize", test_resize);
    g_test_add_func("/ram-xbzrle/save/complete", test_complete);
    g_test_add_func("/ram-xbzrle/load/delta", test_load_delta);
    g_test_add_func("/ram-xbzrle/save/postcopy-sends-whole", test_postcopy_sends_whole);
    g_test_add_func("/ram-xbzrle/load/refusals", test_load_refusals);
    g_test_add_func("/ram-xbzrle/load/postcopy-refused", test_load_postcopy_refused);
    return g_test_run();
}
