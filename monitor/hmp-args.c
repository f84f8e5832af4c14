/*
 * Parsing an HMP command's arguments against its args_type (see
 * include/monitor/hmp.h) into a JSON object of typed values.  Error texts
 * follow QEMU's HMP ("migrate: string expected").
 */
#include "hmp-internal.h"

#include "qemu/cutils.h"
#include "qemu/error.h"
#include "qemu/option.h"

#include <string.h>

typedef struct ArgSpec {
    char *name;
    char type;          /* 's', 'S', 'b', 'i', 'o', or '-' for a flag */
    char flag;          /* the flag letter for '-' */
    bool flag_value;    /* '-' with 's' after the letter: "-x WORD" */
    bool optional;
} ArgSpec;

static void arg_spec_clear(gpointer p)
{
    g_free(((ArgSpec *)p)->name);
}

/* The args_type string is part of the static tables: malformed is a bug. */
static GArray *arg_specs_parse(const char *args_type)
{
    GArray *specs = g_array_new(FALSE, TRUE, sizeof(ArgSpec));
    g_auto(GStrv) parts = g_strsplit(args_type ? args_type : "", ",", -1);

    g_array_set_clear_func(specs, arg_spec_clear);
    for (char **p = parts; *p; p++) {
        const char *colon = strchr(*p, ':');
        ArgSpec spec = { 0 };

        if (!**p) {
            continue;
        }
        g_assert(colon && colon[1]);
        spec.name = g_strndup(*p, colon - *p);
        spec.type = colon[1];
        if (spec.type == '-') {
            spec.flag = colon[2];
            g_assert(spec.flag);
            spec.flag_value = colon[3] == 's';
        } else {
            g_assert(strchr("sSbio", spec.type));
            spec.optional = colon[2] == '?';
        }
        g_array_append_val(specs, spec);
    }
    return specs;
}

static const char *skip_spaces(const char *p)
{
    while (g_ascii_isspace(*p)) {
        p++;
    }
    return p;
}

/* One word, or a double-quoted string with \" \\ \n escapes; NULL if bad. */
static char *arg_get_word(const char **pp)
{
    const char *p = skip_spaces(*pp);
    GString *word = g_string_new(NULL);

    if (*p == '"') {
        for (p++; *p != '"'; p++) {
            if (!*p) {
                g_string_free(word, TRUE);
                return NULL;            /* unterminated */
            }
            if (*p == '\\' && p[1]) {
                p++;
                g_string_append_c(word, *p == 'n' ? '\n' : *p);
            } else {
                g_string_append_c(word, *p);
            }
        }
        p++;
    } else {
        while (*p && !g_ascii_isspace(*p)) {
            g_string_append_c(word, *p++);
        }
    }
    *pp = p;
    return g_string_free(word, FALSE);
}

/* Leading "-x" / "-xy" tokens, when the command has flags. */
static bool arg_parse_flags(const HMPCommand *cmd, GArray *specs,
                            const char **pp, JsonObject *args, GError **errp)
{
    const char *p = skip_spaces(*pp);
    bool has_flags = false;

    for (guint i = 0; i < specs->len; i++) {
        const ArgSpec *s = &g_array_index(specs, ArgSpec, i);

        has_flags |= s->type == '-' && !s->flag_value;
    }
    while (has_flags && p[0] == '-' && g_ascii_isalpha(p[1])) {
        for (p++; *p && !g_ascii_isspace(*p); p++) {
            const ArgSpec *found = NULL;

            for (guint i = 0; i < specs->len && !found; i++) {
                const ArgSpec *s = &g_array_index(specs, ArgSpec, i);

                if (s->type == '-' && !s->flag_value && s->flag == *p) {
                    found = s;
                }
            }
            if (!found) {
                error_setg(errp, "%s: unsupported option -%c", cmd->name, *p);
                return false;
            }
            json_object_set_boolean_member(args, found->name, true);
        }
        p = skip_spaces(p);
    }
    *pp = p;
    return true;
}

