/*
 * testdev: a counter and a control register; see include/hw/testdev.h.
 */
#include "hw/testdev.h"

static TestDevState *TESTDEV(DeviceState *dev)
{
    g_assert(dev->klass == &testdev_class);
    return (TestDevState *)dev;
}

static uint32_t testdev_pio_read(DeviceState *dev, uint16_t offset,
                                 unsigned size)
{
    TestDevState *s = TESTDEV(dev);

    switch (offset & ~3u) {
    case TESTDEV_COUNTER:
    case TESTDEV_INCREMENT:
        return s->counter >> ((offset & 3) * 8);
    case TESTDEV_CONTROL:
        return s->control >> ((offset & 3) * 8);
    }
    return 0;
}

static void testdev_set_control(TestDevState *s, uint32_t value)
{
    bool was = testdev_is_blocking_migration(s);

    s->control = value & TESTDEV_CONTROL_BLOCK_MIGRATION;
    if (was != testdev_is_blocking_migration(s) && s->blocker_hook) {
        s->blocker_hook(s, !was, s->blocker_opaque);
    }
}

static void testdev_pio_write(DeviceState *dev, uint16_t offset,
                              unsigned size, uint32_t value)
{
    TestDevState *s = TESTDEV(dev);

    /* Only whole-register (aligned) writes change state. */
    if (offset & 3) {
        return;
    }
    switch (offset) {
    case TESTDEV_COUNTER:
        s->counter = value;
        break;
    case TESTDEV_INCREMENT:
        s->counter += value;
        break;
    case TESTDEV_CONTROL:
        testdev_set_control(s, value);
        break;
    }
}

static void testdev_reset(DeviceState *dev)
{
    TestDevState *s = TESTDEV(dev);

    s->counter = 0;
    testdev_set_control(s, 0);
}

void testdev_set_blocker_hook(TestDevState *s, TestDevBlockerHook hook,
                              void *opaque)
{
    s->blocker_hook = hook;
    s->blocker_opaque = opaque;
}

bool testdev_is_blocking_migration(const TestDevState *s)
{
    return s->control & TESTDEV_CONTROL_BLOCK_MIGRATION;
}

const DeviceClass testdev_class = {
    .name = "testdev",
    .instance_size = sizeof(TestDevState),
    .pio_base = 0xe0,
    .pio_len = 12,
    .reset = testdev_reset,
    .pio_read = testdev_pio_read,
    .pio_write = testdev_pio_write,
};
