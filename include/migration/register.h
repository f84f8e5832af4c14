/*
 * SaveVMHandlers: how an iterative section (RAM, later others) plugs into
 * the migration stream.  Device state that is sent once uses a
 * VMStateDescription instead (include/migration/vmstate.h).
 *
 * One return convention for every hook: bool + GError, except
 * save_live_iterate (see below).  Payload hooks write or read only their
 * section's payload: the section header and footer are the caller's.
 */
#ifndef MIGRATION_REGISTER_H
#define MIGRATION_REGISTER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/qemu-file.h"

typedef struct SaveVMHandlers {
    /* ---- source ---- */

    /* Migration thread, BQL held, VM running: the START section's payload. */
    bool (*save_setup)(QEMUFile *f, void *opaque, GError **errp);

    /*
     * Migration thread, no BQL, VM running: one PART section's payload, as
     * much as the rate limit allows.  Returns 1 when nothing is left to send
     * for now, 0 when more remains, -1 on error (@errp set).
     */
    int (*save_live_iterate)(QEMUFile *f, void *opaque, GError **errp);

    /* Migration thread, BQL held, VM stopped: the END section's payload (all that is left). */
    bool (*save_live_complete)(QEMUFile *f, void *opaque, GError **errp);

    /*
     * Migration thread: bytes still to send.  estimate is cheap (no dirty
     * sync, no BQL); exact synchronises the dirty bitmap first (takes what
     * locks it needs).
     */
    uint64_t (*state_pending_estimate)(void *opaque);
    uint64_t (*state_pending_exact)(void *opaque, GError **errp);

    /* Migration thread at the end (success, failure or cancel): release what setup allocated. */
    void (*save_cleanup)(void *opaque);

    /* ---- destination ---- */

    /* Incoming thread, before the first section. */
    bool (*load_setup)(void *opaque, GError **errp);
    /* Incoming thread: one START/PART/END payload written with @version_id. */
    bool (*load_state)(QEMUFile *f, void *opaque, int version_id, GError **errp);
    /* Incoming thread at the end, success or failure. */
    void (*load_cleanup)(void *opaque);
} SaveVMHandlers;

#endif
