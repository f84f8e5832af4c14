/*
 * testdev: a counter and a control register; see include/hw/testdev.h.
 */
#include "hw/testdev.h"

#include "migration/vmstate.h"
#include "qemu/error.h"

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
    if (was != testdev_is_blocking_migration(s) && s->blocker.set) {
        s->blocker.set(s->blocker.opaque, TESTDEV_BLOCKER_REASON, !was);
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

void testdev_set_blocker(TestDevState *s, const DeviceBlocker *blocker)
{
    s->blocker = blocker ? *blocker : (DeviceBlocker){ 0 };
}

bool testdev_is_blocking_migration(const TestDevState *s)
{
    return s->control & TESTDEV_CONTROL_BLOCK_MIGRATION;
}

/*
 * VMState.  The engine writes control straight into the struct, so
 * pre_load remembers the value before the load: post_load then changes
 * the blocker exactly as a guest write of the loaded value would.
 */
static bool testdev_pre_load(void *opaque, GError **errp)
{
    TestDevState *s = opaque;

    s->control_before_load = s->control;
    return true;
}

static bool testdev_post_load(void *opaque, int version_id, GError **errp)
{
    TestDevState *s = opaque;
    uint32_t loaded = s->control;

    /* counter: any value is one a guest can write. */
    if (loaded & ~TESTDEV_CONTROL_BLOCK_MIGRATION) {
        error_setg(errp, "invalid CONTROL 0x%08x (reserved bits set)", loaded);
        return false;
    }
    s->control = s->control_before_load;
    testdev_set_control(s, loaded);
    return true;
}

static const VMStateDescription vmstate_testdev = {
    .name = "testdev",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = testdev_pre_load,
    .post_load = testdev_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(counter, TestDevState),
        VMSTATE_UINT32(control, TestDevState),
        VMSTATE_END_OF_LIST()
    },
};

const DeviceClass testdev_class = {
    .name = "testdev",
    .instance_size = sizeof(TestDevState),
    .pio_base = 0xe0,
    .pio_len = 12,
    .reset = testdev_reset,
    .pio_read = testdev_pio_read,
    .pio_write = testdev_pio_write,
    .vmsd = &vmstate_testdev,
};
