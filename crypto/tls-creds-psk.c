/*
 * tls-creds-psk: pre-shared keys.  dir/keys.psk has one "username:hexkey"
 * per line (the format of GnuTLS's psktool).  The server hands the file to
 * GnuTLS, which looks the client's user up in it at each handshake; the
 * client takes the first line for its own username.
 */
#include "tls-creds-internal.h"
#include "qemu/error.h"

#include <string.h>

#define TLS_CREDS_PSK_FILE "keys.psk"

/* The hex key of @user in @path's lines. */
static char *tls_creds_psk_find(const char *path, const char *user, GError **errp)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    size_t ulen = strlen(user);

    if (!g_file_get_contents(path, &text, NULL, errp)) {
        return NULL;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (strncmp(*l, user, ulen) == 0 && (*l)[ulen] == ':') {
            return g_strstrip(g_strdup(*l + ulen + 1));
        }
    }
    error_setg(errp, "Username %s not found in PSK file %s", user, path);
    return NULL;
}

static bool tls_creds_psk_load_client(TlsCreds *creds, const char *path,
                                      GError **errp)
{
    g_autofree char *key = tls_creds_psk_find(path, creds->username, errp);
    gnutls_datum_t datum;
    int ret;

    if (!key) {
        return false;
    }
    datum.data = (unsigned char *)key;
    datum.size = strlen(key);
    ret = gnutls_psk_allocate_client_credentials(&creds->u.psk_client);
    if (ret >= 0) {
        ret = gnutls_psk_set_client_credentials(creds->u.psk_client, creds->username,
                                                &datum, GNUTLS_PSK_KEY_HEX);
    }
    if (ret < 0) {
        error_setg(errp, "Cannot set PSK client credentials: %s", gnutls_strerror(ret));
        return false;
    }
    return true;
}

static bool tls_creds_psk_load_server(TlsCreds *creds, const char *path,
                                      GError **errp)
{
    int ret;

    if (!tls_creds_load_dh(creds, errp)) {
        return false;
    }
    ret = gnutls_psk_allocate_server_credentials(&creds->u.psk_server);
    if (ret >= 0) {
        ret = gnutls_psk_set_server_credentials_file(creds->u.psk_server, path);
    }
    if (ret >= 0 && creds->dh) {
        gnutls_psk_set_server_dh_params(creds->u.psk_server, creds->dh);
    } else if (ret >= 0) {
        ret = gnutls_psk_set_server_known_dh_params(creds->u.psk_server,
                                                    GNUTLS_SEC_PARAM_MEDIUM);
    }
    if (ret < 0) {
        error_setg(errp, "Cannot set PSK server credentials from %s: %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

bool tls_creds_psk_load(TlsCreds *creds, GError **errp)
{
    g_autofree char *path = NULL;

    if (!tls_creds_file(creds, TLS_CREDS_PSK_FILE, true, &path, errp)) {
        return false;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        return tls_creds_psk_load_client(creds, path, errp);
    }
    return tls_creds_psk_load_server(creds, path, errp);
}

void tls_creds_psk_unload(TlsCreds *creds)
{
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        if (creds->u.psk_client) {
            gnutls_psk_free_client_credentials(creds->u.psk_client);
        }
    } else if (creds->u.psk_server) {
        gnutls_psk_free_server_credentials(creds->u.psk_server);
    }
}
