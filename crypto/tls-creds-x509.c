/*
 * tls-creds-x509: certificates.  dir holds ca-cert.pem (required), an
 * optional ca-crl.pem, and the endpoint's own pair: server-cert.pem and
 * server-key.pem (required on a server), client-cert.pem and
 * client-key.pem (optional on a client).  With sanity-check on, the CA
 * and the own certificate are checked here, so a wrong file fails the
 * object's creation rather than every handshake.
 */
#include "tls-creds-internal.h"
#include "qemu/error.h"

#include <gnutls/x509.h>
#include <time.h>

#define X509_MAX_CA 64

/* Validity dates, for a CA and a leaf alike. */
static bool x509_check_dates(gnutls_x509_crt_t crt, const char *path, GError **errp)
{
    time_t now = time(NULL);

    if (gnutls_x509_crt_get_expiration_time(crt) < now) {
        error_setg(errp, "The certificate %s has expired", path);
        return false;
    }
    if (gnutls_x509_crt_get_activation_time(crt) > now) {
        error_setg(errp, "The certificate %s is not yet active", path);
        return false;
    }
    return true;
}

/* A CA must say so, and may sign certificates if it lists key usages. */
static bool x509_check_ca(gnutls_x509_crt_t crt, const char *path, GError **errp)
{
    unsigned int usage = 0, critical = 0;

    if (gnutls_x509_crt_get_basic_constraints(crt, NULL, NULL, NULL) <= 0) {
        error_setg(errp, "The certificate %s basic constraints do not show it as a CA",
                   path);
        return false;
    }
    if (gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0 &&
        !(usage & GNUTLS_KEY_KEY_CERT_SIGN)) {
        error_setg(errp, "The certificate %s key usage does not permit certificate "
                   "signing", path);
        return false;
    }
    return x509_check_dates(crt, path, errp);
}

/* The endpoint's own certificate: not a CA, fit to sign, for its purpose. */
static bool x509_check_leaf(gnutls_x509_crt_t crt, const char *path, bool server,
                            GError **errp)
{
    const char *want = server ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT;
    unsigned int usage = 0, critical = 0;
    bool has_purpose = false;

    if (gnutls_x509_crt_get_basic_constraints(crt, NULL, NULL, NULL) > 0) {
        error_setg(errp, "The certificate %s basic constraints show it as a CA, "
                   "not a %s", path, server ? "server" : "client");
        return false;
    }
    if (gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0 &&
        !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
        error_setg(errp, "The certificate %s key usage does not permit digital "
                   "signature", path);
        return false;
    }
    for (unsigned i = 0;; i++) {
        char oid[128];
        size_t len = sizeof(oid);

        if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len, NULL) < 0) {
            break;
        }
        has_purpose = true;
        if (g_str_equal(oid, want)) {
            has_purpose = false;
            break;
        }
    }
    if (has_purpose) {
        error_setg(errp, "The certificate %s is not valid for a TLS %s", path,
                   server ? "server" : "client");
        return false;
    }
    return x509_check_dates(crt, path, errp);
}

typedef struct X509Certs {
    gnutls_x509_crt_t crt[X509_MAX_CA];
    unsigned int n;
} X509Certs;

static bool x509_load_certs(const char *path, X509Certs *c, GError **errp)
{
    gnutls_datum_t data = { NULL, 0 };
    int ret = gnutls_load_file(path, &data);

    c->n = X509_MAX_CA;
    if (ret >= 0) {
        ret = gnutls_x509_crt_list_import(c->crt, &c->n, &data, GNUTLS_X509_FMT_PEM, 0);
        gnutls_free(data.data);
    }
    if (ret < 0) {
        c->n = 0;
        error_setg(errp, "Unable to import certificate %s: %s", path, gnutls_strerror(ret));
        return false;
    }
    return true;
}

static void x509_free_certs(X509Certs *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        gnutls_x509_crt_deinit(c->crt[i]);
    }
}

