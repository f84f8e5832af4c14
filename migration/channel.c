/*
 * Cancellable migration channels (include/migration/channel.h): cancel
 * tokens over an eventfd, and the fd channel whose reads and writes wait
 * in poll() on the fd and the token together.
 */
#include "channel-internal.h"
#include "qemu/error.h"
#include "qemu/fdset.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The most one read or write on an unpollable fd (a regular file) moves:
 * the token is checked between chunks, so this bounds how long a cancel
 * waits behind a slow filesystem (1 MiB at 10 MB/s: 100 ms).
 */
#define CHANNEL_FILE_CHUNK (1 << 20)


/* ---- cancel tokens ---- */

ChannelCancel *channel_cancel_new(GError **errp)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ChannelCancel *c;

    if (efd < 0) {
        error_setg_errno(errp, errno, "failed to create a cancel eventfd");
        return NULL;
    }
    c = g_new0(ChannelCancel, 1);
    c->refcount = 1;
    c->efd = efd;
    return c;
}

ChannelCancel *channel_cancel_ref(ChannelCancel *c)
{
    g_atomic_int_inc(&c->refcount);
    return c;
}

void channel_cancel_unref(ChannelCancel *c)
{
    if (c && g_atomic_int_dec_and_test(&c->refcount)) {
        close(c->efd);
        g_free(c);
    }
}

void channel_cancel_trigger(ChannelCancel *c)
{
    if (g_atomic_int_compare_and_exchange(&c->triggered, 0, 1)) {
        /* Cannot fail: the counter is far from its maximum. */
        eventfd_write(c->efd, 1);
    }
}

bool channel_cancel_is_triggered(ChannelCancel *c)
{
    return g_atomic_int_get(&c->triggered);
}

bool channel_cancel_check(ChannelCancel *c, GError **errp)
{
    if (channel_cancel_is_triggered(c)) {
        error_setg_errno(errp, ECANCELED, "migration channel was cancelled");
        return false;
    }
    return true;
}

bool channel_cancel_wait_fd(ChannelCancel *c, int fd, short events,
                            GError **errp)
{
    struct pollfd pfd[2] = {
        { .fd = fd, .events = events },
        { .fd = c->efd, .events = POLLIN },
    };

    for (;;) {
        if (!channel_cancel_check(c, errp)) {
            return false;
        }
        if (poll(pfd, G_N_ELEMENTS(pfd), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_setg_errno(errp, errno, "failed to wait for the migration channel");
            return false;
        }
        /* The fd ready or hung up: the caller's next syscall says which. */
        if (pfd[0].revents) {
            return channel_cancel_check(c, errp);
        }
    }
}

bool channel_cancel_sleep_ms(ChannelCancel *c, int ms, GError **errp)
{
    struct pollfd pfd = { .fd = c->efd, .events = POLLIN };

    /* EINTR only shortens the sleep: the caller retries anyway. */
    poll(&pfd, 1, ms);
    return channel_cancel_check(c, errp);
}

/* ---- fd channels ---- */

Channel *channel_new_fd(int fd, ChannelCancel *cancel, GError **errp)
{
    Channel *ch;
    struct stat st;
    bool pollable;

    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "migration channel fd %d", fd);
        fdset_close(fd);
        return NULL;
    }
    pollable = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
    if (pollable && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        error_setg_errno(errp, errno, "failed to make migration channel non-blocking");
        fdset_close(fd);
        return NULL;
    }
    cancel = cancel ? channel_cancel_ref(cancel) : channel_cancel_new(errp);
    if (!cancel) {
        fdset_close(fd);
        return NULL;
    }
    ch = g_new0(Channel, 1);
    ch->refcount = 1;
    ch->fd = fd;
    ch->pollable = pollable;
    ch->cancel = cancel;
    return ch;
}

/*
 * Wait for @events after EAGAIN.  An unpollable fd never says EAGAIN, so
 * this only runs for pollable ones.
 */
static bool channel_wait(Channel *ch, short events, GError **errp)
{
    return channel_cancel_wait_fd(ch->cancel, ch->fd, events, errp);
}

/* Hand out read-ahead bytes first; how many were copied. */
static size_t channel_take_peeked(Channel *ch, void *buf, size_t len)
{
    size_t n = MIN(len, ch->npeeked);

    memcpy(buf, ch->peeked, n);
    memmove(ch->peeked, ch->peeked + n, ch->npeeked - n);
    ch->npeeked -= n;
    return n;
}

ssize_t channel_read(Channel *ch, void *buf, size_t len, GError **errp)
{
    if (ch->npeeked && len) {
        return channel_take_peeked(ch, buf, len);
    }
    if (ch->layer_ops) {
        return ch->layer_ops->read(ch, buf, len, errp);
    }
    if (!ch->pollable) {
        len = MIN(len, CHANNEL_FILE_CHUNK);
    }
    for (;;) {
        ssize_t n;

        if (!channel_cancel_check(ch->cancel, errp)) {
            return -1;
        }
        n = read(ch->fd, buf, len);
        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            error_setg_errno(errp, errno, "failed to read migration stream");
            return -1;
        }
        if (!channel_wait(ch, POLLIN, errp)) {
            return -1;
        }
    }
}

