/*
 * Multifd, destination side (multifd.h).  Each multifd channel runs on the
 * thread the incoming side accepted it on: it reads packets and writes
 * their pages straight into guest RAM.  At a SYNC packet it parks until
 * the load thread, reading MULTIFD_FLUSH on the main channel, has seen
 * every channel parked: then all of the round's pages have landed, and the
 * next round's may come.
 *
 * Locks: mf->lock guards the channel table, the sync generation, the
 * parked flags, quit and the first error; mf->cond is broadcast on every
 * change of them.  Guest RAM is written without a lock: within a round a
 * page is in one packet only, and rounds are separated by the sync.
 */
#include "multifd.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"
#include "qemu/thread.h"

#include <inttypes.h>
#include <string.h>
#include <sys/prctl.h>

typedef struct MultiFDRecvChannel {
    bool connected;                 /* its MultiFDInit arrived */
    bool closed;                    /* it ended at a packet boundary */
    bool parked;                    /* waiting at a SYNC packet */
} MultiFDRecvChannel;

struct MultiFDRecv {
    MultiFDRecvConfig cfg;
    GPtrArray *blocks;
    ChannelCancel *cancel;
    uint32_t compress_flag;
    MultiFDPopulate *populate;      /* memory ahead of the stream */

    QemuMutex lock;
    QemuCond cond;
    MultiFDRecvChannel *c;          /* cfg.channels of them */
    uint64_t generation;            /* syncs completed */
    bool quit;
    GError *err;
};

MultiFDRecv *multifd_recv_new(const MultiFDRecvConfig *cfg, GPtrArray *blocks,
                              ChannelCancel *cancel)
{
    MultiFDRecv *mf = g_new0(MultiFDRecv, 1);

    mf->cfg = *cfg;
    mf->blocks = blocks;
    mf->cancel = channel_cancel_ref(cancel);
    mf->compress_flag = multifd_compress_flag(cfg->compression);
    mf->c = g_new0(MultiFDRecvChannel, cfg->channels);
    mf->populate = multifd_populate_new();
    qemu_mutex_init(&mf->lock);
    qemu_cond_init(&mf->cond);
    return mf;
}

void multifd_recv_free(MultiFDRecv *mf)
{
    if (!mf) {
        return;
    }
    multifd_populate_free(mf->populate);
    g_clear_error(&mf->err);
    g_free(mf->c);
    channel_cancel_unref(mf->cancel);
    qemu_cond_destroy(&mf->cond);
    qemu_mutex_destroy(&mf->lock);
    g_free(mf);
}

void multifd_recv_fail(MultiFDRecv *mf, GError *err)
{
    qemu_mutex_lock(&mf->lock);
    if (!mf->err) {
        mf->err = g_steal_pointer(&err);
    }
    qemu_cond_broadcast(&mf->cond);
    qemu_mutex_unlock(&mf->lock);
    g_clear_error(&err);
}

GError *multifd_recv_error(MultiFDRecv *mf)
{
    GError *err;

    qemu_mutex_lock(&mf->lock);
    err = mf->err ? g_error_copy(mf->err) : NULL;
    qemu_mutex_unlock(&mf->lock);
    return err;
}

void multifd_recv_shutdown(MultiFDRecv *mf)
{
    qemu_mutex_lock(&mf->lock);
    mf->quit = true;
    qemu_cond_broadcast(&mf->cond);
    qemu_mutex_unlock(&mf->lock);
}

static RAMBlock *multifd_recv_find_block(MultiFDRecv *mf, const char *name)
{
    for (guint i = 0; i < mf->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(mf->blocks, i);

        if (g_str_equal(rb->idstr, name)) {
            return rb;
        }
    }
    return NULL;
}

/* One channel's receiving state (its thread's). */
typedef struct MultiFDRecvThread {
    MultiFDRecv *mf;
    Channel *ch;
    MultiFDCompressor *comp;        /* NULL without compression */
    uint8_t *zbuf;                  /* a packet's compressed pages */
    MultiFDPacket packet;
    uint8_t hdr[MULTIFD_PACKET_HDR_SIZE];
} MultiFDRecvThread;

