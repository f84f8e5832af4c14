/*
 * TLS inside the channel layer: a Channel may carry a TLS session, and
 * then channel_read() and channel_writev_all() encrypt and decrypt through
 * it, with the same poll() on the fd and the cancel token as a plain
 * channel.  Every channel a migration opens (main, multifd, the postcopy
 * preempt channel, the return path) gets TLS the same way: make the
 * session (migration/tls.h says from which parameters), attach it.
 *
 * The handshake runs at channel_tls_handshake(), or else at the first read
 * or write; it is bounded by the cancel token and by
 * CHANNEL_TLS_HANDSHAKE_TIMEOUT_MS, so a peer that never answers (or
 * speaks no TLS and waits) fails the channel instead of hanging it.
 */
#ifndef MIGRATION_CHANNEL_TLS_H
#define MIGRATION_CHANNEL_TLS_H

#include "migration/channel.h"
#include "crypto/tls-session.h"

#define CHANNEL_TLS_HANDSHAKE_TIMEOUT_MS 10000

/* Give @session (made over channel_fd(@ch)) to @ch, which frees it at close. */
void channel_tls_attach(Channel *ch, TlsSession *session);

/* Shake hands now (a no-op once done); false with GnuTLS's or the peer
 * check's reason, a timeout or a cancel in @errp. */
bool channel_tls_handshake(Channel *ch, GError **errp);

#endif
