/*
 * Migrations that must fail or be cancelled, and the checks on migrate's
 * arguments: /migration/bad_dest, validate_uuid*, validate_uri/...,
 * cancel/src/after/STATUS.  Whatever happens, the source's guest keeps
 * running.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

#define UUID_1 "11111111-1111-1111-1111-111111111111"
#define UUID_2 "22222222-2222-2222-2222-222222222222"

/* Nothing listens on port 0: the source fails and keeps running. */
static void test_baddest(void)
{
    MigrateStart start = { .incoming = "tcp:127.0.0.1:0" };
    MigTest *t = migrate_start(&start);
    g_autofree char *desc = NULL;

    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, "tcp:127.0.0.1:0", NULL);
    desc = wait_for_migration_fail(t->from, false);
    g_test_message("error-desc: %s", desc);
    migrate_check_source_guest_runs(t);
    migrate_end(t, false);
    migrate_test_free(t);
}

/* ---- validate-uuid ---- */

typedef enum {
    UUID_OK,
    UUID_FAIL,                  /* source fails, destination exits 1 */
} UuidResult;

static void test_validate_uuid_common(const char *src_uuid,
                                      const char *dst_uuid, UuidResult res)
{
    g_autofree char *src_opts = src_uuid ? g_strdup_printf("-uuid %s",
                                                           src_uuid) : NULL;
    g_autofree char *dst_opts = dst_uuid ? g_strdup_printf("-uuid %s",
                                                           dst_uuid) : NULL;
    MigrateStart start = { .src_opts = src_opts, .dst_opts = dst_opts };
    g_autofree char *uri = NULL;
    MigTest *t = migrate_start(&start);

    uri = migrate_test_path(t, "migsocket");
    {
        g_autofree char *path = g_steal_pointer(&uri);

        uri = g_strdup_printf("unix:%s", path);
    }
    migrate_set_capability(t->from, "validate-uuid", true);
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);

    if (res == UUID_FAIL) {
        g_autofree char *desc = wait_for_migration_fail(t->from, true);

        g_test_message("source error-desc: %s", desc);
        /* exit-on-error defaults to true on the destination. */
        g_assert_cmpint(qtest_wait_exit(t->to, 60000), ==, 1);
        migrate_check_source_guest_runs(t);
        migrate_end(t, false);
    } else {
        wait_for_migration_complete(t->from);
        wait_for_migration_complete(t->to);
        migrate_check_source_after(t);
        json_node_unref(migrate_eventwait(t->to, "RESUME"));
        migrate_end(t, true);
    }
    migrate_test_free(t);
}

static void test_validate_uuid(void)
{
    test_validate_uuid_common(UUID_1, UUID_1, UUID_OK);
}

static void test_validate_uuid_error(void)
{
    test_validate_uuid_common(UUID_1, UUID_2, UUID_FAIL);
}

static void test_validate_uuid_src_not_set(void)
{
    test_validate_uuid_common(NULL, UUID_1, UUID_OK);
}

static void test_validate_uuid_dst_not_set(void)
{
    test_validate_uuid_common(UUID_1, NULL, UUID_OK);
}

/* ---- migrate's uri / channels ---- */

static void test_validate_uri_common(const char *fmt)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *args = g_strdup_printf(fmt, t->dir, t->dir);
    g_autofree char *desc = migrate_qmp_fail(t->from, args);
    g_autofree char *status = migrate_query_status(t->from);

    g_assert_cmpstr(desc, ==, "need either 'uri' or 'channels' argument");
    g_assert_cmpstr(status, ==, "none");
    migrate_test_free(t);
}

static void test_validate_uri_channels_both_set(void)
{
    test_validate_uri_common(
        "{'uri': 'unix:%s/migsocket', 'channels': [{'channel-type': 'main', "
        "'addr': {'transport': 'socket', 'type': 'unix', "
        "'path': '%s/migsocket'}}]}");
}

static void test_validate_uri_channels_none_set(void)
{
    test_validate_uri_common("{}");
}

static void test_validate_uri_unknown_protocol(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *desc = migrate_qmp_fail(t->from,
                                             "{'uri': 'bogus:somewhere'}");
    g_autofree char *runstate = migrate_runstate(t->from);

    g_assert_cmpstr(desc, ==, "unknown migration protocol: bogus:somewhere");
    g_assert_cmpstr(runstate, ==, "running");
    migrate_test_free(t);
}

/* migrate-incoming needs -incoming, and works once. */
static void test_incoming_once(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);

    qtest_qmp_expect_error(t->from, "GenericError",
        "'-incoming' was not specified on the command line",
        "{'execute': 'migrate-incoming', 'arguments': {'uri': '%s'}}", uri);
    migrate_incoming_qmp(t->to, uri, NULL);
    qtest_qmp_expect_error(t->to, "GenericError",
        "The incoming migration has already been started",
        "{'execute': 'migrate-incoming', 'arguments': {'uri': '%s'}}", uri);
    migrate_end(t, false);
    migrate_test_free(t);
}

