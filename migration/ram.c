/*
 * The RAM section, source side (include/migration/ram.h): the state, the
 * dirty bitmap and its syncs, and the setup / iterate / complete payloads
 * that send each dirty page as a zero or a normal page record (ram-send.c),
 * or hand it to XBZRLE (ram-xbzrle.c) or the compress pool (ram-compress.c).
 * Those parts take the state (ram-state.h) and never call back here.  The
 * destination's parser is in ram-load.c.
 */
#include "ram-internal.h"
#include "multifd.h"
#include "page-cache.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"

#include <errno.h>
#include <string.h>

/* Ask the rate limit every this many pages (64 KiB of page data), not every page. */
#define RAM_RATE_CHECK_PAGES    16
/* Look at the clock (and publish counters) every this many pages. */
#define RAM_CLOCK_CHECK_PAGES   64

RAMState *ram_state_new(GPtrArray *blocks, const RAMDirtySource *dirty,
                        MigrationAtomicStats *stats)
{
    RAMState *rs = g_new0(RAMState, 1);

    rs->blocks = blocks;
    if (dirty) {
        rs->dirty = *dirty;
        rs->has_dirty = true;
    }
    rs->stats = stats ? stats : &rs->own_stats;
    rs->load.policy = RAM_LOAD_FAULT_POPULATE_CHUNK;
    rs->zero_page_detection = ZERO_PAGE_DETECTION_MULTIFD;
    ram_residency_init(&rs->residency);
    ram_residency_init(&rs->load.residency);
    ram_postcopy_init(rs);
    rs->verify = ram_verify_new(blocks);
    return rs;
}

RAMState *ram_load_state_new(GPtrArray *blocks)
{
    return ram_state_new(blocks, NULL, NULL);
}

static void ram_free_bitmaps(RAMState *rs)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        g_clear_pointer(&rb->bmap, g_free);
    }
    g_clear_pointer(&rs->sync_scratch, g_free);
    rs->dirty_pages = 0;
}

void ram_state_free(RAMState *rs)
{
    if (!rs) {
        return;
    }
    ram_write_tracking_stop(rs);
    ram_free_bitmaps(rs);
    ram_postcopy_cleanup(rs);
    ram_verify_free(rs->verify);
    mapped_ram_free(rs->mapped_ram);
    mapped_ram_detach_free(rs->mapped_detach);
    ram_residency_cleanup(&rs->residency);
    ram_residency_cleanup(&rs->load.residency);
    ram_xbzrle_cleanup(rs);
    ram_compress_cleanup(rs);
    ram_decompress_cleanup(rs);
    page_cache_free(rs->xbzrle_new_cache);
    g_free(rs->load.xbzrle_buf);
    g_free(rs);
}

void ram_state_set_rate_limit(RAMState *rs, const RAMRateLimit *limit)
{
    rs->has_rate_limit = limit != NULL;
    if (limit) {
        rs->rate_limit = *limit;
    }
}

void ram_state_set_sync_hook(RAMState *rs, RAMSyncHook *hook, void *opaque)
{
    rs->sync_hook = hook;
    rs->sync_hook_opaque = opaque;
}

RAMVerify *ram_state_verify(RAMState *rs)
{
    return rs ? rs->verify : NULL;
}

void ram_state_set_send_options(RAMState *rs, ZeroPageDetection zero_page_detection,
                                MultiFDSend *multifd)
{
    rs->zero_page_detection = zero_page_detection;
    rs->multifd = multifd;
}

void ram_state_set_mapped_ram(RAMState *rs, MappedRam *mapped_ram)
{
    g_clear_pointer(&rs->mapped_ram, mapped_ram_free);
    ram_verify_set_scan_on_load(rs->verify, mapped_ram != NULL);
    rs->mapped_ram = mapped_ram;
}

void ram_state_wait_mapped_restore(RAMState *rs)
{
    mapped_ram_detach_wait(rs->mapped_detach);
}

