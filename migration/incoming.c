/*
 * The incoming side of a migration: accept the stream, load it on the
 * incoming thread, then resume the guest in the run state the source had
 * (the globalstate section), or stay paused with -S.
 *
 * Locks: setup and the finish run in the main loop with the BQL held; the
 * incoming thread loads without the BQL (the vCPUs are stopped in
 * inmigrate, so guest RAM is ours) and savevm takes the BQL around device
 * sections.  mis->lock guards the error, which query-migrate reads; the
 * exit path stops a load that waits for the source through mis->cancel.
 */
#include "migration/migration.h"
#include "migration/global-state.h"
#include "migration/ram.h"
#include "migration/ram-verify.h"
#include "migration/cpr.h"
#include "incoming-commands.h"
#include "incoming-resume.h"
#include "mapped-ram.h"
#include "multifd.h"
#include "postcopy-dest.h"
#include "postcopy-preempt.h"
#include "postcopy-recover.h"
#include "switchover-commit.h"
#include "transport.h"
#include "tls.h"
#include "qemu/error.h"
#include "qapi/qapi-clone.h"

#include <stdlib.h>
#include <unistd.h>

static MigrationStatus incoming_status(MigrationIncomingState *mis)
{
    return g_atomic_int_get(&mis->state);
}

MigrationIncomingState *migration_incoming_new(SaveVMState *savevm,
                                               MigrationOptions *opts,
                                               GlobalState *gs,
                                               const MigrationMachineOps *machine)
{
    MigrationIncomingState *mis = g_new0(MigrationIncomingState, 1);

    mis->state = MIGRATION_STATUS_NONE;
    mis->cpr_sock = -1;
    mis->savevm = savevm;
    mis->machine = *machine;
    mis->opts = opts;
    mis->global_state = gs;
    mis->extra_threads = g_ptr_array_new();
    mis->recover = postcopy_recover_dst_new(incoming_accept);
    qemu_mutex_init(&mis->lock);
    return mis;
}

/* Join every channel thread (they end on their own or after a cancel) and drop multifd. */
static void incoming_join_channels(MigrationIncomingState *mis)
{
    if (mis->thread) {
        g_thread_join(mis->thread);
        mis->thread = NULL;
    }
    for (guint i = 0; i < mis->extra_threads->len; i++) {
        g_thread_join(g_ptr_array_index(mis->extra_threads, i));
    }
    g_ptr_array_set_size(mis->extra_threads, 0);
    if (mis->multifd) {
        if (mis->ram) {
            ram_state_set_multifd_recv(mis->ram, NULL);
        }
        g_clear_pointer(&mis->multifd, multifd_recv_free);
    }
}

void migration_incoming_free(MigrationIncomingState *mis)
{
    if (!mis) {
        return;
    }
    if (mis->cpr_sock >= 0) {
        close(mis->cpr_sock);
    }
    /* The load ends wherever it waits for the source, for a channel, or paused. */
    postcopy_recover_dst_abort(mis);
    if (mis->cancel) {
        channel_cancel_trigger(mis->cancel);
    }
    if (mis->multifd) {
        multifd_recv_shutdown(mis->multifd);
    }
    postcopy_preempt_dst_abort(mis);
    incoming_join_channels(mis);
    /* After the join: a paused load with auto-recover may listen again until then. */
    transport_listener_free(mis->listener);
    g_ptr_array_free(mis->extra_threads, TRUE);
    postcopy_incoming_free(mis);
    postcopy_preempt_dst_free(mis->preempt);
    postcopy_recover_dst_free(mis->recover);
    /*
     * The joined thread may have scheduled incoming_finish(), which the
     * main loop (no longer running: this is the exit path) never ran:
     *
     *   incoming thread                 main thread (teardown)
     *   load fails (shut down above)
     *   attach incoming_finish(mis)
     *                                   join, free(mis)
     *                                   a later main-loop iteration runs
     *                                   incoming_finish on freed @mis
     */
    if (mis->finish) {
        g_source_destroy(mis->finish);
        g_source_unref(mis->finish);
    }
    g_clear_error(&mis->load_err);
    migration_tls_free(mis->tls);
    channel_cancel_unref(mis->cancel);
    g_free(mis->error_desc);
    qemu_mutex_destroy(&mis->lock);
    g_free(mis);
}

/*
 * Every thread of the failed load is joined (the finish ran, or it failed
 * at the accept before any started): @thread is cleared by the join, which
 * orders @finish, set by the thread, before this read.
 */