/*
 * A device blocker (testdev CONTROL.BLOCK_MIGRATION): query-migrate lists
 * it in blocked-reasons and migrate refuses with it; once the guest lifts
 * it, the migration goes through.
 */
static void test_blocker(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *args = g_strdup_printf("{'uri': '%s'}", uri);
    g_autofree char *desc = NULL;
    g_autoptr(JsonNode) info = NULL;
    JsonArray *reasons;

    qtest_outl(t->qfrom, 0xe8, 1);
    info = migrate_query(t->from);
    g_assert_true(json_object_has_member(json_node_get_object(info),
                                         "blocked-reasons"));
    reasons = json_object_get_array_member(json_node_get_object(info),
                                           "blocked-reasons");
    g_assert_cmpuint(json_array_get_length(reasons), ==, 1);
    desc = migrate_qmp_fail(t->from, args);
    g_assert_cmpstr(desc, ==, json_array_get_string_element(reasons, 0));
    migrate_check_source_guest_runs(t);

    qtest_outl(t->qfrom, 0xe8, 0);
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* ---- migrate_cancel after each status ---- */

static char *cancel_uri(MigTest *t)
{
    g_autofree char *path = migrate_test_path(t, "migsocket");

    return g_strdup_printf("unix:%s", path);
}

/* The source ends cancelled, the destination failed, the guest runs. */
static void cancel_check_outcome(MigTest *t)
{
    wait_for_migration_status(t->from, "cancelled", NULL);
    wait_for_migration_status(t->to, "failed", NULL);
    migrate_check_source_guest_runs(t);
}

/* No migration: cancelling is harmless and the next migration works. */
static void cancel_after_none(MigTest *t, const char *uri)
{
    migrate_cancel(t->to);
    wait_for_serial(t->src_serial);
    migrate_cancel(t->from);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    migrate_end(t, true);
}

/* A second cancel while cancelling / after cancelled changes nothing. */
static void cancel_after_cancelled(MigTest *t, const char *uri,
                                   const char *phase)
{
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_ensure_non_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, "active");
    migrate_cancel(t->from);
    migration_event_wait(t->from, phase);
    migrate_cancel(t->from);
    cancel_check_outcome(t);
    migrate_end(t, false);
}

/* After completion cancel is a no-op. */
static void cancel_after_completed(MigTest *t, const char *uri)
{
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, "completed");
    migrate_cancel(t->from);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    migrate_end(t, true);
}

/* Nobody listens, so the source fails; cancel leaves it failed. */
static void cancel_after_failed(MigTest *t, const char *uri)
{
    wait_for_serial(t->src_serial);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, "failed");
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "failed", NULL);
    migrate_check_source_guest_runs(t);
    migrate_end(t, false);
}

/* setup, active, pre-switchover: cancelling, then cancelled. */
static void cancel_while_running(MigTest *t, const char *uri,
                                 const char *phase)
{
    migrate_set_capability(t->from, "pause-before-switchover", true);
    migrate_set_capability(t->to, "pause-before-switchover", true);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, phase);
    migrate_cancel(t->from);
    migration_event_wait(t->from, "cancelling");
    cancel_check_outcome(t);
    migrate_end(t, false);
}

static void test_cancel_src_after_status(const void *opaque)
{
    const char *phase = opaque;
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = cancel_uri(t);

    if (!strcmp(phase, "none")) {
        cancel_after_none(t, uri);
    } else if (!strcmp(phase, "cancelling") || !strcmp(phase, "cancelled")) {
        cancel_after_cancelled(t, uri, phase);
    } else if (!strcmp(phase, "completed")) {
        cancel_after_completed(t, uri);
    } else if (!strcmp(phase, "failed")) {
        cancel_after_failed(t, uri);
    } else {
        cancel_while_running(t, uri, phase);
    }
    migrate_test_free(t);
}

void migration_register_misc_tests(void)
{
    static const char *const cancel_phases[] = {
        "none", "setup", "active", "cancelling", "cancelled", "completed",
        "failed", "pre-switchover",
    };

    g_test_add_func("/migration/bad_dest", test_baddest);
    g_test_add_func("/migration/validate_uuid", test_validate_uuid);
    g_test_add_func("/migration/validate_uuid_error",
                    test_validate_uuid_error);
    g_test_add_func("/migration/validate_uuid_src_not_set",
                    test_validate_uuid_src_not_set);
    g_test_add_func("/migration/validate_uuid_dst_not_set",
                    test_validate_uuid_dst_not_set);
    g_test_add_func("/migration/validate_uri/channels/both_set",
                    test_validate_uri_channels_both_set);
    g_test_add_func("/migration/validate_uri/channels/none_set",
                    test_validate_uri_channels_none_set);
    g_test_add_func("/migration/validate_uri/unknown_protocol",
                    test_validate_uri_unknown_protocol);
    g_test_add_func("/migration/incoming/once", test_incoming_once);
    g_test_add_func("/migration/blocker", test_blocker);
    for (size_t i = 0; i < G_N_ELEMENTS(cancel_phases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/migration/cancel/src/after/%s", cancel_phases[i]);

        g_test_add_data_func(path, cancel_phases[i],
                             test_cancel_src_after_status);
    }
}
