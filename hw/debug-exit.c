/*
 * debug-exit: the guest ends the process with a status of its choosing,
 * the way test guests report pass/fail under QEMU's isa-debug-exit.
 */
#include "debug-exit.h"

#include "sysemu/runstate.h"

int debug_exit_status(uint32_t value)
{
    return (int)((value << 1) | 1);
}

static uint32_t debug_exit_pio_read(DeviceState *dev, uint16_t offset,
                                    unsigned size)
{
    return 0;
}

static void debug_exit_pio_write(DeviceState *dev, uint16_t offset,
                                 unsigned size, uint32_t value)
{
    qemu_system_exit_request(debug_exit_status(value));
}

const DeviceClass debug_exit_class = {
    .name = "debug-exit",
    .instance_size = sizeof(DebugExitState),
    .pio_base = 0xf4,
    .pio_len = 4,
    .pio_read = debug_exit_pio_read,
    .pio_write = debug_exit_pio_write,
};
