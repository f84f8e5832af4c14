/*
 * The outgoing side of a migration: the state machine and the migration
 * thread that runs setup -> iterate -> switchover -> completed, as in
 * DESIGN.md "The migration path".  QMP handlers (migration-qmp.c) start,
 * cancel and query it; they never wait for the stream.
 *
 * Locks: the thread takes the BQL only to set up (dirty logging, section
 * setup), to stop the VM and save device state at switchover, and to restart
 * the VM after a failure.  s->lock guards the fields shared with QMP (the
 * error, the continue request); a cancel reaches the stream through the
 * migration's cancel token.
 */
#include "migration/migration.h"
#include "migration-states.h"
#include "migration/ram.h"
#include "migration/cpr.h"
#include "auto-converge.h"
#include "converge-predict.h"
#include "background-snapshot.h"
#include "ram-write-tracking.h"
#include "migration/ram-verify.h"
#include "mapped-ram.h"
#include "multifd.h"
#include "postcopy-source.h"
#include "postcopy-preempt.h"
#include "postcopy-recover.h"
#include "rate-window.h"
#include "ram-verify-check.h"
#include "return-path.h"
#include "switchover.h"
#include "switchover-commit.h"
#include "transport.h"
#include "tls.h"
#include "qapi/qapi-events.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "qemu/bitmap.h"

#include <string.h>

static gint64 now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* Now on the thread's clock (MigrationState.clock), ms. */
static int64_t migration_now_ms(MigrationState *s)
{
    return migration_clock_now_us(s->clock) / 1000;
}

/* The timing fields the thread writes and query-migrate reads (see MigrationState). */
static void time_set(int64_t *field, int64_t ms)
{
    __atomic_store_n(field, ms, __ATOMIC_RELAXED);
}

static int64_t time_get(const int64_t *field)
{
    return __atomic_load_n(field, __ATOMIC_RELAXED);
}

/* The return path's postcopy messages go to postcopy and its recovery. */
static const ReturnPathPostcopyOps migration_rp_postcopy = {
    .req_pages = postcopy_source_page_request,
    .recv_bitmap = postcopy_recover_source_recv_bitmap,
    .resume_ack = postcopy_recover_source_resume_ack,
};

MigrationState *migration_state_new(SaveVMState *savevm, MigrationOptions *opts,
                                    RAMState *ram, GlobalState *gs,
                                    const MigrationMachineOps *machine)
{
    MigrationState *s = g_new0(MigrationState, 1);

    s->state = MIGRATION_STATUS_NONE;
    s->savevm = savevm;
    s->machine = *machine;
    s->opts = opts;
    s->ram = ram;
    s->global_state = gs;
    s->rp_postcopy = &migration_rp_postcopy;
    s->blockers = g_ptr_array_new_with_free_func(g_free);
    s->predict = migration_predict_new();
    s->clock = &migration_clock_monotonic;
    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->cond);
    return s;
}

void migration_state_free(MigrationState *s)
{
    if (!s) {
        return;
    }
    migration_cancel(s);
    if (s->thread) {
        g_thread_join(s->thread);
    }
    g_ptr_array_free(s->blockers, TRUE);
    migration_predict_free(s->predict);
    g_free(s->error_desc);
    channel_cancel_unref(s->cancel);
    qapi_free_MigrationAddress(s->addr);
    qapi_free_MigrationAddress(s->cpr_addr);
    migration_options_free(s->run_opts);
    migration_tls_free(s->tls);
    g_clear_error(&s->tls_err);
    qemu_mutex_destroy(&s->lock);
    qemu_cond_destroy(&s->cond);
    g_free(s);
}

/* ---- blockers ---- */

void migration_add_blocker(MigrationState *s, const char *reason)
{
    g_ptr_array_add(s->blockers, g_strdup(reason));
}

void migration_remove_blocker(MigrationState *s, const char *reason)
{
    for (guint i = 0; i < s->blockers->len; i++) {
        if (g_str_equal(g_ptr_array_index(s->blockers, i), reason)) {
            g_ptr_array_remove_index(s->blockers, i);
            return;
        }
    }
}

/* ---- rate limiting and the switchover decision ---- */

/* Bytes of the whole migration so far: the main channel's and the multifd channels'. */
static uint64_t migration_transferred(MigrationState *s)
{
    /* No stream: a paused postcopy ended here (the exit path). */
    uint64_t main_bytes = s->to_dst ? qemu_file_transferred(s->to_dst) : 0;

    return s->transferred_before + main_bytes +
           migration_stat_get(&s->stats.multifd_bytes);
}

/* The thread's view of the bandwidth: the window, and what the decision plans on. */
typedef struct MigrationRate {
    MigrationState *s;
    RateWindow w;
    uint64_t start_pages;       /* pages sent when the window opened */
    uint64_t start_zero_pages;  /* of which zero pages */
    SwitchoverPlan plan;
} MigrationRate;

