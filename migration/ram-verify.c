/*
 * RAM verification (include/migration/ram-verify.h): page digests kept as
 * the RAM paths send or place pages, folded per chunk, and the
 * "tern-verify-ram" section that carries the source's chunk digests to the
 * destination, which compares them with its own.
 *
 * Section payloads (version 1), all integers big-endian:
 *
 *   START  u8 0 ; u8 algorithm (1: CRC-32 pages, SHA-256 chunks) ;
 *          be32 chunk pages
 *   END    u8 1 ; be32 block count ; per block: u8 idlen ; idstr ;
 *          be64 pages ; chunk count x 32-byte chunk digest
 *
 * The destination compares when END arrives (precopy, file), or keeps the
 * source's digests until ram_verify_load_done() when postcopy runs the
 * guest here before the last page lands (docs/devel/ram-verify.md).
 */
#include "migration/ram-verify.h"

#include "ram-verify-worker.h"
#include "migration/qemu-file.h"
#include "qapi/qapi-types.h"
#include "qemu/bitmap.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"
#include "qemu/thread.h"

#include <gcrypt.h>
#include <inttypes.h>
#include <string.h>

#define RAM_VERIFY_ALGORITHM        1
#define RAM_VERIFY_ALGORITHM_NAME   "crc32-sha256"
#define RAM_VERIFY_DIGEST_LEN       32      /* SHA-256 */

/* The first byte of each payload. */
enum {
    RAM_VERIFY_PAYLOAD_SETUP = 0,
    RAM_VERIFY_PAYLOAD_DIGESTS = 1,
};

/* One block's digests. */
typedef struct RAMVerifyBlock {
    const RAMBlock *rb;
    uint64_t npages;
    uint64_t nchunks;
    uint32_t *page_crc;             /* atomic: little-endian CRC-32 per page */
    unsigned long *stale;           /* atomic bits: chunks changed since folded */
    uint8_t *chunk_digest;          /* nchunks x RAM_VERIFY_DIGEST_LEN */
    uint8_t *theirs;                /* destination: the source's, once END came */
} RAMVerifyBlock;

struct RAMVerify {
    GPtrArray *blocks;              /* RAMBlock *, not owned */
    uint32_t zero_crc;              /* CRC-32 of a zero page */

    /* ---- the migration's thread; no lock (see ram_verify_start) ---- */
    gint active;                    /* atomic: read by ram_verify_info */
    RAMVerifyBlock *vb;
    guint nblocks;
    bool postcopy;                  /* destination: compare in ram_verify_load_done() */
    bool received;                  /* destination: the source's digests came */
    bool scan_on_load;              /* destination: digest RAM itself before comparing */
    RAMVerifyWorker *worker;        /* digests pages in place; NULL: the caller's thread does */
    RAMVerifyWorker *parked;        /* keep_worker: stopped but not joined, idle */
    bool keep_worker;

    /* ---- the verdict, read by query-migrate: guarded by @lock ---- */
    QemuMutex lock;
    bool compared;                  /* destination: the comparison ran */
    bool sent;                      /* source: the digests were sent */
    bool peer_mismatch;             /* source: the destination's comparison failed */
    char *bad_block;                /* the first chunk that differed */
    uint64_t bad_offset;
    uint64_t bad_length;
    uint64_t pages;                 /* atomic: pages digested */
};

static void ram_verify_crc_handle_close(gpointer hd)
{
    gcry_md_close(hd);
}

/*
 * Each thread that digests pages (migration, multifd channels, return
 * path, incoming) keeps one CRC-32 handle, reset for every page: 40 %
 * less CPU than gcry_md_hash_buffer(), which sets one up per call
 * (bench-digest: 65 against 112 ms per GiB in cache).  Per thread, so
 * lock-free; closed when the thread ends.  The only file-scope state
 * here, and it holds no migration's data.
 */
static GPrivate ram_verify_crc_handle = G_PRIVATE_INIT(ram_verify_crc_handle_close);

