/*
 * The RAM section in postcopy recovery, both sides (ram.h "recovery").
 *
 * After a broken link the destination tells the source, block by block,
 * which pages it holds: its receivedmap, framed as QEMU frames it (be64
 * size in bytes rounded up to 8, the little-endian bitmap with one bit
 * per target page, be64 end mark; qemu-migration-facts.md §4.6).  The
 * source makes every page the destination lacks dirty again, whatever it
 * believed it had sent: pages in flight when the link broke are lost.
 *
 * Threads: on the source the return-path thread loads the bitmaps while
 * the migration thread waits for them (s->lock orders the hand-off); on
 * the destination the incoming thread builds them while the fault thread
 * may still set bits, so the maps are read word by word atomically.
 */
#include "ram-postcopy.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

/* Bytes of @rb's bitmap on the wire. */
static uint64_t ram_recover_bitmap_size(const RAMBlock *rb)
{
    return BITS_TO_LONGS(ramblock_pages(rb)) * sizeof(uint64_t);
}

/* ---- source ---- */

bool ram_recover_load_bitmap(RAMState *rs, const char *block, QEMUFile *f, GError **errp)
{
    RAMBlock *rb = ram_postcopy_find_block(rs, block);
    uint64_t npages, local_size, size, end_mark;
    g_autofree uint64_t *le = NULL;

    if (!rb) {
        error_setg(errp, "MIG_RP_MSG_RECV_BITMAP has invalid block name '%s'", block);
        return false;
    }
    npages = ramblock_pages(rb);
    local_size = ram_recover_bitmap_size(rb);
    size = qemu_get_be64(f);
    if (!qemu_file_check_error(f, errp)) {
        error_prepend(errp, "read bitmap failed for ramblock '%s': ", block);
        return false;
    }
    if (size != local_size) {
        error_setg(errp, "ramblock '%s' bitmap size mismatch (0x%" PRIx64 " != 0x%" PRIx64 ")",
                   block, size, local_size);
        return false;
    }
    le = g_malloc(local_size);
    size = qemu_get_buffer(f, le, local_size);
    end_mark = qemu_get_be64(f);
    if (qemu_file_get_error(f) || size != local_size) {
        error_setg(errp, "read bitmap failed for ramblock '%s': (size 0x%" PRIx64
                   ", got: 0x%" PRIx64 ")", block, local_size, size);
        return false;
    }
    if (end_mark != RAM_RECV_BITMAP_ENDING) {
        error_setg(errp, "ramblock '%s' end mark incorrect: 0x%" PRIx64, block, end_mark);
        return false;
    }
    /* What the destination lacks is dirty; what it holds is done. */
    for (uint64_t i = 0; i < local_size / sizeof(uint64_t); i++) {
        rb->bmap[i] = ~GUINT64_FROM_LE(le[i]);
    }
    if (npages % BITS_PER_LONG) {
        rb->bmap[npages / BITS_PER_LONG] &= (1UL << (npages % BITS_PER_LONG)) - 1;
    }
    return true;
}

void ram_recover_source_resume(RAMState *rs)
{
    uint64_t dirty = 0;

    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        dirty += bitmap_count_one(rb->bmap, ramblock_pages(rb));
    }
    rs->dirty_pages = dirty;
    rs->last_sent_block = NULL;
    migration_stat_set(&rs->stats->remaining, dirty * TARGET_PAGE_SIZE);
}

/* ---- destination ---- */

static uint64_t ram_recover_word(const unsigned long *map, uint64_t i)
{
    return __atomic_load_n(&map[i], __ATOMIC_RELAXED);
}

void *ram_recover_received_bitmap(RAMState *rs, const char *block, uint64_t *size,
                                  GError **errp)
{
    RAMBlock *rb = ram_postcopy_find_block(rs, block);
    uint64_t *le;

    if (!rb) {
        error_setg(errp, "loadvm_handle_recv_bitmap: block '%s' not found", block);
        return NULL;
    }
    if (!rb->receivedmap) {
        error_setg(errp, "loadvm_handle_recv_bitmap: block '%s' has no received "
                   "bitmap: postcopy was never advised", block);
        return NULL;
    }
    *size = ram_recover_bitmap_size(rb);
    le = g_malloc(*size);
    for (uint64_t i = 0; i < *size / sizeof(uint64_t); i++) {
        le[i] = GUINT64_TO_LE(ram_recover_word(rb->receivedmap, i));
    }
    return le;
}

void ram_recover_foreach_waiting(RAMState *rs, RAMWaitingPageFunc *fn, void *opaque)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        uint64_t words = BITS_TO_LONGS(ramblock_pages(rb));

        if (!rb->requestedmap || !rb->receivedmap) {
            continue;
        }
        for (uint64_t w = 0; w < words; w++) {
            unsigned long waiting = ram_recover_word(rb->requestedmap, w) &
                                    ~ram_recover_word(rb->receivedmap, w);

            while (waiting) {
                uint64_t page = w * BITS_PER_LONG + __builtin_ctzl(waiting);

                waiting &= waiting - 1;
                fn(opaque, rb, page << TARGET_PAGE_BITS);
            }
        }
    }
}
