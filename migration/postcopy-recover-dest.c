/*
 * Postcopy recovery, destination side (postcopy-recover.h).
 *
 * States: postcopy-active -> postcopy-paused (the load failed after RUN:
 * the guest runs on, its vCPUs wait on missing pages) -> postcopy-recover
 * (a connection came to the address migrate-recover listens on) ->
 * postcopy-active (the source's RESUME).  A failure in postcopy-recover
 * pauses again.
 *
 * Threads: the incoming thread pauses: it stops the preempt channel's
 * reader, detaches the return path (the fault thread's requests are
 * dropped meanwhile and sent again at RESUME), closes the stream, enters
 * postcopy-paused and waits on r->cond for the new main channel.  The
 * main loop (BQL) runs migrate-recover, which swaps in a new cancel token
 * and listener, and accepts the new connections: the first is handed to
 * the incoming thread, the next (with postcopy-preempt) gets a preempt
 * thread of its own.  mis->cancel is swapped and, by migrate-pause,
 * triggered under r->lock only.
 *
 * Auto-recover (parameter x-postcopy-auto-recover, tern's own): when the
 * link broke (not migrate-pause), the incoming thread, once paused, takes
 * the BQL and does what migrate-recover would, on the address the
 * destination last listened on.
 */
#include "postcopy-recover.h"
#include "postcopy-dest.h"
#include "postcopy-preempt.h"
#include "return-path.h"
#include "transport.h"
#include "tls.h"
#include "migration/ram.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "qapi/qapi-clone.h"

struct PostcopyRecoverDst {
    QemuMutex lock;             /* guards all below, and mis->cancel's swap */
    QemuCond cond;              /* @ch arrived or @aborted */
    Channel *ch;                /* the new main channel, for the incoming thread */
    bool aborted;               /* the exit path: stop waiting */
    bool user_paused;           /* migrate-pause broke the link: no listening by itself */
    /* BQL: connections since migrate-recover (or auto-recover) listened. */
    bool listening;
    unsigned accepted;
    /* BQL: where it last listened (port resolved), NULL for fd, exec, file. */
    MigrationAddress *addr;
    /* The destination's accept callback (incoming.c), for a new listener. */
    TransportAcceptFunc accept;
};

PostcopyRecoverDst *postcopy_recover_dst_new(TransportAcceptFunc accept)
{
    PostcopyRecoverDst *r = g_new0(PostcopyRecoverDst, 1);

    r->accept = accept;
    qemu_mutex_init(&r->lock);
    qemu_cond_init(&r->cond);
    return r;
}

void postcopy_recover_dst_free(PostcopyRecoverDst *r)
{
    if (!r) {
        return;
    }
    channel_close(r->ch, NULL);
    qapi_free_MigrationAddress(r->addr);
    qemu_cond_destroy(&r->cond);
    qemu_mutex_destroy(&r->lock);
    g_free(r);
}

static MigrationStatus recover_dst_status(MigrationIncomingState *mis)
{
    return g_atomic_int_get(&mis->state);
}

/* May a failure of the load pause (the guest runs here, postcopy-active or -recover)? */
static bool recover_dst_may_pause(MigrationIncomingState *mis)
{
    return postcopy_incoming_running(mis) &&
           postcopy_recover_is_alive(recover_dst_status(mis));
}

static void recover_dst_set_error(MigrationIncomingState *mis, const GError *err)
{
    qemu_mutex_lock(&mis->lock);
    if (!mis->error_desc) {
        mis->error_desc = g_strdup(err->message);
    }
    qemu_mutex_unlock(&mis->lock);
}

/* Let go of the broken connection: preempt reader, return path, stream. */
static void recover_dst_drop_link(MigrationIncomingState *mis)
{
    postcopy_preempt_dst_pause(mis);
    return_path_dst_detach(mis->rp);
    qemu_fclose(mis->from_src, NULL);
    mis->from_src = NULL;
}

static bool recover_dst_aborted(PostcopyRecoverDst *r)
{
    bool aborted;

    qemu_mutex_lock(&r->lock);
    aborted = r->aborted;
    qemu_mutex_unlock(&r->lock);
    return aborted;
}

/* Wait for the new main channel: NULL at exit. */
static Channel *recover_dst_wait_channel(PostcopyRecoverDst *r)
{
    Channel *ch;

    qemu_mutex_lock(&r->lock);
    while (!r->ch && !r->aborted) {
        qemu_cond_wait(&r->cond, &r->lock);
    }
    ch = r->aborted ? NULL : g_steal_pointer(&r->ch);
    qemu_mutex_unlock(&r->lock);
    return ch;
}

/*
 * Just paused: with x-postcopy-auto-recover, listen again where it last
 * listened, unless migrate-pause broke the link (the user holds it
 * paused) or the exit path runs.  Its listener then takes the source's
 * next connection, as migrate-recover's would.
 */
