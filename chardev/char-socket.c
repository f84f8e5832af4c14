/*
 * The socket chardev: a unix path or a tcp host:port, as server or client.
 * A server serves one client at a time; when it leaves, the next one is
 * accepted.  Unix sockets also receive file descriptors (SCM_RIGHTS), kept
 * for the monitor's getfd.
 */
#include "char-internal.h"
#include "qemu/sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

/* How many fds one message may carry, and how long a write may stall. */
#define SOCKET_MAX_FDS          16
#define SOCKET_WRITE_TIMEOUT_MS 10000

typedef struct SocketChardev {
    Chardev parent;
    bool is_unix;
    bool server;
    char *path;             /* unix path; a server unlinks it at close */
    char *desc;             /* "unix:/p,server=on", for messages */

    /* Protected by parent.lock. */
    int listen_fd;
    int conn_fd;
    bool broken;            /* a write failed; the reader will clean up */
    GSource *listen_src;
    GSource *conn_src;
    GArray *msgfds;         /* ints received with the latest fd-carrying read */
} SocketChardev;

static const char *const socket_opt_keys[] = {
    CHARDEV_COMMON_KEYS, "path", "host", "port", "server", "wait", "nodelay", NULL
};

static void socket_clear_msgfds(SocketChardev *s)
{
    for (guint i = 0; i < s->msgfds->len; i++) {
        close(g_array_index(s->msgfds, int, i));
    }
    g_array_set_size(s->msgfds, 0);
}

static gboolean socket_accept_ready(int fd, GIOCondition cond, gpointer opaque);
static gboolean socket_conn_ready(int fd, GIOCondition cond, gpointer opaque);

static void socket_update_sources(Chardev *chr, bool enabled)
{
    SocketChardev *s = (SocketChardev *)chr;
    bool listen = enabled && s->listen_fd >= 0 && s->conn_fd < 0;
    bool read = enabled && s->conn_fd >= 0 && qemu_chr_wants_input(chr);

    if (!listen) {
        qemu_chr_drop_source(&s->listen_src);
    } else if (!s->listen_src) {
        qemu_chr_replace_fd_source(chr, &s->listen_src, s->listen_fd, G_IO_IN,
                                   socket_accept_ready, s);
    }
    if (!read) {
        qemu_chr_drop_source(&s->conn_src);
    } else if (!s->conn_src) {
        qemu_chr_replace_fd_source(chr, &s->conn_src, s->conn_fd,
                                   G_IO_IN | G_IO_HUP | G_IO_ERR,
                                   socket_conn_ready, s);
    }
}

/* Locked: adopt @fd as the connection. */
static void socket_set_conn_locked(SocketChardev *s, int fd)
{
    if (!s->is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    s->conn_fd = fd;
    s->broken = false;
    qemu_chr_update_sources_locked(&s->parent);
}

static gboolean socket_accept_ready(int fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (cfd < 0) {
        return G_SOURCE_CONTINUE;       /* EAGAIN, or the client gave up */
    }
    qemu_mutex_lock(&s->parent.lock);
    if (s->conn_fd >= 0) {              /* raced with a blocking wait=on accept */
        qemu_mutex_unlock(&s->parent.lock);
        close(cfd);
        return G_SOURCE_CONTINUE;
    }
    socket_set_conn_locked(s, cfd);
    qemu_mutex_unlock(&s->parent.lock);
    qemu_chr_be_event(&s->parent, true);
    return G_SOURCE_CONTINUE;
}

/* Context thread: the peer left (or a write broke the connection). */
static void socket_disconnect(SocketChardev *s)
{
    qemu_mutex_lock(&s->parent.lock);
    if (s->conn_fd < 0) {
        qemu_mutex_unlock(&s->parent.lock);
        return;
    }
    qemu_chr_drop_source(&s->conn_src);
    close(s->conn_fd);
    s->conn_fd = -1;
    socket_clear_msgfds(s);
    qemu_chr_update_sources_locked(&s->parent);     /* listen again */
    qemu_mutex_unlock(&s->parent.lock);
    qemu_chr_be_event(&s->parent, false);
}

/* recvmsg() keeping SCM_RIGHTS fds in @fds; returns the recvmsg() result. */
static ssize_t socket_recv(SocketChardev *s, int fd, uint8_t *buf, size_t len,
                           int *fds, size_t *nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SOCKET_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = s->is_unix ? control.buf : NULL,
        .msg_controllen = s->is_unix ? sizeof(control.buf) : 0,
    };
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

    *nfds = 0;
    if (n < 0 || !s->is_unix) {
        return n;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        size_t count;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0)) {
            continue;
        }
        count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int rfd;

            memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < SOCKET_MAX_FDS) {
                fds[(*nfds)++] = rfd;
            } else {
                close(rfd);
            }
        }
    }
    return n;
}

