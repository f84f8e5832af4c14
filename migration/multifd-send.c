/*
 * Multifd, source side (multifd.h): the migration thread fills a batch of
 * pages of one block and hands it to an idle send thread, which finds the
 * zero pages (zero-page-detection=multifd), writes the packet header, then
 * the normal pages straight from guest memory without copying them
 * (channel-zerocopy.h: by reference, or MSG_ZEROCOPY with zero-copy-send),
 * or compressed by the channel's own stream (multifd-compress.c).
 *
 * Locks: mf->lock guards each channel's hand-off fields (batch, has_work,
 * sync_pending), mf->quit and mf->err.  The migration thread waits on
 * mf->idle for a channel to finish; send threads wait on their own
 * c->work.  A batch changes hands by pointer swap under the lock: the
 * filling batch goes to the channel, the channel's finished one comes back.
 */
#include "multifd.h"
#include "transport.h"
#include "migration/channel-zerocopy.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"
#include "qemu/thread.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

/* Pages of one block waiting to be sent. */
typedef struct MultiFDBatch {
    RAMBlock *block;
    uint32_t num;                   /* pages to check (or send as they are) */
    uint32_t nzero;                 /* pages known to be zero */
    uint64_t reserved;              /* bytes charged to mf->committed for it */
    uint64_t offset[MULTIFD_PACKET_PAGES];
    uint64_t zero[MULTIFD_PACKET_PAGES];
} MultiFDBatch;

typedef struct MultiFDSendChannel {
    MultiFDSend *mf;
    uint8_t id;
    Channel *ch;
    GThread *thread;
    QemuCond work;                  /* has_work, sync_pending or quit */

    /* ---- under mf->lock ---- */
    MultiFDBatch *batch;            /* the batch to send, or the idle one */
    bool has_work;
    bool sync_pending;

    /* ---- send thread only ---- */
    MultiFDCompressor *comp;        /* NULL without compression */
    uint8_t *zbuf;                  /* the packet's compressed pages */
    MultiFDPacket packet;
    uint8_t hdr[MULTIFD_PACKET_HDR_SIZE];
    struct iovec iov[1 + MULTIFD_PACKET_PAGES];
} MultiFDSendChannel;

struct MultiFDSend {
    MultiFDSendConfig cfg;
    ChannelCancel *cancel;
    MigrationAtomicStats *stats;
    uint64_t packet_num;            /* atomic: the next packet's number */
    /*
     * Bytes of packets sent, plus the most the queued ones may take: the
     * migration thread charges a packet when it queues its pages, the send
     * thread settles the difference once the packet is out.  The rate
     * limit counts this, so pages in flight are inside the window's budget.
     */
    MigrationStat committed;
    MultiFDSendChannel *c;          /* cfg.channels of them */
    unsigned nthreads;              /* threads started */

    /* ---- migration thread only ---- */
    MultiFDBatch *filling;
    unsigned next;                  /* round-robin start for the next batch */

    QemuMutex lock;
    QemuCond idle;                  /* a channel finished its work, or failed */
    bool quit;
    GError *err;                    /* first channel failure */
};

static bool multifd_batch_empty(const MultiFDBatch *b)
{
    return b->num + b->nzero == 0;
}

/* Record a channel's failure (first one wins), wake everybody, cancel the rest. */
static void multifd_send_set_error(MultiFDSend *mf, MultiFDSendChannel *c, GError *err)
{
    qemu_mutex_lock(&mf->lock);
    if (!mf->err) {
        g_prefix_error(&err, "multifd channel %u: ", c->id);
        mf->err = err;
        err = NULL;
    }
    qemu_cond_broadcast(&mf->idle);
    qemu_mutex_unlock(&mf->lock);
    g_clear_error(&err);
    /* The main channel and the other channels stop too: the migration fails. */
    channel_cancel_trigger(mf->cancel);
}

static bool multifd_send_error_locked(MultiFDSend *mf, GError **errp)
{
    if (mf->err) {
        g_propagate_error(errp, g_error_copy(mf->err));
        return false;
    }
    return true;
}

/*
 * Write the packet c->iov[0..@iovcnt) holds: the header (reused for the
 * next packet, so copied), then guest pages straight from guest RAM by
 * reference (channel-zerocopy.h: a page written meanwhile is dirty and
 * goes again after the next SYNC), or compressed bytes (copied).
 */
static bool multifd_send_write(MultiFDSendChannel *c, int iovcnt, GError **errp)
{
    if (c->comp || iovcnt == 1) {
        return channel_writev_all(c->ch, c->iov, iovcnt, errp);
    }
    if (!channel_writev_all(c->ch, c->iov, 1, errp)) {
        return false;
    }
    return c->mf->cfg.zero_copy ? channel_writev_zero_copy(c->ch, c->iov + 1, iovcnt - 1, errp)
                                : channel_writev_by_ref(c->ch, c->iov + 1, iovcnt - 1, errp);
}

