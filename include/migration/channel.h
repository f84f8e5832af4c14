/*
 * Migration channels: a file descriptor (socket, pipe, regular file) whose
 * every blocking read, write or connect can be cancelled from another
 * thread.  Every channel a migration opens goes through here, so cancel,
 * and later TLS and zero-copy, are one wrapper instead of one fix per
 * transport.
 *
 * A ChannelCancel is a cancel token: an eventfd that turns readable, for
 * good, when someone cancels.  A migration owns one and shares it with all
 * its channels (one write wakes every thread blocked on any of them); a
 * channel made without one gets its own.  Channels are non-blocking, and
 * every wait is poll() on the channel's fd plus the token's eventfd.
 *
 * Regular files and block devices cannot be polled (the kernel always
 * calls them ready), so they are read and written in bounded chunks with
 * the token checked between chunks: a cancel waits for at most the chunk
 * in flight.  A single read or write that the kernel never completes (a
 * hard NFS mount whose server is gone) cannot be interrupted this way.
 */
#ifndef MIGRATION_CHANNEL_H
#define MIGRATION_CHANNEL_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct ChannelCancel ChannelCancel;
typedef struct Channel Channel;

/* ---- cancel tokens ---- */

/* A new token, not cancelled (refcount 1). */
ChannelCancel *channel_cancel_new(GError **errp);
ChannelCancel *channel_cancel_ref(ChannelCancel *c);
/* Drop a reference; the last one closes the eventfd.  NULL-safe. */
void channel_cancel_unref(ChannelCancel *c);

/* Cancel: every wait on @c ends, now and later.  Any thread; idempotent. */
void channel_cancel_trigger(ChannelCancel *c);
bool channel_cancel_is_triggered(ChannelCancel *c);

/*
 * Wait until @fd is ready for @events (POLLIN / POLLOUT; a hang-up or an
 * error counts as ready, so the next syscall reports it), or fail with
 * ECANCELED in @errp once @c is triggered.  For waits before a Channel
 * exists, e.g. a non-blocking connect().
 */
bool channel_cancel_wait_fd(ChannelCancel *c, int fd, short events,
                            GError **errp);

/* Sleep @ms, or fail with ECANCELED in @errp as soon as @c is triggered. */
bool channel_cancel_sleep_ms(ChannelCancel *c, int ms, GError **errp);

/* ---- channels ---- */

/*
 * A channel over @fd, which it owns from now on (closed here even on
 * failure).  Pollable fds are switched to non-blocking.  @cancel (may be
 * NULL: the channel makes its own) is referenced, not taken.
 */
Channel *channel_new_fd(int fd, ChannelCancel *cancel, GError **errp);

/* Read up to @len bytes, waiting for some: the count, 0 at end of stream,
 * -1 with @errp set on error or cancel. */
ssize_t channel_read(Channel *ch, void *buf, size_t len, GError **errp);

/*
 * Read exactly the bytes @iov describes, waiting as needed: 1 when all
 * arrived, 0 when the stream ended before the first byte, -1 with @errp
 * set on error, cancel, or an end of stream after the first byte.
 */
int channel_readv_all(Channel *ch, const struct iovec *iov, int iovcnt,
                      GError **errp);

/*
 * Look at the next @len bytes (at most CHANNEL_PEEK_MAX) without consuming
 * them: later reads return them first.  Waits until they all arrived: the
 * count, less than @len only at the end of stream, -1 with @errp set on
 * error or cancel.  How the destination tells a channel's kind by its
 * first bytes, whatever carries them (a socket, TLS over it).
 */
#define CHANNEL_PEEK_MAX 8
ssize_t channel_peek(Channel *ch, void *buf, size_t len, GError **errp);

/* Write all of @iov (any length), waiting as needed; false with @errp set
 * on error or cancel. */
bool channel_writev_all(Channel *ch, const struct iovec *iov, int iovcnt,
                        GError **errp);

/* Cancel this channel's token (and so every channel sharing it).  Any
 * thread. */
void channel_shutdown(Channel *ch);

/*
 * Another reference to @ch, for the other direction of the same
 * connection (the return path): reads on one thread and writes on another
 * share the fd, the cancel token and whatever the channel wraps around
 * the fd.  Each reference is dropped with channel_close().
 */
Channel *channel_ref(Channel *ch);

/* Does @ch carry bytes both ways (a socket), as a return path needs? */
bool channel_is_bidirectional(Channel *ch);

/* Drop a reference; the last one closes the fd and frees @ch.  False if
 * close() failed.  NULL-safe. */
bool channel_close(Channel *ch, GError **errp);

/* The fd, for what the wrapper does not do itself (never close it). */
int channel_fd(Channel *ch);

#endif