/* The normal pages' payload into @iov: as it is, or decompressed. */
static bool multifd_recv_payload(MultiFDRecvThread *t, const MultiFDPacket *p,
                                 const struct iovec *iov, GError **errp)
{
    size_t bound = multifd_compress_bound(t->mf->cfg.compression);

    if (!t->comp) {
        if (p->next_packet_size != p->normal_pages * TARGET_PAGE_SIZE) {
            error_setg(errp, "multifd: packet size %u does not match its %u normal pages",
                       p->next_packet_size, p->normal_pages);
            return false;
        }
        return channel_readv_all(t->ch, iov, p->normal_pages, errp) == 1;
    }
    if (p->next_packet_size > bound) {
        error_setg(errp, "multifd: compressed packet size %u exceeds %zu",
                   p->next_packet_size, bound);
        return false;
    }
    if (channel_readv_all(t->ch, &(struct iovec){ t->zbuf, p->next_packet_size }, 1,
                          errp) != 1) {
        return false;
    }
    return multifd_decompress_pages(t->comp, t->zbuf, p->next_packet_size, iov,
                                    p->normal_pages, errp);
}

/* Read the pages of the packet @p into @rb's memory. */
static bool multifd_recv_pages(MultiFDRecvThread *t, const MultiFDPacket *p, RAMBlock *rb,
                               GError **errp)
{
    struct iovec iov[MULTIFD_PACKET_PAGES];
    uint32_t used = p->normal_pages + p->zero_pages;
    uint64_t end = 0;

    for (uint32_t i = 0; i < used; i++) {
        if (p->offset[i] % TARGET_PAGE_SIZE ||
            p->offset[i] > rb->used_length - TARGET_PAGE_SIZE) {
            error_setg(errp, "multifd: offset 0x%" PRIx64 " is out of RAM block "
                       "\"%s\" (length 0x%" PRIx64 ")", p->offset[i], rb->idstr,
                       rb->used_length);
            return false;
        }
    }
    for (uint32_t i = 0; i < p->normal_pages; i++) {
        iov[i].iov_base = rb->host + p->offset[i];
        iov[i].iov_len = TARGET_PAGE_SIZE;
        end = MAX(end, p->offset[i] + TARGET_PAGE_SIZE);
    }
    /* Mostly data: the next chunks will be too (multifd-populate.c). */
    if (p->normal_pages >= MULTIFD_PACKET_PAGES / 2) {
        multifd_populate_hint(t->mf->populate, rb, end);
    }
    if ((p->normal_pages || p->next_packet_size) && !multifd_recv_payload(t, p, iov, errp)) {
        if (errp && !*errp) {
            error_setg(errp, "multifd: the stream ended inside the packet's pages");
        }
        return false;
    }
    /* Reading a page costs no fault when it holds data; writing only non-zero ones keeps the rest untouched. */
    for (uint32_t i = p->normal_pages; i < used; i++) {
        uint8_t *host = rb->host + p->offset[i];

        if (!buffer_is_zero(host, TARGET_PAGE_SIZE)) {
            memset(host, 0, TARGET_PAGE_SIZE);
        }
        ram_verify_page(t->mf->cfg.verify, rb, p->offset[i] >> TARGET_PAGE_BITS, NULL);
    }
    for (uint32_t i = 0; i < p->normal_pages; i++) {
        ram_verify_page(t->mf->cfg.verify, rb, p->offset[i] >> TARGET_PAGE_BITS,
                        rb->host + p->offset[i]);
    }
    return true;
}

/* A SYNC packet: park until the load thread completes the sync (or the load ends). */
static bool multifd_recv_park(MultiFDRecv *mf, uint8_t id)
{
    uint64_t gen;
    bool go_on;

    qemu_mutex_lock(&mf->lock);
    gen = mf->generation;
    mf->c[id].parked = true;
    qemu_cond_broadcast(&mf->cond);
    while (mf->generation == gen && !mf->quit && !mf->err) {
        qemu_cond_wait(&mf->cond, &mf->lock);
    }
    /* Released: the load thread cleared @parked when it bumped the generation. */
    go_on = mf->generation != gen;
    qemu_mutex_unlock(&mf->lock);
    return go_on;
}

/*
 * Read the MultiFDInit and register the channel.  Returns its id, or -1.
 */
static int multifd_recv_register(MultiFDRecv *mf, Channel *ch, GError **errp)
{
    uint8_t init[MULTIFD_INIT_SIZE];
    uint8_t id;
    int r = channel_readv_all(ch, &(struct iovec){ init, sizeof(init) }, 1, errp);

    if (r == 0) {
        error_setg(errp, "multifd: the channel closed before its MultiFDInit");
    }
    if (r != 1 || !multifd_init_decode(init, mf->cfg.uuid, mf->cfg.channels, &id, errp)) {
        return -1;
    }
    qemu_mutex_lock(&mf->lock);
    if (mf->c[id].connected) {
        qemu_mutex_unlock(&mf->lock);
        error_setg(errp, "multifd: channel %u connected twice", id);
        return -1;
    }
    mf->c[id].connected = true;
    qemu_cond_broadcast(&mf->cond);
    qemu_mutex_unlock(&mf->lock);
    return id;
}

