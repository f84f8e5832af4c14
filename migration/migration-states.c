/*
 * The outgoing migration's state transitions (migration/migration-states.h
 * and the state half of include/migration/migration.h).  Every change is a
 * compare-and-swap on s->state, so the migration thread and the QMP
 * handlers (migrate_cancel, migrate-continue) never need a common lock to
 * agree on the state; s->lock only guards the continue request and the
 * first error; a cancel reaches the stream through the migration's cancel
 * token.
 */
#include "migration-states.h"
#include "switchover-commit.h"
#include "qapi/qapi-events.h"
#include "qemu/error.h"

bool migration_is_running(MigrationStatus st)
{
    switch (st) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
    case MIGRATION_STATUS_CANCELLING:
        return true;
    default:
        return false;
    }
}

bool migrate_set_state(gint *state, MigrationOptions *opts,
                       MigrationStatus old_state, MigrationStatus new_state)
{
    if (!g_atomic_int_compare_and_exchange(state, old_state, new_state)) {
        return false;
    }
    if (migrate_cap(opts, MIGRATION_CAPABILITY_EVENTS)) {
        qapi_event_send_migration(new_state);
    }
    return true;
}

MigrationStatus migration_status(MigrationState *s)
{
    return g_atomic_int_get(&s->state);
}

/* As in QEMU, the VM is already stopped while it waits in pre-switchover. */
bool migration_pause_before_switchover(MigrationState *s)
{
    if (!migrate_cap(s->run_opts, MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER)) {
        return migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_ACTIVE,
                                 MIGRATION_STATUS_DEVICE);
    }
    if (!migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_ACTIVE,
                           MIGRATION_STATUS_PRE_SWITCHOVER)) {
        return false;
    }
    /* A failed return path cancels the token and wakes us: no switchover then. */
    qemu_mutex_lock(&s->lock);
    while (!s->continue_requested && !channel_cancel_is_triggered(s->cancel) &&
           migration_status(s) == MIGRATION_STATUS_PRE_SWITCHOVER) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
    s->continue_requested = false;
    qemu_mutex_unlock(&s->lock);
    if (channel_cancel_is_triggered(s->cancel)) {
        return false;
    }
    return migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_PRE_SWITCHOVER,
                             MIGRATION_STATUS_DEVICE);
}

/*
 * A concurrent migrate_cancel can only move us to cancelling, so retry
 * until the compare-and-swap sticks.
 */
void migration_enter_final_state(MigrationState *s, MigrationStatus final)
{
    MigrationStatus st;

    do {
        st = migration_status(s);
        if (final == MIGRATION_STATUS_FAILED && st == MIGRATION_STATUS_CANCELLING) {
            final = MIGRATION_STATUS_CANCELLED;
        }
    } while (!migrate_set_state(&s->state, s->opts, st, final));
}

void migration_cancel(MigrationState *s)
{
    MigrationStatus st;

    /*
     * All under s->lock, where x-switchover-commit decides: a cancel
     * either comes first (no commit) or finds the guest committed to the
     * destination, and then only ends the wait for its SHUT.
     */
    qemu_mutex_lock(&s->lock);
    if (switchover_commit_source_cancel_locked(s)) {
        qemu_mutex_unlock(&s->lock);
        return;
    }
    do {
        st = migration_status(s);
        if (!migration_is_running(st) || st == MIGRATION_STATUS_CANCELLING) {
            break;
        }
    } while (!migrate_set_state(&s->state, s->opts, st, MIGRATION_STATUS_CANCELLING));

    /*
     * Wakes the thread wherever it waits on the stream (connect, read,
     * write).  Under s->lock: a postcopy resume swaps the token.
     */
    if (migration_status(s) == MIGRATION_STATUS_CANCELLING) {
        channel_cancel_trigger(s->cancel);
    }
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

bool migration_continue(MigrationState *s, MigrationStatus expected, GError **errp)
{
    MigrationStatus st = migration_status(s);

    if (st != expected) {
        error_setg(errp, "Migration not in expected state: %s",
                   MigrationStatus_str(st));
        return false;
    }
    qemu_mutex_lock(&s->lock);
    s->continue_requested = true;
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
    return true;
}

void migration_enter_recover_setup(MigrationState *s, ChannelCancel *cancel,
                                   MigrationAddress *addr)
{
    ChannelCancel *old = s->cancel;

    s->cancel = cancel;
    if (addr) {
        qapi_free_MigrationAddress(s->addr);
        s->addr = addr;
    }
    g_clear_pointer(&s->error_desc, g_free);
    migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_POSTCOPY_PAUSED,
                      MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP);
    qemu_cond_broadcast(&s->cond);
    channel_cancel_unref(old);
}

void migration_set_error(MigrationState *s, const GError *err)
{
    qemu_mutex_lock(&s->lock);
    if (!s->error_desc) {
        s->error_desc = g_strdup(err->message);
    }
    qemu_mutex_unlock(&s->lock);
}