void ram_state_set_ignore(RAMState *rs, bool ignore_shared, bool ignore_all)
{
    rs->ignore_shared = ignore_shared;
    rs->ignore_all = ignore_all;
}

void ram_state_set_multifd_recv(RAMState *rs, MultiFDRecv *multifd)
{
    rs->load.multifd = multifd;
}

GPtrArray *ram_state_blocks(RAMState *rs)
{
    return rs->blocks;
}

uint64_t ram_state_dirty_sync_count(const RAMState *rs)
{
    return rs->sync_count;
}

uint64_t ram_state_dirtied_pages(const RAMState *rs)
{
    return rs->dirtied_pages;
}

uint64_t ram_state_dirty_pages(const RAMState *rs)
{
    return rs->dirty_pages;
}

uint64_t ram_state_data_pages(RAMState *rs)
{
    uint64_t data = 0;

    for (guint i = 0; i < rs->blocks->len; i++) {
        data += ram_residency_count(&rs->residency, g_ptr_array_index(rs->blocks, i));
    }
    return data;
}

void ram_state_set_load_fault_policy(RAMState *rs, RAMLoadFaultPolicy policy)
{
    rs->load.policy = policy;
}

/* Bytes of every block (MEM_SIZE), or of those whose pages are sent. */
static uint64_t ram_total_bytes(const RAMState *rs, bool with_ignored)
{
    uint64_t total = 0;

    for (guint i = 0; i < rs->blocks->len; i++) {
        const RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        if (with_ignored || !ram_block_is_ignored(rs, rb)) {
            total += rb->used_length;
        }
    }
    return total;
}

/* ---- dirty bitmap ---- */

/* Fold the pages @rb's writers dirtied into its bmap; returns how many were written. */
static uint64_t ram_merge_dirty(RAMState *rs, RAMBlock *rb, const unsigned long *dirtied)
{
    uint64_t npages = ramblock_pages(rb);
    size_t nwords = BITS_TO_LONGS(npages);
    uint64_t written = 0;

    for (size_t i = 0; i < nwords; i++) {
        unsigned long w = dirtied[i];

        if (i == nwords - 1 && npages % BITS_PER_LONG) {
            /* A source that sets bits past the block must not create pages. */
            w &= (1UL << (npages % BITS_PER_LONG)) - 1;
        }
        if (w) {
            written += __builtin_popcountl(w);
            uint64_t fresh = __builtin_popcountl(w & ~rb->bmap[i]);

            rs->dirty_pages += fresh;
            rs->dirtied_pages += fresh;
            rb->bmap[i] |= w;
        }
    }
    return written;
}

/* dirty-pages-rate over periods of at least RAM_DIRTY_RATE_PERIOD_MS, as QEMU measures it. */
static void ram_update_dirty_rate(RAMState *rs, uint64_t written)
{
    int64_t now = g_get_monotonic_time();
    int64_t elapsed = now - rs->rate_period_start_us;

    rs->rate_period_pages += written;
    if (elapsed >= RAM_DIRTY_RATE_PERIOD_MS * 1000) {
        migration_stat_set(&rs->stats->dirty_pages_rate,
                           rs->rate_period_pages * G_USEC_PER_SEC / elapsed);
        rs->rate_period_start_us = now;
        rs->rate_period_pages = 0;
        ram_xbzrle_update_rates(rs);
        ram_compress_update_rates(rs);
    }
}

/*
 * One MIGRATION_PASS: collect from the dirty source what the guest wrote
 * since the last sync into every block's bmap.
 */