/*
 * A flag with a value ("-f png") where its spec stands among the
 * arguments, as QEMU's screendump takes it after the file name.
 */
static bool arg_parse_flag_value(const HMPCommand *cmd, const ArgSpec *spec,
                                 const char **pp, JsonObject *args,
                                 GError **errp)
{
    const char *p = skip_spaces(*pp);
    g_autofree char *word = NULL;

    if (p[0] != '-' || p[1] != spec->flag ||
        (p[2] && !g_ascii_isspace(p[2]))) {
        return true;
    }
    p += 2;
    word = arg_get_word(&p);
    if (!word || !*word) {
        error_setg(errp, "%s: option -%c needs a value", cmd->name,
                   spec->flag);
        return false;
    }
    json_object_set_string_member(args, spec->name, word);
    *pp = p;
    return true;
}

static bool arg_parse_one(const HMPCommand *cmd, const ArgSpec *spec,
                          const char **pp, JsonObject *args, GError **errp)
{
    const char *p = skip_spaces(*pp);
    g_autofree char *word = NULL;

    if (!*p && spec->optional) {
        return true;
    }
    if (spec->type == 'S') {
        g_autofree char *rest = g_strchomp(g_strdup(p));

        if (!*rest) {
            error_setg(errp, "%s: string expected", cmd->name);
            return false;
        }
        json_object_set_string_member(args, spec->name, rest);
        *pp = p + strlen(p);
        return true;
    }
    word = arg_get_word(&p);
    *pp = p;
    switch (spec->type) {
    case 's':
        if (!word || !*word) {
            error_setg(errp, "%s: string expected", cmd->name);
            return false;
        }
        json_object_set_string_member(args, spec->name, word);
        return true;
    case 'b': {
        bool value;

        if (!word || !qemu_parse_bool(spec->name, word, &value, NULL)) {
            error_setg(errp, "Expected 'on' or 'off'");
            return false;
        }
        json_object_set_boolean_member(args, spec->name, value);
        return true;
    }
    case 'i': {
        int64_t value;

        if (!word || !qemu_strtoi64(word, &value, NULL)) {
            error_setg(errp, "%s: integer expected", cmd->name);
            return false;
        }
        json_object_set_int_member(args, spec->name, value);
        return true;
    }
    case 'o': {
        uint64_t value;

        if (!word || !qemu_strtosz(word, 1, &value, NULL) ||
            value > G_MAXINT64) {
            error_setg(errp, "%s: invalid size", cmd->name);
            return false;
        }
        json_object_set_int_member(args, spec->name, value);
        return true;
    }
    }
    g_assert_not_reached();
}

JsonObject *hmp_parse_args(const HMPCommand *cmd, const char *p,
                           GError **errp)
{
    g_autoptr(GArray) specs = arg_specs_parse(cmd->args_type);
    g_autoptr(JsonObject) args = json_object_new();

    if (!arg_parse_flags(cmd, specs, &p, args, errp)) {
        return NULL;
    }
    for (guint i = 0; i < specs->len; i++) {
        const ArgSpec *spec = &g_array_index(specs, ArgSpec, i);

        if (spec->type == '-' && spec->flag_value) {
            if (!arg_parse_flag_value(cmd, spec, &p, args, errp)) {
                return NULL;
            }
        } else if (spec->type != '-' &&
                   !arg_parse_one(cmd, spec, &p, args, errp)) {
            return NULL;
        }
    }
    if (*skip_spaces(p)) {
        error_setg(errp, "%s: extraneous characters at the end of line",
                   cmd->name);
        return NULL;
    }
    return g_steal_pointer(&args);
}

const char *hmp_arg_str(JsonObject *args, const char *name)
{
    return json_object_get_string_member_with_default(args, name, NULL);
}

bool hmp_arg_bool(JsonObject *args, const char *name)
{
    return json_object_get_boolean_member_with_default(args, name, false);
}

int64_t hmp_arg_int(JsonObject *args, const char *name, int64_t def)
{
    return json_object_get_int_member_with_default(args, name, def);
}
