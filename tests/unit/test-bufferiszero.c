/*
 * Unit tests for buffer_is_zero() (util/bufferiszero.c): every implementation
 * the CPU can run, at every length 1..8192 and alignment 0..63, with non-zero
 * guard bytes around the buffer and a single non-zero byte at every position.
 */
#include "qemu/bufferiszero.h"

#include <stdint.h>
#include <string.h>

#define MAX_LEN     8192
#define MAX_ALIGN   64
#define GUARD       64

typedef struct {
    guint8 *mem;        /* owned allocation */
    guint8 *base;       /* 64-byte aligned, GUARD bytes into mem */
} TestBuf;

/* A zeroed area of MAX_LEN + MAX_ALIGN bytes with 0xff guards on both sides. */
static void test_buf_init(TestBuf *b)
{
    size_t size = GUARD + MAX_ALIGN + MAX_LEN + GUARD;

    b->mem = g_malloc(size + 64);
    b->base = (guint8 *)(((uintptr_t)b->mem + GUARD + 63) & ~(uintptr_t)63);
    memset(b->mem, 0xff, size + 64);
    memset(b->base, 0, MAX_ALIGN + MAX_LEN);
}

/* Set the guards next to [buf, buf + len) non-zero; they must be ignored. */
static void test_buf_fence(TestBuf *b, size_t align, size_t len)
{
    memset(b->base, 0, MAX_ALIGN + MAX_LEN);
    if (align) {
        b->base[align - 1] = 0x01;
    }
    b->base[align + len] = 0x80;
}

static void test_variant_lengths(gconstpointer data)
{
    BufferIsZeroFn fn = buffer_is_zero_variant(data);
    TestBuf b;

    if (!fn) {
        g_test_skip("this CPU cannot run this implementation");
        return;
    }
    test_buf_init(&b);
    g_assert_true(fn(b.base, 0));
    for (size_t align = 0; align < MAX_ALIGN; align++) {
        for (size_t len = 1; len <= MAX_LEN; len++) {
            guint8 *p = b.base + align;

            test_buf_fence(&b, align, len);
            if (!fn(p, len)) {
                g_error("all-zero buffer align %zu len %zu reported non-zero",
                        align, len);
            }
            /* Non-zero first, middle and last byte, one at a time. */
            for (size_t k = 0; k < 3; k++) {
                size_t pos = k == 0 ? 0 : k == 1 ? len / 2 : len - 1;

                p[pos] = 0x10;
                if (fn(p, len)) {
                    g_error("byte %zu set, align %zu len %zu reported zero",
                            pos, align, len);
                }
                p[pos] = 0;
            }
        }
    }
    g_free(b.mem);
}

/* Each byte of [p, p + len) in turn made non-zero must be noticed. */
static void check_every_position(BufferIsZeroFn fn, TestBuf *b, size_t align,
                                 size_t len)
{
    guint8 *p = b->base + align;

    test_buf_fence(b, align, len);
    for (size_t pos = 0; pos < len; pos++) {
        p[pos] = (guint8)(1u << (pos % 8));
        if (fn(p, len)) {
            g_error("byte %zu set, align %zu len %zu reported zero",
                    pos, align, len);
        }
        p[pos] = 0;
    }
}

static void test_variant_every_position(gconstpointer data)
{
    static const size_t lens[] = {
        300, 511, 512, 513, 1000, 4095, 4096, 4097, 8191, 8192,
    };
    static const size_t aligns[] = { 0, 1, 7, 8, 15, 16, 31, 32, 33, 63 };
    BufferIsZeroFn fn = buffer_is_zero_variant(data);
    TestBuf b;

    if (!fn) {
        g_test_skip("this CPU cannot run this implementation");
        return;
    }
    test_buf_init(&b);
    /* Short lengths, where head, tail and block loops overlap: all shapes. */
    for (size_t align = 0; align < MAX_ALIGN; align++) {
        for (size_t len = 1; len <= 256; len++) {
            check_every_position(fn, &b, align, len);
        }
    }
    for (size_t a = 0; a < G_N_ELEMENTS(aligns); a++) {
        for (size_t l = 0; l < G_N_ELEMENTS(lens); l++) {
            check_every_position(fn, &b, aligns[a], lens[l]);
        }
    }
    g_free(b.mem);
}

static void test_select(void)
{
    const char *const *names = buffer_is_zero_variant_names();
    const char *best = NULL;
    g_autoptr(GError) err_unknown = NULL;
    guint8 page[4096] = { 0 };

    for (size_t i = 0; names[i]; i++) {
        if (buffer_is_zero_variant(names[i])) {
            best = names[i];
        }
    }
    buffer_is_zero_init();
    g_assert_cmpstr(buffer_is_zero_selected(), ==, best);
    g_test_message("default implementation: %s", best);

    g_assert_nonnull(buffer_is_zero_variant("scalar"));
    g_assert_null(buffer_is_zero_variant("mmx"));
    g_assert_false(buffer_is_zero_select("mmx", &err_unknown));
    g_assert_cmpstr(err_unknown->message, ==,
                    "Unknown buffer_is_zero implementation 'mmx'");
    for (size_t i = 0; names[i]; i++) {
        g_autoptr(GError) err = NULL;

        if (!buffer_is_zero_variant(names[i])) {
            g_assert_false(buffer_is_zero_select(names[i], &err));
            g_assert_nonnull(err);
            continue;
        }
        g_assert_true(buffer_is_zero_select(names[i], &err));
        g_assert_no_error(err);
        g_assert_cmpstr(buffer_is_zero_selected(), ==, names[i]);
        g_assert_true(buffer_is_zero(page, sizeof(page)));
        page[2049] = 1;
        g_assert_false(buffer_is_zero(page, sizeof(page)));
        page[2049] = 0;
    }
    g_assert_true(buffer_is_zero_select(best, NULL));
}

int main(int argc, char **argv)
{
    const char *const *names = buffer_is_zero_variant_names();

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; names[i]; i++) {
        g_autofree char *lengths = g_strdup_printf("/bufferiszero/%s/lengths",
                                                   names[i]);
        g_autofree char *positions =
            g_strdup_printf("/bufferiszero/%s/every-position", names[i]);

        g_test_add_data_func(lengths, names[i], test_variant_lengths);
        g_test_add_data_func(positions, names[i], test_variant_every_position);
    }
    g_test_add_func("/bufferiszero/select", test_select);
    return g_test_run();
}
