/*
 * Postcopy recovery (QEMU's /migration/postcopy/recovery/... and
 * /migration/postcopy/preempt/recovery/...): a postcopy whose link breaks
 * pauses on both sides, the guest running on the destination, and resumes
 * on a new connection with migrate-recover and migrate resume; every test
 * ends with the a-b memory check and the guest running on the destination.
 * The link breaks by migrate-pause, by a proxy in the test cutting it
 * mid-postcopy, and by recoveries that fail once (double failures).
 * With tern's x-postcopy-auto-recover the sides recover by themselves:
 * a cut that heals, one that never does (the source gives up, paused),
 * and migrate-pause stopping the attempts.  The KVM variants run the
 * same flows on KVM and SKIP, saying why, where /dev/kvm is unusable.
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

/* What a test runs on: the interpreter (accel NULL) or KVM; with postcopy-preempt. */
typedef struct RecoveryCase {
    bool preempt;
    const char *accel;
} RecoveryCase;

static const RecoveryCase case_plain = { false, NULL };
static const RecoveryCase case_preempt = { true, NULL };
static const RecoveryCase case_kvm = { false, "kvm" };
static const RecoveryCase case_kvm_preempt = { true, "kvm" };

/*
 * Into postcopy with the background pass slowed to a trickle
 * (max-postcopy-bandwidth 4096, as QEMU's recovery tests do), so the
 * link breaks while most of RAM is still on the source; NULL (skipped)
 * without userfaultfd.  The source connects to @connect_path, the
 * destination listens on migsocket.
 */
