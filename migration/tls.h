/*
 * Which TLS session a migration channel gets, from the tls-creds,
 * tls-hostname and tls-authz parameters (QEMU's semantics: an empty
 * tls-creds is plain text; the source is the client, the destination the
 * server).  The session then goes into the channel
 * (include/migration/channel-tls.h), so every channel, whichever part of
 * the migration opens it, is made TLS by calling one of these.
 */
#ifndef MIGRATION_TLS_H
#define MIGRATION_TLS_H

#include "crypto/object-set.h"
#include "migration/channel.h"
#include "migration/options.h"

/* Whether @opts ask for TLS (a non-empty tls-creds). */
bool migration_tls_enabled(const MigrationOptions *opts);

/*
 * Source, any thread, BQL not held (it is taken for the lookup): with TLS
 * on, shake hands as the client on @ch, connected to @addr (whose host is
 * the default tls-hostname).  True at once with TLS off.  On failure @ch
 * is left to the caller to close.
 */
bool migration_tls_connect(Channel *ch, ObjectSet *objects,
                           const MigrationOptions *opts,
                           const MigrationAddress *addr, GError **errp);

/*
 * Destination, BQL held: with TLS on, attach a server session (the
 * tls-authz object checks the client) to @ch; the handshake runs at its
 * first read, on the thread that loads.  True at once with TLS off.
 */
bool migration_tls_accept(Channel *ch, ObjectSet *objects,
                          const MigrationOptions *opts, GError **errp);

#endif
