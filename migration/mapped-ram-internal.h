/*
 * mapped-ram's page I/O (mapped-ram.h is the interface to ram.c): a job is
 * one run of up to MAPPED_RAM_RUN_MAX_PAGES consecutive pages of one block,
 * written to or read from its slots.  mapped-ram-pool.c runs jobs on
 * worker threads (the multifd capability: multifd-channels of them) or on
 * the caller's thread; mapped-ram-map.c maps a block's page region into
 * guest RAM instead of reading it.  Private to migration/mapped-ram*.c.
 */
#ifndef MIGRATION_MAPPED_RAM_INTERNAL_H
#define MIGRATION_MAPPED_RAM_INTERNAL_H

#include "exec/ramblock.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The longest pwrite / pread of pages: 1 MiB, as QEMU's load buffer. */
#define MAPPED_RAM_RUN_MAX_PAGES        (0x100000 / TARGET_PAGE_SIZE)

/* One run of pages and where they live in the file. */
typedef struct MappedRamJob {
    RAMBlock *rb;
    uint64_t first;                 /* page index in @rb */
    uint64_t npages;                /* 1..MAPPED_RAM_RUN_MAX_PAGES */
    uint64_t pages_offset;          /* file offset of @rb's page 0 */
    /*
     * Source: @rb's bitmap.  Each page written sets its bit, each zero page
     * (when @check_zero) clears it and is not written; atomically, as jobs
     * of neighbouring runs share words.  NULL for a load.
     */
    unsigned long *bitmap;
    bool check_zero;
    uint64_t pos;                   /* load: stream offset of @rb's record, for errors */
} MappedRamJob;

/* pwrite all of @len bytes at @off; false with errno set (ENOSPC for a write of 0). */
bool mapped_ram_pwrite(int fd, const uint8_t *buf, size_t len, uint64_t off);

/* pread all of @len bytes at @off; false with errno set, 0 for a file that ends before them. */
bool mapped_ram_pread(int fd, uint8_t *buf, size_t len, uint64_t off);

/* What finished jobs did (source): pages written and zero pages skipped. */
typedef struct MappedRamCounts {
    uint64_t normal_pages;
    uint64_t zero_pages;
} MappedRamCounts;

/*
 * Run @job against @fd on the calling thread; @counts is added to.  The
 * error names the block, the pages and the file offset.
 */
bool mapped_ram_job_run(int fd, const MappedRamJob *job, MappedRamCounts *counts,
                        GError **errp);

typedef struct MappedRamPool MappedRamPool;

/* @threads workers (1..255) running jobs against @fd (not owned). */
MappedRamPool *mapped_ram_pool_new(int fd, unsigned threads);

/* Wait for the jobs queued, stop the workers and free; NULL-safe. */
void mapped_ram_pool_free(MappedRamPool *p);

/*
 * Queue @job (copied), waiting while every worker has a job waiting
 * already.  After a job failed, jobs are dropped: mapped_ram_pool_wait()
 * reports the failure.
 */
void mapped_ram_pool_submit(MappedRamPool *p, const MappedRamJob *job);

/*
 * Wait until every job queued so far has finished: after it, a page
 * queued again cannot overtake an older write of itself.  False with the
 * first job's error once any failed (it stays failed).
 */
bool mapped_ram_pool_wait(MappedRamPool *p, GError **errp);

/* True once a job failed (the migration stops early). */
bool mapped_ram_pool_failed(MappedRamPool *p);

/* Move the finished jobs' counts into @counts (added), zeroing the pool's. */
void mapped_ram_pool_take_counts(MappedRamPool *p, MappedRamCounts *counts);

/* ---- mapped-ram-map.c: x-mapped-ram-restore ---- */

typedef struct MappedRamDetach MappedRamDetach;

/*
 * Map @rb's page region, at @pages_offset of @fd, over @rb's memory
 * (private, copy-on-write), the pages whose @bitmap bit is clear zero; a
 * thread added to *@detach (created if NULL) then makes every page a
 * private copy.  1 when mapped; 0 (with a warning saying why) when this
 * block or file does not allow it and the caller reads the pages; -1 with
 * @errp set on failure.
 */
int mapped_ram_map_block(int fd, RAMBlock *rb, uint64_t pages_offset,
                         const unsigned long *bitmap, MappedRamDetach **detach,
                         GError **errp);

#endif
