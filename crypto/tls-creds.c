/*
 * What every TLS credentials object has: dir, endpoint, verify-peer,
 * priority, the reference count, and the step that hands them to a
 * GnuTLS session.  The files each type reads are in tls-creds-{anon,psk,
 * x509}.c.
 */
#include "tls-creds-internal.h"
#include "qemu/error.h"

#include <string.h>

/* QEMU's default; each type appends the key exchanges it needs. */
#define TLS_CREDS_DEFAULT_PRIORITY "NORMAL"

/*
 * TLS 1.3 binds an external PSK to SHA-256, which leaves three suites:
 * AES-128-GCM, ChaCha20-Poly1305 and AES-128-CCM.  GnuTLS's NORMAL order
 * puts ChaCha20 ahead of AES-128-GCM, ten times slower where the CPU has
 * AES instructions (2.6 s against 0.24 s of CPU per GiB here), so with the
 * default priority and such a CPU ChaCha20 goes last.  A peer that prefers
 * it still gets it; a priority the user gives is left alone.
 */
static bool tls_creds_cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("aes");
#else
    return false;
#endif
}

static const char *tls_creds_priority_suffix(TlsCredsType type, bool default_priority)
{
    switch (type) {
    case TLS_CREDS_ANON:
        return ":+ANON-ECDH:+ANON-DH";
    case TLS_CREDS_PSK:
        if (default_priority && tls_creds_cpu_has_aes()) {
            return ":+ECDHE-PSK:+DHE-PSK:+PSK:-CHACHA20-POLY1305:+CHACHA20-POLY1305";
        }
        return ":+ECDHE-PSK:+DHE-PSK:+PSK";
    case TLS_CREDS_X509:
        return "";
    }
    g_assert_not_reached();
}

static bool tls_creds_load(TlsCreds *creds, const ObjectOptions *opts,
                           GError **errp)
{
    switch (opts->qom_type) {
    case OBJECT_TYPE_TLS_CREDS_ANON:
        return tls_creds_anon_load(creds, errp);
    case OBJECT_TYPE_TLS_CREDS_PSK:
        if (opts->u.tls_creds_psk.username) {
            if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
                error_setg(errp, "username should not be set when endpoint=server");
                return false;
            }
            g_free(creds->username);
            creds->username = g_strdup(opts->u.tls_creds_psk.username);
        }
        return tls_creds_psk_load(creds, errp);
    case OBJECT_TYPE_TLS_CREDS_X509:
        if (opts->u.tls_creds_x509.passwordid) {
            error_setg(errp, "Property 'passwordid' is not supported by tern "
                       "(it has no secret objects); use an unencrypted key");
            return false;
        }
        return tls_creds_x509_load(creds, !opts->u.tls_creds_x509.has_sanity_check ||
                                   opts->u.tls_creds_x509.sanity_check, errp);
    default:
        g_assert_not_reached();
    }
}

/* The common properties: every branch's struct starts with them. */
static const TlsCredsProperties *tls_creds_props(const ObjectOptions *opts)
{
    switch (opts->qom_type) {
    case OBJECT_TYPE_TLS_CREDS_ANON:
        return (const TlsCredsProperties *)&opts->u.tls_creds_anon;
    case OBJECT_TYPE_TLS_CREDS_PSK:
        return (const TlsCredsProperties *)&opts->u.tls_creds_psk;
    case OBJECT_TYPE_TLS_CREDS_X509:
        return (const TlsCredsProperties *)&opts->u.tls_creds_x509;
    default:
        g_assert_not_reached();
    }
}

static TlsCredsType tls_creds_type_of(ObjectType t)
{
    return t == OBJECT_TYPE_TLS_CREDS_ANON ? TLS_CREDS_ANON :
           t == OBJECT_TYPE_TLS_CREDS_PSK ? TLS_CREDS_PSK : TLS_CREDS_X509;
}

TlsCreds *tls_creds_new(const ObjectOptions *opts, GError **errp)
{
    const TlsCredsProperties *p = tls_creds_props(opts);
    g_autoptr(TlsCreds) creds = g_new0(TlsCreds, 1);

    creds->refcount = 1;
    creds->type = tls_creds_type_of(opts->qom_type);
    creds->endpoint = p->has_endpoint ? p->endpoint : QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT;
    creds->verify_peer = !p->has_verify_peer || p->verify_peer;
    creds->priority = g_strconcat(p->priority ? p->priority : TLS_CREDS_DEFAULT_PRIORITY,
                                  tls_creds_priority_suffix(creds->type, !p->priority),
                                  NULL);
    creds->username = g_strdup("qemu");
    if (!p->dir) {
        /* Anonymous credentials need no file: dir is optional for them. */
        if (creds->type != TLS_CREDS_ANON) {
            error_setg(errp, "Missing 'dir' property value");
            return NULL;
        }
    } else {
        creds->dir = g_strdup(p->dir);
    }
    if (!tls_creds_load(creds, opts, errp)) {
        return NULL;
    }
    return g_steal_pointer(&creds);
}

TlsCreds *tls_creds_ref(TlsCreds *creds)
{
    g_atomic_int_inc(&creds->refcount);
    return creds;
}

void tls_creds_unref(TlsCreds *creds)
{
    if (!creds || !g_atomic_int_dec_and_test(&creds->refcount)) {
        return;
    }
    switch (creds->type) {
    case TLS_CREDS_ANON:
        tls_creds_anon_unload(creds);
        break;
    case TLS_CREDS_PSK:
        tls_creds_psk_unload(creds);
        break;
    case TLS_CREDS_X509:
        tls_creds_x509_unload(creds);
        break;
    }
    if (creds->dh) {
        gnutls_dh_params_deinit(creds->dh);
    }
    g_free(creds->dir);
    g_free(creds->priority);
    g_free(creds->username);
    g_free(creds);
}

TlsCredsType tls_creds_type(const TlsCreds *creds)
{
    return creds->type;
}

QCryptoTLSCredsEndpoint tls_creds_endpoint(const TlsCreds *creds)
{
    return creds->endpoint;
}

bool tls_creds_verify_peer(const TlsCreds *creds)
{
    return creds->verify_peer;
}

static int tls_creds_set(TlsCreds *creds, gnutls_session_t session)
{
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;

    switch (creds->type) {
    case TLS_CREDS_ANON:
        return gnutls_credentials_set(session, GNUTLS_CRD_ANON,
                                      server ? (void *)creds->u.anon_server :
                                               (void *)creds->u.anon_client);
    case TLS_CREDS_PSK:
        return gnutls_credentials_set(session, GNUTLS_CRD_PSK,
                                      server ? (void *)creds->u.psk_server :
                                               (void *)creds->u.psk_client);
    case TLS_CREDS_X509:
        return gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, creds->u.x509);
    }
    g_assert_not_reached();
}

bool tls_creds_apply(TlsCreds *creds, gnutls_session_t session, GError **errp)
{
    const char *err_pos = NULL;
    int ret = gnutls_priority_set_direct(session, creds->priority, &err_pos);

    if (ret < 0) {
        error_setg(errp, "Unable to set TLS session priority %s: %s",
                   creds->priority, gnutls_strerror(ret));
        return false;
    }
    ret = tls_creds_set(creds, session);
    if (ret < 0) {
        error_setg(errp, "Cannot set session credentials: %s", gnutls_strerror(ret));
        return false;
    }
    if (creds->type == TLS_CREDS_X509 &&
        creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        /* Requested, not required: verify-peer decides after the handshake. */
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
    }
    return true;
}