static uint64_t migration_max_bandwidth(MigrationState *s)
{
    return __atomic_load_n(&s->max_bandwidth, __ATOMIC_RELAXED);
}

/* RAM asks this between pages: has this window's budget been spent? */
static bool migration_rate_exceeded(void *opaque)
{
    MigrationRate *r = opaque;

    if (migration_status(r->s) == MIGRATION_STATUS_CANCELLING) {
        return true;
    }
    return rate_window_spent(&r->w, migration_max_bandwidth(r->s));
}

/* How long a held migration with nothing to send waits before it syncs again. */
#define MIGRATION_HOLD_IDLE_MS 10

/* Sleep until @deadline_ms unless cancelled or the limits change. */
static void migration_sleep_until(MigrationState *s, int64_t deadline_ms)
{
    qemu_mutex_lock(&s->lock);
    for (int64_t left; (left = deadline_ms - now_ms()) > 0 &&
                       migration_status(s) != MIGRATION_STATUS_CANCELLING;) {
        if (qemu_cond_timedwait(&s->cond, &s->lock, left)) {
            break;      /* woken: cancel, or a new max-bandwidth to obey */
        }
    }
    qemu_mutex_unlock(&s->lock);
}

/*
 * Does a window that sent @pages pages, @zero of them zero pages, say how
 * fast the channel carries page data?  Not when zero pages dominated (a few
 * bytes each: it timed the scan), nor when under 1 MiB of data went (it
 * timed the per-call overhead).
 */
static bool migration_rate_data_window(uint64_t pages, uint64_t zero)
{
    uint64_t normal = pages - zero;

    return normal >= zero && normal * TARGET_PAGE_SIZE >= (1 << 20);
}

/*
 * After each iteration: at the end of a window, publish its figures and
 * start the next one; when the budget was spent early, sleep out the rest
 * of the window first.  When this iteration ended the first round
 * (@first_round_ended), the window ends here, early (sleeping until its
 * bytes are paid for under max-bandwidth), and the history is forgotten:
 * from here on every window measures pages the destination already holds.
 */
static void migration_rate_advance(MigrationRate *r, bool first_round_ended)
{
    MigrationAtomicStats *st = &r->s->stats;
    uint64_t pages = migration_stats_pages_sent(st);
    uint64_t max_bandwidth = migration_max_bandwidth(r->s);
    int64_t sleep_until;
    int64_t elapsed;
    uint64_t zero;

    migration_stat_set(&st->transferred, migration_transferred(r->s));
    if (!rate_window_due(&r->w, max_bandwidth, &sleep_until)) {
        if (!first_round_ended) {
            return;
        }
        sleep_until = rate_window_paid_until(&r->w, max_bandwidth);
    }
    if (sleep_until) {
        qemu_fflush(r->w.f);
        migration_sleep_until(r->s, sleep_until / 1000);
    }
    zero = migration_stat_get(&st->zero_pages) - r->start_zero_pages;
    elapsed = rate_window_close(&r->w, max_bandwidth,
                                migration_rate_data_window(pages - r->start_pages, zero));
    __atomic_store_n(&r->s->mbps_milli, (uint64_t)(r->w.bandwidth * 8 / 1000 * 1000),
                     __ATOMIC_RELAXED);
    migration_stat_set(&st->pages_per_second, (pages - r->start_pages) * 1000 / elapsed);
    r->start_pages = pages;
    r->start_zero_pages += zero;
    if (first_round_ended) {
        rate_window_forget_history(&r->w);
    }
}

/* The plan with this moment's limits and bandwidth. */
static SwitchoverPlan *migration_rate_plan(MigrationRate *r)
{
    MigrationState *s = r->s;

    r->plan.downtime_limit = __atomic_load_n(&s->downtime_limit, __ATOMIC_RELAXED);
    r->plan.avail_bandwidth = migrate_params(s->run_opts)->avail_switchover_bandwidth;
    r->plan.trusted_bandwidth = rate_window_trusted_bandwidth(&r->w);
    return &r->plan;
}

/* RAM finished a dirty-bitmap sync: that is a pass (MIGRATION_PASS). */
static void migration_pass_done(void *opaque, uint64_t sync_count)
{
    MigrationState *s = opaque;

    migration_converge_sync(s->converge);
    migration_predict_sync(s);
    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_EVENTS)) {
        qapi_event_send_migration_pass(sync_count);
    }
}

/* At completion, mbps covers the whole transfer after setup, as QEMU reports it. */
static void migration_record_final_throughput(MigrationState *s)
{
    int64_t ms = MAX(time_get(&s->total_time) - time_get(&s->setup_time), 1);
    double mbps = (double)migration_stat_get(&s->stats.transferred) * 8 / ms / 1000;

    __atomic_store_n(&s->mbps_milli, (uint64_t)(mbps * 1000), __ATOMIC_RELAXED);
}

