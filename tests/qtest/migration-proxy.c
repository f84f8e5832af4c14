/*
 * The migration tests' proxy (migration-proxy.h).
 */
#include "migration-proxy.h"
#include "libqtest.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int mig_unix_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    unlink(path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    return fd;
}

int mig_unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One accepted connection: fd[0] the client's, fd[1] the target's (-1: closed). */
typedef struct MigProxyConn {
    MigProxy *p;
    unsigned index;
    int fd[2];
    GByteArray *pending[2];     /* per direction: held back by the tap */
    uint64_t forwarded[2];
    bool dropped[2];            /* truncated: what comes is dropped */
    bool stalled;
    bool tap_done;
    GThread *thread;
} MigProxyConn;

struct MigProxy {
    int listen_fd;
    int cut_pipe[2];            /* readable: cut (nobody reads it: every thread sees it) */
    char *target_path;
    MigProxyTap tap;
    void *opaque;
    GThread *thread;            /* accepts */
    GPtrArray *conns;           /* MigProxyConn *; the accepting thread's until joined */
    gint connections;           /* atomic: accepted so far */
    gint acted;                 /* atomic: the tap took an action */
};

static void mig_proxy_conn_close(MigProxyConn *c)
{
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] >= 0) {
            shutdown(c->fd[i], SHUT_RDWR);
            close(c->fd[i]);
            c->fd[i] = -1;
        }
    }
}

static bool mig_proxy_send_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

/* @n bytes came in direction @dir of @c: let the tap decide, forward, act. */
static void mig_proxy_forward(MigProxyConn *c, MigProxyDir dir, const uint8_t *buf, size_t n)
{
    MigProxy *p = c->p;
    GByteArray *pend = c->pending[dir];
    MigProxyAction action = MIG_PROXY_FORWARD;
    int to = c->fd[dir == MIG_PROXY_TO_TARGET ? 1 : 0];
    size_t fwd;

    if (c->dropped[dir]) {
        return;
    }
    g_byte_array_append(pend, buf, n);
    fwd = pend->len;
    if (p->tap && !c->tap_done) {
        fwd = p->tap(p->opaque, c->index, dir, pend->data, pend->len, c->forwarded[dir],
                     &action);
        g_assert_cmpuint(fwd, <=, pend->len);
    }
    if (!mig_proxy_send_all(to, pend->data, fwd)) {
        mig_proxy_conn_close(c);
        return;
    }
    c->forwarded[dir] += fwd;
    g_byte_array_remove_range(pend, 0, fwd);
    if (action == MIG_PROXY_FORWARD) {
        return;
    }
    c->tap_done = true;
    switch (action) {
    case MIG_PROXY_CLOSE:
        mig_proxy_conn_close(c);
        break;
    case MIG_PROXY_TRUNCATE:
        shutdown(to, SHUT_WR);
        c->dropped[dir] = true;
        g_byte_array_set_size(pend, 0);
        break;
    default:
        c->stalled = true;
        break;
    }
    g_atomic_int_set(&p->acted, 1);
}

/*
 * One connection, both ways, on a thread of its own: a write blocked on
 * one (a multifd channel whose reader waits for another) holds up no other.
 */
static gpointer mig_proxy_conn_thread(gpointer opaque)
{
    MigProxyConn *c = opaque;
    g_autofree uint8_t *buf = g_malloc(65536);

    while (c->fd[0] >= 0) {
        /* A stalled connection is not read: its writers block. */
        struct pollfd pfd[3] = {
            { .fd = c->p->cut_pipe[0], .events = POLLIN },
            { .fd = c->stalled ? -1 : c->fd[0], .events = POLLIN },
            { .fd = c->stalled ? -1 : c->fd[1], .events = POLLIN },
        };

        if (poll(pfd, 3, -1) < 0) {
            g_assert_cmpint(errno, ==, EINTR);
            continue;
        }
        if (pfd[0].revents) {
            break;
        }
        for (int side = 0; side < 2 && c->fd[0] >= 0 && !c->stalled; side++) {
            ssize_t got;

            if (!pfd[1 + side].revents) {
                continue;
            }
            got = read(c->fd[side], buf, 65536);
            if (got <= 0) {
                /* One side ended: so does the other. */
                mig_proxy_conn_close(c);
                break;
            }
            mig_proxy_forward(c, side ? MIG_PROXY_TO_CLIENT : MIG_PROXY_TO_TARGET, buf, got);
        }
    }
    mig_proxy_conn_close(c);
    return NULL;
}

static void mig_proxy_accept(MigProxy *p)
{
    MigProxyConn *c = g_new0(MigProxyConn, 1);

    c->p = p;
    c->index = p->conns->len;
    c->fd[0] = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(c->fd[0], >=, 0);
    c->fd[1] = mig_unix_connect(p->target_path);
    if (c->fd[1] < 0) {
        /*
         * Nobody listens there (yet): refuse, as the network would.  A
         * destination that listens again by itself (postcopy auto-recover)
         * may not be back when the source's attempt comes.
         */
        close(c->fd[0]);
        g_free(c);
        return;
    }
    c->pending[0] = g_byte_array_new();
    c->pending[1] = g_byte_array_new();
    g_ptr_array_add(p->conns, c);
    c->thread = g_thread_new("mig-proxy-conn", mig_proxy_conn_thread, c);
    g_atomic_int_inc(&p->connections);
}

static void mig_proxy_conn_free(gpointer data)
{
    MigProxyConn *c = data;

    g_thread_join(c->thread);
    g_byte_array_unref(c->pending[0]);
    g_byte_array_unref(c->pending[1]);
    g_free(c);
}

static gpointer mig_proxy_thread(gpointer opaque)
{
    MigProxy *p = opaque;

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = p->listen_fd, .events = POLLIN },
            { .fd = p->cut_pipe[0], .events = POLLIN },
        };

        if (poll(pfd, 2, -1) < 0) {
            g_assert_cmpint(errno, ==, EINTR);
            continue;
        }
        if (pfd[1].revents) {
            return NULL;
        }
        mig_proxy_accept(p);
    }
}

MigProxy *mig_proxy_new(const char *listen_path, const char *target_path,
                        MigProxyTap tap, void *opaque)
{
    MigProxy *p = g_new0(MigProxy, 1);

    p->listen_fd = mig_unix_listen(listen_path);
    g_assert_cmpint(pipe(p->cut_pipe), ==, 0);
    p->target_path = g_strdup(target_path);
    p->tap = tap;
    p->opaque = opaque;
    p->conns = g_ptr_array_new_with_free_func(mig_proxy_conn_free);
    p->thread = g_thread_new("mig-proxy", mig_proxy_thread, p);
    return p;
}

void mig_proxy_wait_connections(MigProxy *p, unsigned want)
{
    gint64 deadline = qtest_deadline_ms(60000);

    while ((unsigned)g_atomic_int_get(&p->connections) < want) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    g_assert_cmpuint(g_atomic_int_get(&p->connections), ==, want);
}

void mig_proxy_wait_action(MigProxy *p)
{
    gint64 deadline = qtest_deadline_ms(120000);

    while (!g_atomic_int_get(&p->acted)) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the proxy's tap never acted");
        }
        g_usleep(1000);
    }
}

void mig_proxy_cut_and_free(MigProxy *p)
{
    g_assert_cmpint(write(p->cut_pipe[1], "x", 1), ==, 1);
    g_thread_join(p->thread);
    g_ptr_array_unref(p->conns);
    close(p->listen_fd);
    close(p->cut_pipe[0]);
    close(p->cut_pipe[1]);
    g_free(p->target_path);
    g_free(p);
}