static bool x509_sanity_check(const char *ca_path, const char *cert_path, bool server,
                              GError **errp)
{
    X509Certs ca = { .n = 0 }, leaf = { .n = 0 };
    unsigned int status = 0;
    bool ok = x509_load_certs(ca_path, &ca, errp);

    for (unsigned i = 0; ok && i < ca.n; i++) {
        ok = x509_check_ca(ca.crt[i], ca_path, errp);
    }
    if (ok && cert_path) {
        ok = x509_load_certs(cert_path, &leaf, errp) &&
             x509_check_leaf(leaf.crt[0], cert_path, server, errp);
        if (ok && (gnutls_x509_crt_list_verify(leaf.crt, leaf.n, ca.crt, ca.n, NULL, 0,
                                               0, &status) < 0 || status)) {
            error_setg(errp, "Unable to verify certificate %s against CA certificate %s",
                       cert_path, ca_path);
            ok = false;
        }
    }
    x509_free_certs(&leaf);
    x509_free_certs(&ca);
    return ok;
}

/* The endpoint's certificate and key: both or neither on a client. */
/*
 * The endpoint's own certificate and key. A server must have both; a client
 * may have neither (the server then decides whether to accept it), but one
 * without the other is a mistake we name rather than load no identity.
 */
static bool x509_own_files(TlsCreds *creds, char **cert, char **key, GError **errp)
{
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *cert_name = server ? "server-cert.pem" : "client-cert.pem";
    const char *key_name = server ? "server-key.pem" : "client-key.pem";
    GError *local = NULL;

    tls_creds_file(creds, cert_name, server, cert, &local);
    if (!local) {
        tls_creds_file(creds, key_name, server, key, &local);
    }
    if (local) {
        g_propagate_error(errp, local);
        return false;
    }
    if (!*cert != !*key) {
        error_setg(errp, "Credentials directory %s has %s but not %s", creds->dir,
                   *cert ? cert_name : key_name, *cert ? key_name : cert_name);
        return false;
    }
    return true;
}

static bool x509_load_files(TlsCreds *creds, const char *ca, const char *cert,
                            const char *key, GError **errp)
{
    g_autofree char *crl = NULL;
    GError *local = NULL;
    int ret;

    ret = gnutls_certificate_set_x509_trust_file(creds->u.x509, ca, GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Cannot load CA certificate %s: %s", ca, gnutls_strerror(ret));
        return false;
    }
    if (tls_creds_file(creds, "ca-crl.pem", false, &crl, &local)) {
        ret = gnutls_certificate_set_x509_crl_file(creds->u.x509, crl, GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load CRL %s: %s", crl, gnutls_strerror(ret));
            return false;
        }
    } else if (local) {
        g_propagate_error(errp, local);
        return false;
    }
    if (cert && key) {
        ret = gnutls_certificate_set_x509_key_file(creds->u.x509, cert, key,
                                                   GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load certificate %s & key %s: %s", cert, key,
                       gnutls_strerror(ret));
            return false;
        }
    }
    return true;
}

bool tls_creds_x509_load(TlsCreds *creds, bool sanity_check, GError **errp)
{
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    g_autofree char *ca = NULL, *cert = NULL, *key = NULL;
    int ret;

    if (!tls_creds_file(creds, "ca-cert.pem", true, &ca, errp) ||
        !x509_own_files(creds, &cert, &key, errp)) {
        return false;
    }
    if (sanity_check && !x509_sanity_check(ca, cert, server, errp)) {
        return false;
    }
    if (server && !tls_creds_load_dh(creds, errp)) {
        return false;
    }
    ret = gnutls_certificate_allocate_credentials(&creds->u.x509);
    if (ret < 0) {
        error_setg(errp, "Cannot allocate credentials: %s", gnutls_strerror(ret));
        return false;
    }
    if (!x509_load_files(creds, ca, cert, key, errp)) {
        return false;
    }
    if (server && creds->dh) {
        gnutls_certificate_set_dh_params(creds->u.x509, creds->dh);
    } else if (server) {
        gnutls_certificate_set_known_dh_params(creds->u.x509, GNUTLS_SEC_PARAM_MEDIUM);
    }
    return true;
}

void tls_creds_x509_unload(TlsCreds *creds)
{
    if (creds->u.x509) {
        gnutls_certificate_free_credentials(creds->u.x509);
    }
}
