/*
 * The "ram" section (idstr "ram", instance 0, version 4): guest RAM moved
 * page by page in QEMU's encoding (qemu-migration-facts.md §4.6).  This is
 * the section's payload only; savevm writes the section headers and footers.
 *
 * One RAMState serves either side.  The source walks each block's dirty
 * bitmap (rb->bmap) and sends zero and normal pages, asking the machine for
 * newly written pages through a RAMDirtySource; the destination parses the
 * records into its blocks, checking every name, offset and flag first.
 *
 * When the dirty bitmap is synced (each sync is one MIGRATION_PASS):
 *
 *   setup         all pages marked to send; sync #1 sets the dirty baseline
 *   iterate       sends from bmap; returns 1 once bmap is drained
 *   pending_exact sync, then report what is dirty (the migration loop calls it
 *                 when the estimate falls below the switchover threshold,
 *                 which a drained bmap always does)
 *   iterate       if it finds bmap drained and nobody synced since the round
 *                 ended, it syncs before sending (so a caller that never asks
 *                 for an exact figure still gets passes)
 *   complete      final sync with the VM stopped, then sends everything dirty
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "exec/ramblock.h"
#include "migration/migration-stats.h"
#include "migration/qemu-file.h"
#include "migration/register.h"
#include "qapi/qapi-types.h"

/* Flags in the low bits of every record's be64 word (QEMU ram.h). */
#define RAM_SAVE_FLAG_FULL          0x01    /* obsolete; rejected */
#define RAM_SAVE_FLAG_ZERO          0x02
#define RAM_SAVE_FLAG_MEM_SIZE      0x04
#define RAM_SAVE_FLAG_PAGE          0x08
#define RAM_SAVE_FLAG_EOS           0x10
#define RAM_SAVE_FLAG_CONTINUE      0x20
#define RAM_SAVE_FLAG_XBZRLE        0x40
#define RAM_SAVE_FLAG_HOOK          0x80    /* RDMA only; rejected */
#define RAM_SAVE_FLAG_COMPRESS_PAGE 0x100   /* removed in QEMU 9.1; rejected */
#define RAM_SAVE_FLAG_MULTIFD_FLUSH 0x200   /* not supported by tern yet */

#define RAM_SECTION_IDSTR           "ram"
#define RAM_SECTION_INSTANCE        0
#define RAM_SECTION_VERSION         4

/* dirty-pages-rate is measured over sync periods at least this long. */
#define RAM_DIRTY_RATE_PERIOD_MS    1000
/* One iterate call sends for at most this long. */
#define RAM_ITERATE_MAX_MS          50

/*
 * How RAM learns which pages the guest wrote (the machine's
 * memory_sync_dirty).  The caller starts dirty logging before save_setup
 * and stops it after save_cleanup.
 */
typedef struct RAMDirtySource {
    /*
     * Set in @dest (zeroed, one bit per target page of @rb) the pages
     * written since the previous call for @rb, and forget them.  Migration
     * thread; takes whatever lock the machine needs.
     */
    bool (*sync)(void *opaque, RAMBlock *rb, unsigned long *dest, GError **errp);
    void *opaque;
} RAMDirtySource;

/*
 * The migration code's bandwidth limit.  exceeded() is asked every few
 * pages (RAM_RATE_CHECK_PAGES in ram.c), on the migration thread.
 */
typedef struct RAMRateLimit {
    bool (*exceeded)(void *opaque);
    void *opaque;
} RAMRateLimit;

/* Called on the migration thread after every dirty sync, with the new sync count. */
typedef void RAMSyncHook(void *opaque, uint64_t sync_count);

typedef struct RAMState RAMState;

/*
 * A RAM migration state over @blocks (RAMBlock *; not owned, must outlive
 * the state and not change while it is in use).  @dirty is copied and may be
 * NULL for a destination-only state; @stats (not owned) receives the
 * counters, or an internal set is used when it is NULL.
 */
RAMState *ram_state_new(GPtrArray *blocks, const RAMDirtySource *dirty,
                        MigrationAtomicStats *stats);

/* A destination state over @blocks: ram_state_new(blocks, NULL, NULL). */
RAMState *ram_load_state_new(GPtrArray *blocks);

/* Free @rs and the bitmaps it allocated (NULL-safe). */
void ram_state_free(RAMState *rs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RAMState, ram_state_free)

/* Make iterate stop when @limit says the bandwidth budget is spent (copied; NULL removes it). */
void ram_state_set_rate_limit(RAMState *rs, const RAMRateLimit *limit);

/* Call @hook after every dirty sync (the migration code emits MIGRATION_PASS from it). */
void ram_state_set_sync_hook(RAMState *rs, RAMSyncHook *hook, void *opaque);

/*
 * The x-verify-ram digests (owned by @rs; include/migration/ram-verify.h),
 * NULL for a NULL @rs (a migration state without RAM, as unit tests build).
 */
typedef struct RAMVerify RAMVerify;
RAMVerify *ram_state_verify(RAMState *rs);
typedef struct MultiFDSend MultiFDSend;
typedef struct MultiFDRecv MultiFDRecv;

