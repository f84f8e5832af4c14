/*
 * Opening sockets (util/sockets.c): a unix connect that meets a listener
 * whose backlog is full retries through its caller's function, which may
 * give up, and goes through once the listener accepts.
 */
#include "qemu/sockets.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Retry {
    int calls;
    int give_up_after;          /* calls that say "try again" */
    int lfd;                    /* accept one connection on the last one, or -1 */
    int accepted;
} Retry;

static bool retry_fn(void *opaque, GError **errp)
{
    Retry *r = opaque;

    if (++r->calls < r->give_up_after) {
        return true;
    }
    if (r->lfd >= 0) {
        /* Make room in the backlog: the next attempt connects. */
        r->accepted = accept(r->lfd, NULL, NULL);
        g_assert_cmpint(r->accepted, >=, 0);
        r->lfd = -1;
        return true;
    }
    error_setg(errp, "given up");
    return false;
}

static void test_unix_connect_backlog_full(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-sockets-XXXXXX", NULL);
    g_autofree char *path = g_strdup_printf("%s/sock", dir);
    g_autoptr(GError) err = NULL;
    Retry r = { .give_up_after = 3, .lfd = -1 };
    int lfd = socket_unix_open(path, true, NULL);
    int first, fd;

    g_assert_cmpint(lfd, >=, 0);
    g_assert_cmpint(listen(lfd, 0), ==, 0);     /* one pending connection at most */
    first = socket_unix_connect_full(path, retry_fn, &r, NULL);
    g_assert_cmpint(first, >=, 0);
    g_assert_cmpint(r.calls, ==, 0);
    g_assert_true(fcntl(first, F_GETFL) & O_NONBLOCK);

    /* The backlog is full: the caller is asked, and gives up. */
    fd = socket_unix_connect_full(path, retry_fn, &r, &err);
    g_assert_cmpint(fd, ==, -1);
    g_assert_cmpint(r.calls, ==, 3);
    g_assert_cmpstr(err->message, ==, "given up");

    /* The listener accepts during the retries: the connect goes through. */
    r = (Retry) { .give_up_after = 2, .lfd = lfd };
    fd = socket_unix_connect_full(path, retry_fn, &r, NULL);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(r.calls, ==, 2);

    close(fd);
    close(r.accepted);
    close(first);
    close(lfd);
    unlink(path);
    rmdir(dir);
}

/* No listener: the error names the path, no retry. */
static void test_unix_connect_refused(void)
{
    g_autoptr(GError) err = NULL;
    Retry r = { .give_up_after = 100, .lfd = -1 };

    g_assert_cmpint(socket_unix_connect_full("/nonexistent/tern-sock", retry_fn, &r, &err),
                    ==, -1);
    g_assert_cmpint(r.calls, ==, 0);
    g_assert_nonnull(strstr(err->message, "Failed to connect to '/nonexistent/tern-sock'"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sockets/unix-connect/backlog-full", test_unix_connect_backlog_full);
    g_test_add_func("/sockets/unix-connect/refused", test_unix_connect_refused);
    return g_test_run();
}
