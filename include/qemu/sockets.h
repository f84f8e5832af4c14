/*
 * Opening stream sockets: unix paths and tcp host:port, as a listening
 * server or a connected client.  Shared by socket chardevs and migration.
 */
#ifndef QEMU_SOCKETS_H
#define QEMU_SOCKETS_H

#include <glib.h>
#include <stdbool.h>

/*
 * A unix stream socket on @path: listening (an old socket file is replaced)
 * when @server, else connected.  Returns the fd (CLOEXEC) or -1.
 */
int socket_unix_open(const char *path, bool server, GError **errp);

/*
 * A tcp socket for @host:@port: listening when @server (empty @host means
 * every address; port "0" picks a free one), else connected (empty @host
 * means localhost).  Returns the fd (CLOEXEC) or -1.
 */
int socket_inet_open(const char *host, const char *port, bool server,
                     GError **errp);

/*
 * Wait until @fd is ready for @events (POLLOUT for a connect in progress);
 * false with @errp set stops trying (e.g. the caller was cancelled).
 */
typedef bool (*SocketWaitFunc)(int fd, short events, void *opaque, GError **errp);

/*
 * socket_inet_open() whose client connect() can be abandoned: with @wait,
 * each connect is non-blocking and @wait waits for it, and the socket
 * returned is non-blocking.  Without @wait, as socket_inet_open().
 */
int socket_inet_open_full(const char *host, const char *port, bool server,
                          SocketWaitFunc wait, void *opaque, GError **errp);

/*
 * Wait a moment before a connect is tried again; false with @errp set
 * stops trying (e.g. the caller was cancelled).
 */
typedef bool (*SocketRetryFunc)(void *opaque, GError **errp);

/*
 * A unix stream socket connected to @path, non-blocking, whose connect can
 * be abandoned: a listener whose backlog is full would hold a blocking
 * connect() until it accepts, out of a cancel's reach; non-blocking, the
 * kernel says EAGAIN and offers nothing to poll for, so @retry waits
 * between attempts.  Returns the fd (CLOEXEC, O_NONBLOCK) or -1.
 */
int socket_unix_connect_full(const char *path, SocketRetryFunc retry, void *opaque,
                             GError **errp);

#endif