static MigTest *recovery_start_on(bool preempt, const char *connect_path,
                                  const char *accel)
{
    MigrateStart start = { .accel = accel };
    g_autofree char *why = NULL;
    g_autofree char *listen_uri = NULL;
    g_autofree char *connect_uri = NULL;
    MigTest *t;

    if (!userfaultfd_usable(&why)) {
        g_test_skip(why);
        return NULL;
    }
    t = migrate_start(&start);
    if (!t) {
        return NULL;            /* skipped: the accelerator is unusable */
    }
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

static MigTest *recovery_start(bool preempt, const char *connect_path)
{
    return recovery_start_on(preempt, connect_path, NULL);
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
    const RecoveryCase *rc = data;
    MigTest *t = recovery_start_on(rc->preempt, NULL, rc->accel);
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
    const RecoveryCase *rc = data;
    bool preempt = rc->preempt;
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
    t = recovery_start_on(preempt, NULL, rc->accel);
    if (!t) {
        return;
    }
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

/* ---- auto-recover (x-postcopy-auto-recover) ---- */

/* The next MIGRATION_AUTO_RECOVER event of @who with @status (caller unrefs). */
static JsonNode *auto_recover_event_wait(QTestState *who, const char *status)
{
    for (;;) {
        JsonNode *ev = migrate_eventwait(who, "MIGRATION_AUTO_RECOVER");
        JsonObject *data = json_object_get_object_member(json_node_get_object(ev), "data");

        if (!strcmp(json_object_get_string_member(data, "status"), status)) {
            return ev;
        }
        json_node_unref(ev);
    }
}

static JsonObject *event_data(JsonNode *ev)
{
    return json_object_get_object_member(json_node_get_object(ev), "data");
}

/* query-migrate's x-postcopy-auto-recover on the source (borrowed from @info). */
static JsonObject *auto_recover_info(JsonNode *info)
{
    JsonObject *o = json_node_get_object(info);

    g_assert_true(json_object_has_member(o, "x-postcopy-auto-recover"));
    return json_object_get_object_member(o, "x-postcopy-auto-recover");
}

/*
 * The source makes @attempts attempts, the first after @delay_ms; the
 * destination listens again by itself when @dest.  Before the migration
 * starts: the source takes its parameters then.
 */
static void auto_recover_set(MigTest *t, int attempts, int delay_ms, bool dest)
{
    migrate_set_parameter_int(t->from, "x-postcopy-auto-recover", attempts);
    migrate_set_parameter_int(t->from, "x-postcopy-auto-recover-delay", delay_ms);
    if (dest) {
        migrate_set_parameter_int(t->to, "x-postcopy-auto-recover", 1);
    }
}

/* Into postcopy through a proxy in front of the destination's migsocket. */
static MigProxy *auto_recover_switch(MigTest *t, bool preempt, char **proxy_path)
{
    g_autofree char *target = migrate_test_path(t, "migsocket");
    g_autofree char *proxy_uri = NULL;
    MigProxy *proxy;

    *proxy_path = migrate_test_path(t, "proxysocket");
    proxy_uri = g_strdup_printf("unix:%s", *proxy_path);
    proxy = mig_proxy_new(*proxy_path, target, NULL, NULL);
    recovery_switch(t, proxy_uri);
    mig_proxy_wait_connections(proxy, preempt ? 2 : 1);
    return proxy;
}

/* The destination paused by the cut, its guest running. */
static void auto_recover_wait_dest_paused(MigTest *t)
{
    g_autofree char *runstate = NULL;

    wait_for_migration_status(t->to, "postcopy-paused", NULL);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "running");
}

/*
 * The proxy cuts the link and comes back after an attempt failed: both
 * sides recover by themselves (the test sends no recovery command) and
 * the migration completes with every page.
 */
static void test_auto_recover_heals(gconstpointer data)
{
    const RecoveryCase *rc = data;
    MigTest *t = recovery_start_on(rc->preempt, NULL, rc->accel);
    g_autofree char *proxy_path = NULL;
    g_autofree char *target = NULL;
    g_autoptr(JsonNode) healed = NULL;
    g_autoptr(JsonNode) info = NULL;
    JsonObject *ar;
    MigProxy *proxy;

    if (!t) {
        return;
    }
    auto_recover_set(t, 1000, 20, true);
    proxy = auto_recover_switch(t, rc->preempt, &proxy_path);
    mig_proxy_cut_and_free(proxy);
    auto_recover_wait_dest_paused(t);
    /* Attempt 2 is scheduled: attempt 1 found the link still cut. */
    for (;;) {
        g_autoptr(JsonNode) ev = auto_recover_event_wait(t->from, "waiting");

        if (json_object_get_int_member(event_data(ev), "attempt") >= 2) {
            g_assert_true(json_object_has_member(event_data(ev), "error"));
            break;
        }
    }
    /* The rest of RAM at full speed once it runs again (a live limit). */
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 0);
    target = migrate_test_path(t, "migsocket");
    proxy = mig_proxy_new(proxy_path, target, NULL, NULL);

    healed = auto_recover_event_wait(t->from, "idle");
    g_assert_cmpint(json_object_get_int_member(event_data(healed), "attempt"), >=, 2);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    info = migrate_query(t->from);
    ar = auto_recover_info(info);
    g_assert_cmpstr(json_object_get_string_member(ar, "status"), ==, "idle");
    g_assert_cmpint(json_object_get_int_member(ar, "recoveries"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(ar, "attempts"), ==, 0);
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
    mig_proxy_cut_and_free(proxy);
}

/*
 * The cut never heals: after its attempts the source gives up with the
 * error, stays in postcopy-paused with every page it had, and a manual
 * recovery still completes the migration.
 */
static void test_auto_recover_gives_up(void)
{
    MigTest *t = recovery_start(false, NULL);
    g_autofree char *proxy_path = NULL;
    g_autoptr(JsonNode) gave_up = NULL;
    g_autoptr(JsonNode) info = NULL;
    const char *desc;
    JsonObject *ar;

    if (!t) {
        return;
    }
    auto_recover_set(t, 3, 1, false);
    mig_proxy_cut_and_free(auto_recover_switch(t, false, &proxy_path));
    gave_up = auto_recover_event_wait(t->from, "gave-up");
    g_assert_cmpint(json_object_get_int_member(event_data(gave_up), "attempt"), ==, 3);
    g_assert_true(g_str_has_prefix(json_object_get_string_member(event_data(gave_up),
                                                                 "error"),
                                   "postcopy auto-recover gave up after 3 attempts: "));
    recovery_wait_paused(t);
    info = migrate_query(t->from);
    desc = json_object_get_string_member(json_node_get_object(info), "error-desc");
    g_assert_true(g_str_has_prefix(desc, "postcopy auto-recover gave up after 3 attempts: "));
    ar = auto_recover_info(info);
    g_assert_cmpstr(json_object_get_string_member(ar, "status"), ==, "gave-up");
    g_assert_cmpint(json_object_get_int_member(ar, "attempts"), ==, 3);
    /* Nothing left to stop: QEMU's refusal again. */
    qtest_qmp_expect_error(t->from, "GenericError",
        "migrate-pause is currently only supported during postcopy-active or "
        "postcopy-recover state", "{'execute': 'migrate-pause'}");
    recovery_resume(t, "migsocket-recover");
    recovery_finish(t);
}

/*
 * While the source waits for its next attempt, migrate_cancel is still
 * refused (the guest runs on the destination) and migrate-pause stops the
 * attempts; the source waits, paused, for a manual recovery.
 */
static void test_auto_recover_stopped(void)
{
    MigTest *t = recovery_start(false, NULL);
    g_autofree char *proxy_path = NULL;
    g_autoptr(JsonNode) waiting = NULL;
    g_autoptr(JsonNode) stopped = NULL;
    g_autoptr(JsonNode) info = NULL;
    JsonObject *ar;

    if (!t) {
        return;
    }
    /* A minute's wait: the test stops it long before (or stops the attempt). */
    auto_recover_set(t, 1000, 60000, true);
    mig_proxy_cut_and_free(auto_recover_switch(t, false, &proxy_path));
    waiting = auto_recover_event_wait(t->from, "waiting");
    g_assert_cmpint(json_object_get_int_member(event_data(waiting), "delay"), ==, 60000);
    qtest_qmp_expect_error(t->from, "GenericError",
        "Postcopy migration in progress, cannot cancel.",
        "{'execute': 'migrate_cancel'}");
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    stopped = auto_recover_event_wait(t->from, "stopped");
    recovery_wait_paused(t);
    info = migrate_query(t->from);
    ar = auto_recover_info(info);
    g_assert_cmpstr(json_object_get_string_member(ar, "status"), ==, "stopped");
    g_assert_false(json_object_has_member(ar, "delay"));
    qtest_qmp_expect_error(t->from, "GenericError",
        "migrate-pause is currently only supported during postcopy-active or "
        "postcopy-recover state", "{'execute': 'migrate-pause'}");
    recovery_resume(t, "migsocket-recover");
    recovery_finish(t);
}

/* The source quits while it waits for an attempt: nothing hangs or leaks. */
static void test_auto_recover_quit_waiting(void)
{
    MigTest *t = recovery_start(false, NULL);
    g_autofree char *proxy_path = NULL;

    if (!t) {
        return;
    }
    auto_recover_set(t, 1000, 60000, true);
    mig_proxy_cut_and_free(auto_recover_switch(t, false, &proxy_path));
    json_node_unref(auto_recover_event_wait(t->from, "waiting"));
    auto_recover_wait_dest_paused(t);
    migrate_end(t, false);
    migrate_test_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/migration/postcopy/recovery/plain", &case_plain,
                         test_recovery_plain);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/plain", &case_preempt,
                         test_recovery_plain);
    g_test_add_data_func("/migration/postcopy/recovery/proxy-cut", &case_plain,
                         test_recovery_proxy_cut);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/proxy-cut", &case_preempt,
                         test_recovery_proxy_cut);
    g_test_add_func("/migration/postcopy/recovery/double-failures/handshake",
                    test_recovery_double_handshake);
    g_test_add_func("/migration/postcopy/recovery/double-failures/reconnect",
                    test_recovery_double_reconnect);
    g_test_add_func("/migration/postcopy/recovery/refused", test_recovery_refused);
    g_test_add_data_func("/migration/postcopy/recovery/auto/heals", &case_plain,
                         test_auto_recover_heals);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/auto/heals", &case_preempt,
                         test_auto_recover_heals);
    g_test_add_func("/migration/postcopy/recovery/auto/gives-up", test_auto_recover_gives_up);
    g_test_add_func("/migration/postcopy/recovery/auto/stopped", test_auto_recover_stopped);
    g_test_add_func("/migration/postcopy/recovery/auto/quit-waiting",
                    test_auto_recover_quit_waiting);
    /* KVM: the same flows with the guest's faults coming from KVM's vCPUs. */
    g_test_add_data_func("/migration/postcopy/recovery/kvm/plain", &case_kvm,
                         test_recovery_plain);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/kvm/plain", &case_kvm_preempt,
                         test_recovery_plain);
    g_test_add_data_func("/migration/postcopy/recovery/kvm/proxy-cut", &case_kvm,
                         test_recovery_proxy_cut);
    g_test_add_data_func("/migration/postcopy/recovery/kvm/auto/heals", &case_kvm,
                         test_auto_recover_heals);
    return g_test_run();
}
