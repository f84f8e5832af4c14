/*
 * SaveVMHandlers: how an iterative section (RAM, later others) plugs into
 * the migration stream.  Device state that is sent once uses a
 * VMStateDescription instead (include/migration/vmstate.h).
 *
 * One return convention for every hook that can fail: bool + GError (set
 * exactly when false is returned), with any figure through an
 * out-parameter; save_live_iterate returns one of three outcomes in a
 * SaveVMIterateResult instead of its bool.  A hook that fails fails the
 * migration (or the load) with its message, prefixed by the section's
 * name.  Payload hooks write or read only their section's payload: the
 * section header and footer are the caller's.
 */
#ifndef MIGRATION_REGISTER_H
#define MIGRATION_REGISTER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct QEMUFile QEMUFile;       /* migration/qemu-file.h */

/* What one save_live_iterate call (or savevm_state_iterate) did. */
typedef enum SaveVMIterateResult {
    SAVEVM_ITERATE_DONE,        /* nothing left to send for now */
    SAVEVM_ITERATE_MORE,        /* more remains: call again */
    SAVEVM_ITERATE_ERROR,       /* failed; @errp says why */
} SaveVMIterateResult;

typedef struct SaveVMHandlers {
    /*
     * Any thread, optional: false leaves the entry out of this migration's
     * stream (no START, PART or END section).  Absent means always in.
     */
    bool (*is_active)(void *opaque);

    /* ---- source ---- */

    /* Migration thread, BQL held, VM running: the START section's payload. */
    bool (*save_setup)(QEMUFile *f, void *opaque, GError **errp);

    /*
     * Migration thread, no BQL, VM running: one PART section's payload, as
     * much as the rate limit allows.
     */
    SaveVMIterateResult (*save_live_iterate)(QEMUFile *f, void *opaque,
                                             GError **errp);

    /* Migration thread, BQL held, VM stopped: the END section's payload (all that is left). */
    bool (*save_live_complete)(QEMUFile *f, void *opaque, GError **errp);

    /*
     * Migration thread: set *@pending to the bytes still to send.  estimate
     * is cheap and cannot fail (no dirty sync, no BQL); exact synchronises
     * the dirty bitmap first (takes what locks it needs) and may fail.
     */
    void (*state_pending_estimate)(void *opaque, uint64_t *pending);
    bool (*state_pending_exact)(void *opaque, uint64_t *pending,
                                GError **errp);

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