/* ---- the thread's phases ---- */

/*
 * With the multifd capability, connect the multifd channels (through the
 * same transport_connect as the main one, on the same cancel token) and
 * start their send threads; with mapped-ram, its page writers instead;
 * then tell RAM where pages go and how zero pages are found.
 */
static bool migration_multifd_start(MigrationState *s, GError **errp)
{
    const MigrationParameters *p = migrate_params(s->run_opts);
    MultiFDSendConfig cfg = {
        .channels = p->multifd_channels,
        .zero_page_detection = p->zero_page_detection,
        .compression = p->multifd_compression,
        .level = p->multifd_compression == MULTIFD_COMPRESSION_ZSTD ? p->multifd_zstd_level
                                                                     : p->multifd_zlib_level,
        .verify = ram_state_verify(s->ram),
        .tls = s->tls,
        .zero_copy = migrate_cap(s->run_opts, MIGRATION_CAPABILITY_ZERO_COPY_SEND),
        .channel_stats = s->multifd_channel_stats,
    };
    MappedRam *mapped_ram = NULL;

    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_MAPPED_RAM)) {
        /* Its own workers write the pages: no multifd channels (mapped-ram.h). */
        mapped_ram = mapped_ram_new(channel_fd(qemu_file_channel(s->to_dst)), s->run_opts,
                                    true, errp);
        if (!mapped_ram) {
            return false;
        }
    } else if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_MULTIFD)) {
        s->machine.uuid(s->machine.opaque, cfg.uuid);
        s->multifd = multifd_send_new(s->addr, s->cancel, &cfg, &s->stats, errp);
        if (!s->multifd) {
            return false;
        }
    }
    ram_state_set_send_options(s->ram, p->zero_page_detection, s->multifd);
    ram_state_set_mapped_ram(s->ram, mapped_ram);
    return true;
}

/*
 * The send threads end (a failed migration cancels first, so none waits
 * for a destination that stopped reading) and RAM forgets them.  A failed
 * channel's error says more than what the main channel saw after the
 * cancel it caused: it replaces *@err.
 */
static void migration_multifd_stop(MigrationState *s, bool ok, GError **err)
{
    g_autoptr(GError) mf_err = NULL;

    if (!s->multifd) {
        return;
    }
    if (!ok) {
        mf_err = multifd_send_error(s->multifd);
        channel_cancel_trigger(s->cancel);
    }
    ram_state_set_send_options(s->ram, ZERO_PAGE_DETECTION_MULTIFD, NULL);
    g_clear_pointer(&s->multifd, multifd_send_free);
    if (mf_err && err) {
        g_clear_error(err);
        *err = g_steal_pointer(&mf_err);
    }
}

/* The source's guest stops: at the switchover, or (CPR) before setup. */
static void migration_stop_vm(MigrationState *s)
{
    bql_lock();
    s->vm_stop_time = migration_now_ms(s);
    s->downtime_phases.stop = s->vm_stop_time;
    s->vm_old_state = s->machine.get_state(s->machine.opaque);
    global_state_store(s->global_state, s->vm_old_state);
    s->machine.stop(s->machine.opaque, RUN_STATE_FINISH_MIGRATE);
    s->downtime_phases.stopped = migration_now_ms(s);
    bql_unlock();
}

/* Every CPR mode stops the guest before the RAM section's setup: never live (QEMU). */
static bool migration_is_cpr(MigrationState *s)
{
    return migrate_params(s->run_opts)->mode != MIG_MODE_NORMAL;
}

/* cpr-transfer: no page moves, so nothing needs the guest's writes logged. */
static bool migration_is_cpr_transfer(MigrationState *s)
{
    return migrate_params(s->run_opts)->mode == MIG_MODE_CPR_TRANSFER;
}

/*
 * cpr-transfer, before the main channel connects: the new process gets the
 * RAM fds and opens its main listener while the guest still runs here.
 */
static bool migration_cpr_transfer(MigrationState *s, GError **errp)
{
    return !migration_is_cpr_transfer(s) ||
           cpr_transfer_send(s->cpr_addr, ram_state_blocks(s->ram), s->cancel, errp);
}

