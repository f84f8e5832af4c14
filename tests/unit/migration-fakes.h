/*
 * A fake clock, a fake channel and a fake machine for the migration core's
 * unit tests (test-migration-*.c, test-ram.c; bench-ram links them too):
 * time moves only when the test says so, the channel takes every byte at
 * once and counts them, the machine is a run state and counters, and RAM
 * blocks are anonymous mappings the test makes itself.
 */
#ifndef TESTS_UNIT_MIGRATION_FAKES_H
#define TESTS_UNIT_MIGRATION_FAKES_H

#include "exec/ramblock.h"
#include "migration-clock.h"
#include "migration/machine-ops.h"
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

/*
 * A VM that is only its run state: every transition is allowed, vm_start
 * enters running, the dirty log is a pair of counters and the throttle a
 * percentage.  No uuid.
 */
typedef struct FakeMachine {
    MigrationMachineOps ops;    /* hand &ops to the code under test */
    RunState state;
    bool autostart;
    unsigned vm_starts;
    unsigned vm_stops;          /* vm_stop_force_state calls */
    unsigned dirty_log_starts;
    unsigned dirty_log_stops;
    int throttle_pct;           /* atomic: what throttle_set set last */
    unsigned throttle_sets;     /* atomic: throttle_set calls with a percentage */
} FakeMachine;

#define FAKE_MACHINE_TYPE "fake-pc"

/* A fake machine in run state @state, autostart on. */
void fake_machine_init(FakeMachine *m, RunState state);

/*
 * Free a RAMBlock* whose host is an mmap of exactly used_length bytes and
 * whose other pointers are g_malloc'd (a GDestroyNotify for block arrays).
 */
void fake_ram_block_free(gpointer rb);

#endif
