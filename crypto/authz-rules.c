/*
 * An authz list's policy and rules: the first rule that matches decides,
 * else the policy.  Behind a lock because authz-listfile replaces them
 * from the main loop while a TLS handshake on a migration thread reads
 * them.
 */
#include "crypto/authz.h"
#include "qapi/qapi-types.h"

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

AuthzRules *authz_rules_new(void)
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

static bool authz_rule_matches(const QAuthZListRule *r, const char *identity)
{
    if (r->has_format && r->format == QAUTHZ_LIST_FORMAT_GLOB) {
        return g_pattern_match_simple(r->match, identity);
    }
    return g_str_equal(r->match, identity);
}

static bool authz_rules_decide(const AuthzRules *r, const char *identity)
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

bool authz_rules_allow(AuthzRules *r, const char *identity)
{
    bool allowed;

    g_mutex_lock(&r->lock);
    allowed = authz_rules_decide(r, identity);
    g_mutex_unlock(&r->lock);
    return allowed;
}
