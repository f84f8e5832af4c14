/*
 * XBZRLE pages in the RAM section: on the source, the page cache and the
 * choice, per dirty page, between a delta, nothing (unchanged) and the
 * whole page; on the destination, a delta record applied to guest memory.
 * QEMU's rules throughout: deltas start once every page was sent once, a
 * page not in the cache is inserted and sent whole (a cache miss), a delta
 * larger than the page is an overflow sent whole, and the final pass with
 * the VM stopped reads the cache but no longer fills it.
 */
#include "ram-xbzrle.h"
#include "page-cache.h"
#include "xbzrle.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

/* Source-side state of one migration; the migration thread's alone. */
struct RAMXbzrle {
    PageCache *cache;
    uint8_t *current;               /* the page being encoded, copied once */
    uint8_t *encoded;               /* its delta, at most a page */
    uint8_t *zeros;                 /* what a zero page is cached as */
    /* Page index of each block's first page, in rs->blocks order. */
    uint64_t *block_base;
    /* The counters as of the last rate period's end. */
    uint64_t pages_prev, bytes_prev, miss_prev, sent_prev;
};

/* ---- settings, from the monitor (BQL) ---- */

void ram_state_set_xbzrle(RAMState *rs, bool on, uint64_t cache_size)
{
    rs->xbzrle_on = on;
    rs->xbzrle_cache_size = cache_size;
}

bool ram_state_resize_xbzrle_cache(RAMState *rs, uint64_t size, GError **errp)
{
    PageCache *fresh = page_cache_new(size, TARGET_PAGE_SIZE, errp);

    if (!fresh) {
        return false;
    }
    /*
     * Handed to the migration thread, which takes it at its next iterate
     * call; a cache handed earlier and not taken yet is replaced.
     */
    page_cache_free(g_atomic_pointer_exchange(&rs->xbzrle_new_cache, fresh));
    return true;
}

/* ---- source: setup and cleanup (migration thread) ---- */

bool ram_xbzrle_setup(RAMState *rs, GError **errp)
{
    RAMXbzrle *x;
    PageCache *cache;
    uint64_t base = 0;

    ram_xbzrle_cleanup(rs);
    if (!rs->xbzrle_on) {
        return true;
    }
    /* A resize asked for after migrate copied the settings is the newer size. */
    cache = g_atomic_pointer_exchange(&rs->xbzrle_new_cache, NULL);
    if (!cache && !(cache = page_cache_new(rs->xbzrle_cache_size, TARGET_PAGE_SIZE, errp))) {
        error_prepend(errp, "XBZRLE cache: ");
        return false;
    }
    x = g_new0(RAMXbzrle, 1);
    x->cache = cache;
    x->current = g_malloc(TARGET_PAGE_SIZE);
    x->encoded = g_malloc(TARGET_PAGE_SIZE);
    x->zeros = g_malloc0(TARGET_PAGE_SIZE);
    x->block_base = g_new(uint64_t, rs->blocks->len);
    for (guint i = 0; i < rs->blocks->len; i++) {
        x->block_base[i] = base;
        base += ramblock_pages(g_ptr_array_index(rs->blocks, i));
    }
    rs->xbzrle = x;
    return true;
}

void ram_xbzrle_cleanup(RAMState *rs)
{
    RAMXbzrle *x = g_steal_pointer(&rs->xbzrle);

    if (!x) {
        return;
    }
    page_cache_free(x->cache);
    g_free(x->current);
    g_free(x->encoded);
    g_free(x->zeros);
    g_free(x->block_base);
    g_free(x);
}

/* A resize from the monitor: the new, empty cache replaces the old one. */
void ram_xbzrle_take_resize(RAMState *rs)
{
    PageCache *fresh;

    if (!rs->xbzrle || !(fresh = g_atomic_pointer_exchange(&rs->xbzrle_new_cache, NULL))) {
        return;
    }
    page_cache_free(rs->xbzrle->cache);
    rs->xbzrle->cache = fresh;
}

/* ---- source: pages ---- */

/*
 * Deltas start after the first round, as QEMU's: before it, every page
 * would miss.  They stop in postcopy, as QEMU's do: the destination places
 * whole pages then.
 */
static bool ram_xbzrle_active(const RAMState *rs)
{
    return rs->xbzrle && rs->all_sent_once && !rs->postcopy.active;
}

/* Page @page of @rb as one index over all blocks. */
static uint64_t ram_xbzrle_index(const RAMState *rs, const RAMBlock *rb, uint64_t page)
{
    guint i = rs->cursor_block;

    /* The page search leaves the cursor on @rb's block; look further only if not. */
    if (g_ptr_array_index(rs->blocks, i) != rb) {
        i = 0;
        while (g_ptr_array_index(rs->blocks, i) != rb) {
            i++;
        }
    }
    return rs->xbzrle->block_base[i] + page;
}

void ram_xbzrle_page_zeroed(RAMState *rs, const RAMBlock *rb, uint64_t page, bool last_stage)
{
    if (!ram_xbzrle_active(rs) || last_stage) {
        return;
    }
    /* When another page's fresh copy holds the slot, nothing is lost: this page just misses. */
    page_cache_insert(rs->xbzrle->cache, ram_xbzrle_index(rs, rb, page), rs->xbzrle->zeros,
                      rs->sync_count);
}

