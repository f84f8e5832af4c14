/*
 * Authorization objects: authz-simple (one identity), authz-list
 * (ordered exact or glob rules, then a default policy) and authz-listfile
 * (the same rules read from a JSON file, reloaded when it changes).  A TLS
 * server asks
 * one whether the client's identity (its certificate's distinguished name)
 * may connect.  Reference counted like the credentials.
 */
#ifndef CRYPTO_AUTHZ_H
#define CRYPTO_AUTHZ_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types.h"

typedef struct Authz Authz;

/* An authz-simple, authz-list or authz-listfile from @opts. */
Authz *authz_new(const ObjectOptions *opts, GError **errp);
Authz *authz_ref(Authz *az);
void authz_unref(Authz *az);                        /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Authz, authz_unref)

/* Whether @identity is allowed (the rules decide; never fails). */
bool authz_is_allowed(Authz *az, const char *identity);

/*
 * A list's policy and rules, shared with whatever replaces them (the
 * authz-listfile watch); the next check sees the new ones.
 */
typedef struct AuthzRules AuthzRules;
AuthzRules *authz_rules_new(void);                     /* no rules, deny */
AuthzRules *authz_rules_ref(AuthzRules *r);
void authz_rules_unref(AuthzRules *r);                 /* NULL-safe */
void authz_rules_set(AuthzRules *r, QAuthZListPolicy policy,
                     QAuthZListRuleList *rules);       /* takes @rules */
bool authz_rules_allow(AuthzRules *r, const char *identity);

#endif
