/*
 * Postcopy, source side (postcopy-source.h).
 *
 * Order on the wire (qemu-migration-facts.md §8): after the header,
 * OPEN_RETURN_PATH, PING(1) and ADVISE.  At the switch: the guest stops,
 * POSTCOPY_RAM_DISCARD for every page dirty now (the destination drops
 * its copy and will ask), PING(2), PACKAGED with LISTEN, every device's
 * FULL section, PING(3) and RUN inside, PING(4).  Then PART sections of
 * RAM, requested pages first, until every page went out; END and EOF; the
 * destination's SHUT ends it.
 *
 * Threads: everything here runs on the migration thread except
 * postcopy_source_request (QMP, BQL) and postcopy_source_page_request
 * (the return-path thread), which queues the page for RAM and wakes the
 * migration thread if it sleeps out max-postcopy-bandwidth.
 */
#include "postcopy-source.h"
#include "postcopy-preempt.h"
#include "postcopy-recover.h"
#include "migration-states.h"
#include "return-path.h"
#include "savevm-commands.h"
#include "migration/ram.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

bool postcopy_source_request(MigrationState *s, GError **errp)
{
    if (!migrate_cap(s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM)) {
        error_setg(errp, "Enable postcopy with migrate_set_capability before"
                   " the start of migration");
        return false;
    }
    if (migration_status(s) == MIGRATION_STATUS_NONE) {
        error_setg(errp, "Postcopy must be started after migration has been started");
        return false;
    }
    /* As QEMU, not an error once the migration ended: that would race with it. */
    g_atomic_int_set(&s->start_postcopy, 1);
    return true;
}

bool postcopy_source_may_cancel(MigrationState *s, GError **errp)
{
    if (postcopy_recover_in_postcopy(migration_status(s))) {
        error_setg(errp, "Postcopy migration in progress, cannot cancel.");
        return false;
    }
    return true;
}

bool postcopy_source_requested(MigrationState *s)
{
    return migrate_cap(s->run_opts, MIGRATION_CAPABILITY_POSTCOPY_RAM) &&
           g_atomic_int_get(&s->start_postcopy);
}

void postcopy_source_advise(MigrationState *s)
{
    ram_postcopy_source_reset(s->ram);
    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_POSTCOPY_RAM)) {
        savevm_send_postcopy_advise(s->to_dst, ram_pagesize_summary(s->ram));
    }
}

bool postcopy_source_page_request(MigrationState *s, const char *block,
                                  uint64_t start, uint64_t len, GError **errp)
{
    bool handled;

    /* With preempt this thread sends the pages itself, ahead of everything. */
    if (!postcopy_preempt_source_request(s, block, start, len, &handled, errp)) {
        return false;
    }
    if (handled) {
        return true;
    }
    if (!ram_postcopy_queue_request(s->ram, block, start, len, errp)) {
        return false;
    }
    qemu_mutex_lock(&s->lock);
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
    return true;
}

void postcopy_source_set_bandwidth(MigrationState *s, uint64_t bytes_per_second)
{
    __atomic_store_n(&s->max_postcopy_bandwidth, bytes_per_second, __ATOMIC_RELAXED);
    qemu_mutex_lock(&s->lock);
    qemu_cond_broadcast(&s->cond);     /* a sleeping postcopy re-reads it */
    qemu_mutex_unlock(&s->lock);
}

/* ---- the switch ---- */

/*
 * The package: LISTEN, the devices, PING(3), RUN, as one PACKAGED command,
 * so the destination has all device state before it runs the guest while
 * the main stream goes on carrying pages.  *@sent once any of it may have
 * reached the destination.
 */
static bool postcopy_send_package(MigrationState *s, bool *sent, GError **errp)
{
    QEMUFile *pack = qemu_file_new_output_buffer();
    g_autoptr(GBytes) blob = NULL;
    gsize len;
    const void *data;

    savevm_send_postcopy_listen(pack);
    if (!savevm_state_complete_devices(s->savevm, pack, errp)) {
        qemu_fclose(pack, NULL);
        return false;
    }
    savevm_send_ping(pack, MIG_PING_IN_PACKAGE);
    savevm_send_postcopy_run(pack);
    blob = qemu_file_output_buffer_bytes(pack);
    qemu_fclose(pack, NULL);
    data = g_bytes_get_data(blob, &len);
    if (len > MIG_MAX_PACKAGED_SIZE) {
        error_setg(errp, "Unreasonably large packaged state: %zu", (size_t)len);
        return false;
    }
    *sent = true;
    savevm_send_packaged(s->to_dst, data, len);
    savevm_send_ping(s->to_dst, MIG_PING_AFTER_PACKAGE);
    qemu_fflush(s->to_dst);
    return qemu_file_check_error(s->to_dst, errp);
}

