/*
 * A proxy a migration test puts between source and destination: it
 * accepts connections on a unix socket, connects each to the target's
 * socket and forwards both ways, each connection on a thread of its own.  A tap may look
 * at (and change) every byte before it is forwarded, hold bytes back
 * until it has seen enough, and at a byte of its choosing act: close the
 * connection, truncate one direction, or stall it.  Used to cut a link
 * (postcopy recovery) and to inject faults at protocol steps.
 */
#ifndef MIGRATION_PROXY_H
#define MIGRATION_PROXY_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* A listening unix socket at @path / a connection to it (-1 if refused). */
int mig_unix_listen(const char *path);
int mig_unix_connect(const char *path);

/* The direction of a connection's bytes. */
typedef enum MigProxyDir {
    MIG_PROXY_TO_TARGET,        /* from the client that connected (source) */
    MIG_PROXY_TO_CLIENT,        /* back (the destination's return path) */
} MigProxyDir;

typedef enum MigProxyAction {
    MIG_PROXY_FORWARD,          /* forward what the tap said, keep the rest */
    MIG_PROXY_CLOSE,            /* then close both ends of the connection */
    MIG_PROXY_TRUNCATE,         /* then end this direction (shutdown for
                                 * writing), dropping what comes after */
    MIG_PROXY_STALL,            /* then read and write nothing more on the
                                 * connection until the proxy is freed */
} MigProxyAction;

/*
 * Called on connection @conn's thread (connections are numbered from 0 in
 * the order they came) with the bytes of @dir not forwarded yet
 * (@buf, @len: what it held back before, then what came since; it may
 * change them).  @offset: how many bytes of @dir went before @buf.
 * Returns how many to forward now; *@action says what happens after
 * those (FORWARD: the rest waits for more bytes, unless the tap returns
 * @len).  Once an action other than FORWARD is taken, the tap is not
 * called again for that connection.
 */
typedef size_t (*MigProxyTap)(void *opaque, unsigned conn, MigProxyDir dir, uint8_t *buf,
                              size_t len, uint64_t offset, MigProxyAction *action);

typedef struct MigProxy MigProxy;

/* Listen on @listen_path, forward to @target_path; @tap may be NULL. */
MigProxy *mig_proxy_new(const char *listen_path, const char *target_path,
                        MigProxyTap tap, void *opaque);

/* Wait until @want connections were accepted (the source's connect()
 * returns before the proxy's accept()); exactly @want. */
void mig_proxy_wait_connections(MigProxy *p, unsigned want);

/* Wait until the tap took an action other than FORWARD (fails after 120 s). */
void mig_proxy_wait_action(MigProxy *p);

/* Close every connection (as a broken network would), stop, free. */
void mig_proxy_cut_and_free(MigProxy *p);

#endif