static uint32_t ram_verify_crc(const void *data)
{
    gcry_md_hd_t hd = g_private_get(&ram_verify_crc_handle);
    uint8_t buf[4];
    const uint8_t *out = buf;

    if (!hd && gcry_md_open(&hd, GCRY_MD_CRC32, 0) == 0) {
        g_private_set(&ram_verify_crc_handle, hd);
    }
    if (hd) {
        gcry_md_reset(hd);
        gcry_md_write(hd, data, TARGET_PAGE_SIZE);
        out = gcry_md_read(hd, GCRY_MD_CRC32);
    } else {
        /* No memory for a handle: the slower way still works. */
        gcry_md_hash_buffer(GCRY_MD_CRC32, buf, data, TARGET_PAGE_SIZE);
    }
    return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
           (uint32_t)out[3] << 24;
}

RAMVerify *ram_verify_new(GPtrArray *blocks)
{
    RAMVerify *v = g_new0(RAMVerify, 1);
    g_autofree uint8_t *zero = g_malloc0(TARGET_PAGE_SIZE);

    /* libgcrypt initialises itself once on its first check. */
    gcry_check_version(NULL);
    v->blocks = blocks;
    v->zero_crc = ram_verify_crc(zero);
    qemu_mutex_init(&v->lock);
    return v;
}

static void ram_verify_release(RAMVerify *v)
{
    ram_verify_worker_stop(v);
    for (guint i = 0; i < v->nblocks; i++) {
        g_free(v->vb[i].page_crc);
        g_free(v->vb[i].stale);
        g_free(v->vb[i].chunk_digest);
        g_free(v->vb[i].theirs);
    }
    g_clear_pointer(&v->vb, g_free);
    v->nblocks = 0;
}

void ram_verify_free(RAMVerify *v)
{
    if (!v) {
        return;
    }
    ram_verify_release(v);
    g_clear_pointer(&v->parked, ram_verify_worker_free);
    g_free(v->bad_block);
    qemu_mutex_destroy(&v->lock);
    g_free(v);
}

static void ram_verify_block_init(RAMVerify *v, RAMVerifyBlock *b, const RAMBlock *rb)
{
    b->rb = rb;
    b->npages = ramblock_pages(rb);
    b->nchunks = (b->npages + RAM_VERIFY_CHUNK_PAGES - 1) / RAM_VERIFY_CHUNK_PAGES;
    b->page_crc = g_new(uint32_t, b->npages);
    for (uint64_t p = 0; p < b->npages; p++) {
        b->page_crc[p] = v->zero_crc;
    }
    b->stale = bitmap_new(b->nchunks);
    bitmap_set(b->stale, 0, b->nchunks);
    b->chunk_digest = g_malloc0(b->nchunks * RAM_VERIFY_DIGEST_LEN);
}

void ram_verify_start(RAMVerify *v, bool on)
{
    if (!v) {
        return;
    }
    ram_verify_release(v);
    v->postcopy = v->received = false;
    qemu_mutex_lock(&v->lock);
    v->compared = v->sent = v->peer_mismatch = false;
    g_clear_pointer(&v->bad_block, g_free);
    qemu_mutex_unlock(&v->lock);
    __atomic_store_n(&v->pages, 0, __ATOMIC_RELAXED);
    if (on) {
        v->nblocks = v->blocks->len;
        v->vb = g_new0(RAMVerifyBlock, v->nblocks);
        for (guint i = 0; i < v->nblocks; i++) {
            ram_verify_block_init(v, &v->vb[i], g_ptr_array_index(v->blocks, i));
        }
    }
    g_atomic_int_set(&v->active, on);
}

bool ram_verify_is_active(const RAMVerify *v)
{
    return v && g_atomic_int_get(&v->active);
}

void ram_verify_set_postcopy(RAMVerify *v)
{
    if (v) {
        /* The guest runs from RUN on and writes RAM: no page may be read after that. */
        ram_verify_drain(v);
        ram_verify_worker_stop(v);
        v->postcopy = true;
    }
}

void ram_verify_set_scan_on_load(RAMVerify *v, bool on)
{
    if (v) {
        v->scan_on_load = on;
    }
}

bool ram_verify_mismatched(RAMVerify *v)
{
    bool bad;

    if (!v) {
        return false;
    }
    qemu_mutex_lock(&v->lock);
    bad = v->bad_block != NULL;
    qemu_mutex_unlock(&v->lock);
    return bad;
}

