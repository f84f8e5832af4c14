/*
 * In-process tests of the QMP server (monitor/qmp.c): a unix-socket chardev
 * with a QMP monitor on it, a test command table, and clients talking to it
 * from the test thread, which also runs the main loop.
 */
#include "monitor/monitor-internal.h"
#include "qapi/qmp-event.h"
#include "qemu/error.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static GThread *main_thread;

/*
 * The context the monitors are created with: tern's is defined by system/,
 * the monitors only carry the pointer, so the test brings its own.
 */
struct TernContext {
    int unused;
};

static TernContext test_ctx;

/* ---- the test command table ---- */

static bool cmd_qmp_capabilities(TernContext *ctx, JsonObject *args,
                                 JsonNode **ret, GError **errp)
{
    bool oob = false;

    if (json_object_has_member(args, "enable")) {
        JsonArray *caps = json_object_get_array_member(args, "enable");

        for (guint i = 0; i < json_array_get_length(caps); i++) {
            oob |= !g_strcmp0(json_array_get_string_element(caps, i), "oob");
        }
    }
    return monitor_qmp_negotiate(monitor_cur(), oob, errp);
}

static bool cmd_echo(TernContext *ctx, JsonObject *args, JsonNode **ret,
                     GError **errp)
{
    g_assert_true(ctx == &test_ctx);    /* what the monitors were given */
    *ret = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(*ret, args);
    return true;
}

static bool cmd_fail(TernContext *ctx, JsonObject *args, JsonNode **ret,
                     GError **errp)
{
    error_setg(errp, "failed as asked");
    return false;
}

/* Which thread ran us: "main" (in-band) or "io" (out of band). */
static bool cmd_where(TernContext *ctx, JsonObject *args, JsonNode **ret,
                      GError **errp)
{
    *ret = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(*ret, g_thread_self() == main_thread ? "main" : "io");
    return true;
}

static bool cmd_emit(TernContext *ctx, JsonObject *args, JsonNode **ret,
                     GError **errp)
{
    JsonObject *data = json_object_new();

    json_object_set_int_member(data, "n",
                               json_object_get_int_member_with_default(args, "n", 0));
    qapi_event_emit("TEST_EVENT", data);
    return true;
}

static bool cmd_quiet(TernContext *ctx, JsonObject *args, JsonNode **ret,
                      GError **errp)
{
    return true;
}

static bool cmd_getfd(TernContext *ctx, JsonObject *args, JsonNode **ret,
                      GError **errp)
{
    Monitor *mon = monitor_cur();
    int fd = qemu_chr_get_msgfd(monitor_get_chardev(mon));

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    monitor_add_fd(mon, json_object_get_string_member(args, "fdname"), fd);
    return true;
}

static bool cmd_closefd(TernContext *ctx, JsonObject *args, JsonNode **ret,
                        GError **errp)
{
    return monitor_close_fd(monitor_cur(),
                            json_object_get_string_member(args, "fdname"),
                            errp);
}

static QmpCommandList *test_commands(void)
{
    QmpCommandList *cmds = qmp_command_list_new();

    qmp_register_command(cmds, "qmp_capabilities", cmd_qmp_capabilities,
                         QCO_ALLOW_OOB);
    qmp_register_command(cmds, "echo", cmd_echo, QCO_NO_OPTIONS);
    qmp_register_command(cmds, "fail", cmd_fail, QCO_NO_OPTIONS);
    qmp_register_command(cmds, "where", cmd_where, QCO_ALLOW_OOB);
    qmp_register_command(cmds, "emit", cmd_emit, QCO_ALLOW_OOB);
    qmp_register_command(cmds, "quiet", cmd_quiet, QCO_NO_SUCCESS_RESP);
    qmp_register_command(cmds, "getfd", cmd_getfd, QCO_NO_OPTIONS);
    qmp_register_command(cmds, "closefd", cmd_closefd, QCO_NO_OPTIONS);
    return cmds;
}

