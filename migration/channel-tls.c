/*
 * The TLS side of the channel layer (include/migration/channel-tls.h).
 * The session never blocks; when it needs the fd it says for what, and we
 * wait here as channel.c does: poll() on the fd and the cancel token, plus
 * a deadline while shaking hands.
 */
#include "channel-internal.h"
#include "migration/channel-tls.h"
#include "qemu/error.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

static TlsSession *session_of(Channel *ch)
{
    return ch->layer;
}

/*
 * Wait for the direction the session asked for.  @deadline_us (monotonic,
 * or -1 for none) bounds the handshake: "TLS handshake timed out".
 */
static bool channel_tls_wait(Channel *ch, gint64 deadline_us, GError **errp)
{
    struct pollfd pfd[2] = {
        { .fd = ch->fd,
          .events = tls_session_wants_write(session_of(ch)) ? POLLOUT : POLLIN },
        { .fd = ch->cancel->efd, .events = POLLIN },
    };

    if (!ch->pollable) {
        return true;        /* a file never says EAGAIN: try again at once */
    }
    for (;;) {
        int timeout = -1;
        int n;

        if (channel_cancel_is_triggered(ch->cancel)) {
            error_setg_errno(errp, ECANCELED, "migration channel was cancelled");
            return false;
        }
        if (deadline_us >= 0) {
            gint64 left = deadline_us - g_get_monotonic_time();

            if (left <= 0) {
                error_setg(errp, "TLS handshake timed out after %d ms",
                           CHANNEL_TLS_HANDSHAKE_TIMEOUT_MS);
                return false;
            }
            timeout = (int)((left + 999) / 1000);
        }
        n = poll(pfd, G_N_ELEMENTS(pfd), timeout);
        if (n < 0 && errno != EINTR) {
            error_setg_errno(errp, errno, "failed to wait for the migration channel");
            return false;
        }
        if (n > 0 && pfd[0].revents && !channel_cancel_is_triggered(ch->cancel)) {
            return true;
        }
    }
}

/* Step the handshake to its end, waiting for the fd as it asks. */
static bool channel_tls_handshake_locked(Channel *ch, GError **errp)
{
    gint64 deadline = g_get_monotonic_time() +
                      (gint64)CHANNEL_TLS_HANDSHAKE_TIMEOUT_MS * 1000;

    for (;;) {
        int r = tls_session_handshake(session_of(ch), errp);

        if (r != 0) {
            return r > 0;
        }
        if (!channel_tls_wait(ch, deadline, errp)) {
            return false;
        }
    }
}

bool channel_tls_handshake(Channel *ch, GError **errp)
{
    TlsSession *s = session_of(ch);
    bool ok;

    if (tls_session_handshake_done(s)) {
        return true;
    }
    /* The reader and the writer may both get here first: one shakes hands. */
    tls_session_handshake_lock(s);
    ok = channel_tls_handshake_locked(ch, errp);
    tls_session_handshake_unlock(s);
    return ok;
}

static ssize_t channel_tls_read(Channel *ch, void *buf, size_t len, GError **errp)
{
    if (!channel_tls_handshake(ch, errp)) {
        return -1;
    }
    for (;;) {
        ssize_t n;

        if (channel_cancel_is_triggered(ch->cancel)) {
            error_setg_errno(errp, ECANCELED, "migration channel was cancelled");
            return -1;
        }
        n = tls_session_read(session_of(ch), buf, len, errp);
        if (n != TLS_SESSION_AGAIN) {
            return n;
        }
        if (!channel_tls_wait(ch, -1, errp)) {
            return -1;
        }
    }
}

/* All of one buffer, one record at a time. */
static bool channel_tls_write_all(Channel *ch, const uint8_t *buf, size_t len,
                                  GError **errp)
{
    while (len > 0) {
        ssize_t n;

        if (channel_cancel_is_triggered(ch->cancel)) {
            error_setg_errno(errp, ECANCELED, "migration channel was cancelled");
            return false;
        }
        n = tls_session_write(session_of(ch), buf, len, errp);
        if (n == TLS_SESSION_AGAIN) {
            if (!channel_tls_wait(ch, -1, errp)) {
                return false;
            }
            continue;
        }
        if (n < 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

/*
 * The most plaintext one TLS record carries.  The stream's iovec holds
 * 4 KiB pages between few-byte headers; one record per entry would spend
 * a record header, a MAC and a syscall on each 8-byte header, so entries
 * are packed into full records first.
 */
#define CHANNEL_TLS_RECORD (16 * 1024)

static bool channel_tls_writev_all(Channel *ch, const struct iovec *iov, int iovcnt,
                            GError **errp)
{
    g_autofree uint8_t *rec = NULL;
    size_t fill = 0;

    if (!channel_tls_handshake(ch, errp)) {
        return false;
    }
    rec = g_malloc(CHANNEL_TLS_RECORD);
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t len = iov[i].iov_len;

        while (len > 0) {
            size_t n = MIN(len, CHANNEL_TLS_RECORD - fill);

            memcpy(rec + fill, p, n);
            fill += n;
            p += n;
            len -= n;
            if (fill == CHANNEL_TLS_RECORD) {
                if (!channel_tls_write_all(ch, rec, fill, errp)) {
                    return false;
                }
                fill = 0;
            }
        }
    }
    return channel_tls_write_all(ch, rec, fill, errp);
}

static void channel_tls_detach(Channel *ch)
{
    /* Best effort: a peer that reads no more must not hold the close. */
    tls_session_bye(session_of(ch));
    g_clear_pointer(&ch->layer, tls_session_free);
    ch->layer_ops = NULL;
}

static const ChannelLayerOps channel_tls_ops = {
    .read = channel_tls_read,
    .writev_all = channel_tls_writev_all,
    .detach = channel_tls_detach,
};

void channel_tls_attach(Channel *ch, TlsSession *session)
{
    g_assert(!ch->layer_ops);
    ch->layer_ops = &channel_tls_ops;
    ch->layer = session;
}
