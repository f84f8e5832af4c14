/*
 * Capability compress (migration/ram-compress*.c): the codec against
 * zlib's own uncompress2() on thousands of random and mutated inputs, the
 * exact bytes of a compressed record, random rounds of guest writes
 * through 1 to 8 compress threads and 1 to 4 decompress threads, every
 * way a destination refuses a compressed record (nothing written), and
 * both sides' postcopy paths (compressed and decompressed in place).
 */
#include "ram-fixture.h"
#include "ram-compress-codec.h"
#include "ram-internal.h"
#include "qemu/error.h"

#include <string.h>

#define MAX_LEN         RAM_COMPRESS_MAX_LEN(PAGE)
#define FUZZ_RANDOM     3000
#define FUZZ_MUTATED    3000
#define GUARD           64

/* A page of one of several kinds: zeros but a byte, text-like, runs, random. */
static void fill_page(GRand *r, uint8_t *page, int kind)
{
    switch (kind % 4) {
    case 0:
        memset(page, 0, PAGE);
        page[g_rand_int_range(r, 0, PAGE)] = g_rand_int(r);
        break;
    case 1:
        for (size_t i = 0; i < PAGE; i++) {
            page[i] = "abcdefgh "[g_rand_int_range(r, 0, 9)];
        }
        break;
    case 2:
        for (size_t i = 0; i < PAGE; i += 64) {
            memset(page + i, g_rand_int_range(r, 0, 4), 64);
        }
        break;
    default:
        for (size_t i = 0; i < PAGE; i++) {
            page[i] = g_rand_int(r);
        }
        break;
    }
}

