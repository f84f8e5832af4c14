/*
 * Migration transports: turn a MigrationAddress (from a URI or the
 * `channels` argument) into the channel carrying the stream.
 * tcp and unix sockets, fd (a socket or pipe passed with getfd), exec
 * (a shell command's stdin/stdout) and file (a path at an offset).
 * An fd: address reaching the transport holds a number: a name given with
 * getfd is resolved by the command that knows the monitor
 * (migration-qmp.c).
 */
#ifndef MIGRATION_TRANSPORT_H
#define MIGRATION_TRANSPORT_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types.h"
#include "migration/channel.h"

/*
 * Parse QEMU's URI forms: tcp:HOST:PORT, unix:PATH, fd:NAME, exec:CMD,
 * file:PATH[,offset=N].  Anything else: "unknown migration protocol: URI".
 */
MigrationAddress *migration_uri_parse(const char *uri, GError **errp);

/*
 * The one address of a `channels` list: exactly one entry of type main.
 * Returns a copy the caller owns.
 */
MigrationAddress *migration_channels_parse(MigrationChannelList *channels,
                                           GError **errp);

/*
 * Outgoing: a connected channel for @addr whose waits end when @cancel is
 * triggered (a tcp connect too), or NULL.  Runs on the migration thread.
 */
Channel *transport_connect(const MigrationAddress *addr, ChannelCancel *cancel,
                           GError **errp);

/* Incoming connections. */
typedef struct TransportListener TransportListener;

/*
 * Called in the main loop with the BQL held; takes ownership of @fd.
 * Returns whether the listener should accept another connection (a
 * multifd migration opens several); fd, exec and file have only one.
 * Only a function that returns false may free the listener.
 */
typedef bool (*TransportAcceptFunc)(int fd, void *opaque);

/*
 * Start accepting on @addr.  Sockets accept connections in the main loop
 * for as long as @accept_fn asks for more; fd, exec and file deliver their
 * fd from an idle callback.
 */
TransportListener *transport_listen(const MigrationAddress *addr,
                                    TransportAcceptFunc accept_fn,
                                    void *opaque, GError **errp);

/* The addresses actually listened on (port 0 resolved), for query-migrate. */
SocketAddressList *transport_listener_addresses(TransportListener *l);

/* Stop listening and remove a unix socket's file.  NULL-safe. */
void transport_listener_free(TransportListener *l);

#endif
