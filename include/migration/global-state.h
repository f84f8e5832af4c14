/*
 * The "globalstate" section: the run state the source was in when it
 * stopped for switchover, so the destination resumes the guest the same way
 * (running, or paused if it was paused).  QEMU's format: be32 size, then a
 * 100-byte NUL-padded run-state name.
 */
#ifndef MIGRATION_GLOBAL_STATE_H
#define MIGRATION_GLOBAL_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/vmstate.h"
#include "qapi/qapi-types.h"

typedef struct GlobalState {
    uint32_t size;              /* bytes of runstate in use, NUL included */
    uint8_t runstate[100];
    bool received;              /* destination: the section arrived */
} GlobalState;

extern const VMStateDescription vmstate_globalstate;

/* Source, BQL held, just before the VM stops for switchover. */
void global_state_store(GlobalState *gs, RunState state);

/* Destination, after a load: the source's run state (running if none arrived). */
RunState global_state_runstate(const GlobalState *gs);

#endif
