/*
 * The "globalstate" section (include/migration/global-state.h).
 */
#include "migration/global-state.h"
#include "qapi/qapi-util.h"
#include "qemu/error.h"

#include <string.h>

void global_state_store(GlobalState *gs, RunState state)
{
    const char *name = RunState_str(state);

    memset(gs->runstate, 0, sizeof(gs->runstate));
    g_strlcpy((char *)gs->runstate, name, sizeof(gs->runstate));
    gs->size = strlen((char *)gs->runstate) + 1;
}

/* The RunState named in @gs, or -1. */
static int global_state_parse(const GlobalState *gs)
{
    return qapi_enum_parse(&RunState_lookup, (const char *)gs->runstate, -1,
                           NULL);
}

RunState global_state_runstate(const GlobalState *gs)
{
    int state;

    if (!gs->received) {
        return RUN_STATE_RUNNING;
    }
    state = global_state_parse(gs);
    return state < 0 ? RUN_STATE_RUNNING : state;  /* post_load checked it */
}

static bool global_state_pre_load(void *opaque, GError **errp)
{
    GlobalState *gs = opaque;

    gs->received = false;
    return true;
}

/* Check everything before accepting: the name must be a run state we know. */
static bool global_state_post_load(void *opaque, int version_id, GError **errp)
{
    GlobalState *gs = opaque;
    size_t len = strnlen((const char *)gs->runstate, sizeof(gs->runstate));

    if (gs->size > sizeof(gs->runstate) || len == sizeof(gs->runstate)) {
        error_setg(errp, "globalstate: run state is not terminated (size %u)",
                   gs->size);
        return false;
    }
    if (global_state_parse(gs) < 0) {
        error_setg(errp, "globalstate: unknown run state '%s'",
                   (const char *)gs->runstate);
        return false;
    }
    gs->received = true;
    return true;
}

const VMStateDescription vmstate_globalstate = {
    .name = "globalstate",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = global_state_pre_load,
    .post_load = global_state_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(size, GlobalState),
        VMSTATE_BUFFER(runstate, GlobalState),
        VMSTATE_END_OF_LIST()
    },
};
