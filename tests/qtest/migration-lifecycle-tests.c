/*
 * The edges of a migration's life: what the command line and QMP do with
 * their arguments before anything runs (fd: ownership, -incoming errors),
 * cancels at awkward moments (right at switchover, a stalled exec:), and
 * what is left once it ends (the destination's listener, the source's run
 * state).
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run tern with @args and no QMP; expect exit 1 and @msg on stderr. */
static void expect_startup_error(const char *args, const char *msg)
{
    g_autofree char *cmd = g_strdup_printf("%s %s",
                                           g_getenv("QTEST_TERN_BINARY"), args);
    g_auto(GStrv) argv = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &gerr));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &gerr));
    if (!WIFEXITED(status)) {
        g_error("tern %s: killed by signal %d", args, WTERMSIG(status));
    }
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_cmpstr(err, ==, msg);
}

/* A named fd needs a monitor to come from; the command line has none. */
static void test_incoming_fd_name_cmdline(void)
{
    expect_startup_error("-display none -accel qtest -incoming fd:mig",
                         "tern: -incoming fd:mig: No monitor to look up "
                         "file descriptor 'mig' in\n");
}

/*
 * A refused migrate leaves a named fd with the monitor (QEMU takes it only
 * once the migration starts): closefd still finds it.
 */
static void test_fd_kept_when_refused(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autoptr(JsonNode) reply = NULL;
    int pair[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), ==, 0);
    reply = qtest_qmp_fd(t->to, pair[0],
        "{'execute': 'getfd', 'arguments': {'fdname': 'mig'}}");
    g_assert_nonnull(qtest_reply_return(reply));
    close(pair[0]);
    close(pair[1]);

    /* The destination waits for its incoming migration: migrate is refused. */
    qtest_qmp_expect_error(t->to, "GenericError",
        "Guest is waiting for an incoming migration",
        "{'execute': 'migrate', 'arguments': {'uri': 'fd:mig'}}");
    qtest_qmp_assert_success(t->to,
        "{'execute': 'closefd', 'arguments': {'fdname': 'mig'}}");
    migrate_end(t, false);
    migrate_test_free(t);
}

/* -incoming URI is the one start: migrate-incoming after it is refused. */
static void test_incoming_once_cmdline(void)
{
    MigrateStart start = { .incoming = "unix:%s/migsocket" };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket2");
    g_autofree char *status = migrate_query_status(t->to);

    g_assert_cmpstr(status, ==, "setup");
    qtest_qmp_expect_error(t->to, "GenericError",
        "The incoming migration has already been started",
        "{'execute': 'migrate-incoming', 'arguments': {'uri': 'unix:%s'}}",
        path);
    migrate_end(t, false);
    migrate_test_free(t);
}

/*
 * A cancel after the VM was stopped for switchover gives the source back
 * the run state it had: a guest never started (-S) stays in prelaunch.
 */
static void test_cancel_keeps_prelaunch(void)
{
    MigrateStart start = { .src_stopped = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *before = migrate_runstate(t->from);
    g_autofree char *after = NULL;

    g_assert_cmpstr(before, ==, "prelaunch");
    migrate_set_capability(t->from, "pause-before-switchover", true);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, "pre-switchover");
    migrate_cancel(t->from);
    migration_event_wait(t->from, "cancelled");
    wait_for_migration_status(t->to, "failed", NULL);
    after = migrate_runstate(t->from);
    g_assert_cmpstr(after, ==, "prelaunch");
    migrate_end(t, false);
    migrate_test_free(t);
}

/* The source's MIGRATION statuses until a final one, space-separated. */
static char *migration_events_until_final(QTestState *who)
{
    GString *seq = g_string_new(NULL);

    for (;;) {
        g_autoptr(JsonNode) ev = migrate_eventwait(who, "MIGRATION");
        JsonObject *data = json_object_get_object_member(
            json_node_get_object(ev), "data");
        const char *st = json_object_get_string_member(data, "status");

        g_string_append_printf(seq, "%s%s", seq->len ? " " : "", st);
        if (!strcmp(st, "completed") || !strcmp(st, "cancelled") ||
            !strcmp(st, "failed")) {
            return g_string_free(seq, FALSE);
        }
    }
}