/* ---- fixture: a QMP monitor on a unix socket ---- */

typedef struct Fixture {
    QmpCommandList *cmds;
    Monitors *mons;
    char *dir;
    char *path[2];
} Fixture;

typedef struct Client {
    int fd;
    GString *buf;
} Client;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->cmds = test_commands();
    f->mons = monitors_new(f->cmds, &test_ctx);
    f->dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
    for (int i = 0; i < 2; i++) {
        g_autofree char *id = g_strdup_printf("qmp%d", i);
        g_autofree char *spec = NULL;
        g_autoptr(GError) err = NULL;
        Chardev *chr;

        f->path[i] = g_strdup_printf("%s/qmp%d.sock", f->dir, i);
        spec = g_strdup_printf("unix:%s,server=on,wait=off", f->path[i]);
        chr = qemu_chr_new_from_compat(id, spec, &err);
        g_assert_no_error(err);
        g_assert_true(monitor_init_qmp(f->mons, chr, &err));
    }
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    /* Let queued work finish before freeing. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    monitors_free(f->mons);
    qemu_chr_cleanup_all();
    qmp_command_list_free(f->cmds);
    for (int i = 0; i < 2; i++) {
        g_free(f->path[i]);
    }
    rmdir(f->dir);
    g_free(f->dir);
}

static Client *client_connect(Fixture *f, int which)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    Client *c = g_new0(Client, 1);

    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sun.sun_path, f->path[which], sizeof(sun.sun_path));
    g_assert_cmpint(connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    /* Non-blocking, so a long send can run the main loop meanwhile. */
    g_unix_set_fd_nonblocking(c->fd, TRUE, NULL);
    c->buf = g_string_new(NULL);
    return c;
}

static void client_free(Client *c)
{
    close(c->fd);
    g_string_free(c->buf, TRUE);
    g_free(c);
}

static void client_send_raw(Client *c, const char *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL);

        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

            g_main_context_iteration(NULL, FALSE);
            poll(&pfd, 1, 1);
            continue;
        }
        g_assert_cmpint(n, >, 0);
        done += n;
    }
}

static void client_send(Client *c, const char *json)
{
    client_send_raw(c, json, strlen(json));
}

/*
 * The next line from the server, as text without "\r\n"; iterates the main
 * loop while waiting unless @run_main is false.  NULL after @timeout_ms.
 */
static char *client_recv_text(Client *c, bool run_main, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;

    for (;;) {
        char *nl = strstr(c->buf->str, "\r\n");
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        char tmp[65536];

        if (nl) {
            char *line = g_strndup(c->buf->str, nl - c->buf->str);

            g_string_erase(c->buf, 0, nl + 2 - c->buf->str);
            return line;
        }
        if (g_get_monotonic_time() > deadline) {
            return NULL;
        }
        if (run_main) {
            g_main_context_iteration(NULL, FALSE);
        }
        if (poll(&pfd, 1, 1) == 1) {
            ssize_t n = read(c->fd, tmp, sizeof(tmp));

            g_assert_cmpint(n, >, 0);
            g_string_append_len(c->buf, tmp, n);
        }
    }
}

static JsonNode *client_recv(Client *c)
{
    g_autofree char *line = client_recv_text(c, true, 5000);

    g_assert_nonnull(line);
    return json_from_string(line, NULL);
}

/* Send @json and return the reply's text. */
static char *client_cmd(Client *c, const char *json)
{
    char *line;

    client_send(c, json);
    line = client_recv_text(c, true, 5000);
    g_assert_nonnull(line);
    return line;
}

static void client_negotiate(Client *c, bool oob)
{
    g_autofree char *greeting = client_recv_text(c, true, 5000);
    g_autofree char *rsp = client_cmd(c, oob
        ? "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}"
        : "{\"execute\": \"qmp_capabilities\"}");

    g_assert_nonnull(greeting);
    g_assert_cmpstr(rsp, ==, "{\"return\": {}}");
}

