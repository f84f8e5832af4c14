/*
 * The clock the migration core reads: the rate window takes one it is
 * given, so unit tests drive it with a fake clock instead of sleeping.
 */
#ifndef MIGRATION_MIGRATION_CLOCK_H
#define MIGRATION_MIGRATION_CLOCK_H

#include <stdint.h>

typedef struct MigrationClock {
    /* Microseconds on a monotonic scale; any thread. */
    int64_t (*now_us)(void *opaque);
    void *opaque;
} MigrationClock;

/* g_get_monotonic_time(): the clock of a real migration. */
extern const MigrationClock migration_clock_monotonic;

static inline int64_t migration_clock_now_us(const MigrationClock *c)
{
    return c->now_us(c->opaque);
}

#endif