void ram_verify_set_peer_mismatch(RAMVerify *v)
{
    if (!ram_verify_is_active(v)) {
        return;
    }
    qemu_mutex_lock(&v->lock);
    v->peer_mismatch = true;
    qemu_mutex_unlock(&v->lock);
}

/* The index of @rb's digests; the RAM paths only report pages of the blocks they were given. */
static guint ram_verify_block_index(const RAMVerify *v, const RAMBlock *rb, uint64_t page)
{
    /* A handful of blocks: a scan is cheaper than any lookup structure. */
    for (guint i = 0; i < v->nblocks; i++) {
        if (v->vb[i].rb == rb) {
            g_assert(page < v->vb[i].npages);
            return i;
        }
    }
    g_assert_not_reached();
}

/* Store page @page's CRC (of @data, or of a zero page) and mark its chunk for the fold. */
static void ram_verify_store(RAMVerify *v, RAMVerifyBlock *b, uint64_t page, const void *data)
{
    uint32_t crc = GUINT32_TO_LE(data ? ram_verify_crc(data) : v->zero_crc);
    uint64_t chunk = page / RAM_VERIFY_CHUNK_PAGES;

    __atomic_store_n(&b->page_crc[page], crc, __ATOMIC_RELAXED);
    /*
     * Always the read-modify-write, never "already set, skip it": its
     * release orders the CRC before the bit for a fold on another thread.
     *
     *   sender (multifd thread)         fold (migration thread)
     *   store page_crc[p]
     *   fetch_or(stale, chunk)   --->   exchange(stale, 0) sees the bit,
     *                                   then reads page_crc[p]: the new CRC
     *
     * Had the sender skipped the fetch_or because the bit was set, the
     * fold could clear the bit, read the old CRC, and never fold again.
     */
    __atomic_fetch_or(&b->stale[BIT_WORD(chunk)], BIT_MASK(chunk), __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&v->pages, 1, __ATOMIC_RELAXED);
}

void ram_verify_page(RAMVerify *v, const RAMBlock *rb, uint64_t page, const void *data)
{
    if (!v || !v->nblocks) {
        return;
    }
    ram_verify_store(v, &v->vb[ram_verify_block_index(v, rb, page)], page, data);
}

/* The worker thread: a page reported in place, read from RAM now. */
static void ram_verify_worker_digest(void *opaque, guint block, uint64_t page, bool zero)
{
    RAMVerify *v = opaque;
    RAMVerifyBlock *b = &v->vb[block];

    ram_verify_store(v, b, page, zero ? NULL : b->rb->host + (page << TARGET_PAGE_BITS));
}

void ram_verify_page_in_place(RAMVerify *v, const RAMBlock *rb, uint64_t page, bool zero)
{
    if (!v || !v->nblocks) {
        return;
    }
    if (!v->worker) {
        ram_verify_page(v, rb, page, zero ? NULL : rb->host + (page << TARGET_PAGE_BITS));
        return;
    }
    ram_verify_worker_push(v->worker, ram_verify_block_index(v, rb, page), page, zero);
}

void ram_verify_worker_start(RAMVerify *v)
{
    if (v && v->nblocks && !v->worker) {
        v->worker = v->parked ? g_steal_pointer(&v->parked)
                              : ram_verify_worker_new(ram_verify_worker_digest, v);
    }
}

void ram_verify_drain(RAMVerify *v)
{
    if (v && v->worker) {
        ram_verify_worker_drain(v->worker);
    }
}

void ram_verify_worker_stop(RAMVerify *v)
{
    if (!v || !v->worker) {
        return;
    }
    if (v->keep_worker) {
        /* Drained, not dropped: the worker must be idle before @v->vb changes. */
        ram_verify_worker_drain(v->worker);
        v->parked = g_steal_pointer(&v->worker);
        return;
    }
    g_clear_pointer(&v->worker, ram_verify_worker_free);
}

