/*
 * HMP commands over the migration options.  They parse the human syntax the
 * way QEMU's HMP does, then call the QMP implementations, so the checks live
 * in one place (options.c) and HMP and QMP cannot disagree.
 */
#include "migration-hmp-options.h"

#include <inttypes.h>
#include <string.h>

#include "migration/options.h"
#include "qapi/qapi-commands.h"
#include "qemu/cutils.h"
#include "qemu/error.h"

bool hmp_info_migrate_capabilities(TernContext *ctx, GString *out,
                                   GError **errp)
{
    GError *err = NULL;
    g_autoptr(MigrationCapabilityStatusList) caps =
        qmp_query_migrate_capabilities(ctx, &err);

    if (err) {
        g_propagate_error(errp, err);
        return false;
    }
    for (MigrationCapabilityStatusList *l = caps; l; l = l->next) {
        g_string_append_printf(out, "%s: %s\n",
                               MigrationCapability_str(l->value->capability),
                               l->value->state ? "on" : "off");
    }
    return true;
}

/* The order QEMU 9.1 prints them in (not the enum order). */
static const MigrationParameter hmp_display_order[] = {
    MIGRATION_PARAMETER_ANNOUNCE_INITIAL,
    MIGRATION_PARAMETER_ANNOUNCE_MAX,
    MIGRATION_PARAMETER_ANNOUNCE_ROUNDS,
    MIGRATION_PARAMETER_ANNOUNCE_STEP,
    /* QEMU 9.0 printed these here; 9.1 removed them. */
    MIGRATION_PARAMETER_COMPRESS_LEVEL,
    MIGRATION_PARAMETER_COMPRESS_THREADS,
    MIGRATION_PARAMETER_COMPRESS_WAIT_THREAD,
    MIGRATION_PARAMETER_DECOMPRESS_THREADS,
    MIGRATION_PARAMETER_THROTTLE_TRIGGER_THRESHOLD,
    MIGRATION_PARAMETER_CPU_THROTTLE_INITIAL,
    MIGRATION_PARAMETER_CPU_THROTTLE_INCREMENT,
    MIGRATION_PARAMETER_CPU_THROTTLE_TAILSLOW,
    MIGRATION_PARAMETER_MAX_CPU_THROTTLE,
    MIGRATION_PARAMETER_TLS_CREDS,
    MIGRATION_PARAMETER_TLS_HOSTNAME,
    MIGRATION_PARAMETER_MAX_BANDWIDTH,
    MIGRATION_PARAMETER_AVAIL_SWITCHOVER_BANDWIDTH,
    MIGRATION_PARAMETER_DOWNTIME_LIMIT,
    MIGRATION_PARAMETER_X_CHECKPOINT_DELAY,
    MIGRATION_PARAMETER_MULTIFD_CHANNELS,
    MIGRATION_PARAMETER_MULTIFD_COMPRESSION,
    MIGRATION_PARAMETER_ZERO_PAGE_DETECTION,
    MIGRATION_PARAMETER_XBZRLE_CACHE_SIZE,
    MIGRATION_PARAMETER_MAX_POSTCOPY_BANDWIDTH,
    MIGRATION_PARAMETER_TLS_AUTHZ,
    /*
     * block-bitmap-mapping would come here, but tern never holds one
     * (setting a non-empty mapping is refused), so it is never printed.
     */
    MIGRATION_PARAMETER_X_VCPU_DIRTY_LIMIT_PERIOD,
    MIGRATION_PARAMETER_VCPU_DIRTY_LIMIT,
    MIGRATION_PARAMETER_MODE,
    MIGRATION_PARAMETER_DIRECT_IO,
    /* tern's own, after QEMU's. */
    MIGRATION_PARAMETER_X_SWITCHOVER_HOLD,
    MIGRATION_PARAMETER_X_POSTCOPY_AUTO_RECOVER,
    MIGRATION_PARAMETER_X_POSTCOPY_AUTO_RECOVER_DELAY,
    MIGRATION_PARAMETER_X_AUTO_CONVERGE_DIRTY_BUDGET,
};

