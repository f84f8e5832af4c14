/*
 * Internals shared by the RAM section's source (ram.c), destination
 * (ram-load.c) and residency probe (ram-residency.c).  Not for other
 * subsystems: they use include/migration/ram.h.
 */
#ifndef MIGRATION_RAM_INTERNAL_H
#define MIGRATION_RAM_INTERNAL_H

#include "migration/ram.h"
#include "migration/ram-verify.h"
#include "mapped-ram.h"
#include "qemu/bitmap.h"
#include "qemu/thread.h"

/* Pages per residency window: 8 MiB, a whole number of 2 MiB huge pages. */
#define RAM_RESIDENCY_WINDOW_PAGES  2048

/*
 * Which pages of a block hold data, asked of the kernel (PAGEMAP_SCAN on
 * /proc/self/pagemap) a window at a time so that pages the guest never
 * wrote are neither read nor faulted in.  Only private anonymous blocks
 * qualify: there a page that is not present, not swapped, or mapped to the
 * zero page reads as zeros.  For other blocks, or when the kernel lacks
 * PAGEMAP_SCAN, every page counts as holding data.  One thread uses it.
 */
typedef struct RAMResidency {
    int pagemap_fd;                 /* -1: not opened yet or unusable */
    bool unusable;                  /* PAGEMAP_SCAN failed once: stop asking */

    /* The cached window: pages [first, first + count) of @block. */
    const RAMBlock *block;          /* NULL: no window cached */
    uint64_t first;
    uint64_t count;
    unsigned long has_data[BITS_TO_LONGS(RAM_RESIDENCY_WINDOW_PAGES)];
} RAMResidency;

void ram_residency_init(RAMResidency *r);
void ram_residency_cleanup(RAMResidency *r);

/* True if the kernel can tell for @rb which pages hold data. */
bool ram_residency_applies(RAMResidency *r, const RAMBlock *rb);

/*
 * False only if page @page of @rb certainly reads as zero without touching
 * it.  On the source the answer is as of the window's probe, which is at
 * most one iterate call old: a write after it is in the dirty log.
 */
bool ram_residency_has_data(RAMResidency *r, const RAMBlock *rb, uint64_t page);

/* Record that pages [@page, @page + @n) of @rb now hold data (the loader wrote them). */
void ram_residency_mark(RAMResidency *r, const RAMBlock *rb, uint64_t page, uint64_t n);

/* Forget the cached window (the guest may have written since). */
void ram_residency_invalidate(RAMResidency *r);

/*
 * The pages of @rb that hold data, window by window (every page when the
 * probe does not apply); the cached window is forgotten.
 */
uint64_t ram_residency_count(RAMResidency *r, const RAMBlock *rb);

/* A range of pages the destination waits for (postcopy, ram-postcopy.c). */
typedef struct RAMPageRequest {
    RAMBlock *rb;
    uint64_t page;                  /* first target page */
    uint64_t npages;
} RAMPageRequest;

/* Where the source is, for a page request (refused before, ignored after). */
typedef enum RAMPostcopyPhase {
    RAM_POSTCOPY_BEFORE,
    RAM_POSTCOPY_RUNNING,
    RAM_POSTCOPY_ENDED,
} RAMPostcopyPhase;

/* Postcopy, source: the requests the return path queues for the migration thread. */
typedef struct RAMPostcopySource {
    bool active;                    /* migration thread: the postcopy phase runs */
    bool flush_due;                 /* migration thread: a requested page was queued */
    gint phase;                     /* atomic: RAMPostcopyPhase */
    QemuMutex lock;                 /* guards @requests */
    GQueue requests;                /* RAMPageRequest *, oldest first */
    gint pending;                   /* atomic: @requests is not empty */
} RAMPostcopySource;

