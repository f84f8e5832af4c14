/*
 * A GnuTLS session over a non-blocking fd (include/crypto/tls-session.h).
 * GnuTLS moves the bytes with read()/writev() on the fd itself, so any fd
 * works (a socket, or the pipes of exec:), and reports EAGAIN upward; the
 * peer check (certificate, hostname, authz) runs as the last handshake step
 * so a caller never sees a session it should not trust.
 */
#include "crypto/tls-session.h"
#include "tls-creds-internal.h"
#include "qemu/error.h"
#include "qemu/thread.h"

#include <errno.h>
#include <string.h>
#include <gnutls/x509.h>
#include <sys/socket.h>
#include <unistd.h>

struct TlsSession {
    gnutls_session_t session;
    TlsCreds *creds;
    Authz *authz;               /* server: who may connect, or NULL */
    char *hostname;             /* client: the name the server proves */
    int fd;
    gint checked;               /* atomic: the handshake and the peer check passed */
    /*
     * Held through a whole handshake by the thread doing it: the channel's
     * reader and writer may both be the first to use the session (a
     * destination's load thread and its return path's page requests), and
     * two threads stepping one GnuTLS handshake corrupt it.
     */
    QemuMutex handshake_lock;
    /*
     * What one read() took beyond what GnuTLS asked for.  GnuTLS reads a
     * record's 5-byte header, then its body: two syscalls per 16 KiB
     * without this.  Bytes wait here only while GnuTLS is not asking, and
     * every caller tries a read before it polls, so none is forgotten.
     */
    uint8_t *rbuf;
    size_t rpos, rlen;
};

#define TLS_SESSION_RBUF (64 * 1024)

/*
 * sendmsg() with MSG_NOSIGNAL, so a peer that has gone is EPIPE rather
 * than a signal even where SIGPIPE is not ignored; writev() for pipes.
 */
static ssize_t tls_session_push(gnutls_transport_ptr_t opaque, const giovec_t *iov,
                                int iovcnt)
{
    TlsSession *s = opaque;
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
    ssize_t n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);

    if (n < 0 && errno == ENOTSOCK) {
        n = writev(s->fd, (const struct iovec *)iov, iovcnt);
    }

    if (n < 0) {
        gnutls_transport_set_errno(s->session, errno);
    }
    return n;
}

static ssize_t tls_session_pull(gnutls_transport_ptr_t opaque, void *buf, size_t len)
{
    TlsSession *s = opaque;

    if (s->rpos == s->rlen) {
        ssize_t n = read(s->fd, s->rbuf, TLS_SESSION_RBUF);

        if (n <= 0) {
            if (n < 0) {
                gnutls_transport_set_errno(s->session, errno);
            }
            return n;
        }
        s->rpos = 0;
        s->rlen = n;
    }
    len = MIN(len, s->rlen - s->rpos);
    memcpy(buf, s->rbuf + s->rpos, len);
    s->rpos += len;
    return len;
}

TlsSession *tls_session_new(TlsCreds *creds, int fd, const char *hostname,
                            Authz *authz, GError **errp)
{
    bool server = tls_creds_endpoint(creds) == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    TlsSession *s = g_new0(TlsSession, 1);
    int ret;

    s->fd = fd;
    qemu_mutex_init(&s->handshake_lock);
    s->rbuf = g_malloc(TLS_SESSION_RBUF);
    s->creds = tls_creds_ref(creds);
    s->authz = authz ? authz_ref(authz) : NULL;
    s->hostname = g_strdup(hostname);
    ret = gnutls_init(&s->session, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                   GNUTLS_NONBLOCK);
    if (ret < 0) {
        error_setg(errp, "Cannot initialize TLS session: %s", gnutls_strerror(ret));
        s->session = NULL;
        tls_session_free(s);
        return NULL;
    }
    if (!tls_creds_apply(creds, s->session, errp)) {
        tls_session_free(s);
        return NULL;
    }
    if (!server && hostname && tls_creds_type(creds) == TLS_CREDS_X509) {
        gnutls_server_name_set(s->session, GNUTLS_NAME_DNS, hostname, strlen(hostname));
    }
    /* The caller bounds the handshake with its own clock and cancel. */
    gnutls_handshake_set_timeout(s->session, 0);
    gnutls_transport_set_ptr(s->session, s);
    gnutls_transport_set_vec_push_function(s->session, tls_session_push);
    gnutls_transport_set_pull_function(s->session, tls_session_pull);
    return s;
}

void tls_session_free(TlsSession *s)
{
    if (!s) {
        return;
    }
    if (s->session) {
        gnutls_deinit(s->session);
    }
    tls_creds_unref(s->creds);
    authz_unref(s->authz);
    g_free(s->hostname);
    g_free(s->rbuf);
    qemu_mutex_destroy(&s->handshake_lock);
    g_free(s);
}

