/*
 * Capability compress, destination side: a pool of decompress-threads
 * threads inflates COMPRESS_PAGE records into guest memory while the
 * incoming thread reads on.
 *
 * The pool is a ring of slots, one per thread, filled in stream order.
 * The incoming thread reads a record's bytes into slot `next` (after that
 * slot's previous page landed), and its worker inflates them into a buffer
 * of its own, checks the result (one complete zlib stream, exactly one
 * page) and only then copies it to the page: a corrupt record writes
 * nothing.  A failure is kept in the slot and reported when the incoming
 * thread collects it, at the latest at the end of the RAM section, naming
 * the block, the page offset and the record's stream offset.
 *
 * Records for one page land in stream order: before a page is written
 * any other way, or handed to another slot, a pending decompression of
 * that page is waited for (ram_decompress_settle()).
 *
 * In postcopy, where pages are placed whole and atomically, the loading
 * thread decompresses each page itself into the placing buffer
 * (ram_decompress_load_sync()), as QEMU waits for its threads before it
 * places a page.
 */
#include "ram-compress-load.h"
#include "ram-compress-codec.h"
#include "qemu/error.h"
#include "qemu/job-slot.h"

#include <inttypes.h>
#include <string.h>

typedef struct RAMDecompressSlot {
    JobSlot job;                    /* its worker: inflates the record into the page */
    z_stream zs;                    /* the worker's */

    /* Incoming thread only: handed out and not collected yet. */
    bool pending;
    /* The record: the incoming thread's until queued, the worker's while queued. */
    RAMBlock *rb;
    uint64_t page;
    uint64_t pos;                   /* the record's stream offset */
    uint8_t *in;
    size_t len;
    uint8_t *out;                   /* the worker's: the page as inflated */
    RAMVerify *verify;
    GError *err;                    /* the worker's result; the incoming thread takes it */
} RAMDecompressSlot;

struct RAMDecompress {
    z_stream zs;                    /* the loading thread's, for postcopy */
    uint8_t *in;                    /* its input */
    RAMDecompressSlot *slots;
    unsigned nslots;
    unsigned next;                  /* the slot to fill next; the oldest pending page */
};

void ram_state_set_decompress(RAMState *rs, bool on, unsigned threads)
{
    rs->load.decompress_on = on;
    rs->load.decompress_threads = threads;
}

/* ---- worker ---- */

static void ram_decompress_worker(void *opaque)
{
    RAMDecompressSlot *s = opaque;
    uint8_t *host = s->rb->host + (s->page << TARGET_PAGE_BITS);

    if (!ram_decompress_page(&s->zs, s->in, s->len, s->out, TARGET_PAGE_SIZE, &s->err)) {
        error_prepend(&s->err, "decompress data failed (RAM block \"%s\", page offset 0x%"
                      PRIx64 ", stream offset %" PRIu64 "): ", s->rb->idstr,
                      s->page << TARGET_PAGE_BITS, s->pos);
        return;
    }
    memcpy(host, s->out, TARGET_PAGE_SIZE);
    ram_verify_page(s->verify, s->rb, s->page, s->out);
}

/* ---- the pool (incoming thread) ---- */

static void ram_decompress_free(RAMDecompress *d)
{
    for (unsigned i = 0; i < d->nslots; i++) {
        RAMDecompressSlot *s = &d->slots[i];

        job_slot_destroy(&s->job);
        ram_decompress_stream_end(&s->zs);   /* a no-op on one never set up */
        g_free(s->in);
        g_free(s->out);
        g_clear_error(&s->err);
    }
    ram_decompress_stream_end(&d->zs);
    g_free(d->in);
    g_free(d->slots);
    g_free(d);
}

void ram_decompress_cleanup(RAMState *rs)
{
    /* Joining the workers: none writes guest memory after this. */
    g_clear_pointer(&rs->load.decompress, ram_decompress_free);
}

static RAMDecompress *ram_decompress_new(RAMState *rs, GError **errp)
{
    RAMDecompress *d = g_new0(RAMDecompress, 1);

    d->nslots = MAX(rs->load.decompress_threads, 1);
    d->slots = g_new0(RAMDecompressSlot, d->nslots);
    d->in = g_malloc(RAM_COMPRESS_MAX_LEN(TARGET_PAGE_SIZE));
    if (!ram_decompress_stream_init(&d->zs, errp)) {
        ram_decompress_free(d);
        return NULL;
    }
    for (unsigned i = 0; i < d->nslots; i++) {
        RAMDecompressSlot *s = &d->slots[i];

        job_slot_init(&s->job);
        s->in = g_malloc(RAM_COMPRESS_MAX_LEN(TARGET_PAGE_SIZE));
        s->out = g_malloc(TARGET_PAGE_SIZE);
        s->verify = rs->verify;
        if (!ram_decompress_stream_init(&s->zs, errp)) {
            ram_decompress_free(d);
            return NULL;
        }
        job_slot_start(&s->job, "mig/decompress", ram_decompress_worker, s);
    }
    return d;
}