bool migration_incoming_may_restart(MigrationIncomingState *mis)
{
    const MigrationMachineOps *m = &mis->machine;

    /*
     * Still inmigrate: the guest never ran here (a postcopy RUN, or 'cont'
     * after an x-switchover-commit that never came, would have left it).
     */
    return mis->started && incoming_status(mis) == MIGRATION_STATUS_FAILED && !mis->thread &&
           !mis->finish && !postcopy_incoming_ran(mis) && !mis->cpr_transfer &&
           m->get_state(m->opaque) == RUN_STATE_INMIGRATE;
}

MigrationIncomingState *migration_incoming_renew(MigrationIncomingState *mis)
{
    MigrationIncomingState *fresh;

    g_assert(migration_incoming_may_restart(mis));
    fresh = migration_incoming_new(mis->savevm, mis->opts, mis->global_state, &mis->machine);
    fresh->deferred = mis->deferred;
    fresh->objects = mis->objects;
    fresh->ram = mis->ram;
    /* Nothing loads now: no stream command reaches the old state. */
    savevm_set_command_ops(mis->savevm, NULL, NULL);
    return fresh;
}

static void incoming_fail(MigrationIncomingState *mis, GError *err)
{
    qemu_mutex_lock(&mis->lock);
    if (!mis->error_desc) {
        mis->error_desc = g_strdup(err->message);
    }
    qemu_mutex_unlock(&mis->lock);
    migrate_set_state(&mis->state, mis->opts, incoming_status(mis),
                      MIGRATION_STATUS_FAILED);
    error_report("load of migration failed: %s", err->message);
    if (mis->state_complete) {
        /*
         * x-switchover-commit: everything loaded but no commit came.  This
         * may be the guest's only copy (the source completed): it stays,
         * paused, for 'cont', whatever exit-on-error says.
         */
        mis->machine.set_state(mis->machine.opaque, RUN_STATE_PAUSED);
        return;
    }
    if (postcopy_incoming_ran(mis) && ram_verify_mismatched(ram_state_verify(mis->ram))) {
        /* Every page came but one differs (x-verify-ram): kept for inspection, stopped. */
        mis->machine.stop(mis->machine.opaque, RUN_STATE_PAUSED);
    } else if (postcopy_incoming_ran(mis)) {
        /* Pages the guest runs on never came and never will: it cannot go on. */
        error_report("the guest already ran here in postcopy: exiting");
        exit(EXIT_FAILURE);
    }
    if (mis->exit_on_error) {
        exit(EXIT_FAILURE);
    }
}

/* The destination's downtime marks: the payload's, and the guest resumed now. */
static void incoming_mark_downtime(MigrationIncomingState *mis)
{
    SaveVMTimes t = savevm_state_times(mis->savevm);

    mis->downtime_phases.load_start = t.load_first_end_us / 1000;
    mis->downtime_phases.load_eof = t.load_eof_us / 1000;
    mis->downtime_phases.resumed = g_get_monotonic_time() / 1000;
}

/* Main loop, BQL held: the incoming thread has ended (mis->finish). */
static gboolean incoming_finish(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    g_autoptr(GError) err = NULL;

    incoming_join_channels(mis);
    g_clear_pointer(&mis->finish, g_source_unref);
    /* As QEMU, the listener (and socket-address) go when the load ends. */
    g_clear_pointer(&mis->listener, transport_listener_free);
    err = g_steal_pointer(&mis->load_err);
    if (err) {
        incoming_fail(mis, err);
    } else {
        /* Postcopy: RUN started the guest, and the status is postcopy-active. */
        if (!postcopy_incoming_ran(mis)) {
            incoming_resume_guest(mis);
            incoming_mark_downtime(mis);
        }
        migrate_set_state(&mis->state, mis->opts, incoming_status(mis),
                          MIGRATION_STATUS_COMPLETED);
    }
    return G_SOURCE_REMOVE;
}

/*
 * mapped-ram, as the file is opened (main loop, BQL held): pages are read
 * at their offsets, with multifd by mapped-ram's own workers, never over
 * multifd channels.
 */
static bool incoming_mapped_ram_setup(MigrationIncomingState *mis, Channel *ch, GError **errp)
{
    MappedRam *mapped_ram = NULL;

    if (migrate_cap(mis->opts, MIGRATION_CAPABILITY_MAPPED_RAM)) {
        mapped_ram = mapped_ram_new(channel_fd(ch), mis->opts, false, errp);
        if (!mapped_ram) {
            return false;
        }
    }
    ram_state_set_mapped_ram(mis->ram, mapped_ram);
    return true;
}