static bool ram_bitmap_sync(RAMState *rs, GError **errp)
{
    uint64_t written = 0;

    /* x-verify-ram: a round's deferred digests land before the next round sends a page. */
    ram_verify_drain(rs->verify);
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        if (ram_block_is_ignored(rs, rb)) {
            continue;       /* the destination has these pages already */
        }
        memset(rs->sync_scratch, 0, BITS_TO_LONGS(ramblock_pages(rb)) * sizeof(unsigned long));
        if (!rs->dirty.sync(rs->dirty.opaque, rb, rs->sync_scratch, errp)) {
            error_prepend(errp, "dirty bitmap sync of RAM block \"%s\": ", rb->idstr);
            return false;
        }
        written += ram_merge_dirty(rs, rb, rs->sync_scratch);
    }
    /* Pages written since the residency probe must be looked at again. */
    ram_residency_invalidate(&rs->residency);
    ram_update_dirty_rate(rs, written);
    rs->sync_count++;
    migration_stat_set(&rs->stats->dirty_sync_count, rs->sync_count);
    migration_stat_set(&rs->stats->remaining, rs->dirty_pages * TARGET_PAGE_SIZE);
    if (rs->sync_hook) {
        rs->sync_hook(rs->sync_hook_opaque, rs->sync_count);
    }
    return true;
}

/*
 * Multifd: the page goes to a send thread.  Zero pages are found on this
 * thread (legacy: a zero page record on the main channel, as QEMU), by the
 * send threads (multifd; a never-written page is passed as known zero), or
 * not at all (none).
 */
static void ram_save_page_multifd(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                                  RAMSendRun *run)
{
    const uint8_t *host = rb->host + (page << TARGET_PAGE_BITS);
    GError *err = NULL;
    bool known_zero = false;

    if (rs->zero_page_detection == ZERO_PAGE_DETECTION_LEGACY &&
        (ram_page_never_written(rs, rb, page) || buffer_is_zero(host, TARGET_PAGE_SIZE))) {
        ram_save_zero_page(rs, f, rb, page, run);
        return;
    }
    if (rs->zero_page_detection == ZERO_PAGE_DETECTION_MULTIFD) {
        known_zero = ram_page_never_written(rs, rb, page);
    }
    if (!multifd_send_queue_page(rs->multifd, rb, page << TARGET_PAGE_BITS, known_zero, &err)) {
        qemu_file_set_error(f, -EIO, err);
    }
}

/*
 * The end of a round over the dirty pages (the cursor wrapped), setup's end
 * and completion: every multifd channel carries a SYNC packet and the main
 * channel MULTIFD_FLUSH, after which the destination has every page sent
 * before (qemu-migration-facts.md §7).  Nothing without multifd.
 */
static void ram_multifd_flush(RAMState *rs, QEMUFile *f)
{
    GError *err = NULL;

    if (!rs->multifd) {
        return;
    }
    if (!multifd_send_sync(rs->multifd, &err)) {
        qemu_file_set_error(f, -EIO, err);
        return;
    }
    qemu_put_be64(f, RAM_SAVE_FLAG_MULTIFD_FLUSH);
    /*
     * Now: the destination's channels wait at their SYNC until the load
     * reads this; left in the buffer while the next round fills their
     * sockets, it never would.
     */
    qemu_fflush(f);
}

/*
 * mapped-ram: the page goes to its slot in the file, never into the stream.
 * A page never written is known zero here; the others are checked where
 * they are written (by a worker with multifd).
 */
static void ram_save_page_mapped(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                                 RAMSendRun *run)
{
    bool detect = rs->zero_page_detection != ZERO_PAGE_DETECTION_NONE;
    bool never_written = detect && ram_page_never_written(rs, rb, page);

    /* Hashed here, as queued: a later change makes the page dirty and sent again. */
    ram_verify_page(rs->verify, rb, page,
                    never_written ? NULL : rb->host + (page << TARGET_PAGE_BITS));
    if (never_written) {
        mapped_ram_save_zero_page(rs->mapped_ram, rb, page);
        run->zero_pages++;
        return;
    }
    mapped_ram_save_page(rs->mapped_ram, f, rb, page, detect, run);
}

