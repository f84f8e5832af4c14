/*
 * Postcopy preempt (postcopy-preempt.h): the channel's life on both sides.
 *
 * Source threads: the migration thread opens the channel before the
 * switch and ends it (EOS) after the background pass; between the two,
 * the return-path thread writes requested pages on it under @lock.
 *
 * Destination threads: the channel's own thread (incoming.c) waits under
 * @lock for LISTEN, which the incoming thread announces after registering
 * RAM with the userfaultfd, then places pages until EOS; the incoming
 * thread waits for that EOS at the end of the main stream before it
 * unregisters RAM, so a page sent on this channel lands before the end:
 *
 *   source                        dest main            dest preempt
 *   RP thread: page P on preempt
 *   last background page, EOS on
 *     preempt, END and EOF on main
 *                                 EOF: wait for EOS    P placed, EOS
 *                                 unregister RAM
 */
#include "postcopy-preempt.h"
#include "migration/ram.h"
#include "migration-states.h"
#include "transport.h"
#include "tls.h"
#include "migration/channel-tls.h"
#include "qemu/error.h"

#include <sys/socket.h>

/* How often a wait for the PONG looks at the cancel token. */
#define PREEMPT_PONG_POLL_MS    100

struct PostcopyPreemptSource {
    QemuMutex lock;             /* the channel, one writer at a time; guards all below */
    QEMUFile *to_dst;
    const RAMBlock *last_block; /* CONTINUE on this channel */
    bool closed;                /* EOS sent or the migration failed: drop requests */
};

/* Wait for the destination's PONG to PING(1): it has taken the main channel. */
static bool preempt_wait_pong(MigrationState *s, GError **errp)
{
    qemu_mutex_lock(&s->lock);
    while (!g_atomic_int_get(&s->rp_ponged) && !channel_cancel_is_triggered(s->cancel)) {
        qemu_cond_timedwait(&s->cond, &s->lock, PREEMPT_PONG_POLL_MS);
    }
    qemu_mutex_unlock(&s->lock);
    if (!g_atomic_int_get(&s->rp_ponged)) {
        error_setg(errp, "postcopy_start: Failed to establish preempt channel: "
                   "migration cancelled");
        return false;
    }
    return true;
}

