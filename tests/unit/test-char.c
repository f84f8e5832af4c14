/*
 * Unit tests for the chardev layer (chardev/char*.c): creation and option
 * errors, the shorthand strings, the file and null backends, and the socket
 * backend's connect / disconnect / reconnect cycle and fd passing.
 */
#include "chardev/char-backend.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef struct Frontend {
    GString *in;
    int connects;
    int disconnects;
    char order[8];      /* 'C' connect, 'R' read, 'D' disconnect */
} Frontend;

static void fe_log(Frontend *fe, char what)
{
    size_t n = strlen(fe->order);

    if (n + 1 < sizeof(fe->order)) {
        fe->order[n] = what;
    }
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
    Frontend *fe = opaque;
    g_string_append_len(fe->in, (const char *)buf, len);
    fe_log(fe, 'R');
}

static void fe_event(void *opaque, bool connected)
{
    Frontend *fe = opaque;
    fe_log(fe, connected ? 'C' : 'D');
    if (connected) {
        fe->connects++;
    } else {
        fe->disconnects++;
    }
}

/* Iterate the main loop until *@counter reaches @want (or 60 s pass: a
 * liveness bound for loaded machines). */
static void wait_for(int *counter, int want)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (*counter < want && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmpint(*counter, ==, want);
}

static void wait_for_input(Frontend *fe, size_t len)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (fe->in->len < len && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmpuint(fe->in->len, ==, len);
}

static GHashTable *opts_new(const char *first_key, ...)
{
    GHashTable *opts = g_hash_table_new_full(g_str_hash, g_str_equal,
                                             g_free, g_free);
    va_list ap;

    va_start(ap, first_key);
    for (const char *k = first_key; k; k = va_arg(ap, const char *)) {
        g_hash_table_insert(opts, g_strdup(k),
                            g_strdup(va_arg(ap, const char *)));
    }
    va_end(ap);
    return opts;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    return fd;
}

static void test_creation_errors(void)
{
    g_autoptr(GHashTable) bad_key = opts_new("path", "/x", "colour", "red",
                                             NULL);
    g_autoptr(GHashTable) bad_bool = opts_new("path", "/tmp/x", "server",
                                              "maybe", NULL);
    g_autoptr(GError) err = NULL;
    Chardev *chr;

    g_assert_null(qemu_chr_new("c0", "pty", NULL, &err));
    g_assert_cmpstr(err->message, ==, "'pty' is not a valid char driver name");
    g_clear_error(&err);

    g_assert_null(qemu_chr_new("0bad", "null", NULL, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'id' expects an identifier");
    g_clear_error(&err);

    g_assert_null(qemu_chr_new("c1", "socket", bad_key, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'colour'");
    g_clear_error(&err);

    g_assert_null(qemu_chr_new("c2", "socket", bad_bool, &err));
    g_assert_nonnull(strstr(err->message, "'server' expects 'on' or 'off'"));
    g_clear_error(&err);

    g_assert_null(qemu_chr_new_from_compat("c3", "vc:80x24", &err));
    g_assert_nonnull(strstr(err->message, "not a supported character device"));
    g_clear_error(&err);

    g_assert_null(qemu_chr_new_from_compat("c4", "tcp:localhost", &err));
    g_assert_nonnull(strstr(err->message, "lacks a port"));
    g_clear_error(&err);

    chr = qemu_chr_new_from_compat("dup", "null", &err);
    g_assert_no_error(err);
    g_assert_true(qemu_chr_find("dup") == chr);
    g_assert_null(qemu_chr_new_from_compat("dup", "null", &err));
    g_assert_cmpstr(err->message, ==, "Chardev 'dup' already exists");
    g_clear_error(&err);

    g_assert_null(qemu_chr_new_from_compat("c5", "file:/nonexistent/dir/f",
                                           &err));
    g_assert_nonnull(strstr(err->message, "chardev 'c5': Could not open"));
    g_clear_error(&err);

    qemu_chr_delete(chr);
    g_assert_null(qemu_chr_find("dup"));
}

static void test_null(void)
{
    g_autoptr(GError) err = NULL;
    Chardev *chr = qemu_chr_new_from_compat("n", "null", &err);
    Frontend fe = { .in = g_string_new(NULL) };

    g_assert_no_error(err);
    g_assert_true(qemu_chr_is_connected(chr));
    qemu_chr_set_handlers(chr, fe_read, fe_event, &fe);
    wait_for(&fe.connects, 1);      /* a frontend hears "connected" first */
    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)"abc", 3), ==, 3);
    g_assert_cmpint(qemu_chr_get_msgfd(chr), ==, -1);
    qemu_chr_cleanup_all();
    g_string_free(fe.in, TRUE);
}

static void test_file(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-char-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "out", NULL);
    g_autofree char *spec = g_strdup_printf("file:%s", path);
    g_autoptr(GHashTable) opts = opts_new("path", path, "append", "on", NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *contents = NULL;
    Chardev *chr;

    chr = qemu_chr_new_from_compat("f", spec, &err);
    g_assert_no_error(err);
    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)"one\n", 4), ==, 4);
    qemu_chr_delete(chr);

    chr = qemu_chr_new("f", "file", opts, &err);
    g_assert_no_error(err);
    qemu_chr_write_all(chr, (const uint8_t *)"two\n", 4);
    qemu_chr_delete(chr);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "one\ntwo\n");
    g_clear_pointer(&contents, g_free);

    chr = qemu_chr_new_from_compat("f", spec, &err);    /* truncates */
    qemu_chr_write_all(chr, (const uint8_t *)"three\n", 6);
    qemu_chr_delete(chr);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "three\n");

    unlink(path);
    rmdir(dir);
}