/*
 * Send page @page of @rb: a zero page record when it certainly holds zeros
 * (never written, per the residency probe while some page was never sent,
 * or checked; never with zero-page-detection none), else as XBZRLE decides
 * when it is in use, else the page itself, queued straight from guest
 * memory.  With multifd, see ram_save_page_multifd(); with mapped-ram, the
 * page goes to its file slot (ram_save_page_mapped()).
 */
static void ram_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          RAMSendRun *run)
{
    const uint8_t *host = rb->host + (page << TARGET_PAGE_BITS);
    bool zero;

    if (rs->multifd) {
        ram_save_page_multifd(rs, f, rb, page, run);
        return;
    }
    if (rs->mapped_ram) {
        ram_save_page_mapped(rs, f, rb, page, run);
        return;
    }
    zero = rs->zero_page_detection != ZERO_PAGE_DETECTION_NONE &&
           (ram_page_never_written(rs, rb, page) || buffer_is_zero(host, TARGET_PAGE_SIZE));
    if (ram_compress_save_page(rs, f, rb, page, zero, run)) {
        return;                 /* a compress thread has it */
    }
    if (zero) {
        ram_save_zero_page(rs, f, rb, page, run);
        ram_xbzrle_page_zeroed(rs, rb, page, run->last_stage);
    } else if (!ram_xbzrle_save_page(rs, f, rb, page, run)) {
        ram_put_page_record(rs, f, rb, page, host, false, run);
    }
}

/*
 * The next dirty page from the cursor on, wrapping around the blocks; its
 * bit is cleared.  Only called while rs->dirty_pages > 0, so one exists.
 * *@wrapped: the search passed the end of the last block.  A page is sent
 * again only after such a wrap, since the cursor only moves forward
 * otherwise: multifd syncs there.
 */
static RAMBlock *ram_take_next_dirty(RAMState *rs, uint64_t *page, bool *wrapped)
{
    RAMBlock *requested = ram_postcopy_take_request(rs, page);

    *wrapped = false;
    if (requested) {
        return requested;       /* postcopy: a page the destination waits for */
    }
    for (;;) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, rs->cursor_block);
        uint64_t npages = ramblock_pages(rb);
        uint64_t p = find_next_bit(rb->bmap, npages, rs->cursor_page);

        if (p < npages && test_and_clear_bit(p, rb->bmap)) {
            rs->dirty_pages--;
            rs->cursor_page = p + 1;
            *page = p;
            return rb;
        }
        rs->cursor_block = (rs->cursor_block + 1) % rs->blocks->len;
        rs->cursor_page = 0;
        *wrapped |= rs->cursor_block == 0;
    }
}

/*
 * Send dirty pages until none is left, or, when @limited, until the rate
 * limit is reached or RAM_ITERATE_MAX_MS has passed.
 */
static void ram_send_dirty_pages(RAMState *rs, QEMUFile *f, bool limited, RAMSendRun *run)
{
    int64_t deadline = g_get_monotonic_time() + RAM_ITERATE_MAX_MS * 1000;

    if (rs->wt) {
        ram_write_tracking_send(rs, f, limited, deadline, run);
        return;
    }
    for (uint64_t n = 0; rs->dirty_pages > 0 && !qemu_file_get_error(f); n++) {
        uint64_t page;
        RAMBlock *rb;
        bool wrapped;

        if (limited && n % RAM_RATE_CHECK_PAGES == 0 && ram_send_rate_exceeded(rs)) {
            break;
        }
        if (n % RAM_CLOCK_CHECK_PAGES == RAM_CLOCK_CHECK_PAGES - 1) {
            ram_send_run_publish(rs, run);
            if (limited && g_get_monotonic_time() > deadline) {
                break;
            }
        }
        rb = ram_take_next_dirty(rs, &page, &wrapped);
        if (wrapped) {
            ram_multifd_flush(rs, f);
            if (rs->mapped_ram) {
                mapped_ram_save_round_end(rs->mapped_ram, f, run);
            }
            ram_compress_flush(rs, f, run);
        }
        if (ram_postcopy_sent_urgently(rb, page)) {
            continue;           /* postcopy preempt: it went on the preempt channel */
        }
        ram_save_page(rs, f, rb, page, run);
    }
    ram_compress_flush(rs, f, run);
    if (rs->mapped_ram) {
        mapped_ram_save_flush(rs->mapped_ram, f, run);
    }
    rs->all_sent_once |= rs->dirty_pages == 0;
    ram_send_run_publish(rs, run);
}