/* Stop the guest and send everything the destination needs to run it (BQL held). */
static bool postcopy_switch(MigrationState *s, bool *sent, GError **errp)
{
    int64_t stop_ms = g_get_monotonic_time() / 1000;
    bool ok;

    s->vm_old_state = s->machine.get_state(s->machine.opaque);
    global_state_store(s->global_state, s->vm_old_state);
    s->machine.stop(s->machine.opaque, RUN_STATE_FINISH_MIGRATE);
    if (!migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_ACTIVE,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    /* Before RUN can reach the destination: its first faults come right after. */
    ram_postcopy_source_start(s->ram);
    ok = ram_postcopy_send_discard(s->ram, s->to_dst, errp);
    if (ok) {
        savevm_send_ping(s->to_dst, MIG_PING_BEFORE_PACKAGE);
        ok = postcopy_send_package(s, sent, errp);
    }
    /* As QEMU: the downtime of a postcopy is until the guest may run there. */
    __atomic_store_n(&s->downtime, g_get_monotonic_time() / 1000 - stop_ms,
                     __ATOMIC_RELAXED);
    return ok;
}

/* ---- the postcopy phase ---- */

/* max-postcopy-bandwidth, for background pages only (requested ones never wait). */
typedef struct PostcopyRate {
    MigrationState *s;
    uint64_t limit;             /* bytes/s, 0: none; as of @start_us */
    uint64_t start_bytes;
    int64_t start_us;
} PostcopyRate;

/* Follow a new limit: the budget counts from the change. */
static void postcopy_rate_refresh(PostcopyRate *r)
{
    uint64_t limit = __atomic_load_n(&r->s->max_postcopy_bandwidth, __ATOMIC_RELAXED);

    if (limit != r->limit) {
        r->limit = limit;
        r->start_bytes = qemu_file_transferred(r->s->to_dst);
        r->start_us = g_get_monotonic_time();
    }
}

/* How long until the bytes sent so far are paid for (<= 0: now). */
static int64_t postcopy_rate_wait_us(PostcopyRate *r)
{
    uint64_t sent;

    postcopy_rate_refresh(r);
    if (!r->limit) {
        return 0;
    }
    sent = qemu_file_transferred(r->s->to_dst) - r->start_bytes;
    return r->start_us + (int64_t)(sent * G_USEC_PER_SEC / r->limit) -
           g_get_monotonic_time();
}

static bool postcopy_rate_exceeded(void *opaque)
{
    PostcopyRate *r = opaque;

    /* A requested page went into the buffer: end this iteration to flush it. */
    if (ram_postcopy_take_flush_due(r->s->ram)) {
        return true;
    }
    if (ram_postcopy_requests_pending(r->s->ram)) {
        return false;
    }
    if (migration_status(r->s) != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        return true;
    }
    return postcopy_rate_wait_us(r) > 0;
}

/*
 * Sleep out the bandwidth budget, but not past a page request, a cancel or
 * a failed channel (the destination gone: at a low max-postcopy-bandwidth
 * the budget can be minutes away).
 */
static void postcopy_rate_wait(PostcopyRate *r)
{
    MigrationState *s = r->s;
    int64_t wait;

    qemu_mutex_lock(&s->lock);
    while (migration_status(s) == MIGRATION_STATUS_POSTCOPY_ACTIVE &&
           !channel_cancel_is_triggered(s->cancel) &&
           !ram_postcopy_requests_pending(s->ram) &&
           (wait = postcopy_rate_wait_us(r)) > 0) {
        qemu_cond_timedwait(&s->cond, &s->lock, wait / 1000 + 1);
    }
    qemu_mutex_unlock(&s->lock);
}

/* RAM until every page went out, then END and EOF. */
static bool postcopy_stream(MigrationState *s, GError **errp)
{
    PostcopyRate r = { .s = s };
    bool ok = true;

    ram_state_set_rate_limit(s->ram, &(RAMRateLimit){ postcopy_rate_exceeded, &r });
    for (;;) {
        SaveVMIterateResult res = savevm_state_iterate(s->savevm, s->to_dst, errp);

        /* What was queued goes now: a requested page must not wait for more. */
        qemu_fflush(s->to_dst);
        migration_stat_set(&s->stats.transferred,
                           s->transferred_before + qemu_file_transferred(s->to_dst));
        if (res == SAVEVM_ITERATE_ERROR || !qemu_file_check_error(s->to_dst, errp)) {
            ok = false;
            break;
        }
        if (res == SAVEVM_ITERATE_DONE) {
            break;
        }
        if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
            error_setg(errp, "migration cancelled");
            ok = false;
            break;
        }
        postcopy_rate_wait(&r);
    }
    ram_state_set_rate_limit(s->ram, NULL);     /* @r lives on this stack */
    /* Preempt: its last page before the main channel's END (postcopy-preempt.c). */
    ok = postcopy_preempt_source_finish(s, ok, ok ? errp : NULL);
    return ok && savevm_state_complete_postcopy(s->savevm, s->to_dst, errp);
}

/*
 * After the last byte: the destination's SHUT.  True with the BQL held;
 * false without it when the destination failed (x-verify-ram, say) or the
 * link broke.
 */
static bool postcopy_await_shut(MigrationState *s, GError **errp)
{
    bql_lock();
    return migration_rp_await(s, errp);
}

bool postcopy_source_run(MigrationState *s, GError **errp)
{
    bool sent = false;
    bool ok;

    /* As QEMU 8.0+: the preempt channel opens before the guest stops. */
    if (!postcopy_preempt_source_open(s, errp)) {
        return false;
    }
    bql_lock();
    ok = postcopy_switch(s, &sent, errp);
    bql_unlock();
    if (!ok) {
        postcopy_preempt_source_finish(s, false, NULL);
    }
    /* The guest runs on the destination: a broken link pauses (postcopy-recover.h). */
    while (ok) {
        GError *err = NULL;

        if (postcopy_stream(s, &err) && postcopy_await_shut(s, &err)) {
            break;
        }
        ok = postcopy_recover_source_pause(s, err, errp);
    }
    ram_postcopy_source_stop(s->ram);
    if (ok) {
        return true;            /* the BQL held (postcopy_await_shut) */
    }
    if (sent) {
        /* The destination may run the guest: never run it here too. */
        bql_lock();
        s->machine.set_state(s->machine.opaque, RUN_STATE_POSTMIGRATE);
        bql_unlock();
    }
    return false;
}