#define ASSERT_REPLY(c, request, expected) do { \
        g_autofree char *rsp_ = client_cmd(c, request); \
        g_assert_cmpstr(rsp_, ==, expected); \
    } while (0)

/* ---- tests ---- */

static void test_greeting(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autofree char *line = client_recv_text(c, true, 5000);
    g_autofree char *expected = g_strdup_printf(
        "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 9, \"minor\": 1, "
        "\"micro\": 0}, \"package\": \"tern %s\"}, \"capabilities\": [\"oob\"]}}",
        TERN_VERSION);

    g_assert_cmpstr(line, ==, expected);
    client_free(c);
}

static void test_negotiation(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autofree char *greeting = client_recv_text(c, true, 5000);
    g_autofree char *event = NULL;

    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"id\": 1}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                 "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}, "
                 "\"id\": 1}");
    ASSERT_REPLY(c, "{\"execute\": \"no-such\"}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                 "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
    /* Shape errors keep their own text in negotiation mode. */
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"bogus\": 1}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input member 'bogus' is unexpected\"}}");
    /* Events wait for negotiation. */
    qapi_event_emit("EARLY", NULL);
    ASSERT_REPLY(c, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    ASSERT_REPLY(c, "{\"execute\": \"qmp_capabilities\"}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                 "\"Capabilities negotiation is already complete, command ignored\"}}");
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"arguments\": {\"x\": [1]}}",
                 "{\"return\": {\"x\": [1]}}");
    g_assert_null(client_recv_text(c, true, 50));
    client_free(c);
}

static void test_errors(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);

    client_negotiate(c, false);
    ASSERT_REPLY(c, "[1, 2]",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input must be a JSON object\"}}");
    ASSERT_REPLY(c, "{\"execute\": 1, \"id\": \"a\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input member 'execute' must be a string\"}, \"id\": \"a\"}");
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"arguments\": []}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input member 'arguments' must be an object\"}}");
    ASSERT_REPLY(c, "{\"arguments\": {}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input lacks member 'execute'\"}}");
    ASSERT_REPLY(c, "{\"execute\": \"nope\", \"id\": [1, {\"k\": null}]}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                 "\"The command nope has not been found\"}, "
                 "\"id\": [1, {\"k\": null}]}");
    ASSERT_REPLY(c, "{\"exec-oob\": \"where\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input member 'exec-oob' is unexpected\"}}");
    ASSERT_REPLY(c, "{\"execute\": \"fail\", \"id\": 3.5}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"failed as asked\"}, \"id\": 3.5}");
    /* A command without success response answers nothing; the next one does. */
    client_send(c, "{\"execute\": \"quiet\"}");
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"id\": \"after\"}",
                 "{\"return\": {}, \"id\": \"after\"}");
    client_free(c);
}

static void test_bad_json(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autofree char *rsp = NULL;
    g_autoptr(GString) deep = g_string_new(NULL);

    client_negotiate(c, false);
    rsp = client_cmd(c, "{\"execute\": }\n");
    g_assert_true(g_str_has_prefix(rsp, "{\"error\": {\"class\": \"GenericError\", "
                                        "\"desc\": \"JSON parse error, "));
    g_assert_null(strstr(rsp, "\"id\""));
    ASSERT_REPLY(c, "\x01",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON parse error, stray '\\\\x01'\"}}");
    for (int i = 0; i < 1100; i++) {
        g_string_append_c(deep, '[');
    }
    ASSERT_REPLY(c, deep->str,
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON nesting depth limit exceeded\"}}");
    /* The rest of that value is skipped, then we're back in business. */
    memset(deep->str, ']', deep->len);
    client_send(c, deep->str);
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"id\": 7}",
                 "{\"return\": {}, \"id\": 7}");

    /* Byte by byte, and two requests in one write. */
    for (const char *p = "{\"execute\": \"echo\", \"id\": \"slow\"}"; *p; p++) {
        client_send_raw(c, p, 1);
    }
    g_free(rsp);
    rsp = client_recv_text(c, true, 5000);
    g_assert_cmpstr(rsp, ==, "{\"return\": {}, \"id\": \"slow\"}");
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"id\": 1}{\"execute\": \"echo\", \"id\": 2}",
                 "{\"return\": {}, \"id\": 1}");
    g_free(rsp);
    rsp = client_recv_text(c, true, 5000);
    g_assert_cmpstr(rsp, ==, "{\"return\": {}, \"id\": 2}");
    client_free(c);
}

