/*
 * tls-creds-anon: anonymous Diffie-Hellman, encryption without identities.
 * A server may have dh-params.pem; without it GnuTLS uses its own groups.
 */
#include "tls-creds-internal.h"
#include "qemu/error.h"

bool tls_creds_anon_load(TlsCreds *creds, GError **errp)
{
    int ret;

    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        ret = gnutls_anon_allocate_client_credentials(&creds->u.anon_client);
    } else {
        if (creds->dir && !tls_creds_load_dh(creds, errp)) {
            return false;
        }
        ret = gnutls_anon_allocate_server_credentials(&creds->u.anon_server);
        if (ret >= 0 && creds->dh) {
            gnutls_anon_set_server_dh_params(creds->u.anon_server, creds->dh);
        } else if (ret >= 0) {
            ret = gnutls_anon_set_server_known_dh_params(creds->u.anon_server,
                                                         GNUTLS_SEC_PARAM_MEDIUM);
        }
    }
    if (ret < 0) {
        error_setg(errp, "Cannot allocate credentials: %s", gnutls_strerror(ret));
        return false;
    }
    return true;
}

void tls_creds_anon_unload(TlsCreds *creds)
{
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        if (creds->u.anon_client) {
            gnutls_anon_free_client_credentials(creds->u.anon_client);
        }
    } else if (creds->u.anon_server) {
        gnutls_anon_free_server_credentials(creds->u.anon_server);
    }
}