static void recover_dst_auto_listen(MigrationIncomingState *mis)
{
    PostcopyRecoverDst *r = mis->recover;
    g_autoptr(GError) err = NULL;
    bool user_paused;

    qemu_mutex_lock(&r->lock);
    user_paused = r->user_paused;
    r->user_paused = false;
    qemu_mutex_unlock(&r->lock);
    if (user_paused) {
        return;
    }
    bql_lock();
    /* mis->opts and the listener are the main loop's: read under the BQL. */
    if (migrate_params(mis->opts)->x_postcopy_auto_recover && r->addr &&
        !recover_dst_aborted(r) &&
        !postcopy_recover_dst_listen(mis, QAPI_CLONE(MigrationAddress, r->addr), &err)) {
        error_report("postcopy auto-recover: cannot listen again: %s", err->message);
    }
    bql_unlock();
}

/*
 * Pause after @err (taken), then take the next connection as the main
 * stream (postcopy-recover).  False at exit, with *@errp set.
 */
static bool recover_dst_pause(MigrationIncomingState *mis, GError *err, GError **errp)
{
    for (;;) {
        MigrationStatus from = recover_dst_status(mis);
        GError *attach_err = NULL;
        Channel *ch;

        recover_dst_set_error(mis, err);
        error_report("Detected IO failure for postcopy. Migration paused. (%s)",
                     err->message);
        g_clear_error(&err);
        recover_dst_drop_link(mis);
        migrate_set_state(&mis->state, mis->opts, from, MIGRATION_STATUS_POSTCOPY_PAUSED);
        recover_dst_auto_listen(mis);
        ch = recover_dst_wait_channel(mis->recover);
        if (!ch) {
            error_setg(errp, "postcopy paused: the incoming migration was stopped");
            return false;
        }
        migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_POSTCOPY_PAUSED,
                          MIGRATION_STATUS_POSTCOPY_RECOVER);
        mis->from_src = qemu_file_new_channel(ch, false);
        if (return_path_dst_attach(mis->rp, mis->from_src, &attach_err)) {
            return true;
        }
        err = attach_err;
    }
}

bool postcopy_recover_dst_load(MigrationIncomingState *mis, GError **errp)
{
    for (;;) {
        GError *err = NULL;

        if (savevm_state_load_more(mis->savevm, mis->from_src, &err)) {
            return true;
        }
        if (!recover_dst_may_pause(mis) || recover_dst_aborted(mis->recover)) {
            g_propagate_error(errp, err);
            return false;
        }
        /* Not 'migration channel was cancelled': the preempt channel's failure, if it was. */
        postcopy_preempt_dst_take_error(mis, &err);
        if (!recover_dst_pause(mis, err, errp)) {
            return false;
        }
    }
}

bool postcopy_recover_dst_pause_request(MigrationIncomingState *mis, GError **errp)
{
    PostcopyRecoverDst *r = mis->recover;

    qemu_mutex_lock(&r->lock);
    if (!postcopy_recover_is_alive(recover_dst_status(mis)) || !mis->cancel) {
        qemu_mutex_unlock(&r->lock);
        return false;
    }
    /*
     * As the source says it: the reason shows in query-migrate while
     * paused, not the cancelled read it causes.  mis->lock is a leaf.
     */
    qemu_mutex_lock(&mis->lock);
    if (!mis->error_desc) {
        mis->error_desc = g_strdup("Postcopy migration is paused by the user");
    }
    qemu_mutex_unlock(&mis->lock);
    /* Every channel of the load ends; the incoming thread pauses. */
    r->user_paused = true;
    channel_cancel_trigger(mis->cancel);
    qemu_mutex_unlock(&r->lock);
    return true;
}

bool postcopy_recover_dst_listen(MigrationIncomingState *mis, MigrationAddress *addr,
                                 GError **errp)
{
    g_autoptr(MigrationAddress) owned = addr;
    PostcopyRecoverDst *r = mis->recover;
    TransportListener *listener;
    ChannelCancel *cancel;
    ChannelCancel *old;

    if (recover_dst_status(mis) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy is paused.");
        return false;
    }
    cancel = channel_cancel_new(errp);
    if (!cancel) {
        return false;
    }
    /* As QEMU: a second migrate-recover replaces the first one's listener. */
    qemu_mutex_lock(&r->lock);
    if (r->aborted) {
        /* The exit path (auto-recover listens from the incoming thread). */
        qemu_mutex_unlock(&r->lock);
        channel_cancel_unref(cancel);
        error_setg(errp, "the incoming migration is being stopped");
        return false;
    }
    old = mis->cancel;
    mis->cancel = cancel;
    qemu_mutex_unlock(&r->lock);
    channel_cancel_unref(old);
    g_clear_pointer(&mis->listener, transport_listener_free);
    r->listening = true;
    r->accepted = 0;
    listener = transport_listen(addr, r->accept, mis, errp);
    if (!listener) {
        r->listening = false;
        return false;
    }
    mis->listener = listener;
    postcopy_recover_dst_set_address(mis, addr);
    return true;
}

