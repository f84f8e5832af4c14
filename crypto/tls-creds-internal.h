/*
 * What the credential types share with tls-session.c: the loaded GnuTLS
 * credentials behind a TlsCreds, and the helpers each type's loader uses.
 */
#ifndef CRYPTO_TLS_CREDS_INTERNAL_H
#define CRYPTO_TLS_CREDS_INTERNAL_H

#include <gnutls/gnutls.h>

#include "crypto/tls-creds.h"

struct TlsCreds {
    gint refcount;
    TlsCredsType type;
    QCryptoTLSCredsEndpoint endpoint;
    bool verify_peer;
    char *dir;
    char *priority;             /* the full GnuTLS priority string */
    char *username;             /* PSK client: the user it logs in as */
    gnutls_dh_params_t dh;      /* server: from dh-params.pem, or NULL */
    union {
        gnutls_anon_server_credentials_t anon_server;
        gnutls_anon_client_credentials_t anon_client;
        gnutls_psk_server_credentials_t psk_server;
        gnutls_psk_client_credentials_t psk_client;
        gnutls_certificate_credentials_t x509;
    } u;
};

/*
 * @dir/@name in @path.  Missing: an error when @required ("Unable to
 * access credentials PATH: REASON"), else false with *@path NULL and no
 * error.
 */
bool tls_creds_file(const TlsCreds *creds, const char *name, bool required,
                    char **path, GError **errp);

/* A server's dh-params.pem when the directory has one (creds->dh). */
bool tls_creds_load_dh(TlsCreds *creds, GError **errp);

/* Per type: load the files, fill creds->u; and free it. */
bool tls_creds_anon_load(TlsCreds *creds, GError **errp);
void tls_creds_anon_unload(TlsCreds *creds);
bool tls_creds_psk_load(TlsCreds *creds, GError **errp);
void tls_creds_psk_unload(TlsCreds *creds);
bool tls_creds_x509_load(TlsCreds *creds, bool sanity_check, GError **errp);
void tls_creds_x509_unload(TlsCreds *creds);

/* Set the session's credentials and priority (tls-session.c). */
bool tls_creds_apply(TlsCreds *creds, gnutls_session_t session, GError **errp);

#endif
