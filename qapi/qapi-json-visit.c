/*
 * Reading and writing QAPI values as json-glib nodes with QEMU's input
 * visitor rules and messages (include/qapi/qapi-json-visit.h).  QEMU words
 * type errors with the full member path but range and enum errors with the
 * innermost name only; both are reproduced.
 */
#include "qapi/qapi-json-visit.h"
#include "qemu/error.h"

char *qapi_path_full(const QapiPath *path)
{
    GString *out = g_string_new(NULL);

    if (!path) {
        g_string_append(out, "null");
    }
    for (const QapiPath *p = path; p; p = p->up) {
        g_autofree char *part = NULL;

        if (p->name) {
            part = g_strdup_printf(p->up ? ".%s" : "%s", p->name);
        } else {
            part = g_strdup_printf("[%u]", p->index);
        }
        g_string_prepend(out, part);
    }
    return g_string_free(out, FALSE);
}

const char *qapi_path_leaf(const QapiPath *path)
{
    return path && path->name ? path->name : "null";
}

void qapi_error_missing(const QapiPath *path, GError **errp)
{
    g_autofree char *name = qapi_path_full(path);

    error_setg(errp, "Parameter '%s' is missing", name);
}

void qapi_error_type(const QapiPath *path, const char *expected, GError **errp)
{
    g_autofree char *name = qapi_path_full(path);

    error_setg(errp, "Invalid parameter type for '%s', expected: %s",
               name, expected);
}

GHashTable *qapi_seen_new(void)
{
    return g_hash_table_new(g_str_hash, g_str_equal);
}

JsonNode *qapi_in_member(JsonObject *obj, const char *name, GHashTable *seen)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (node) {
        g_hash_table_add(seen, (gpointer)name);
    }
    return node;
}

bool qapi_check_unexpected(JsonObject *obj, const QapiPath *path,
                           GHashTable *seen, GError **errp)
{
    g_autoptr(GList) names = json_object_get_members(obj);

    for (GList *l = names; l; l = l->next) {
        if (!g_hash_table_contains(seen, l->data)) {
            QapiPath member = { path, l->data, 0 };
            g_autofree char *name = qapi_path_full(&member);

            error_setg(errp, "Parameter '%s' is unexpected", name);
            return false;
        }
    }
    return true;
}

bool qapi_in_object(JsonNode *node, const QapiPath *path, JsonObject **out,
                    GError **errp)
{
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        qapi_error_type(path, "object", errp);
        return false;
    }
    *out = json_node_get_object(node);
    return true;
}

bool qapi_in_array(JsonNode *node, const QapiPath *path, JsonArray **out,
                   GError **errp)
{
    if (!JSON_NODE_HOLDS_ARRAY(node)) {
        qapi_error_type(path, "array", errp);
        return false;
    }
    *out = json_node_get_array(node);
    return true;
}