/* Wait for @s's page to land; false with its failure, if it failed. */
static bool ram_decompress_collect(RAMDecompressSlot *s, GError **errp)
{
    if (!s->pending) {
        return true;
    }
    job_slot_wait(&s->job);
    s->pending = false;
    if (s->err) {
        g_propagate_error(errp, g_steal_pointer(&s->err));
        return false;
    }
    return true;
}

bool ram_decompress_settle(RAMState *rs, const RAMBlock *rb, uint64_t page, GError **errp)
{
    RAMDecompress *d = rs->load.decompress;

    if (!d) {
        return true;
    }
    for (unsigned i = 0; i < d->nslots; i++) {
        RAMDecompressSlot *s = &d->slots[i];

        if (s->pending && s->rb == rb && s->page == page && !ram_decompress_collect(s, errp)) {
            return false;
        }
    }
    return true;
}

bool ram_decompress_wait(RAMState *rs, GError **errp)
{
    RAMDecompress *d = rs->load.decompress;
    bool ok = true;

    if (!d) {
        return true;
    }
    /* Every slot, even after a failure: none may still write when the load fails. */
    for (unsigned i = 0; i < d->nslots; i++) {
        GError *err = NULL;

        if (!ram_decompress_collect(&d->slots[(d->next + i) % d->nslots], &err)) {
            if (ok) {
                g_propagate_error(errp, err);
            } else {
                g_error_free(err);
            }
            ok = false;
        }
    }
    return ok;
}

/* The record at @pos is bad (@f: the stream failed inside it; else *@errp says why). */
static bool ram_decompress_record_fail(QEMUFile *f, uint64_t pos, const RAMBlock *rb,
                                       uint64_t page, GError **errp)
{
    if (f) {
        qemu_file_check_error(f, errp);
    }
    error_prepend(errp, "RAM record at stream offset %" PRIu64 " (block \"%s\", page offset 0x%"
                  PRIx64 "): ", pos, rb->idstr, page << TARGET_PAGE_BITS);
    return false;
}

/* Read a record's be32 length into *@len, checked; starts the pool if need be. */
static bool ram_decompress_get_len(RAMState *rs, QEMUFile *f, uint64_t pos, const RAMBlock *rb,
                                   uint64_t page, uint32_t *len, GError **errp)
{
    size_t max = RAM_COMPRESS_MAX_LEN(TARGET_PAGE_SIZE);

    *len = qemu_get_be32(f);
    if (qemu_file_get_error(f)) {
        return ram_decompress_record_fail(f, pos, rb, page, errp);
    }
    if (*len > max) {
        /* QEMU's words; the limit is zlib's compressBound() of a page. */
        error_setg(errp, "Invalid compressed data length: %d (at most %zu)", (int)*len, max);
        return ram_decompress_record_fail(NULL, pos, rb, page, errp);
    }
    if (!rs->load.decompress &&
        !(rs->load.decompress = ram_decompress_new(rs, errp))) {
        return false;
    }
    return true;
}

bool ram_decompress_load_sync(RAMState *rs, QEMUFile *f, uint64_t pos, const RAMBlock *rb,
                              uint64_t page, uint8_t *buf, GError **errp)
{
    RAMDecompress *d;
    uint32_t len;

    if (!ram_decompress_get_len(rs, f, pos, rb, page, &len, errp)) {
        return false;
    }
    d = rs->load.decompress;
    qemu_get_buffer(f, d->in, len);
    if (qemu_file_get_error(f)) {
        return ram_decompress_record_fail(f, pos, rb, page, errp);
    }
    if (!ram_decompress_page(&d->zs, d->in, len, buf, TARGET_PAGE_SIZE, errp)) {
        error_prepend(errp, "decompress data failed (RAM block \"%s\", page offset 0x%"
                      PRIx64 ", stream offset %" PRIu64 "): ", rb->idstr,
                      page << TARGET_PAGE_BITS, pos);
        return false;
    }
    return true;
}

bool ram_decompress_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                              uint64_t page, GError **errp)
{
    RAMDecompress *d;
    RAMDecompressSlot *s;
    uint32_t len;

    if (!ram_decompress_get_len(rs, f, pos, rb, page, &len, errp)) {
        return false;
    }
    d = rs->load.decompress;
    s = &d->slots[d->next];
    if (!ram_decompress_settle(rs, rb, page, errp) || !ram_decompress_collect(s, errp)) {
        return false;
    }
    qemu_get_buffer(f, s->in, len);
    if (qemu_file_get_error(f)) {
        return ram_decompress_record_fail(f, pos, rb, page, errp);
    }
    s->rb = rb;
    s->page = page;
    s->pos = pos;
    s->len = len;
    s->pending = true;
    job_slot_queue(&s->job);
    d->next = (d->next + 1) % d->nslots;
    return true;
}
