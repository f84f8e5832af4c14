/*
 * The return path and postcopy: /migration/precopy/unix/return-path (a
 * precopy whose destination reports its load back), the refusals of
 * transports that carry one direction only, and the postcopy tests.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

/* Set @cap on both sides. */
static void set_cap_both(MigTest *t, const char *cap)
{
    migrate_set_capability(t->from, cap, true);
    migrate_set_capability(t->to, cap, true);
}

static char *unix_uri(MigTest *t, const char *name)
{
    g_autofree char *path = migrate_test_path(t, name);

    return g_strdup_printf("unix:%s", path);
}

/*
 * Poll the source until it fails, allowing any running state on the way
 * (the failure comes from the destination, after device state went out).
 * Returns error-desc (transfer full).
 */
static char *wait_for_source_fail(QTestState *from)
{
    static const char *const running[] = {
        "setup", "active", "device", NULL,
    };
    gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    g_autoptr(JsonNode) info = NULL;
    JsonObject *obj;

    for (;;) {
        g_autofree char *status = migrate_query_status(from);

        if (!strcmp(status, "failed")) {
            break;
        }
        if (!g_strv_contains(running, status)) {
            g_error("source in '%s' while waiting for it to fail", status);
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("source still '%s' after 120 s, expected failed", status);
        }
        g_usleep(1000);
    }
    info = migrate_query(from);
    obj = json_node_get_object(info);
    g_assert_true(json_object_has_member(obj, "error-desc"));
    return g_strdup(json_object_get_string_member(obj, "error-desc"));
}

/* ---- return path in precopy ---- */

/* A live precopy with the return path on both sides arrives whole. */
static void test_precopy_return_path(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = unix_uri(t, "migsocket");

    set_cap_both(t, "return-path");
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    migrate_wait_for_dirty_mem(t);
    migrate_ensure_converge(t->from);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * The destination has one vCPU less: its load fails on the last device
 * section, after all of RAM went out.  With the return path the source
 * hears of it (SHUT with an error), fails and keeps running; without, it
 * would call the migration completed and stop its guest.
 */
static void test_precopy_return_path_bad_load(gconstpointer data)
{
    bool return_path = GPOINTER_TO_INT(data);
    MigrateStart start = { .src_opts = "-smp 2", .dst_opts = "-smp 1" };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = unix_uri(t, "migsocket");
    g_autofree char *runstate = NULL;

    if (return_path) {
        set_cap_both(t, "return-path");
    }
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->to, "failed");
    if (return_path) {
        g_autofree char *desc = wait_for_source_fail(t->from);

        g_assert_cmpstr(desc, ==, "Sibling indicated error 1");
        runstate = migrate_runstate(t->from);
        g_assert_cmpstr(runstate, ==, "running");
        wait_for_serial(t->src_serial);
    } else {
        wait_for_migration_complete(t->from);
        runstate = migrate_runstate(t->from);
        g_assert_cmpstr(runstate, ==, "postmigrate");
    }
    migrate_end(t, false);
    migrate_test_free(t);
}

/* exec: and file: carry one direction: QEMU's refusal, the guest runs on. */
static void test_return_path_one_way(gconstpointer data)
{
    const char *fmt = data;
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = g_strdup_printf(fmt, t->dir);
    g_autofree char *desc = NULL;

    migrate_set_capability(t->from, "return-path", true);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    desc = wait_for_migration_fail(t->from, false);
    g_assert_true(g_str_has_prefix(desc, "Unable to open return-path for postcopy"));
    migrate_end(t, false);
    migrate_test_free(t);
}

void migration_register_postcopy_tests(void)
{
    g_test_add_func("/migration/precopy/unix/return-path",
                    test_precopy_return_path);
    g_test_add_data_func("/migration/precopy/unix/return-path/bad-load",
                         GINT_TO_POINTER(true), test_precopy_return_path_bad_load);
    g_test_add_data_func("/migration/precopy/unix/bad-load-unnoticed",
                         GINT_TO_POINTER(false), test_precopy_return_path_bad_load);
    g_test_add_data_func("/migration/precopy/exec/return-path",
                         "exec:cat > %s/migfile", test_return_path_one_way);
    g_test_add_data_func("/migration/precopy/file/return-path",
                         "file:%s/migfile", test_return_path_one_way);
}
