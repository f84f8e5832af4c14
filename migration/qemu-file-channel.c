/*
 * QEMUFile backends: a file descriptor (sockets, pipes, regular files) and
 * memory buffers (for unit tests and for building a stream in memory).
 */
#include "migration/qemu-file.h"
#include "qemu/error.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- file descriptor ---- */

typedef struct FdChannel {
    int fd;
} FdChannel;

static bool fd_channel_writev(void *opaque, const struct iovec *iov, int iovcnt,
                              GError **errp)
{
    FdChannel *c = opaque;
    struct iovec local[IOV_MAX];
    int cnt = iovcnt;

    g_assert(iovcnt <= IOV_MAX);
    memcpy(local, iov, cnt * sizeof(*iov));
    for (struct iovec *v = local; cnt > 0;) {
        ssize_t n = writev(c->fd, v, cnt);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_setg_errno(errp, errno, "failed to write migration stream");
            return false;
        }
        /* Skip what was written; a partial write leaves the rest in place. */
        while (cnt > 0 && (size_t)n >= v->iov_len) {
            n -= v->iov_len;
            v++;
            cnt--;
        }
        if (cnt > 0) {
            v->iov_base = (uint8_t *)v->iov_base + n;
            v->iov_len -= n;
        }
    }
    return true;
}

static ssize_t fd_channel_read(void *opaque, void *buf, size_t len, GError **errp)
{
    FdChannel *c = opaque;
    ssize_t n;

    do {
        n = read(c->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        error_setg_errno(errp, errno, "failed to read migration stream");
    }
    return n;
}

static void fd_channel_shutdown(void *opaque)
{
    FdChannel *c = opaque;

    /* Wakes a thread blocked in read/write on a socket; on pipes and files it fails harmlessly and the sticky shut-down flag does the work. */
    shutdown(c->fd, SHUT_RDWR);
}

static bool fd_channel_close(void *opaque, GError **errp)
{
    FdChannel *c = opaque;
    int ret = close(c->fd);

    g_free(c);
    if (ret < 0) {
        error_setg_errno(errp, errno, "failed to close migration stream");
        return false;
    }
    return true;
}

static const QEMUFileOps fd_channel_ops = {
    .writev = fd_channel_writev,
    .read = fd_channel_read,
    .shutdown = fd_channel_shutdown,
    .close = fd_channel_close,
};

QEMUFile *qemu_file_new_fd(int fd, bool writable)
{
    FdChannel *c = g_new0(FdChannel, 1);

    c->fd = fd;
    return qemu_file_new(&fd_channel_ops, c, writable);
}

/* ---- memory buffers ---- */

typedef struct BufferChannel {
    GByteArray *data;
    size_t pos;             /* read position */
} BufferChannel;

static bool buffer_channel_writev(void *opaque, const struct iovec *iov,
                                  int iovcnt, GError **errp)
{
    BufferChannel *c = opaque;

    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(c->data, iov[i].iov_base, iov[i].iov_len);
    }
    return true;
}

static ssize_t buffer_channel_read(void *opaque, void *buf, size_t len,
                                   GError **errp)
{
    BufferChannel *c = opaque;
    size_t n = MIN(len, c->data->len - c->pos);

    memcpy(buf, c->data->data + c->pos, n);
    c->pos += n;
    return n;
}

static bool buffer_channel_close(void *opaque, GError **errp)
{
    BufferChannel *c = opaque;

    g_byte_array_unref(c->data);
    g_free(c);
    return true;
}

static const QEMUFileOps buffer_channel_ops = {
    .writev = buffer_channel_writev,
    .read = buffer_channel_read,
    .close = buffer_channel_close,
};

QEMUFile *qemu_file_new_output_buffer(void)
{
    BufferChannel *c = g_new0(BufferChannel, 1);

    c->data = g_byte_array_new();
    return qemu_file_new(&buffer_channel_ops, c, true);
}

QEMUFile *qemu_file_new_input_buffer(const void *data, size_t len)
{
    BufferChannel *c = g_new0(BufferChannel, 1);

    c->data = g_byte_array_sized_new(len);
    g_byte_array_append(c->data, data, len);
    return qemu_file_new(&buffer_channel_ops, c, false);
}

GBytes *qemu_file_output_buffer_bytes(QEMUFile *f)
{
    BufferChannel *c = qemu_file_channel(f);

    g_assert(qemu_file_channel_ops(f) == &buffer_channel_ops);
    qemu_fflush(f);
    return g_bytes_new(c->data->data, c->data->len);
}