static bool buffer_is_zero_for_test(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* ---- codec ---- */

static void test_codec_round_trip(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(11);
    g_autofree uint8_t *page = g_malloc(PAGE);
    g_autofree uint8_t *out = g_malloc(MAX_LEN);
    g_autofree uint8_t *back = g_malloc(PAGE);
    z_stream inf;

    g_assert_cmpuint(MAX_LEN, ==, 4110);        /* QEMU's bound for a 4 KiB page */
    g_assert_true(ram_decompress_stream_init(&inf, NULL));
    for (int level = 0; level <= 9; level++) {
        z_stream def;

        g_assert_true(ram_compress_stream_init(&def, level, NULL));
        for (int i = 0; i < 40; i++) {
            GError *err = NULL;
            size_t len;

            fill_page(r, page, i);
            len = ram_compress_page(&def, page, PAGE, out, &err);
            g_assert_no_error(err);
            g_assert_cmpuint(len, >, 0);
            g_assert_cmpuint(len, <=, MAX_LEN);
            /* RFC 1950: CMF 0x78 (deflate, 32 KiB window), header a multiple of 31. */
            g_assert_cmphex(out[0], ==, 0x78);
            g_assert_cmpuint((out[0] << 8 | out[1]) % 31, ==, 0);
            g_assert_true(ram_decompress_page(&inf, out, len, back, PAGE, &err));
            g_assert_no_error(err);
            g_assert_cmpmem(back, PAGE, page, PAGE);
        }
        ram_compress_stream_end(&def);
    }
    ram_decompress_stream_end(&inf);
}

/* zlib's verdict on @in: exactly one stream, all input used, exactly one page. */
static bool reference_accepts(const uint8_t *in, size_t len, uint8_t *page)
{
    g_autofree uint8_t *buf = g_malloc(PAGE + 1);
    uLongf dlen = PAGE + 1;
    uLong slen = len;

    if (uncompress2(buf, &dlen, in, &slen) != Z_OK || dlen != PAGE || slen != len) {
        return false;
    }
    memcpy(page, buf, PAGE);
    return true;
}

/* Decompress @in as a destination does, with guards round the output; the verdict must be zlib's. */
static void fuzz_one(z_stream *inf, const uint8_t *in, size_t len, unsigned *accepted)
{
    g_autofree uint8_t *buf = g_malloc(PAGE + 2 * GUARD);
    g_autofree uint8_t *want = g_malloc(PAGE);
    g_autoptr(GError) err = NULL;
    bool ok;

    memset(buf, 0xa5, PAGE + 2 * GUARD);
    ok = ram_decompress_page(inf, in, len, buf + GUARD, PAGE, &err);
    g_assert_true(ok == reference_accepts(in, len, want));
    g_assert_true(ok == (err == NULL));
    if (ok) {
        g_assert_cmpmem(buf + GUARD, PAGE, want, PAGE);
        (*accepted)++;
    } else {
        g_assert_cmpuint(strlen(err->message), >, 0);
    }
    for (size_t i = 0; i < GUARD; i++) {
        g_assert_cmphex(buf[i], ==, 0xa5);
        g_assert_cmphex(buf[GUARD + PAGE + i], ==, 0xa5);
    }
}

static void test_codec_fuzz(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(4711);
    g_autofree uint8_t *page = g_malloc(PAGE);
    g_autofree uint8_t *in = g_malloc(MAX_LEN + 16);
    unsigned accepted = 0, mutated_ok = 0;
    z_stream def, inf;

    g_assert_true(ram_compress_stream_init(&def, 1, NULL));
    g_assert_true(ram_decompress_stream_init(&inf, NULL));
    /* Random bytes, some behind a valid zlib header so that inflate gets past it. */
    for (int i = 0; i < FUZZ_RANDOM; i++) {
        size_t len = g_rand_int_range(r, 0, MAX_LEN + 1);

        for (size_t j = 0; j < len; j++) {
            in[j] = g_rand_int(r);
        }
        if (len >= 2 && i % 2) {
            in[0] = 0x78;
            in[1] = 0x01;
        }
        fuzz_one(&inf, in, len, &accepted);
    }
    g_assert_cmpuint(accepted, ==, 0);
    /* Valid streams of one page, then cut, extended or with bytes changed. */
    for (int i = 0; i < FUZZ_MUTATED; i++) {
        size_t len;

        fill_page(r, page, i);
        len = ram_compress_page(&def, page, PAGE, in, NULL);
        switch (i % 4) {
        case 0:
            len = g_rand_int_range(r, 0, len);                  /* truncated */
            break;
        case 1:
            in[len++] = g_rand_int(r);                          /* a byte after the end */
            break;
        default:
            for (int k = g_rand_int_range(r, 1, 4); k > 0; k--) {
                in[g_rand_int_range(r, 0, len)] ^= 1 << g_rand_int_range(r, 0, 8);
            }
            break;
        }
        fuzz_one(&inf, in, len, &mutated_ok);
    }
    g_test_message("%u of %u mutated streams still decode to one page", mutated_ok,
                   FUZZ_MUTATED);
    ram_compress_stream_end(&def);
    ram_decompress_stream_end(&inf);
}

/* A stream of @n zero bytes at zlib level 1: one page when @n is PAGE. */
static size_t zlib_of_zeros(size_t n, uint8_t *out, size_t out_size)
{
    g_autofree uint8_t *zeros = g_malloc0(n);
    uLongf len = out_size;

    g_assert_cmpint(compress2(out, &len, zeros, n, 1), ==, Z_OK);
    return len;
}

/* ---- source ---- */

/*
 * Iterate calls until everything dirty went (a call also ends after
 * RAM_ITERATE_MAX_MS, which slow threads under a sanitizer reach).
 */
static void send_all(QEMUFile *f, RAMState *src)
{
    g_autoptr(GError) err = NULL;
    SaveVMIterateResult ret;

    do {
        ret = ram_save_handlers.save_live_iterate(f, src, &err);
        g_assert_no_error(err);
        g_assert_cmpint(ret, !=, SAVEVM_ITERATE_ERROR);
    } while (ret == SAVEVM_ITERATE_MORE);
}

/* Sync and send everything dirty; @dst loads it. */
static void round_trip(RAMState *src, RAMState *dst, GPtrArray *sb, GPtrArray *db)
{
    QEMUFile *f = qemu_file_new_output_buffer();
    g_autoptr(GBytes) out = NULL;
    g_autoptr(GError) err = NULL;
    uint64_t pending;

    g_assert_true(ram_save_handlers.state_pending_exact(src, &pending, &err));
    send_all(f, src);
    out = output_bytes(f);
    g_assert_true(load_all(dst, g_bytes_get_data(out, NULL), g_bytes_get_size(out), &err));
    g_assert_no_error(err);
    assert_blocks_equal(sb, db);
}

static void test_record_bytes(void)
{
    g_autoptr(GPtrArray) sb = test_blocks_new("a", 4, NULL, 0);
    g_autoptr(GPtrArray) db = test_blocks_new("a", 4, NULL, 0);
    MigrationAtomicStats stats = { 0 };
    g_autofree uint8_t *page = g_malloc(PAGE);
    g_autoptr(GBytes) out = NULL;
    g_autoptr(RAMState) dst = ram_load_state_new(db);
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_output_buffer();
    const uint8_t *d;
    size_t n, at, clen;
    FakeDirty fd;
    RAMState *src;
    uLongf plen = PAGE;

    fake_dirty_init(&fd, sb);
    src = source_new(&fd, &stats);
    ram_state_set_compress(src, true, 1, 2, true);
    ram_state_set_decompress(dst, true, 2);
    fake_guest_write(&fd, 0, 0, 0x11);
    fake_guest_write(&fd, 0, 2, 0x22);
    g_assert_true(ram_save_handlers.save_setup(f, src, NULL));
    /* Page 0 names the block (sent whole); pages 1 and 3 are zero, page 2 compressed. */
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, src, NULL), ==, SAVEVM_ITERATE_DONE);
    out = output_bytes(f);
    d = g_bytes_get_data(out, &n);
    /* setup: MEM_SIZE, u8 1 "a", be64 length, EOS = 8 + 2 + 8 + 8 */
    at = 26;
    g_assert_cmphex(d[at + 7], ==, 0x08);                       /* PAGE */
    at += 8 + 2 + PAGE;
    g_assert_cmphex(d[at + 6], ==, 0x10);                       /* 0x1000 ... */
    g_assert_cmphex(d[at + 7], ==, 0x22);                       /* ZERO | CONTINUE */
    at += 9;
    static const uint8_t word[] = { 0, 0, 0, 0, 0, 0, 0x21, 0x20 };    /* 0x2000 | 0x100 | 0x20 */
    g_assert_cmpmem(d + at, 8, word, 8);
    clen = (size_t)d[at + 8] << 24 | d[at + 9] << 16 | d[at + 10] << 8 | d[at + 11];
    /* In order: page 3's zero record after page 2's, then EOS. */
    g_assert_cmpuint(at + 12 + clen + 9 + 8, ==, n);
    g_assert_cmphex(d[at + 12 + clen + 6], ==, 0x30);
    g_assert_cmphex(d[at + 12 + clen + 7], ==, 0x22);
    g_assert_cmpint(uncompress(page, &plen, d + at + 12, clen), ==, Z_OK);
    g_assert_cmpuint(plen, ==, PAGE);
    g_assert_cmpmem(page, PAGE, block(sb, 0)->host + 2 * PAGE, PAGE);
    g_assert_cmpuint(migration_stat_get(&stats.compress_pages), ==, 1);
    g_assert_cmpuint(migration_stat_get(&stats.compress_size), ==, 4 + clen);
    g_assert_cmpuint(migration_stat_get(&stats.normal_pages), ==, 1);
    g_assert_cmpuint(migration_stat_get(&stats.zero_pages), ==, 2);
    g_assert_true(load_all(dst, d, n, &err));
    g_assert_no_error(err);
    assert_blocks_equal(sb, db);
    ram_save_handlers.save_cleanup(src);
    ram_state_free(src);
    fake_dirty_cleanup(&fd);
}

