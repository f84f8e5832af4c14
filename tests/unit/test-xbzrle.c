/*
 * XBZRLE encoder and decoder (migration/xbzrle.c): QEMU's worked example
 * byte for byte, the edge cases the format has (all equal, all different,
 * alternating bytes, one- and two-byte lengths, the largest run), every
 * decoder refusal, and thousands of random deltas checked against a
 * reference decoder written here from the grammar.
 */
#include "xbzrle.h"

#include <string.h>

#define PAGE        4096
/* Bytes either side of the page in the decode buffer, checked untouched. */
#define GUARD       64
#define FUZZ_ROUNDS 4000

static const char *const variants[] = { "scalar", "avx2", "avx512bw" };

/* ---- helpers ---- */

/*
 * Page-filling randomness: a xorshift generator seeded from the test's
 * seed (g_test_rand_int() per byte would dominate the run time).
 */
static uint64_t rng_state;

static uint32_t rng_next(void)
{
    if (!rng_state) {
        rng_state = ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int() | 1;
    }
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state >> 16;
}

/* Encode with every variant the CPU runs; all must agree.  Returns the length. */
static int encode_all(const uint8_t *old, const uint8_t *new, size_t len,
                      uint8_t *dst, size_t dlen)
{
    g_autofree uint8_t *other = g_malloc0(dlen ? dlen : 1);
    int want = xbzrle_encode(old, new, len, dst, dlen);

    for (size_t v = 0; v < G_N_ELEMENTS(variants); v++) {
        XbzrleEncodeFn fn = xbzrle_encode_variant(variants[v]);
        int got;

        if (!fn) {
            continue;
        }
        got = fn(old, new, len, other, dlen);
        g_assert_cmpint(got, ==, want);
        if (got > 0) {
            g_assert_cmpmem(other, got, dst, want);
        }
    }
    return want;
}

/*
 * The grammar read the plain way, one byte at a time: returns false where
 * the delta is not valid for a @plen-byte page, else applies it to @page.
 */
static bool reference_decode(const uint8_t *src, size_t slen, uint8_t *page, size_t plen)
{
    size_t i = 0, d = 0;

    while (i < slen) {
        for (int run = 0; run < 2; run++) {
            size_t start = i;
            size_t n;

            if (slen - i < 2) {
                return false;
            }
            if (src[i] < 0x80) {
                n = src[i++];
            } else if (src[i + 1] < 0x80) {
                n = (src[i] & 0x7f) | (src[i + 1] << 7);
                i += 2;
            } else {
                return false;
            }
            if (n == 0 && (run == 1 || start > 0)) {
                return false;
            }
            if (d + n > plen || (run == 1 && i + n > slen)) {
                return false;
            }
            if (run == 1) {
                memcpy(page + d, src + i, n);
                i += n;
            }
            d += n;
        }
    }
    return true;
}

/* A page with guards either side, filled from @fill. */
typedef struct GuardedPage {
    uint8_t buf[GUARD + PAGE + GUARD];
} GuardedPage;

static uint8_t *guarded_init(GuardedPage *g, const uint8_t *fill)
{
    memset(g->buf, 0xa5, sizeof(g->buf));
    memcpy(g->buf + GUARD, fill, PAGE);
    return g->buf + GUARD;
}

static void guarded_check(const GuardedPage *g)
{
    for (size_t i = 0; i < GUARD; i++) {
        g_assert_cmpuint(g->buf[i], ==, 0xa5);
        g_assert_cmpuint(g->buf[GUARD + PAGE + i], ==, 0xa5);
    }
}

/* ---- known vectors ---- */

