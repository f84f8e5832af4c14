/*
 * QEMUFile backends: a migration channel (sockets, pipes, regular files,
 * cancellable: include/migration/channel.h) and memory buffers (for unit
 * tests and for building a stream in memory).
 */
#include "migration/qemu-file.h"
#include "migration/channel.h"
#include "qemu/error.h"

#include <string.h>

/* ---- channels ---- */

static bool channel_file_writev(void *opaque, const struct iovec *iov,
                                int iovcnt, GError **errp)
{
    return channel_writev_all(opaque, iov, iovcnt, errp);
}

static ssize_t channel_file_read(void *opaque, void *buf, size_t len,
                                 GError **errp)
{
    return channel_read(opaque, buf, len, errp);
}

static void channel_file_shutdown(void *opaque)
{
    channel_shutdown(opaque);
}

static bool channel_file_close(void *opaque, GError **errp)
{
    return channel_close(opaque, errp);
}

static const QEMUFileOps channel_file_ops = {
    .writev = channel_file_writev,
    .read = channel_file_read,
    .shutdown = channel_file_shutdown,
    .close = channel_file_close,
};

QEMUFile *qemu_file_new_channel(Channel *ch, bool writable)
{
    return qemu_file_new(&channel_file_ops, ch, writable);
}

QEMUFile *qemu_file_get_return_path(QEMUFile *f, GError **errp)
{
    Channel *ch = qemu_file_channel(f);

    if (qemu_file_channel_ops(f) != &channel_file_ops ||
        !channel_is_bidirectional(ch)) {
        error_setg(errp, "the channel carries one direction only (a pipe or "
                   "a file); a return path needs a socket (tcp:, unix:, fd:)");
        return NULL;
    }
    return qemu_file_new_channel(channel_ref(ch), !qemu_file_is_writable(f));
}

QEMUFile *qemu_file_new_fd(int fd, bool writable, GError **errp)
{
    Channel *ch = channel_new_fd(fd, NULL, errp);

    return ch ? qemu_file_new_channel(ch, writable) : NULL;
}

/* ---- memory buffers ---- */

typedef struct BufferChannel {
    GByteArray *data;       /* output, or a copied input; NULL: @in is borrowed */
    const uint8_t *in;      /* input read in place */
    size_t in_len;
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
    size_t n = MIN(len, c->in_len - c->pos);

    /* An empty input may have no data pointer: no memcpy from NULL (found by fuzz-stream). */
    if (n) {
        memcpy(buf, c->in + c->pos, n);
    }
    c->pos += n;
    return n;
}

static bool buffer_channel_close(void *opaque, GError **errp)
{
    BufferChannel *c = opaque;

    if (c->data) {
        g_byte_array_unref(c->data);
    }
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
    c->in = c->data->data;
    c->in_len = len;
    return qemu_file_new(&buffer_channel_ops, c, false);
}

QEMUFile *qemu_file_new_input_borrowed(const void *data, size_t len)
{
    BufferChannel *c = g_new0(BufferChannel, 1);

    c->in = data;
    c->in_len = len;
    return qemu_file_new(&buffer_channel_ops, c, false);
}

GBytes *qemu_file_output_buffer_bytes(QEMUFile *f)
{
    BufferChannel *c = qemu_file_channel(f);

    g_assert(qemu_file_channel_ops(f) == &buffer_channel_ops);
    qemu_fflush(f);
    return g_bytes_new(c->data->data, c->data->len);
}