typedef struct PoolCase {
    unsigned threads;
    unsigned dthreads;
    bool wait_thread;
} PoolCase;

/* Random rounds of guest writes over two blocks; after each, the destination equals the source. */
static void test_random_rounds(gconstpointer data)
{
    const PoolCase *pc = data;
    g_autoptr(GRand) r = g_rand_new_with_seed(pc->threads * 100 + pc->dthreads);
    g_autoptr(GPtrArray) sb = test_blocks_new("a", 96, "bb", 64);
    g_autoptr(GPtrArray) db = test_blocks_new("a", 96, "bb", 64);
    g_autoptr(RAMState) dst = ram_load_state_new(db);
    MigrationAtomicStats stats = { 0 };
    QEMUFile *f = qemu_file_new_output_buffer();
    g_autoptr(GBytes) first = NULL;
    g_autoptr(GError) err = NULL;
    FakeDirty fd;
    RAMState *src;

    fake_dirty_init(&fd, sb);
    src = source_new(&fd, &stats);
    ram_state_set_compress(src, true, 1 + pc->threads % 9, pc->threads, pc->wait_thread);
    ram_state_set_decompress(dst, true, pc->dthreads);
    for (int round = 0; round < 8; round++) {
        for (int w = g_rand_int_range(r, 1, 120); w > 0; w--) {
            guint blk = g_rand_int_range(r, 0, 2);
            uint64_t p = g_rand_int_range(r, 0, ramblock_pages(block(sb, blk)));

            /* One write in four leaves zeros. */
            fake_guest_write(&fd, blk, p, 0);
            if (g_rand_int_range(r, 0, 4)) {
                fill_page(r, block(sb, blk)->host + p * PAGE, g_rand_int(r));
            }
        }
        if (round == 0) {
            g_assert_true(ram_save_handlers.save_setup(f, src, NULL));
            send_all(f, src);
            first = output_bytes(f);
            g_assert_true(load_all(dst, g_bytes_get_data(first, NULL),
                                   g_bytes_get_size(first), &err));
            g_assert_no_error(err);
            assert_blocks_equal(sb, db);
        } else {
            round_trip(src, dst, sb, db);
        }
    }
    g_assert_cmpuint(migration_stat_get(&stats.compress_pages), >, 0);
    if (pc->wait_thread) {
        g_assert_cmpuint(migration_stat_get(&stats.compress_busy), ==, 0);
    }
    ram_save_handlers.save_cleanup(src);
    ram_state_free(src);
    fake_dirty_cleanup(&fd);
}