static void test_socket_unix_server(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-char-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    g_autoptr(GError) err = NULL;
    Frontend fe = { .in = g_string_new(NULL) };
    char buf[16];
    Chardev *chr;
    int fd;

    chr = qemu_chr_new_from_compat("s", spec, &err);
    g_assert_no_error(err);
    g_assert_false(qemu_chr_is_connected(chr));
    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)"x", 1), ==, -1);
    qemu_chr_set_handlers(chr, fe_read, fe_event, &fe);

    /* First client: both directions, then it leaves. */
    fd = unix_connect(path);
    wait_for(&fe.connects, 1);
    g_assert_cmpint(write(fd, "hello", 5), ==, 5);
    wait_for_input(&fe, 5);
    g_assert_cmpstr(fe.in->str, ==, "hello");
    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)"world", 5), ==, 5);
    g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 5);
    g_assert_cmpint(memcmp(buf, "world", 5), ==, 0);
    close(fd);
    wait_for(&fe.disconnects, 1);
    g_assert_false(qemu_chr_is_connected(chr));
    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)"x", 1), ==, -1);

    /* The next client is accepted. */
    fd = unix_connect(path);
    wait_for(&fe.connects, 2);
    g_assert_cmpint(write(fd, "again", 5), ==, 5);
    wait_for_input(&fe, 10);
    close(fd);
    wait_for(&fe.disconnects, 2);

    qemu_chr_delete(chr);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    rmdir(dir);
    g_string_free(fe.in, TRUE);
}

/* Writing to a peer that vanished fails (no SIGPIPE) and is cleaned up. */
static void test_socket_dead_peer(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-char-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    g_autoptr(GError) err = NULL;
    Frontend fe = { .in = g_string_new(NULL) };
    static uint8_t big[256 * 1024];
    Chardev *chr;
    int fd;

    chr = qemu_chr_new_from_compat("s", spec, &err);
    g_assert_no_error(err);
    qemu_chr_set_handlers(chr, fe_read, fe_event, &fe);
    fd = unix_connect(path);
    wait_for(&fe.connects, 1);
    close(fd);
    g_assert_cmpint(qemu_chr_write_all(chr, big, sizeof(big)), ==, -1);
    wait_for(&fe.disconnects, 1);
    qemu_chr_delete(chr);
    rmdir(dir);
    g_string_free(fe.in, TRUE);
}

static void send_with_fd(int sock, const char *data, int fd_to_send)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd_to_send, sizeof(int));
    g_assert_cmpint(sendmsg(sock, &msg, 0), ==, (ssize_t)strlen(data));
}

