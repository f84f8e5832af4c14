/*
 * What postcopy costs the guest, measured on the destination: how long
 * each vCPU waited for missing pages (QEMU's postcopy-vcpu-blocktime), how
 * long all of them waited at once (postcopy-blocktime), and, beyond QEMU,
 * the distribution of the time from a fault to its page in place
 * (x-postcopy-latency-p50/p99/max, in microseconds).
 *
 * Threads: the fault thread reports faults, the incoming thread (and the
 * fault thread, for local zero pages) reports pages placed, query-migrate
 * reads; one mutex covers it all, and a page placed while nothing waits
 * costs one atomic load.
 */
#ifndef MIGRATION_POSTCOPY_BLOCKTIME_H
#define MIGRATION_POSTCOPY_BLOCKTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "qapi/qapi-types.h"

typedef struct PostcopyBlocktime PostcopyBlocktime;

/* For @nvcpus vCPUs; the blocktime members are reported only when @report_blocktime. */
PostcopyBlocktime *postcopy_blocktime_new(int nvcpus, bool report_blocktime);
void postcopy_blocktime_free(PostcopyBlocktime *bt);

/*
 * A fault at page @addr, by vCPU @cpu (-1: another thread, or unknown);
 * @requested: the source was asked for it (else it is placed locally, and
 * counts in blocktime but not in the request latency).
 */
void postcopy_blocktime_fault(PostcopyBlocktime *bt, uint64_t addr, int cpu,
                              bool requested);

/* The page at @addr is in place: whoever waited for it runs again. */
void postcopy_blocktime_placed(PostcopyBlocktime *bt, uint64_t addr);

/* Fill the destination's query-migrate members. */
void postcopy_blocktime_info(PostcopyBlocktime *bt, MigrationInfo *info);

#endif