void postcopy_recover_dst_set_address(MigrationIncomingState *mis,
                                      const MigrationAddress *asked)
{
    PostcopyRecoverDst *r = mis->recover;
    SocketAddressList *bound = transport_listener_addresses(mis->listener);
    SocketAddress *sa;

    g_clear_pointer(&r->addr, qapi_free_MigrationAddress);
    if (asked->transport != MIGRATION_ADDRESS_TYPE_SOCKET || !bound) {
        return;
    }
    /* The port it bound: a source told port 0's answer connects there again. */
    r->addr = QAPI_CLONE(MigrationAddress, asked);
    qapi_free_SocketAddress_members(&r->addr->u.socket);
    sa = QAPI_CLONE(SocketAddress, bound->value);
    r->addr->u.socket = *sa;
    g_free(sa);
}

/* A preempt channel after the new main one: its own thread, as at the start. */
typedef struct RecoverPreempt {
    MigrationIncomingState *mis;
    Channel *ch;
    unsigned gen;
} RecoverPreempt;

static gpointer recover_dst_preempt_thread(gpointer opaque)
{
    g_autofree RecoverPreempt *rp = opaque;

    postcopy_preempt_dst_run(rp->mis, rp->ch, rp->gen);
    return NULL;
}

bool postcopy_recover_dst_accept(MigrationIncomingState *mis, int fd, bool *more)
{
    PostcopyRecoverDst *r = mis->recover;
    g_autoptr(GError) err = NULL;
    unsigned index;
    Channel *ch;

    if (!r->listening) {
        return false;
    }
    index = r->accepted++;
    *more = mis->preempt && index == 0;
    ch = channel_new_fd(fd, mis->cancel, &err);
    if (ch && mis->tls && !migration_tls_wrap(mis->tls, ch, &err)) {
        channel_close(ch, NULL);
        ch = NULL;
    }
    if (!ch) {
        /* The source's handshake fails and it pauses again; so will we. */
        error_report("postcopy recovery: a connection could not be set up: %s",
                     err->message);
        return true;
    }
    if (index == 0) {
        qemu_mutex_lock(&r->lock);
        channel_close(r->ch, NULL);         /* one that was never taken */
        r->ch = ch;
        qemu_cond_broadcast(&r->cond);
        qemu_mutex_unlock(&r->lock);
        return true;
    }
    if (index == 1 && mis->preempt) {
        RecoverPreempt *rp = g_new0(RecoverPreempt, 1);

        rp->mis = mis;
        rp->ch = ch;
        rp->gen = postcopy_preempt_dst_generation(mis);
        g_ptr_array_add(mis->extra_threads,
                        g_thread_new("mig/dst/preempt", recover_dst_preempt_thread, rp));
        r->listening = false;
        return true;
    }
    channel_close(ch, NULL);
    return true;
}

void postcopy_recover_dst_abort(MigrationIncomingState *mis)
{
    PostcopyRecoverDst *r = mis->recover;

    qemu_mutex_lock(&r->lock);
    r->aborted = true;
    /* Under the lock: no listen swaps the token after this. */
    if (mis->cancel) {
        channel_cancel_trigger(mis->cancel);
    }
    qemu_cond_broadcast(&r->cond);
    qemu_mutex_unlock(&r->lock);
}

/* ---- commands ---- */

bool postcopy_recover_dst_recv_bitmap(void *opaque, const char *block, GError **errp)
{
    MigrationIncomingState *mis = opaque;
    g_autofree void *bitmap = NULL;
    uint64_t size;

    if (!mis->rp) {
        error_setg(errp, "loadvm_handle_recv_bitmap: no return path to send it on");
        return false;
    }
    bitmap = ram_recover_received_bitmap(mis->ram, block, &size, errp);
    if (!bitmap) {
        return false;
    }
    return_path_dst_send_recv_bitmap(mis->rp, block, bitmap, size);
    return return_path_dst_check(mis->rp, errp);
}

static void recover_dst_request_again(void *opaque, const RAMBlock *rb, uint64_t offset)
{
    MigrationIncomingState *mis = opaque;

    return_path_dst_send_req_pages(mis->rp, rb->idstr, offset, TARGET_PAGE_SIZE);
}

bool postcopy_recover_dst_resume(void *opaque, GError **errp)
{
    MigrationIncomingState *mis = opaque;

    if (!migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_POSTCOPY_RECOVER,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        warn_report("loadvm_postcopy_handle_resume: illegal resume received");
        return true;            /* as QEMU: not a reason to fail the load */
    }
    qemu_mutex_lock(&mis->lock);
    g_clear_pointer(&mis->error_desc, g_free);
    qemu_mutex_unlock(&mis->lock);
    return_path_dst_send_resume_ack(mis->rp);
    /* The requests of the vCPUs that wait may have been lost with the link. */
    ram_recover_foreach_waiting(mis->ram, recover_dst_request_again, mis);
    return return_path_dst_check(mis->rp, errp);
}