/*
 * Before save_setup (migration thread): how zero pages are found, and the
 * multifd send side pages go to (NULL: the main channel carries them).
 */
void ram_state_set_send_options(RAMState *rs, ZeroPageDetection zero_page_detection,
                                MultiFDSend *multifd);

typedef struct MappedRam MappedRam;

/*
 * Before save_setup or the load: the mapped-ram capability is on, and
 * @mapped_ram (taken; migration/mapped-ram.h) places the pages; NULL: off.
 */
void ram_state_set_mapped_ram(RAMState *rs, MappedRam *mapped_ram);

/*
 * After an x-mapped-ram-restore load: wait until guest memory no longer
 * depends on the file it was mapped from (migration thread, before it
 * opens a file of its own, which may be that one).
 */
void ram_state_wait_mapped_restore(RAMState *rs);

/*
 * Which blocks the RAM section skips, before a migration or a load starts
 * (no thread runs): with @ignore_shared (x-ignore-shared) the shared file
 * blocks, and the block list carries every block's guest-physical
 * address; with @ignore_all (cpr-transfer) every block.  An ignored
 * block is listed, but none of its pages is sent or accepted.
 */
void ram_state_set_ignore(RAMState *rs, bool ignore_shared, bool ignore_all);

/* Before the load (destination): the multifd receive side MULTIFD_FLUSH syncs, or NULL. */
void ram_state_set_multifd_recv(RAMState *rs, MultiFDRecv *multifd);

/* The blocks @rs moves (not owned by the caller). */
GPtrArray *ram_state_blocks(RAMState *rs);

/*
 * Send pages the destination has an older copy of as XBZRLE deltas against
 * a @cache_size-byte page cache (the xbzrle capability and the
 * xbzrle-cache-size parameter).  Before save_setup, while no migration
 * thread runs.
 */
void ram_state_set_xbzrle(RAMState *rs, bool on, uint64_t cache_size);

/*
 * migrate-set-parameters changed xbzrle-cache-size while a migration with
 * XBZRLE runs (any thread but the migration thread): a new, empty cache of
 * @size bytes replaces the old one at the next iterate call, as QEMU's
 * resize does.  Fails when the cache cannot be built.
 */
bool ram_state_resize_xbzrle_cache(RAMState *rs, uint64_t size, GError **errp);

/*
 * Capability compress, source: pages compressed with zlib at @level by
 * @threads threads; with @wait_thread false a page finding every thread
 * busy goes out whole.  Before save_setup, while no migration thread runs.
 */
void ram_state_set_compress(RAMState *rs, bool on, int level, unsigned threads,
                            bool wait_thread);

/*
 * Capability compress, destination: accept compressed pages, decompressed
 * by @threads threads.  Before the load.
 */
void ram_state_set_decompress(RAMState *rs, bool on, unsigned threads);

/* Dirty syncs done so far (the setup sync is number 1). */
uint64_t ram_state_dirty_sync_count(const RAMState *rs);

/*
 * Pages the dirty syncs of this migration found written and not yet marked
 * to send (QEMU's num_dirty_pages_period, summed); migration thread.
 */
uint64_t ram_state_dirtied_pages(const RAMState *rs);

/* Pages currently marked to send. */
uint64_t ram_state_dirty_pages(const RAMState *rs);
/*
 * Source, migration thread: the guest pages that hold data now (the
 * residency probe's count; pages it cannot tell about count as data).
 * What the first round costs on the wire: never-written pages go as a
 * few bytes each.
 */
uint64_t ram_state_data_pages(RAMState *rs);

/*
 * How the destination meets first-touch page faults when a normal page
 * lands in memory that was never written (bench/bench-ram.c compares them).
 */
typedef enum RAMLoadFaultPolicy {
    /* Plain 4 KiB faults as the page data is copied in. */
    RAM_LOAD_FAULT_PLAIN,
    /* MADV_HUGEPAGE on the block; the copy faults in 2 MiB pages. */
    RAM_LOAD_FAULT_HUGEPAGE,
    /*
     * MADV_HUGEPAGE, and MADV_POPULATE_WRITE of the 2 MiB chunk a normal
     * page first lands in (chunks that only receive zero pages are never
     * touched).  The default: the fastest measured, with no extra thread.
     */
    RAM_LOAD_FAULT_POPULATE_CHUNK,
} RAMLoadFaultPolicy;

/* ---- postcopy (ram-postcopy.c) ---- */

/* The bitwise OR of every block's page size (POSTCOPY_ADVISE). */
uint64_t ram_pagesize_summary(const RAMState *rs);

/*
 * Source, migration thread, VM stopped: sync the dirty bitmap and send
 * POSTCOPY_RAM_DISCARD for every dirty range, so the destination drops
 * what it holds of those pages and asks for them.
 */
bool ram_postcopy_send_discard(RAMState *rs, QEMUFile *f, GError **errp);

/*
 * Source: the postcopy phase begins / ends.  While it runs, requests are
 * queued and iterate sends requested pages ahead of the background pass,
 * counting bytes as postcopy-bytes.
 */
