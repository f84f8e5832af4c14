/*
 * The return path (return-path.h): the source's reader thread, its glue
 * to MigrationState, and the destination's sender.
 *
 * Source threads: the migration thread starts the reader after connecting
 * and joins it after the last byte (precopy: the destination's SHUT says
 * whether the load worked) or on any failure (after cancelling the
 * migration's token, which ends the reader's wait).  The reader never
 * touches the outgoing stream: when it fails it records the error and
 * cancels the token, which ends the migration thread's next wait.
 */
#include "return-path.h"
#include "savevm-commands.h"
#include "switchover-commit.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "migration/ram.h"
#include "migration/ram-verify.h"

#include <inttypes.h>
#include <string.h>

static const char *const rp_message_names[MIG_RP_MSG_MAX] = {
    [MIG_RP_MSG_INVALID] = "INVALID",
    [MIG_RP_MSG_SHUT] = "SHUT",
    [MIG_RP_MSG_PONG] = "PONG",
    [MIG_RP_MSG_REQ_PAGES_ID] = "REQ_PAGES_ID",
    [MIG_RP_MSG_REQ_PAGES] = "REQ_PAGES",
    [MIG_RP_MSG_RECV_BITMAP] = "RECV_BITMAP",
    [MIG_RP_MSG_RESUME_ACK] = "RESUME_ACK",
    [MIG_RP_MSG_SWITCHOVER_ACK] = "SWITCHOVER_ACK",
};

/* Payload lengths; -1: variable, checked by the message's parser. */
static const int rp_message_len[MIG_RP_MSG_MAX] = {
    [MIG_RP_MSG_INVALID] = -1,
    [MIG_RP_MSG_SHUT] = 4,
    [MIG_RP_MSG_PONG] = 4,
    [MIG_RP_MSG_REQ_PAGES_ID] = -1,
    [MIG_RP_MSG_REQ_PAGES] = 12,
    [MIG_RP_MSG_RECV_BITMAP] = -1,
    [MIG_RP_MSG_RESUME_ACK] = 4,
    [MIG_RP_MSG_SWITCHOVER_ACK] = 0,
};

static uint32_t rp_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static uint64_t rp_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_BE(v);
}

/* ---- source: the reader ---- */

struct ReturnPathSource {
    QEMUFile *from_dst;
    const ReturnPathSourceOps *ops;
    void *opaque;
    GThread *thread;
    GError *err;                /* the thread's result, read after the join */
    char *last_block;           /* the block of the last REQ_PAGES_ID */
};

/* tern's own messages, outside QEMU's numbering: their length, or -2 when unknown. */
static int rp_tern_message_len(uint16_t type)
{
    return type == MIG_RP_MSG_X_SWITCHOVER_LOADED ? 0 : -2;
}

/* Read one message's header and payload (into @buf, MIG_RP_MSG_MAX_LEN bytes). */
static bool rp_read_message(ReturnPathSource *rp, uint16_t *type, uint16_t *len,
                            uint8_t *buf, GError **errp)
{
    QEMUFile *f = rp->from_dst;

    *type = qemu_get_be16(f);
    *len = qemu_get_be16(f);
    if (!qemu_file_check_error(f, errp)) {
        error_prepend(errp, "return path: reading a message header: ");
        return false;
    }
    if (rp_tern_message_len(*type) >= 0) {
        if (*len != rp_tern_message_len(*type)) {
            error_setg(errp, "Received message 0x%04x with length %d expecting %d",
                       *type, *len, rp_tern_message_len(*type));
            return false;
        }
        return true;
    }
    if (*type == MIG_RP_MSG_INVALID || *type >= MIG_RP_MSG_MAX) {
        error_setg(errp, "Received invalid message 0x%04x length 0x%04x", *type, *len);
        return false;
    }
    if ((rp_message_len[*type] >= 0 && *len != rp_message_len[*type]) ||
        *len > MIG_RP_MSG_MAX_LEN) {
        /* QEMU's text, missing space included. */
        error_setg(errp, "Received '%s' message (0x%04x) withincorrect length %d "
                   "expecting %d", rp_message_names[*type], *type, *len,
                   rp_message_len[*type]);
        return false;
    }
    if (qemu_get_buffer(f, buf, *len) != *len) {
        qemu_file_check_error(f, errp);
        error_prepend(errp, "return path: reading a %s message: ", rp_message_names[*type]);
        return false;
    }
    return true;
}

