/*
 * Writes that hand the kernel pages instead of copies
 * (include/migration/channel-zerocopy.h).
 *
 * Why by reference: on two cores the source's copy into the socket is a
 * third of a multifd migration's CPU (perf: _copy_from_iter, 180 of 290 ms
 * per GiB); vmsplice + splice takes page references instead (docs/devel/
 * multifd.md has the figures).  A unix socket takes spliced pages as they are
 * and the reader copies them out as it would copied ones.
 */
#include "channel-internal.h"
#include "migration/channel-zerocopy.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The pipe between vmsplice and splice: a multifd packet's pages at once. */
#define CHANNEL_SPLICE_PIPE_SIZE (512 * 1024)

typedef enum {
    CHANNEL_SPLICE_UNPROBED,
    CHANNEL_SPLICE_PIPE,            /* pipe[] is open */
    CHANNEL_SPLICE_NO,              /* copy: TLS, not a socket, or refused */
} ChannelSpliceState;

struct ChannelZeroCopy {
    ChannelSpliceState splice;
    int pipe[2];
    bool msg_zerocopy;              /* SO_ZEROCOPY is on */
    uint64_t queued;                /* MSG_ZEROCOPY sendmsg calls that sent bytes */
    uint64_t done;                  /* ...that the error queue reported complete */
    uint64_t round_queued;          /* queued at the last flush */
    bool round_real;                /* a completion since then was not a copy */
    ChannelZeroCopyStats stats;
};

static void channel_zc_free(ChannelZeroCopy *zc)
{
    if (zc->splice == CHANNEL_SPLICE_PIPE) {
        close(zc->pipe[0]);
        close(zc->pipe[1]);
    }
    g_free(zc);
}

static ChannelZeroCopy *channel_zc(Channel *ch)
{
    if (!ch->zc) {
        ch->zc = g_new0(ChannelZeroCopy, 1);
        ch->zc->pipe[0] = ch->zc->pipe[1] = -1;
        ch->zc_free = channel_zc_free;  /* channel.c frees it without knowing it */
    }
    return ch->zc;
}

void channel_zero_copy_stats(Channel *ch, ChannelZeroCopyStats *stats)
{
    *stats = ch->zc ? ch->zc->stats : (ChannelZeroCopyStats){ 0 };
}

/* ---- by reference: vmsplice into a pipe, splice into the socket ---- */

/*
 * Only unix sockets: over tcp loopback, spliced pages cost the reader
 * more than they save the writer (1 GiB, 2 channels: send 229 against
 * 302 ms of CPU, receive 444 against 252 ms).
 */
