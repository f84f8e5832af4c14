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
 * Called with the socket just before connect() and with -1 right after it
 * returns, so another thread can shutdown() the socket to abort a connect
 * that hangs (Linux aborts a pending TCP connect that way).
 */
typedef void (*SocketConnectingFunc)(int fd, void *opaque);

/* socket_inet_open() with a hook around each client connect(). */
int socket_inet_open_full(const char *host, const char *port, bool server,
                          SocketConnectingFunc connecting, void *opaque,
                          GError **errp);

#endif
