/*
 * The user-created objects by id (include/crypto/object-set.h).  A handful
 * at most, so an array in creation order, which is also qom-list's order.
 */
#include "crypto/object-set.h"
#include "qapi/qapi-visit.h"
#include "qemu/error.h"

#include <string.h>

typedef struct ObjectEntry {
    char *id;
    ObjectType type;
    TlsCreds *creds;            /* tls-creds-*, else NULL */
    Authz *authz;               /* authz-*, else NULL */
} ObjectEntry;

struct ObjectSet {
    GPtrArray *entries;         /* ObjectEntry* */
};

static void object_entry_free(gpointer p)
{
    ObjectEntry *e = p;

    tls_creds_unref(e->creds);
    authz_unref(e->authz);
    g_free(e->id);
    g_free(e);
}

ObjectSet *object_set_new(void)
{
    ObjectSet *set = g_new0(ObjectSet, 1);

    set->entries = g_ptr_array_new_with_free_func(object_entry_free);
    return set;
}

void object_set_free(ObjectSet *set)
{
    if (set) {
        g_ptr_array_unref(set->entries);
        g_free(set);
    }
}

static ObjectEntry *object_set_find(ObjectSet *set, const char *id, guint *index)
{
    for (guint i = 0; i < set->entries->len; i++) {
        ObjectEntry *e = g_ptr_array_index(set->entries, i);

        if (strcmp(e->id, id) == 0) {
            if (index) {
                *index = i;
            }
            return e;
        }
    }
    return NULL;
}

static bool object_is_authz(ObjectType t)
{
    return t == OBJECT_TYPE_AUTHZ_SIMPLE || t == OBJECT_TYPE_AUTHZ_LIST ||
           t == OBJECT_TYPE_AUTHZ_LISTFILE;
}

bool object_set_add(ObjectSet *set, const ObjectOptions *opts, GError **errp)
{
    ObjectEntry *e;

    if (object_set_find(set, opts->id, NULL)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", opts->id);
        return false;
    }
    e = g_new0(ObjectEntry, 1);
    e->type = opts->qom_type;
    if (object_is_authz(opts->qom_type)) {
        e->authz = authz_new(opts, errp);
    } else {
        e->creds = tls_creds_new(opts, errp);
    }
    if (!e->authz && !e->creds) {
        g_free(e);
        return false;
    }
    e->id = g_strdup(opts->id);
    g_ptr_array_add(set->entries, e);
    return true;
}

bool object_set_del(ObjectSet *set, const char *id, GError **errp)
{
    guint i;

    if (!object_set_find(set, id, &i)) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    g_ptr_array_remove_index(set->entries, i);
    return true;
}

TlsCreds *object_set_tls_creds(ObjectSet *set, const char *id, GError **errp)
{
    ObjectEntry *e = object_set_find(set, id, NULL);

    if (!e) {
        error_setg(errp, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    if (!e->creds) {
        error_setg(errp, "Object with id '%s' is not TLS credentials", id);
        return NULL;
    }
    return tls_creds_ref(e->creds);
}

Authz *object_set_authz(ObjectSet *set, const char *id, GError **errp)
{
    ObjectEntry *e = object_set_find(set, id, NULL);

    if (!e) {
        error_setg(errp, "Cannot find QAuthZ object ID %s", id);
        return NULL;
    }
    if (!e->authz) {
        error_setg(errp, "Object '%s' is not a QAuthZ subclass", id);
        return NULL;
    }
    return authz_ref(e->authz);
}

ObjectPropertyInfoList *object_set_list(ObjectSet *set)
{
    ObjectPropertyInfoList *head = NULL, **tail = &head;

    for (guint i = 0; i < set->entries->len; i++) {
        ObjectEntry *e = g_ptr_array_index(set->entries, i);
        ObjectPropertyInfo *info = g_new0(ObjectPropertyInfo, 1);

        info->name = g_strdup(e->id);
        info->type = g_strdup_printf("child<%s>", ObjectType_str(e->type));
        *tail = g_new0(ObjectPropertyInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}

/* The bool properties of the types above, as keyval spells them. */
static bool object_keyval_is_bool(const char *key)
{
    return strcmp(key, "verify-peer") == 0 || strcmp(key, "sanity-check") == 0;
}

static bool object_keyval_bool(const char *key, const char *val, bool *out,
                               GError **errp)
{
    if (!strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true")) {
        *out = true;
    } else if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

ObjectOptions *object_options_from_keyval(GHashTable *kv, GError **errp)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    JsonObject *obj = json_object_new();
    ObjectOptions *opts = NULL;
    GHashTableIter it;
    gpointer k, v;

    json_node_take_object(node, obj);
    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        bool b;

        if (!object_keyval_is_bool(k)) {
            json_object_set_string_member(obj, k, v);
        } else if (object_keyval_bool(k, v, &b, errp)) {
            json_object_set_boolean_member(obj, k, b);
        } else {
            return NULL;
        }
    }
    if (!visit_ObjectOptions_from_json(node, &opts, errp)) {
        return NULL;
    }
    return opts;
}
