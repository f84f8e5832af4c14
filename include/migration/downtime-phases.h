/*
 * tern's own: the downtime of a precopy migration broken down by phase
 * (query-migrate's x-downtime-phases).  The source marks when it began to
 * stop the vCPUs, when they were stopped, when pause-before-switchover
 * let it go on, when the final RAM pass and when the device state ended;
 * consecutive marks make the phases, so they add up to the downtime it
 * reports.  The destination marks when the switchover payload began (its
 * first END section), its EOF, and when the guest was resumed.
 */
#ifndef MIGRATION_DOWNTIME_PHASES_H
#define MIGRATION_DOWNTIME_PHASES_H

#include <stdbool.h>
#include <stdint.h>

#include "qapi/qapi-types.h"

/* Marks in ms of g_get_monotonic_time() / 1000 (the migration's now_ms); 0: not reached. */
typedef struct DowntimePhases {
    /* ---- source: the migration thread writes them before completed ---- */
    int64_t stop;               /* began to stop the vCPUs (downtime starts) */
    int64_t stopped;            /* the vCPUs are stopped */
    int64_t continued;          /* pause-before-switchover ended (= stopped without it) */
    int64_t ram_done;           /* the final RAM pass (iterable sections) was written */
    int64_t device_done;        /* device state and EOF flushed (downtime ends) */
    /* ---- destination: written before completed ---- */
    int64_t load_start;         /* the first END section: the switchover payload */
    int64_t load_eof;           /* its EOF */
    int64_t resumed;            /* the guest was resumed (or entered its run state) */
} DowntimePhases;

/*
 * The source's phases once it completed by switchover, NULL otherwise
 * (postcopy); pre-switchover with @paused (pause-before-switchover).
 */
XDowntimePhases *downtime_phases_source_info(const DowntimePhases *d, bool paused);
/* The destination's phases once it completed a precopy load; NULL otherwise. */
XDowntimePhases *downtime_phases_dest_info(const DowntimePhases *d);

#endif