/*
 * zero-copy-send, at each SYNC: wait until the kernel is done with every
 * page this channel sent, and count the syncs where it had copied them all.
 */
static bool multifd_send_zero_copy_flush(MultiFDSendChannel *c, GError **errp)
{
    int missed;

    if (!c->mf->cfg.zero_copy) {
        return true;
    }
    missed = channel_zero_copy_flush(c->ch, errp);
    if (missed > 0) {
        migration_stat_add(&c->mf->stats->dirty_sync_missed_zero_copy, 1);
    }
    return missed >= 0;
}

/* The bytes charged for a packet before it is built: header, pages to check. */
static void multifd_send_charge(MultiFDSend *mf, MultiFDBatch *b, uint64_t bytes)
{
    migration_stat_add(&mf->committed, bytes);
    if (b) {
        b->reserved += bytes;
    }
}

/* Send thread: @b as one packet (or a SYNC packet with no pages). */
static bool multifd_send_packet(MultiFDSendChannel *c, MultiFDBatch *b, uint32_t flags,
                                GError **errp)
{
    MultiFDSend *mf = c->mf;
    MultiFDPacket *p = &c->packet;
    uint32_t normal = 0, zero = 0;
    int iovcnt = 1;
    size_t bytes;

    p->ramblock[0] = '\0';
    if (b && !multifd_batch_empty(b)) {
        bool detect = mf->cfg.zero_page_detection == ZERO_PAGE_DETECTION_MULTIFD;
        uint64_t zeros[MULTIFD_PACKET_PAGES];

        g_strlcpy(p->ramblock, b->block->idstr, sizeof(p->ramblock));
        for (uint32_t i = 0; i < b->num; i++) {
            uint8_t *host = b->block->host + b->offset[i];

            if (detect && buffer_is_zero(host, TARGET_PAGE_SIZE)) {
                ram_verify_page(mf->cfg.verify, b->block, b->offset[i] >> TARGET_PAGE_BITS, NULL);
                zeros[zero++] = b->offset[i];
                continue;
            }
            /* A write after this point dirties the page: it is sent and digested again. */
            ram_verify_page(mf->cfg.verify, b->block, b->offset[i] >> TARGET_PAGE_BITS, host);
            p->offset[normal] = b->offset[i];
            c->iov[iovcnt].iov_base = host;
            c->iov[iovcnt++].iov_len = TARGET_PAGE_SIZE;
            normal++;
        }
        for (uint32_t i = 0; i < b->nzero; i++) {
            ram_verify_page(mf->cfg.verify, b->block, b->zero[i] >> TARGET_PAGE_BITS, NULL);
        }
        memcpy(zeros + zero, b->zero, b->nzero * sizeof(uint64_t));
        zero += b->nzero;
        memcpy(p->offset + normal, zeros, zero * sizeof(uint64_t));
    }
    p->flags = flags | multifd_compress_flag(mf->cfg.compression);
    p->normal_pages = normal;
    p->zero_pages = zero;
    p->next_packet_size = normal * TARGET_PAGE_SIZE;
    if (c->comp && normal) {
        size_t zlen;

        if (!multifd_compress_pages(c->comp, c->iov + 1, normal, c->zbuf,
                                    multifd_compress_bound(mf->cfg.compression), &zlen, errp)) {
            return false;
        }
        c->iov[1].iov_base = c->zbuf;
        c->iov[1].iov_len = zlen;
        iovcnt = 2;
        p->next_packet_size = zlen;
    }
    p->packet_num = __atomic_fetch_add(&mf->packet_num, 1, __ATOMIC_RELAXED);
    multifd_packet_encode(p, c->hdr);
    c->iov[0].iov_base = c->hdr;
    c->iov[0].iov_len = sizeof(c->hdr);
    if (!multifd_send_write(c, iovcnt, errp)) {
        return false;
    }
    bytes = sizeof(c->hdr) + p->next_packet_size;
    /* Settle the charge (unsigned: adds the difference either way). */
    migration_stat_add(&mf->committed, bytes - (b ? b->reserved : sizeof(c->hdr)));
    migration_stat_add(&mf->stats->multifd_bytes, bytes);
    migration_stat_add(&mf->cfg.channel_stats[c->id].bytes, bytes);
    migration_stat_add(&mf->cfg.channel_stats[c->id].packets, 1);
    migration_stat_add(&mf->stats->normal_pages, normal);
    migration_stat_add(&mf->stats->zero_pages, zero);
    return true;
}

