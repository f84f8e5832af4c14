/*
 * Test credentials made at test time with GnuTLS (never committed): a CA,
 * server and client certificates signed by it, PSK key files.  The keys
 * are ECDSA P-256, quick to generate.
 */
#ifndef TESTS_TLS_TEST_CERTS_H
#define TESTS_TLS_TEST_CERTS_H

#include <glib.h>
#include <stdbool.h>

typedef struct TlsTestCA TlsTestCA;

/* What a certificate says about itself. */
typedef struct TlsTestCertSpec {
    const char *dn;             /* "CN=..." */
    bool is_ca;                 /* a CA (self-signed when no CA signs it) */
    bool server;                /* TLS server purpose, else client */
    const char *ip;             /* an IPv4 subject alt name, or NULL */
    const char *dns;            /* a DNS subject alt name, or NULL */
    int days;                   /* valid from 1 hour ago for @days (0: 1);
                                 * negative: expired @days ago */
} TlsTestCertSpec;

/* A self-signed CA "CN=tern Test CA"; its certificate goes to @ca_path. */
TlsTestCA *tls_test_ca_new(const char *ca_path);
void tls_test_ca_free(TlsTestCA *ca);

/* A certificate per @spec signed by @ca (NULL: self-signed), written with
 * its key to @cert_path and @key_path (@key_path may be NULL). */
void tls_test_cert_write(TlsTestCA *ca, const TlsTestCertSpec *spec,
                         const char *cert_path, const char *key_path);

/*
 * QEMU's test x509 layout in @dir: ca-cert.pem; server-cert.pem and
 * server-key.pem for 127.0.0.1 (or @server_ip) and DNS @server_dns;
 * client-cert.pem / client-key.pem with @client_dn when not NULL.
 */
void tls_test_x509_dir(const char *dir, const char *server_ip, const char *server_dns,
                       const char *client_dn);

/* @dir/keys.psk with the one line "@user:@hexkey". */
void tls_test_psk_write(const char *dir, const char *user, const char *hexkey);

#endif