static bool channel_splice_wanted(Channel *ch)
{
    int domain = -1;
    socklen_t len = sizeof(domain);

    return !ch->layer_ops && ch->pollable &&
           getsockopt(ch->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

/* Open the pipe on first use; false when this channel must copy. */
static bool channel_splice_ready(Channel *ch)
{
    ChannelZeroCopy *zc = channel_zc(ch);

    if (zc->splice == CHANNEL_SPLICE_UNPROBED) {
        zc->splice = CHANNEL_SPLICE_NO;
        if (channel_splice_wanted(ch) && pipe2(zc->pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
            /* A smaller pipe (a user over pipe-user-pages-soft) only means more rounds. */
            fcntl(zc->pipe[1], F_SETPIPE_SZ, CHANNEL_SPLICE_PIPE_SIZE);
            zc->splice = CHANNEL_SPLICE_PIPE;
        }
    }
    return zc->splice == CHANNEL_SPLICE_PIPE;
}

/* Skip @n bytes of *@v (*@cnt entries). */
static void channel_zc_iov_advance(struct iovec **v, int *cnt, size_t n)
{
    while (*cnt > 0 && n >= (*v)->iov_len) {
        n -= (*v)->iov_len;
        (*v)++;
        (*cnt)--;
    }
    if (*cnt > 0) {
        (*v)->iov_base = (uint8_t *)(*v)->iov_base + n;
        (*v)->iov_len -= n;
    }
}

/*
 * Move what the pipe holds (@inpipe bytes) into the socket, as far as it
 * takes it now: the bytes moved, or -1 with @errp set.  @more: more follows.
 */
static ssize_t channel_splice_out(Channel *ch, size_t inpipe, bool more, GError **errp)
{
    ssize_t n = splice(ch->zc->pipe[0], NULL, ch->fd, NULL, inpipe,
                       SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0));

    if (n > 0) {
        return n;
    }
    if (n < 0 && errno == EINTR) {
        return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return channel_cancel_wait_fd(ch->cancel, ch->fd, POLLOUT, errp) ? 0 : -1;
    }
    error_setg_errno(errp, n < 0 ? errno : EPIPE, "failed to write migration stream");
    return -1;
}

bool channel_writev_by_ref(Channel *ch, const struct iovec *iov, int iovcnt,
                           GError **errp)
{
    g_autofree struct iovec *local = NULL;
    struct iovec *v;
    int cnt = iovcnt;
    size_t inpipe = 0, total = 0;

    for (int i = 0; i < iovcnt; i++) {
        total += iov[i].iov_len;
    }
    if (!channel_splice_ready(ch)) {
        ch->zc->stats.copied_bytes += total;
        return channel_writev_all(ch, iov, iovcnt, errp);
    }
    local = g_memdup2(iov, iovcnt * sizeof(*iov));
    v = local;
    while (cnt > 0 || inpipe > 0) {
        ssize_t n;

        if (!channel_cancel_check(ch->cancel, errp)) {
            return false;
        }
        if (cnt > 0) {
            /* The pipe full (EAGAIN) is fine: the splice below drains it. */
            n = vmsplice(ch->zc->pipe[1], v, MIN(cnt, IOV_MAX), SPLICE_F_NONBLOCK);
            if (n > 0) {
                inpipe += n;
                channel_zc_iov_advance(&v, &cnt, n);
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                error_setg_errno(errp, errno, "failed to queue pages for the migration stream");
                return false;
            }
        }
        if (inpipe > 0) {
            n = channel_splice_out(ch, inpipe, cnt > 0, errp);
            if (n < 0) {
                return false;
            }
            inpipe -= n;
        }
    }
    ch->zc->stats.spliced_bytes += total;
    return true;
}

/* ---- MSG_ZEROCOPY ---- */

bool channel_zero_copy_enable(Channel *ch, GError **errp)
{
    int one = 1;

    if (ch->layer_ops || !ch->pollable ||
        setsockopt(ch->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0) {
        error_setg(errp, "Zero copy send feature not detected in host kernel");
        return false;
    }
    channel_zc(ch)->msg_zerocopy = true;
    return true;
}

/* One completion report: a range of sendmsg calls the kernel is done with. */
static bool channel_zc_account(ChannelZeroCopy *zc, const struct sock_extended_err *serr,
                               GError **errp)
{
    uint32_t range;

    if (serr->ee_origin != SO_EE_ORIGIN_ZEROCOPY) {
        error_setg(errp, "Error not from zero copy");
        return false;
    }
    if (serr->ee_errno) {
        error_setg_errno(errp, serr->ee_errno, "zero-copy send failed");
        return false;
    }
    /* ee_info..ee_data, inclusive, in the 32-bit sequence the kernel keeps. */
    range = serr->ee_data - serr->ee_info + 1;
    zc->done += range;
    if (serr->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) {
        zc->stats.zc_copied += range;
    } else {
        zc->round_real = true;
    }
    return true;
}

/* Read one message of the error queue: 1 if read, 0 if empty, -1 with @errp set. */
static int channel_zc_read_errqueue(Channel *ch, GError **errp)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct sock_extended_err)) * 2];
        struct cmsghdr align;
    } control;
    struct msghdr msg = { .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };

    if (recvmsg(ch->fd, &msg, MSG_ERRQUEUE) < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return 0;
        }
        error_setg_errno(errp, errno, "failed to read the zero-copy completions");
        return -1;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        struct sock_extended_err serr;

        if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
              (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR))) {
            continue;
        }
        memcpy(&serr, CMSG_DATA(cm), sizeof(serr));
        if (!channel_zc_account(ch->zc, &serr, errp)) {
            return -1;
        }
    }
    return 1;
}

