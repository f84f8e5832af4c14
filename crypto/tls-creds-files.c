/*
 * Finding and reading the files in a credentials directory, shared by the
 * loaders of every type (tls-creds-{anon,psk,x509}.c).
 */
#include "tls-creds-internal.h"
#include "qemu/error.h"

#include <errno.h>
#include <unistd.h>

bool tls_creds_file(const TlsCreds *creds, const char *name, bool required,
                    char **path, GError **errp)
{
    g_autofree char *p = g_build_filename(creds->dir, name, NULL);

    *path = NULL;
    if (access(p, R_OK) < 0) {
        if (required || errno != ENOENT) {
            error_setg(errp, "Unable to access credentials %s: %s", p,
                       g_strerror(errno));
            return false;
        }
        return false;
    }
    *path = g_steal_pointer(&p);
    return true;
}

bool tls_creds_load_dh(TlsCreds *creds, GError **errp)
{
    g_autofree char *path = NULL;
    gnutls_datum_t data = { NULL, 0 };
    GError *local = NULL;
    int ret;

    if (!tls_creds_file(creds, "dh-params.pem", false, &path, &local)) {
        if (local) {
            g_propagate_error(errp, local);
            return false;
        }
        return true;    /* GnuTLS picks RFC 7919 groups itself */
    }
    ret = gnutls_load_file(path, &data);
    if (ret >= 0) {
        gnutls_dh_params_init(&creds->dh);
        ret = gnutls_dh_params_import_pkcs3(creds->dh, &data, GNUTLS_X509_FMT_PEM);
        gnutls_free(data.data);
    }
    if (ret < 0) {
        error_setg(errp, "Unable to load DH parameters from %s: %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}