static bool migration_setup(MigrationState *s, GError **errp)
{
    SaveVMConfig cfg;
    bool ok;

    if (migration_is_cpr(s)) {
        migration_stop_vm(s);
    }

    migration_savevm_config(&s->machine, s->run_opts, &cfg);
    ram_verify_start(ram_state_verify(s->ram),
                     migrate_cap(s->run_opts, MIGRATION_CAPABILITY_X_VERIFY_RAM));
    bql_lock();
    ok = savevm_state_header(s->savevm, s->to_dst, &cfg, errp);
    migration_rp_announce(s);
    postcopy_source_advise(s);
    /* A background snapshot tracks writes from its instant on, not dirty pages. */
    ok = ok && (background_snapshot_enabled(s) || migration_is_cpr_transfer(s) ||
                s->machine.dirty_log_start(s->machine.opaque, errp)) &&
         savevm_state_setup(s->savevm, s->to_dst, errp);
    bql_unlock();
    time_set(&s->setup_time, now_ms() - s->start_time);
    if (ok && !migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_SETUP,
                                 MIGRATION_STATUS_ACTIVE)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return ok && qemu_file_check_error(s->to_dst, errp);
}

/*
 * The exact figure: a dirty sync, whose cost the plan keeps, since the final
 * one runs with the VM stopped.
 */
static bool migration_pending_exact(MigrationState *s, MigrationRate *r,
                                    uint64_t *pending, GError **errp)
{
    int64_t start = migration_now_ms(s);

    if (!savevm_state_pending_exact(s->savevm, pending, errp)) {
        return false;
    }
    switchover_note_sync(&r->plan, migration_now_ms(s) - start);
    return true;
}

/* Iterate until what is left fits in the downtime; false on error or cancel. */
static bool migration_iterate(MigrationState *s, MigrationRate *r, GError **errp)
{
    while (migration_status(s) == MIGRATION_STATUS_ACTIVE) {
        SwitchoverPlan *plan = migration_rate_plan(r);
        uint64_t pending = savevm_state_pending_estimate(s->savevm);
        bool ready = switchover_ready(plan, pending);
        int64_t send_start;
        SaveVMIterateResult res;
        bool first_round_ended;

        /* switchover-ack: not before the destination said it may. */
        if (!migration_rp_switchover_acked(s)) {
            ready = false;
        } else if (postcopy_source_requested(s)) {
            return true;        /* migrate-start-postcopy: switch now */
        }
        /* x-switchover-hold: the user, not the figures, says when. */
        if (g_atomic_int_get(&s->switchover_hold)) {
            ready = false;
            if (pending == 0) {
                /* Held with nothing to send: do not spin on empty syncs. */
                migration_sleep_until(s, now_ms() + MIGRATION_HOLD_IDLE_MS);
            }
        }
        /* The sync may have been slower than any before: decide again. */
        if (ready) {
            if (!migration_pending_exact(s, r, &pending, errp)) {
                return false;
            }
            ready = switchover_ready(plan, pending);
        }
        time_set(&s->expected_downtime, switchover_expected_downtime(plan, pending));
        migration_predict_plan(s, plan, &r->w, pending);
        if (ready) {
            return true;
        }
        send_start = migration_clock_now_us(r->w.clock);
        res = savevm_state_iterate(s->savevm, s->to_dst, errp);
        rate_window_sent(&r->w, migration_clock_now_us(r->w.clock) - send_start);
        if (res == SAVEVM_ITERATE_ERROR || !qemu_file_check_error(s->to_dst, errp)) {
            return false;
        }
        first_round_ended = !r->plan.first_round_done && res == SAVEVM_ITERATE_DONE;
        r->plan.first_round_done |= first_round_ended;
        migration_rate_advance(r, first_round_ended);
    }
    return migration_status(s) != MIGRATION_STATUS_CANCELLING;
}

/*
 * When the final RAM pass ended, on the thread's clock, from savevm's mark
 * (monotonic) and @now (ms, the thread's clock); 0 when it never ended.
 */
static int64_t migration_ram_done_ms(MigrationState *s, int64_t now)
{
    int64_t done_us = savevm_state_times(s->savevm).iterables_done_us;

    return done_us ? now - (g_get_monotonic_time() - done_us) / 1000 : 0;
}

/*
 * Stop the VM, [pause], then send everything that is left and device state.
 * On success, returns with the BQL still held: the caller enters completed
 * before a cancel can run (see migration_thread).
 */
static bool migration_switchover(MigrationState *s, GError **errp)
{
    bool ok;

    if (!migration_is_cpr(s)) {
        migration_stop_vm(s);
    }

    if (!migration_pause_before_switchover(s)) {
        return false;
    }
    s->downtime_phases.continued = migration_now_ms(s);
    bql_lock();
    /* Cancelled after entering device but before we got the BQL: nothing sent. */
    if (migration_status(s) != MIGRATION_STATUS_DEVICE) {
        bql_unlock();
        return false;
    }
    ok = savevm_state_complete(s->savevm, s->to_dst, errp);
    qemu_fflush(s->to_dst);
    ok = ok && qemu_file_check_error(s->to_dst, errp);
    s->downtime_phases.device_done = migration_now_ms(s);
    s->downtime_phases.ram_done = migration_ram_done_ms(s, s->downtime_phases.device_done);
    time_set(&s->downtime, s->downtime_phases.device_done - s->vm_stop_time);
    if (!ok) {
        bql_unlock();
    }
    return ok;
}

