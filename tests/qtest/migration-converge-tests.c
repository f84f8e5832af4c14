/*
 * Convergence: auto-converge throttles a guest that dirties memory faster
 * than the link sends it, in QEMU's steps, and lets it go when the
 * migration ends (QEMU's /migration/auto_converge).
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

/* query-migrate's cpu-throttle-percentage, 0 when absent (as QEMU's test reads it). */
static int64_t query_throttle(QTestState *who)
{
    g_autoptr(JsonNode) ret = migrate_query(who);
    JsonObject *obj = json_node_get_object(ret);

    if (!json_object_has_member(obj, "cpu-throttle-percentage")) {
        return 0;
    }
    return json_object_get_int_member(obj, "cpu-throttle-percentage");
}

/*
 * Poll until the throttle is @want; every value seen on the way must be
 * @prev (the rule moves in whole steps, never elsewhere).  60 s liveness bound.
 */
static void wait_for_throttle(QTestState *who, int64_t prev, int64_t want)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    for (;;) {
        int64_t pct = query_throttle(who);

        if (pct == want) {
            return;
        }
        g_assert_cmpint(pct, ==, prev);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

/* HMP "info migrate" on @who (transfer full). */
static char *hmp_info_migrate(QTestState *who)
{
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(who,
        "{'execute': 'human-monitor-command', "
        "'arguments': {'command-line': 'info migrate'}}");

    return g_strdup(json_node_get_string(ret));
}

/* @opaque: the accelerator ("interp" or "kvm"). */
static void test_auto_converge(const void *opaque)
{
    const int64_t init_pct = 5, inc_pct = 50, max_pct = 95;
    MigrateStart start = {
        .accel = opaque,
        .start_address = 1 << 20,
        .end_address = 3 << 20,
    };
    g_autofree char *uri = NULL;
    g_autofree char *hmp = NULL;
    MigTest *t = migrate_start(&start);

    if (!t) {
        return;
    }
    migrate_set_capability(t->from, "auto-converge", true);
    migrate_set_parameter_int(t->from, "cpu-throttle-initial", init_pct);
    migrate_set_parameter_int(t->from, "cpu-throttle-increment", inc_pct);
    migrate_set_parameter_int(t->from, "max-cpu-throttle", max_pct);
    /* Any dirtying at all counts as too much. */
    migrate_set_parameter_int(t->from, "throttle-trigger-threshold", 1);
    migrate_ensure_non_converge(t->from);
    /* 1 MB/s: each pass over the 2 MiB range takes about two periods. */
    migrate_set_parameter_int(t->from, "max-bandwidth", 1000000);

    uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    g_assert_cmpint(query_throttle(t->from), ==, 0);
    migrate_qmp(t->from, uri, NULL);

    /* initial, then + increment, then capped at the maximum. */
    wait_for_throttle(t->from, 0, init_pct);
    hmp = hmp_info_migrate(t->from);
    g_assert_nonnull(strstr(hmp, "cpu throttle percentage: 5\r\n"));
    wait_for_throttle(t->from, init_pct, init_pct + inc_pct);
    wait_for_throttle(t->from, init_pct + inc_pct, max_pct);

    migrate_ensure_converge(t->from);
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    /* Released with the migration: completed reports no throttle. */
    g_assert_cmpint(query_throttle(t->from), ==, 0);
    g_free(hmp);
    hmp = hmp_info_migrate(t->from);
    g_assert_null(strstr(hmp, "cpu throttle percentage"));
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

void migration_register_converge_tests(void)
{
    g_test_add_data_func("/migration/auto_converge", "interp", test_auto_converge);
}

void migration_register_converge_kvm_tests(void)
{
    g_test_add_data_func("/migration/auto_converge/kvm", "kvm", test_auto_converge);
}