/* ---- hooks ---- */

static bool ram_check_source(RAMState *rs, GError **errp)
{
    if (!rs->has_dirty) {
        error_setg(errp, "RAM state has no dirty page source: it cannot be a migration source");
        return false;
    }
    if (rs->blocks->len == 0) {
        error_setg(errp, "no RAM blocks to migrate");
        return false;
    }
    for (guint i = 0; i < rs->blocks->len; i++) {
        const RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        size_t idlen = strlen(rb->idstr);

        /* The stream carries the name behind a u8 length. */
        if (idlen == 0 || idlen > 255) {
            error_setg(errp, "RAM block name \"%s\" must be 1 to 255 bytes long", rb->idstr);
            return false;
        }
    }
    return true;
}

/* Every page marked to send, the scratch bitmap sized for the largest block. */
static void ram_alloc_bitmaps(RAMState *rs)
{
    uint64_t largest = 0;

    ram_free_bitmaps(rs);
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        uint64_t npages = ramblock_pages(rb);

        g_assert(rb->used_length % TARGET_PAGE_SIZE == 0);
        rb->bmap = bitmap_new(npages);
        if (!ram_block_is_ignored(rs, rb)) {
            bitmap_set(rb->bmap, 0, npages);
            rs->dirty_pages += npages;
        }
        largest = MAX(largest, npages);
    }
    rs->sync_scratch = bitmap_new(largest);
}

static bool ram_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    RAMState *rs = opaque;
    uint64_t total;

    if (!ram_check_source(rs, errp) || !ram_xbzrle_setup(rs, errp) ||
        !ram_compress_setup(rs, errp)) {
        return false;
    }
    ram_alloc_bitmaps(rs);
    rs->sync_count = 0;
    rs->dirtied_pages = 0;
    rs->all_sent_once = false;
    rs->cursor_block = 0;
    rs->cursor_page = 0;
    rs->rate_period_start_us = g_get_monotonic_time();
    rs->rate_period_pages = 0;
    migration_stat_set(&rs->stats->total, ram_total_bytes(rs, false));
    total = ram_total_bytes(rs, true);

    /*
     * The baseline: from here on the dirty log holds what the first pass may
     * miss.  A single pass reads no dirty log: the guest is stopped, or
     * write tracking keeps each page as of the snapshot instant.
     */
    if (!rs->single_pass && !ram_bitmap_sync(rs, errp)) {
        return false;
    }
    /*
     * x-verify-ram: pages this thread sends from guest memory are hashed
     * by a worker.  Multifd, compress and mapped-ram hash on threads of
     * their own already; they keep doing so (ram_verify_page()).
     */
    if (!rs->multifd && !rs->mapped_ram && !rs->compress_cfg.on && !rs->wt) {
        ram_verify_worker_start(rs->verify);
    }

    qemu_put_be64(f, total | RAM_SAVE_FLAG_MEM_SIZE);
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        size_t idlen = strlen(rb->idstr);

        qemu_put_byte(f, idlen);
        qemu_put_buffer(f, rb->idstr, idlen);
        qemu_put_be64(f, rb->used_length);
        if (rs->ignore_shared) {
            qemu_put_be64(f, rb->guest_addr);
        }
        if (rs->mapped_ram && !mapped_ram_save_block(rs->mapped_ram, f, rb, errp)) {
            return false;
        }
    }
    ram_multifd_flush(rs, f);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    return qemu_file_check_error(f, errp);
}

