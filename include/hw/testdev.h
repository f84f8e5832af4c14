/*
 * testdev: a device whose only job is to hold state a test can check after
 * a migration.  Ports (base 0xe0, 12 ports, 32-bit accesses):
 *   0xe0 COUNTER    read: the counter; write: set it
 *   0xe4 INCREMENT  write N: counter += N (wrapping); read: the counter
 *   0xe8 CONTROL    bit 0 BLOCK_MIGRATION: while set, the device asks for a
 *                   migration blocker through its blocker hook
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

/*
 * Called (BQL held) when CONTROL.BLOCK_MIGRATION changes; the migration
 * work installs one that adds / removes a migration blocker.
 */
typedef void (*TestDevBlockerHook)(TestDevState *s, bool blocked, void *opaque);

/*
 * Migratable state, VMState "testdev" version 1 (hw/testdev.c):
 * counter (uint32), control (uint32).
 */
struct TestDevState {
    DeviceState parent;

    uint32_t counter;
    uint32_t control;

    /* Not migrated. */
    TestDevBlockerHook blocker_hook;
    void *blocker_opaque;
    uint32_t control_before_load;   /* control when a load began (pre_load) */
};

extern const DeviceClass testdev_class;

void testdev_set_blocker_hook(TestDevState *s, TestDevBlockerHook hook,
                              void *opaque);

/* Is the guest asking to block migration? */
bool testdev_is_blocking_migration(const TestDevState *s);

#endif
