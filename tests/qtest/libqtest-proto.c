/*
 * qtest protocol client: one unix-socket connection, one request line and
 * one reply line at a time.
 */
#include "libqtest-proto.h"
#include "libqtest.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QTEST_PROTO_TIMEOUT_MS 60000

struct QTestProto {
    int fd;
    GString *rbuf;
    char *dir;              /* made by qtest_proto_socket_path(), or NULL */
};

char *qtest_proto_socket_path(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-qtest-proto-XXXXXX", NULL);

    g_assert_nonnull(dir);
    return g_build_filename(dir, "qtest.sock", NULL);
}

char *qtest_proto_arg(const char *path)
{
    return g_strdup_printf("-qtest unix:%s,server=on,wait=off", path);
}

QTestProto *qtest_proto_connect(const char *path)
{
    QTestProto *q = g_new0(QTestProto, 1);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(q->fd, >=, 0);
    if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        g_error("qtest: cannot connect to %s: %s", path, g_strerror(errno));
    }
    q->rbuf = g_string_new(NULL);
    {
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *base = g_path_get_basename(dir);

        if (g_str_has_prefix(base, "tern-qtest-proto-")) {
            q->dir = g_steal_pointer(&dir);
        }
    }
    return q;
}

void qtest_proto_free(QTestProto *q)
{
    if (!q) {
        return;
    }
    close(q->fd);
    g_string_free(q->rbuf, TRUE);
    if (q->dir) {
        g_autofree char *sock = g_build_filename(q->dir, "qtest.sock", NULL);

        unlink(sock);
        rmdir(q->dir);
    }
    g_free(q->dir);
    g_free(q);
}

static char *qtest_proto_read_line(QTestProto *q)
{
    gint64 deadline = qtest_deadline_ms(QTEST_PROTO_TIMEOUT_MS);
    char *nl;

    while (!(nl = memchr(q->rbuf->str, '\n', q->rbuf->len))) {
        struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
        char buf[65536];
        ssize_t n;

        if (g_get_monotonic_time() > deadline) {
            g_error("qtest: no reply within %d ms", QTEST_PROTO_TIMEOUT_MS);
        }
        if (poll(&pfd, 1, 100) != 1) {
            continue;
        }
        n = read(q->fd, buf, sizeof(buf));
        if (n <= 0) {
            g_error("qtest: connection closed");
        }
        g_string_append_len(q->rbuf, buf, n);
    }
    {
        size_t len = nl - q->rbuf->str;
        char *line = g_strndup(q->rbuf->str, len);

        g_string_erase(q->rbuf, 0, len + 1);
        return line;
    }
}

static void qtest_proto_write_all(QTestProto *q, const char *req, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(q->fd, req + off, len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        g_assert_cmpint(n, >, 0);
        off += n;
    }
}

char *qtest_proto_cmd(QTestProto *q, const char *fmt, ...)
{
    g_autofree char *req = NULL;
    va_list ap;

    va_start(ap, fmt);
    req = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_proto_write_all(q, req, strlen(req));
    return qtest_proto_read_line(q);
}

/* Send a request; the reply must be "OK" or "OK <value>"; returns value. */
static char *qtest_proto_ok(QTestProto *q, const char *req)
{
    g_autofree char *line = qtest_proto_cmd(q, "%s\n", req);

    if (strcmp(line, "OK") == 0) {
        return g_strdup("");
    }
    if (!g_str_has_prefix(line, "OK ")) {
        g_error("qtest: '%s' -> '%s'", req, line);
    }
    return g_strdup(line + 3);
}

static uint64_t qtest_proto_ok_num(QTestProto *q, const char *req)
{
    g_autofree char *val = qtest_proto_ok(q, req);
    char *end;
    uint64_t v = g_ascii_strtoull(val, &end, 0);

    if (!*val || *end) {
        g_error("qtest: '%s' -> bad number '%s'", req, val);
    }
    return v;
}

#define QTEST_READ(suffix, type)                                            \
type qtest_read##suffix(QTestProto *q, uint64_t addr)                        \
{                                                                           \
    g_autofree char *req = g_strdup_printf("read" #suffix " 0x%" PRIx64,     \
                                           addr);                           \
    return (type)qtest_proto_ok_num(q, req);                                \
}                                                                           \
void qtest_write##suffix(QTestProto *q, uint64_t addr, type value)           \
{                                                                           \
    g_autofree char *req = g_strdup_printf("write" #suffix " 0x%" PRIx64     \
                                           " 0x%" PRIx64, addr,             \
                                           (uint64_t)value);                \
    g_free(qtest_proto_ok(q, req));                                         \
}

