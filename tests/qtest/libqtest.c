/*
 * libqtest (libqtest.h): spawning tern, the QMP client side (framing,
 * replies vs events, fd passing), and making sure no tern outlives the test.
 */
#include "libqtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

struct QTestState {
    pid_t pid;                  /* 0: an extra connection, no process */
    int pidfd;                  /* readable once tern exits; -1 if none */
    bool reaped;
    int wstatus;
    int killed;                 /* the fatal signal we sent, or 0 */
    char *tmpdir;
    char *qmp_path;

    int qmp_fd;
    int listen_fd;              /* QMP's listener until tern connects (defer_qmp), or -1 */
    bool negotiate;             /* for the deferred handshake */
    GString *rbuf;              /* bytes read, not yet a full line */
    GQueue *events;             /* JsonNode*, oldest first */
    JsonNode *greeting;

    int stdin_fd;               /* -1 unless stdio_pipes */
    int stdout_fd;
    GString *stdout_buf;
};

/*
 * The pids of running terns, for the abort and exit handlers.  A plain
 * array, so the signal handler can walk it without allocating.
 */
#define QTEST_MAX_PROCS 64
static volatile pid_t qtest_pids[QTEST_MAX_PROCS];
static bool qtest_handlers_installed;

static void qtest_kill_all(void)
{
    for (int i = 0; i < QTEST_MAX_PROCS; i++) {
        if (qtest_pids[i] > 0) {
            kill(qtest_pids[i], SIGKILL);
        }
    }
}

static void qtest_abort_handler(int sig)
{
    qtest_kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void qtest_install_handlers(void)
{
    struct sigaction sa = { .sa_handler = qtest_abort_handler };

    if (qtest_handlers_installed) {
        return;
    }
    qtest_handlers_installed = true;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);     /* g_error() */
    atexit(qtest_kill_all);
    signal(SIGPIPE, SIG_IGN);
}

static void qtest_track_pid(pid_t pid, bool add)
{
    for (int i = 0; i < QTEST_MAX_PROCS; i++) {
        if (add ? qtest_pids[i] == 0 : qtest_pids[i] == pid) {
            qtest_pids[i] = add ? pid : 0;
            return;
        }
    }
    g_assert(!add);         /* more than QTEST_MAX_PROCS terns at once */
}

/* ---- deadlines ---- */

double qtest_time_scale(void)
{
    const char *env = g_getenv("TERN_TEST_TIME_SCALE");
    double scale = env ? g_ascii_strtod(env, NULL) : 1.0;

    return scale >= 1.0 ? scale : 1.0;
}

gint64 qtest_deadline_ms(gint64 ms)
{
    return g_get_monotonic_time() + (gint64)(ms * 1000 * qtest_time_scale());
}

/* ---- process ---- */

/* Wait up to @timeout_ms for tern to exit (without a pidfd: 10 ms steps). */
static bool qtest_reap(QTestState *s, int timeout_ms)
{
    gint64 deadline = qtest_deadline_ms(timeout_ms);

    while (!s->reaped) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        pid_t r = waitpid(s->pid, &s->wstatus, WNOHANG);

        if (r == s->pid) {
            s->reaped = true;
            qtest_track_pid(s->pid, false);
        } else if (r < 0 && errno != EINTR) {
            g_error("waitpid(%d): %s", s->pid, g_strerror(errno));
        } else if (left <= 0) {
            return false;
        } else {
            struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };

            poll(&pfd, s->pidfd >= 0 ? 1 : 0, s->pidfd >= 0 ? left : 10);
        }
    }
    return true;
}

static int qtest_status_code(int wstatus)
{
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -WTERMSIG(wstatus);
}