static SaveVMIterateResult ram_save_iterate(QEMUFile *f, void *opaque,
                                            GError **errp)
{
    RAMState *rs = opaque;
    RAMSendRun run = {
        .bytes_counter = rs->postcopy.active ? &rs->stats->postcopy_bytes
                                             : &rs->stats->precopy_bytes,
    };

    if (!ram_check_source(rs, errp)) {
        return SAVEVM_ITERATE_ERROR;
    }
    /* A round ended in an earlier call and nobody synced since: start the next pass. */
    if (rs->dirty_pages == 0 && !rs->single_pass && !ram_bitmap_sync(rs, errp)) {
        return SAVEVM_ITERATE_ERROR;
    }
    /* Each section names its first block, so a section can be read on its own. */
    rs->last_sent_block = NULL;
    ram_residency_invalidate(&rs->residency);
    ram_xbzrle_take_resize(rs);
    ram_send_dirty_pages(rs, f, true, &run);
    /* So that the switchover waits for, and folds, only its own pages. */
    ram_verify_drain(rs->verify);
    ram_verify_fold(rs->verify);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    migration_stat_set(&rs->stats->remaining, rs->dirty_pages * TARGET_PAGE_SIZE);
    if (!qemu_file_check_error(f, errp)) {
        return SAVEVM_ITERATE_ERROR;
    }
    return rs->dirty_pages == 0 ? SAVEVM_ITERATE_DONE : SAVEVM_ITERATE_MORE;
}

static bool ram_save_complete(QEMUFile *f, void *opaque, GError **errp)
{
    RAMState *rs = opaque;
    RAMSendRun run = { .bytes_counter = &rs->stats->downtime_bytes, .last_stage = true };

    if (!ram_check_source(rs, errp) || (!rs->single_pass && !ram_bitmap_sync(rs, errp))) {
        return false;
    }
    rs->last_sent_block = NULL;
    ram_send_dirty_pages(rs, f, false, &run);
    /* mapped-ram: the bitmaps last, so a file cut short never claims missing pages. */
    if (rs->mapped_ram &&
        (!qemu_file_check_error(f, errp) || !mapped_ram_save_bitmaps(rs->mapped_ram, errp))) {
        return false;
    }
    ram_multifd_flush(rs, f);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    migration_stat_set(&rs->stats->remaining, rs->dirty_pages * TARGET_PAGE_SIZE);
    return qemu_file_check_error(f, errp);
}

static void ram_state_pending_estimate(void *opaque, uint64_t *pending)
{
    RAMState *rs = opaque;

    *pending = rs->dirty_pages * TARGET_PAGE_SIZE;
    migration_stat_set(&rs->stats->remaining, *pending);
}

static bool ram_state_pending_exact(void *opaque, uint64_t *pending,
                                    GError **errp)
{
    RAMState *rs = opaque;

    if (!ram_check_source(rs, errp) || !ram_bitmap_sync(rs, errp)) {
        return false;
    }
    ram_state_pending_estimate(rs, pending);
    return true;
}

static void ram_save_cleanup(void *opaque)
{
    RAMState *rs = opaque;

    ram_write_tracking_stop(rs);        /* its fault thread claims bmap bits */
    ram_verify_worker_stop(rs->verify);
    ram_free_bitmaps(rs);
    ram_residency_invalidate(&rs->residency);
    ram_xbzrle_cleanup(rs);
    ram_compress_cleanup(rs);
    rs->last_sent_block = NULL;
    g_clear_pointer(&rs->mapped_ram, mapped_ram_free);
}

const SaveVMHandlers ram_save_handlers = {
    .save_setup = ram_save_setup,
    .save_live_iterate = ram_save_iterate,
    .save_live_complete = ram_save_complete,
    .state_pending_estimate = ram_state_pending_estimate,
    .state_pending_exact = ram_state_pending_exact,
    .save_cleanup = ram_save_cleanup,
    .load_setup = ram_load_setup,
    .load_state = ram_load,
    .load_cleanup = ram_load_cleanup,
};
