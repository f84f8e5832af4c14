/*
 * Parser for QEMU-style "key=value,..." option strings and typed getters
 * (see include/qemu/option.h).  The table is a plain GHashTable so callers
 * need no new types; values are validated when a getter reads them.
 */
#include "qemu/option.h"

#include "qemu/cutils.h"
#include "qemu/error.h"

#include <string.h>

/*
 * Copy a value from @p up to the first single ',' (or the end) into a new
 * string, turning each ",," into ','.  Advances *@p past the terminating ','.
 */
static char *parse_value(const char **p)
{
    GString *value = g_string_new(NULL);
    const char *s = *p;

    for (;;) {
        if (s[0] == ',' && s[1] == ',') {
            g_string_append_c(value, ',');
            s += 2;
        } else if (s[0] == ',' || s[0] == '\0') {
            break;
        } else {
            g_string_append_c(value, *s++);
        }
    }
    *p = *s == ',' ? s + 1 : s;
    return g_string_free(value, FALSE);
}

/* True if the first element at @s (up to ',' or the end) has no '='. */
static bool element_lacks_equals(const char *s)
{
    size_t len = strcspn(s, ",=");
    return s[len] != '=';
}

static bool opts_insert(GHashTable *opts, char *key, char *value,
                        GError **errp)
{
    if (g_hash_table_contains(opts, key)) {
        error_setg(errp, "Parameter '%s' given twice", key);
        g_free(key);
        g_free(value);
        return false;
    }
    g_hash_table_insert(opts, key, value);
    return true;
}

GHashTable *qemu_opts_parse(const char *str, const char *implied_key,
                            GError **errp)
{
    g_autoptr(GHashTable) opts =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const char *p = str;

    if (implied_key && *p != '\0' && *p != ',' && element_lacks_equals(p)) {
        char *value = parse_value(&p);

        if (!opts_insert(opts, g_strdup(implied_key), value, errp)) {
            return NULL;
        }
    }
    while (*p != '\0') {
        size_t key_len = strcspn(p, ",=");
        char *key;

        if (key_len == 0) {
            error_setg(errp, "Empty parameter name at '%s'", p);
            return NULL;
        }
        if (p[key_len] != '=') {
            error_setg(errp, "Expected '=' after parameter '%.*s'",
                       (int)key_len, p);
            return NULL;
        }
        key = g_strndup(p, key_len);
        p += key_len + 1;
        if (!opts_insert(opts, key, parse_value(&p), errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&opts);
}

const char *qemu_opt_get(GHashTable *opts, const char *key)
{
    return g_hash_table_lookup(opts, key);
}

bool qemu_parse_bool(const char *name, const char *value, bool *out,
                     GError **errp)
{
    static const char *const on[] = { "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };

    for (size_t i = 0; i < G_N_ELEMENTS(on); i++) {
        if (!strcmp(value, on[i])) {
            *out = true;
            return true;
        }
        if (!strcmp(value, off[i])) {
            *out = false;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

bool qemu_opt_get_bool(GHashTable *opts, const char *key, bool def,
                       bool *out, GError **errp)
{
    const char *value = qemu_opt_get(opts, key);

    if (!value) {
        *out = def;
        return true;
    }
    return qemu_parse_bool(key, value, out, errp);
}

bool qemu_opt_get_size(GHashTable *opts, const char *key, uint64_t def,
                       uint64_t *out, GError **errp)
{
    const char *value = qemu_opt_get(opts, key);

    if (!value) {
        *out = def;
        return true;
    }
    if (!qemu_strtosz(value, 1, out, errp)) {
        error_prepend(errp, "Parameter '%s' expects a size: ", key);
        return false;
    }
    return true;
}

bool qemu_opt_get_u64(GHashTable *opts, const char *key, uint64_t def,
                      uint64_t *out, GError **errp)
{
    const char *value = qemu_opt_get(opts, key);

    if (!value) {
        *out = def;
        return true;
    }
    if (!qemu_strtou64(value, out, errp)) {
        error_prepend(errp, "Parameter '%s' expects a number: ", key);
        return false;
    }
    return true;
}

static bool key_is_allowed(const char *key, const char *const *allowed)
{
    for (; *allowed; allowed++) {
        if (!strcmp(key, *allowed)) {
            return true;
        }
    }
    return false;
}

bool qemu_opts_check_keys(GHashTable *opts, const char *const *allowed,
                          GError **errp)
{
    g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(opts),
                                        (GCompareFunc)strcmp);

    for (GList *l = keys; l; l = l->next) {
        if (!key_is_allowed(l->data, allowed)) {
            error_setg(errp, "Invalid parameter '%s'", (const char *)l->data);
            return false;
        }
    }
    return true;
}
