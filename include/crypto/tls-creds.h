/*
 * TLS credentials: the tls-creds-anon, tls-creds-psk and tls-creds-x509
 * objects.  Their files are read with GnuTLS when the object is made, so a
 * missing or broken file is the creating command's error, not a failed
 * migration later.  Credentials are reference counted: a session holds
 * the credentials it was made with, so object-del during a handshake is
 * safe.
 */
#ifndef CRYPTO_TLS_CREDS_H
#define CRYPTO_TLS_CREDS_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types.h"

typedef struct TlsCreds TlsCreds;

typedef enum TlsCredsType {
    TLS_CREDS_ANON,
    TLS_CREDS_PSK,
    TLS_CREDS_X509,
} TlsCredsType;

/* Load the credentials @opts describes (qom-type tls-creds-*). */
TlsCreds *tls_creds_new(const ObjectOptions *opts, GError **errp);
TlsCreds *tls_creds_ref(TlsCreds *creds);
void tls_creds_unref(TlsCreds *creds);             /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsCreds, tls_creds_unref)

TlsCredsType tls_creds_type(const TlsCreds *creds);
QCryptoTLSCredsEndpoint tls_creds_endpoint(const TlsCreds *creds);
bool tls_creds_verify_peer(const TlsCreds *creds);

#endif
