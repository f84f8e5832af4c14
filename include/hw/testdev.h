/*
 * testdev: a device whose only job is to hold state a test can check after
 * a migration.  Ports (base 0xe0, 12 ports, 32-bit accesses):
 *   0xe0 COUNTER    read: the counter; write: set it
 *   0xe4 INCREMENT  write N: counter += N (wrapping); read: the counter
 *   0xe8 CONTROL    bit 0 BLOCK_MIGRATION: while set, the device asks for a
 *                   migration blocker (TESTDEV_BLOCKER_REASON) through the
 *                   DeviceBlocker it was given
 */
#ifndef HW_TESTDEV_H
#define HW_TESTDEV_H

#include "hw/device.h"

enum {
    TESTDEV_COUNTER = 0,
    TESTDEV_INCREMENT = 4,
    TESTDEV_CONTROL = 8,
};

#define TESTDEV_CONTROL_BLOCK_MIGRATION 0x1u

typedef struct TestDevState TestDevState;

/* The reason the testdev gives for its migration blocker. */
#define TESTDEV_BLOCKER_REASON \
    "testdev: migration is blocked by the guest (CONTROL.BLOCK_MIGRATION)"

/*
 * Migratable state, VMState "testdev" version 1 (hw/testdev.c):
 * counter (uint32), control (uint32).
 */
struct TestDevState {
    DeviceState parent;

    uint32_t counter;
    uint32_t control;

    /* Not migrated. */
    DeviceBlocker blocker;          /* .set is NULL until one is given */
    uint32_t control_before_load;   /* control when a load began (pre_load) */
};

extern const DeviceClass testdev_class;

/*
 * Where CONTROL.BLOCK_MIGRATION changes are reported from now on (copied;
 * NULL: nowhere).  The machine gives the testdev its config's blocker.
 */
void testdev_set_blocker(TestDevState *s, const DeviceBlocker *blocker);

/* Is the guest asking to block migration? */
bool testdev_is_blocking_migration(const TestDevState *s);

#endif
