/*
 * A migration blocked on its channel can always be stopped: the source's
 * thread waiting to write into a pipe nobody reads or a socket whose peer
 * stops reading ends on migrate_cancel (the guest keeps running) or quit
 * (the process exits), and a destination waiting for a source that
 * stopped sending exits on quit.  Each test first waits until tern's
 * migration thread sleeps in the kernel on the stream, so the blocked case
 * is what runs.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * What "promptly" means: the requirement, 1 s, far above what is measured
 * (milliseconds).  Sanitizer builds get 10 s: TSan's runtime alone sleeps
 * a second at exit (its atexit_sleep_ms), and what fails without the
 * cancel mechanism is a wait with no end at all.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CANCEL_LIMIT_MS 10000
#else
#define CANCEL_LIMIT_MS 1000
#endif

static double ms_since(gint64 start_us)
{
    return (g_get_monotonic_time() - start_us) / 1000.0;
}

/* getfd @fd on @who as "mig" (our copy is closed). */
static void migrate_pass_fd(QTestState *who, int fd)
{
    g_autoptr(JsonNode) reply = qtest_qmp_fd(who, fd,
        "{'execute': 'getfd', 'arguments': {'fdname': 'mig'}}");

    g_assert_nonnull(qtest_reply_return(reply));
    close(fd);
}

/* Wait until the pipe whose read end is @rfd is full. */
static void wait_pipe_full(int rfd)
{
    int size = fcntl(rfd, F_GETPIPE_SZ);
    int queued = 0;

    g_assert_cmpint(size, >, 0);
    while (ioctl(rfd, FIONREAD, &queued) == 0 && queued < size) {
        g_usleep(2000);
    }
    g_assert_cmpint(queued, ==, size);
}

/* A source migrating into a pipe nobody reads, its thread blocked on it. */
static MigTest *start_blocked_on_pipe(int *rfd)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    int fds[2];

    g_assert_cmpint(pipe(fds), ==, 0);
    *rfd = fds[0];
    migrate_pass_fd(t->from, fds[1]);
    wait_for_serial(t->src_serial);
    migrate_ensure_non_converge(t->from);
    migrate_qmp(t->from, "fd:mig", NULL);
    migration_event_wait(t->from, "active");
    wait_pipe_full(*rfd);
    migrate_wait_thread_blocked(t->from, "mig/src");
    return t;
}

static gsize serial_len(const char *path)
{
    g_autofree char *text = NULL;
    gsize len = 0;

    g_file_get_contents(path, &text, &len, NULL);
    return len;
}

/*
 * Cancel the blocked migration: cancelled within the limit, the guest
 * running (and printing), no migration thread left.
 */
static void cancel_blocked_source(MigTest *t, const char *what)
{
    g_autofree char *runstate = NULL;
    gint64 start = g_get_monotonic_time();
    double ms;
    gsize printed;
    gint64 deadline;

    migrate_cancel(t->from);
    migration_event_wait(t->from, "cancelled");
    ms = ms_since(start);
    g_test_message("%s: migrate_cancel -> cancelled in %.1f ms", what, ms);
    g_assert_cmpint(ms, <, CANCEL_LIMIT_MS);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    migrate_wait_thread_gone(t->from, "mig/src");
    printed = serial_len(t->src_serial);
    deadline = qtest_deadline_ms(60000);
    while (serial_len(t->src_serial) == printed) {
        if (g_get_monotonic_time() > deadline) {
            g_error("%s: the guest printed nothing for 60 s after the cancel", what);
        }
        g_usleep(10000);
    }
}

/* Send quit and wait for the process to go: within the limit, status 0. */
static void quit_blocked(QTestState *who, const char *what)
{
    gint64 start = g_get_monotonic_time();
    double ms;

    qtest_qmp_send(who, "{'execute': 'quit'}");
    g_assert_cmpint(qtest_wait_exit(who, 60000), ==, 0);
    ms = ms_since(start);
    g_test_message("%s: quit -> exit in %.1f ms", what, ms);
    g_assert_cmpint(ms, <, CANCEL_LIMIT_MS);
}

/* migrate fd:NAME into a pipe nobody reads, then migrate_cancel. */
static void test_fd_pipe_cancel(void)
{
    int rfd;
    MigTest *t = start_blocked_on_pipe(&rfd);

    cancel_blocked_source(t, "fd pipe");
    close(rfd);
    migrate_test_free(t);
}

/* The same, then quit: the process exits instead of joining forever. */
static void test_fd_pipe_quit(void)
{
    int rfd;
    MigTest *t = start_blocked_on_pipe(&rfd);

    quit_blocked(t->from, "fd pipe");
    close(rfd);
    migrate_test_free(t);
}

/* migrate unix: to a peer that accepts and never reads, then cancel. */
static void test_unix_peer_not_reading(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "peer.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    int conn;

    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    g_assert_cmpint(bind(listener, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(listener, 1), ==, 0);
    wait_for_serial(t->src_serial);
    migrate_ensure_non_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    conn = accept(listener, NULL, NULL);
    g_assert_cmpint(conn, >=, 0);
    migration_event_wait(t->from, "active");
    migrate_wait_thread_blocked(t->from, "mig/src");

    cancel_blocked_source(t, "unix peer not reading");
    close(conn);
    close(listener);
    unlink(path);
    migrate_test_free(t);
}

/* Copy @len bytes from @in to @out (blocking, ours). */
static void forward(int in, int out, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(64 * 1024);

    while (len > 0) {
        ssize_t n = read(in, buf, MIN(len, 64 * 1024));

        g_assert_cmpint(n, >, 0);
        g_assert_cmpint(write(out, buf, n), ==, n);
        len -= n;
    }
}

/*
 * The destination gets the first MiB of a real stream (through us) and
 * then nothing: its incoming thread waits for the rest, and quit must end
 * the process.  The source, blocked on the pipe we stopped reading, is
 * cancelled afterwards.
 */
static void test_dest_source_stops_quit(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    int src[2], dst[2];

    g_assert_cmpint(pipe(src), ==, 0);
    g_assert_cmpint(pipe(dst), ==, 0);
    migrate_pass_fd(t->from, src[1]);
    migrate_pass_fd(t->to, dst[0]);
    migrate_incoming_qmp(t->to, "fd:mig", "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_ensure_non_converge(t->from);
    migrate_qmp(t->from, "fd:mig", NULL);
    forward(src[0], dst[1], 1 << 20);
    migration_event_wait(t->to, "active");
    migrate_wait_thread_blocked(t->to, "mig/dst");

    quit_blocked(t->to, "destination, source silent");
    cancel_blocked_source(t, "source after the destination quit");
    close(src[0]);
    close(dst[1]);
    migrate_test_free(t);
}

void migration_register_cancel_tests(void)
{
    g_test_add_func("/migration/cancel/blocked/fd_pipe", test_fd_pipe_cancel);
    g_test_add_func("/migration/cancel/blocked/fd_pipe_quit", test_fd_pipe_quit);
    g_test_add_func("/migration/cancel/blocked/unix_peer_not_reading",
                    test_unix_peer_not_reading);
    g_test_add_func("/migration/cancel/blocked/dest_source_stops_quit",
                    test_dest_source_stops_quit);
}