/* The end of the thread's work, BQL held: the final state. */
static void migration_finish(MigrationState *s, GError *err)
{
    bool background = background_snapshot_enabled(s);

    migration_converge_stop(s);
    if (!background && !migration_is_cpr_transfer(s)) {
        s->machine.dirty_log_stop(s->machine.opaque);
    }
    if (!err) {
        time_set(&s->total_time, now_ms() - s->start_time);
        migration_record_final_throughput(s);
        migration_enter_final_state(s, MIGRATION_STATUS_COMPLETED);
        /* A snapshot leaves the guest where it was: it did not move. */
        if (!background) {
            s->machine.set_state(s->machine.opaque, RUN_STATE_POSTMIGRATE);
        }
    } else {
        if (migration_status(s) != MIGRATION_STATUS_CANCELLING) {
            migration_set_error(s, err);
        }
        migration_enter_final_state(s, MIGRATION_STATUS_FAILED);
        /*
         * A failed or cancelled migration leaves the guest as it was:
         * running, or in the state it had (prelaunch, paused, shutdown...).
         */
        if (s->machine.get_state(s->machine.opaque) == RUN_STATE_FINISH_MIGRATE) {
            if (s->vm_old_state == RUN_STATE_RUNNING) {
                s->machine.start(s->machine.opaque);
            } else {
                s->machine.set_state(s->machine.opaque, s->vm_old_state);
            }
        }
    }
}

static gpointer migration_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    MigrationRate r = { .s = s };
    MigrationConverge converge;
    GError *err = NULL;
    bool bql_held;
    bool ok;

    ok = migration_cpr_transfer(s, &err) && migration_connect(s, &err) &&
         migration_rp_open(s, &err) &&
         migration_multifd_start(s, &err);
    if (ok) {
        rate_window_init(&r.w, s->clock, s->to_dst);
        rate_window_add_counter(&r.w, &s->stats.multifd_bytes);
        if (s->multifd) {
            /* Queued packets count against max-bandwidth before they leave. */
            rate_window_add_committed(&r.w, multifd_send_committed(s->multifd));
        }
        ram_state_set_rate_limit(s->ram, &(RAMRateLimit){ migration_rate_exceeded, &r });
        migration_converge_start(&converge, s, r.w.clock);
        migration_predict_start(s, r.w.clock);
        s->converge = &converge;
        ram_state_set_sync_hook(s->ram, migration_pass_done, s);
        ok = migration_setup(s, &err) &&
             (background_snapshot_enabled(s) || migration_iterate(s, &r, &err));
        if (ok && background_snapshot_enabled(s)) {
            ok = background_snapshot_run(s, &err);
        } else if (ok && postcopy_source_requested(s)) {
            ok = postcopy_source_run(s, &err);
        } else {
            ok = ok && migration_switchover(s, &err) && switchover_commit_source(s, &err);
        }
        if (!ok && !err) {
            error_setg(&err, "migration cancelled");
        }
        migration_stat_set(&s->stats.transferred, migration_transferred(s));
        ram_state_set_rate_limit(s->ram, NULL);     /* @r lives on this stack */
        ram_state_set_sync_hook(s->ram, NULL, NULL);
        s->converge = NULL;
    }
    migration_multifd_stop(s, ok, &err);
    /*
     * After a successful switchover the BQL stays held until completed.
     * Released in between, a cancel could land after the last byte:
     *
     *   migration thread                  main thread (BQL)
     *   device state sent, BQL dropped
     *                                     migrate_cancel: device -> cancelling
     *   completed: events "cancelling,    or cancelled: the source resumes
     *   completed", not QEMU's order      beside the destination
     *
     * Held, a cancel comes before the device state is sent (cancelled) or
     * after completed (a no-op).  Everything was flushed, so cleanup and
     * close do not wait for the peer.  With a return path the thread gives
     * the BQL up while it waits for the destination's verdict
     * (migration_rp_await): a cancel then either wins (cancelled) or comes
     * after the destination said it loaded everything (completed, as the
     * destination now runs the guest).
     */
    bql_held = ok;
    migration_rp_stop(s);
    postcopy_preempt_source_free(s);            /* after the return path's last use */
    savevm_state_cleanup(s->savevm);
    if (s->to_dst) {
        GError *close_err = NULL;

        /* Committed (x-switchover-commit): the guest is the destination's, whatever comes. */
        bool check = ok && !switchover_commit_source_committed(s);

        if (!qemu_fclose(s->to_dst, check ? &close_err : NULL) && check) {
            ok = false;
            err = close_err;
        }
        s->to_dst = NULL;
    }
    if (!bql_held) {
        bql_lock();
    }
    migration_finish(s, ok ? NULL : err);
    bql_unlock();
    g_clear_error(&err);
    return NULL;
}