/* The multifd receive side, as the first channel arrives (main loop, BQL held). */
static bool incoming_multifd_setup(MigrationIncomingState *mis, GError **errp)
{
    MultiFDRecvConfig cfg = {
        .channels = migrate_params(mis->opts)->multifd_channels,
        .compression = migrate_params(mis->opts)->multifd_compression,
        .verify = ram_state_verify(mis->ram),
    };

    if (!mis->multi_channel) {
        error_setg(errp, "Migration requires multi-channel URIs (e.g. tcp)");
        return false;
    }
    if (!mis->ram) {
        error_setg(errp, "multifd: no RAM state to receive pages into");
        return false;
    }
    mis->machine.uuid(mis->machine.opaque, cfg.uuid);
    mis->multifd = multifd_recv_new(&cfg, ram_state_blocks(mis->ram), mis->cancel);
    ram_state_set_multifd_recv(mis->ram, mis->multifd);
    return true;
}

/*
 * A multifd channel's failure caused the cancel that stopped the load: its
 * error replaces *@err.  Then every channel thread is told to end.
 */
static void incoming_multifd_end(MigrationIncomingState *mis, GError **err)
{
    GError *mf_err;

    if (!mis->multifd) {
        return;
    }
    mf_err = *err ? multifd_recv_error(mis->multifd) : NULL;
    if (mf_err) {
        g_clear_error(err);
        *err = mf_err;
    }
    multifd_recv_shutdown(mis->multifd);
    /* Channels still reading (the source may not have closed them yet) stop. */
    channel_cancel_trigger(mis->cancel);
}

/*
 * The main channel's thread, at the end of the load (@err NULL when it
 * succeeded, taken): multifd stops and the main loop learns the result.
 */
static void incoming_load_end(MigrationIncomingState *mis, GError *err)
{
    incoming_multifd_end(mis, &err);

    /*
     * Not main_loop_schedule(): migration_incoming_free() must be able to
     * cancel the call once this thread is joined.  Both fields are only
     * read after the join, which orders them.
     */
    mis->load_err = err;
    mis->finish = g_idle_source_new();
    g_source_set_priority(mis->finish, G_PRIORITY_DEFAULT);
    g_source_set_callback(mis->finish, incoming_finish, mis, NULL);
    g_source_attach(mis->finish, NULL);
}

/* The main channel's thread: load the stream from @ch (taken). */
static void incoming_load(MigrationIncomingState *mis, Channel *ch)
{
    GError *err = NULL;
    bool ok;

    mis->from_src = qemu_file_new_channel(ch, false);
    ok = savevm_state_load(mis->savevm, mis->from_src, &mis->load_cfg, &err);
    /* Postcopy: the guest runs from RUN on, and pages keep coming until EOF. */
    if (ok && savevm_state_load_quit(mis->savevm)) {
        ok = postcopy_recover_dst_load(mis, &err);
        savevm_state_load_finish(mis->savevm);
    }
    if (!ok && !err) {
        /* A failure must never pass for a completed load. */
        error_setg(&err, "the load failed without saying why");
    }
    /* Preempt: its last pages land before the RAM is unregistered. */
    ok = postcopy_preempt_dst_end(mis, ok, &err);
    ok = ok && ram_verify_load_done(ram_state_verify(mis->ram), &err);
    postcopy_incoming_end(mis);
    ok = ok && switchover_commit_dst(mis, &err);
    incoming_return_path_shut(mis, err != NULL);
    /* NULL when the load ended paused (postcopy recovery, at exit). */
    if (mis->from_src && mis->drain_after_shut) {
        /*
         * Bytes are left (a malformed trailer, a missing commit): read
         * until the source, which has SHUT, closes, so this close does
         * not reset a connection whose SHUT may still be on its way.
         */
        savevm_drain(mis->from_src, SAVEVM_VMDESC_MAX);
        qemu_fclose(mis->from_src, NULL);
        mis->from_src = NULL;
    } else if (mis->from_src) {
        qemu_fclose(mis->from_src, err ? NULL : &err);
        mis->from_src = NULL;
    }
    incoming_load_end(mis, err);
}

