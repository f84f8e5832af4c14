/*
 * Postcopy recovery, source side (postcopy-recover.h).
 *
 * States: postcopy-active -> postcopy-paused (the link broke, or
 * migrate-pause) -> postcopy-recover-setup (migrate resume, which swaps in
 * the new address and cancel token while the thread waits) ->
 * postcopy-recover (connected) -> postcopy-active (RESUME_ACK).  A failed
 * connect or handshake goes back to postcopy-paused.  With
 * x-postcopy-auto-recover the thread starts attempts itself
 * (postcopy-auto-recover.c).
 *
 * Threads: the migration thread tears the old connection down (the
 * return-path thread joined, the preempt channel freed) before it enters
 * postcopy-paused, so whoever moves the state out of postcopy-paused under
 * s->lock (migrate resume, or the thread's own attempt) may replace
 * s->cancel, s->addr and s->tls; it then waits on s->cond.  On the new connection the
 * return-path thread loads the received bitmaps (the migration thread
 * waits, it does not touch RAM meanwhile) and handles RESUME_ACK.
 * s->cancel is swapped and triggered under s->lock only, so migrate-pause
 * (out of band, no BQL) never triggers a token being freed.
 */
#include "postcopy-recover.h"
#include "postcopy-preempt.h"
#include "migration-states.h"
#include "return-path.h"
#include "savevm-commands.h"
#include "tls.h"
#include "migration/ram.h"
#include "qemu/error.h"

/* Wake the migration thread wherever it waits on s->cond. */
static void recover_source_kick(MigrationState *s)
{
    qemu_mutex_lock(&s->lock);
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

/* Drop the connection: every thread on it ends, every channel closes. */
static void recover_source_drop_link(MigrationState *s)
{
    qemu_mutex_lock(&s->lock);
    channel_cancel_trigger(s->cancel);
    qemu_mutex_unlock(&s->lock);
    postcopy_preempt_source_finish(s, false, NULL);
    migration_rp_stop(s);
    postcopy_preempt_source_free(s);
    if (s->to_dst) {
        s->transferred_before += qemu_file_transferred(s->to_dst);
        qemu_fclose(s->to_dst, NULL);
        s->to_dst = NULL;
    }
}

/*
 * Wait under s->lock until @done, the state leaves @st, the link breaks,
 * or @deadline passes (µs, monotonic; 0: none), which sets *@timed_out.
 */
static bool recover_source_wait(MigrationState *s, MigrationStatus st,
                                bool (*done)(MigrationState *s), int64_t deadline,
                                bool *timed_out)
{
    bool ok;

    qemu_mutex_lock(&s->lock);
    while (!done(s) && migration_status(s) == st &&
           !channel_cancel_is_triggered(s->cancel)) {
        int64_t now = g_get_monotonic_time();

        if (!deadline) {
            qemu_cond_wait(&s->cond, &s->lock);
        } else if (now >= deadline) {
            *timed_out = true;
            break;
        } else {
            qemu_cond_timedwait(&s->cond, &s->lock, (deadline - now + 999) / 1000);
        }
    }
    ok = done(s);
    qemu_mutex_unlock(&s->lock);
    return ok;
}

/* Under s->lock. */
static bool recover_source_bitmaps_done(MigrationState *s)
{
    return s->recv_bitmaps_pending == 0;
}

static bool recover_source_acked(MigrationState *s)
{
    return migration_status(s) == MIGRATION_STATUS_POSTCOPY_ACTIVE;
}

/* The handshake's failure while waiting for @what. */
static void recover_source_fail(GError **errp, const char *what, bool timed_out)
{
    if (timed_out) {
        error_setg(errp, "postcopy recovery: no answer from the destination while %s", what);
    } else {
        error_setg(errp, "postcopy recovery: the connection ended while %s", what);
    }
}

/*
 * The handshake on the new connection (postcopy-recover): one RECV_BITMAP
 * per block and wait for every bitmap, then the preempt channel, then
 * RESUME and wait for its ack.
 */
static bool recover_source_handshake(MigrationState *s, GError **errp)
{
    GPtrArray *blocks = ram_state_blocks(s->ram);
    /* An automatic attempt must not hang on a peer that never answers. */
    int64_t deadline = postcopy_auto_recover_handshake_deadline(s);
    bool timed_out = false;

    qemu_mutex_lock(&s->lock);
    s->recv_bitmaps_pending = blocks->len;
    qemu_mutex_unlock(&s->lock);
    if (!migration_rp_open(s, errp)) {
        return false;
    }
    for (guint i = 0; i < blocks->len; i++) {
        savevm_send_recv_bitmap(s->to_dst, ((RAMBlock *)g_ptr_array_index(blocks, i))->idstr);
    }
    qemu_fflush(s->to_dst);
    if (!qemu_file_check_error(s->to_dst, errp)) {
        return false;
    }
    if (!recover_source_wait(s, MIGRATION_STATUS_POSTCOPY_RECOVER,
                             recover_source_bitmaps_done, deadline, &timed_out)) {
        recover_source_fail(errp, "waiting for the received bitmaps", timed_out);
        return false;
    }
    ram_recover_source_resume(s->ram);
    if (!postcopy_preempt_source_open(s, errp)) {
        return false;
    }
    savevm_send_postcopy_resume(s->to_dst);
    qemu_fflush(s->to_dst);
    if (!qemu_file_check_error(s->to_dst, errp)) {
        return false;
    }
    if (!recover_source_wait(s, MIGRATION_STATUS_POSTCOPY_RECOVER, recover_source_acked,
                             deadline, &timed_out)) {
        recover_source_fail(errp, "waiting for RESUME_ACK", timed_out);
        return false;
    }
    return true;
}

/* postcopy-recover-setup: connect to the new address, then the handshake. */
static bool recover_source_reconnect(MigrationState *s, GError **errp)
{
    if (!migration_connect(s, errp)) {
        return false;
    }
    if (!migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP,
                           MIGRATION_STATUS_POSTCOPY_RECOVER)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return recover_source_handshake(s, errp);
}

bool postcopy_recover_source_pause(MigrationState *s, GError *err, GError **errp)
{
    for (;;) {
        MigrationStatus from = migration_status(s);

        if (from != MIGRATION_STATUS_POSTCOPY_ACTIVE &&
            from != MIGRATION_STATUS_POSTCOPY_RECOVER &&
            from != MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP) {
            g_propagate_error(errp, err);
            return false;
        }
        recover_source_drop_link(s);
        /*
         * The return path is joined: had the destination said its load
         * failed (SHUT with an error), it is not paused and never resumes.
         */
        if (g_atomic_int_get(&s->dst_failed)) {
            g_propagate_error(errp, err);
            return false;
        }
        migration_set_error(s, err);
        error_report("Detected IO failure for postcopy. Migration paused. (%s)",
                     err->message);
        if (!migrate_set_state(&s->state, s->opts, from, MIGRATION_STATUS_POSTCOPY_PAUSED)) {
            /* Only the exit path's cancel moves these states meanwhile. */
            g_clear_error(&err);
            error_setg(errp, "migration cancelled");
            return false;
        }
        recover_source_kick(s);
        /* Until migrate resume, or an attempt of its own (x-postcopy-auto-recover). */
        postcopy_auto_recover_source_wait(s, err->message);
        g_clear_error(&err);
        if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP) {
            error_setg(errp, "migration cancelled");
            return false;
        }
        if (recover_source_reconnect(s, &err)) {
            postcopy_auto_recover_source_healed(s);
            return true;
        }
    }
}

