/*
 * Capability compress, source side: a pool of compress-threads threads,
 * each with its own z_stream at compress-level, compresses pages the
 * migration thread hands it, and the migration thread writes the records
 * in the order it handed the pages out.
 *
 * The pool is a ring of slots, one per thread.  The migration thread fills
 * slot `next`, first writing out that slot's previous page, the oldest one
 * pending; so pages go out in the order they were chosen.  With
 * compress-wait-thread false, a slot still busy means every thread is
 * busy: the page goes out whole and counts as busy, as QEMU's does.
 *
 * As QEMU's: the first page after the block changes (or at a section's
 * start) goes out whole, so that it can name the block; every compressed
 * record carries CONTINUE.  Zero pages (found by the caller) stay zero
 * records, but take their turn in the ring, so every page handed to the
 * pool goes out in order.  The ring is emptied before a record names
 * another block, when a round over the dirty pages wraps (a page is never
 * pending twice) and at the end of each section.
 *
 * After the switch to postcopy the destination waits for the pages it
 * asked for: the migration thread compresses each page itself, with a
 * stream of its own, and writes it at once.
 */
#include "ram-compress.h"
#include "ram-compress-codec.h"
#include "qemu/error.h"
#include "qemu/job-slot.h"

#include <errno.h>
#include <string.h>

typedef struct RAMCompressSlot {
    JobSlot job;                    /* its worker: compresses the page */
    z_stream zs;                    /* the worker's */

    /* Migration thread only: holds a page whose record is not written yet. */
    bool pending;
    /* The page: set by the migration thread while idle, read by the worker while queued. */
    const RAMBlock *rb;
    uint64_t page;
    bool zero;                      /* a zero record; never queued */
    /* The result: the worker's while queued, the migration thread's once done. */
    uint8_t *copy;                  /* the page as compressed: one read of guest memory */
    uint8_t *out;                   /* its zlib stream */
    size_t out_len;
    GError *err;                    /* set instead of @out_len */
} RAMCompressSlot;

struct RAMCompress {
    z_stream zs;                    /* the migration thread's, for postcopy */
    uint8_t *out;                   /* its output */
    RAMCompressSlot *slots;
    unsigned nslots;
    unsigned next;                  /* the slot to fill next; the oldest pending page */
    bool wait_thread;
    /* The counters as of the last rate period's end. */
    uint64_t busy_prev, pages_prev, size_prev, sent_prev;
};

/* ---- settings (monitor, before setup) ---- */

void ram_state_set_compress(RAMState *rs, bool on, int level, unsigned threads,
                            bool wait_thread)
{
    rs->compress_cfg = (RAMCompressConfig) {
        .on = on, .level = level, .threads = threads, .wait_thread = wait_thread,
    };
}

/* ---- worker ---- */

static void ram_compress_worker(void *opaque)
{
    RAMCompressSlot *s = opaque;

    /* The guest may write the page meanwhile: what is compressed is this copy. */
    memcpy(s->copy, s->rb->host + (s->page << TARGET_PAGE_BITS), TARGET_PAGE_SIZE);
    s->out_len = ram_compress_page(&s->zs, s->copy, TARGET_PAGE_SIZE, s->out, &s->err);
}

/* ---- setup and cleanup (migration thread) ---- */

static void ram_compress_free(RAMCompress *c)
{
    for (unsigned i = 0; i < c->nslots; i++) {
        RAMCompressSlot *s = &c->slots[i];

        job_slot_destroy(&s->job);
        ram_compress_stream_end(&s->zs);   /* a no-op on one never set up */
        g_free(s->copy);
        g_free(s->out);
        g_clear_error(&s->err);
    }
    ram_compress_stream_end(&c->zs);
    g_free(c->out);
    g_free(c->slots);
    g_free(c);
}

void ram_compress_cleanup(RAMState *rs)
{
    g_clear_pointer(&rs->compress, ram_compress_free);
}

bool ram_compress_setup(RAMState *rs, GError **errp)
{
    const RAMCompressConfig *cfg = &rs->compress_cfg;
    RAMCompress *c;

    ram_compress_cleanup(rs);
    if (!cfg->on) {
        return true;
    }
    c = g_new0(RAMCompress, 1);
    c->nslots = cfg->threads;
    c->wait_thread = cfg->wait_thread;
    c->slots = g_new0(RAMCompressSlot, c->nslots);
    c->out = g_malloc(RAM_COMPRESS_MAX_LEN(TARGET_PAGE_SIZE));
    if (!ram_compress_stream_init(&c->zs, cfg->level, errp)) {
        ram_compress_free(c);
        return false;
    }
    for (unsigned i = 0; i < c->nslots; i++) {
        RAMCompressSlot *s = &c->slots[i];

        job_slot_init(&s->job);
        s->copy = g_malloc(TARGET_PAGE_SIZE);
        s->out = g_malloc(RAM_COMPRESS_MAX_LEN(TARGET_PAGE_SIZE));
        if (!ram_compress_stream_init(&s->zs, cfg->level, errp)) {
            ram_compress_free(c);
            return false;
        }
        job_slot_start(&s->job, "mig/compress", ram_compress_worker, s);
    }
    rs->compress = c;
    return true;
}

/* ---- pages (migration thread) ---- */

/*
 * The record of page @page of @rb, @data compressed into the @len bytes at
 * @out.  Blocks change only where the ring is empty, so its header is a
 * CONTINUE one.
 */