static int qtest_listen(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static char **qtest_build_argv(const char *qmp_path, const char *extra_args)
{
    const char *binary = g_getenv("QTEST_TERN_BINARY");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(GStrv) extra = NULL;
    g_autoptr(GError) err = NULL;

    if (!binary) {
        g_error("QTEST_TERN_BINARY is not set (meson test sets it)");
    }
    if (extra_args && *extra_args &&
        !g_shell_parse_argv(extra_args, NULL, &extra, &err)) {
        g_error("bad extra_args '%s': %s", extra_args, err->message);
    }
    g_ptr_array_add(argv, g_strdup(binary));
    g_ptr_array_add(argv, g_strdup("-qmp"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s", qmp_path));
    for (char **a = extra; a && *a; a++) {
        g_ptr_array_add(argv, g_strdup(*a));
    }
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

static pid_t qtest_spawn(char **argv, int stdin_pipe[2], int stdout_pipe[2])
{
    pid_t parent = getpid();
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        /* Die with the test even if it is killed without running handlers. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
        if (stdin_pipe) {
            dup2(stdin_pipe[0], STDIN_FILENO);
            dup2(stdout_pipe[1], STDOUT_FILENO);
        }
        execv(argv[0], argv);
        fprintf(stderr, "libqtest: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Accept tern's QMP connection, failing the test if tern dies first. */
static int qtest_accept(QTestState *s, int listen_fd)
{
    gint64 deadline = qtest_deadline_ms(QTEST_QMP_TIMEOUT_MS);

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = listen_fd, .events = POLLIN },
            { .fd = s->pidfd, .events = POLLIN },
        };

        poll(pfd, s->pidfd >= 0 ? 2 : 1, s->pidfd >= 0 ? 1000 : 10);
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

            if (fd >= 0) {
                return fd;
            }
        }
        if (qtest_reap(s, 0)) {
            g_error("tern exited (status %d) before connecting to QMP",
                    qtest_status_code(s->wstatus));
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("tern did not connect to QMP within %d ms",
                    QTEST_QMP_TIMEOUT_MS);
        }
    }
}

/* ---- QMP framing ---- */

static void qtest_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_error("QMP send: %s", g_strerror(errno));
        }
        p += n;
        len -= n;
    }
}

/*
 * tern closed QMP: fail the test saying how tern ended (an abort names its
 * signal; its own message is on stderr just above).
 */
static G_NORETURN void qtest_connection_lost(QTestState *s)
{
    if (!s->pid) {
        g_error("tern closed the QMP connection (extra connection)");
    }
    if (!qtest_reap(s, 10000)) {
        g_error("tern (pid %d) closed the QMP connection and still runs",
                s->pid);
    }
    if (WIFSIGNALED(s->wstatus)) {
        g_error("tern (pid %d) closed the QMP connection: killed by signal "
                "%d (%s)%s", s->pid, WTERMSIG(s->wstatus),
                g_strsignal(WTERMSIG(s->wstatus)),
                WTERMSIG(s->wstatus) == s->killed ? ", sent by the test" : "");
    }
    g_error("tern (pid %d) closed the QMP connection: exited with status %d",
            s->pid, WEXITSTATUS(s->wstatus));
}

/* The next message, or NULL after @timeout_ms.  EOF fails the test. */
static JsonNode *qtest_read_message(QTestState *s, int timeout_ms)
{
    gint64 deadline = qtest_deadline_ms(timeout_ms);

    for (;;) {
        char *nl = memchr(s->rbuf->str, '\n', s->rbuf->len);
        struct pollfd pfd = { .fd = s->qmp_fd, .events = POLLIN };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        char buf[65536];
        ssize_t n;

        if (nl) {
            g_autofree char *line = g_strndup(s->rbuf->str, nl - s->rbuf->str);
            g_autoptr(GError) err = NULL;
            JsonNode *node;

            g_string_erase(s->rbuf, 0, nl + 1 - s->rbuf->str);
            node = json_from_string(line, &err);
            if (!node) {
                g_error("tern sent invalid JSON (%s): %s", err->message, line);
            }
            return node;
        }
        if (left <= 0) {
            return NULL;
        }
        if (poll(&pfd, 1, MIN(left, 1000)) != 1) {
            continue;
        }
        n = recv(s->qmp_fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            qtest_connection_lost(s);
        }
        g_string_append_len(s->rbuf, buf, n);
    }
}

static bool qtest_is_event(JsonNode *msg)
{
    return JSON_NODE_HOLDS_OBJECT(msg) &&
           json_object_has_member(json_node_get_object(msg), "event");
}

JsonNode *qtest_qmp_receive(QTestState *s)
{
    for (;;) {
        JsonNode *msg = qtest_read_message(s, QTEST_QMP_TIMEOUT_MS);

        if (!msg) {
            g_error("no QMP reply within %d ms", QTEST_QMP_TIMEOUT_MS);
        }
        if (!qtest_is_event(msg)) {
            return msg;
        }
        g_queue_push_tail(s->events, msg);
    }
}

