/*
 * Authorization objects: authz-simple (one identity) and authz-list
 * (ordered exact or glob rules, then a default policy).  A TLS server asks
 * one whether the client's identity (its certificate's distinguished name)
 * may connect.  Reference counted like the credentials.
 */
#ifndef CRYPTO_AUTHZ_H
#define CRYPTO_AUTHZ_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types.h"

typedef struct Authz Authz;

/* An authz-simple or authz-list from @opts. */
Authz *authz_new(const ObjectOptions *opts, GError **errp);
Authz *authz_ref(Authz *az);
void authz_unref(Authz *az);                        /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Authz, authz_unref)

/* Whether @identity is allowed (the rules decide; never fails). */
bool authz_is_allowed(const Authz *az, const char *identity);

#endif