bool postcopy_preempt_source_open(MigrationState *s, GError **errp)
{
    PostcopyPreemptSource *p;
    Channel *ch;

    if (!migrate_cap(s->run_opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        return true;
    }
    if (!preempt_wait_pong(s, errp)) {
        return false;
    }
    ch = transport_connect(s->addr, s->cancel, errp);
    if (!ch || (s->tls && !migration_tls_wrap(s->tls, ch, errp))) {
        channel_close(ch, NULL);
        g_prefix_error(errp, "postcopy_start: Failed to establish preempt channel: ");
        return false;
    }
    p = g_new0(PostcopyPreemptSource, 1);
    qemu_mutex_init(&p->lock);
    p->to_dst = qemu_file_new_channel(ch, true);
    ram_preempt_source_setup(s->ram);
    /* Publishes the urgent marks too: the return-path thread reads them after this. */
    g_atomic_pointer_set(&s->preempt, p);
    return true;
}

bool postcopy_preempt_source_request(MigrationState *s, const char *block, uint64_t start,
                                     uint64_t len, bool *handled, GError **errp)
{
    PostcopyPreemptSource *p = g_atomic_pointer_get(&s->preempt);
    bool ok = true;

    *handled = p != NULL;
    if (!p) {
        return true;
    }
    qemu_mutex_lock(&p->lock);
    if (!p->closed) {
        ok = ram_preempt_send_request(s->ram, p->to_dst, &p->last_block, block,
                                      start, len, errp);
        if (!ok) {
            g_prefix_error(errp, "postcopy preempt channel: ");
        }
    }
    qemu_mutex_unlock(&p->lock);
    return ok;
}

bool postcopy_preempt_source_finish(MigrationState *s, bool ok, GError **errp)
{
    PostcopyPreemptSource *p = s->preempt;

    if (!p) {
        return ok;
    }
    if (!ok) {
        /* A return-path thread may be blocked writing: unblock it first. */
        qemu_file_shutdown(p->to_dst);
    }
    qemu_mutex_lock(&p->lock);
    if (ok) {
        ram_preempt_send_eos(p->to_dst);
        ok = qemu_file_check_error(p->to_dst, errp);
        if (!ok) {
            g_prefix_error(errp, "postcopy preempt channel: ");
        }
    }
    p->closed = true;
    qemu_mutex_unlock(&p->lock);
    return ok;
}

void postcopy_preempt_source_free(MigrationState *s)
{
    PostcopyPreemptSource *p = s->preempt;

    if (!p) {
        return;
    }
    g_atomic_pointer_set(&s->preempt, NULL);
    ram_preempt_source_cleanup(s->ram);
    qemu_fclose(p->to_dst, NULL);
    qemu_mutex_destroy(&p->lock);
    g_free(p);
}

/* ---- destination ---- */

struct PostcopyPreemptDst {
    QemuMutex lock;             /* guards all below */
    QemuCond cond;              /* any change below */
    bool listening;             /* LISTEN registered RAM: pages may be placed */
    bool ending;                /* the main stream ended */
    bool drain;                 /* ... at EOF after LISTEN: read this channel to EOS */
    bool aborted;               /* the exit path: stop now */
    /*
     * Postcopy recovery: bumped at each pause.  A channel's thread knows
     * the generation it was accepted in; an older one's reading and
     * failure are the broken link's and change nothing.
     */
    unsigned generation;
    bool loading;               /* the channel's thread reads records */
    bool finished;              /* it stopped reading (EOS or a failure) */
    Channel *ch;                /* while loading: shut to stop the reader */
    GError *err;                /* its failure, for the end */
};

PostcopyPreemptDst *postcopy_preempt_dst_new(const MigrationOptions *opts)
{
    PostcopyPreemptDst *p;

    if (!migrate_cap(opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        return NULL;
    }
    p = g_new0(PostcopyPreemptDst, 1);
    qemu_mutex_init(&p->lock);
    qemu_cond_init(&p->cond);
    return p;
}

void postcopy_preempt_dst_free(PostcopyPreemptDst *p)
{
    if (!p) {
        return;
    }
    g_clear_error(&p->err);
    qemu_cond_destroy(&p->cond);
    qemu_mutex_destroy(&p->lock);
    g_free(p);
}

bool postcopy_preempt_dst_is_channel(MigrationIncomingState *mis, unsigned index)
{
    unsigned multifd = migrate_cap(mis->opts, MIGRATION_CAPABILITY_MULTIFD) ?
                       migrate_params(mis->opts)->multifd_channels : 0;

    return mis->preempt && index == 1 + multifd;
}

/* The channel's thread stops (lock held): record why, wake the end. */
static void preempt_dst_done(PostcopyPreemptDst *p, GError *err)
{
    p->finished = true;
    if (err && !p->err) {
        p->err = err;
    } else if (err) {
        g_error_free(err);
    }
    qemu_cond_broadcast(&p->cond);
}

/* Stop a reader in the middle of a record (lock held): its fd only, not the load's token. */
static void preempt_dst_stop_reader(PostcopyPreemptDst *p)
{
    if (p->loading) {
        shutdown(channel_fd(p->ch), SHUT_RDWR);
    }
}

/* Is the thread of connection generation @gen stale (a pause came since)?  Lock held. */
static bool preempt_dst_stale(PostcopyPreemptDst *p, unsigned gen)
{
    return gen != p->generation;
}

void postcopy_preempt_dst_run(MigrationIncomingState *mis, Channel *ch, unsigned gen)
{
    PostcopyPreemptDst *p = mis->preempt;
    GError *err = NULL;
    QEMUFile *f;
    bool ok;

    /*
     * TLS: shake hands now, as the source waits for it, although no page
     * is read before LISTEN.
     */
    if (mis->tls && !channel_tls_handshake(ch, &err)) {
        g_prefix_error(&err, "postcopy preempt channel: ");
        qemu_mutex_lock(&p->lock);
        if (preempt_dst_stale(p, gen)) {
            g_clear_error(&err);
        } else {
            preempt_dst_done(p, err);
        }
        qemu_mutex_unlock(&p->lock);
        channel_close(ch, NULL);
        return;
    }
    qemu_mutex_lock(&p->lock);
    while (!p->listening && !p->ending && !p->aborted && !preempt_dst_stale(p, gen)) {
        qemu_cond_wait(&p->cond, &p->lock);
    }
    if (preempt_dst_stale(p, gen)) {
        /* The link broke before this thread got going: the next one takes over. */
        qemu_mutex_unlock(&p->lock);
        channel_close(ch, NULL);
        return;
    }
    if (!p->listening || p->aborted || (p->ending && !p->drain)) {
        /* No postcopy came, or the load is over without it: nothing to place. */
        preempt_dst_done(p, NULL);
        qemu_mutex_unlock(&p->lock);
        channel_close(ch, NULL);
        return;
    }
    p->loading = true;
    p->ch = ch;
    qemu_mutex_unlock(&p->lock);

    f = qemu_file_new_channel(ch, false);
    ok = ram_preempt_load(mis->ram, f, &err);

    qemu_mutex_lock(&p->lock);
    p->loading = false;
    p->ch = NULL;
    if (preempt_dst_stale(p, gen)) {
        /* Stopped by a pause: its failure is the broken link's, already handled. */
        g_clear_error(&err);
        qemu_cond_broadcast(&p->cond);
        qemu_mutex_unlock(&p->lock);
        qemu_fclose(f, NULL);
        return;
    }
    if (!ok && (p->aborted || (p->ending && !p->drain))) {
        g_clear_error(&err);        /* stopped on purpose */
    } else if (!ok) {
        /*
         * A page the guest waits for may be lost: the load cannot go on as
         * it is (a postcopy that runs pauses, postcopy-recover.h).
         */
        g_prefix_error(&err, "postcopy preempt channel: ");
        channel_cancel_trigger(mis->cancel);
    }
    preempt_dst_done(p, err);
    qemu_mutex_unlock(&p->lock);
    qemu_fclose(f, NULL);
}

unsigned postcopy_preempt_dst_generation(MigrationIncomingState *mis)
{
    PostcopyPreemptDst *p = mis->preempt;
    unsigned gen;

    qemu_mutex_lock(&p->lock);
    gen = p->generation;
    qemu_mutex_unlock(&p->lock);
    return gen;
}

void postcopy_preempt_dst_listen(MigrationIncomingState *mis)
{
    PostcopyPreemptDst *p = mis->preempt;

    if (!p) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    p->listening = true;
    qemu_cond_broadcast(&p->cond);
    qemu_mutex_unlock(&p->lock);
}

bool postcopy_preempt_dst_end(MigrationIncomingState *mis, bool ok, GError **err)
{
    PostcopyPreemptDst *p = mis->preempt;

    if (!p) {
        return ok;
    }
    qemu_mutex_lock(&p->lock);
    p->drain = ok && p->listening;
    p->ending = true;
    if (!p->drain) {
        preempt_dst_stop_reader(p);
    }
    qemu_cond_broadcast(&p->cond);
    while (p->drain ? !p->finished && !p->aborted : p->loading) {
        qemu_cond_wait(&p->cond, &p->lock);
    }
    if (p->err) {
        /* It failed first (and cancelled the main stream): its error says why. */
        g_clear_error(err);
        *err = g_steal_pointer(&p->err);
        ok = false;
    }
    qemu_mutex_unlock(&p->lock);
    return ok;
}

/*
 * The channel's thread records its failure and cancels the stream under
 * @lock in one go, so a main stream stopped by that cancel finds the
 * error here.
 */
void postcopy_preempt_dst_take_error(MigrationIncomingState *mis, GError **err)
{
    PostcopyPreemptDst *p = mis->preempt;

    if (!p) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    if (p->err) {
        g_clear_error(err);
        *err = g_steal_pointer(&p->err);
    }
    qemu_mutex_unlock(&p->lock);
}

void postcopy_preempt_dst_pause(MigrationIncomingState *mis)
{
    PostcopyPreemptDst *p = mis->preempt;

    if (!p) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    p->generation++;
    preempt_dst_stop_reader(p);
    qemu_cond_broadcast(&p->cond);
    while (p->loading) {
        qemu_cond_wait(&p->cond, &p->lock);
    }
    p->finished = false;
    g_clear_error(&p->err);
    qemu_mutex_unlock(&p->lock);
}

void postcopy_preempt_dst_abort(MigrationIncomingState *mis)
{
    PostcopyPreemptDst *p = mis->preempt;

    if (!p) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    p->aborted = true;
    preempt_dst_stop_reader(p);
    qemu_cond_broadcast(&p->cond);
    qemu_mutex_unlock(&p->lock);
}