typedef struct IncomingChannel {
    MigrationIncomingState *mis;
    Channel *ch;
    unsigned index;                 /* accepted index-th, from 0 */
} IncomingChannel;

/*
 * Is @ch a multifd channel?  The one place the destination tells a
 * channel's kind, by its first four bytes (QEMU's peek): MULTIFD_MAGIC is
 * a multifd channel; anything else is the main one, whose load then
 * reports a bad stream as it would without multifd.  Without the multifd
 * capability every channel is the main one.  False with @errp set when
 * the peek itself failed.
 */
static bool incoming_channel_is_multifd(MigrationIncomingState *mis, Channel *ch,
                                        bool *multifd, GError **errp)
{
    uint8_t magic[4];
    ssize_t n;

    *multifd = false;
    if (!mis->multifd) {
        return true;
    }
    n = channel_peek(ch, magic, sizeof(magic), errp);
    if (n < 0) {
        return false;
    }
    *multifd = n == sizeof(magic) &&
               ((uint32_t)magic[0] << 24 | magic[1] << 16 | magic[2] << 8 | magic[3]) ==
               MULTIFD_MAGIC;
    return true;
}

/* Every accepted channel's thread: classify it, then load or receive pages. */
static gpointer incoming_channel_thread(gpointer opaque)
{
    g_autofree IncomingChannel *ic = opaque;
    MigrationIncomingState *mis = ic->mis;
    GError *err = NULL;
    bool multifd;

    /* No magic to peek at: it is known by its place (QEMU's rule). */
    if (postcopy_preempt_dst_is_channel(mis, ic->index)) {
        postcopy_preempt_dst_run(mis, ic->ch, 0);       /* before any pause */
        return NULL;
    }
    if (!incoming_channel_is_multifd(mis, ic->ch, &multifd, &err)) {
        g_prefix_error(&err, "migration channel: ");
        if (g_atomic_int_compare_and_exchange(&mis->main_seen, 0, 1)) {
            /* No main channel yet (a failed TLS handshake): no load will
             * report this, so the migration fails here. */
            channel_close(ic->ch, NULL);
            incoming_load_end(mis, err);
            return NULL;
        }
    } else if (multifd) {
        /* Failures are recorded for the load, which they cancel. */
        multifd_recv_channel_run(mis->multifd, ic->ch, NULL);
        return NULL;
    } else if (g_atomic_int_compare_and_exchange(&mis->main_seen, 0, 1)) {
        incoming_load(mis, ic->ch);
        return NULL;
    } else {
        error_setg(&err, "a second main migration channel arrived");
    }
    channel_close(ic->ch, NULL);
    multifd_recv_fail(mis->multifd, err);
    channel_cancel_trigger(mis->cancel);
    return NULL;
}

/*
 * Main loop, BQL held: a channel is here; it runs on a thread of its own.
 * Returns whether more channels are expected (multifd: the main one and
 * multifd-channels more).
 */
