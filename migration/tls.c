/*
 * Migration parameters to TLS sessions (migration/tls.h).
 */
#include "tls.h"
#include "migration/channel-tls.h"
#include "qemu/error.h"

struct MigrationTls {
    TlsCreds *creds;
    char *hostname;             /* client: what the server must prove, or NULL */
    Authz *authz;               /* server: who may connect, or NULL */
};

bool migration_tls_enabled(const MigrationOptions *opts)
{
    const char *creds = migrate_params(opts)->tls_creds;

    return creds && *creds;
}

/* The credentials of tls-creds, which must be for @endpoint. */
static TlsCreds *migration_tls_creds(ObjectSet *objects, const MigrationOptions *opts,
                                     QCryptoTLSCredsEndpoint endpoint, GError **errp)
{
    const char *id = migrate_params(opts)->tls_creds;
    g_autoptr(TlsCreds) creds = NULL;

    if (!objects) {
        error_setg(errp, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    creds = object_set_tls_creds(objects, id, errp);
    if (!creds) {
        return NULL;
    }
    if (tls_creds_endpoint(creds) != endpoint) {
        error_setg(errp, "Expected TLS credentials for a %s endpoint",
                   QCryptoTLSCredsEndpoint_str(endpoint));
        return NULL;
    }
    return g_steal_pointer(&creds);
}

/* tls-hostname, else the host of a tcp address, else NULL. */
static const char *migration_tls_hostname(const MigrationOptions *opts,
                                          const MigrationAddress *addr)
{
    const char *name = migrate_params(opts)->tls_hostname;

    if (name && *name) {
        return name;
    }
    if (addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
        addr->u.socket.type == SOCKET_ADDRESS_TYPE_INET) {
        return addr->u.socket.u.inet.host;
    }
    return NULL;
}

static bool migration_tls_client(MigrationTls *tls, const MigrationOptions *opts,
                                 const MigrationAddress *addr, GError **errp)
{
    const char *hostname = migration_tls_hostname(opts, addr);

    if (tls_creds_type(tls->creds) == TLS_CREDS_X509 && !hostname) {
        error_setg(errp, "No hostname for certificate validation");
        return false;
    }
    tls->hostname = g_strdup(hostname);
    return true;
}

/*
 * As QEMU: only an x509 server that verifies its peer has an identity to
 * check.  Unlike QEMU, an empty tls-authz is no check rather than an id.
 */
static bool migration_tls_server(MigrationTls *tls, ObjectSet *objects,
                                 const MigrationOptions *opts, GError **errp)
{
    const char *authz_id = migrate_params(opts)->tls_authz;

    if (authz_id && *authz_id && tls_creds_type(tls->creds) == TLS_CREDS_X509 &&
        tls_creds_verify_peer(tls->creds)) {
        tls->authz = object_set_authz(objects, authz_id, errp);
        return tls->authz != NULL;
    }
    return true;
}

MigrationTls *migration_tls_new(ObjectSet *objects, const MigrationOptions *opts,
                                const MigrationAddress *addr, GError **errp)
{
    MigrationTls *tls = g_new0(MigrationTls, 1);
    bool ok;

    tls->creds = migration_tls_creds(objects, opts,
                                     addr ? QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT
                                          : QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, errp);
    ok = tls->creds && (addr ? migration_tls_client(tls, opts, addr, errp)
                             : migration_tls_server(tls, objects, opts, errp));
    if (!ok) {
        migration_tls_free(tls);
        return NULL;
    }
    return tls;
}

void migration_tls_free(MigrationTls *tls)
{
    if (tls) {
        tls_creds_unref(tls->creds);
        authz_unref(tls->authz);
        g_free(tls->hostname);
        g_free(tls);
    }
}

bool migration_tls_wrap(MigrationTls *tls, Channel *ch, GError **errp)
{
    TlsSession *session = tls_session_new(tls->creds, channel_fd(ch), tls->hostname,
                                          tls->authz, errp);

    if (!session) {
        return false;
    }
    channel_tls_attach(ch, session);
    if (tls_creds_endpoint(tls->creds) == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        return channel_tls_handshake(ch, errp);
    }
    return true;
}