void ram_verify_set_keep_worker(RAMVerify *v, bool keep)
{
    if (v) {
        v->keep_worker = keep;
        if (!keep) {
            g_clear_pointer(&v->parked, ram_verify_worker_free);
        }
    }
}

static void ram_verify_fold_block(RAMVerifyBlock *b)
{
    size_t nwords = BITS_TO_LONGS(b->nchunks);

    for (size_t w = 0; w < nwords; w++) {
        /* Taken whole: a page reported meanwhile sets its bit again. */
        unsigned long bits = __atomic_exchange_n(&b->stale[w], 0, __ATOMIC_SEQ_CST);

        while (bits) {
            uint64_t c = w * BITS_PER_LONG + __builtin_ctzl(bits);
            uint64_t first = c * RAM_VERIFY_CHUNK_PAGES;
            uint64_t n = MIN(RAM_VERIFY_CHUNK_PAGES, b->npages - first);
            uint32_t crcs[RAM_VERIFY_CHUNK_PAGES];

            /* A sender may be storing CRCs of this chunk meanwhile (it marks it stale again). */
            for (uint64_t p = 0; p < n; p++) {
                crcs[p] = __atomic_load_n(&b->page_crc[first + p], __ATOMIC_RELAXED);
            }
            gcry_md_hash_buffer(GCRY_MD_SHA256, b->chunk_digest + c * RAM_VERIFY_DIGEST_LEN,
                                crcs, n * sizeof(uint32_t));
            bits &= bits - 1;
        }
    }
}

void ram_verify_fold(RAMVerify *v)
{
    for (guint i = 0; i < v->nblocks; i++) {
        ram_verify_fold_block(&v->vb[i]);
    }
}

/* ---- the section ---- */

static bool ram_verify_section_is_active(void *opaque)
{
    return ram_verify_is_active(opaque);
}

/* Migration thread: the START section says how the digests are made. */
static bool ram_verify_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    qemu_put_byte(f, RAM_VERIFY_PAYLOAD_SETUP);
    qemu_put_byte(f, RAM_VERIFY_ALGORITHM);
    qemu_put_be32(f, RAM_VERIFY_CHUNK_PAGES);
    return qemu_file_check_error(f, errp);
}

/* Migration thread, VM stopped, after the RAM's END section. */
static bool ram_verify_save_complete(QEMUFile *f, void *opaque, GError **errp)
{
    RAMVerify *v = opaque;

    /* The final round's pages were digested as they went: what is left to wait for is short. */
    ram_verify_drain(v);
    ram_verify_fold(v);
    qemu_put_byte(f, RAM_VERIFY_PAYLOAD_DIGESTS);
    qemu_put_be32(f, v->nblocks);
    for (guint i = 0; i < v->nblocks; i++) {
        const RAMVerifyBlock *b = &v->vb[i];
        size_t idlen = strlen(b->rb->idstr);

        qemu_put_byte(f, idlen);
        qemu_put_buffer(f, b->rb->idstr, idlen);
        qemu_put_be64(f, b->npages);
        qemu_put_buffer(f, b->chunk_digest, b->nchunks * RAM_VERIFY_DIGEST_LEN);
    }
    if (!qemu_file_check_error(f, errp)) {
        return false;
    }
    qemu_mutex_lock(&v->lock);
    v->sent = true;
    qemu_mutex_unlock(&v->lock);
    return true;
}

/* The stream failed (qemu_file_get_error() is set) while reading @what. */
static bool ram_verify_load_fail(QEMUFile *f, GError **errp, const char *what)
{
    qemu_file_check_error(f, errp);
    g_prefix_error(errp, "x-verify-ram: reading %s: ", what);
    return false;
}

static RAMVerifyBlock *ram_verify_load_block(RAMVerify *v, QEMUFile *f, GError **errp)
{
    char name[256];
    uint8_t len = qemu_get_byte(f);
    uint64_t npages;

    qemu_get_buffer(f, name, len);
    name[len] = '\0';
    npages = qemu_get_be64(f);
    if (qemu_file_get_error(f)) {
        ram_verify_load_fail(f, errp, "a block's name");
        return NULL;
    }
    for (guint i = 0; i < v->nblocks; i++) {
        if (!strcmp(v->vb[i].rb->idstr, name)) {
            if (v->vb[i].npages != npages) {
                error_setg(errp, "x-verify-ram: block \"%s\" has %" PRIu64 " pages on the "
                           "source, %" PRIu64 " here", name, npages, v->vb[i].npages);
                return NULL;
            }
            return &v->vb[i];
        }
    }
    error_setg(errp, "x-verify-ram: unknown RAM block \"%s\"", name);
    return NULL;
}