/* One packet; *@eof when the channel ended cleanly before it. */
static bool multifd_recv_packet(MultiFDRecvThread *t, bool *eof, GError **errp)
{
    MultiFDPacket *p = &t->packet;
    RAMBlock *rb;
    int r = channel_readv_all(t->ch, &(struct iovec){ t->hdr, sizeof(t->hdr) }, 1, errp);

    *eof = r == 0;
    if (r != 1 || !multifd_packet_decode(t->hdr, t->mf->compress_flag, p, errp)) {
        return r == 0;
    }
    if (p->normal_pages + p->zero_pages == 0) {
        if (p->next_packet_size) {
            error_setg(errp, "multifd: a packet without pages has %u bytes of payload",
                       p->next_packet_size);
            return false;
        }
        return true;
    }
    rb = multifd_recv_find_block(t->mf, p->ramblock);
    if (!rb) {
        error_setg(errp, "multifd: unknown ram block %s", p->ramblock);
        return false;
    }
    return multifd_recv_pages(t, p, rb, errp);
}

static bool multifd_recv_loop(MultiFDRecv *mf, Channel *ch, int id, GError **errp)
{
    g_autofree MultiFDRecvThread *t = g_new0(MultiFDRecvThread, 1);
    MultiFDPacket *p = &t->packet;
    uint64_t packets = 0;
    bool ok = true;

    t->mf = mf;
    t->ch = ch;
    if (mf->cfg.compression != MULTIFD_COMPRESSION_NONE) {
        t->comp = multifd_compressor_new(mf->cfg.compression, false, 0, errp);
        if (!t->comp) {
            return false;
        }
        t->zbuf = g_malloc(multifd_compress_bound(mf->cfg.compression));
    }
    while (ok) {
        bool eof;

        if (!multifd_recv_packet(t, &eof, errp)) {
            g_prefix_error(errp, "multifd channel %d: packet %" PRIu64 " (number %" PRIu64
                           " in the channel): ", id, p->packet_num, packets);
            ok = false;
            break;
        }
        if (eof) {
            /* Not an error yet: only if the load still needs this channel. */
            qemu_mutex_lock(&mf->lock);
            mf->c[id].closed = true;
            qemu_cond_broadcast(&mf->cond);
            qemu_mutex_unlock(&mf->lock);
            break;
        }
        packets++;
        if ((p->flags & MULTIFD_FLAG_SYNC) && !multifd_recv_park(mf, id)) {
            break;
        }
    }
    multifd_compressor_free(t->comp);
    g_free(t->zbuf);
    return ok;
}

bool multifd_recv_channel_run(MultiFDRecv *mf, Channel *ch, GError **errp)
{
    GError *err = NULL;
    int id = multifd_recv_register(mf, ch, &err);
    g_autofree char *name = NULL;
    bool ok;

    if (id < 0) {
        g_prefix_error(&err, "multifd channel: ");
        ok = false;
    } else {
        name = g_strdup_printf("mig/mfdrecv%d", id);
        prctl(PR_SET_NAME, name);
        ok = multifd_recv_loop(mf, ch, id, &err);
    }
    channel_close(ch, NULL);
    if (!ok) {
        multifd_recv_fail(mf, g_error_copy(err));
        /* The main channel's load stops too: the migration fails. */
        channel_cancel_trigger(mf->cancel);
        g_propagate_error(errp, err);
    }
    return ok;
}

bool multifd_recv_sync(MultiFDRecv *mf, GError **errp)
{
    bool ok = true;

    qemu_mutex_lock(&mf->lock);
    for (unsigned i = 0; i < mf->cfg.channels && ok; i++) {
        while (!mf->c[i].parked && !mf->c[i].closed && !mf->err && !mf->quit) {
            qemu_cond_wait(&mf->cond, &mf->lock);
        }
        if (mf->err) {
            g_propagate_error(errp, g_error_copy(mf->err));
            ok = false;
        } else if (mf->quit) {
            error_setg(errp, "multifd: the load was stopped while waiting for channel %u", i);
            ok = false;
        } else if (!mf->c[i].parked) {
            error_setg(errp, "multifd channel %u: the source closed it before the "
                       "round's sync", i);
            ok = false;
        }
    }
    if (ok) {
        for (unsigned i = 0; i < mf->cfg.channels; i++) {
            mf->c[i].parked = false;
        }
        mf->generation++;
        qemu_cond_broadcast(&mf->cond);
    }
    qemu_mutex_unlock(&mf->lock);
    return ok;
}
