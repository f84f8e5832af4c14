/*
 * MigrationAtomicStats: the counters query-migrate reports for the RAM part of a
 * migration.  The migration thread writes them; the main loop (query-migrate,
 * HMP "info migrate") reads them at any time without a lock, so every field
 * is a C11 atomic.  Relaxed ordering is enough: each counter is read on its
 * own and no reader infers anything from the order two counters changed in.
 */
#ifndef MIGRATION_MIGRATION_STATS_H
#define MIGRATION_MIGRATION_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

typedef _Atomic uint64_t MigrationStat;

typedef struct MigrationAtomicStats {
    /*
     * Written by the migration code (not RAM), from qemu_file_transferred():
     * bytes of the whole stream so far (QMP "transferred").
     */
    MigrationStat transferred;
    /* Written by the migration code each bandwidth window: pages (zero + normal) sent per second. */
    MigrationStat pages_per_second;

    /* ---- written by RAM (migration/ram.c) on the migration thread ---- */

    /* Bytes of guest RAM being migrated, set at setup (QMP "total"). */
    MigrationStat total;
    /* Bytes still dirty as of the last pending estimate or sync (QMP "remaining"). */
    MigrationStat remaining;
    /* Zero pages sent, in pages (QMP "duplicate"). */
    MigrationStat zero_pages;
    /* Normal pages sent, in pages (QMP "normal"; "normal-bytes" = normal_pages * TARGET_PAGE_SIZE). */
    MigrationStat normal_pages;
    /* Dirty-bitmap syncs so far, the setup sync included (QMP "dirty-sync-count", the MIGRATION_PASS number). */
    MigrationStat dirty_sync_count;
    /*
     * Pages per second the guest dirtied, measured over sync periods of at
     * least RAM_DIRTY_RATE_PERIOD_MS (QMP "dirty-pages-rate"); 0 until the
     * first such period ends.
     */
    MigrationStat dirty_pages_rate;
    /* Bytes of RAM records (headers and page data) sent while the VM ran (QMP "precopy-bytes"). */
    MigrationStat precopy_bytes;
    /* Bytes of RAM records sent while the VM was stopped, by the final pass (QMP "downtime-bytes"). */
    MigrationStat downtime_bytes;
    /* Bytes of multifd packets (headers and pages), written by the send threads (QMP "multifd-bytes"). */
    MigrationStat multifd_bytes;
    /*
     * zero-copy-send: channel syncs at which the kernel had copied every
     * page since the channel's last sync (QMP "dirty-sync-missed-zero-copy").
     */
    MigrationStat dirty_sync_missed_zero_copy;
    /* Bytes of RAM records sent after the switch to postcopy (QMP "postcopy-bytes"). */
    MigrationStat postcopy_bytes;
    /* Page requests the destination sent during postcopy (QMP "postcopy-requests"). */
    MigrationStat postcopy_requests;
    /* Requested pages sent on the preempt channel (QMP "x-postcopy-preempt-pages"). */
    MigrationStat preempt_pages;

    /* ---- XBZRLE (migration/ram-xbzrle.c), QMP "xbzrle-cache" ---- */

    /*
     * Bytes of XBZRLE records without their 8-byte word, plus a page for
     * each overflow, as QEMU counts them ("bytes").
     */
    MigrationStat xbzrle_bytes;
    /* Pages found in the cache: encoded, unchanged or overflowed ("pages"). */
    MigrationStat xbzrle_pages;
    /* Pages not found in the cache, sent whole ("cache-miss"). */
    MigrationStat xbzrle_cache_miss;
    /* Pages whose delta would have been larger than the page ("overflow"). */
    MigrationStat xbzrle_overflow;
    /* Misses per page sent, and page bytes per encoded byte, over the last rate period (doubles). */
    MigrationStat xbzrle_cache_miss_rate;
    MigrationStat xbzrle_encoding_rate;

    /* ---- capability compress (migration/ram-compress.c), QMP "compression" ---- */

    /* Pages sent compressed ("pages"). */
    MigrationStat compress_pages;
    /* Pages sent whole because no compress thread was free ("busy"). */
    MigrationStat compress_busy;
    /* Bytes of compressed records without their 8-byte word ("compressed-size"). */
    MigrationStat compress_size;
    /* Busy pages per page sent, page bytes per compressed byte, over the last rate period. */
    MigrationStat compress_busy_rate;
    MigrationStat compress_rate;
} MigrationAtomicStats;

/* The most multifd channels a migration opens (QEMU's multifd-channels range). */
#define MIGRATION_MULTIFD_CHANNELS_MAX 255

/* One multifd channel's counters (QMP "x-multifd-channels"), written by its send thread. */
typedef struct MigrationChannelStats {
    MigrationStat bytes;            /* packet bytes, headers included */
    MigrationStat packets;          /* packets, SYNC packets included */
} MigrationChannelStats;

/* Zero every counter (a new migration starts).  Call while no writer runs. */
void migration_stats_reset(MigrationAtomicStats *s);
void migration_channel_stats_reset(MigrationChannelStats *c, unsigned n);

/* Pages sent so far: zero, normal, XBZRLE hits and compressed (the base of "pages-per-second"). */
uint64_t migration_stats_pages_sent(const MigrationAtomicStats *s);

static inline uint64_t migration_stat_get(const MigrationStat *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static inline void migration_stat_set(MigrationStat *c, uint64_t v)
{
    atomic_store_explicit(c, v, memory_order_relaxed);
}

/* A double kept in a counter (its bits), for the rates. */
static inline double migration_stat_get_double(const MigrationStat *c)
{
    uint64_t bits = migration_stat_get(c);
    double v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

static inline void migration_stat_set_double(MigrationStat *c, double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    migration_stat_set(c, bits);
}

static inline void migration_stat_add(MigrationStat *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

#endif
