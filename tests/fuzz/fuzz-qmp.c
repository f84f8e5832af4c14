/*
 * libFuzzer target: what a QMP client sends.  The bytes go through the
 * streaming JSON reader (monitor/json-stream.c) as a socket would deliver
 * them; every value it completes is dispatched (monitor/qmp-dispatch.c)
 * against a table of the migration commands whose arguments are the
 * richest to parse: migrate-set-parameters and migrate-set-capabilities
 * (generated visitors, then the options' whole-candidate checks) and
 * migrate (URI or channels, parsed as migrate parses them, not connected).
 * Every input must produce responses or errors, never a crash.
 */
#include "json-stream.h"
#include "qmp-dispatch.h"

#include "migration/options.h"
#include "qapi/qapi-json-visit.h"
#include "qapi/qapi-visit.h"
#include "transport.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the commands act on; rebuilt for each input. */
struct TernContext {
    MigrationOptions *opts;
};

/*
 * The three handlers parse their arguments as the generated marshallers
 * do (members, then nothing unexpected), then call what tern's command
 * would, minus the machine.
 */
static bool fuzz_set_parameters(TernContext *ctx, JsonObject *args, JsonNode **ret,
                                GError **errp)
{
    g_autoptr(GHashTable) seen = qapi_seen_new();
    MigrateSetParameters arg = { 0 };
    bool ok = visit_MigrateSetParameters_members_from_json(args, NULL, seen, &arg, errp) &&
              qapi_check_unexpected(args, NULL, seen, errp) &&
              migration_options_set_params(ctx->opts, &arg, errp);

    qapi_free_MigrateSetParameters_members(&arg);
    return ok;
}

static bool fuzz_set_capabilities(TernContext *ctx, JsonObject *args, JsonNode **ret,
                                  GError **errp)
{
    g_autoptr(GHashTable) seen = qapi_seen_new();
    q_obj_migrate_set_capabilities_arg arg = { 0 };
    bool ok = visit_q_obj_migrate_set_capabilities_arg_members_from_json(args, NULL, seen,
                                                                          &arg, errp) &&
              qapi_check_unexpected(args, NULL, seen, errp) &&
              migration_options_set_caps(ctx->opts, arg.capabilities, errp);

    qapi_free_q_obj_migrate_set_capabilities_arg_members(&arg);
    return ok;
}

static bool fuzz_migrate(TernContext *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    g_autoptr(GHashTable) seen = qapi_seen_new();
    q_obj_migrate_arg arg = { 0 };
    g_autoptr(MigrationAddress) addr = NULL;
    bool ok = visit_q_obj_migrate_arg_members_from_json(args, NULL, seen, &arg, errp) &&
              qapi_check_unexpected(args, NULL, seen, errp);

    if (ok && arg.uri) {
        addr = migration_uri_parse(arg.uri, errp);
    } else if (ok && arg.channels) {
        addr = migration_channels_parse(arg.channels, errp);
    }
    qapi_free_q_obj_migrate_arg_members(&arg);
    return addr != NULL;
}

static void fuzz_qmp_emit(void *opaque, JsonNode *value, GError *err)
{
    TernContext *ctx = opaque;
    static QmpCommandList *cmds;
    JsonNode *rsp;

    if (!cmds) {
        /* Built once, read-only afterwards (libFuzzer has no teardown). */
        cmds = qmp_command_list_new();
        qmp_register_command(cmds, "migrate-set-parameters", fuzz_set_parameters,
                             QCO_NO_OPTIONS);
        qmp_register_command(cmds, "migrate-set-capabilities", fuzz_set_capabilities,
                             QCO_NO_OPTIONS);
        qmp_register_command(cmds, "migrate", fuzz_migrate, QCO_ALLOW_OOB);
    }
    if (err) {
        rsp = qmp_error_response(err);
        g_error_free(err);
    } else {
        rsp = qmp_dispatch(cmds, ctx, value, true);
        json_node_unref(value);
    }
    if (rsp) {
        json_node_unref(rsp);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TernContext ctx = { .opts = migration_options_new() };
    g_autoptr(JsonStream) js = json_stream_new(fuzz_qmp_emit, &ctx);

    /* Two reads, as a socket may split a request anywhere. */
    json_stream_feed(js, (const char *)data, size / 2);
    json_stream_feed(js, (const char *)data + size / 2, size - size / 2);
    g_clear_pointer(&js, json_stream_free);
    migration_options_free(ctx.opts);
    return 0;
}
