/*
 * The qtest protocol server; the request forms are listed in
 * include/sysemu/qtest.h.  Every argument is checked: a malformed number,
 * a missing argument or a range outside guest RAM is answered with FAIL and
 * the connection stays usable.
 */
#include "qtest.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "qemu/error.h"
#include "sysemu/memory.h"

/* A request line longer than this (b64write of 64 MiB fits) is dropped. */
#define QTEST_MAX_LINE (128u << 20)
/* The most one read/b64read/memset may touch. */
#define QTEST_MAX_ACCESS (64u << 20)

struct QTestServer {
    QTestOps ops;
    Chardev *chr;
    GString *inbuf;
    int64_t clock_ns;           /* the virtual clock clock_step advances */
};

QTestServer *qtest_server_new(const QTestOps *ops)
{
    QTestServer *s = g_new0(QTestServer, 1);

    s->ops = *ops;
    s->inbuf = g_string_new(NULL);
    return s;
}

void qtest_server_free(QTestServer *s)
{
    if (!s) {
        return;
    }
    if (s->chr) {
        qemu_chr_set_handlers(s->chr, NULL, NULL, NULL);
    }
    g_string_free(s->inbuf, TRUE);
    g_free(s);
}

static bool parse_u64(const char *str, uint64_t *out)
{
    char *end;

    if (!str || !*str || *str == '-' || *str == '+') {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(str, &end, 0);
    return errno == 0 && *end == '\0';
}

static bool parse_i64(const char *str, int64_t *out)
{
    char *end;

    if (!str || !*str) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoll(str, &end, 0);
    return errno == 0 && *end == '\0';
}

static int hex_nibble(char c)
{
    return g_ascii_xdigit_value(c);
}

static char *fail(GError *err)
{
    char *reply = g_strdup_printf("FAIL %s\n", err->message);

    g_error_free(err);
    return reply;
}

/* Bounded, in-RAM access size check for the bulk commands. */
static char *check_len(uint64_t len)
{
    if (len > QTEST_MAX_ACCESS) {
        return g_strdup_printf("FAIL size %" PRIu64 " is over the %u-byte "
                               "limit\n", len, QTEST_MAX_ACCESS);
    }
    return NULL;
}

static char *qtest_pio(QTestServer *s, char **w, unsigned argc)
{
    char kind = w[0][strlen(w[0]) - 1];
    unsigned size = kind == 'b' ? 1 : kind == 'w' ? 2 : 4;
    bool is_out = w[0][0] == 'o';
    uint64_t port, value = 0;

    if (argc != (is_out ? 3u : 2u) || !parse_u64(w[1], &port) ||
        (is_out && !parse_u64(w[2], &value))) {
        return g_strdup_printf("FAIL usage: %s PORT%s\n", w[0],
                               is_out ? " VALUE" : "");
    }
    if (port > 0xffff) {
        return g_strdup_printf("FAIL port 0x%" PRIx64 " out of range\n", port);
    }
    if (!s->ops.pio_read) {
        return g_strdup("FAIL no port I/O in this machine\n");
    }
    if (is_out) {
        s->ops.pio_write(s->ops.opaque, port, size, (uint32_t)value);
        return g_strdup("OK\n");
    }
    return g_strdup_printf("OK 0x%04x\n",
                           s->ops.pio_read(s->ops.opaque, port, size));
}

static char *qtest_rw(QTestServer *s, char **w, unsigned argc)
{
    char kind = w[0][strlen(w[0]) - 1];
    unsigned size = kind == 'b' ? 1 : kind == 'w' ? 2 : kind == 'l' ? 4 : 8;
    bool is_write = w[0][0] == 'w';
    uint64_t addr, value = 0;
    GError *err = NULL;

    if (argc != (is_write ? 3u : 2u) || !parse_u64(w[1], &addr) ||
        (is_write && !parse_u64(w[2], &value))) {
        return g_strdup_printf("FAIL usage: %s ADDR%s\n", w[0],
                               is_write ? " VALUE" : "");
    }
    if (is_write) {
        uint64_t le = GUINT64_TO_LE(value);     /* x86 is little-endian */

        if (!guest_memory_write(s->ops.memory, addr, &le, size, &err)) {
            return fail(err);
        }
        return g_strdup("OK\n");
    }
    value = 0;
    if (!guest_memory_read(s->ops.memory, addr, &value, size, &err)) {
        return fail(err);
    }
    return g_strdup_printf("OK 0x%016" PRIx64 "\n", GUINT64_FROM_LE(value));
}

static char *qtest_read(QTestServer *s, char **w, unsigned argc, bool b64)
{
    const uint8_t *data;
    uint64_t addr, len;
    GError *err = NULL;
    char *bad;

    if (argc != 3 || !parse_u64(w[1], &addr) || !parse_u64(w[2], &len)) {
        return g_strdup_printf("FAIL usage: %s ADDR SIZE\n", w[0]);
    }
    if (!b64 && len == 0) {
        return g_strdup("FAIL size must not be 0\n");
    }
    if ((bad = check_len(len))) {
        return bad;
    }
    /* Encoded straight from guest RAM: a bad range costs no allocation. */
    data = guest_memory_view(s->ops.memory, addr, len, &err);
    if (!data) {
        return fail(err);
    }
    if (b64) {
        g_autofree char *enc = g_base64_encode(data, len);
        return g_strdup_printf("OK %s\n", enc);
    }
    GString *out = g_string_sized_new(len * 2 + 8);
    g_string_append(out, "OK 0x");
    for (uint64_t i = 0; i < len; i++) {
        g_string_append_printf(out, "%02x", data[i]);
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

static char *qtest_write(QTestServer *s, char **w, unsigned argc)
{
    g_autofree uint8_t *data = NULL;
    uint64_t addr, len;
    GError *err = NULL;
    size_t hex_len;
    char *bad;

    if (argc != 4 || !parse_u64(w[1], &addr) || !parse_u64(w[2], &len)) {
        return g_strdup("FAIL usage: write ADDR SIZE 0xDATA\n");
    }
    hex_len = strlen(w[3]);
    if (hex_len < 3 || strncmp(w[3], "0x", 2) != 0) {
        return g_strdup("FAIL invalid argument size\n");
    }
    if ((bad = check_len(len))) {
        return bad;
    }
    if (!guest_memory_view(s->ops.memory, addr, len, &err)) {
        return fail(err);
    }
    data = g_malloc0(len ? len : 1);
    for (uint64_t i = 0; i < len && i * 2 + 4 <= hex_len; i++) {
        int hi = hex_nibble(w[3][i * 2 + 2]);
        int lo = hex_nibble(w[3][i * 2 + 3]);

        if (hi < 0 || lo < 0) {
            return g_strdup("FAIL invalid hex data\n");
        }
        data[i] = hi << 4 | lo;
    }
    if (!guest_memory_write(s->ops.memory, addr, data, len, &err)) {
        return fail(err);
    }
    return g_strdup("OK\n");
}

static char *qtest_b64write(QTestServer *s, char **w, unsigned argc)
{
    g_autofree uint8_t *data = NULL;
    uint64_t addr, len;
    GError *err = NULL;
    gsize out_len;
    char *bad;

    if (argc != 4 || !parse_u64(w[1], &addr) || !parse_u64(w[2], &len)) {
        return g_strdup("FAIL usage: b64write ADDR SIZE B64DATA\n");
    }
    if (strlen(w[3]) < 3) {
        return g_strdup("FAIL invalid argument size\n");
    }
    if ((bad = check_len(len))) {
        return bad;
    }
    data = g_base64_decode(w[3], &out_len);
    /* Data shorter than SIZE is zero-filled; longer is truncated. */
    if (out_len < len) {
        data = g_realloc(data, len);
        memset(data + out_len, 0, len - out_len);
    }
    if (!guest_memory_write(s->ops.memory, addr, data, len, &err)) {
        return fail(err);
    }
    return g_strdup("OK\n");
}

static char *qtest_memset(QTestServer *s, char **w, unsigned argc)
{
    uint64_t addr, len, byte;
    GError *err = NULL;

    if (argc != 4 || !parse_u64(w[1], &addr) || !parse_u64(w[2], &len) ||
        !parse_u64(w[3], &byte)) {
        return g_strdup("FAIL usage: memset ADDR SIZE VALUE\n");
    }
    if (len &&
        !guest_memory_set(s->ops.memory, addr, (uint8_t)byte, len, &err)) {
        return fail(err);
    }
    return g_strdup("OK\n");
}

static char *qtest_clock(QTestServer *s, char **w, unsigned argc)
{
    int64_t ns;

    if (strcmp(w[0], "clock_step") == 0) {
        if (argc == 1) {
            /* tern has no timers, so there is never a next deadline. */
            return g_strdup("FAIL cannot advance clock to the next deadline "
                            "because there is no pending deadline\n");
        }
        if (argc != 2 || !parse_i64(w[1], &ns) || ns <= 0 ||
            ns > INT64_MAX - s->clock_ns) {
            return g_strdup("FAIL could not advance time\n");
        }
        s->clock_ns += ns;
        return g_strdup_printf("OK %" PRIi64 "\n", s->clock_ns);
    }
    if (argc != 2 || !parse_i64(w[1], &ns)) {
        return g_strdup("FAIL usage: clock_set NS\n");
    }
    if (ns > s->clock_ns) {
        s->clock_ns = ns;
    }
    return g_strdup_printf("%s %" PRIi64 "\n", s->clock_ns == ns ? "OK" : "FAIL",
                           s->clock_ns);
}

char *qtest_server_process_line(QTestServer *s, const char *line)
{
    g_auto(GStrv) w = g_strsplit(line, " ", 0);
    unsigned argc = g_strv_length(w);
    const char *cmd = argc ? w[0] : "";

    if (argc == 0 || !*cmd) {
        return g_strdup("FAIL Unknown command ''\n");
    }
    if (!strcmp(cmd, "outb") || !strcmp(cmd, "outw") || !strcmp(cmd, "outl") ||
        !strcmp(cmd, "inb") || !strcmp(cmd, "inw") || !strcmp(cmd, "inl")) {
        return qtest_pio(s, w, argc);
    }
    if (!strcmp(cmd, "readb") || !strcmp(cmd, "readw") ||
        !strcmp(cmd, "readl") || !strcmp(cmd, "readq") ||
        !strcmp(cmd, "writeb") || !strcmp(cmd, "writew") ||
        !strcmp(cmd, "writel") || !strcmp(cmd, "writeq")) {
        return qtest_rw(s, w, argc);
    }
    if (!strcmp(cmd, "read") || !strcmp(cmd, "b64read")) {
        return qtest_read(s, w, argc, cmd[0] == 'b');
    }
    if (!strcmp(cmd, "write")) {
        return qtest_write(s, w, argc);
    }
    if (!strcmp(cmd, "b64write")) {
        return qtest_b64write(s, w, argc);
    }
    if (!strcmp(cmd, "memset")) {
        return qtest_memset(s, w, argc);
    }
    if (!strcmp(cmd, "endianness")) {
        return g_strdup("OK little\n");
    }
    if (s->ops.has_clock &&
        (!strcmp(cmd, "clock_step") || !strcmp(cmd, "clock_set"))) {
        return qtest_clock(s, w, argc);
    }
    return g_strdup_printf("FAIL Unknown command '%s'\n", cmd);
}

void qtest_server_feed(QTestServer *s, const char *buf, size_t len,
                       GString *out)
{
    char *nl;

    g_string_append_len(s->inbuf, buf, len);
    while ((nl = memchr(s->inbuf->str, '\n', s->inbuf->len))) {
        size_t line_len = nl - s->inbuf->str;
        g_autofree char *line = g_strndup(s->inbuf->str, line_len);
        g_autofree char *reply = NULL;

        g_string_erase(s->inbuf, 0, line_len + 1);
        if (line_len && line[line_len - 1] == '\r') {
            line[line_len - 1] = '\0';
        }
        reply = qtest_server_process_line(s, line);
        g_string_append(out, reply);
    }
    if (s->inbuf->len > QTEST_MAX_LINE) {
        g_string_truncate(s->inbuf, 0);
        g_string_append(out, "FAIL request line too long\n");
    }
}

static void qtest_chr_read(void *opaque, const uint8_t *buf, size_t len)
{
    QTestServer *s = opaque;
    g_autoptr(GString) out = g_string_new(NULL);

    qtest_server_feed(s, (const char *)buf, len, out);
    if (out->len) {
        qemu_chr_write_all(s->chr, (const uint8_t *)out->str, out->len);
    }
}

static void qtest_chr_event(void *opaque, bool connected)
{
    QTestServer *s = opaque;

    if (!connected) {
        g_string_truncate(s->inbuf, 0);
    }
}

void qtest_server_attach(QTestServer *s, Chardev *chr)
{
    s->chr = chr;
    qemu_chr_set_handlers(chr, qtest_chr_read, qtest_chr_event, s);
}