QTEST_READ(b, uint8_t)
QTEST_READ(w, uint16_t)
QTEST_READ(l, uint32_t)
QTEST_READ(q, uint64_t)

#define QTEST_PIO(suffix, type)                                             \
type qtest_in##suffix(QTestProto *q, uint16_t port)                          \
{                                                                           \
    g_autofree char *req = g_strdup_printf("in" #suffix " 0x%x", port);      \
    return (type)qtest_proto_ok_num(q, req);                                \
}                                                                           \
void qtest_out##suffix(QTestProto *q, uint16_t port, type value)             \
{                                                                           \
    g_autofree char *req = g_strdup_printf("out" #suffix " 0x%x 0x%x", port, \
                                           (unsigned)value);                \
    g_free(qtest_proto_ok(q, req));                                         \
}

QTEST_PIO(b, uint8_t)
QTEST_PIO(w, uint16_t)
QTEST_PIO(l, uint32_t)

void qtest_memread(QTestProto *q, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *req = g_strdup_printf("read 0x%" PRIx64 " 0x%zx", addr,
                                           size);
    g_autofree char *hex = qtest_proto_ok(q, req);
    uint8_t *out = buf;

    g_assert_true(g_str_has_prefix(hex, "0x"));
    g_assert_cmpuint(strlen(hex), ==, 2 + size * 2);
    for (size_t i = 0; i < size; i++) {
        out[i] = g_ascii_xdigit_value(hex[2 + i * 2]) << 4 |
                 g_ascii_xdigit_value(hex[3 + i * 2]);
    }
}

void qtest_memwrite(QTestProto *q, uint64_t addr, const void *buf, size_t size)
{
    GString *req = g_string_sized_new(size * 2 + 48);
    const uint8_t *in = buf;

    g_string_append_printf(req, "write 0x%" PRIx64 " 0x%zx 0x", addr, size);
    for (size_t i = 0; i < size; i++) {
        g_string_append_printf(req, "%02x", in[i]);
    }
    g_free(qtest_proto_ok(q, req->str));
    g_string_free(req, TRUE);
}

void qtest_bufread(QTestProto *q, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *req = g_strdup_printf("b64read 0x%" PRIx64 " 0x%zx",
                                           addr, size);
    g_autofree char *b64 = qtest_proto_ok(q, req);
    g_autofree guchar *data = NULL;
    gsize len;

    data = g_base64_decode(b64, &len);
    g_assert_cmpuint(len, ==, size);
    memcpy(buf, data, size);
}

void qtest_bufwrite(QTestProto *q, uint64_t addr, const void *buf, size_t size)
{
    g_autofree char *b64 = g_base64_encode(buf, size);
    g_autofree char *req = g_strdup_printf("b64write 0x%" PRIx64 " 0x%zx %s",
                                           addr, size, b64);

    g_free(qtest_proto_ok(q, req));
}

void qtest_memset(QTestProto *q, uint64_t addr, uint8_t value, size_t size)
{
    g_autofree char *req = g_strdup_printf("memset 0x%" PRIx64 " 0x%zx 0x%02x",
                                           addr, size, value);

    g_free(qtest_proto_ok(q, req));
}

/* Requests per batch: their "OK" replies fit in the socket buffers, so
 * neither side blocks writing while the other writes too. */
#define QTEST_PROTO_BATCH 256

void qtest_memset_strided(QTestProto *q, uint64_t addr, uint64_t end,
                          uint64_t stride, uint8_t value, size_t size)
{
    GString *req = g_string_new(NULL);

    while (addr < end) {
        unsigned n = 0;

        g_string_truncate(req, 0);
        for (; addr < end && n < QTEST_PROTO_BATCH; addr += stride, n++) {
            g_string_append_printf(req, "memset 0x%" PRIx64 " 0x%zx 0x%02x\n",
                                   addr, size, value);
        }
        qtest_proto_write_all(q, req->str, req->len);
        while (n--) {
            g_autofree char *line = qtest_proto_read_line(q);

            if (strcmp(line, "OK") != 0) {
                g_error("qtest: memset -> '%s'", line);
            }
        }
    }
    g_string_free(req, TRUE);
}

int64_t qtest_clock_step(QTestProto *q, int64_t ns)
{
    g_autofree char *req = g_strdup_printf("clock_step %" PRIi64, ns);

    return (int64_t)qtest_proto_ok_num(q, req);
}