static bool holds(JsonNode *node, GType type)
{
    return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

bool qapi_in_enum(JsonNode *node, const QapiPath *path,
                  const QEnumLookup *lookup, int *out, GError **errp)
{
    const char *value;

    if (!holds(node, G_TYPE_STRING)) {
        qapi_error_type(path, "string", errp);
        return false;
    }
    value = json_node_get_string(node);
    for (int i = 0; i < lookup->size; i++) {
        if (g_str_equal(lookup->array[i], value)) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'",
               qapi_path_leaf(path), value);
    return false;
}

bool qapi_in_str(JsonNode *node, const QapiPath *path, char **out, GError **errp)
{
    if (!holds(node, G_TYPE_STRING)) {
        qapi_error_type(path, "string", errp);
        return false;
    }
    *out = g_strdup(json_node_get_string(node));
    return true;
}

bool qapi_in_number(JsonNode *node, const QapiPath *path, double *out,
                    GError **errp)
{
    if (holds(node, G_TYPE_INT64)) {
        *out = (double)json_node_get_int(node);
    } else if (holds(node, G_TYPE_DOUBLE)) {
        *out = json_node_get_double(node);
    } else {
        qapi_error_type(path, "number", errp);
        return false;
    }
    return true;
}

bool qapi_in_bool(JsonNode *node, const QapiPath *path, bool *out, GError **errp)
{
    if (!holds(node, G_TYPE_BOOLEAN)) {
        qapi_error_type(path, "boolean", errp);
        return false;
    }
    *out = json_node_get_boolean(node);
    return true;
}

bool qapi_in_null(JsonNode *node, const QapiPath *path, bool *out, GError **errp)
{
    if (!JSON_NODE_HOLDS_NULL(node)) {
        qapi_error_type(path, "null", errp);
        return false;
    }
    *out = true;
    return true;
}

bool qapi_in_any(JsonNode *node, const QapiPath *path, JsonNode **out,
                 GError **errp)
{
    *out = json_node_copy(node);
    return true;
}

bool qapi_in_int(JsonNode *node, const QapiPath *path, int64_t *out,
                 GError **errp)
{
    if (!holds(node, G_TYPE_INT64)) {
        qapi_error_type(path, "integer", errp);
        return false;
    }
    *out = json_node_get_int(node);
    return true;
}

bool qapi_in_int64(JsonNode *node, const QapiPath *path, int64_t *out,
                   GError **errp)
{
    return qapi_in_int(node, path, out, errp);
}

/* QEMU reads any integer, then range-checks naming the C type. */
static bool in_int_range(JsonNode *node, const QapiPath *path, int64_t min,
                         int64_t max, const char *ctype, int64_t *out,
                         GError **errp)
{
    if (!qapi_in_int(node, path, out, errp)) {
        return false;
    }
    if (*out < min || *out > max) {
        error_setg(errp, "Parameter '%s' expects %s", qapi_path_leaf(path),
                   ctype);
        return false;
    }
    return true;
}

bool qapi_in_uint64(JsonNode *node, const QapiPath *path, uint64_t *out,
                    GError **errp)
{
    /* Negative integers are accepted (and wrap), as in QEMU. */
    if (!holds(node, G_TYPE_INT64)) {
        g_autofree char *name = qapi_path_full(path);

        error_setg(errp, "Parameter '%s' expects uint64", name);
        return false;
    }
    *out = (uint64_t)json_node_get_int(node);
    return true;
}

bool qapi_in_size(JsonNode *node, const QapiPath *path, uint64_t *out,
                  GError **errp)
{
    return qapi_in_uint64(node, path, out, errp);
}

static bool in_uint_range(JsonNode *node, const QapiPath *path, uint64_t max,
                          const char *ctype, uint64_t *out, GError **errp)
{
    if (!qapi_in_uint64(node, path, out, errp)) {
        return false;
    }
    if (*out > max) {
        error_setg(errp, "Parameter '%s' expects %s", qapi_path_leaf(path),
                   ctype);
        return false;
    }
    return true;
}

#define DEFINE_IN_INT(name, type, min, max)                                  \
    bool qapi_in_##name(JsonNode *node, const QapiPath *path, type *out,     \
                        GError **errp)                                       \
    {                                                                        \
        int64_t v;                                                           \
        if (!in_int_range(node, path, min, max, #type, &v, errp)) {          \
            return false;                                                    \
        }                                                                    \
        *out = (type)v;                                                      \
        return true;                                                         \
    }

#define DEFINE_IN_UINT(name, type, max)                                      \
    bool qapi_in_##name(JsonNode *node, const QapiPath *path, type *out,     \
                        GError **errp)                                       \
    {                                                                        \
        uint64_t v;                                                          \
        if (!in_uint_range(node, path, max, #type, &v, errp)) {              \
            return false;                                                    \
        }                                                                    \
        *out = (type)v;                                                      \
        return true;                                                         \
    }

DEFINE_IN_INT(int8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_IN_INT(int16, int16_t, INT16_MIN, INT16_MAX)
DEFINE_IN_INT(int32, int32_t, INT32_MIN, INT32_MAX)
DEFINE_IN_UINT(uint8, uint8_t, UINT8_MAX)
DEFINE_IN_UINT(uint16, uint16_t, UINT16_MAX)
DEFINE_IN_UINT(uint32, uint32_t, UINT32_MAX)

JsonNode *qapi_out_str(const char *value)
{
    return json_node_init_string(json_node_alloc(), value ? value : "");
}

JsonNode *qapi_out_number(double value)
{
    return json_node_init_double(json_node_alloc(), value);
}

JsonNode *qapi_out_bool(bool value)
{
    return json_node_init_boolean(json_node_alloc(), value);
}

JsonNode *qapi_out_null(bool value)
{
    return json_node_init_null(json_node_alloc());
}

JsonNode *qapi_out_any(const JsonNode *value)
{
    return value ? json_node_copy((JsonNode *)value)
                 : json_node_init_null(json_node_alloc());
}

JsonNode *qapi_out_int(int64_t value)
{
    return json_node_init_int(json_node_alloc(), value);
}

JsonNode *qapi_out_uint(uint64_t value)
{
    return json_node_init_int(json_node_alloc(), (int64_t)value);
}

JsonNode *qapi_out_object(JsonObject *obj)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), obj);

    json_object_unref(obj);
    return node;
}
