/*
 * Test credentials with GnuTLS's x509 API (tests/tls-test-certs.h).  Any
 * failure here is a broken test set-up, hence g_assert.
 */
#include "tls-test-certs.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <time.h>

struct TlsTestCA {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
};

static unsigned tls_test_serial;

static void check(int ret)
{
    if (ret < 0) {
        g_error("GnuTLS: %s", gnutls_strerror(ret));
    }
}

static gnutls_x509_privkey_t tls_test_key_new(void)
{
    gnutls_x509_privkey_t key;

    check(gnutls_x509_privkey_init(&key));
    check(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                                       0));
    return key;
}

static void tls_test_write_pem(const char *path, gnutls_datum_t *d)
{
    g_assert_true(g_file_set_contents(path, (const char *)d->data, d->size, NULL));
    gnutls_free(d->data);
}

static void tls_test_set_names(gnutls_x509_crt_t crt, const TlsTestCertSpec *spec)
{
    if (spec->ip) {
        unsigned char addr[4];

        g_assert_cmpint(inet_pton(AF_INET, spec->ip, addr), ==, 1);
        check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr,
                                                   sizeof(addr), GNUTLS_FSAN_APPEND));
    }
    if (spec->dns) {
        check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, spec->dns,
                                                   strlen(spec->dns), GNUTLS_FSAN_APPEND));
    }
}

static void tls_test_set_usage(gnutls_x509_crt_t crt, const TlsTestCertSpec *spec)
{
    check(gnutls_x509_crt_set_basic_constraints(crt, spec->is_ca, -1));
    if (spec->is_ca) {
        check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN |
                                                 GNUTLS_KEY_CRL_SIGN));
        return;
    }
    check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                             GNUTLS_KEY_KEY_ENCIPHERMENT));
    check(gnutls_x509_crt_set_key_purpose_oid(crt, spec->server ? GNUTLS_KP_TLS_WWW_SERVER
                                                                : GNUTLS_KP_TLS_WWW_CLIENT,
                                              0));
}

static gnutls_x509_crt_t tls_test_crt_new(const TlsTestCertSpec *spec,
                                          gnutls_x509_privkey_t key)
{
    time_t now = time(NULL);
    int days = spec->days ? spec->days : 1;
    unsigned char serial[4];
    gnutls_x509_crt_t crt;
    const char *err = NULL;
    unsigned char id[64];
    size_t id_len = sizeof(id);

    tls_test_serial++;
    serial[0] = 0x01;
    serial[1] = tls_test_serial >> 16;
    serial[2] = tls_test_serial >> 8;
    serial[3] = tls_test_serial;
    check(gnutls_x509_crt_init(&crt));
    check(gnutls_x509_crt_set_version(crt, 3));
    check(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
    if (days > 0) {
        check(gnutls_x509_crt_set_activation_time(crt, now - 3600));
        check(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400));
    } else {
        check(gnutls_x509_crt_set_activation_time(crt, now + (time_t)(days - 1) * 86400));
        check(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400));
    }
    if (gnutls_x509_crt_set_dn(crt, spec->dn, &err) < 0) {
        g_error("bad DN %s at %s", spec->dn, err);
    }
    check(gnutls_x509_crt_set_key(crt, key));
    check(gnutls_x509_crt_get_key_id(crt, 0, id, &id_len));
    check(gnutls_x509_crt_set_subject_key_id(crt, id, id_len));
    tls_test_set_usage(crt, spec);
    tls_test_set_names(crt, spec);
    return crt;
}

static void tls_test_sign(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer,
                          gnutls_x509_privkey_t issuer_key)
{
    unsigned char id[64];
    size_t id_len = sizeof(id);

    if (issuer != crt) {
        check(gnutls_x509_crt_get_subject_key_id(issuer, id, &id_len, NULL));
        check(gnutls_x509_crt_set_authority_key_id(crt, id, id_len));
    }
    check(gnutls_x509_crt_sign2(crt, issuer, issuer_key, GNUTLS_DIG_SHA256, 0));
}

TlsTestCA *tls_test_ca_new(const char *ca_path)
{
    static const TlsTestCertSpec ca_spec = { .dn = "CN=tern Test CA", .is_ca = true,
                                             .days = 2 };
    TlsTestCA *ca = g_new0(TlsTestCA, 1);
    gnutls_datum_t d;

    ca->key = tls_test_key_new();
    ca->crt = tls_test_crt_new(&ca_spec, ca->key);
    tls_test_sign(ca->crt, ca->crt, ca->key);
    check(gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_PEM, &d));
    tls_test_write_pem(ca_path, &d);
    return ca;
}

void tls_test_ca_free(TlsTestCA *ca)
{
    gnutls_x509_crt_deinit(ca->crt);
    gnutls_x509_privkey_deinit(ca->key);
    g_free(ca);
}

void tls_test_cert_write(TlsTestCA *ca, const TlsTestCertSpec *spec,
                         const char *cert_path, const char *key_path)
{
    gnutls_x509_privkey_t key = tls_test_key_new();
    gnutls_x509_crt_t crt = tls_test_crt_new(spec, key);
    gnutls_datum_t d;

    if (ca) {
        tls_test_sign(crt, ca->crt, ca->key);
    } else {
        tls_test_sign(crt, crt, key);
    }
    check(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d));
    tls_test_write_pem(cert_path, &d);
    if (key_path) {
        check(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d));
        tls_test_write_pem(key_path, &d);
    }
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

void tls_test_x509_dir(const char *dir, const char *server_ip, const char *server_dns,
                       const char *client_dn)
{
    g_autofree char *ca_path = g_build_filename(dir, "ca-cert.pem", NULL);
    g_autofree char *scert = g_build_filename(dir, "server-cert.pem", NULL);
    g_autofree char *skey = g_build_filename(dir, "server-key.pem", NULL);
    TlsTestCA *ca;
    TlsTestCertSpec server = {
        .dn = "CN=tern Test Server", .server = true,
        .ip = server_ip, .dns = server_dns,
    };

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    ca = tls_test_ca_new(ca_path);
    tls_test_cert_write(ca, &server, scert, skey);
    if (client_dn) {
        g_autofree char *ccert = g_build_filename(dir, "client-cert.pem", NULL);
        g_autofree char *ckey = g_build_filename(dir, "client-key.pem", NULL);
        TlsTestCertSpec client = { .dn = client_dn };

        tls_test_cert_write(ca, &client, ccert, ckey);
    }
    tls_test_ca_free(ca);
}

void tls_test_psk_write(const char *dir, const char *user, const char *hexkey)
{
    g_autofree char *path = g_build_filename(dir, "keys.psk", NULL);
    g_autofree char *line = g_strdup_printf("%s:%s\n", user, hexkey);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, line, -1, NULL));
}