static gpointer multifd_send_thread(gpointer opaque)
{
    MultiFDSendChannel *c = opaque;
    MultiFDSend *mf = c->mf;
    g_autofree char *name = g_strdup_printf("mig/mfdsend%u", c->id);

    prctl(PR_SET_NAME, name);
    qemu_mutex_lock(&mf->lock);
    for (;;) {
        GError *err = NULL;
        bool sync, ok;

        while (!mf->quit && !mf->err && !c->has_work && !c->sync_pending) {
            qemu_cond_wait(&c->work, &mf->lock);
        }
        /* Work handed over before quit still goes out; a failure drops it. */
        if (mf->err || (!c->has_work && !c->sync_pending)) {
            break;
        }
        sync = !c->has_work;
        qemu_mutex_unlock(&mf->lock);
        ok = multifd_send_packet(c, sync ? NULL : c->batch,
                                 sync ? MULTIFD_FLAG_SYNC : 0, &err) &&
             (!sync || multifd_send_zero_copy_flush(c, &err));
        if (!ok) {
            multifd_send_set_error(mf, c, err);
            qemu_mutex_lock(&mf->lock);
            break;
        }
        qemu_mutex_lock(&mf->lock);
        if (sync) {
            c->sync_pending = false;
        } else {
            c->batch->num = c->batch->nzero = 0;
            c->batch->reserved = 0;
            c->has_work = false;
        }
        qemu_cond_broadcast(&mf->idle);
    }
    qemu_mutex_unlock(&mf->lock);
    return NULL;
}

static bool multifd_send_connect(MultiFDSend *mf, MultiFDSendChannel *c,
                                 const MigrationAddress *addr, GError **errp)
{
    uint8_t init[MULTIFD_INIT_SIZE];

    if (mf->cfg.compression != MULTIFD_COMPRESSION_NONE) {
        c->comp = multifd_compressor_new(mf->cfg.compression, true, mf->cfg.level, errp);
        if (!c->comp) {
            return false;
        }
        c->zbuf = g_malloc(multifd_compress_bound(mf->cfg.compression));
    }

    c->ch = transport_connect(addr, mf->cancel, errp);
    if (!c->ch || (mf->cfg.tls && !migration_tls_wrap(mf->cfg.tls, c->ch, errp))) {
        g_prefix_error(errp, "multifd channel %u: ", c->id);
        return false;
    }
    /* QEMU's message alone: it is about the host, not the channel. */
    if (mf->cfg.zero_copy && !channel_zero_copy_enable(c->ch, errp)) {
        return false;
    }
    multifd_init_encode(init, mf->cfg.uuid, c->id);
    if (!channel_writev_all(c->ch, &(struct iovec){ init, sizeof(init) }, 1, errp)) {
        g_prefix_error(errp, "multifd channel %u: ", c->id);
        return false;
    }
    return true;
}

MultiFDSend *multifd_send_new(const MigrationAddress *addr, ChannelCancel *cancel,
                              const MultiFDSendConfig *cfg, MigrationAtomicStats *stats,
                              GError **errp)
{
    MultiFDSend *mf = g_new0(MultiFDSend, 1);

    mf->cfg = *cfg;
    mf->cancel = channel_cancel_ref(cancel);
    mf->stats = stats;
    mf->filling = g_new0(MultiFDBatch, 1);
    qemu_mutex_init(&mf->lock);
    qemu_cond_init(&mf->idle);
    mf->c = g_new0(MultiFDSendChannel, cfg->channels);
    for (unsigned i = 0; i < cfg->channels; i++) {
        MultiFDSendChannel *c = &mf->c[i];

        c->mf = mf;
        c->id = i;
        c->batch = g_new0(MultiFDBatch, 1);
        qemu_cond_init(&c->work);
    }
    for (unsigned i = 0; i < cfg->channels; i++) {
        if (!multifd_send_connect(mf, &mf->c[i], addr, errp)) {
            multifd_send_free(mf);
            return NULL;
        }
    }
    for (unsigned i = 0; i < cfg->channels; i++) {
        mf->c[i].thread = g_thread_new("mig/mfdsend", multifd_send_thread, &mf->c[i]);
        mf->nthreads++;
    }
    return mf;
}

void multifd_send_free(MultiFDSend *mf)
{
    if (!mf) {
        return;
    }
    qemu_mutex_lock(&mf->lock);
    mf->quit = true;
    for (unsigned i = 0; i < mf->nthreads; i++) {
        qemu_cond_signal(&mf->c[i].work);
    }
    qemu_mutex_unlock(&mf->lock);
    for (unsigned i = 0; i < mf->nthreads; i++) {
        g_thread_join(mf->c[i].thread);
    }
    for (unsigned i = 0; i < mf->cfg.channels; i++) {
        channel_close(mf->c[i].ch, NULL);
        multifd_compressor_free(mf->c[i].comp);
        g_free(mf->c[i].zbuf);
        g_free(mf->c[i].batch);
        qemu_cond_destroy(&mf->c[i].work);
    }
    g_free(mf->c);
    g_free(mf->filling);
    g_clear_error(&mf->err);
    channel_cancel_unref(mf->cancel);
    qemu_cond_destroy(&mf->idle);
    qemu_mutex_destroy(&mf->lock);
    g_free(mf);
}

