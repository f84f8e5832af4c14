/*
 * The return path and postcopy: /migration/precopy/unix/return-path (a
 * precopy whose destination reports its load back), the refusals of
 * transports that carry one direction only, and the postcopy tests.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

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
    gint64 deadline = qtest_deadline_ms(120000);
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

/* ---- switchover-ack ---- */

/* QEMU's test: return-path and switchover-ack on both sides, live, over tcp. */
static void test_precopy_switchover_ack(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = NULL;

    set_cap_both(t, "return-path");
    set_cap_both(t, "switchover-ack");
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", NULL);
    wait_for_serial(t->src_serial);
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
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
 * The destination never acks (its switchover-ack is off): a migration that
 * would converge at once keeps iterating, pass after pass, and cancels
 * cleanly.
 */
static void test_precopy_switchover_ack_missing(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = unix_uri(t, "migsocket");
    g_autofree char *status = NULL;

    set_cap_both(t, "return-path");
    migrate_set_capability(t->from, "switchover-ack", true);
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_pass(t->from, 4);
    status = migrate_query_status(t->from);
    g_assert_cmpstr(status, ==, "active");
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    migration_event_wait(t->to, "failed");
    {
        g_autofree char *runstate = migrate_runstate(t->from);

        g_assert_cmpstr(runstate, ==, "running");
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

/* ---- postcopy ---- */

/* Start the processes for a postcopy test, or skip (NULL) without userfaultfd. */
static MigTest *postcopy_start(const MigrateStart *start)
{
    g_autofree char *why = NULL;

    if (!userfaultfd_usable(&why)) {
        g_test_skip(why);
        return NULL;
    }
    return migrate_start(start);
}

/*
 * QEMU's postcopy flow: postcopy-ram on both sides, a live migration that
 * cannot converge, migrate-start-postcopy once the guest dirtied memory
 * already sent; the guest stops on the source, runs on the destination
 * pulling pages, and everything arrives.
 */
/* The destination's figures: blocktime members as QEMU's, and tern's latencies. */
static void check_dest_blocktime(MigTest *t)
{
    g_autoptr(JsonNode) info = migrate_query(t->to);
    JsonObject *obj = json_node_get_object(info);
    JsonArray *per_vcpu;

    g_assert_true(json_object_has_member(obj, "postcopy-blocktime"));
    per_vcpu = json_object_get_array_member(obj, "postcopy-vcpu-blocktime");
    g_assert_cmpuint(json_array_get_length(per_vcpu), ==, 1);
    g_assert_true(json_object_has_member(obj, "x-postcopy-faults"));
    g_test_message("destination: blocktime %" PRId64 " ms, faults %" PRId64
                   ", latency p50 %" PRId64 " us, p99 %" PRId64 " us, max %" PRId64 " us",
                   json_object_get_int_member(obj, "postcopy-blocktime"),
                   json_object_get_int_member(obj, "x-postcopy-faults"),
                   json_object_get_int_member_with_default(obj, "x-postcopy-latency-p50", -1),
                   json_object_get_int_member_with_default(obj, "x-postcopy-latency-p99", -1),
                   json_object_get_int_member_with_default(obj, "x-postcopy-latency-max", -1));
}

/*
 * With preempt, every request the source served went on the preempt
 * channel (each asks for at least one page); without, there is no such
 * channel to report.
 */
static void check_preempt_pages(JsonNode *info, bool preempt, int64_t requests)
{
    JsonObject *obj = json_node_get_object(info);
    int64_t pages = json_object_get_int_member_with_default(obj, "x-postcopy-preempt-pages",
                                                             -1);

    g_test_message("x-postcopy-preempt-pages %" PRId64, pages);
    if (!preempt) {
        g_assert_cmpint(pages, ==, -1);
        return;
    }
    g_assert_cmpint(pages, >=, requests);
}

static void test_postcopy_common(MigTest *t, const char *uri, bool preempt)
{
    set_cap_both(t, "postcopy-ram");
    set_cap_both(t, "postcopy-blocktime");
    if (preempt) {
        set_cap_both(t, "postcopy-preempt");
    }
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    {
        g_autofree char *connect = migrate_get_connect_uri(t->to, uri);

        migrate_qmp(t->from, connect, NULL);
    }
    migrate_wait_for_dirty_mem(t);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    migration_event_wait(t->from, "postcopy-active");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    migration_event_wait(t->to, "postcopy-active");
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    check_dest_blocktime(t);
    {
        g_autoptr(JsonNode) info = migrate_query(t->from);

        g_test_message("postcopy-requests %" PRId64 ", postcopy-bytes %" PRId64
                       ", downtime %" PRId64 " ms",
                       migrate_query_ram_int(t->from, "postcopy-requests"),
                       migrate_query_ram_int(t->from, "postcopy-bytes"),
                       (int64_t)json_object_get_int_member(json_node_get_object(info),
                                                           "downtime"));
        check_preempt_pages(info, preempt, migrate_query_ram_int(t->from,
                                                                 "postcopy-requests"));
    }
    migrate_end(t, true);
}

static void test_postcopy_plain(void)
{
    MigrateStart start = { 0 };
    MigTest *t = postcopy_start(&start);

    if (!t) {
        return;
    }
    test_postcopy_common(t, "tcp:127.0.0.1:0", false);
    migrate_test_free(t);
}

static void test_postcopy_unix(void)
{
    MigrateStart start = { 0 };
    MigTest *t = postcopy_start(&start);
    g_autofree char *uri = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    test_postcopy_common(t, uri, false);
    migrate_test_free(t);
}

/*
 * QEMU's preempt test: requested pages come on a second connection, ahead
 * of the background pass on the main one; everything arrives.
 */
static void test_postcopy_preempt(gconstpointer data)
{
    const char *transport = data;
    MigrateStart start = { 0 };
    MigTest *t = postcopy_start(&start);
    g_autofree char *uri = NULL;

    if (!t) {
        return;
    }
    uri = g_str_equal(transport, "tcp") ? g_strdup("tcp:127.0.0.1:0")
                                        : unix_uri(t, "migsocket");
    test_postcopy_common(t, uri, true);
    migrate_test_free(t);
}

/*
 * Into postcopy with the background pass slowed to a trickle
 * (max-postcopy-bandwidth 4096, as QEMU's recovery tests do), so that the
 * source stays postcopy-active: the guest runs on the destination on
 * requested pages alone.
 */
static MigTest *postcopy_start_slow(void)
{
    MigrateStart start = { 0 };
    MigTest *t = postcopy_start(&start);
    g_autofree char *uri = NULL;

    if (!t) {
        return NULL;
    }
    uri = unix_uri(t, "migsocket");
    set_cap_both(t, "postcopy-ram");
    migrate_ensure_non_converge(t->from);
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 4096);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    migrate_wait_for_dirty_mem(t);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    migration_event_wait(t->from, "postcopy-active");
    migration_event_wait(t->to, "postcopy-active");
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    return t;
}

/*
 * migrate_cancel is refused once the guest runs on the destination (QEMU
 * 10.2's rule); lifting the bandwidth limit live lets postcopy finish, and
 * everything arrives.
 */
static void test_postcopy_cancel_refused(void)
{
    MigTest *t = postcopy_start_slow();

    if (!t) {
        return;
    }
    qtest_qmp_expect_error(t->from, "GenericError",
                           "Postcopy migration in progress, cannot cancel.",
                           "{'execute': 'migrate_cancel'}");
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 0);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * The destination quits in the middle of postcopy: it exits cleanly (no
 * vCPU stays stuck on a missing page); its exit cancels the connection
 * before a SHUT could go, so the source sees a broken link and pauses
 * (as QEMU), never running the guest again, which ran on the destination.
 */
static void test_postcopy_dest_quits(void)
{
    MigTest *t = postcopy_start_slow();
    g_autofree char *desc = NULL;
    g_autofree char *runstate = NULL;

    if (!t) {
        return;
    }
    qtest_qmp_assert_success(t->to, "{'execute': 'quit'}");
    g_assert_cmpint(qtest_wait_exit(t->to, 60000), ==, 0);
    wait_for_migration_status(t->from, "postcopy-paused", NULL);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "finish-migrate");
    {
        g_autoptr(JsonNode) info = migrate_query(t->from);

        desc = g_strdup(json_object_get_string_member(json_node_get_object(info),
                                                      "error-desc"));
    }
    g_test_message("source error-desc: %s", desc);
    migrate_end(t, false);
    migrate_test_free(t);
}

/* Under KVM: the guest's faults come through KVM's page faults on the vCPU thread. */
static void test_postcopy_unix_kvm(void)
{
    MigrateStart start = {
        .accel = "kvm",
        .start_address = 1 << 20,
        .end_address = 2 << 20,
    };
    MigTest *t = postcopy_start(&start);
    g_autofree char *uri = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    test_postcopy_common(t, uri, false);
    migrate_test_free(t);
}

/* migrate-start-postcopy's refusals, with QEMU's words. */
static void test_postcopy_start_refused(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);

    qtest_qmp_expect_error(t->from, "GenericError",
        "Enable postcopy with migrate_set_capability before the start of migration",
        "{'execute': 'migrate-start-postcopy'}");
    migrate_set_capability(t->from, "postcopy-ram", true);
    qtest_qmp_expect_error(t->from, "GenericError",
        "Postcopy must be started after migration has been started",
        "{'execute': 'migrate-start-postcopy'}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "migrate-pause is currently only supported during postcopy-active or "
        "postcopy-recover state", "{'execute': 'migrate-pause'}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "Migrate recover can only be run when postcopy is paused.",
        "{'execute': 'migrate-recover', 'arguments': {'uri': 'unix:/nonexistent'}}");
    migrate_end(t, false);
    migrate_test_free(t);
}

