/*
 * x-switchover-commit (switchover-commit.h): the source's wait for LOADED
 * and its commit, the destination's LOADED and its wait for COMMIT.
 */
#include "switchover-commit.h"
#include "return-path.h"
#include "savevm-commands.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

#include <inttypes.h>

static bool switchover_commit_on(MigrationOptions *opts)
{
    return migrate_cap(opts, MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT);
}

bool switchover_commit_check_address(MigrationOptions *opts, const MigrationAddress *addr,
                                     GError **errp)
{
    if (!switchover_commit_on(opts) || addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET) {
        return true;
    }
    error_setg(errp, "x-switchover-commit needs a socket transport (tcp:, unix:, fd:), "
               "not %s: (it needs a return path and a peer to commit to)",
               MigrationAddressType_str(addr->transport));
    return false;
}

/* ---- source ---- */

void switchover_commit_source_loaded(void *opaque)
{
    MigrationState *s = opaque;

    qemu_mutex_lock(&s->lock);
    s->commit.loaded = true;
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

void switchover_commit_source_rp_ended(void *opaque)
{
    MigrationState *s = opaque;

    qemu_mutex_lock(&s->lock);
    s->commit.rp_ended = true;
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

bool switchover_commit_source_committed(MigrationState *s)
{
    bool committed;

    qemu_mutex_lock(&s->lock);
    committed = s->commit.committed;
    qemu_mutex_unlock(&s->lock);
    return committed;
}

bool switchover_commit_source_cancel_locked(MigrationState *s)
{
    if (!s->commit.committed) {
        return false;
    }
    s->commit.stop_waiting = true;
    qemu_cond_broadcast(&s->cond);
    return true;
}

/*
 * Wait for LOADED, the return path's end or a cancel, and decide.  Under
 * s->lock, where migrate_cancel and a failing return path act too: either
 * they came first (the token is triggered: no commit) or the commit did
 * (they no longer touch the state or the token).
 */
static bool switchover_commit_decide(MigrationState *s)
{
    bool committed;

    qemu_mutex_lock(&s->lock);
    while (!s->commit.loaded && !s->commit.rp_ended &&
           !channel_cancel_is_triggered(s->cancel)) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
    committed = s->commit.loaded && !channel_cancel_is_triggered(s->cancel) &&
                g_atomic_int_get(&s->state) == MIGRATION_STATUS_DEVICE;
    s->commit.committed = committed;
    qemu_mutex_unlock(&s->lock);
    return committed;
}

/*
 * Committed: send COMMIT, then wait for the destination's SHUT (closing
 * with it unread would reset the connection, which may drop COMMIT on
 * its way), or the return path's end, or migrate_cancel.  Nothing that
 * happens now changes the outcome: the guest is the destination's.
 */
static void switchover_commit_send(MigrationState *s)
{
    g_autoptr(GError) err = NULL;
    bool stop_waiting;

    savevm_send_x_switchover_commit(s->to_dst);
    qemu_fflush(s->to_dst);
    if (!qemu_file_check_error(s->to_dst, &err)) {
        warn_report("x-switchover-commit: the commit could not be sent (%s): the "
                    "destination keeps the guest paused, its state complete; 'cont' "
                    "there runs it", err->message);
        g_clear_error(&err);
    }
    qemu_mutex_lock(&s->lock);
    while (!s->commit.rp_ended && !s->commit.stop_waiting) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
    stop_waiting = !s->commit.rp_ended;
    qemu_mutex_unlock(&s->lock);
    if (stop_waiting) {
        channel_cancel_trigger(s->cancel);      /* ends the reader's wait */
    }
    if (!return_path_source_join(s->rp, &err) && !stop_waiting) {
        warn_report("x-switchover-commit: committed; then the return path said: %s",
                    err->message);
    }
    s->rp = NULL;
}

bool switchover_commit_source(MigrationState *s, GError **errp)
{
    if (!switchover_commit_on(s->run_opts)) {
        return migration_rp_await(s, errp);
    }
    if (!s->rp) {
        /* migrate refuses this (return-path is required); no LOADED could come. */
        bql_unlock();
        error_setg(errp, "x-switchover-commit: no return path");
        return false;
    }
    bql_unlock();
    if (!switchover_commit_decide(s)) {
        bql_lock();
        if (!migration_rp_await(s, errp)) {
            return false;
        }
        warn_report("x-switchover-commit: the destination said SHUT without LOADED: "
                    "it runs the guest without the capability; completed without a commit");
        return true;
    }
    switchover_commit_send(s);
    bql_lock();
    return true;
}

/* ---- destination ---- */

/* COMMIT: `u8 0x08 ; be16 MIG_CMD_X_SWITCHOVER_COMMIT ; be16 0`, and nothing else. */
static bool switchover_commit_read(QEMUFile *f, GError **errp)
{
    uint64_t offset = qemu_file_tell(f);
    uint8_t type = qemu_get_byte(f);
    uint16_t cmd = qemu_get_be16(f);
    uint16_t len = qemu_get_be16(f);

    if (!qemu_file_check_error(f, errp)) {
        return false;
    }
    if (type != QEMU_VM_COMMAND || cmd != MIG_CMD_X_SWITCHOVER_COMMIT || len != 0) {
        error_setg(errp, "at offset %" PRIu64 " came 0x%02x 0x%04x 0x%04x, not the "
                   "commit", offset, type, cmd, len);
        return false;
    }
    return true;
}

bool switchover_commit_dst(MigrationIncomingState *mis, GError **errp)
{
    g_autoptr(GError) trailer = savevm_state_take_trailer_error(mis->savevm);
    g_autoptr(GError) why = NULL;

    if (trailer) {
        /* Its rest is unread: drained once the source has SHUT and closes. */
        mis->drain_after_shut = true;
    }
    if (!switchover_commit_on(mis->opts)) {
        if (trailer) {
            warn_report("%s; the load completed without it", trailer->message);
        }
        return true;
    }
    if (trailer) {
        error_setg(errp, "x-switchover-commit: %s: the commit after it cannot be "
                   "found; the guest does not run here (the source resumes it)",
                   trailer->message);
        return false;
    }
    if (!mis->rp) {
        error_setg(errp, "x-switchover-commit: the source opened no return path (set "
                   "return-path and x-switchover-commit on both sides)");
        return false;
    }
    return_path_dst_send_switchover_loaded(mis->rp);
    mis->state_complete = true;
    if (!switchover_commit_read(mis->from_src, &why)) {
        mis->drain_after_shut = true;
        error_setg(errp, "switchover commit not received (%s); the guest state is "
                   "complete here and stays paused: if the source's migration "
                   "completed (its guest stopped for good), 'cont' runs it here, else "
                   "the source resumed it", why->message);
        return false;
    }
    mis->state_complete = false;
    return true;
}