/*
 * Wait for the error queue (POLLERR) or the token.  A socket hung up with
 * sends still unreported would wait for ever: that is an error.
 */
static bool channel_zc_wait(Channel *ch, GError **errp)
{
    struct pollfd pfd[2] = {
        { .fd = ch->fd, .events = 0 },     /* POLLERR and POLLHUP are always reported */
        { .fd = ch->cancel->efd, .events = POLLIN },
    };

    for (;;) {
        if (!channel_cancel_check(ch->cancel, errp)) {
            return false;
        }
        if (poll(pfd, G_N_ELEMENTS(pfd), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_setg_errno(errp, errno, "failed to wait for the migration channel");
            return false;
        }
        if (pfd[0].revents & POLLERR) {
            return true;
        }
        if (pfd[0].revents & (POLLHUP | POLLNVAL)) {
            error_setg(errp, "migration channel closed with zero-copy sends unreported");
            return false;
        }
    }
}

/* Read completions until at most @pending sendmsg calls remain unreported. */
static bool channel_zc_reap(Channel *ch, uint64_t pending, GError **errp)
{
    ChannelZeroCopy *zc = ch->zc;

    while (zc->queued > zc->done + pending) {
        int r = channel_zc_read_errqueue(ch, errp);

        if (r < 0 || (r == 0 && !channel_zc_wait(ch, errp))) {
            return false;
        }
    }
    return true;
}

bool channel_writev_zero_copy(Channel *ch, const struct iovec *iov, int iovcnt,
                              GError **errp)
{
    g_autofree struct iovec *local = g_memdup2(iov, iovcnt * sizeof(*iov));
    ChannelZeroCopy *zc = ch->zc;
    struct iovec *v = local;
    int cnt = iovcnt;

    g_assert(zc && zc->msg_zerocopy);
    while (cnt > 0) {
        struct msghdr msg = { .msg_iov = v, .msg_iovlen = MIN(cnt, IOV_MAX) };
        ssize_t n;

        if (!channel_cancel_check(ch->cancel, errp)) {
            return false;
        }
        n = sendmsg(ch->fd, &msg, MSG_ZEROCOPY);
        if (n > 0) {
            zc->queued++;
            zc->stats.zc_sends++;
            channel_zc_iov_advance(&v, &cnt, n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!channel_cancel_wait_fd(ch->cancel, ch->fd, POLLOUT, errp)) {
                return false;
            }
        } else if (n < 0 && errno == ENOBUFS && zc->queued > zc->done) {
            /* Unread completions hold socket memory: read them, then retry. */
            if (!channel_zc_reap(ch, 0, errp)) {
                return false;
            }
        } else if (n < 0 && errno == ENOBUFS) {
            error_setg(errp, "Process can't lock enough memory for using MSG_ZEROCOPY");
            return false;
        } else {
            error_setg_errno(errp, n < 0 ? errno : EPIPE, "failed to write migration stream");
            return false;
        }
    }
    return true;
}

int channel_zero_copy_flush(Channel *ch, GError **errp)
{
    ChannelZeroCopy *zc = ch->zc;
    bool sent, missed;

    g_assert(zc && zc->msg_zerocopy);
    if (!channel_zc_reap(ch, 0, errp)) {
        return -1;
    }
    sent = zc->queued > zc->round_queued;
    missed = sent && !zc->round_real;
    zc->round_queued = zc->queued;
    zc->round_real = false;
    return missed ? 1 : 0;
}