/* Postcopy, destination (incoming thread, except where said). */
typedef struct RAMPostcopyLoad {
    bool advised;                   /* rb->receivedmap kept from ADVISE on */
    bool listening;                 /* pages are placed with UFFDIO_COPY / ZEROPAGE */
    int uffd;                       /* registered over every block while listening */
    uint8_t *page_buf;              /* one page: UFFDIO_COPY's source */
    RAMPlacedHook *placed;          /* told of every page placed, or NULL */
    void *placed_opaque;
} RAMPostcopyLoad;

/*
 * Longest record header: be64 word, u8 idlen, idstr, and the longest tail
 * (a zero page's fill byte; XBZRLE's encoding byte and be16 length).
 */
#define RAM_HEADER_MAX          (8 + 1 + 255 + 3)

/* XBZRLE's source-side state (ram-xbzrle.c). */
typedef struct RAMXbzrle RAMXbzrle;

/* Capability compress: the source's pool (ram-compress.c), the destination's (ram-compress-load.c). */
typedef struct RAMCompress RAMCompress;
typedef struct RAMDecompress RAMDecompress;

/* The compress settings a migration copies at its start. */
typedef struct RAMCompressConfig {
    bool on;
    int level;
    unsigned threads;
    bool wait_thread;
} RAMCompressConfig;

/*
 * Counters of one sending run, published to MigrationAtomicStats in batches so
 * the per-page path does no atomic operations.
 */
typedef struct RAMSendRun {
    MigrationStat *bytes_counter;   /* precopy_bytes or downtime_bytes */
    bool last_stage;                /* the final pass, VM stopped */
    uint64_t bytes;
    uint64_t zero_pages;
    uint64_t normal_pages;
} RAMSendRun;

/* Destination state; lives inside RAMState. */
typedef struct RAMLoadContext {
    /* The block of the last record, the target of CONTINUE; kept across sections as QEMU does. */
    RAMBlock *last_block;
    RAMLoadFaultPolicy policy;
    bool populate_unusable;         /* MADV_POPULATE_WRITE failed: plain faults from now on */
    RAMResidency residency;
    MultiFDRecv *multifd;           /* MULTIFD_FLUSH syncs it; NULL without multifd */
    RAMPostcopyLoad postcopy;
    uint8_t *xbzrle_buf;            /* an XBZRLE record's delta; allocated at the first one */
    /* Capability compress: set before the load; the pool starts at the first compressed page. */
    bool decompress_on;
    unsigned decompress_threads;
    RAMDecompress *decompress;
} RAMLoadContext;

struct RAMState {
    GPtrArray *blocks;              /* RAMBlock *, not owned */
    RAMDirtySource dirty;
    bool has_dirty;
    RAMRateLimit rate_limit;
    bool has_rate_limit;
    MigrationAtomicStats *stats;          /* rs->own_stats unless the caller gave one */
    MigrationAtomicStats own_stats;
    RAMSyncHook *sync_hook;
    void *sync_hook_opaque;
    RAMVerify *verify;              /* owned; x-verify-ram digests of either side */
    bool ignore_shared;             /* x-ignore-shared (ram_state_set_ignore) */
    bool ignore_all;                /* cpr-transfer: no page moves */

    /* ---- source; migration thread only ---- */
    uint64_t dirty_pages;           /* bits set over all rb->bmap */
    uint64_t dirtied_pages;         /* pages the syncs found newly dirty, cumulative */
    uint64_t sync_count;
    guint cursor_block;             /* where the next page search starts */
    uint64_t cursor_page;
    const RAMBlock *last_sent_block; /* for CONTINUE; reset at each section */
    unsigned long *sync_scratch;    /* sized for the largest block */
    int64_t rate_period_start_us;   /* dirty-pages-rate period */
    uint64_t rate_period_pages;
    RAMResidency residency;
    /*
     * Every page was sent once: from here on each dirty bit comes from the
     * dirty log, a page the guest wrote, and the residency probe (about
     * 0.2 ms per 8 MiB window of resident pages under load) has nothing to
     * skip.
     */
    bool all_sent_once;
    ZeroPageDetection zero_page_detection;
    MultiFDSend *multifd;           /* pages go to its send threads; NULL without multifd */
    MappedRam *mapped_ram;          /* both sides: pages at file offsets; NULL: off */
    MappedRamDetach *mapped_detach; /* after an x-mapped-ram-restore load (mapped-ram.h) */
    /*
     * Set before setup: every page is sent once and no dirty log is read
     * (a background snapshot, or a save of a stopped guest).  @wt is a
     * background snapshot's write tracking from its instant to its stop;
     * while it runs the fault thread also claims bits of every rb->bmap
     * (atomically; ram-write-tracking.c).
     */
    bool single_pass;
    struct RAMWriteTracking *wt;
    RAMPostcopySource postcopy;