bool postcopy_recover_source_pause_request(MigrationState *s, GError **errp)
{
    MigrationStatus st;

    qemu_mutex_lock(&s->lock);
    st = migration_status(s);
    if (!postcopy_recover_is_alive(st) && !postcopy_auto_recover_source_may_pause(s, st)) {
        qemu_mutex_unlock(&s->lock);
        return false;
    }
    /* As QEMU: the reason shows in query-migrate while paused. */
    if (!s->error_desc) {
        s->error_desc = g_strdup("Postcopy migration is paused by the user");
    }
    /* Paused on purpose: no automatic attempt until migrate resume. */
    s->auto_recover.user_paused = true;
    channel_cancel_trigger(s->cancel);
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
    return true;
}

bool postcopy_recover_source_resume(MigrationState *s, MigrationAddress *addr, GError **errp)
{
    g_autoptr(MigrationAddress) owned = addr;
    g_autoptr(GError) tls_err = NULL;
    MigrationTls *tls = NULL;
    ChannelCancel *cancel;

    if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return false;
    }
    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_RELEASE_RAM)) {
        error_setg(errp, "Postcopy recovery cannot work when release-ram capability is set");
        return false;
    }
    cancel = channel_cancel_new(errp);
    if (!cancel) {
        return false;
    }
    if (migration_tls_enabled(s->run_opts)) {
        tls = migration_tls_new(s->objects, s->run_opts, addr, &tls_err);
    }
    qemu_mutex_lock(&s->lock);
    /* Checked again: an automatic attempt may have started meanwhile. */
    if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        qemu_mutex_unlock(&s->lock);
        migration_tls_free(tls);
        channel_cancel_unref(cancel);
        error_setg(errp, "Cannot resume if there is no paused migration");
        return false;
    }
    /* Paused: the thread has let go of the old connection and waits. */
    migration_tls_free(s->tls);
    s->tls = tls;
    g_clear_error(&s->tls_err);
    s->tls_err = g_steal_pointer(&tls_err);
    postcopy_auto_recover_source_resumed(s);
    migration_enter_recover_setup(s, cancel, g_steal_pointer(&owned));
    qemu_mutex_unlock(&s->lock);
    return true;
}

bool postcopy_recover_source_recv_bitmap(MigrationState *s, const char *block,
                                         QEMUFile *from_dst, GError **errp)
{
    MigrationStatus st = migration_status(s);

    if (st != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        error_setg(errp, "Reload bitmap in incorrect state %s", MigrationStatus_str(st));
        return false;
    }
    if (!ram_recover_load_bitmap(s->ram, block, from_dst, errp)) {
        return false;
    }
    qemu_mutex_lock(&s->lock);
    if (s->recv_bitmaps_pending) {
        s->recv_bitmaps_pending--;
    }
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
    return true;
}

bool postcopy_recover_source_resume_ack(MigrationState *s, GError **errp)
{
    /* As QEMU: the ack itself moves the source back to postcopy-active. */
    migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_POSTCOPY_RECOVER,
                      MIGRATION_STATUS_POSTCOPY_ACTIVE);
    recover_source_kick(s);
    return true;
}