/* ---- destination refusals ---- */

/* `word | name "a"` for page 1, `be32 clen`, @body, then EOS. */
static GByteArray *compressed_record(uint32_t clen, const uint8_t *body, size_t body_len)
{
    GByteArray *s = g_byte_array_new();
    uint8_t be[4] = { clen >> 24, clen >> 16, clen >> 8, clen };

    put64(s, PAGE | RAM_SAVE_FLAG_COMPRESS_PAGE);
    put_name(s, "a");
    g_byte_array_append(s, be, 4);
    g_byte_array_append(s, body, body_len);
    put64(s, RAM_SAVE_FLAG_EOS);
    return s;
}

static void expect_refused(GByteArray *s, bool decompress_on, const char *needle)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 4, NULL, 0);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    g_autoptr(GError) err = NULL;

    ram_state_set_decompress(rs, decompress_on, 2);
    g_assert_false(load_all(rs, s->data, s->len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, needle) || !strstr(err->message, "\"a\"") ||
        !strstr(err->message, "stream offset 0")) {
        g_error("error \"%s\" does not name \"%s\", the block and the record", err->message,
                needle);
    }
    for (uint64_t p = 0; p < 4; p++) {
        g_assert_true(page_untouched(block(blocks, 0), p));
    }
    g_byte_array_unref(s);
}