/* ---- what QMP calls (BQL held) ---- */

bool migration_can_start(MigrationState *s, GError **errp)
{
    RunState rs = s->machine.get_state(s->machine.opaque);

    if (migration_is_running(migration_status(s))) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    if (rs == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return false;
    }
    if (rs == RUN_STATE_POSTMIGRATE) {
        error_setg(errp, "Can't migrate the vm that was paused due to previous migration");
        return false;
    }
    if (s->blockers->len) {
        error_setg(errp, "%s", (char *)g_ptr_array_index(s->blockers, 0));
        return false;
    }
    return true;
}

/* Forget the previous migration's numbers and errors. */
static void migration_reset(MigrationState *s)
{
    if (s->thread) {
        g_thread_join(s->thread);       /* it has finished: the state is final */
        s->thread = NULL;
    }
    migration_stats_reset(&s->stats);
    s->transferred_before = 0;
    migration_channel_stats_reset(s->multifd_channel_stats, MIGRATION_MULTIFD_CHANNELS_MAX);
    g_clear_pointer(&s->error_desc, g_free);
    /* No thread runs: plain stores would do, atomics keep one rule. */
    time_set(&s->setup_time, 0);
    time_set(&s->total_time, 0);
    time_set(&s->downtime, 0);
    time_set(&s->expected_downtime, 0);
    __atomic_store_n(&s->mbps_milli, 0, __ATOMIC_RELAXED);
    s->continue_requested = false;
    s->downtime_phases = (DowntimePhases) { 0 };
    g_atomic_int_set(&s->start_postcopy, 0);
    g_atomic_int_set(&s->switchover_acked, 0);
    g_atomic_int_set(&s->rp_ponged, 0);
    g_atomic_int_set(&s->dst_failed, 0);
    s->commit.loaded = s->commit.rp_ended = false;
    s->commit.committed = s->commit.stop_waiting = false;
    s->auto_recover = (PostcopyAutoRecover) { 0 };
}

bool migration_start(MigrationState *s, MigrationAddress *addr, GError **errp)
{
    return migration_start_cpr(s, addr, NULL, errp);
}

bool migration_start_cpr(MigrationState *s, MigrationAddress *addr, MigrationAddress *cpr,
                         GError **errp)
{
    ChannelCancel *cancel = NULL;

    if (!migration_can_start(s, errp) ||
        !mapped_ram_check_migration(s->opts, addr, errp) ||
        !ram_verify_check_migration(s->opts, addr, errp) ||
        !switchover_commit_check_address(s->opts, addr, errp) ||
        (migrate_cap(s->opts, MIGRATION_CAPABILITY_MULTIFD) &&
         !migrate_cap(s->opts, MIGRATION_CAPABILITY_MAPPED_RAM) &&
         !multifd_address_check(addr, errp)) ||
        !cpr_check_migrate(migrate_params(s->opts)->mode, addr, cpr,
                           ram_state_blocks(s->ram), s->opts->caps, errp) ||
        !(cancel = channel_cancel_new(errp))) {
        qapi_free_MigrationAddress(addr);
        qapi_free_MigrationAddress(cpr);
        return false;
    }
    qapi_free_MigrationAddress(s->cpr_addr);
    s->cpr_addr = cpr;
    migration_reset(s);
    channel_cancel_unref(s->cancel);
    s->cancel = cancel;
    qapi_free_MigrationAddress(s->addr);
    s->addr = addr;
    migration_options_free(s->run_opts);
    s->run_opts = migration_options_copy(s->opts);
    g_clear_pointer(&s->tls, migration_tls_free);
    g_clear_error(&s->tls_err);
    if (migration_tls_enabled(s->run_opts)) {
        s->tls = migration_tls_new(s->objects, s->run_opts, addr, &s->tls_err);
    }
    __atomic_store_n(&s->max_bandwidth, migrate_params(s->opts)->max_bandwidth,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&s->downtime_limit, migrate_params(s->opts)->downtime_limit,
                     __ATOMIC_RELAXED);
    migration_set_switchover_hold(s, migrate_params(s->opts)->x_switchover_hold);
    ram_state_set_xbzrle(s->ram, migrate_cap(s->run_opts, MIGRATION_CAPABILITY_XBZRLE),
                         migrate_params(s->run_opts)->xbzrle_cache_size);
    ram_state_set_single_pass(s->ram, background_snapshot_enabled(s));
    ram_state_set_compress(s->ram, migrate_cap(s->run_opts, MIGRATION_CAPABILITY_COMPRESS),
                           migrate_params(s->run_opts)->compress_level,
                           migrate_params(s->run_opts)->compress_threads,
                           migrate_params(s->run_opts)->compress_wait_thread);
    ram_state_set_ignore(s->ram, migrate_cap(s->run_opts, MIGRATION_CAPABILITY_X_IGNORE_SHARED),
                         migrate_params(s->run_opts)->mode == MIG_MODE_CPR_TRANSFER);
    __atomic_store_n(&s->max_postcopy_bandwidth,
                     migrate_params(s->opts)->max_postcopy_bandwidth, __ATOMIC_RELAXED);
    s->vcpu_dirty_limit = migrate_params(s->opts)->vcpu_dirty_limit;
    s->dirty_limit_applied = false;
    s->start_time = now_ms();
    g_atomic_int_set(&s->state, MIGRATION_STATUS_NONE);
    migrate_set_state(&s->state, s->opts, MIGRATION_STATUS_NONE, MIGRATION_STATUS_SETUP);
    s->thread = g_thread_new("mig/src", migration_thread, s);
    return true;
}

