/*
 * RAM blocks, a fake dirty log and stream helpers shared by the RAM
 * section's unit tests (test-ram.c, test-ram-xbzrle.c).
 */
#include "ram-fixture.h"
#include "migration-fakes.h"
#include "qemu/error.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* An anonymous private block aligned to 2 MiB, so populate chunks are predictable. */
RAMBlock *test_block_new(const char *name, uint64_t pages)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);
    size_t len = pages * PAGE;
    uint8_t *raw = mmap(NULL, len + HUGE_CHUNK, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uintptr_t aligned;

    g_assert(raw != MAP_FAILED);
    aligned = ((uintptr_t)raw + HUGE_CHUNK - 1) & ~(uintptr_t)(HUGE_CHUNK - 1);
    if (aligned > (uintptr_t)raw) {
        munmap(raw, aligned - (uintptr_t)raw);
    }
    munmap((void *)(aligned + len), (uintptr_t)raw + HUGE_CHUNK - aligned);
    rb->idstr = g_strdup(name);
    rb->host = (uint8_t *)aligned;
    rb->used_length = len;
    rb->page_size = PAGE;
    rb->fd = -1;
    return rb;
}

GPtrArray *test_blocks_new(const char *name0, uint64_t pages0,
                                  const char *name1, uint64_t pages1)
{
    GPtrArray *blocks = g_ptr_array_new_with_free_func(fake_ram_block_free);

    g_ptr_array_add(blocks, test_block_new(name0, pages0));
    if (name1) {
        g_ptr_array_add(blocks, test_block_new(name1, pages1));
    }
    return blocks;
}

RAMBlock *block(GPtrArray *blocks, guint i)
{
    return g_ptr_array_index(blocks, i);
}

/* True if the page of @rb was never faulted in (mincore: not resident). */
bool page_untouched(RAMBlock *rb, uint64_t page)
{
    unsigned char vec;

    g_assert_cmpint(mincore(rb->host + page * PAGE, PAGE, &vec), ==, 0);
    return !(vec & 1);
}

static bool fake_dirty_sync(void *opaque, RAMBlock *rb, unsigned long *dest, GError **errp)
{
    FakeDirty *d = opaque;

    if (d->fail) {
        error_setg(errp, "fake sync failure");
        return false;
    }
    for (guint i = 0; i < d->blocks->len; i++) {
        if (block(d->blocks, i) == rb) {
            size_t words = BITS_TO_LONGS(ramblock_pages(rb));

            memcpy(dest, d->written[i], words * sizeof(unsigned long));
            memset(d->written[i], 0, words * sizeof(unsigned long));
        }
    }
    d->syncs++;
    return true;
}

void fake_dirty_init(FakeDirty *d, GPtrArray *blocks)
{
    memset(d, 0, sizeof(*d));
    d->blocks = blocks;
    for (guint i = 0; i < blocks->len; i++) {
        d->written[i] = bitmap_new(ramblock_pages(block(blocks, i)));
    }
}

void fake_dirty_cleanup(FakeDirty *d)
{
    for (guint i = 0; i < G_N_ELEMENTS(d->written); i++) {
        g_free(d->written[i]);
    }
}

/* The guest writes @value over a whole page. */
void fake_guest_write(FakeDirty *d, guint blk, uint64_t page, uint8_t value)
{
    memset(block(d->blocks, blk)->host + page * PAGE, value, PAGE);
    set_bit(page, d->written[blk]);
}

RAMState *source_new(FakeDirty *d, MigrationAtomicStats *stats)
{
    RAMDirtySource src = { .sync = fake_dirty_sync, .opaque = d };

    return ram_state_new(d->blocks, &src, stats);
}

GBytes *output_bytes(QEMUFile *f)
{
    GBytes *bytes = qemu_file_output_buffer_bytes(f);

    g_assert_true(qemu_fclose(f, NULL));
    return bytes;
}

/* setup, iterate until drained, complete: each payload one after the other. */
GBytes *save_everything(RAMState *rs)
{
    QEMUFile *f = qemu_file_new_output_buffer();
    GError *err = NULL;
    SaveVMIterateResult ret;

    g_assert_true(ram_save_handlers.save_setup(f, rs, &err));
    do {
        ret = ram_save_handlers.save_live_iterate(f, rs, &err);
        g_assert_cmpint(ret, !=, SAVEVM_ITERATE_ERROR);
    } while (ret == SAVEVM_ITERATE_MORE);
    g_assert_true(ram_save_handlers.save_live_complete(f, rs, &err));
    g_assert_no_error(err);
    return output_bytes(f);
}

/* Load payloads from @data until it is used up; false with @errp set on the first failure. */
bool load_all(RAMState *rs, const void *data, size_t len, GError **errp)
{
    QEMUFile *f = qemu_file_new_input_buffer(data, len);
    bool ok = ram_save_handlers.load_setup(rs, errp);

    while (ok && qemu_peek_byte(f, 0) >= 0) {
        ok = ram_save_handlers.load_state(f, rs, RAM_SECTION_VERSION, errp);
    }
    ram_save_handlers.load_cleanup(rs);
    qemu_fclose(f, NULL);
    return ok;
}

void assert_blocks_equal(GPtrArray *a, GPtrArray *b)
{
    for (guint i = 0; i < a->len; i++) {
        for (uint64_t p = 0; p < ramblock_pages(block(a, i)); p++) {
            if (memcmp(block(a, i)->host + p * PAGE, block(b, i)->host + p * PAGE, PAGE)) {
                g_error("block %u page %" G_GUINT64_FORMAT " differs", i, p);
            }
        }
    }
}

/* Append a big-endian u64 to @buf. */
void put64(GByteArray *buf, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    g_byte_array_append(buf, (const guint8 *)&be, 8);
}

void put_name(GByteArray *buf, const char *name)
{
    guint8 len = strlen(name);

    g_byte_array_append(buf, &len, 1);
    g_byte_array_append(buf, (const guint8 *)name, len);
}

void put_u8(GByteArray *buf, guint8 v)
{
    g_byte_array_append(buf, &v, 1);
}
