/*
 * authz-simple, authz-list and authz-listfile: who may connect.  A list's
 * rules are copied from the creating command; a listfile's come from its
 * file and are replaced when the file changes (authz-listfile.c), so the
 * rules sit behind a lock that the TLS handshake takes to read them.
 */
#include "crypto/authz.h"
#include "crypto/authz-listfile.h"
#include "qapi/qapi-clone.h"
#include "qapi/qapi-visit.h"
#include "qemu/error.h"

/*
 * A list's rules, shared between the object and the watch that replaces
 * them (which may outlive the object by one main-loop dispatch).
 */
struct AuthzRules {
    gint refcount;
    GMutex lock;                    /* policy and rules */
    QAuthZListPolicy policy;        /* when no rule matches */
    QAuthZListRuleList *rules;
};

struct Authz {
    gint refcount;
    char *identity;                 /* authz-simple; NULL for a list */
    AuthzRules *rules;              /* authz-list, authz-listfile */
    GSource *watch;                 /* authz-listfile with refresh */
};

static AuthzRules *authz_rules_new(void)
{
    AuthzRules *r = g_new0(AuthzRules, 1);

    r->refcount = 1;
    g_mutex_init(&r->lock);
    r->policy = QAUTHZ_LIST_POLICY_DENY;
    return r;
}

AuthzRules *authz_rules_ref(AuthzRules *r)
{
    g_atomic_int_inc(&r->refcount);
    return r;
}

void authz_rules_unref(AuthzRules *r)
{
    if (r && g_atomic_int_dec_and_test(&r->refcount)) {
        qapi_free_QAuthZListRuleList(r->rules);
        g_mutex_clear(&r->lock);
        g_free(r);
    }
}

void authz_rules_set(AuthzRules *r, QAuthZListPolicy policy, QAuthZListRuleList *rules)
{
    QAuthZListRuleList *old;

    g_mutex_lock(&r->lock);
    old = r->rules;
    r->policy = policy;
    r->rules = rules;
    g_mutex_unlock(&r->lock);
    qapi_free_QAuthZListRuleList(old);
}

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

static bool authz_rule_matches(const QAuthZListRule *r, const char *identity)
{
    if (r->has_format && r->format == QAUTHZ_LIST_FORMAT_GLOB) {
        return g_pattern_match_simple(r->match, identity);
    }
    return g_str_equal(r->match, identity);
}

static bool authz_rules_allow(const AuthzRules *r, const char *identity)
{
    QAuthZListPolicy decision = r->policy;

    for (const QAuthZListRuleList *l = r->rules; l; l = l->next) {
        if (authz_rule_matches(l->value, identity)) {
            decision = l->value->policy;
            break;
        }
    }
    return decision == QAUTHZ_LIST_POLICY_ALLOW;
}

bool authz_is_allowed(Authz *az, const char *identity)
{
    bool allowed;

    if (az->identity) {
        return g_str_equal(az->identity, identity);
    }
    g_mutex_lock(&az->rules->lock);
    allowed = authz_rules_allow(az->rules, identity);
    g_mutex_unlock(&az->rules->lock);
    return allowed;
}