void migration_set_max_bandwidth(MigrationState *s, uint64_t bytes_per_second)
{
    __atomic_store_n(&s->max_bandwidth, bytes_per_second, __ATOMIC_RELAXED);
    qemu_mutex_lock(&s->lock);
    qemu_cond_broadcast(&s->cond);     /* a sleeping rate window re-reads it */
    qemu_mutex_unlock(&s->lock);
}

void migration_set_downtime_limit(MigrationState *s, uint64_t ms)
{
    __atomic_store_n(&s->downtime_limit, ms, __ATOMIC_RELAXED);
}

void migration_set_switchover_hold(MigrationState *s, bool hold)
{
    g_atomic_int_set(&s->switchover_hold, hold);
    qemu_mutex_lock(&s->lock);
    qemu_cond_broadcast(&s->cond);     /* an idle held thread decides again */
    qemu_mutex_unlock(&s->lock);
}

bool migration_set_xbzrle_cache_size(MigrationState *s, uint64_t size, GError **errp)
{
    /* run_opts is written by migrate, under the BQL as this is. */
    if (!migration_is_running(migration_status(s)) || !s->run_opts ||
        !migrate_cap(s->run_opts, MIGRATION_CAPABILITY_XBZRLE)) {
        return true;                /* the next migration builds its cache at this size */
    }
    return ram_state_resize_xbzrle_cache(s->ram, size, errp);
}

/*
 * The capabilities the configuration section carries and both sides must
 * agree on (QEMU's validated ones) that @opts turns on; NULL for none.
 */
static const char *const *migration_validated_caps(const MigrationOptions *opts)
{
    static const char *const lists[4][3] = {
        { NULL },
        { "x-ignore-shared", NULL },
        { "mapped-ram", NULL },
        { "x-ignore-shared", "mapped-ram", NULL },
    };
    unsigned i = migrate_cap(opts, MIGRATION_CAPABILITY_X_IGNORE_SHARED) |
                 migrate_cap(opts, MIGRATION_CAPABILITY_MAPPED_RAM) << 1;

    return i ? lists[i] : NULL;
}

void migration_savevm_config(const MigrationMachineOps *machine,
                             const MigrationOptions *opts, SaveVMConfig *cfg)
{
    *cfg = (SaveVMConfig) {
        .machine_name = machine->machine_type,
        .send_configuration = true,
        .validate_uuid = migrate_cap(opts, MIGRATION_CAPABILITY_VALIDATE_UUID),
        /* Both sides must agree on them: the block list's layout depends on them. */
        .capabilities = migration_validated_caps(opts),
    };
    cfg->has_uuid = machine->uuid(machine->opaque, cfg->uuid);
}

/* ---- query-migrate ---- */

static XBZRLECacheStats *migration_xbzrle_info(MigrationState *s)
{
    MigrationAtomicStats *st = &s->stats;
    XBZRLECacheStats *x = g_new0(XBZRLECacheStats, 1);

    /* As QEMU: the size set now, which a running migration follows. */
    x->cache_size = migrate_params(s->opts)->xbzrle_cache_size;
    x->bytes = migration_stat_get(&st->xbzrle_bytes);
    x->pages = migration_stat_get(&st->xbzrle_pages);
    x->cache_miss = migration_stat_get(&st->xbzrle_cache_miss);
    x->cache_miss_rate = migration_stat_get_double(&st->xbzrle_cache_miss_rate);
    x->encoding_rate = migration_stat_get_double(&st->xbzrle_encoding_rate);
    x->overflow = migration_stat_get(&st->xbzrle_overflow);
    return x;
}

