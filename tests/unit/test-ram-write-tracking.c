/*
 * background-snapshot's write tracking (migration/ram-write-tracking.c) on
 * anonymous blocks: a writer thread rewrites every page while the RAM
 * section saves, and the stream must load into exactly the memory of the
 * instant; stopping the tracking with a full ring of copies must let every
 * blocked writer go on.  The oracle is equality with a copy taken at the
 * instant, whatever the interleaving.
 */
#include "ram-fixture.h"
#include "ram-internal.h"
#include "ram-write-tracking.h"
#include "migration-fakes.h"
#include "qemu/error.h"

#include <string.h>

/* Bigger than the ring of copies (4096 pages), so the fault thread must wait for room. */
#define WT_PAGES0   6000
#define WT_PAGES1   301         /* not a multiple of a bitmap word */

typedef struct WtWriter {
    GPtrArray *blocks;
    uint8_t value;
} WtWriter;

/* Write every page of every block, last first, twice: each write to a protected page waits. */
static gpointer wt_writer(gpointer opaque)
{
    WtWriter *w = opaque;

    for (int round = 0; round < 2; round++) {
        for (guint b = w->blocks->len; b-- > 0;) {
            RAMBlock *rb = block(w->blocks, b);

            for (uint64_t p = ramblock_pages(rb); p-- > 0;) {
                memset(rb->host + p * PAGE + 16, w->value + round, 64);
            }
        }
    }
    return NULL;
}

static bool wt_skip(void)
{
    g_autoptr(GError) err = NULL;

    if (!ram_write_tracking_available(&err)) {
        g_test_skip("userfaultfd write-protect is not available here");
        return true;
    }
    return false;
}

/* The instant's content: most pages data, every seventh never touched (a hole). */
static void wt_fill(GPtrArray *blocks)
{
    for (guint b = 0; b < blocks->len; b++) {
        RAMBlock *rb = block(blocks, b);

        for (uint64_t p = 0; p < ramblock_pages(rb); p++) {
            if (p % 7) {
                memset(rb->host + p * PAGE, (int)((b * 31 + p) % 250) + 1, PAGE);
            }
        }
    }
}

static void wt_copy(GPtrArray *to, GPtrArray *from)
{
    for (guint b = 0; b < from->len; b++) {
        memcpy(block(to, b)->host, block(from, b)->host, block(from, b)->used_length);
    }
}

static void test_wt_saves_the_instant(void)
{
    g_autoptr(GPtrArray) src = NULL;
    g_autoptr(GPtrArray) instant = NULL;
    g_autoptr(GPtrArray) dst = NULL;
    g_autoptr(GBytes) stream = NULL;
    g_autoptr(RAMState) loader = NULL;
    g_autoptr(GError) err = NULL;
    FakeDirty d;
    RAMState *rs;
    QEMUFile *f;
    WtWriter w = { .value = 0xe0 };
    GThread *writer;
    SaveVMIterateResult res;

    if (wt_skip()) {
        return;
    }
    src = test_blocks_new("pc.ram", WT_PAGES0, "vga.vram", WT_PAGES1);
    instant = test_blocks_new("pc.ram", WT_PAGES0, "vga.vram", WT_PAGES1);
    dst = test_blocks_new("pc.ram", WT_PAGES0, "vga.vram", WT_PAGES1);
    wt_fill(src);
    wt_copy(instant, src);
    fake_dirty_init(&d, src);
    rs = source_new(&d, NULL);
    ram_state_set_single_pass(rs, true);

    f = qemu_file_new_output_buffer();
    g_assert_true(ram_save_handlers.save_setup(f, rs, &err));
    g_assert_true(ram_write_tracking_start(rs, &err));
    w.blocks = src;
    writer = g_thread_new("writer", wt_writer, &w);
    do {
        res = ram_save_handlers.save_live_iterate(f, rs, &err);
        g_assert_cmpint(res, !=, SAVEVM_ITERATE_ERROR);
    } while (res == SAVEVM_ITERATE_MORE);
    ram_write_tracking_stop(rs);
    g_thread_join(writer);
    ram_save_handlers.save_cleanup(rs);
    stream = output_bytes(f);

    /* The writer's writes all landed in the live memory... */
    for (guint b = 0; b < src->len; b++) {
        for (uint64_t p = 0; p < ramblock_pages(block(src, b)); p++) {
            g_assert_cmpuint(block(src, b)->host[p * PAGE + 16], ==, w.value + 1);
        }
    }
    /* ...and the stream holds memory as it was at the instant. */
    loader = ram_load_state_new(dst);
    g_assert_true(load_all(loader, g_bytes_get_data(stream, NULL), g_bytes_get_size(stream),
                           &err));
    assert_blocks_equal(dst, instant);
    ram_state_free(rs);
    fake_dirty_cleanup(&d);
}

/* Pages of @rb claimed by nobody yet (the bitmap is shared with the fault thread). */
static uint64_t wt_unclaimed(RAMBlock *rb)
{
    uint64_t n = 0;

    for (size_t i = 0; i < BITS_TO_LONGS(ramblock_pages(rb)); i++) {
        n += __builtin_popcountl(__atomic_load_n(&rb->bmap[i], __ATOMIC_RELAXED));
    }
    return n;
}

/* A stream that stalls (nobody saves): stopping the tracking frees every waiting writer. */
static void test_wt_stop_frees_writers(void)
{
    g_autoptr(GPtrArray) src = NULL;
    g_autoptr(GError) err = NULL;
    FakeDirty d;
    RAMState *rs;
    QEMUFile *f;
    WtWriter w = { .value = 0x40 };
    GThread *writer;

    if (wt_skip()) {
        return;
    }
    src = test_blocks_new("pc.ram", WT_PAGES0, NULL, 0);
    wt_fill(src);
    fake_dirty_init(&d, src);
    rs = source_new(&d, NULL);
    ram_state_set_single_pass(rs, true);
    f = qemu_file_new_output_buffer();
    g_assert_true(ram_save_handlers.save_setup(f, rs, &err));
    g_assert_true(ram_write_tracking_start(rs, &err));
    w.blocks = src;
    writer = g_thread_new("writer", wt_writer, &w);
    /*
     * More pages than the ring holds: once the fault thread claimed one page
     * past a full ring it waits for room, so the writer waits on that page.
     */
    while (wt_unclaimed(block(src, 0)) > WT_PAGES0 - 4097) {
        g_usleep(1000);
    }
    ram_write_tracking_stop(rs);
    g_thread_join(writer);
    for (uint64_t p = 0; p < WT_PAGES0; p++) {
        g_assert_cmpuint(block(src, 0)->host[p * PAGE + 16], ==, w.value + 1);
    }
    ram_save_handlers.save_cleanup(rs);
    qemu_fclose(f, NULL);
    ram_state_free(rs);
    fake_dirty_cleanup(&d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram/write-tracking/saves-the-instant", test_wt_saves_the_instant);
    g_test_add_func("/ram/write-tracking/stop-frees-writers", test_wt_stop_frees_writers);
    return g_test_run();
}