static void test_docs_example(void)
{
    static const uint8_t expect[] = {
        0xe9, 0x07, 0x0f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
        0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x03, 0x01, 0x67, 0x01, 0x01, 0x69,
    };
    g_autofree uint8_t *old = g_malloc0(PAGE);
    g_autofree uint8_t *new = g_malloc0(PAGE);
    g_autofree uint8_t *out = g_malloc0(PAGE);
    g_autoptr(GError) err = NULL;
    int len;

    for (int i = 0; i < 15; i++) {
        new[1001 + i] = i + 1;
    }
    new[1019] = 0x67;
    new[1021] = 0x69;
    len = encode_all(old, new, PAGE, out, PAGE);
    g_assert_cmpmem(out, len, expect, sizeof(expect));

    g_assert_true(xbzrle_decode(expect, sizeof(expect), old, PAGE, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(old, PAGE, new, PAGE);
}

static void test_all_equal(void)
{
    g_autofree uint8_t *page = g_malloc(PAGE);
    g_autofree uint8_t *out = g_malloc(PAGE);

    memset(page, 0x5a, PAGE);
    g_assert_cmpint(encode_all(page, page, PAGE, out, PAGE), ==, 0);
    /* An empty delta decodes to the page unchanged. */
    g_assert_true(xbzrle_decode(out, 0, page, PAGE, NULL));
}

static void test_all_different(void)
{
    g_autofree uint8_t *old = g_malloc0(PAGE);
    g_autofree uint8_t *new = g_malloc(PAGE);
    g_autofree uint8_t *out = g_malloc(PAGE + 3);

    memset(new, 0xff, PAGE);
    /* 4096 new bytes plus two length bytes do not fit in a page: overflow. */
    g_assert_cmpint(encode_all(old, new, PAGE, out, PAGE), ==, -1);
    /* Given room: "00" (no unchanged bytes), "80 20" (4096), the bytes. */
    g_assert_cmpint(encode_all(old, new, PAGE, out, PAGE + 3), ==, PAGE + 3);
    g_assert_cmpmem(out, 3, ((uint8_t[]){ 0x00, 0x80, 0x20 }), 3);
    g_assert_true(xbzrle_decode(out, PAGE + 3, old, PAGE, NULL));
    g_assert_cmpmem(old, PAGE, new, PAGE);
}

static void test_alternating(void)
{
    g_autofree uint8_t *old = g_malloc0(PAGE);
    g_autofree uint8_t *new = g_malloc0(PAGE);
    g_autofree uint8_t *out = g_malloc(2 * PAGE);
    int len;

    for (int i = 0; i < PAGE; i += 2) {
        new[i] = 0x80 | i;
    }
    g_assert_cmpint(encode_all(old, new, PAGE, out, PAGE), ==, -1);
    /* "00 01 b0", then 2047 times "01 01 b", the last unchanged byte left out. */
    len = encode_all(old, new, PAGE, out, 2 * PAGE);
    g_assert_cmpint(len, ==, 3 * PAGE / 2);
    g_assert_cmpmem(out, 6, ((uint8_t[]){ 0x00, 0x01, 0x80, 0x01, 0x01, 0x82 }), 6);
    g_assert_true(xbzrle_decode(out, len, old, PAGE, NULL));
    g_assert_cmpmem(old, PAGE, new, PAGE);
}

/* A change of @nz bytes after @z unchanged ones: checks both lengths' encodings. */
static void check_runs(size_t z, size_t nz, const uint8_t *want_head, size_t head_len)
{
    g_autofree uint8_t *old = g_malloc0(PAGE);
    g_autofree uint8_t *new = g_malloc0(PAGE);
    g_autofree uint8_t *out = g_malloc(PAGE);
    int len;

    memset(new + z, 0x11, nz);
    len = encode_all(old, new, PAGE, out, PAGE);
    g_assert_cmpint(len, ==, head_len + nz);
    g_assert_cmpmem(out, head_len, want_head, head_len);
    g_assert_true(xbzrle_decode(out, len, old, PAGE, NULL));
    g_assert_cmpmem(old, PAGE, new, PAGE);
}

static void test_length_bytes(void)
{
    check_runs(127, 127, (uint8_t[]){ 0x7f, 0x7f }, 2);
    check_runs(128, 128, (uint8_t[]){ 0x80, 0x01, 0x80, 0x01 }, 4);
    check_runs(0, 1, (uint8_t[]){ 0x00, 0x01 }, 2);
    /* The last byte alone changed: the longest unchanged run in a page. */
    check_runs(PAGE - 1, 1, (uint8_t[]){ 0xff, 0x1f, 0x01 }, 3);
}

static void test_largest_run(void)
{
    g_autofree uint8_t *old = g_malloc0(XBZRLE_MAX_LEN);
    g_autofree uint8_t *new = g_malloc(XBZRLE_MAX_LEN);
    g_autofree uint8_t *out = g_malloc(XBZRLE_MAX_LEN + 3);

    memset(new, 0x42, XBZRLE_MAX_LEN);
    g_assert_cmpint(encode_all(old, new, XBZRLE_MAX_LEN, out, XBZRLE_MAX_LEN + 3), ==,
                    XBZRLE_MAX_LEN + 3);
    g_assert_cmpmem(out, 3, ((uint8_t[]){ 0x00, 0xff, 0x7f }), 3);
    g_assert_true(xbzrle_decode(out, XBZRLE_MAX_LEN + 3, old, XBZRLE_MAX_LEN, NULL));
    g_assert_cmpmem(old, XBZRLE_MAX_LEN, new, XBZRLE_MAX_LEN);
}

/* ---- decoder refusals ---- */

static void check_refused(const uint8_t *delta, size_t len, const char *msg)
{
    g_autofree uint8_t *page = g_malloc(PAGE);
    g_autofree uint8_t *before = g_malloc(PAGE);
    g_autoptr(GError) err = NULL;
    GuardedPage g;
    uint8_t *p;

    for (int i = 0; i < PAGE; i++) {
        before[i] = i * 7;
    }
    p = guarded_init(&g, before);
    g_assert_false(xbzrle_decode(delta, len, p, PAGE, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("expected \"%s\" in \"%s\"", msg, err->message);
    }
    g_assert_false(reference_decode(delta, len, page, PAGE));
    /* Nothing written, inside the page or out of it. */
    g_assert_cmpmem(p, PAGE, before, PAGE);
    guarded_check(&g);
}

static void test_refusals(void)
{
    /* A length byte alone where a run starts. */
    check_refused((uint8_t[]){ 0x05, 0x01, 0xaa, 0x03 }, 4,
                  "unchanged-run length cut short at delta offset 3");
    /* A new-bytes length missing after the unchanged one. */
    check_refused((uint8_t[]){ 0x05 }, 1, "unchanged-run length cut short at delta offset 0");
    check_refused((uint8_t[]){ 0x05, 0x01, 0xaa, 0x02, 0x02 }, 5,
                  "new-bytes run length cut short at delta offset 4");
    /* Lengths of three bytes are not QEMU's. */
    check_refused((uint8_t[]){ 0x80, 0x80, 0x01, 0x01, 0xaa }, 5,
                  "unchanged-run length at delta offset 0 is longer than two bytes");
    check_refused((uint8_t[]){ 0x00, 0x80, 0x80, 0x01 }, 4,
                  "new-bytes run length at delta offset 1 is longer than two bytes");
    /* An empty unchanged run only opens a delta. */
    check_refused((uint8_t[]){ 0x00, 0x01, 0xaa, 0x00, 0x01, 0xbb }, 6,
                  "empty unchanged run at delta offset 3");
    check_refused((uint8_t[]){ 0x01, 0x00, 0xaa }, 3, "empty new-bytes run at delta offset 1");
    /* Runs past the page: 4097 unchanged bytes, or 4095 + 2 new bytes. */
    check_refused((uint8_t[]){ 0x81, 0x20, 0x01, 0xaa }, 4,
                  "unchanged run of 4097 bytes at delta offset 0 ends past the page");
    check_refused((uint8_t[]){ 0xff, 0x1f, 0x02, 0xaa, 0xbb }, 5,
                  "run of 2 new bytes at delta offset 2 ends past the page");
    /* More new bytes announced than the delta holds. */
    check_refused((uint8_t[]){ 0x00, 0x04, 0xaa, 0xbb }, 4,
                  "run of 4 new bytes at delta offset 1 is cut short: 2 bytes");
}

/* ---- random deltas ---- */

/* @new = @old with a few random runs changed (or none, or a lot). */
static void random_change(const uint8_t *old, uint8_t *new)
{
    int runs = g_test_rand_int_range(0, 40);

    memcpy(new, old, PAGE);
    if (g_test_rand_int_range(0, 10) == 0) {
        runs = g_test_rand_int_range(500, 2000);
    }
    for (int r = 0; r < runs; r++) {
        int at = g_test_rand_int_range(0, PAGE);
        int n = g_test_rand_int_range(1, MIN(PAGE - at, 300) + 1);

        for (int i = 0; i < n; i++) {
            new[at + i] = rng_next();
        }
    }
}

static void test_random_round_trip(void)
{
    g_autofree uint8_t *old = g_malloc(PAGE);
    g_autofree uint8_t *new = g_malloc(PAGE);
    g_autofree uint8_t *out = g_malloc(2 * PAGE);
    GuardedPage g;
    int encoded = 0, overflowed = 0, unchanged = 0;

    for (int round = 0; round < FUZZ_ROUNDS; round++) {
        size_t dlen = g_test_rand_bit() ? PAGE : 2 * PAGE;
        uint8_t *p;
        int len;

        for (int i = 0; i < PAGE; i++) {
            uint32_t v = rng_next();

            old[i] = v & 3 ? 0 : v >> 8;
        }
        random_change(old, new);
        len = encode_all(old, new, PAGE, out, dlen);
        if (len < 0) {
            overflowed++;
            continue;
        }
        g_assert_cmpint(len, <=, dlen);
        if (len == 0) {
            unchanged++;
            g_assert_cmpmem(old, PAGE, new, PAGE);
            continue;
        }
        encoded++;
        p = guarded_init(&g, old);
        g_assert_true(xbzrle_decode(out, len, p, PAGE, NULL));
        g_assert_cmpmem(p, PAGE, new, PAGE);
        guarded_check(&g);
    }
    /* The generator must reach all three outcomes, or the test proves less. */
    g_test_message("%d encoded, %d overflowed, %d unchanged", encoded, overflowed, unchanged);
    g_assert_cmpint(encoded, >, FUZZ_ROUNDS / 2);
    g_assert_cmpint(overflowed, >, 0);
    g_assert_cmpint(unchanged, >, 0);
}

/* Valid deltas with random bytes flipped, cut or appended, and pure noise. */
static void test_random_corrupt(void)
{
    g_autofree uint8_t *old = g_malloc(PAGE);
    g_autofree uint8_t *new = g_malloc(PAGE);
    g_autofree uint8_t *out = g_malloc(2 * PAGE + 16);
    g_autofree uint8_t *ref = g_malloc(PAGE);
    int accepted = 0, refused = 0;

    for (int round = 0; round < FUZZ_ROUNDS; round++) {
        g_autoptr(GError) err = NULL;
        GuardedPage g;
        uint8_t *p;
        int len;
        bool ok;

        memset(old, 0, PAGE);
        random_change(old, new);
        len = encode_all(old, new, PAGE, out, 2 * PAGE);
        if (len <= 0 || g_test_rand_int_range(0, 8) == 0) {
            len = g_test_rand_int_range(0, 64);
            for (int i = 0; i < len; i++) {
                out[i] = g_test_rand_int();
            }
        }
        switch (g_test_rand_int_range(0, 3)) {
        case 0:
            for (int k = g_test_rand_int_range(1, 4); k > 0 && len > 0; k--) {
                out[g_test_rand_int_range(0, len)] = g_test_rand_int();
            }
            break;
        case 1:
            len = g_test_rand_int_range(0, len + 1);
            break;
        default:
            for (int k = g_test_rand_int_range(1, 16); k > 0; k--) {
                out[len++] = g_test_rand_int();
            }
            break;
        }
        memcpy(ref, old, PAGE);
        p = guarded_init(&g, old);
        ok = xbzrle_decode(out, len, p, PAGE, &err);
        g_assert_cmpint(ok, ==, reference_decode(out, len, ref, PAGE));
        guarded_check(&g);
        if (ok) {
            accepted++;
            g_assert_cmpmem(p, PAGE, ref, PAGE);
        } else {
            refused++;
            g_assert_nonnull(err);
            g_assert_true(g_str_has_prefix(err->message, "XBZRLE delta: "));
            g_assert_nonnull(strstr(err->message, "delta offset"));
            g_assert_cmpmem(p, PAGE, old, PAGE);
        }
    }
    g_test_message("%d accepted, %d refused", accepted, refused);
    g_assert_cmpint(accepted, >, 0);
    g_assert_cmpint(refused, >, 0);
}

static void test_variants(void)
{
    g_assert_nonnull(xbzrle_encode_variant("scalar"));
    g_assert_null(xbzrle_encode_variant("sse9"));
    g_assert_nonnull(xbzrle_encode_variant(xbzrle_encoder_name()));
    g_test_message("xbzrle_encode uses %s", xbzrle_encoder_name());
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/xbzrle/docs-example", test_docs_example);
    g_test_add_func("/xbzrle/all-equal", test_all_equal);
    g_test_add_func("/xbzrle/all-different", test_all_different);
    g_test_add_func("/xbzrle/alternating", test_alternating);
    g_test_add_func("/xbzrle/length-bytes", test_length_bytes);
    g_test_add_func("/xbzrle/largest-run", test_largest_run);
    g_test_add_func("/xbzrle/refusals", test_refusals);
    g_test_add_func("/xbzrle/random-round-trip", test_random_round_trip);
    g_test_add_func("/xbzrle/random-corrupt", test_random_corrupt);
    g_test_add_func("/xbzrle/variants", test_variants);
    return g_test_run();
}
