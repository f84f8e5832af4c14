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
#include "incoming-commands.h"
#include "postcopy-dest.h"
#include "transport.h"
#include "qemu/error.h"
#include "qapi/qapi-clone.h"

#include <stdlib.h>

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
    mis->savevm = savevm;
    mis->machine = *machine;
    mis->opts = opts;
    mis->global_state = gs;
    qemu_mutex_init(&mis->lock);
    return mis;
}

void migration_incoming_free(MigrationIncomingState *mis)
{
    if (!mis) {
        return;
    }
    transport_listener_free(mis->listener);
    /* The load ends wherever it waits for the source. */
    if (mis->cancel) {
        channel_cancel_trigger(mis->cancel);
    }
    if (mis->thread) {
        g_thread_join(mis->thread);
    }
    postcopy_incoming_free(mis);
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
    channel_cancel_unref(mis->cancel);
    g_free(mis->error_desc);
    qemu_mutex_destroy(&mis->lock);
    g_free(mis);
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
    if (postcopy_incoming_ran(mis)) {
        /* Pages the guest runs on never came and never will: it cannot go on. */
        error_report("the guest already ran here in postcopy: exiting");
        exit(EXIT_FAILURE);
    }
    if (mis->exit_on_error) {
        exit(EXIT_FAILURE);
    }
}

/*
 * Main loop, BQL held (run state inmigrate): the guest resumes where the
 * source left it.  As in QEMU, running follows autostart and any other
 * state is entered as sent, but only where QEMU allows it after inmigrate
 * and tern models it (the transition table says both).  The rest, which
 * any QEMU may send (suspended, colo, debug, save-vm, ...), is input, not
 * a bug: the guest stays paused and the user is told which state it was.
 */
void incoming_resume_guest(MigrationIncomingState *mis)
{
    const MigrationMachineOps *m = &mis->machine;
    RunState rs = global_state_runstate(mis->global_state);

    if (rs == RUN_STATE_RUNNING) {
        if (m->autostart(m->opaque)) {
            m->start(m->opaque);
        } else {
            m->set_state(m->opaque, RUN_STATE_PAUSED);
        }
        return;
    }
    if (!m->may_enter(m->opaque, rs)) {
        warn_report("the source was in run state '%s', which tern cannot "
                    "enter after a migration; the guest stays paused",
                    RunState_str(rs));
        rs = RUN_STATE_PAUSED;
    }
    m->set_state(m->opaque, rs);
}

/* Main loop, BQL held: the incoming thread has ended (mis->finish). */
static gboolean incoming_finish(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    g_autoptr(GError) err = NULL;

    g_thread_join(mis->thread);
    mis->thread = NULL;
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
        }
        migrate_set_state(&mis->state, mis->opts, incoming_status(mis),
                          MIGRATION_STATUS_COMPLETED);
    }
    return G_SOURCE_REMOVE;
}

static gpointer incoming_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    GError *err = NULL;

    bool ok = savevm_state_load(mis->savevm, mis->from_src, &mis->load_cfg, &err);

    /* Postcopy: the guest runs from RUN on, and pages keep coming until EOF. */
    if (ok && savevm_state_load_quit(mis->savevm)) {
        ok = savevm_state_load_rest(mis->savevm, mis->from_src, &err);
    }
    if (!ok && !err) {
        /* A failure must never pass for a completed load. */
        error_setg(&err, "the load failed without saying why");
    }
    postcopy_incoming_end(mis);
    incoming_return_path_shut(mis, err != NULL);
    qemu_fclose(mis->from_src, err ? NULL : &err);
    mis->from_src = NULL;

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
    return NULL;
}

/* Main loop, BQL held: the stream's channel is here; load it on a thread. */
static void incoming_accept(int fd, void *opaque)
{
    MigrationIncomingState *mis = opaque;
    g_autoptr(GError) err = NULL;
    Channel *ch = channel_new_fd(fd, mis->cancel, &err);

    if (!ch) {
        incoming_fail(mis, err);
        return;
    }
    mis->from_src = qemu_file_new_channel(ch, false);
    /*
     * Active before the thread exists, and the options read here: a
     * migrate-set-capabilities (BQL held too) sees either a listener that
     * has read nothing yet or a load in progress, which it refuses.
     */
    migration_savevm_config(&mis->machine, mis->opts, &mis->load_cfg);
    savevm_set_command_ops(mis->savevm, &incoming_command_ops, mis);
    migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_SETUP,
                      MIGRATION_STATUS_ACTIVE);
    mis->thread = g_thread_new("mig/dst", incoming_thread, mis);
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
    mis->exit_on_error = exit_on_error;
    mis->cancel = channel_cancel_new(errp);
    if (!mis->cancel) {
        return false;
    }
    mis->listener = transport_listen(addr, incoming_accept, mis, errp);
    if (!mis->listener) {
        g_clear_pointer(&mis->cancel, channel_cancel_unref);
        return false;
    }
    mis->started = true;
    migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_NONE,
                      MIGRATION_STATUS_SETUP);
    return true;
}

bool migration_incoming_is_loading(MigrationIncomingState *mis)
{
    MigrationStatus st = incoming_status(mis);

    return st == MIGRATION_STATUS_ACTIVE || st == MIGRATION_STATUS_POSTCOPY_ACTIVE;
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
}