ssize_t channel_peek(Channel *ch, void *buf, size_t len, GError **errp)
{
    g_assert(len <= CHANNEL_PEEK_MAX);
    while (ch->npeeked < len) {
        uint8_t tmp[CHANNEL_PEEK_MAX];
        size_t have = ch->npeeked;
        ssize_t n;

        /* channel_read would hand the read-ahead back: read past it. */
        ch->npeeked = 0;
        n = channel_read(ch, tmp, len - have, errp);
        ch->npeeked = have;
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        memcpy(ch->peeked + have, tmp, n);
        ch->npeeked += n;
    }
    memcpy(buf, ch->peeked, MIN(len, ch->npeeked));
    return MIN(len, ch->npeeked);
}

/* Skip @n bytes of the iovec array *@v (*@cnt entries), as a partial transfer leaves it. */
static void channel_iov_advance(struct iovec **v, int *cnt, size_t n)
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
 * One readv of the fd into @v: the count (0 at end of stream), -2 when
 * it should be retried (interrupted, or it waited for data), -1 with
 * @errp set on error or cancel.
 */
static ssize_t channel_readv_fd(Channel *ch, struct iovec *v, int cnt,
                                GError **errp)
{
    ssize_t n = ch->pollable ? readv(ch->fd, v, MIN(cnt, IOV_MAX))
                             : read(ch->fd, v->iov_base,
                                    MIN(v->iov_len, CHANNEL_FILE_CHUNK));

    if (n >= 0 || errno == EINTR) {
        return n >= 0 ? n : -2;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        error_setg_errno(errp, errno, "failed to read migration stream");
        return -1;
    }
    return channel_wait(ch, POLLIN, errp) ? -2 : -1;
}

int channel_readv_all(Channel *ch, const struct iovec *iov, int iovcnt,
                      GError **errp)
{
    g_autofree struct iovec *local = g_memdup2(iov, iovcnt * sizeof(*iov));
    struct iovec *v = local;
    int cnt = iovcnt;
    size_t done = 0;

    /* Read-ahead first, then one readv per wakeup (a multifd packet's 128 pages at once). */
    while (cnt > 0 && ch->npeeked) {
        size_t n = channel_take_peeked(ch, v->iov_base, v->iov_len);

        done += n;
        channel_iov_advance(&v, &cnt, n);
    }
    while (cnt > 0) {
        ssize_t n;

        if (!channel_cancel_check(ch->cancel, errp)) {
            return -1;
        }
        if (ch->layer_ops) {    /* plaintext comes out of the layer, not the fd */
            n = ch->layer_ops->read(ch, v->iov_base, v->iov_len, errp);
            if (n < 0) {
                return -1;
            }
        } else {
            n = channel_readv_fd(ch, v, cnt, errp);
            if (n == -2) {
                continue;
            }
            if (n < 0) {
                return -1;
            }
        }
        if (n == 0) {
            if (done == 0) {
                return 0;
            }
            error_setg(errp, "migration stream ended %zu bytes into a record", done);
            return -1;
        }
        done += n;
        channel_iov_advance(&v, &cnt, n);
    }
    return 1;
}

/*
 * One write of the head of @v: all of it on a pollable fd (the kernel takes
 * what fits), at most CHANNEL_FILE_CHUNK bytes on a file.
 */
static ssize_t channel_write_some(Channel *ch, const struct iovec *v, int cnt)
{
    size_t total = 0;
    int n_iov = 0;

    if (ch->pollable) {
        return writev(ch->fd, v, cnt);
    }
    while (n_iov < cnt && total + v[n_iov].iov_len <= CHANNEL_FILE_CHUNK) {
        total += v[n_iov++].iov_len;
    }
    if (n_iov == 0) {
        return write(ch->fd, v->iov_base, CHANNEL_FILE_CHUNK);
    }
    return writev(ch->fd, v, n_iov);
}

bool channel_writev_all(Channel *ch, const struct iovec *iov, int iovcnt,
                        GError **errp)
{
    g_autofree struct iovec *local = g_memdup2(iov, iovcnt * sizeof(*iov));
    struct iovec *v = local;
    int cnt = iovcnt;

    if (ch->layer_ops) {
        return ch->layer_ops->writev_all(ch, iov, iovcnt, errp);
    }
    while (cnt > 0) {
        ssize_t n;

        if (!channel_cancel_check(ch->cancel, errp)) {
            return false;
        }
        n = channel_write_some(ch, v, MIN(cnt, IOV_MAX));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                error_setg_errno(errp, errno, "failed to write migration stream");
                return false;
            }
            if (!channel_wait(ch, POLLOUT, errp)) {
                return false;
            }
            continue;
        }
        /* Skip what was written; a partial write leaves the rest in place. */
        channel_iov_advance(&v, &cnt, n);
    }
    return true;
}

void channel_shutdown(Channel *ch)
{
    channel_cancel_trigger(ch->cancel);
}

Channel *channel_ref(Channel *ch)
{
    g_atomic_int_inc(&ch->refcount);
    return ch;
}

bool channel_is_bidirectional(Channel *ch)
{
    struct stat st;

    return fstat(ch->fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

bool channel_close(Channel *ch, GError **errp)
{
    int ret;

    if (!ch || !g_atomic_int_dec_and_test(&ch->refcount)) {
        return true;
    }
    if (ch->layer_ops) {
        ch->layer_ops->detach(ch);
    }
    if (ch->zc) {
        ch->zc_free(ch->zc);
    }
    ret = fdset_close(ch->fd);     /* a file: channel's fd may come from an fd set */
    channel_cancel_unref(ch->cancel);
    g_free(ch);
    if (ret < 0) {
        error_setg_errno(errp, errno, "failed to close migration stream");
        return false;
    }
    return true;
}

int channel_fd(Channel *ch)
{
    return ch->fd;
}