static void test_oversized(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    size_t chunk_len = 1 << 20;
    g_autofree char *chunk = g_malloc(chunk_len);

    client_negotiate(c, false);
    memset(chunk, 'a', chunk_len);
    client_send(c, "{\"execute\": \"echo\", \"arguments\": {\"s\": \"");
    for (int i = 0; i < 65; i++) {          /* 65 MiB > QEMU's 64 MiB */
        client_send_raw(c, chunk, chunk_len);
    }
    client_send(c, "\"}}");
    ASSERT_REPLY(c, "{\"execute\": \"echo\", \"id\": \"ok\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON token size limit exceeded\"}}");
    {
        g_autofree char *rsp = client_recv_text(c, true, 5000);
        g_assert_cmpstr(rsp, ==, "{\"return\": {}, \"id\": \"ok\"}");
    }
    client_free(c);
}

static void assert_test_event(JsonNode *node, gint64 n)
{
    JsonObject *obj = json_node_get_object(node);
    JsonObject *ts = json_object_get_object_member(obj, "timestamp");
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    g_assert_cmpstr(json_object_get_string_member(obj, "event"), ==,
                    "TEST_EVENT");
    g_assert_cmpint(json_object_get_int_member(
                        json_object_get_object_member(obj, "data"), "n"),
                    ==, n);
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), <=, now);
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >=, now - 5);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <,
                    1000000);
}

static gpointer emit_from_thread(gpointer opaque)
{
    JsonObject *data = json_object_new();

    json_object_set_int_member(data, "n", 9);
    qapi_event_emit("TEST_EVENT", data);
    return NULL;
}

static void test_two_clients_events(Fixture *f, gconstpointer data)
{
    Client *a = client_connect(f, 0);
    Client *b = client_connect(f, 1);
    g_autoptr(JsonNode) ev_a = NULL;
    g_autoptr(JsonNode) ev_b = NULL;
    g_autoptr(JsonNode) ev_a2 = NULL;
    g_autoptr(JsonNode) ev_b2 = NULL;
    g_autofree char *rsp = NULL;

    client_negotiate(a, false);
    client_negotiate(b, true);

    /* The event is sent while the command runs: before its reply. */
    client_send(a, "{\"execute\": \"emit\", \"arguments\": {\"n\": 5}}");
    ev_a = client_recv(a);
    assert_test_event(ev_a, 5);
    rsp = client_recv_text(a, true, 5000);
    g_assert_cmpstr(rsp, ==, "{\"return\": {}}");
    ev_b = client_recv(b);
    assert_test_event(ev_b, 5);

    /* Any thread may emit. */
    g_thread_join(g_thread_new("emitter", emit_from_thread, NULL));
    ev_a2 = client_recv(a);
    ev_b2 = client_recv(b);
    assert_test_event(ev_a2, 9);
    assert_test_event(ev_b2, 9);
    client_free(a);
    client_free(b);
}

