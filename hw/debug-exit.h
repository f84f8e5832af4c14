/*
 * debug-exit at port 0xf4 (4 ports), like QEMU's
 * "-device isa-debug-exit,iobase=0xf4,iosize=0x04": a guest write of N makes
 * tern exit with status (N << 1) | 1.  It has no state to migrate.
 */
#ifndef HW_DEBUG_EXIT_H
#define HW_DEBUG_EXIT_H

#include "hw/device.h"

typedef struct DebugExitState {
    DeviceState parent;
} DebugExitState;

extern const DeviceClass debug_exit_class;

/* The exit status a guest write of @value asks for. */
int debug_exit_status(uint32_t value);

#endif
