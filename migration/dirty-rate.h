/*
 * The dirty rate measurement behind calc-dirty-rate / query-dirty-rate
 * (QEMU's migration/dirtyrate.c behaviour, qemu-migration-facts-2.md §15):
 * one measurement at a time, on its own thread, by page sampling or by
 * the dirty log.
 */
#ifndef MIGRATION_DIRTY_RATE_H
#define MIGRATION_DIRTY_RATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/machine-ops.h"
#include "migration/ram.h"
#include "qapi/qapi-types.h"

#define DIRTY_RATE_MIN_CALC_MS          50
#define DIRTY_RATE_MAX_CALC_MS          60000
#define DIRTY_RATE_MIN_SAMPLE_PAGES     128
#define DIRTY_RATE_MAX_SAMPLE_PAGES     16384
#define DIRTY_RATE_DEFAULT_SAMPLE_PAGES 512
/* Blocks smaller than this are not sampled. */
#define DIRTY_RATE_MIN_BLOCK_SIZE       (128 * 1024)

/* What the migration blocker says while dirty-bitmap mode holds the dirty log. */
#define DIRTY_RATE_BLOCKER \
    "a dirty rate measurement in dirty-bitmap mode is using the dirty log"

typedef struct MigrationState MigrationState;
typedef struct DirtyRateState DirtyRateState;

/*
 * A measurer over @blocks (borrowed, fixed), whose dirty log @dirty
 * collects (NULL: none, dirty-bitmap mode is refused) and @machine starts
 * and stops (both copied); @out (borrowed) is
 * the outgoing migration, which dirty-bitmap mode must not run beside.
 */
DirtyRateState *dirty_rate_new(GPtrArray *blocks, const RAMDirtySource *dirty,
                               const MigrationMachineOps *machine,
                               MigrationState *out);
/* End a running measurement (without the BQL: it takes it) and free.  NULL-safe. */
void dirty_rate_free(DirtyRateState *d);

/*
 * calc-dirty-rate: check the arguments as QEMU does and start measuring.
 * BQL held.
 */
bool dirty_rate_calc(DirtyRateState *d, int64_t calc_time, bool has_unit,
                     TimeUnit unit, bool has_sample_pages, int64_t sample_pages,
                     bool has_mode, DirtyRateMeasureMode mode, GError **errp);

/* query-dirty-rate, calc-time in @unit.  Any thread. */
DirtyRateInfo *dirty_rate_query(DirtyRateState *d, TimeUnit unit);

/*
 * The page hash page sampling compares (the low 32 bits of an XXH64-style
 * digest of one target page, seed 1, as QEMU's).  Reads guest memory that
 * the guest may be writing.
 */
uint32_t dirty_rate_page_hash(const void *page);

#endif
