/*
 * A fake clock and a fake channel for the migration core's unit tests
 * (test-migration-*.c): time moves only when the test says so, and the
 * channel takes every byte at once and counts them.
 */
#ifndef TESTS_UNIT_MIGRATION_FAKES_H
#define TESTS_UNIT_MIGRATION_FAKES_H

#include "migration-clock.h"
#include "migration/qemu-file.h"

#include <stdbool.h>

typedef struct FakeClock {
    MigrationClock clock;       /* hand &clock to the code under test */
    int64_t now_us;
} FakeClock;

void fake_clock_init(FakeClock *c, int64_t start_us);
void fake_clock_advance_ms(FakeClock *c, int64_t ms);

typedef struct FakeChannel {
    uint64_t written;           /* bytes that reached the channel */
} FakeChannel;

/* A writable QEMUFile over @ch (the test owns both; qemu_fclose it). */
QEMUFile *fake_channel_file(FakeChannel *ch);

/* Queue @n bytes on @f, as a sender would. */
void fake_channel_put(QEMUFile *f, uint64_t n);

#endif
