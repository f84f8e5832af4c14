/*
 * Postcopy recovery (QEMU's /migration/postcopy/recovery/... and
 * /migration/postcopy/preempt/recovery/...): a postcopy whose link breaks
 * pauses on both sides, the guest running on the destination, and resumes
 * on a new connection with migrate-recover and migrate resume; every test
 * ends with the a-b memory check and the guest running on the destination.
 * The link breaks by migrate-pause, by a proxy in the test cutting it
 * mid-postcopy, and by recoveries that fail once (double failures).
 */
#include "migration-helpers.h"
#include "migration-proxy.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

/* ---- the flow ---- */

/*
 * Into postcopy with the background pass slowed to a trickle
 * (max-postcopy-bandwidth 4096, as QEMU's recovery tests do), so the
 * link breaks while most of RAM is still on the source; NULL (skipped)
 * without userfaultfd.  The source connects to @connect_path, the
 * destination listens on migsocket.
 */
static MigTest *recovery_start(bool preempt, const char *connect_path)
{
    MigrateStart start = { 0 };
    g_autofree char *why = NULL;
    g_autofree char *listen_uri = NULL;
    g_autofree char *connect_uri = NULL;
    MigTest *t;

    if (!userfaultfd_usable(&why)) {
        g_test_skip(why);
        return NULL;
    }
    t = migrate_start(&start);
    listen_uri = unix_uri(t, "migsocket");
    connect_uri = connect_path ? g_strdup_printf("unix:%s", connect_path)
                               : g_strdup(listen_uri);
    set_cap_both(t, "postcopy-ram");
    if (preempt) {
        set_cap_both(t, "postcopy-preempt");
    }
    migrate_ensure_non_converge(t->from);
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 4096);
    migrate_incoming_qmp(t->to, listen_uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    return t;
}

static void recovery_switch(MigTest *t, const char *connect_uri)
{
    migrate_qmp(t->from, connect_uri, NULL);
    migrate_wait_for_dirty_mem(t);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    migration_event_wait(t->from, "postcopy-active");
    migration_event_wait(t->to, "postcopy-active");
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
}

/* Both sides paused; the guest still runs on the destination. */
static void recovery_wait_paused(MigTest *t)
{
    g_autofree char *runstate = NULL;

    wait_for_migration_status(t->from, "postcopy-paused", NULL);
    wait_for_migration_status(t->to, "postcopy-paused", NULL);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "running");
}

/* migrate-recover on the destination, resume on the source, the rest of RAM at full speed. */
static void recovery_resume(MigTest *t, const char *name)
{
    g_autofree char *uri = unix_uri(t, name);
    g_autofree char *quoted = g_strdup_printf("'%s'", uri);

    qtest_qmp_assert_success(t->to, "{'execute': 'migrate-recover', 'arguments': {'uri': %s}}",
                             quoted);
    migrate_qmp(t->from, uri, "'resume': true");
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 0);
}