static void ram_compress_put(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                             const uint8_t *data, const uint8_t *out, size_t len,
                             RAMSendRun *run)
{
    uint8_t hdr[RAM_HEADER_MAX + 4];
    size_t hlen = ram_build_header(rs, hdr, rb, page << TARGET_PAGE_BITS,
                                   RAM_SAVE_FLAG_COMPRESS_PAGE);

    hdr[hlen++] = len >> 24;
    hdr[hlen++] = len >> 16;
    hdr[hlen++] = len >> 8;
    hdr[hlen++] = len;
    qemu_put_buffer(f, hdr, hlen);
    qemu_put_buffer(f, out, len);
    ram_verify_page(rs->verify, rb, page, data);
    run->bytes += hlen + len;
    migration_stat_add(&rs->stats->compress_pages, 1);
    /* As QEMU counts it: the record without its 8-byte word. */
    migration_stat_add(&rs->stats->compress_size, hlen - 8 + len);
}

/* Postcopy: compress page @page of @rb here and write it now. */
static void ram_compress_put_now(RAMState *rs, QEMUFile *f, const RAMBlock *rb,
                                 uint64_t page, RAMSendRun *run)
{
    RAMCompress *c = rs->compress;
    /* The slots are idle here: the first one's copy buffer is free. */
    uint8_t *copy = c->slots[0].copy;
    GError *err = NULL;
    size_t len;

    memcpy(copy, rb->host + (page << TARGET_PAGE_BITS), TARGET_PAGE_SIZE);
    len = ram_compress_page(&c->zs, copy, TARGET_PAGE_SIZE, c->out, &err);
    if (!len) {
        qemu_file_set_error(f, -EIO, err);
        return;
    }
    ram_compress_put(rs, f, rb, page, copy, c->out, len, run);
}

/* Write the record of @s's page, once its worker is done with it; @s is IDLE after. */
static void ram_compress_put_record(RAMState *rs, QEMUFile *f, RAMCompressSlot *s,
                                    RAMSendRun *run)
{
    uint8_t hdr[RAM_HEADER_MAX + 4];
    size_t hlen;

    job_slot_wait(&s->job);
    if (!s->pending) {
        return;
    }
    s->pending = false;
    if (s->zero) {
        hlen = ram_build_header(rs, hdr, s->rb, s->page << TARGET_PAGE_BITS, RAM_SAVE_FLAG_ZERO);
        hdr[hlen++] = 0;
        qemu_put_buffer(f, hdr, hlen);
        ram_verify_page(rs->verify, s->rb, s->page, NULL);
        run->bytes += hlen;
        run->zero_pages++;
        return;
    }
    if (s->err) {
        qemu_file_set_error(f, -EIO, g_steal_pointer(&s->err));
        return;
    }
    ram_compress_put(rs, f, s->rb, s->page, s->copy, s->out, s->out_len, run);
}

void ram_compress_flush(RAMState *rs, QEMUFile *f, RAMSendRun *run)
{
    RAMCompress *c = rs->compress;

    if (!c) {
        return;
    }
    /* Oldest first: from `next` round the ring. */
    for (unsigned i = 0; i < c->nslots; i++) {
        ram_compress_put_record(rs, f, &c->slots[(c->next + i) % c->nslots], run);
    }
}

bool ram_compress_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                            bool zero, RAMSendRun *run)
{
    RAMCompress *c = rs->compress;
    RAMCompressSlot *s;

    if (!c) {
        return false;
    }
    if (rb != rs->last_sent_block) {
        /* This page's record names @rb: every pending one must precede it. */
        ram_compress_flush(rs, f, run);
        return false;
    }
    if (rs->postcopy.active) {
        if (zero) {
            return false;
        }
        ram_compress_put_now(rs, f, rb, page, run);
        return true;
    }
    s = &c->slots[c->next];
    if (!c->wait_thread && job_slot_busy(&s->job)) {
        /* As QEMU's: a zero page finding no thread free counts as busy too. */
        migration_stat_add(&rs->stats->compress_busy, 1);
        return false;
    }
    ram_compress_put_record(rs, f, s, run);
    if (qemu_file_get_error(f)) {
        return true;                /* the caller stops at the error */
    }
    s->rb = rb;
    s->page = page;
    s->zero = zero;
    s->pending = true;
    if (!zero) {
        job_slot_queue(&s->job);
    }
    c->next = (c->next + 1) % c->nslots;
    return true;
}

void ram_compress_update_rates(RAMState *rs)
{
    MigrationAtomicStats *st = rs->stats;
    RAMCompress *c = rs->compress;
    uint64_t busy, pages, size, sent;

    if (!c) {
        return;
    }
    busy = migration_stat_get(&st->compress_busy);
    pages = migration_stat_get(&st->compress_pages);
    size = migration_stat_get(&st->compress_size);
    sent = migration_stats_pages_sent(st);
    if (sent == c->sent_prev) {
        return;                     /* as QEMU: a period that sent nothing changes nothing */
    }
    migration_stat_set_double(&st->compress_busy_rate,
                              (double)(busy - c->busy_prev) / (sent - c->sent_prev));
    c->busy_prev = busy;
    c->sent_prev = sent;
    if (size != c->size_prev) {
        migration_stat_set_double(&st->compress_rate,
                                  (double)(pages - c->pages_prev) * TARGET_PAGE_SIZE /
                                  (size - c->size_prev));
        c->pages_prev = pages;
        c->size_prev = size;
    }
}