/* What gnutls_certificate_verify_peers2() found wrong, most specific last. */
static const char *tls_session_status_reason(unsigned int status)
{
    const char *reason = NULL;

    if (status & GNUTLS_CERT_INVALID) {
        reason = "The certificate is not trusted";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        reason = "The certificate hasn't got a known issuer";
    }
    if (status & GNUTLS_CERT_REVOKED) {
        reason = "The certificate has been revoked";
    }
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
        reason = "The certificate uses an insecure algorithm";
    }
    if (status & GNUTLS_CERT_EXPIRED) {
        reason = "The certificate has expired";
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        reason = "The certificate is not yet activated";
    }
    return reason ? reason : (status ? "The certificate is not trusted" : NULL);
}

/* The peer's first certificate: the hostname (client) or authz (server). */
static bool tls_session_check_identity(TlsSession *s, gnutls_x509_crt_t crt,
                                       GError **errp)
{
    g_autofree char *dn = NULL;
    size_t len = 0;

    if (s->hostname && !gnutls_x509_crt_check_hostname(crt, s->hostname)) {
        error_setg(errp, "Certificate does not match the hostname %s", s->hostname);
        return false;
    }
    if (!s->authz) {
        return true;
    }
    gnutls_x509_crt_get_dn(crt, NULL, &len);
    dn = g_malloc0(len + 1);
    if (gnutls_x509_crt_get_dn(crt, dn, &len) < 0) {
        error_setg(errp, "Cannot read the client certificate's distinguished name");
        return false;
    }
    if (!authz_is_allowed(s->authz, dn)) {
        error_setg(errp, "TLS x509 authz check for %s is denied", dn);
        return false;
    }
    return true;
}

static bool tls_session_check_x509(TlsSession *s, GError **errp)
{
    const gnutls_datum_t *certs;
    gnutls_x509_crt_t crt;
    unsigned int status = 0, n = 0;
    const char *reason;
    bool ok;
    int ret = gnutls_certificate_verify_peers2(s->session, &status);

    if (ret < 0) {
        error_setg(errp, "Verify failed: %s", gnutls_strerror(ret));
        return false;
    }
    reason = tls_session_status_reason(status);
    if (reason) {
        error_setg(errp, "%s", reason);
        return false;
    }
    certs = gnutls_certificate_get_peers(s->session, &n);
    if (!certs || n == 0) {
        error_setg(errp, "No certificate peers");
        return false;
    }
    if (gnutls_x509_crt_init(&crt) < 0) {
        error_setg(errp, "Cannot initialize a certificate");
        return false;
    }
    ret = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
    if (ret < 0) {
        error_setg(errp, "Cannot import the peer certificate: %s", gnutls_strerror(ret));
        ok = false;
    } else {
        ok = tls_session_check_identity(s, crt, errp);
    }
    gnutls_x509_crt_deinit(crt);
    return ok;
}

/*
 * Only x509 proves an identity: PSK and anonymous sessions have nothing to
 * check after the handshake (a wrong PSK fails the handshake itself).
 */
static bool tls_session_check_peer(TlsSession *s, GError **errp)
{
    if (tls_creds_type(s->creds) != TLS_CREDS_X509 || !tls_creds_verify_peer(s->creds)) {
        return true;
    }
    return tls_session_check_x509(s, errp);
}

int tls_session_handshake(TlsSession *s, GError **errp)
{
    int ret;

    if (tls_session_handshake_done(s)) {
        return 1;
    }
    do {
        ret = gnutls_handshake(s->session);
        if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
            return 0;
        }
    } while (ret < 0 && !gnutls_error_is_fatal(ret));
    if (ret < 0) {
        error_setg(errp, "TLS handshake failed: %s", gnutls_strerror(ret));
        return -1;
    }
    if (!tls_session_check_peer(s, errp)) {
        return -1;
    }
    g_atomic_int_set(&s->checked, true);
    return 1;
}

bool tls_session_handshake_done(TlsSession *s)
{
    return g_atomic_int_get(&s->checked);
}

void tls_session_handshake_lock(TlsSession *s)
{
    qemu_mutex_lock(&s->handshake_lock);
}

void tls_session_handshake_unlock(TlsSession *s)
{
    qemu_mutex_unlock(&s->handshake_lock);
}

bool tls_session_wants_write(TlsSession *s)
{
    return gnutls_record_get_direction(s->session) == 1;
}

ssize_t tls_session_read(TlsSession *s, void *buf, size_t len, GError **errp)
{
    ssize_t n = gnutls_record_recv(s->session, buf, len);

    if (n >= 0) {
        return n;
    }
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
        return TLS_SESSION_AGAIN;
    }
    if (n == GNUTLS_E_PREMATURE_TERMINATION) {
        /* The peer closed without close_notify: the stream decides if
         * that was early, as it does for a plain socket. */
        return 0;
    }
    error_setg(errp, "Cannot read from TLS channel: %s", gnutls_strerror(n));
    return -1;
}

ssize_t tls_session_write(TlsSession *s, const void *buf, size_t len, GError **errp)
{
    ssize_t n = gnutls_record_send(s->session, buf, len);

    if (n >= 0) {
        return n;
    }
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
        return TLS_SESSION_AGAIN;
    }
    error_setg(errp, "Cannot write to TLS channel: %s", gnutls_strerror(n));
    return -1;
}

void tls_session_bye(TlsSession *s)
{
    if (tls_session_handshake_done(s)) {
        gnutls_bye(s->session, GNUTLS_SHUT_WR);
    }
}