/* Record and report the first chunk of @b whose digest differs from @theirs. */
static bool ram_verify_compare_block(RAMVerify *v, RAMVerifyBlock *b, const uint8_t *theirs,
                                     GError **errp)
{
    for (uint64_t c = 0; c < b->nchunks; c++) {
        uint64_t first = c * RAM_VERIFY_CHUNK_PAGES;
        uint64_t n = MIN(RAM_VERIFY_CHUNK_PAGES, b->npages - first);

        if (memcmp(theirs + c * RAM_VERIFY_DIGEST_LEN,
                   b->chunk_digest + c * RAM_VERIFY_DIGEST_LEN, RAM_VERIFY_DIGEST_LEN)) {
            qemu_mutex_lock(&v->lock);
            v->bad_block = g_strdup(b->rb->idstr);
            v->bad_offset = first << TARGET_PAGE_BITS;
            v->bad_length = n << TARGET_PAGE_BITS;
            qemu_mutex_unlock(&v->lock);
            error_setg(errp, "x-verify-ram: RAM differs from the source's in block \"%s\" at "
                       "0x%" PRIx64 "-0x%" PRIx64 "%s", b->rb->idstr, v->bad_offset,
                       v->bad_offset + v->bad_length - 1,
                       v->postcopy ? " (postcopy: the guest already ran on it here)" : "");
            return false;
        }
    }
    return true;
}

/* Incoming thread: the START payload; the digests must be made as ours are. */
static bool ram_verify_load_setup_payload(QEMUFile *f, GError **errp)
{
    uint8_t algorithm = qemu_get_byte(f);
    uint32_t chunk_pages = qemu_get_be32(f);

    if (qemu_file_get_error(f)) {
        return ram_verify_load_fail(f, errp, "the digest's description");
    }
    if (algorithm != RAM_VERIFY_ALGORITHM || chunk_pages != RAM_VERIFY_CHUNK_PAGES) {
        error_setg(errp, "x-verify-ram: unknown digest %u over chunks of %" PRIu32 " pages",
                   algorithm, chunk_pages);
        return false;
    }
    return true;
}

/*
 * Destination, before comparing with mapped-ram: its pages went from the
 * file straight into guest memory (on any thread), so each page's CRC is
 * taken here from RAM as it stands, a zero page without hashing it.
 */
static void ram_verify_scan(RAMVerify *v)
{
    for (guint i = 0; i < v->nblocks; i++) {
        RAMVerifyBlock *b = &v->vb[i];

        for (uint64_t p = 0; p < b->npages; p++) {
            const uint8_t *host = b->rb->host + (p << TARGET_PAGE_BITS);

            ram_verify_page(v, b->rb, p,
                            buffer_is_zero(host, TARGET_PAGE_SIZE) ? NULL : host);
        }
    }
}

/* Every block's digests against the source's (all received); the verdict is recorded. */
static bool ram_verify_compare(RAMVerify *v, GError **errp)
{
    bool ok = true;

    if (v->scan_on_load) {
        ram_verify_scan(v);
    }
    ram_verify_drain(v);
    ram_verify_fold(v);
    for (guint i = 0; i < v->nblocks && ok; i++) {
        ok = ram_verify_compare_block(v, &v->vb[i], v->vb[i].theirs, errp);
    }
    qemu_mutex_lock(&v->lock);
    v->compared = true;
    qemu_mutex_unlock(&v->lock);
    return ok;
}

/*
 * Incoming thread: the source's digests, compared at once (before any
 * device loads) unless postcopy runs the guest already; then
 * ram_verify_load_done() compares, once every page was placed.
 */