/* The XBZRLE record: the word with the XBZRLE flag, the encoding byte, be16 length, delta. */
static void ram_xbzrle_put_delta(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                                 size_t len, RAMSendRun *run)
{
    uint8_t hdr[RAM_HEADER_MAX];
    size_t hlen = ram_build_header(rs, hdr, rb, page << TARGET_PAGE_BITS, RAM_SAVE_FLAG_XBZRLE);

    hdr[hlen++] = XBZRLE_ENCODING_FLAG;
    hdr[hlen++] = len >> 8;
    hdr[hlen++] = len;
    qemu_put_buffer(f, hdr, hlen);
    qemu_put_buffer(f, rs->xbzrle->encoded, len);
    run->bytes += hlen + len;
    /* As QEMU counts it: the record without its 8-byte word. */
    migration_stat_add(&rs->stats->xbzrle_bytes, hlen - 8 + len);
}

/* Send page @page of @rb as a delta, not at all, or whole (see the file's comment). */
static void ram_xbzrle_send(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                            RAMSendRun *run)
{
    RAMXbzrle *x = rs->xbzrle;
    const uint8_t *host = rb->host + (page << TARGET_PAGE_BITS);
    uint64_t index = ram_xbzrle_index(rs, rb, page);
    uint8_t *cached = page_cache_lookup(x->cache, index, rs->sync_count);
    int len;

    if (!cached) {
        migration_stat_add(&rs->stats->xbzrle_cache_miss, 1);
        cached = run->last_stage ? NULL : page_cache_insert(x->cache, index, host, rs->sync_count);
        /*
         * What goes out must be what the cache holds, so a cached page is
         * sent from its copy, copied into the stream now: the slot may
         * change before an asynchronous write would be flushed.
         */
        ram_put_page_record(rs, f, rb, page, cached ? cached : host, cached != NULL, run);
        return;
    }
    migration_stat_add(&rs->stats->xbzrle_pages, 1);
    /* One read of guest memory: the guest may write the page while it is encoded. */
    memcpy(x->current, host, TARGET_PAGE_SIZE);
    len = xbzrle_encode(cached, x->current, TARGET_PAGE_SIZE, x->encoded, TARGET_PAGE_SIZE);
    if (len == 0) {
        /* Unchanged: the destination has it, if the cache is right, which this checks. */
        ram_verify_page(rs->verify, rb, page, x->current);
        return;
    }
    if (!run->last_stage) {
        memcpy(cached, x->current, TARGET_PAGE_SIZE);
    }
    if (len < 0) {
        migration_stat_add(&rs->stats->xbzrle_overflow, 1);
        migration_stat_add(&rs->stats->xbzrle_bytes, TARGET_PAGE_SIZE);
        ram_put_page_record(rs, f, rb, page, x->current, true, run);
        return;
    }
    ram_xbzrle_put_delta(rs, f, rb, page, len, run);
    ram_verify_page(rs->verify, rb, page, x->current);     /* what the delta rebuilds */
}

bool ram_xbzrle_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          RAMSendRun *run)
{
    if (!ram_xbzrle_active(rs)) {
        return false;
    }
    ram_xbzrle_send(rs, f, rb, page, run);
    return true;
}

void ram_xbzrle_update_rates(RAMState *rs)
{
    MigrationAtomicStats *st = rs->stats;
    RAMXbzrle *x = rs->xbzrle;
    uint64_t pages, bytes, miss, sent;

    if (!x) {
        return;
    }
    pages = migration_stat_get(&st->xbzrle_pages);
    bytes = migration_stat_get(&st->xbzrle_bytes);
    miss = migration_stat_get(&st->xbzrle_cache_miss);
    sent = migration_stats_pages_sent(st);
    /* QEMU leaves both rates alone over a period that sent nothing. */
    if (sent == x->sent_prev) {
        return;
    }
    migration_stat_set_double(&st->xbzrle_cache_miss_rate,
                              (double)(miss - x->miss_prev) / (sent - x->sent_prev));
    migration_stat_set_double(&st->xbzrle_encoding_rate,
                              pages == x->pages_prev || bytes == x->bytes_prev ? 0 :
                              (double)(pages - x->pages_prev) * TARGET_PAGE_SIZE /
                              (bytes - x->bytes_prev));
    x->pages_prev = pages;
    x->bytes_prev = bytes;
    x->miss_prev = miss;
    x->sent_prev = sent;
}

/* ---- destination (incoming thread) ---- */

bool ram_xbzrle_load_page(RAMState *rs, QEMUFile *f, uint8_t *host, GError **errp)
{
    RAMLoadContext *lc = &rs->load;
    int encoding = qemu_get_byte(f);
    size_t len = qemu_get_be16(f);

    if (qemu_file_get_error(f)) {
        return qemu_file_check_error(f, errp);
    }
    if (encoding != XBZRLE_ENCODING_FLAG) {
        error_setg(errp, "Failed to load XBZRLE page - wrong compression! "
                   "(encoding byte 0x%02x, expected 0x%02x)", encoding, XBZRLE_ENCODING_FLAG);
        return false;
    }
    if (len > TARGET_PAGE_SIZE) {
        error_setg(errp, "Failed to load XBZRLE page - len overflow! "
                   "(%zu bytes of delta for a %d-byte page)", len, TARGET_PAGE_SIZE);
        return false;
    }
    if (!lc->xbzrle_buf) {
        lc->xbzrle_buf = g_malloc(TARGET_PAGE_SIZE);
    }
    qemu_get_buffer(f, lc->xbzrle_buf, len);
    if (qemu_file_get_error(f)) {
        return qemu_file_check_error(f, errp);
    }
    if (!xbzrle_decode(lc->xbzrle_buf, len, host, TARGET_PAGE_SIZE, errp)) {
        error_prepend(errp, "Failed to load XBZRLE page - decode error! ");
        return false;
    }
    return true;
}
