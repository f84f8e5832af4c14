/*
 * Which TLS session a migration channel gets, from the tls-creds,
 * tls-hostname and tls-authz parameters (QEMU's semantics: an empty
 * tls-creds is plain text; the source is the client, the destination the
 * server).
 *
 * A MigrationTls is those parameters resolved once per migration, under
 * the BQL (the object set changes under it): the credentials and the authz
 * object referenced, the host name chosen.  Every channel of the migration
 * (main, multifd, postcopy preempt; the return path shares the main one's)
 * is then made TLS with migration_tls_wrap(), from any thread and without
 * a lock, and the session goes into the channel
 * (include/migration/channel-tls.h).
 */
#ifndef MIGRATION_TLS_H
#define MIGRATION_TLS_H

#include "crypto/object-set.h"
#include "migration/channel.h"
#include "migration/options.h"

typedef struct MigrationTls MigrationTls;

/* Whether @opts ask for TLS (a non-empty tls-creds). */
bool migration_tls_enabled(const MigrationOptions *opts);

/*
 * BQL held, TLS enabled in @opts.  Source: client credentials, and the
 * name the server's certificate must match (tls-hostname, else the host
 * of a tcp @addr; x509 needs one).  Destination (@addr NULL): server
 * credentials, and the tls-authz object when the credentials are x509
 * with verify-peer.  NULL with QEMU's error.
 */
MigrationTls *migration_tls_new(ObjectSet *objects, const MigrationOptions *opts,
                                const MigrationAddress *addr, GError **errp);
void migration_tls_free(MigrationTls *tls);          /* NULL-safe */

/*
 * Put a session on @ch.  A client shakes hands now (the channel's cancel
 * token and handshake timeout bound it); a server's handshake runs at the
 * first read, on the thread that reads.  On failure @ch is the caller's
 * to close.
 */
bool migration_tls_wrap(MigrationTls *tls, Channel *ch, GError **errp);

#endif