static bool ram_verify_load_digests(RAMVerify *v, QEMUFile *f, GError **errp)
{
    uint32_t nblocks = qemu_get_be32(f);

    if (qemu_file_get_error(f)) {
        return ram_verify_load_fail(f, errp, "the block count");
    }
    if (nblocks != v->nblocks) {
        error_setg(errp, "x-verify-ram: the source has %" PRIu32 " RAM blocks, this side %u",
                   nblocks, v->nblocks);
        return false;
    }
    for (uint32_t i = 0; i < nblocks; i++) {
        RAMVerifyBlock *b = ram_verify_load_block(v, f, errp);

        if (!b) {
            return false;
        }
        if (b->theirs) {
            error_setg(errp, "x-verify-ram: block \"%s\" sent twice", b->rb->idstr);
            return false;
        }
        b->theirs = g_malloc(b->nchunks * RAM_VERIFY_DIGEST_LEN);
        qemu_get_buffer(f, b->theirs, b->nchunks * RAM_VERIFY_DIGEST_LEN);
        if (qemu_file_get_error(f)) {
            return ram_verify_load_fail(f, errp, "chunk digests");
        }
    }
    v->received = true;
    return v->postcopy || ram_verify_compare(v, errp);
}

static bool ram_verify_load_state(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    RAMVerify *v = opaque;
    uint8_t payload = qemu_get_byte(f);

    if (!ram_verify_is_active(v)) {
        error_setg(errp, "x-verify-ram: the source verifies RAM; set the capability "
                   "here too");
        return false;
    }
    if (version_id != RAM_VERIFY_SECTION_VERSION) {
        error_setg(errp, "x-verify-ram: section version %d is not supported", version_id);
        return false;
    }
    switch (payload) {
    case RAM_VERIFY_PAYLOAD_SETUP:
        return ram_verify_load_setup_payload(f, errp);
    case RAM_VERIFY_PAYLOAD_DIGESTS:
        return ram_verify_load_digests(v, f, errp);
    default:
        if (qemu_file_get_error(f)) {
            return ram_verify_load_fail(f, errp, "the payload type");
        }
        error_setg(errp, "x-verify-ram: unknown payload type %u", payload);
        return false;
    }
}

bool ram_verify_load_done(RAMVerify *v, GError **errp)
{
    bool compared;

    if (!ram_verify_is_active(v)) {
        return true;
    }
    if (v->postcopy && v->received) {
        return ram_verify_compare(v, errp);
    }
    qemu_mutex_lock(&v->lock);
    compared = v->compared;
    qemu_mutex_unlock(&v->lock);
    if (!compared) {
        error_setg(errp, "x-verify-ram: the source sent no RAM digests (set the capability "
                   "on both sides)");
    }
    return compared;
}

VerifyRamInfo *ram_verify_info(RAMVerify *v, bool completed)
{
    VerifyRamInfo *info;

    if (!ram_verify_is_active(v)) {
        return NULL;
    }
    info = g_new0(VerifyRamInfo, 1);
    info->algorithm = g_strdup(RAM_VERIFY_ALGORITHM_NAME);
    info->pages = __atomic_load_n(&v->pages, __ATOMIC_RELAXED);
    qemu_mutex_lock(&v->lock);
    if (v->bad_block) {
        info->status = VERIFY_RAM_STATUS_FAILED;
        info->mismatch_block = g_strdup(v->bad_block);
        info->has_mismatch_offset = info->has_mismatch_length = true;
        info->mismatch_offset = v->bad_offset;
        info->mismatch_length = v->bad_length;
    } else if (v->peer_mismatch) {
        info->status = VERIFY_RAM_STATUS_FAILED;       /* the destination's members say where */
    } else if (v->compared || (v->sent && completed)) {
        info->status = VERIFY_RAM_STATUS_PASSED;
    } else {
        info->status = VERIFY_RAM_STATUS_ACTIVE;
    }
    qemu_mutex_unlock(&v->lock);
    return info;
}

const SaveVMHandlers ram_verify_handlers = {
    .is_active = ram_verify_section_is_active,
    .save_setup = ram_verify_save_setup,
    .save_live_complete = ram_verify_save_complete,
    .load_state = ram_verify_load_state,
};