static void test_oob(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autofree char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL;

    client_negotiate(c, true);
    /*
     * With the main loop not running, in-band requests wait in the queue
     * while an out-of-band one is answered at once, from the I/O thread.
     */
    client_send(c, "{\"execute\": \"where\", \"id\": \"in-1\"}"
                   "{\"execute\": \"where\", \"id\": \"in-2\"}"
                   "{\"exec-oob\": \"where\", \"id\": \"oob\"}");
    r1 = client_recv_text(c, false, 5000);
    g_assert_cmpstr(r1, ==, "{\"return\": \"io\", \"id\": \"oob\"}");
    g_assert_null(client_recv_text(c, false, 50));
    r2 = client_recv_text(c, true, 5000);
    r3 = client_recv_text(c, true, 5000);
    g_assert_cmpstr(r2, ==, "{\"return\": \"main\", \"id\": \"in-1\"}");
    g_assert_cmpstr(r3, ==, "{\"return\": \"main\", \"id\": \"in-2\"}");

    r4 = client_cmd(c, "{\"exec-oob\": \"echo\", \"id\": 1}");
    g_assert_cmpstr(r4, ==, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"The command echo does not support OOB\"}, \"id\": 1}");
    ASSERT_REPLY(c, "{\"exec-oob\": \"where\", \"execute\": \"where\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input member 'execute' clashes with 'exec-oob'\"}}");
    client_free(c);
}

/* More requests than the queue holds: all answered, in order. */
static void test_flow_control(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autoptr(GString) burst = g_string_new(NULL);

    client_negotiate(c, true);
    for (int i = 0; i < 50; i++) {
        g_string_append_printf(burst, "{\"execute\": \"echo\", \"id\": %d}\n", i);
    }
    client_send(c, burst->str);
    for (int i = 0; i < 50; i++) {
        g_autofree char *rsp = client_recv_text(c, true, 5000);
        g_autofree char *expected =
            g_strdup_printf("{\"return\": {}, \"id\": %d}", i);

        g_assert_cmpstr(rsp, ==, expected);
    }
    client_free(c);
}

static void test_reconnect(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autofree char *greeting = NULL;

    client_negotiate(c, false);
    client_free(c);

    /* The next client starts over: greeting, negotiation mode. */
    c = client_connect(f, 0);
    greeting = client_recv_text(c, true, 5000);
    g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    ASSERT_REPLY(c, "{\"execute\": \"echo\"}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                 "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
    client_free(c);
}

static void send_fd(Client *c, const char *json, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = (void *)json, .iov_len = strlen(json) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    g_assert_cmpint(sendmsg(c->fd, &msg, 0), ==, (ssize_t)strlen(json));
}

static void test_fd_passing(Fixture *f, gconstpointer data)
{
    Client *c = client_connect(f, 0);
    g_autofree char *rsp = NULL;
    int pipefd[2];

    client_negotiate(c, false);
    ASSERT_REPLY(c, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"x\"}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"No file descriptor supplied via SCM_RIGHTS\"}}");
    g_assert_cmpint(pipe(pipefd), ==, 0);
    send_fd(c, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"x\"}}",
            pipefd[1]);
    close(pipefd[1]);
    rsp = client_recv_text(c, true, 5000);
    g_assert_cmpstr(rsp, ==, "{\"return\": {}}");
    ASSERT_REPLY(c, "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": \"x\"}}",
                 "{\"return\": {}}");
    /* The monitor's copy is closed: the pipe's read end sees EOF. */
    {
        char ch;
        g_assert_cmpint(read(pipefd[0], &ch, 1), ==, 0);
    }
    close(pipefd[0]);
    ASSERT_REPLY(c, "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": \"x\"}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"File descriptor named 'x' not found\"}}");
    client_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_thread = g_thread_self();
#define ADD(path, fn) \
    g_test_add("/qmp-server/" path, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
    ADD("greeting", test_greeting);
    ADD("negotiation", test_negotiation);
    ADD("errors", test_errors);
    ADD("bad-json", test_bad_json);
    ADD("oversized", test_oversized);
    ADD("two-clients-events", test_two_clients_events);
    ADD("oob", test_oob);
    ADD("flow-control", test_flow_control);
    ADD("reconnect", test_reconnect);
    ADD("fd-passing", test_fd_passing);
#undef ADD
    return g_test_run();
}