void ram_postcopy_source_reset(RAMState *rs);       /* a new migration: requests refused */
void ram_postcopy_source_start(RAMState *rs);
void ram_postcopy_source_stop(RAMState *rs);

/*
 * Source, return-path thread: the destination waits for @len bytes at
 * @start of block @block.  QEMU's checks and messages.
 */
bool ram_postcopy_queue_request(RAMState *rs, const char *block, uint64_t start,
                                uint64_t len, GError **errp);
/*
 * Was a requested page queued since the last call?  Then the caller ends
 * the iteration soon and flushes, so it does not wait in the buffer behind
 * background pages.  Migration thread.
 */
bool ram_postcopy_take_flush_due(RAMState *rs);
/* Are requests waiting?  Any thread. */
bool ram_postcopy_requests_pending(RAMState *rs);

/*
 * Destination, incoming thread.  ADVISE: the page sizes must match and
 * every block be private anonymous memory; receivedmaps are kept from
 * here.  DISCARD: drop [@start, +@len) of @name.  LISTEN: register every
 * block with @uffd (borrowed until ram_postcopy_incoming_end()) and place
 * pages atomically from now on.
 */
bool ram_postcopy_incoming_advise(RAMState *rs, uint64_t pagesize_summary,
                                  uint64_t target_page_size, GError **errp);
bool ram_postcopy_incoming_discard(RAMState *rs, const char *name, uint64_t start,
                                   uint64_t len, GError **errp);
bool ram_postcopy_incoming_listen(RAMState *rs, int uffd, GError **errp);
/* Tell @hook of every page placed from now on (host address; incoming thread). */
typedef void RAMPlacedHook(void *opaque, uint64_t host_addr);
void ram_postcopy_set_placed_hook(RAMState *rs, RAMPlacedHook *hook, void *opaque);
/* Undo listen and advise (NULL-safe when neither happened). */
void ram_postcopy_incoming_end(RAMState *rs);

/*
 * Destination, fault thread: the block holding host address @addr and the
 * offset in it, or NULL; whether that page arrived already.
 */
RAMBlock *ram_postcopy_block_of(RAMState *rs, uint64_t addr, uint64_t *offset);
bool ram_postcopy_received(const RAMBlock *rb, uint64_t offset);
/*
 * Record that the source is asked for the page at @offset, before asking:
 * a zero page for it is then placed, not left unmapped (fault thread).
 */
void ram_postcopy_mark_requested(RAMBlock *rb, uint64_t offset);

/*
 * Postcopy preempt (ram-preempt.c).  Source: setup before the switch
 * (marks of pages sent urgently), cleanup once the return-path thread is
 * joined; the return-path thread sends a request's pages on @f itself
 * (@last: the channel's CONTINUE block, caller-owned; the caller
 * serialises the channel); EOS ends the channel.  Destination, the
 * preempt channel's thread, once LISTEN registered the RAM: place the
 * records up to EOS.
 */
void ram_preempt_source_setup(RAMState *rs);
void ram_preempt_source_cleanup(RAMState *rs);
bool ram_preempt_send_request(RAMState *rs, QEMUFile *f, const RAMBlock **last,
                              const char *block, uint64_t start, uint64_t len,
                              GError **errp);
void ram_preempt_send_eos(QEMUFile *f);
bool ram_preempt_load(RAMState *rs, QEMUFile *f, GError **errp);

/*
 * Postcopy recovery (ram-recover.c).  The received bitmap of a block
 * travels as QEMU frames it: be64 size (bytes, a multiple of 8), the
 * little-endian bitmap, then this end mark.
 */
#define RAM_RECV_BITMAP_ENDING  0x0123456789abcdefULL
/*
 * Source, return-path thread, while the migration thread waits: read
 * block @block's received bitmap from @f and make every page it lacks
 * dirty again (QEMU's checks and messages).
 */
bool ram_recover_load_bitmap(RAMState *rs, const char *block, QEMUFile *f, GError **errp);
/* Source, migration thread, every bitmap loaded: count the dirty pages again. */
void ram_recover_source_resume(RAMState *rs);
/*
 * Destination, incoming thread: block @block's received bitmap, as it goes
 * on the wire after its size (*@size bytes, g_free() it); NULL with @errp
 * set for an unknown block or one without a received bitmap.
 */
void *ram_recover_received_bitmap(RAMState *rs, const char *block, uint64_t *size,
                                  GError **errp);
/* Destination: each page a vCPU asked for that has not arrived (any thread). */
typedef void RAMWaitingPageFunc(void *opaque, const RAMBlock *rb, uint64_t offset);
void ram_recover_foreach_waiting(RAMState *rs, RAMWaitingPageFunc *fn, void *opaque);

/* Choose the destination's fault policy (before load_setup). */
void ram_state_set_load_fault_policy(RAMState *rs, RAMLoadFaultPolicy policy);

/*
 * The section's hooks; opaque is a RAMState.  Source hooks fail when the
 * state has no RAMDirtySource.  save_setup allocates rb->bmap for every
 * block; save_cleanup (or ram_state_free) frees them.
 */
extern const SaveVMHandlers ram_save_handlers;

#endif