static CompressionStats *migration_compression_info(MigrationState *s)
{
    MigrationAtomicStats *st = &s->stats;
    CompressionStats *c = g_new0(CompressionStats, 1);

    c->pages = migration_stat_get(&st->compress_pages);
    c->busy = migration_stat_get(&st->compress_busy);
    c->busy_rate = migration_stat_get_double(&st->compress_busy_rate);
    c->compressed_size = migration_stat_get(&st->compress_size);
    c->compression_rate = migration_stat_get_double(&st->compress_rate);
    return c;
}

static MigrationStats *migration_ram_info(MigrationState *s, bool completed)
{
    MigrationAtomicStats *st = &s->stats;
    MigrationStats *ram = g_new0(MigrationStats, 1);

    ram->transferred = migration_stat_get(&st->transferred);
    ram->total = migration_stat_get(&st->total);
    ram->duplicate = migration_stat_get(&st->zero_pages);
    ram->normal = migration_stat_get(&st->normal_pages);
    ram->normal_bytes = ram->normal * TARGET_PAGE_SIZE;
    ram->dirty_sync_count = migration_stat_get(&st->dirty_sync_count);
    ram->page_size = TARGET_PAGE_SIZE;
    ram->pages_per_second = migration_stat_get(&st->pages_per_second);
    ram->precopy_bytes = migration_stat_get(&st->precopy_bytes);
    ram->downtime_bytes = migration_stat_get(&st->downtime_bytes);
    ram->multifd_bytes = migration_stat_get(&st->multifd_bytes);
    ram->dirty_sync_missed_zero_copy = migration_stat_get(&st->dirty_sync_missed_zero_copy);
    ram->postcopy_bytes = migration_stat_get(&st->postcopy_bytes);
    ram->postcopy_requests = migration_stat_get(&st->postcopy_requests);
    ram->mbps = __atomic_load_n(&s->mbps_milli, __ATOMIC_RELAXED) / 1000.0;
    if (!completed) {
        ram->remaining = migration_stat_get(&st->remaining);
        ram->dirty_pages_rate = migration_stat_get(&st->dirty_pages_rate);
    }
    return ram;
}

MigrationInfo *migration_source_info(MigrationState *s)
{
    MigrationInfo *info = g_new0(MigrationInfo, 1);
    MigrationStatus st = migration_status(s);

    for (guint i = s->blockers->len; i-- > 0;) {
        strList *node = g_new0(strList, 1);
        node->value = g_strdup(g_ptr_array_index(s->blockers, i));
        node->next = info->blocked_reasons;
        info->blocked_reasons = node;
    }
    if (st == MIGRATION_STATUS_NONE) {
        return info;
    }
    info->has_status = true;
    info->status = st;
    qemu_mutex_lock(&s->lock);
    info->error_desc = g_strdup(s->error_desc);
    qemu_mutex_unlock(&s->lock);
    info->x_verify_ram = ram_verify_info(ram_state_verify(s->ram),
                                         st == MIGRATION_STATUS_COMPLETED);
    migration_predict_info(s, st, info);
    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_MULTIFD)) {
        info->x_multifd_channels = multifd_channel_info(
            s->multifd_channel_stats, migrate_params(s->run_opts)->multifd_channels);
    }
    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        info->has_x_postcopy_preempt_pages = true;
        info->x_postcopy_preempt_pages = migration_stat_get(&s->stats.preempt_pages);
    }
    info->x_postcopy_auto_recover = postcopy_auto_recover_info(s, st);

    switch (st) {
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_CANCELLING:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
    case MIGRATION_STATUS_COMPLETED: {
        bool completed = st == MIGRATION_STATUS_COMPLETED;
        /* As QEMU: the downtime is known once the guest may run on the destination. */
        bool downtime_known = completed || postcopy_recover_in_postcopy(st);

        info->has_setup_time = true;
        info->setup_time = time_get(&s->setup_time);
        info->has_total_time = true;
        info->total_time = completed ? time_get(&s->total_time)
                                     : now_ms() - s->start_time;
        if (downtime_known) {
            info->has_downtime = true;
            info->downtime = time_get(&s->downtime);
        } else {
            info->has_expected_downtime = true;
            info->expected_downtime = time_get(&s->expected_downtime);
        }
        info->ram = migration_ram_info(s, completed);
        if (completed) {
            info->x_downtime_phases = downtime_phases_source_info(&s->downtime_phases,
                migrate_cap(s->run_opts, MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER));
        }
        migration_converge_info(s, info);
        if (migrate_cap(s->opts, MIGRATION_CAPABILITY_XBZRLE)) {
            info->xbzrle_cache = migration_xbzrle_info(s);
        }
        if (migrate_cap(s->opts, MIGRATION_CAPABILITY_COMPRESS)) {
            info->compression = migration_compression_info(s);
        }
        break;
    }
    default:
        break;      /* setup, failed, cancelled: the status (and error) only */
    }
    return info;
}