/*
 * migrate_cancel as soon as the device state starts to go out.  It either
 * wins (cancelled, the guest runs on the source again) or comes after the
 * end (completed, a no-op): never "cancelling" followed by "completed",
 * which QEMU does not emit.
 */
static void test_cancel_at_switchover(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *seq = NULL;

    migrate_set_capability(t->from, "pause-before-switchover", true);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, "pre-switchover");
    migrate_continue(t->from, "pre-switchover");
    migration_event_wait(t->from, "device");
    migrate_cancel(t->from);
    seq = migration_events_until_final(t->from);
    g_test_message("events after device: %s", seq);
    if (!strcmp(seq, "completed")) {
        wait_for_migration_complete(t->to);
        migrate_check_source_after(t);
        migrate_end(t, true);
    } else {
        g_autofree char *runstate = NULL;

        g_assert_cmpstr(seq, ==, "cancelling cancelled");
        wait_for_migration_status(t->to, "failed", NULL);
        runstate = migrate_runstate(t->from);
        g_assert_cmpstr(runstate, ==, "running");
        migrate_end(t, false);
    }
    migrate_test_free(t);
}

static bool query_has_socket_address(QTestState *who)
{
    g_autoptr(JsonNode) info = migrate_query(who);

    return json_object_has_member(json_node_get_object(info),
                                  "socket-address");
}

/*
 * The destination listens until the load ends, as QEMU: then query-migrate
 * drops socket-address and the unix socket's file is gone.
 */
static void test_incoming_listener_closed(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);

    migrate_incoming_qmp(t->to, uri, NULL);
    g_assert_true(query_has_socket_address(t->to));
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    wait_for_serial(t->src_serial);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    g_assert_false(query_has_socket_address(t->to));
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * The pid the exec: command wrote to @pidfile ("echo $$ > FILE"), once the
 * whole line is there: the file exists, empty, before echo writes, and
 * kill(0) would kill this test's own process group.
 */
static pid_t exec_consumer_pid(const char *pidfile)
{
    gint64 deadline = qtest_deadline_ms(60000);

    for (;;) {
        g_autofree char *text = NULL;
        gsize len = 0;

        if (g_file_get_contents(pidfile, &text, &len, NULL) && len > 1 &&
            text[len - 1] == '\n') {
            char *end;
            gint64 pid = g_ascii_strtoll(text, &end, 10);

            if (pid <= 1 || *end != '\n') {
                g_error("%s holds '%s', not a pid", pidfile, text);
            }
            return pid;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("the exec: command wrote no pid to %s within 60 s",
                    pidfile);
        }
        g_usleep(10000);
    }
}

/*
 * exec: to a command that never reads: the stream stalls once the buffers
 * are full, and migrate_cancel must still end the migration (and quit must
 * not hang on the thread) instead of waiting for the command.
 */
static void test_cancel_exec_stalled(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *pidfile = migrate_test_path(t, "consumer.pid");
    g_autofree char *args = g_strdup_printf(
        "{'uri': 'exec:echo $$ > %s; exec sleep 600'}", pidfile);
    g_autoptr(JsonNode) reply = NULL;
    pid_t consumer;

    wait_for_serial(t->src_serial);
    migrate_ensure_non_converge(t->from);
    reply = qtest_qmp(t->from, "{'execute': 'migrate', 'arguments': %s}",
                      args);
    g_assert_nonnull(qtest_reply_return(reply));
    migration_event_wait(t->from, "active");
    consumer = exec_consumer_pid(pidfile);
    /* The stream filled what the socket holds: the thread waits on it. */
    migrate_wait_thread_blocked(t->from, "mig/src");
    migrate_cancel(t->from);
    migration_event_wait(t->from, "cancelled");
    kill(consumer, SIGKILL);
    migrate_end(t, false);
    migrate_test_free(t);
}

/*
 * A tcp connect that hangs (the destination's accept queue is full, so its
 * SYNs go unanswered) ends in cancelled as soon as migrate_cancel comes.
 */
