/*
 * Enum string tables and JSON kind classification for generated QAPI code
 * (include/qapi/qapi-util.h).
 */
#include "qapi/qapi-util.h"
#include "qemu/error.h"

const char *qapi_enum_lookup(const QEnumLookup *lookup, int val)
{
    g_assert(val >= 0 && val < lookup->size);
    return lookup->array[val];
}

int qapi_enum_parse(const QEnumLookup *lookup, const char *name, int def,
                    GError **errp)
{
    if (!name) {
        return def;
    }
    for (int i = 0; i < lookup->size; i++) {
        if (g_str_equal(lookup->array[i], name)) {
            return i;
        }
    }
    error_setg(errp, "Invalid parameter '%s'", name);
    return def;
}

QType qapi_json_qtype(JsonNode *node)
{
    if (!node) {
        return QTYPE_NONE;
    }
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_NULL:
        return QTYPE_QNULL;
    case JSON_NODE_OBJECT:
        return QTYPE_QDICT;
    case JSON_NODE_ARRAY:
        return QTYPE_QLIST;
    case JSON_NODE_VALUE:
        break;
    }
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return QTYPE_QSTRING;
    case G_TYPE_BOOLEAN:
        return QTYPE_QBOOL;
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE:
        return QTYPE_QNUM;
    default:
        return QTYPE_NONE;
    }
}
