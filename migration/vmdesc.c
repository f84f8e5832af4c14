/*
 * Serialises the VM description (a JsonBuilder tree) the way QEMU's JSON
 * writer does: members in insertion order, ", " and ": " separators, and
 * strings with every non-ASCII character as a \uXXXX escape.  json-glib's
 * generator writes compact JSON; this keeps the trailer byte-identical to
 * the one QEMU would send for the same devices.
 */
#include "savevm-internal.h"

#include <inttypes.h>

static void vmdesc_quote(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    while (*s) {
        gunichar c = g_utf8_get_char_validated(s, -1);
        const char *next;

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            c = 0xfffd;                 /* invalid UTF-8: one replacement per byte */
            next = s + 1;
        } else {
            next = g_utf8_next_char(s);
        }
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                if (c > 0xffff) {
                    c -= 0x10000;
                    g_string_append_printf(out, "\\u%04X\\u%04X", 0xd800 | (c >> 10),
                                           0xdc00 | (c & 0x3ff));
                } else {
                    g_string_append_printf(out, "\\u%04X", c);
                }
            } else {
                g_string_append_c(out, c);
            }
        }
        s = next;
    }
    g_string_append_c(out, '"');
}

static void vmdesc_write_node(GString *out, JsonNode *node);

static void vmdesc_write_object(GString *out, JsonObject *obj)
{
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    bool first = true;

    g_string_append_c(out, '{');
    json_object_iter_init_ordered(&iter, obj);
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        if (!first) {
            g_string_append(out, ", ");
        }
        first = false;
        vmdesc_quote(out, name);
        g_string_append(out, ": ");
        vmdesc_write_node(out, member);
    }
    g_string_append_c(out, '}');
}

static void vmdesc_write_array(GString *out, JsonArray *array)
{
    g_string_append_c(out, '[');
    for (guint i = 0; i < json_array_get_length(array); i++) {
        if (i) {
            g_string_append(out, ", ");
        }
        vmdesc_write_node(out, json_array_get_element(array, i));
    }
    g_string_append_c(out, ']');
}

static void vmdesc_write_node(GString *out, JsonNode *node)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT:
        vmdesc_write_object(out, json_node_get_object(node));
        break;
    case JSON_NODE_ARRAY:
        vmdesc_write_array(out, json_node_get_array(node));
        break;
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(node)) {
        case G_TYPE_INT64:
            g_string_append_printf(out, "%" PRId64, json_node_get_int(node));
            break;
        case G_TYPE_BOOLEAN:
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
            break;
        case G_TYPE_STRING:
            vmdesc_quote(out, json_node_get_string(node));
            break;
        default:
            /* The vmdesc holds only integers, booleans and strings. */
            g_assert_not_reached();
        }
        break;
    }
}

GString *vmdesc_to_json(JsonNode *root)
{
    GString *out = g_string_new(NULL);

    vmdesc_write_node(out, root);
    return out;
}
