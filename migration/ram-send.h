/*
 * The source's page records (ram-send.c): a record's header, a zero page,
 * a normal page, and the counters of a sending run.  The bottom of the
 * source side: the core's page walk (ram.c) and the parts that send pages
 * their own way (ram-xbzrle.c, ram-compress.c, ram-write-tracking.c) write
 * through these, and these call nothing above them.
 */
#ifndef MIGRATION_RAM_SEND_H
#define MIGRATION_RAM_SEND_H

#include "ram-state.h"

/*
 * Longest record header: be64 word, u8 idlen, idstr, and the longest tail
 * (a zero page's fill byte; XBZRLE's encoding byte and be16 length).
 */
#define RAM_HEADER_MAX          (8 + 1 + 255 + 3)

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

/* Publish @run's counters to the stats. */
void ram_send_run_publish(RAMState *rs, RAMSendRun *run);

/* The source's rate limit, if it has one, is reached. */
bool ram_send_rate_exceeded(RAMState *rs);

/*
 * Build the record header for @offset of @rb into @hdr (RAM_HEADER_MAX
 * bytes): the word with @flags, CONTINUE when @rb was the block of the
 * previous record of this section, else the block name.  Returns its length.
 */
size_t ram_build_header(RAMState *rs, uint8_t *hdr, const RAMBlock *rb,
                        uint64_t offset, uint64_t flags);
/*
 * A normal page record for page @page of @rb with the bytes at @data,
 * copied into the stream now when @copy, else queued to be written from
 * @data at the next flush.
 */
void ram_put_page_record(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                         const uint8_t *data, bool copy, RAMSendRun *run);

/* A zero page record for page @page of @rb on the main channel. */
void ram_save_zero_page(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                        RAMSendRun *run);

/* Never written, per the residency probe (asked while some page was never sent). */
bool ram_page_never_written(RAMState *rs, const RAMBlock *rb, uint64_t page);

/*
 * Save page @page of @rb whose content is at @data (guest memory or a copy
 * of it): a zero page record, or a normal one with the bytes copied into
 * the stream's buffer now, so @data may change once this returns.
 */
void ram_save_page_copy(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                        const uint8_t *data, RAMSendRun *run);

#endif
