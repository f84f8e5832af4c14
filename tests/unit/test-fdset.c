/*
 * qemu/fdset.h: sets numbered as add-fd numbers them, "/dev/fdset/N"
 * opened by access mode and O_DIRECT, and a set that outlives the removal
 * of its fds while a duplicate is open.
 */
#include "qemu/fdset.h"

#include <fcntl.h>
#include <unistd.h>

/* A fresh fd open with @flags on a temporary file (removed at once). */
static int fdset_test_fd(int flags)
{
    g_autofree char *path = NULL;
    int tmp = g_file_open_tmp("tern-fdset-XXXXXX", &path, NULL);
    int fd;

    g_assert_cmpint(tmp, >=, 0);
    fd = open(path, flags);
    g_assert_cmpint(fd, >=, 0);
    close(tmp);
    unlink(path);
    return fd;
}

static void count_sets(int64_t id, const GArray *fds, void *opaque)
{
    (*(int *)opaque)++;
}

static int fdset_test_nsets(void)
{
    int n = 0;

    fdset_foreach(count_sets, &n);
    return n;
}

static void test_fdset_numbers(void)
{
    GError *err = NULL;

    g_assert_cmpint(fdset_add_fd(fdset_test_fd(O_RDONLY), true, 1, NULL, &err), ==, 1);
    g_assert_cmpint(fdset_add_fd(fdset_test_fd(O_RDONLY), false, 0, "a", &err), ==, 0);
    g_assert_cmpint(fdset_add_fd(fdset_test_fd(O_RDONLY), false, 0, NULL, &err), ==, 2);
    g_assert_no_error(err);
    g_assert_cmpint(fdset_add_fd(fdset_test_fd(O_RDONLY), true, -1, NULL, &err), ==, -1);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpint(fdset_test_nsets(), ==, 3);
    for (int64_t id = 0; id < 3; id++) {
        g_assert_true(fdset_remove_fd(id, false, 0, &err));
    }
    g_assert_false(fdset_remove_fd(0, false, 0, &err));
    g_assert_cmpstr(err->message, ==, "File descriptor named 'fdset-id:0' not found");
    g_clear_error(&err);
    g_assert_cmpint(fdset_test_nsets(), ==, 0);
}

static void test_fdset_open(void)
{
    GError *err = NULL;
    int dup_fd;

    g_assert_cmpint(fdset_add_fd(fdset_test_fd(O_WRONLY), true, 5, NULL, &err), ==, 5);
    g_assert_true(fdset_is_path("/dev/fdset/5"));
    g_assert_false(fdset_is_path("/tmp/x"));

    g_assert_cmpint(fdset_open("/dev/fdset/5", O_RDONLY, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Failed to find file descriptor with matching flags=0x0");
    g_clear_error(&err);
    g_assert_cmpint(fdset_open("/dev/fdset/6", O_WRONLY, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Failed to find fdset /dev/fdset/6");
    g_clear_error(&err);

    dup_fd = fdset_open("/dev/fdset/5", O_WRONLY | O_CREAT, &err);
    g_assert_no_error(err);
    g_assert_cmpint(dup_fd, >=, 0);
    g_assert_cmpint(fdset_of_dup(dup_fd), ==, 5);
    g_assert_cmpint(fcntl(dup_fd, F_GETFD) & FD_CLOEXEC, !=, 0);

    /* Its fds removed, the set lives on (empty) while the duplicate is open. */
    g_assert_true(fdset_remove_fd(5, false, 0, &err));
    g_assert_cmpint(fdset_test_nsets(), ==, 1);
    g_assert_cmpint(fdset_close(dup_fd), ==, 0);
    g_assert_cmpint(fdset_of_dup(dup_fd), ==, -1);
    g_assert_cmpint(fdset_test_nsets(), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fdset/numbers", test_fdset_numbers);
    g_test_add_func("/fdset/open", test_fdset_open);
    return g_test_run();
}