/* REQ_PAGES_ID / REQ_PAGES: one range of pages the destination waits for. */
static bool rp_handle_req_pages(ReturnPathSource *rp, uint16_t type,
                                const uint8_t *buf, uint16_t len, GError **errp)
{
    uint64_t start = rp_be64(buf);
    uint32_t plen = rp_be32(buf + 8);

    if (type == MIG_RP_MSG_REQ_PAGES_ID) {
        size_t namelen = len >= 13 ? buf[12] : 0;

        if (len < 13 || len != 13 + namelen) {
            error_setg(errp, "Req_Page_id with length %d expecting %zd", len,
                       (size_t)13 + namelen);
            return false;
        }
        g_free(rp->last_block);
        rp->last_block = g_strndup((const char *)buf + 13, namelen);
    } else if (!rp->last_block) {
        error_setg(errp, "MIG_RP_MSG_REQ_PAGES has no previous block");
        return false;
    }
    return rp->ops->req_pages(rp->opaque, rp->last_block, start, plen, errp);
}

/* RECV_BITMAP: u8 n, name; the block's bitmap follows in the stream. */
static bool rp_handle_recv_bitmap(ReturnPathSource *rp, const uint8_t *buf,
                                  uint16_t len, GError **errp)
{
    char name[UINT8_MAX + 1];

    if (len < 1) {
        error_setg(errp, "MIG_RP_MSG_RECV_BITMAP missing block name");
        return false;
    }
    if (len != 1 + buf[0]) {
        error_setg(errp, "MIG_RP_MSG_RECV_BITMAP with length %d expecting %d",
                   len, 1 + buf[0]);
        return false;
    }
    memcpy(name, buf + 1, buf[0]);
    name[buf[0]] = '\0';
    return rp->ops->recv_bitmap(rp->opaque, name, rp->from_dst, errp);
}

/* Handle one message; *@done once the destination said SHUT(0). */
static bool rp_handle(ReturnPathSource *rp, uint16_t type, const uint8_t *buf,
                      uint16_t len, bool *done, GError **errp)
{
    const ReturnPathSourceOps *ops = rp->ops;

    switch (type) {
    case MIG_RP_MSG_SHUT: {
        uint32_t value = rp_be32(buf);

        if (value == MIG_RP_SHUT_X_VERIFY_MISMATCH) {
            error_setg(errp, "Sibling indicated error %" PRIu32 ": x-verify-ram: the "
                       "destination's RAM differs from the source's (its query-migrate "
                       "names where)", value);
        } else if (value) {
            error_setg(errp, "Sibling indicated error %" PRIu32, value);
        }
        if (value) {
            if (ops->shut_failed) {
                ops->shut_failed(rp->opaque, value);
            }
            return false;
        }
        *done = true;
        return true;
    }
    case MIG_RP_MSG_PONG:
        if (ops->pong) {
            ops->pong(rp->opaque, rp_be32(buf));
        }
        return true;
    case MIG_RP_MSG_REQ_PAGES_ID:
    case MIG_RP_MSG_REQ_PAGES:
        if (ops->req_pages) {
            return rp_handle_req_pages(rp, type, buf, len, errp);
        }
        break;
    case MIG_RP_MSG_RECV_BITMAP:
        if (ops->recv_bitmap) {
            return rp_handle_recv_bitmap(rp, buf, len, errp);
        }
        break;
    case MIG_RP_MSG_RESUME_ACK:
        if (ops->resume_ack) {
            if (rp_be32(buf) != MIG_RP_RESUME_ACK_VALUE) {
                error_setg(errp, "illegal resume_ack value %" PRIu32, rp_be32(buf));
                return false;
            }
            return ops->resume_ack(rp->opaque, errp);
        }
        break;
    case MIG_RP_MSG_SWITCHOVER_ACK:
        if (ops->switchover_ack) {
            ops->switchover_ack(rp->opaque);
            return true;
        }
        break;
    case MIG_RP_MSG_X_SWITCHOVER_LOADED:
        if (ops->switchover_loaded) {
            ops->switchover_loaded(rp->opaque);
            return true;
        }
        break;
    default:
        break;
    }
    error_setg(errp, "return path: unexpected %s message (0x%04x): the source "
               "is not waiting for one",
               type < MIG_RP_MSG_MAX ? rp_message_names[type] : "x-switchover-loaded", type);
    return false;
}