bool incoming_accept(int fd, void *opaque)
{
    MigrationIncomingState *mis = opaque;
    g_autoptr(GError) err = NULL;
    IncomingChannel *ic;
    GThread *thread;
    Channel *ch;
    bool more;

    if (postcopy_recover_dst_accept(mis, fd, &more)) {
        return more;
    }
    ch = channel_new_fd(fd, mis->cancel, &err);

    if (ch && !mis->tls && migration_tls_enabled(mis->opts)) {
        mis->tls = migration_tls_new(mis->objects, mis->opts, NULL, &err);
    }
    if (!ch || err || (mis->tls && !migration_tls_wrap(mis->tls, ch, &err))) {
        channel_close(ch, NULL);
        /* As at the end of a load; safe here, it has let go of its source. */
        g_clear_pointer(&mis->listener, transport_listener_free);
        incoming_fail(mis, err);
        return false;
    }
    if (mis->nr_channels == 0) {
        /*
         * Active before the thread exists, and the options read here: a
         * migrate-set-capabilities (BQL held too) sees either a listener that
         * has read nothing yet or a load in progress, which it refuses.
         */
        migration_savevm_config(&mis->machine, mis->opts, &mis->load_cfg);
        ram_verify_start(ram_state_verify(mis->ram),
                         migrate_cap(mis->opts, MIGRATION_CAPABILITY_X_VERIFY_RAM));
        savevm_set_command_ops(mis->savevm, &incoming_command_ops, mis);
        if (mis->ram && !incoming_mapped_ram_setup(mis, ch, &err)) {
            channel_close(ch, NULL);
            incoming_fail(mis, err);
            return false;
        }
        if (mis->ram) {
            ram_state_set_decompress(mis->ram,
                                     migrate_cap(mis->opts, MIGRATION_CAPABILITY_COMPRESS),
                                     migrate_params(mis->opts)->decompress_threads);
            ram_state_set_ignore(mis->ram, migrate_cap(mis->opts,
                                                       MIGRATION_CAPABILITY_X_IGNORE_SHARED),
                                 mis->cpr_transfer);
        }
        if (migrate_cap(mis->opts, MIGRATION_CAPABILITY_MULTIFD) &&
            !migrate_cap(mis->opts, MIGRATION_CAPABILITY_MAPPED_RAM) &&
            !incoming_multifd_setup(mis, &err)) {
            channel_close(ch, NULL);
            incoming_fail(mis, err);
            return false;
        }
        mis->preempt = postcopy_preempt_dst_new(mis->opts);
        migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_SETUP,
                          MIGRATION_STATUS_ACTIVE);
    }
    mis->nr_channels++;
    ic = g_new0(IncomingChannel, 1);
    ic->mis = mis;
    ic->ch = ch;
    ic->index = mis->nr_channels - 1;
    thread = g_thread_new("mig/dst", incoming_channel_thread, ic);
    if (!mis->thread) {
        mis->thread = thread;
    } else {
        g_ptr_array_add(mis->extra_threads, thread);
    }
    return mis->nr_channels < 1u + (mis->multifd ? migrate_params(mis->opts)->multifd_channels : 0) +
                              (mis->preempt ? 1 : 0);
}

bool migration_incoming_start(MigrationIncomingState *mis, MigrationAddress *addr,
                              bool exit_on_error, GError **errp)
{
    g_autoptr(MigrationAddress) owned = addr;

    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (incoming_status(mis) != MIGRATION_STATUS_NONE) {
        error_setg(errp, "Illegal migration incoming state %s",
                   MigrationStatus_str(incoming_status(mis)));
        return false;
    }
    if (!mapped_ram_check_migration(mis->opts, addr, errp) ||
        !switchover_commit_check_address(mis->opts, addr, errp) ||
        !cpr_check_incoming(mis->cpr_transfer, addr, errp)) {
        return false;
    }
    mis->exit_on_error = exit_on_error;
    mis->cancel = channel_cancel_new(errp);
    if (!mis->cancel) {
        return false;
    }
    mis->multi_channel = multifd_address_check(addr, NULL);
    mis->listener = transport_listen(addr, incoming_accept, mis, errp);
    if (!mis->listener) {
        g_clear_pointer(&mis->cancel, channel_cancel_unref);
        return false;
    }
    mis->started = true;
    postcopy_recover_dst_set_address(mis, addr);
    migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_NONE,
                      MIGRATION_STATUS_SETUP);
    /* cpr-transfer: the main listener is up, the old process may connect. */
    if (mis->cpr_sock >= 0) {
        close(mis->cpr_sock);
        mis->cpr_sock = -1;
    }
    return true;
}

void migration_incoming_set_cpr(MigrationIncomingState *mis, int cpr_sock)
{
    mis->cpr_transfer = true;
    mis->cpr_sock = cpr_sock;
}

bool migration_incoming_is_loading(MigrationIncomingState *mis)
{
    MigrationStatus st = incoming_status(mis);

    return st == MIGRATION_STATUS_ACTIVE || postcopy_recover_in_postcopy(st);
}

void migration_incoming_info(MigrationIncomingState *mis, MigrationInfo *info)
{
    MigrationStatus st = incoming_status(mis);
    SocketAddressList *addrs = transport_listener_addresses(mis->listener);

    if (st == MIGRATION_STATUS_NONE) {
        return;
    }
    info->has_status = true;
    info->status = st;
    if (addrs) {
        info->socket_address = QAPI_CLONE(SocketAddressList, addrs);
    }
    qemu_mutex_lock(&mis->lock);
    info->error_desc = g_strdup(mis->error_desc);
    qemu_mutex_unlock(&mis->lock);
    info->x_verify_ram = ram_verify_info(ram_state_verify(mis->ram), false);
    if (st == MIGRATION_STATUS_COMPLETED) {
        info->x_downtime_phases = downtime_phases_dest_info(&mis->downtime_phases);
    }
    postcopy_incoming_info(mis, info);
}
