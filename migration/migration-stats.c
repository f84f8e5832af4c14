/*
 * MigrationAtomicStats helpers (include/migration/migration-stats.h): resetting the
 * counters between migrations and the sums query-migrate derives from them.
 */
#include "migration/migration-stats.h"

#include <glib.h>

void migration_stats_reset(MigrationAtomicStats *s)
{
    MigrationStat *all[] = {
        &s->transferred, &s->pages_per_second, &s->total, &s->remaining,
        &s->zero_pages, &s->normal_pages, &s->dirty_sync_count,
        &s->dirty_pages_rate, &s->precopy_bytes, &s->downtime_bytes,
        &s->multifd_bytes, &s->dirty_sync_missed_zero_copy,
        &s->postcopy_bytes, &s->postcopy_requests, &s->preempt_pages,
        &s->xbzrle_bytes, &s->xbzrle_pages, &s->xbzrle_cache_miss,
        &s->xbzrle_overflow, &s->xbzrle_cache_miss_rate, &s->xbzrle_encoding_rate,
        &s->compress_pages, &s->compress_busy, &s->compress_size,
        &s->compress_busy_rate, &s->compress_rate,
    };

    /* Catches a counter added to the struct but not to this list. */
    G_STATIC_ASSERT(sizeof(all) / sizeof(all[0]) == sizeof(*s) / sizeof(MigrationStat));
    for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        migration_stat_set(all[i], 0);
    }
}

void migration_channel_stats_reset(MigrationChannelStats *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        migration_stat_set(&c[i].bytes, 0);
        migration_stat_set(&c[i].packets, 0);
    }
}

uint64_t migration_stats_pages_sent(const MigrationAtomicStats *s)
{
    return migration_stat_get(&s->zero_pages) + migration_stat_get(&s->normal_pages) +
           migration_stat_get(&s->xbzrle_pages) + migration_stat_get(&s->compress_pages);
}