void qtest_qmp_send_raw(QTestState *s, const void *data, size_t len)
{
    qtest_write_all(s->qmp_fd, data, len);
}

static void qtest_qmp_vsend(QTestState *s, const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);

    qtest_write_all(s->qmp_fd, text, strlen(text));
}

void qtest_qmp_send(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qtest_qmp_vsend(s, fmt, ap);
    va_end(ap);
}

JsonNode *qtest_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qtest_qmp_vsend(s, fmt, ap);
    va_end(ap);
    return qtest_qmp_receive(s);
}

JsonNode *qtest_qmp_fd(QTestState *s, int fd, const char *fmt, ...)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    g_autofree char *text = NULL;
    struct iovec iov;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    va_list ap;
    ssize_t n;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    iov.iov_base = text;
    iov.iov_len = strlen(text);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    do {
        n = sendmsg(s->qmp_fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    g_assert_cmpint(n, ==, (ssize_t)iov.iov_len);
    return qtest_qmp_receive(s);
}

/* ---- reply helpers ---- */

JsonNode *qtest_reply_return(JsonNode *reply)
{
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT(reply)
                      ? json_node_get_object(reply) : NULL;

    return obj ? json_object_get_member(obj, "return") : NULL;
}

static JsonObject *qtest_reply_error(JsonNode *reply)
{
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT(reply)
                      ? json_node_get_object(reply) : NULL;

    return obj && json_object_has_member(obj, "error")
           ? json_object_get_object_member(obj, "error") : NULL;
}

const char *qtest_reply_error_class(JsonNode *reply)
{
    JsonObject *err = qtest_reply_error(reply);

    return err ? json_object_get_string_member(err, "class") : NULL;
}

const char *qtest_reply_error_desc(JsonNode *reply)
{
    JsonObject *err = qtest_reply_error(reply);

    return err ? json_object_get_string_member(err, "desc") : NULL;
}

static JsonNode *qtest_vassert_success(QTestState *s, const char *fmt,
                                       va_list ap)
{
    g_autoptr(JsonNode) reply = NULL;
    JsonNode *ret;

    qtest_qmp_vsend(s, fmt, ap);
    reply = qtest_qmp_receive(s);
    ret = qtest_reply_return(reply);
    if (!ret) {
        g_autofree char *text = json_to_string(reply, FALSE);

        g_error("QMP command failed: %s", text);
    }
    return json_node_copy(ret);
}

JsonNode *qtest_qmp_assert_success_ref(QTestState *s, const char *fmt, ...)
{
    JsonNode *ret;
    va_list ap;

    va_start(ap, fmt);
    ret = qtest_vassert_success(s, fmt, ap);
    va_end(ap);
    return ret;
}

void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    json_node_unref(qtest_vassert_success(s, fmt, ap));
    va_end(ap);
}

char *qtest_hmp(QTestState *s, const char *line)
{
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(
        s, "{'execute': 'human-monitor-command', "
           "'arguments': {'command-line': '%s'}}", line);

    return g_strdup(json_node_get_string(ret));
}

void qtest_qmp_expect_error(QTestState *s, const char *cls, const char *desc,
                            const char *fmt, ...)
{
    g_autoptr(JsonNode) reply = NULL;
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    qtest_qmp_vsend(s, fmt, ap);
    va_end(ap);
    reply = qtest_qmp_receive(s);
    text = json_to_string(reply, FALSE);
    if (g_strcmp0(qtest_reply_error_class(reply), cls) ||
        (desc && !strstr(qtest_reply_error_desc(reply), desc))) {
        g_error("expected error %s '%s', got %s", cls, desc ? desc : "*",
                text);
    }
}