static gboolean socket_conn_ready(int fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    uint8_t buf[4096];
    int fds[SOCKET_MAX_FDS];
    size_t nfds;
    ssize_t n = socket_recv(s, fd, buf, sizeof(buf), fds, &nfds);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (nfds) {
        qemu_mutex_lock(&s->parent.lock);
        socket_clear_msgfds(s);
        g_array_append_vals(s->msgfds, fds, nfds);
        qemu_mutex_unlock(&s->parent.lock);
    }
    if (n <= 0) {
        socket_disconnect(s);
        return G_SOURCE_CONTINUE;       /* the source is already destroyed */
    }
    qemu_chr_be_read(&s->parent, buf, n);
    return G_SOURCE_CONTINUE;
}

static ssize_t socket_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    SocketChardev *s = (SocketChardev *)chr;

    if (s->conn_fd < 0 || s->broken) {
        return -1;
    }
    if (!qemu_chr_write_fd_all(s->conn_fd, buf, len, true,
                               SOCKET_WRITE_TIMEOUT_MS)) {
        /* Wake the reader, which disconnects in the context thread. */
        s->broken = true;
        shutdown(s->conn_fd, SHUT_RDWR);
        return -1;
    }
    return len;
}

static int socket_get_msgfd(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    int fd;

    if (!s->msgfds->len) {
        return -1;
    }
    fd = g_array_index(s->msgfds, int, 0);
    g_array_remove_index(s->msgfds, 0);
    socket_clear_msgfds(s);
    return fd;
}

/* wait=on: block until the first client connects, as QEMU does. */
static int socket_wait_first_client(SocketChardev *s, GError **errp)
{
    int fd;

    fprintf(stderr, "tern: waiting for connection on: disconnected:%s\n",
            s->desc);
    do {
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to accept a connection");
    }
    return fd;
}

static bool socket_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    const char *path = qemu_opt_get(opts, "path");
    const char *host = qemu_opt_get(opts, "host");
    const char *port = qemu_opt_get(opts, "port");
    bool wait, nodelay;
    int fd;

    s->listen_fd = s->conn_fd = -1;
    s->msgfds = g_array_new(FALSE, FALSE, sizeof(int));
    if (!qemu_opt_get_bool(opts, "server", false, &s->server, errp) ||
        !qemu_opt_get_bool(opts, "wait", true, &wait, errp) ||
        !qemu_opt_get_bool(opts, "nodelay", false, &nodelay, errp)) {
        goto fail;
    }
    if (path && (host || port)) {
        error_setg(errp, "'path' cannot be combined with 'host' or 'port'");
        goto fail;
    }
    if (!path && !port) {
        error_setg(errp, "socket needs 'path', or 'host' and 'port'");
        goto fail;
    }
    s->is_unix = path != NULL;
    s->path = g_strdup(path);
    s->desc = path
        ? g_strdup_printf("unix:%s%s", path, s->server ? ",server=on" : "")
        : g_strdup_printf("tcp:%s:%s%s", host ? host : "", port,
                          s->server ? ",server=on" : "");

    fd = s->is_unix ? socket_unix_open(path, s->server, errp)
                    : socket_inet_open(host ? host : "", port, s->server, errp);
    if (fd < 0) {
        goto fail;
    }
    if (!s->server) {
        g_unix_set_fd_nonblocking(fd, TRUE, NULL);
        socket_set_conn_locked(s, fd);
        chr->connected = true;
        return true;
    }
    s->listen_fd = fd;
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    if (wait) {
        g_unix_set_fd_nonblocking(fd, FALSE, NULL);
        fd = socket_wait_first_client(s, errp);
        g_unix_set_fd_nonblocking(s->listen_fd, TRUE, NULL);
        if (fd < 0) {
            goto fail;
        }
        socket_set_conn_locked(s, fd);
        chr->connected = true;
    }
    return true;

fail:
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        if (s->is_unix) {
            unlink(s->path);
        }
    }
    g_array_free(s->msgfds, TRUE);
    g_free(s->path);
    g_free(s->desc);
    return false;
}

static void socket_close(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    if (s->conn_fd >= 0) {
        close(s->conn_fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        if (s->is_unix) {
            unlink(s->path);
        }
    }
    socket_clear_msgfds(s);
    g_array_free(s->msgfds, TRUE);
    g_free(s->path);
    g_free(s->desc);
}

const ChardevClass chardev_socket_class = {
    .name = "socket",
    .instance_size = sizeof(SocketChardev),
    .opt_keys = socket_opt_keys,
    .open = socket_open,
    .write = socket_write,
    .update_sources = socket_update_sources,
    .get_msgfd = socket_get_msgfd,
    .close = socket_close,
};
