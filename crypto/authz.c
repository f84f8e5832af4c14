/*
 * authz-simple, authz-list and authz-listfile: who may connect.  A list's
 * rules (authz-rules.c) are copied from the creating command; a
 * listfile's come from its file and are replaced when the file changes
 * (authz-listfile.c).
 */
#include "crypto/authz.h"
#include "crypto/authz-listfile.h"
#include "qapi/qapi-clone.h"
#include "qemu/error.h"

struct Authz {
    gint refcount;
    char *identity;                 /* authz-simple; NULL for a list */
    AuthzRules *rules;              /* authz-list, authz-listfile */
    GSource *watch;                 /* authz-listfile with refresh */
};

static Authz *authz_alloc(void)
{
    Authz *az = g_new0(Authz, 1);

    az->refcount = 1;
    return az;
}

static Authz *authz_simple_new(const AuthZSimpleProperties *props, GError **errp)
{
    Authz *az;

    /* QAPI makes identity mandatory; an empty one cannot match a DN. */
    if (!*props->identity) {
        error_setg(errp, "The 'identity' property must be set");
        return NULL;
    }
    az = authz_alloc();
    az->identity = g_strdup(props->identity);
    return az;
}

static Authz *authz_listfile_new(const AuthZListFileProperties *props, GError **errp)
{
    g_autoptr(Authz) az = authz_alloc();

    az->rules = authz_rules_new();
    if (!authz_listfile_load(az->rules, props->filename, errp)) {
        return NULL;
    }
    if (!props->has_refresh || props->refresh) {
        az->watch = authz_listfile_watch(az->rules, props->filename, errp);
        if (!az->watch) {
            return NULL;
        }
    }
    return g_steal_pointer(&az);
}

Authz *authz_new(const ObjectOptions *opts, GError **errp)
{
    const AuthZListProperties *list = &opts->u.authz_list;
    Authz *az;

    switch (opts->qom_type) {
    case OBJECT_TYPE_AUTHZ_SIMPLE:
        return authz_simple_new(&opts->u.authz_simple, errp);
    case OBJECT_TYPE_AUTHZ_LIST:
        az = authz_alloc();
        az->rules = authz_rules_new();
        authz_rules_set(az->rules, list->has_policy ? list->policy : QAUTHZ_LIST_POLICY_DENY,
                        QAPI_CLONE(QAuthZListRuleList, list->rules));
        return az;
    case OBJECT_TYPE_AUTHZ_LISTFILE:
        return authz_listfile_new(&opts->u.authz_listfile, errp);
    default:
        g_assert_not_reached();
    }
}

Authz *authz_ref(Authz *az)
{
    g_atomic_int_inc(&az->refcount);
    return az;
}

void authz_unref(Authz *az)
{
    if (az && g_atomic_int_dec_and_test(&az->refcount)) {
        if (az->watch) {
            g_source_destroy(az->watch);
            g_source_unref(az->watch);
        }
        g_free(az->identity);
        authz_rules_unref(az->rules);
        g_free(az);
    }
}

bool authz_is_allowed(Authz *az, const char *identity)
{
    if (az->identity) {
        return g_str_equal(az->identity, identity);
    }
    return authz_rules_allow(az->rules, identity);
}