static void test_cancel_tcp_connecting(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    g_autofree char *args = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autofree char *status = NULL;
    g_autofree char *runstate = NULL;

    g_assert_cmpint(bind(listener, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(listener, 0), ==, 0);
    g_assert_cmpint(getsockname(listener, (struct sockaddr *)&sin, &len), ==, 0);
    /* A backlog of 0 admits one connection; the next one waits. */
    g_assert_cmpint(connect(filler, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);

    args = g_strdup_printf("{'uri': 'tcp:127.0.0.1:%d'}", ntohs(sin.sin_port));
    reply = qtest_qmp(t->from, "{'execute': 'migrate', 'arguments': %s}", args);
    g_assert_nonnull(qtest_reply_return(reply));
    g_usleep(300000);
    status = migrate_query_status(t->from);
    g_assert_cmpstr(status, ==, "setup");      /* still connecting */
    migrate_cancel(t->from);
    migration_event_wait(t->from, "cancelled");
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    close(filler);
    close(listener);
    migrate_test_free(t);
}

#define SET_EVENTS_CAP \
    "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': " \
    "[{'capability': 'events', 'state': true}]}}"

/*
 * migrate-set-capabilities on a destination: allowed while it only listens
 * (QEMU users set them between -incoming URI and the source's connect),
 * refused while a stream is being loaded (the load reads them), allowed
 * again once the load has ended.  The source cannot converge, so the load
 * stays in progress until the test lets it finish.
 */
static void test_incoming_caps_frozen_while_loading(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);

    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    qtest_qmp_assert_success(t->to, SET_EVENTS_CAP);       /* listening */
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->to, "active");
    qtest_qmp_expect_error(t->to, "GenericError",
                           "There's a migration process in progress",
                           SET_EVENTS_CAP);
    migrate_ensure_converge(t->from);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    qtest_qmp_assert_success(t->to, SET_EVENTS_CAP);       /* loaded */
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * x-switchover-hold: a stopped guest leaves nothing to send after the first
 * round, which is always ready to switch over; held, the source goes on
 * syncing pass after pass instead, until the hold is cleared.
 */
static void test_switchover_hold(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *status = NULL;
    g_autofree char *params = NULL;
    g_autofree char *runstate = NULL;

    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_ensure_non_converge(t->from);
    migrate_set_parameter_int(t->from, "max-bandwidth", 1000000000);
    migrate_set_parameter_int(t->from, "downtime-limit", 30000);
    params = qtest_hmp(t->from, "info migrate_parameters");
    g_assert_nonnull(strstr(params, "x-switchover-hold: on\r\n"));
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    migrate_qmp(t->from, uri, NULL);

    /* Five syncs, the later ones with nothing dirty: still not switched over. */
    wait_for_migration_pass(t->from, 5);
    status = migrate_query_status(t->from);
    g_assert_cmpstr(status, ==, "active");

    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'x-switchover-hold': false}}");
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "paused");
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    migrate_end(t, true);
    migrate_test_free(t);
}

void migration_register_lifecycle_tests(void)
{
    g_test_add_func("/migration/incoming/caps_frozen_while_loading",
                    test_incoming_caps_frozen_while_loading);
    g_test_add_func("/migration/cancel/tcp_connecting",
                    test_cancel_tcp_connecting);
    g_test_add_func("/migration/cancel/exec_stalled",
                    test_cancel_exec_stalled);
    g_test_add_func("/migration/incoming/listener_closed",
                    test_incoming_listener_closed);
    g_test_add_func("/migration/cancel/at_switchover",
                    test_cancel_at_switchover);
    g_test_add_func("/migration/cancel/keeps_prelaunch",
                    test_cancel_keeps_prelaunch);
    g_test_add_func("/migration/incoming/once_cmdline",
                    test_incoming_once_cmdline);
    g_test_add_func("/migration/fd/kept_when_refused",
                    test_fd_kept_when_refused);
    g_test_add_func("/migration/incoming/fd_name_cmdline",
                    test_incoming_fd_name_cmdline);
    g_test_add_func("/migration/precopy/unix/switchover_hold",
                    test_switchover_hold);
}