    /* ---- XBZRLE ---- */
    bool xbzrle_on;                 /* set before setup, while no thread runs */
    uint64_t xbzrle_cache_size;
    RAMXbzrle *xbzrle;              /* migration thread only; NULL when off */
    /*
     * A PageCache from a resize (monitor, BQL), taken by the migration
     * thread; both sides use g_atomic_pointer_exchange, whoever gets it
     * owns it.
     */
    gpointer xbzrle_new_cache;

    /* ---- compress (source) ---- */
    RAMCompressConfig compress_cfg; /* set before setup, while no thread runs */
    RAMCompress *compress;          /* migration thread only; NULL when off */

    /* ---- destination; incoming thread only ---- */
    RAMLoadContext load;
};

/* ram-postcopy.c: the postcopy parts of both sides. */
void ram_postcopy_init(RAMState *rs);
void ram_postcopy_cleanup(RAMState *rs);
/*
 * Source: the next requested page that is still to send (its bmap bit is
 * cleared), or NULL.  Migration thread.
 */
RAMBlock *ram_postcopy_take_request(RAMState *rs, uint64_t *page);
/*
 * Destination: a page record after LISTEN, placed atomically; a normal or
 * compressed page is read into @buf (one page, the calling thread's own).
 */
bool ram_postcopy_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                            uint64_t offset, uint64_t flags, uint8_t *buf, GError **errp);
/*
 * Source: the block of a page request (QEMU's checks and messages), or
 * NULL: with *@errp set when it is bad, unset when every page went out.
 */
RAMBlock *ram_postcopy_check_request(RAMState *rs, const char *block,
                                     uint64_t start, uint64_t len, GError **errp);
RAMBlock *ram_postcopy_find_block(RAMState *rs, const char *name);
/* Source: was page @page of @rb sent on the preempt channel?  Migration thread. */
static inline bool ram_postcopy_sent_urgently(const RAMBlock *rb, uint64_t page)
{
    return rb->urgentmap &&
           (__atomic_load_n(&rb->urgentmap[page / BITS_PER_LONG], __ATOMIC_RELAXED) &
            (1UL << (page % BITS_PER_LONG)));
}
/* Destination: page @page of @rb arrived (kept from ADVISE on). */
static inline void ram_postcopy_mark_received(RAMState *rs, RAMBlock *rb, uint64_t page)
{
    if (rs->load.postcopy.advised) {
        set_bit_atomic(page, rb->receivedmap);
    }
}

/* Source record writers shared with ram-xbzrle.c (ram.c). */
size_t ram_build_header(RAMState *rs, uint8_t *hdr, const RAMBlock *rb,
                        uint64_t offset, uint64_t flags);
/*
 * A normal page record for page @page of @rb with the bytes at @data,
 * copied into the stream now when @copy, else queued to be written from
 * @data at the next flush.
 */
void ram_put_page_record(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                         const uint8_t *data, bool copy, RAMSendRun *run);

/* Publish @run's counters to the stats (ram.c). */
void ram_send_run_publish(RAMState *rs, RAMSendRun *run);