static void print_param(GString *out, MigrationParameter param, JsonNode *v)
{
    const char *name = MigrationParameter_str(param);
    GType type = json_node_get_value_type(v);

    if (type == G_TYPE_BOOLEAN) {
        g_string_append_printf(out, "%s: %s\n", name,
                               json_node_get_boolean(v) ? "on" : "off");
    } else if (type == G_TYPE_STRING) {
        /* QEMU quotes the free-form strings, not the enum values. */
        const char *q =
            migration_param_input(param) == MIGRATION_PARAM_INPUT_STR ? "'" : "";

        g_string_append_printf(out, "%s: %s%s%s\n", name, q,
                               json_node_get_string(v), q);
    } else {
        g_string_append_printf(out, "%s: %" PRIu64 "%s\n", name,
                               (uint64_t)json_node_get_int(v),
                               migration_param_hmp_unit(param));
    }
}

bool hmp_info_migrate_parameters(TernContext *ctx, GString *out,
                                 GError **errp)
{
    GError *err = NULL;
    g_autoptr(MigrationParameters) params =
        qmp_query_migrate_parameters(ctx, &err);
    g_autoptr(JsonNode) node = NULL;
    JsonObject *obj;

    if (err) {
        g_propagate_error(errp, err);
        return false;
    }
    node = visit_MigrationParameters_to_json(params);
    obj = json_node_get_object(node);
    for (size_t i = 0; i < G_N_ELEMENTS(hmp_display_order); i++) {
        MigrationParameter param = hmp_display_order[i];
        JsonNode *v = json_object_get_member(obj, MigrationParameter_str(param));

        if (v && JSON_NODE_HOLDS_VALUE(v)) {
            print_param(out, param, v);
        }
    }
    return true;
}

bool hmp_migrate_set_capability(TernContext *ctx, const char *capability,
                                bool state, GError **errp)
{
    MigrationCapabilityStatus status;
    MigrationCapabilityStatusList list = { .value = &status };
    int cap = qapi_enum_parse(&MigrationCapability_lookup, capability, -1, errp);

    if (cap < 0) {
        return false;
    }
    status.capability = cap;
    status.state = state;
    return qmp_migrate_set_capabilities(ctx, &list, errp);
}

static bool parse_bool(const char *name, const char *s, bool *out, GError **errp)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

/* @s read as QEMU's HMP reads a value of @param, as a JSON value. */
static JsonNode *parse_param_value(MigrationParameter param, const char *s,
                                   GError **errp)
{
    const char *name = MigrationParameter_str(param);
    uint64_t u;
    bool b;

    switch (migration_param_input(param)) {
    case MIGRATION_PARAM_INPUT_UINT:
        if (!qemu_strtou64(s, &u, NULL)) {
            error_setg(errp, "Parameter '%s' expects uint64", name);
            return NULL;
        }
        break;
    case MIGRATION_PARAM_INPUT_SIZE:
        if (!qemu_strtosz(s, 1, &u, NULL)) {
            error_setg(errp, "Parameter '%s' expects a non-negative number "
                       "below 2^64", name);
            return NULL;
        }
        break;
    case MIGRATION_PARAM_INPUT_SIZE_MIB:
        if (!qemu_strtosz(s, MiB, &u, NULL) || u > INT64_MAX) {
            error_setg(errp, "Invalid size %s", s);
            return NULL;
        }
        break;
    case MIGRATION_PARAM_INPUT_BOOL:
        if (!parse_bool(name, s, &b, errp)) {
            return NULL;
        }
        return json_node_init_boolean(json_node_alloc(), b);
    case MIGRATION_PARAM_INPUT_STR:
    case MIGRATION_PARAM_INPUT_ENUM:
        /* The QMP argument visitor checks enum names. */
        return json_node_init_string(json_node_alloc(), s);
    case MIGRATION_PARAM_INPUT_QMP_ONLY:
    default:
        error_setg(errp, "The %s parameter can only be set through QMP", name);
        return NULL;
    }
    /* Unsigned values above INT64_MAX travel as negative int64, as in QMP. */
    return json_node_init_int(json_node_alloc(), (int64_t)u);
}

bool hmp_migrate_set_parameter(TernContext *ctx, const char *parameter,
                               const char *value, GError **errp)
{
    int param = qapi_enum_parse(&MigrationParameter_lookup, parameter, -1, errp);
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(MigrateSetParameters) p = NULL;
    JsonNode *v;

    if (param < 0) {
        return false;
    }
    v = parse_param_value(param, value, errp);
    if (!v) {
        return false;
    }
    args = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(args, json_object_new());
    json_object_set_member(json_node_get_object(args), parameter, v);
    if (!visit_MigrateSetParameters_from_json(args, &p, errp)) {
        return false;
    }
    return qmp_migrate_set_parameters(ctx, p, errp);
}
