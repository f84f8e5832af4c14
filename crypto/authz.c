/*
 * authz-simple and authz-list: who may connect.  The list is copied from
 * the creating command, so later changes to it are not possible (QEMU's
 * QMP has none either) and the rules need no lock.
 */
#include "crypto/authz.h"
#include "qapi/qapi-clone.h"
#include "qapi/qapi-visit.h"
#include "qemu/error.h"

struct Authz {
    gint refcount;
    char *identity;                 /* authz-simple; NULL for a list */
    QAuthZListPolicy policy;        /* authz-list: when no rule matches */
    QAuthZListRuleList *rules;
};

Authz *authz_new(const ObjectOptions *opts, GError **errp)
{
    Authz *az;

    g_assert(opts->qom_type == OBJECT_TYPE_AUTHZ_SIMPLE ||
             opts->qom_type == OBJECT_TYPE_AUTHZ_LIST);
    az = g_new0(Authz, 1);
    az->refcount = 1;
    if (opts->qom_type == OBJECT_TYPE_AUTHZ_SIMPLE) {
        /* QAPI makes identity mandatory; an empty one cannot match a DN. */
        if (!*opts->u.authz_simple.identity) {
            error_setg(errp, "The 'identity' property must be set");
            g_free(az);
            return NULL;
        }
        az->identity = g_strdup(opts->u.authz_simple.identity);
        return az;
    }
    az->policy = opts->u.authz_list.has_policy ? opts->u.authz_list.policy
                                               : QAUTHZ_LIST_POLICY_DENY;
    az->rules = QAPI_CLONE(QAuthZListRuleList, opts->u.authz_list.rules);
    return az;
}

Authz *authz_ref(Authz *az)
{
    g_atomic_int_inc(&az->refcount);
    return az;
}

void authz_unref(Authz *az)
{
    if (az && g_atomic_int_dec_and_test(&az->refcount)) {
        g_free(az->identity);
        qapi_free_QAuthZListRuleList(az->rules);
        g_free(az);
    }
}

static bool authz_rule_matches(const QAuthZListRule *r, const char *identity)
{
    if (r->has_format && r->format == QAUTHZ_LIST_FORMAT_GLOB) {
        return g_pattern_match_simple(r->match, identity);
    }
    return g_str_equal(r->match, identity);
}

bool authz_is_allowed(const Authz *az, const char *identity)
{
    if (az->identity) {
        return g_str_equal(az->identity, identity);
    }
    for (const QAuthZListRuleList *l = az->rules; l; l = l->next) {
        if (authz_rule_matches(l->value, identity)) {
            return l->value->policy == QAUTHZ_LIST_POLICY_ALLOW;
        }
    }
    return az->policy == QAUTHZ_LIST_POLICY_ALLOW;
}