static gpointer rp_source_thread(gpointer opaque)
{
    ReturnPathSource *rp = opaque;
    uint8_t buf[MIG_RP_MSG_MAX_LEN];
    bool done = false;

    while (!done) {
        uint16_t type, len;

        if (!rp_read_message(rp, &type, &len, buf, &rp->err) ||
            !rp_handle(rp, type, buf, len, &done, &rp->err)) {
            break;
        }
    }
    if (rp->err && rp->ops->failed) {
        rp->ops->failed(rp->opaque, rp->err);
    }
    if (rp->ops->ended) {
        rp->ops->ended(rp->opaque);
    }
    return NULL;
}

ReturnPathSource *return_path_source_start(QEMUFile *to_dst,
                                           const ReturnPathSourceOps *ops,
                                           void *opaque, GError **errp)
{
    ReturnPathSource *rp;
    QEMUFile *from_dst = qemu_file_get_return_path(to_dst, errp);

    if (!from_dst) {
        error_prepend(errp, "Unable to open return-path for postcopy: ");
        return NULL;
    }
    rp = g_new0(ReturnPathSource, 1);
    rp->from_dst = from_dst;
    rp->ops = ops;
    rp->opaque = opaque;
    rp->thread = g_thread_new("mig/src/rp", rp_source_thread, rp);
    return rp;
}

bool return_path_source_join(ReturnPathSource *rp, GError **errp)
{
    bool ok;

    if (!rp) {
        return true;
    }
    g_thread_join(rp->thread);
    qemu_fclose(rp->from_dst, NULL);
    ok = !rp->err;
    if (rp->err) {
        g_propagate_error(errp, rp->err);
    }
    g_free(rp->last_block);
    g_free(rp);
    return ok;
}

/* ---- source: MigrationState glue ---- */

static bool migration_rp_wanted(MigrationState *s)
{
    return migrate_cap(s->run_opts, MIGRATION_CAPABILITY_RETURN_PATH) ||
           migrate_cap(s->run_opts, MIGRATION_CAPABILITY_POSTCOPY_RAM);
}

/*
 * The reader failed: the migration fails with its error, unless the
 * token was already cancelled (by migrate_cancel, or by the migration
 * thread ending for its own reason, whose error comes first).
 */
static void migration_rp_failed(void *opaque, const GError *err)
{
    MigrationState *s = opaque;

    /*
     * Under s->lock: x-switchover-commit decides under it too.  Once
     * committed the migration has completed whatever the return path
     * says (switchover-commit.c).
     */
    qemu_mutex_lock(&s->lock);
    if (!s->commit.committed && !channel_cancel_is_triggered(s->cancel)) {
        if (!s->error_desc) {
            s->error_desc = g_strdup(err->message);
        }
        channel_cancel_trigger(s->cancel);
        /* A migration thread sleeping out a bandwidth budget wakes to see it. */
        qemu_cond_broadcast(&s->cond);
    }
    qemu_mutex_unlock(&s->lock);
}

static bool migration_rp_req_pages(void *opaque, const char *block, uint64_t start,
                                   uint64_t len, GError **errp)
{
    MigrationState *s = opaque;

    return s->rp_postcopy->req_pages(s, block, start, len, errp);
}

static void migration_rp_switchover_ack(void *opaque)
{
    MigrationState *s = opaque;

    g_atomic_int_set(&s->switchover_acked, 1);
}

bool migration_rp_switchover_acked(MigrationState *s)
{
    return !migrate_cap(s->run_opts, MIGRATION_CAPABILITY_SWITCHOVER_ACK) ||
           g_atomic_int_get(&s->switchover_acked);
}