static void test_socket_fd_passing(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-char-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autoptr(GHashTable) opts = opts_new("path", path, "server", "on",
                                          "wait", "off", NULL);
    g_autoptr(GError) err = NULL;
    Frontend fe = { .in = g_string_new(NULL) };
    int pipefd[2];
    char c;
    Chardev *chr;
    int fd, got;

    chr = qemu_chr_new("s", "socket", opts, &err);
    g_assert_no_error(err);
    qemu_chr_set_handlers(chr, fe_read, fe_event, &fe);
    fd = unix_connect(path);
    wait_for(&fe.connects, 1);

    g_assert_cmpint(pipe(pipefd), ==, 0);
    send_with_fd(fd, "fd", pipefd[1]);
    close(pipefd[1]);
    wait_for_input(&fe, 2);
    got = qemu_chr_get_msgfd(chr);
    g_assert_cmpint(got, >=, 0);
    g_assert_cmpint(qemu_chr_get_msgfd(chr), ==, -1);     /* taken once */
    g_assert_cmpint(write(got, "!", 1), ==, 1);
    g_assert_cmpint(read(pipefd[0], &c, 1), ==, 1);
    g_assert_cmpint(c, ==, '!');
    close(got);
    close(pipefd[0]);

    close(fd);
    wait_for(&fe.disconnects, 1);
    qemu_chr_delete(chr);
    rmdir(dir);
    g_string_free(fe.in, TRUE);
}

/* Input already waiting when the frontend attaches comes after "connected". */
static void test_connected_before_input(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-char-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s", path);
    g_autoptr(GError) err = NULL;
    Frontend fe = { .in = g_string_new(NULL) };
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    Chardev *chr;
    int fd;

    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    chr = qemu_chr_new_from_compat("c", spec, &err);      /* client mode */
    g_assert_no_error(err);
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(write(fd, "early", 5), ==, 5);
    g_usleep(10000);
    qemu_chr_set_handlers(chr, fe_read, fe_event, &fe);
    wait_for_input(&fe, 5);
    g_assert_cmpstr(fe.order, ==, "CR");

    close(fd);
    wait_for(&fe.disconnects, 1);
    g_assert_cmpstr(fe.order, ==, "CRD");
    qemu_chr_delete(chr);
    close(lfd);
    unlink(path);
    rmdir(dir);
    g_string_free(fe.in, TRUE);
}

static void test_socket_tcp(void)
{
    g_autoptr(GError) err = NULL;
    Frontend srv_fe = { .in = g_string_new(NULL) };
    Frontend cli_fe = { .in = g_string_new(NULL) };
    Chardev *srv = NULL, *cli;
    char spec[64];

    /* Find a free port near a pid-derived one. */
    for (int i = 0; i < 50 && !srv; i++) {
        g_snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d,server=on,wait=off",
                   20000 + (getpid() * 7 + i * 131) % 40000);
        g_clear_error(&err);
        srv = qemu_chr_new_from_compat("srv", spec, &err);
    }
    g_assert_nonnull(srv);
    qemu_chr_set_handlers(srv, fe_read, fe_event, &srv_fe);

    *strchr(spec, ',') = '\0';
    cli = qemu_chr_new_from_compat("cli", spec, &err);  /* client mode */
    g_assert_no_error(err);
    g_assert_true(qemu_chr_is_connected(cli));
    qemu_chr_set_handlers(cli, fe_read, fe_event, &cli_fe);
    wait_for(&srv_fe.connects, 1);
    wait_for(&cli_fe.connects, 1);

    qemu_chr_write_all(cli, (const uint8_t *)"ping", 4);
    wait_for_input(&srv_fe, 4);
    qemu_chr_write_all(srv, (const uint8_t *)"pong", 4);
    wait_for_input(&cli_fe, 4);
    g_assert_cmpint(qemu_chr_get_msgfd(srv), ==, -1);

    qemu_chr_delete(cli);
    wait_for(&srv_fe.disconnects, 1);
    qemu_chr_cleanup_all();
    g_string_free(srv_fe.in, TRUE);
    g_string_free(cli_fe.in, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/char/creation-errors", test_creation_errors);
    g_test_add_func("/char/null", test_null);
    g_test_add_func("/char/file", test_file);
    g_test_add_func("/char/socket/unix-server", test_socket_unix_server);
    g_test_add_func("/char/socket/dead-peer", test_socket_dead_peer);
    g_test_add_func("/char/socket/fd-passing", test_socket_fd_passing);
    g_test_add_func("/char/socket/tcp", test_socket_tcp);
    g_test_add_func("/char/connected-before-input", test_connected_before_input);
    return g_test_run();
}