/* exec: has no return path: postcopy fails at once, the guest runs on. */
static void test_postcopy_exec_refused(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = g_strdup_printf("exec:cat > %s/migfile", t->dir);
    g_autofree char *desc = NULL;

    migrate_set_capability(t->from, "postcopy-ram", true);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    desc = wait_for_migration_fail(t->from, false);
    g_assert_true(g_str_has_prefix(desc, "Unable to open return-path for postcopy"));
    migrate_end(t, false);
    migrate_test_free(t);
}

void migration_register_postcopy_kvm_tests(void)
{
    g_test_add_func("/migration/postcopy/unix/kvm", test_postcopy_unix_kvm);
}

void migration_register_postcopy_tests(void)
{
    g_test_add_func("/migration/postcopy/plain", test_postcopy_plain);
    g_test_add_func("/migration/postcopy/unix", test_postcopy_unix);
    g_test_add_data_func("/migration/postcopy/preempt/plain", "tcp", test_postcopy_preempt);
    g_test_add_data_func("/migration/postcopy/preempt/unix", "unix", test_postcopy_preempt);
    g_test_add_func("/migration/postcopy/start/refused", test_postcopy_start_refused);
    g_test_add_func("/migration/postcopy/cancel/refused", test_postcopy_cancel_refused);
    g_test_add_func("/migration/postcopy/dest-quits", test_postcopy_dest_quits);
    g_test_add_func("/migration/postcopy/exec/refused", test_postcopy_exec_refused);
    g_test_add_func("/migration/precopy/unix/return-path",
                    test_precopy_return_path);
    g_test_add_data_func("/migration/precopy/unix/return-path/bad-load",
                         GINT_TO_POINTER(true), test_precopy_return_path_bad_load);
    g_test_add_data_func("/migration/precopy/unix/bad-load-unnoticed",
                         GINT_TO_POINTER(false), test_precopy_return_path_bad_load);
    g_test_add_func("/migration/precopy/tcp/plain/switchover-ack",
                    test_precopy_switchover_ack);
    g_test_add_func("/migration/precopy/unix/switchover-ack/missing",
                    test_precopy_switchover_ack_missing);
    g_test_add_data_func("/migration/precopy/exec/return-path",
                         "exec:cat > %s/migfile", test_return_path_one_way);
    g_test_add_data_func("/migration/precopy/file/return-path",
                         "file:%s/migfile", test_return_path_one_way);
}