/*
 * Save page @page of @rb whose content is at @data (guest memory or a copy
 * of it): a zero page record, or a normal one with the bytes copied into
 * the stream's buffer now, so @data may change once this returns (ram.c).
 */
void ram_save_page_copy(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                        const uint8_t *data, RAMSendRun *run);

/*
 * background-snapshot (ram-write-tracking.c), migration thread, while the
 * tracking runs: save the fault thread's copies and the pages nobody
 * claimed yet, until none is left or, when @limited, the rate limit or
 * RAM_ITERATE_MAX_MS ends the call.
 */
void ram_write_tracking_send(RAMState *rs, QEMUFile *f, bool limited, RAMSendRun *run);

/* ---- XBZRLE (ram-xbzrle.c) ---- */

/* Migration thread: build the cache when the capability is on (frees any earlier state). */
bool ram_xbzrle_setup(RAMState *rs, GError **errp);
void ram_xbzrle_cleanup(RAMState *rs);
/* Migration thread, at each iterate call: swap in a cache a resize handed over. */
void ram_xbzrle_take_resize(RAMState *rs);
/*
 * Send a non-zero page @page of @rb the XBZRLE way:
 * false when XBZRLE is not in use (yet), and the caller sends it normally.
 */
bool ram_xbzrle_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          RAMSendRun *run);
/* Page @page of @rb was sent as a zero page: cache it as zeros. */
void ram_xbzrle_page_zeroed(RAMState *rs, const RAMBlock *rb, uint64_t page, bool last_stage);
/* A rate period ended: cache-miss-rate and encoding-rate over it. */
void ram_xbzrle_update_rates(RAMState *rs);
/*
 * Destination: read an XBZRLE record's body (after the word and name) and
 * apply it to the page at @host; nothing is written to @host on error.
 */
bool ram_xbzrle_load_page(RAMState *rs, QEMUFile *f, uint8_t *host, GError **errp);

/* ---- compress, source (ram-compress.c); migration thread ---- */

/* Start the pool when the capability is on (frees any earlier one). */
bool ram_compress_setup(RAMState *rs, GError **errp);
void ram_compress_cleanup(RAMState *rs);
/*
 * Hand page @page of @rb (@zero: known to hold zeros) to the pool: false
 * when the page is to go out otherwise (compress off, the first page of a
 * block, no thread free without waiting), and the caller sends it.
 */
bool ram_compress_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                            bool zero, RAMSendRun *run);
/* Write every pending compressed page (oldest first). */
void ram_compress_flush(RAMState *rs, QEMUFile *f, RAMSendRun *run);
/* A rate period ended: busy-rate and compression-rate over it. */
void ram_compress_update_rates(RAMState *rs);

/* ---- compress, destination (ram-compress-load.c); incoming thread ---- */

/*
 * A COMPRESS_PAGE record's body (after the word and name) for page @page
 * of @rb, handed to a decompress thread; its failure shows at a later
 * ram_decompress_wait(), naming block and offset.
 */
bool ram_decompress_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                              uint64_t page, GError **errp);
/*
 * Postcopy: a COMPRESS_PAGE record's body for page @page of @rb,
 * decompressed on this thread into @buf (one page), checked.
 */
bool ram_decompress_load_sync(RAMState *rs, QEMUFile *f, uint64_t pos, const RAMBlock *rb,
                              uint64_t page, uint8_t *buf, GError **errp);
/* Before page @page of @rb is written otherwise: its pending decompression lands first. */
bool ram_decompress_settle(RAMState *rs, const RAMBlock *rb, uint64_t page, GError **errp);
/* Every pending page lands (the end of a RAM section); the first failure, if any. */
bool ram_decompress_wait(RAMState *rs, GError **errp);
void ram_decompress_cleanup(RAMState *rs);

/* Destination hooks (ram-load.c). */
bool ram_load_setup(void *opaque, GError **errp);
bool ram_load(QEMUFile *f, void *opaque, int version_id, GError **errp);
void ram_load_cleanup(void *opaque);

#endif