/* A PONG: the destination reads the main channel (the preempt channel may follow). */
static void migration_rp_pong(void *opaque, uint32_t value)
{
    MigrationState *s = opaque;

    qemu_mutex_lock(&s->lock);
    g_atomic_int_set(&s->rp_ponged, 1);
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

static bool migration_rp_recv_bitmap(void *opaque, const char *block, QEMUFile *from_dst,
                                     GError **errp)
{
    MigrationState *s = opaque;

    return s->rp_postcopy->recv_bitmap(s, block, from_dst, errp);
}

static bool migration_rp_resume_ack(void *opaque, GError **errp)
{
    MigrationState *s = opaque;

    return s->rp_postcopy->resume_ack(s, errp);
}

/* The destination's load failed: a postcopy fails then, it cannot resume. */
static void migration_rp_shut_failed(void *opaque, uint32_t value)
{
    MigrationState *s = opaque;

    if (value == MIG_RP_SHUT_X_VERIFY_MISMATCH) {
        ram_verify_set_peer_mismatch(ram_state_verify(s->ram));
    }
    g_atomic_int_set(&s->dst_failed, 1);
}

static const ReturnPathSourceOps migration_rp_ops = {
    .pong = migration_rp_pong,
    .req_pages = migration_rp_req_pages,
    .switchover_ack = migration_rp_switchover_ack,
    .recv_bitmap = migration_rp_recv_bitmap,
    .resume_ack = migration_rp_resume_ack,
    .shut_failed = migration_rp_shut_failed,
    .switchover_loaded = switchover_commit_source_loaded,
    .failed = migration_rp_failed,
    .ended = switchover_commit_source_rp_ended,
};

bool migration_rp_open(MigrationState *s, GError **errp)
{
    if (!migration_rp_wanted(s)) {
        return true;
    }
    /* exec:'s socketpair carries both ways, but the command's output is not the destination. */
    if (s->addr->transport != MIGRATION_ADDRESS_TYPE_SOCKET) {
        error_setg(errp, "Unable to open return-path for postcopy: the %s: transport "
                   "carries one direction only; a return path needs a socket (tcp:, "
                   "unix:, fd:)", MigrationAddressType_str(s->addr->transport));
        return false;
    }
    s->rp = return_path_source_start(s->to_dst, &migration_rp_ops, s, errp);
    return s->rp != NULL;
}

void migration_rp_announce(MigrationState *s)
{
    if (s->rp) {
        savevm_send_open_return_path(s->to_dst);
        savevm_send_ping(s->to_dst, MIG_PING_START);
    }
}

bool migration_rp_await(MigrationState *s, GError **errp)
{
    bool ok;

    if (!s->rp) {
        return true;
    }
    bql_unlock();
    ok = return_path_source_join(s->rp, errp);
    s->rp = NULL;
    if (ok) {
        bql_lock();
    }
    return ok;
}

void migration_rp_stop(MigrationState *s)
{
    if (s->rp) {
        channel_cancel_trigger(s->cancel);
        return_path_source_join(s->rp, NULL);
        s->rp = NULL;
    }
}

/* ---- destination: the sender ---- */

struct ReturnPathDst {
    QemuMutex lock;             /* one message at a time, from any thread; guards all below */
    QEMUFile *to_src;           /* NULL while detached (postcopy recovery) */
    char *last_block;           /* for REQ_PAGES after REQ_PAGES_ID */
};

ReturnPathDst *return_path_dst_open(QEMUFile *from_src, GError **errp)
{
    QEMUFile *to_src = qemu_file_get_return_path(from_src, errp);
    ReturnPathDst *rp;

    if (!to_src) {
        return NULL;
    }
    rp = g_new0(ReturnPathDst, 1);
    qemu_mutex_init(&rp->lock);
    rp->to_src = to_src;
    return rp;
}

/* Caller holds rp->lock.  Detached: dropped. */
static void rp_dst_send_locked(ReturnPathDst *rp, MigRPMessage type,
                               const void *data, uint16_t len)
{
    if (!rp->to_src) {
        return;
    }
    qemu_put_be16(rp->to_src, type);
    qemu_put_be16(rp->to_src, len);
    qemu_put_buffer(rp->to_src, data, len);
    qemu_fflush(rp->to_src);
}

static void rp_dst_send_be32(ReturnPathDst *rp, MigRPMessage type, uint32_t value)
{
    uint32_t be = GUINT32_TO_BE(value);

    qemu_mutex_lock(&rp->lock);
    rp_dst_send_locked(rp, type, &be, sizeof(be));
    qemu_mutex_unlock(&rp->lock);
}

void return_path_dst_send_shut(ReturnPathDst *rp, uint32_t value)
{
    rp_dst_send_be32(rp, MIG_RP_MSG_SHUT, value);
}

void return_path_dst_send_pong(ReturnPathDst *rp, uint32_t value)
{
    rp_dst_send_be32(rp, MIG_RP_MSG_PONG, value);
}

void return_path_dst_send_req_pages(ReturnPathDst *rp, const char *block,
                                    uint64_t start, uint32_t len)
{
    uint8_t buf[8 + 4 + 1 + UINT8_MAX];
    uint64_t be64 = GUINT64_TO_BE(start);
    uint32_t be32 = GUINT32_TO_BE(len);
    size_t namelen = strlen(block);

    g_assert(namelen <= UINT8_MAX);
    memcpy(buf, &be64, 8);
    memcpy(buf + 8, &be32, 4);
    qemu_mutex_lock(&rp->lock);
    if (!rp->to_src) {
        /* Detached: the request is sent again after the resume, as REQ_PAGES_ID. */
    } else if (rp->last_block && g_str_equal(rp->last_block, block)) {
        rp_dst_send_locked(rp, MIG_RP_MSG_REQ_PAGES, buf, 12);
    } else {
        buf[12] = namelen;
        memcpy(buf + 13, block, namelen);
        rp_dst_send_locked(rp, MIG_RP_MSG_REQ_PAGES_ID, buf, 13 + namelen);
        g_free(rp->last_block);
        rp->last_block = g_strdup(block);
    }
    qemu_mutex_unlock(&rp->lock);
}

void return_path_dst_send_switchover_ack(ReturnPathDst *rp)
{
    qemu_mutex_lock(&rp->lock);
    rp_dst_send_locked(rp, MIG_RP_MSG_SWITCHOVER_ACK, NULL, 0);
    qemu_mutex_unlock(&rp->lock);
}

void return_path_dst_send_switchover_loaded(ReturnPathDst *rp)
{
    qemu_mutex_lock(&rp->lock);
    rp_dst_send_locked(rp, MIG_RP_MSG_X_SWITCHOVER_LOADED, NULL, 0);
    qemu_mutex_unlock(&rp->lock);
}

void return_path_dst_send_recv_bitmap(ReturnPathDst *rp, const char *block,
                                      const void *bitmap, uint64_t size)
{
    uint8_t buf[1 + UINT8_MAX];
    size_t namelen = strlen(block);

    g_assert(namelen <= UINT8_MAX);
    buf[0] = namelen;
    memcpy(buf + 1, block, namelen);
    qemu_mutex_lock(&rp->lock);
    if (rp->to_src) {
        /* One message: nothing may come between the name and its bitmap. */
        qemu_put_be16(rp->to_src, MIG_RP_MSG_RECV_BITMAP);
        qemu_put_be16(rp->to_src, 1 + namelen);
        qemu_put_buffer(rp->to_src, buf, 1 + namelen);
        qemu_put_be64(rp->to_src, size);
        qemu_put_buffer(rp->to_src, bitmap, size);
        qemu_put_be64(rp->to_src, RAM_RECV_BITMAP_ENDING);
        qemu_fflush(rp->to_src);
    }
    qemu_mutex_unlock(&rp->lock);
}

void return_path_dst_send_resume_ack(ReturnPathDst *rp)
{
    rp_dst_send_be32(rp, MIG_RP_MSG_RESUME_ACK, MIG_RP_RESUME_ACK_VALUE);
}

void return_path_dst_detach(ReturnPathDst *rp)
{
    qemu_mutex_lock(&rp->lock);
    if (rp->to_src) {
        qemu_fclose(rp->to_src, NULL);
        rp->to_src = NULL;
    }
    g_clear_pointer(&rp->last_block, g_free);
    qemu_mutex_unlock(&rp->lock);
}

bool return_path_dst_attach(ReturnPathDst *rp, QEMUFile *from_src, GError **errp)
{
    QEMUFile *to_src = qemu_file_get_return_path(from_src, errp);

    if (!to_src) {
        return false;
    }
    qemu_mutex_lock(&rp->lock);
    g_assert(!rp->to_src);
    rp->to_src = to_src;
    qemu_mutex_unlock(&rp->lock);
    return true;
}

bool return_path_dst_check(ReturnPathDst *rp, GError **errp)
{
    bool ok;

    qemu_mutex_lock(&rp->lock);
    ok = !rp->to_src || qemu_file_check_error(rp->to_src, errp);
    qemu_mutex_unlock(&rp->lock);
    return ok;
}

void return_path_dst_close(ReturnPathDst *rp)
{
    if (!rp) {
        return;
    }
    if (rp->to_src) {
        qemu_fclose(rp->to_src, NULL);
    }
    g_free(rp->last_block);
    qemu_mutex_destroy(&rp->lock);
    g_free(rp);
}