JsonNode *qtest_qmp_eventwait(QTestState *s, const char *name, int timeout_ms)
{
    gint64 deadline = qtest_deadline_ms(timeout_ms);

    for (GList *l = s->events->head; l; l = l->next) {
        JsonObject *ev = json_node_get_object(l->data);

        if (!g_strcmp0(json_object_get_string_member(ev, "event"), name)) {
            JsonNode *found = l->data;

            g_queue_delete_link(s->events, l);
            return found;
        }
    }
    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        JsonNode *msg = left > 0 ? qtest_read_message(s, left) : NULL;

        if (!msg) {
            return NULL;
        }
        if (!qtest_is_event(msg)) {
            g_autofree char *text = json_to_string(msg, FALSE);

            json_node_unref(msg);
            g_error("unexpected QMP reply while waiting for %s: %s", name,
                    text);
        }
        if (!g_strcmp0(json_object_get_string_member(
                           json_node_get_object(msg), "event"), name)) {
            return msg;
        }
        g_queue_push_tail(s->events, msg);
    }
}

void qtest_qmp_clear_events(QTestState *s)
{
    g_queue_clear_full(s->events, (GDestroyNotify)json_node_unref);
}

/* ---- life cycle ---- */

static QTestState *qtest_state_new(void)
{
    QTestState *s = g_new0(QTestState, 1);

    s->qmp_fd = s->stdin_fd = s->stdout_fd = s->pidfd = s->listen_fd = -1;
    s->rbuf = g_string_new(NULL);
    s->events = g_queue_new();
    return s;
}

/* Read the greeting and, unless told not to, negotiate. */
static void qtest_handshake(QTestState *s, bool negotiate)
{
    s->greeting = qtest_read_message(s, QTEST_QMP_TIMEOUT_MS);
    if (!s->greeting || !JSON_NODE_HOLDS_OBJECT(s->greeting) ||
        !json_object_has_member(json_node_get_object(s->greeting), "QMP")) {
        g_error("no QMP greeting from tern");
    }
    if (negotiate) {
        qtest_qmp_assert_success(s, "{'execute': 'qmp_capabilities'}");
    }
}

