/*
 * One TLS session over a non-blocking file descriptor, with GnuTLS.  The
 * session never waits: each call does what the fd allows now and says
 * which direction it waits for (TLS_SESSION_AGAIN), so the caller owns how
 * it waits (the migration channel polls the fd with its cancel token).
 */
#ifndef CRYPTO_TLS_SESSION_H
#define CRYPTO_TLS_SESSION_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "crypto/authz.h"
#include "crypto/tls-creds.h"

typedef struct TlsSession TlsSession;

/* Returned by the calls below when the fd is not ready yet. */
#define TLS_SESSION_AGAIN (-2)

/*
 * A session with @creds over @fd (not owned), client or server as the
 * credentials' endpoint says.  @hostname (client only, may be NULL) is
 * what the server's x509 certificate must match; @authz (server only, may
 * be NULL) must allow the client certificate's distinguished name.  Both
 * are referenced.
 */
TlsSession *tls_session_new(TlsCreds *creds, int fd, const char *hostname,
                            Authz *authz, GError **errp);
void tls_session_free(TlsSession *s);               /* NULL-safe */

/*
 * One handshake step: 1 when done (the peer checked too), 0 when it must
 * wait for the fd (tls_session_wants_write() says for what), -1 with
 * @errp set on failure ("TLS handshake failed: <GnuTLS's reason>", or the
 * peer check's message).
 */
int tls_session_handshake(TlsSession *s, GError **errp);

/* Has the handshake (with the peer check) completed?  Any thread. */
bool tls_session_handshake_done(TlsSession *s);

/*
 * Held by the one thread that steps the handshake to its end, waits
 * included: a second thread wanting the session waits here, then finds it
 * done (or failed).  Every other call may run in two threads at once only
 * as one reader and one writer, after the handshake.
 */
void tls_session_handshake_lock(TlsSession *s);
void tls_session_handshake_unlock(TlsSession *s);

/* After TLS_SESSION_AGAIN or a 0 handshake: wait for POLLOUT, else POLLIN. */
bool tls_session_wants_write(TlsSession *s);

/* Decrypt up to @len bytes: the count, 0 at the peer's end, or
 * TLS_SESSION_AGAIN, or -1 with @errp set. */
ssize_t tls_session_read(TlsSession *s, void *buf, size_t len, GError **errp);

/* Encrypt and send some of @buf: the count taken, TLS_SESSION_AGAIN (call
 * again with the same @buf and @len), or -1 with @errp set. */
ssize_t tls_session_write(TlsSession *s, const void *buf, size_t len,
                          GError **errp);

/* Tell the peer the stream ends (close_notify), if the fd takes it now. */
void tls_session_bye(TlsSession *s);

#endif