/* An idle channel, searched round-robin from mf->next; NULL if none.  Locked. */
static MultiFDSendChannel *multifd_send_idle_channel(MultiFDSend *mf)
{
    for (unsigned n = 0; n < mf->cfg.channels; n++) {
        MultiFDSendChannel *c = &mf->c[(mf->next + n) % mf->cfg.channels];

        if (!c->has_work && !c->sync_pending) {
            mf->next = (c->id + 1) % mf->cfg.channels;
            return c;
        }
    }
    return NULL;
}

/* Hand the filling batch to an idle channel, waiting for one. */
static bool multifd_send_batch(MultiFDSend *mf, GError **errp)
{
    MultiFDSendChannel *c;
    MultiFDBatch *done;

    if (multifd_batch_empty(mf->filling)) {
        return true;
    }
    qemu_mutex_lock(&mf->lock);
    while (!mf->err && !(c = multifd_send_idle_channel(mf))) {
        qemu_cond_wait(&mf->idle, &mf->lock);
    }
    if (!multifd_send_error_locked(mf, errp)) {
        qemu_mutex_unlock(&mf->lock);
        return false;
    }
    done = c->batch;
    c->batch = mf->filling;
    c->has_work = true;
    qemu_cond_signal(&c->work);
    qemu_mutex_unlock(&mf->lock);
    mf->filling = done;
    return true;
}

bool multifd_send_queue_page(MultiFDSend *mf, RAMBlock *rb, uint64_t offset,
                             bool known_zero, GError **errp)
{
    MultiFDBatch *b = mf->filling;

    if (!multifd_batch_empty(b) && b->block != rb && !multifd_send_batch(mf, errp)) {
        return false;
    }
    b = mf->filling;
    if (multifd_batch_empty(b)) {
        multifd_send_charge(mf, b, MULTIFD_PACKET_HDR_SIZE);
    }
    b->block = rb;
    if (known_zero) {
        b->zero[b->nzero++] = offset;
    } else {
        multifd_send_charge(mf, b, TARGET_PAGE_SIZE);
        b->offset[b->num++] = offset;
    }
    return b->num + b->nzero < MULTIFD_PACKET_PAGES || multifd_send_batch(mf, errp);
}

bool multifd_send_sync(MultiFDSend *mf, GError **errp)
{
    bool pending;

    if (!multifd_send_batch(mf, errp)) {
        return false;
    }
    qemu_mutex_lock(&mf->lock);
    for (unsigned i = 0; i < mf->cfg.channels; i++) {
        multifd_send_charge(mf, NULL, MULTIFD_PACKET_HDR_SIZE);
        mf->c[i].sync_pending = true;
        qemu_cond_signal(&mf->c[i].work);
    }
    do {
        pending = false;
        for (unsigned i = 0; i < mf->cfg.channels; i++) {
            pending |= mf->c[i].sync_pending;
        }
        if (pending && !mf->err) {
            qemu_cond_wait(&mf->idle, &mf->lock);
        }
    } while (pending && !mf->err);
    pending = multifd_send_error_locked(mf, errp);
    qemu_mutex_unlock(&mf->lock);
    return pending;
}

const MigrationStat *multifd_send_committed(MultiFDSend *mf)
{
    return &mf->committed;
}

GError *multifd_send_error(MultiFDSend *mf)
{
    GError *err;

    qemu_mutex_lock(&mf->lock);
    err = mf->err ? g_error_copy(mf->err) : NULL;
    qemu_mutex_unlock(&mf->lock);
    return err;
}

MultifdChannelInfoList *multifd_channel_info(const MigrationChannelStats *stats, unsigned n)
{
    MultifdChannelInfoList *head = NULL, **tail = &head;

    for (unsigned i = 0; i < MIN(n, MIGRATION_MULTIFD_CHANNELS_MAX); i++) {
        MultifdChannelInfoList *e = g_new0(MultifdChannelInfoList, 1);

        e->value = g_new0(MultifdChannelInfo, 1);
        e->value->id = i;
        e->value->bytes = migration_stat_get(&stats[i].bytes);
        e->value->packets = migration_stat_get(&stats[i].packets);
        *tail = e;
        tail = &e->next;
    }
    return head;
}