QTestState *qtest_init_opts(const char *extra_args, const QTestOptions *opts)
{
    QTestOptions none = { 0 };
    QTestState *s = qtest_state_new();
    int in_pipe[2], out_pipe[2];
    g_auto(GStrv) argv = NULL;
    int listen_fd;

    opts = opts ? opts : &none;
    qtest_install_handlers();
    s->tmpdir = g_dir_make_tmp("tern-qtest-XXXXXX", NULL);
    g_assert_nonnull(s->tmpdir);
    s->qmp_path = g_build_filename(s->tmpdir, "qmp.sock", NULL);
    listen_fd = qtest_listen(s->qmp_path);
    argv = qtest_build_argv(s->qmp_path, extra_args);

    if (opts->stdio_pipes) {
        g_assert_cmpint(pipe2(in_pipe, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(out_pipe, O_CLOEXEC), ==, 0);
    }
    s->pid = qtest_spawn(argv, opts->stdio_pipes ? in_pipe : NULL,
                         opts->stdio_pipes ? out_pipe : NULL);
    qtest_track_pid(s->pid, true);
    s->pidfd = syscall(SYS_pidfd_open, s->pid, 0);  /* -1 on old kernels */
    if (opts->stdio_pipes) {
        close(in_pipe[0]);
        close(out_pipe[1]);
        s->stdin_fd = in_pipe[1];
        s->stdout_fd = out_pipe[0];
        s->stdout_buf = g_string_new(NULL);
    }

    s->listen_fd = listen_fd;
    s->negotiate = !opts->no_negotiation;
    if (!opts->defer_qmp) {
        qtest_qmp_accept(s);
    }
    return s;
}

void qtest_qmp_accept(QTestState *s)
{
    g_assert_cmpint(s->listen_fd, >=, 0);
    s->qmp_fd = qtest_accept(s, s->listen_fd);
    close(s->listen_fd);
    s->listen_fd = -1;
    qtest_handshake(s, s->negotiate);
}

QTestState *qtest_init(const char *extra_args)
{
    return qtest_init_opts(extra_args, NULL);
}

QTestState *qtest_qmp_connect(QTestState *owner, const char *path,
                              bool negotiate)
{
    QTestState *s = qtest_state_new();
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    s->qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(connect(s->qmp_fd, (struct sockaddr *)&sun,
                            sizeof(sun)), ==, 0);
    qtest_handshake(s, negotiate);
    return s;
}

int qtest_wait_exit(QTestState *s, int timeout_ms)
{
    g_assert(s->pid);
    if (!qtest_reap(s, timeout_ms)) {
        g_error("tern did not exit within %d ms", timeout_ms);
    }
    return qtest_status_code(s->wstatus);
}

void qtest_kill(QTestState *s, int sig)
{
    g_assert(s->pid);
    s->killed = sig;
    if (!s->reaped) {
        kill(s->pid, sig);
    }
}

pid_t qtest_pid(QTestState *s)
{
    return s->pid;
}

const char *qtest_tmpdir(QTestState *s)
{
    return s->tmpdir;
}

bool qtest_kvm_usable(const char **why)
{
    const char *dev = g_getenv("TERN_KVM_DEVICE");
    int fd = open(dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
    int version;

    if (fd < 0) {
        *why = dev ? "$TERN_KVM_DEVICE cannot be opened"
                   : "/dev/kvm cannot be opened";
        return false;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    if (version != KVM_API_VERSION) {
        *why = "/dev/kvm has an unexpected API version";
        return false;
    }
    return true;
}

JsonNode *qtest_qmp_greeting(QTestState *s)
{
    return s->greeting;
}

void qtest_stdin_write(QTestState *s, const char *text)
{
    size_t len = strlen(text);

    g_assert_cmpint(s->stdin_fd, >=, 0);
    g_assert_cmpint(write(s->stdin_fd, text, len), ==, (ssize_t)len);
}

char *qtest_stdout_read_until(QTestState *s, const char *marker)
{
    gint64 deadline = qtest_deadline_ms(QTEST_QMP_TIMEOUT_MS);

    g_assert_cmpint(s->stdout_fd, >=, 0);
    while (!strstr(s->stdout_buf->str, marker)) {
        struct pollfd pfd = { .fd = s->stdout_fd, .events = POLLIN };
        char buf[4096];
        ssize_t n;

        if (g_get_monotonic_time() > deadline) {
            g_error("'%s' did not appear on tern's stdout; got: %s", marker,
                    s->stdout_buf->str);
        }
        if (poll(&pfd, 1, 100) != 1) {
            continue;
        }
        n = read(s->stdout_fd, buf, sizeof(buf));
        if (n <= 0) {
            g_error("tern's stdout closed before '%s'; got: %s", marker,
                    s->stdout_buf->str);
        }
        g_string_append_len(s->stdout_buf, buf, n);
    }
    {
        char *all = g_strdup(s->stdout_buf->str);

        g_string_truncate(s->stdout_buf, 0);
        return all;
    }
}

void qtest_quit(QTestState *s)
{
    if (!s) {
        return;
    }
    if (s->qmp_fd >= 0) {
        close(s->qmp_fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    if (s->stdin_fd >= 0) {
        close(s->stdin_fd);
        close(s->stdout_fd);
        g_string_free(s->stdout_buf, TRUE);
    }
    if (s->pid) {
        /* After qtest_kill(), let that signal land: a SIGTERM racing it
         * would make its death look like a crash. */
        if (!qtest_reap(s, s->killed ? 10000 : 0)) {
            s->killed = SIGTERM;
            kill(s->pid, SIGTERM);
            if (!qtest_reap(s, 10000)) {
                g_test_message("tern (pid %d) ignored SIGTERM for 10 s",
                               s->pid);
                s->killed = SIGKILL;
                kill(s->pid, SIGKILL);
                qtest_reap(s, 10000);
            }
        }
        /* Death by a signal we did not send (an abort while quitting too)
         * is a crash; tern's stderr above says where. */
        if (WIFSIGNALED(s->wstatus) && WTERMSIG(s->wstatus) != s->killed) {
            g_error("tern (pid %d) crashed: signal %d (%s)", s->pid,
                    WTERMSIG(s->wstatus), g_strsignal(WTERMSIG(s->wstatus)));
        }
        if (s->pidfd >= 0) {
            close(s->pidfd);
        }
        unlink(s->qmp_path);
        rmdir(s->tmpdir);
    }
    qtest_qmp_clear_events(s);
    g_queue_free(s->events);
    if (s->greeting) {
        json_node_unref(s->greeting);
    }
    g_string_free(s->rbuf, TRUE);
    g_free(s->qmp_path);
    g_free(s->tmpdir);
    g_free(s);
}