static void test_refusals(void)
{
    g_autofree uint8_t *z = g_malloc(2 * MAX_LEN);
    g_autofree uint8_t *junk = g_malloc(MAX_LEN + 1);
    size_t n;

    for (size_t i = 0; i <= MAX_LEN; i++) {
        junk[i] = i * 7 + 3;
    }
    expect_refused(compressed_record(64, junk, 64), true,
                   "decompress data failed (RAM block \"a\", page offset 0x1000, "
                   "stream offset 0): corrupt zlib data");
    expect_refused(compressed_record(MAX_LEN + 1, junk, MAX_LEN + 1), true,
                   "Invalid compressed data length: 4111");
    n = zlib_of_zeros(PAGE, z, 2 * MAX_LEN);
    expect_refused(compressed_record(n + 100, z, n), true, "RAM record at stream offset 0");
    expect_refused(compressed_record(n - 3, z, n - 3), true, "the zlib stream is truncated");
    expect_refused(compressed_record(n, z, n), false, "Received an unexpected compressed page");
    z[n] = 0;
    expect_refused(compressed_record(n + 1, z, n + 1), true,
                   "1 bytes follow the end of the zlib stream");
    n = zlib_of_zeros(PAGE / 2, z, 2 * MAX_LEN);
    expect_refused(compressed_record(n, z, n), true,
                   "the zlib stream holds 2048 bytes, not a 4096-byte page");
    n = zlib_of_zeros(2 * PAGE, z, 2 * MAX_LEN);
    expect_refused(compressed_record(n, z, n), true,
                   "the zlib stream holds more than a 4096-byte page");
}

/* A normal page after a compressed one of the same page lands last, whatever the threads do. */
static void test_same_page_order(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 4, NULL, 0);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    g_autofree uint8_t *z = g_malloc(MAX_LEN);
    g_autoptr(GError) err = NULL;
    GByteArray *s = g_byte_array_new();
    size_t n = zlib_of_zeros(PAGE, z, MAX_LEN);
    uint8_t be[4] = { 0, 0, n >> 8, n };

    ram_state_set_decompress(rs, true, 4);
    for (int i = 0; i < 200; i++) {
        put64(s, PAGE | RAM_SAVE_FLAG_COMPRESS_PAGE | (i ? RAM_SAVE_FLAG_CONTINUE : 0));
        if (!i) {
            put_name(s, "a");
        }
        g_byte_array_append(s, be, 4);
        g_byte_array_append(s, z, n);
        put64(s, PAGE | RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE);
        for (size_t k = 0; k < PAGE; k++) {
            put_u8(s, i + 1);
        }
    }
    put64(s, RAM_SAVE_FLAG_EOS);
    g_assert_true(load_all(rs, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmphex(block(blocks, 0)->host[PAGE], ==, 200);
    g_assert_cmphex(block(blocks, 0)->host[2 * PAGE - 1], ==, 200);
    g_byte_array_unref(s);
}

/* After the switch to postcopy the migration thread compresses each page and writes it at once. */
static void test_postcopy_source(void)
{
    g_autoptr(GPtrArray) sb = test_blocks_new("a", 8, NULL, 0);
    MigrationAtomicStats stats = { 0 };
    QEMUFile *f = qemu_file_new_output_buffer();
    g_autoptr(GBytes) out = NULL;
    g_autofree uint8_t *page = g_malloc(PAGE);
    const uint8_t *d;
    size_t n, at;
    FakeDirty fd;
    RAMState *src;

    fake_dirty_init(&fd, sb);
    src = source_new(&fd, &stats);
    ram_state_set_compress(src, true, 1, 2, true);
    g_assert_true(ram_save_handlers.save_setup(f, src, NULL));
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, src, NULL), ==, SAVEVM_ITERATE_DONE);
    g_bytes_unref(output_bytes(f));
    f = qemu_file_new_output_buffer();
    src->postcopy.active = true;
    fake_guest_write(&fd, 0, 3, 0x33);
    fake_guest_write(&fd, 0, 5, 0x55);
    g_assert_cmpint(ram_save_handlers.save_live_iterate(f, src, NULL), ==, SAVEVM_ITERATE_DONE);
    out = output_bytes(f);
    d = g_bytes_get_data(out, &n);
    /* Page 3 names the block (whole), page 5 follows compressed, then EOS. */
    g_assert_cmphex(d[7], ==, 0x08);
    at = 8 + 2 + PAGE;
    g_assert_cmphex(d[at + 6], ==, 0x51);                       /* 0x5000 | 0x100 */
    g_assert_cmphex(d[at + 7], ==, 0x20);                       /* CONTINUE */
    n -= at + 12 + 8;
    g_assert_cmpuint(n, ==, (size_t)d[at + 10] << 8 | d[at + 11]);
    {
        uLongf plen = PAGE;

        g_assert_cmpint(uncompress(page, &plen, d + at + 12, n), ==, Z_OK);
        g_assert_cmpmem(page, PAGE, block(sb, 0)->host + 5 * PAGE, PAGE);
    }
    src->postcopy.active = false;
    ram_save_handlers.save_cleanup(src);
    ram_state_free(src);
    fake_dirty_cleanup(&fd);
}

