/*
 * The layout of RAMState, the RAM section's state, shared by the core
 * (ram.c, ram-load.c) and the parts it calls (XBZRLE, compress, write
 * tracking, postcopy, preempt, recovery).  Data only, and one predicate
 * on it: which file owns which field is said at the field; no function of
 * the core is declared here.
 * Not for other subsystems: they use include/migration/ram.h.
 */
#ifndef MIGRATION_RAM_STATE_H
#define MIGRATION_RAM_STATE_H

#include "migration/ram.h"
#include "migration/ram-verify.h"
#include "mapped-ram.h"
#include "ram-residency.h"
#include "qemu/thread.h"

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

/*
 * Does the RAM section skip @rb's pages (see ram_state_set_ignore)?  Both
 * sides ask.  QEMU's rule: x-ignore-shared skips shared blocks another
 * process can reopen by path.
 */
static inline bool ram_block_is_ignored(const RAMState *rs, const RAMBlock *rb)
{
    return rs->ignore_all || (rs->ignore_shared && rb->shared && rb->named_file);
}

#endif
