/*
 * Opening stream sockets (include/qemu/sockets.h).
 */
#include "qemu/sockets.h"
#include "qemu/error.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

/* @path as a unix socket address; false (and why) when it does not fit. */
static bool socket_unix_address(const char *path, struct sockaddr_un *sun, GError **errp)
{
    *sun = (struct sockaddr_un) { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sun->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(sun->sun_path, path);
    return true;
}

int socket_unix_open(const char *path, bool server, GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (!socket_unix_address(path, &sun, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create Unix socket");
        return -1;
    }
    if (server) {
        if (unlink(path) < 0 && errno != ENOENT) {
            error_setg_errno(errp, errno, "Failed to unlink socket %s", path);
            goto fail;
        }
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
            goto fail;
        }
        if (listen(fd, 1) < 0) {
            error_setg_errno(errp, errno, "Failed to listen on socket");
            goto fail;
        }
    } else if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

int socket_unix_connect_full(const char *path, SocketRetryFunc retry, void *opaque,
                             GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (!socket_unix_address(path, &sun, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create Unix socket");
        return -1;
    }
    while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
            close(fd);
            return -1;
        }
        if (!retry(opaque, errp)) {     /* the listener's backlog is full */
            close(fd);
            return -1;
        }
    }
    return fd;
}

int socket_inet_open(const char *host, const char *port, bool server,
                     GError **errp)
{
    return socket_inet_open_full(host, port, server, NULL, NULL, errp);
}

/*
 * connect() @fd to @ai, waiting with @wait when the socket is non-blocking.
 * Returns 0, or the errno of the failure; -1 when @wait gave up (@errp set).
 */
static int socket_connect_one(int fd, const struct addrinfo *ai,
                              SocketWaitFunc wait, void *opaque, GError **errp)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        return 0;
    }
    if (!wait || errno != EINPROGRESS) {
        return errno;
    }
    if (!wait(fd, POLLOUT, opaque, errp)) {
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return errno;
    }
    return err;
}

int socket_inet_open_full(const char *host, const char *port, bool server,
                          SocketWaitFunc wait, void *opaque, GError **errp)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = server ? AI_PASSIVE : 0,
    };
    int type = SOCK_STREAM | SOCK_CLOEXEC | (wait && !server ? SOCK_NONBLOCK : 0);
    struct addrinfo *res;
    int fd = -1, err = 0, rc;

    if (!*host) {
        host = server ? NULL : "localhost";
    }
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   host ? host : "", port, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int one = 1;

        fd = socket(ai->ai_family, type, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (server) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                listen(fd, 1) == 0) {
                break;
            }
            err = errno;
        } else {
            err = socket_connect_one(fd, ai, wait, opaque, errp);
            if (err == 0) {
                break;
            }
            if (err < 0) {          /* @wait gave up: try no other address */
                close(fd);
                freeaddrinfo(res);
                return -1;
            }
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, err, "Failed to %s %s:%s",
                         server ? "listen on" : "connect to",
                         host ? host : "", port);
    }
    return fd;
}