/* Postcopy's destination: a record decompressed on the loading thread, checked. */
static void test_postcopy_load_sync(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("a", 4, NULL, 0);
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    g_autofree uint8_t *z = g_malloc(MAX_LEN);
    g_autofree uint8_t *buf = g_malloc(PAGE);
    g_autoptr(GByteArray) s = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    size_t n = zlib_of_zeros(PAGE, z, MAX_LEN);
    uint8_t be[4] = { 0, 0, n >> 8, n };
    QEMUFile *f;

    ram_state_set_decompress(rs, true, 1);
    g_byte_array_append(s, be, 4);
    g_byte_array_append(s, z, n);
    be[3] = 5;
    be[2] = 0;
    g_byte_array_append(s, be, 4);
    g_byte_array_append(s, (const guint8 *)"\x78\x01" "abc", 5);
    f = qemu_file_new_input_buffer(s->data, s->len);
    memset(buf, 0xee, PAGE);
    g_assert_true(ram_decompress_load_sync(rs, f, 40, block(blocks, 0), 2, buf, &err));
    g_assert_no_error(err);
    g_assert_true(buffer_is_zero_for_test(buf, PAGE));
    g_assert_false(ram_decompress_load_sync(rs, f, 90, block(blocks, 0), 3, buf, &err));
    g_assert_nonnull(strstr(err->message, "decompress data failed (RAM block \"a\", page offset "
                            "0x3000, stream offset 90)"));
    qemu_fclose(f, NULL);
    ram_decompress_cleanup(rs);
}

int main(int argc, char **argv)
{
    static const PoolCase cases[] = {
        { 1, 1, true }, { 3, 2, true }, { 8, 4, true }, { 2, 1, false }, { 8, 2, false },
    };

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-compress/codec/round-trip", test_codec_round_trip);
    g_test_add_func("/ram-compress/codec/fuzz", test_codec_fuzz);
    g_test_add_func("/ram-compress/record-bytes", test_record_bytes);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/ram-compress/random-rounds/%u-%u-%s",
                                                cases[i].threads, cases[i].dthreads,
                                                cases[i].wait_thread ? "wait" : "nowait");

        g_test_add_data_func(path, &cases[i], test_random_rounds);
    }
    g_test_add_func("/ram-compress/refusals", test_refusals);
    g_test_add_func("/ram-compress/same-page-order", test_same_page_order);
    g_test_add_func("/ram-compress/postcopy/source", test_postcopy_source);
    g_test_add_func("/ram-compress/postcopy/load", test_postcopy_load_sync);
    return g_test_run();
}
