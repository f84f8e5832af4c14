/*
 * Migration parameters to TLS sessions (migration/tls.h).
 */
#include "tls.h"
#include "migration/channel-tls.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

bool migration_tls_enabled(const MigrationOptions *opts)
{
    const char *creds = migrate_params(opts)->tls_creds;

    return creds && *creds;
}

/* The credentials of tls-creds, which must be for @endpoint. */
static TlsCreds *migration_tls_creds(ObjectSet *objects, const MigrationOptions *opts,
                                     QCryptoTLSCredsEndpoint endpoint, GError **errp)
{
    g_autoptr(TlsCreds) creds = NULL;

    if (!objects) {
        error_setg(errp, "No TLS credentials with id '%s'",
                   migrate_params(opts)->tls_creds);
        return NULL;
    }
    creds = object_set_tls_creds(objects, migrate_params(opts)->tls_creds, errp);
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

static TlsSession *migration_tls_client_session(Channel *ch, ObjectSet *objects,
                                                const MigrationOptions *opts,
                                                const MigrationAddress *addr,
                                                GError **errp)
{
    g_autoptr(TlsCreds) creds = NULL;
    const char *hostname = migration_tls_hostname(opts, addr);

    creds = migration_tls_creds(objects, opts, QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, errp);
    if (!creds) {
        return NULL;
    }
    if (tls_creds_type(creds) == TLS_CREDS_X509 && !hostname) {
        error_setg(errp, "No hostname for certificate validation");
        return NULL;
    }
    return tls_session_new(creds, channel_fd(ch), hostname, NULL, errp);
}

bool migration_tls_connect(Channel *ch, ObjectSet *objects,
                           const MigrationOptions *opts,
                           const MigrationAddress *addr, GError **errp)
{
    TlsSession *session;

    if (!migration_tls_enabled(opts)) {
        return true;
    }
    /* The object set changes under the BQL (object-add, object-del). */
    bql_lock();
    session = migration_tls_client_session(ch, objects, opts, addr, errp);
    bql_unlock();
    if (!session) {
        return false;
    }
    channel_tls_attach(ch, session);
    return channel_tls_handshake(ch, errp);
}

bool migration_tls_accept(Channel *ch, ObjectSet *objects,
                          const MigrationOptions *opts, GError **errp)
{
    g_autoptr(TlsCreds) creds = NULL;
    g_autoptr(Authz) authz = NULL;
    const char *authz_id = migrate_params(opts)->tls_authz;
    TlsSession *session;

    if (!migration_tls_enabled(opts)) {
        return true;
    }
    creds = migration_tls_creds(objects, opts, QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, errp);
    if (!creds) {
        return false;
    }
    /*
     * As QEMU: only an x509 server that verifies its peer has an identity
     * to check.  Unlike QEMU, "" is no check rather than an object id.
     */
    if (authz_id && *authz_id && tls_creds_type(creds) == TLS_CREDS_X509 &&
        tls_creds_verify_peer(creds)) {
        authz = object_set_authz(objects, authz_id, errp);
        if (!authz) {
            return false;
        }
    }
    session = tls_session_new(creds, channel_fd(ch), NULL, authz, errp);
    if (!session) {
        return false;
    }
    channel_tls_attach(ch, session);
    return true;
}