static void recovery_finish(MigTest *t)
{
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* QEMU's plain recovery: migrate-pause on the source breaks the link. */
static void test_recovery_plain(gconstpointer data)
{
    bool preempt = GPOINTER_TO_INT(data);
    MigTest *t = recovery_start(preempt, NULL);
    g_autofree char *uri = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    recovery_switch(t, uri);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    recovery_wait_paused(t);
    {
        g_autoptr(JsonNode) info = migrate_query(t->from);

        g_assert_cmpstr(json_object_get_string_member(json_node_get_object(info),
                                                      "error-desc"),
                        ==, "Postcopy migration is paused by the user");
    }
    recovery_resume(t, "migsocket-recover");
    recovery_finish(t);
}

/* A proxy between the two cuts every connection mid-postcopy. */
static void test_recovery_proxy_cut(gconstpointer data)
{
    bool preempt = GPOINTER_TO_INT(data);
    MigTest *t;
    g_autofree char *target = NULL;
    g_autofree char *proxy_path = NULL;
    g_autofree char *proxy_uri = NULL;
    MigProxy *proxy;

    {
        g_autofree char *why = NULL;

        if (!userfaultfd_usable(&why)) {
            g_test_skip(why);
            return;
        }
    }
    t = recovery_start(preempt, NULL);
    target = migrate_test_path(t, "migsocket");
    proxy_path = migrate_test_path(t, "proxysocket");
    proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    proxy = mig_proxy_new(proxy_path, target, NULL, NULL);
    recovery_switch(t, proxy_uri);
    mig_proxy_wait_connections(proxy, preempt ? 2 : 1);
    mig_proxy_cut_and_free(proxy);
    recovery_wait_paused(t);
    recovery_resume(t, "migsocket-recover");
    recovery_finish(t);
}

/*
 * Double failure in the handshake: the source resumes to a peer that
 * accepts and says nothing (it waits in postcopy-recover for the
 * bitmaps), the destination gets a connection that sends one command
 * byte and nothing more (postcopy-recover too); migrate-pause kicks both
 * back to postcopy-paused, and a second recovery completes.
 */
static void test_recovery_double_handshake(void)
{
    MigTest *t = recovery_start(false, NULL);
    g_autofree char *uri = NULL;
    g_autofree char *silent_path = NULL;
    g_autofree char *silent_uri = NULL;
    g_autofree char *recover_path = NULL;
    int silent, accepted, fake;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    recovery_switch(t, uri);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    recovery_wait_paused(t);

    silent_path = migrate_test_path(t, "silent");
    silent_uri = g_strdup_printf("unix:%s", silent_path);
    silent = mig_unix_listen(silent_path);
    migrate_qmp(t->from, silent_uri, "'resume': true");
    migration_event_wait(t->from, "postcopy-recover-setup");
    migration_event_wait(t->from, "postcopy-recover");
    accepted = accept4(silent, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(accepted, >=, 0);

    recover_path = migrate_test_path(t, "migsocket-recover");
    {
        g_autofree char *recover_uri = g_strdup_printf("'unix:%s'", recover_path);

        qtest_qmp_assert_success(t->to, "{'execute': 'migrate-recover', "
                                 "'arguments': {'uri': %s}}", recover_uri);
    }
    fake = mig_unix_connect(recover_path);
    g_assert_cmpint(fake, >=, 0);
    g_assert_cmpint(write(fake, "\x08", 1), ==, 1);
    wait_for_migration_status(t->to, "postcopy-recover", NULL);

    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    qtest_qmp_assert_success(t->to, "{'execute': 'migrate-pause'}");
    recovery_wait_paused(t);
    close(fake);
    close(accepted);
    close(silent);
    recovery_resume(t, "migsocket-recover2");
    recovery_finish(t);
}

/*
 * Double failure at reconnect: the source resumes to an address nobody
 * listens on; it goes postcopy-recover-setup, then back to
 * postcopy-paused with an event, and a second recovery completes.
 */
static void test_recovery_double_reconnect(void)
{
    MigTest *t = recovery_start(false, NULL);
    g_autofree char *uri = NULL;
    g_autofree char *nobody = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    recovery_switch(t, uri);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    recovery_wait_paused(t);
    nobody = unix_uri(t, "nobody");
    migrate_qmp(t->from, nobody, "'resume': true");
    migration_event_wait(t->from, "postcopy-recover-setup");
    migration_event_wait(t->from, "postcopy-paused");
    recovery_resume(t, "migsocket-recover");
    recovery_finish(t);
}

/* QEMU's refusals around a pause, with its words. */
static void test_recovery_refused(void)
{
    MigTest *t = recovery_start(false, NULL);
    g_autofree char *uri = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    qtest_qmp_expect_error(t->from, "GenericError",
        "Cannot resume if there is no paused migration",
        "{'execute': 'migrate', 'arguments': {'uri': 'unix:/nonexistent', 'resume': true}}");
    recovery_switch(t, uri);
    qtest_qmp_expect_error(t->from, "GenericError",
        "Cannot resume if there is no paused migration",
        "{'execute': 'migrate', 'arguments': {'uri': 'unix:/nonexistent', 'resume': true}}");
    qtest_qmp_expect_error(t->to, "GenericError",
        "Migrate recover can only be run when postcopy is paused.",
        "{'execute': 'migrate-recover', 'arguments': {'uri': 'unix:/nonexistent'}}");
    qtest_qmp_expect_error(t->to, "GenericError",
        "Postcopy preempt must be set before incoming starts",
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': "
        "[{'capability': 'postcopy-preempt', 'state': true}]}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "Postcopy migration in progress, cannot cancel.",
        "{'execute': 'migrate_cancel'}");
    qtest_qmp_assert_success(t->to, "{'execute': 'migrate-pause'}");
    recovery_wait_paused(t);
    qtest_qmp_expect_error(t->from, "GenericError",
        "migrate-pause is currently only supported during postcopy-active or "
        "postcopy-recover state", "{'execute': 'migrate-pause'}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "Postcopy migration in progress, cannot cancel.",
        "{'execute': 'migrate_cancel'}");
    recovery_resume(t, "migsocket-recover");
    recovery_finish(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/migration/postcopy/recovery/plain", GINT_TO_POINTER(false),
                         test_recovery_plain);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/plain", GINT_TO_POINTER(true),
                         test_recovery_plain);
    g_test_add_data_func("/migration/postcopy/recovery/proxy-cut", GINT_TO_POINTER(false),
                         test_recovery_proxy_cut);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/proxy-cut",
                         GINT_TO_POINTER(true), test_recovery_proxy_cut);
    g_test_add_func("/migration/postcopy/recovery/double-failures/handshake",
                    test_recovery_double_handshake);
    g_test_add_func("/migration/postcopy/recovery/double-failures/reconnect",
                    test_recovery_double_reconnect);
    g_test_add_func("/migration/postcopy/recovery/refused", test_recovery_refused);
    return g_test_run();
}
