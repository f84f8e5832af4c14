/*
 * TLS inside the channel layer (migration/channel-tls.c): two channels over
 * a socketpair shake hands in two threads and carry bytes both ways
 * encrypted; a failed peer check fails the handshake; a cancel ends a
 * handshake blocked on a silent peer.
 */
#include "crypto/object-set.h"
#include "migration/channel-tls.h"
#include "qapi/qapi-visit.h"
#include "tls-test-certs.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAYLOAD (3 << 20)       /* several hundred TLS records */

typedef struct Fixture {
    char *dir;
    ObjectSet *set;
} Fixture;

static void rm_rf(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        rm_rf(child);
    }
    g_remove(path);
}

static void add(Fixture *f, const char *fmt)
{
    g_autofree char *json = g_strdup_printf(fmt, f->dir);
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(ObjectOptions) opts = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
    g_assert_true(visit_ObjectOptions_from_json(json_parser_get_root(p), &opts, &err));
    g_assert_true(object_set_add(f->set, opts, &err));
    g_assert_no_error(err);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("tern-chtls-XXXXXX", NULL);
    f->set = object_set_new();
    tls_test_psk_write(f->dir, "qemu", "009d5638c40fde0c");
    tls_test_x509_dir(f->dir, "127.0.0.1", "qemu.org", NULL);
    add(f, "{'qom-type': 'tls-creds-psk', 'id': 'pc', 'dir': '%s'}");
    add(f, "{'qom-type': 'tls-creds-psk', 'id': 'ps', 'dir': '%s', 'endpoint': 'server'}");
    add(f, "{'qom-type': 'tls-creds-x509', 'id': 'xc', 'dir': '%s'}");
    add(f, "{'qom-type': 'tls-creds-x509', 'id': 'xs', 'dir': '%s', 'endpoint': 'server',"
        " 'verify-peer': false}");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    object_set_free(f->set);
    rm_rf(f->dir);
    g_free(f->dir);
}

/* A channel on @fd carrying a session with the credentials @id. */
static Channel *tls_channel(Fixture *f, int fd, ChannelCancel *cancel, const char *id,
                            const char *hostname)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCreds) creds = object_set_tls_creds(f->set, id, &err);
    Channel *ch = channel_new_fd(fd, cancel, &err);
    TlsSession *s;

    g_assert_no_error(err);
    s = tls_session_new(creds, channel_fd(ch), hostname, NULL, &err);
    g_assert_no_error(err);
    channel_tls_attach(ch, s);
    return ch;
}

typedef struct Peer {
    Channel *ch;
    bool handshake_ok;
    GError *err;
    uint8_t *data;          /* what to send, or where to receive */
} Peer;

static gpointer server_thread(gpointer opaque)
{
    Peer *p = opaque;
    size_t got = 0;

    /* The handshake runs at the first read. */
    while (got < PAYLOAD) {
        ssize_t n = channel_read(p->ch, p->data + got, PAYLOAD - got, &p->err);

        if (n <= 0) {
            break;
        }
        got += n;
    }
    if (got == PAYLOAD) {
        struct iovec iov = { .iov_base = (void *)"done", .iov_len = 4 };

        p->handshake_ok = channel_writev_all(p->ch, &iov, 1, &p->err);
    }
    return NULL;
}

static void test_psk_roundtrip(Fixture *f, gconstpointer data)
{
    g_autofree uint8_t *out = g_malloc(PAYLOAD);
    g_autofree uint8_t *in = g_malloc0(PAYLOAD);
    g_autoptr(GError) err = NULL;
    Peer server = { .data = in };
    struct iovec iov[2];
    char reply[4];
    GThread *th;
    int sv[2];

    for (size_t i = 0; i < PAYLOAD; i++) {
        out[i] = i * 7 + (i >> 12);
    }
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    server.ch = tls_channel(f, sv[1], NULL, "ps", NULL);
    Channel *client = tls_channel(f, sv[0], NULL, "pc", NULL);

    th = g_thread_new("server", server_thread, &server);
    g_assert_true(channel_tls_handshake(client, &err));
    g_assert_no_error(err);
    iov[0] = (struct iovec){ out, 100 };
    iov[1] = (struct iovec){ out + 100, PAYLOAD - 100 };
    g_assert_true(channel_writev_all(client, iov, 2, &err));
    g_assert_no_error(err);
    g_assert_cmpint(channel_read(client, reply, 4, &err), ==, 4);
    g_thread_join(th);
    g_assert_no_error(server.err);
    g_assert_true(server.handshake_ok);
    g_assert_cmpmem(reply, 4, "done", 4);
    g_assert_cmpmem(in, PAYLOAD, out, PAYLOAD);
    g_assert_true(channel_close(client, NULL));
    g_assert_true(channel_close(server.ch, NULL));
}

/* The client checks the server's certificate against the name it wants. */
/* ---- first use from two threads at once ---- */

#define TWO_WAY_LEN (256 << 10)

typedef struct OneWay {
    Channel *ch;
    uint8_t *buf;
    bool ok;
    GError *err;
} OneWay;

static gpointer read_all_thread(gpointer opaque)
{
    OneWay *w = opaque;
    size_t got = 0;

    while (got < TWO_WAY_LEN) {
        ssize_t n = channel_read(w->ch, w->buf + got, TWO_WAY_LEN - got, &w->err);

        if (n <= 0) {
            return NULL;
        }
        got += n;
    }
    w->ok = true;
    return NULL;
}

static gpointer write_all_thread(gpointer opaque)
{
    OneWay *w = opaque;
    struct iovec iov = { .iov_base = w->buf, .iov_len = TWO_WAY_LEN };

    w->ok = channel_writev_all(w->ch, &iov, 1, &w->err);
    return NULL;
}

static void check_one_way(GThread *th, OneWay *w)
{
    g_thread_join(th);
    g_assert_no_error(w->err);
    g_assert_true(w->ok);
}

/*
 * A server session's reader and writer threads both start before any
 * handshake (a destination's load thread, and its return path sending page
 * requests): one shakes hands while the other waits, and both directions
 * carry their bytes.  Repeated, since the threads race to be first.
 */
static void test_psk_first_use_two_threads(Fixture *f, gconstpointer data)
{
    g_autofree uint8_t *up = g_malloc(TWO_WAY_LEN), *up_got = g_malloc(TWO_WAY_LEN);
    g_autofree uint8_t *down = g_malloc(TWO_WAY_LEN), *down_got = g_malloc(TWO_WAY_LEN);

    for (size_t i = 0; i < TWO_WAY_LEN; i++) {
        up[i] = i * 13 + 1;
        down[i] = i * 7 + 3;
    }
    for (int round = 0; round < 20; round++) {
        int sv[2];
        Channel *server, *client;
        OneWay s_read, s_write, c_read, c_write;
        GThread *threads[4];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        server = tls_channel(f, sv[1], NULL, "ps", NULL);
        client = tls_channel(f, sv[0], NULL, "pc", NULL);
        memset(up_got, 0, TWO_WAY_LEN);
        memset(down_got, 0, TWO_WAY_LEN);
        s_read = (OneWay) { .ch = server, .buf = up_got };
        s_write = (OneWay) { .ch = server, .buf = down };
        c_read = (OneWay) { .ch = client, .buf = down_got };
        c_write = (OneWay) { .ch = client, .buf = up };
        threads[0] = g_thread_new("s-read", read_all_thread, &s_read);
        threads[1] = g_thread_new("s-write", write_all_thread, &s_write);
        threads[2] = g_thread_new("c-read", read_all_thread, &c_read);
        threads[3] = g_thread_new("c-write", write_all_thread, &c_write);
        check_one_way(threads[0], &s_read);
        check_one_way(threads[1], &s_write);
        check_one_way(threads[2], &c_read);
        check_one_way(threads[3], &c_write);
        g_assert_cmpmem(up_got, TWO_WAY_LEN, up, TWO_WAY_LEN);
        g_assert_cmpmem(down_got, TWO_WAY_LEN, down, TWO_WAY_LEN);
        g_assert_true(channel_close(client, NULL));
        g_assert_true(channel_close(server, NULL));
    }
}

static void test_x509_hostname(Fixture *f, gconstpointer data)
{
    const char *name = data;
    bool want_ok = g_str_equal(name, "qemu.org") || g_str_equal(name, "127.0.0.1");
    g_autoptr(GError) err = NULL;
    uint8_t buf[1];
    Peer server = { .data = buf };
    GThread *th;
    int sv[2];
    bool ok;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    server.ch = tls_channel(f, sv[1], NULL, "xs", NULL);
    Channel *client = tls_channel(f, sv[0], NULL, "xc", name);

    th = g_thread_new("server", server_thread, &server);
    ok = channel_tls_handshake(client, &err);
    /* Either way the server's read ends: we close. */
    g_assert_true(channel_close(client, NULL));
    g_thread_join(th);
    g_clear_error(&server.err);
    g_assert_true(channel_close(server.ch, NULL));
    if (want_ok) {
        g_assert_no_error(err);
        g_assert_true(ok);
    } else {
        g_assert_false(ok);
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==,
                        "Certificate does not match the hostname example.com");
    }
}

typedef struct Handshake {
    Channel *ch;
    bool ok;
    GError *err;
} Handshake;

static gpointer handshake_thread(gpointer opaque)
{
    Handshake *h = opaque;

    h->ok = channel_tls_handshake(h->ch, &h->err);
    return NULL;
}

/* A handshake waiting for a peer that never speaks ends on cancel. */
static void test_cancel_handshake(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    ChannelCancel *cancel = channel_cancel_new(&err);
    Handshake h = { 0 };
    GThread *th;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    h.ch = tls_channel(f, sv[0], cancel, "pc", NULL);
    th = g_thread_new("client", handshake_thread, &h);
    /* Not a timing oracle: whether the cancel lands before or during the
     * wait, the handshake must end cancelled. */
    channel_cancel_trigger(cancel);
    g_thread_join(th);
    g_assert_false(h.ok);
    g_assert_true(g_error_matches(h.err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                  strstr(h.err->message, "cancelled"));
    g_clear_error(&h.err);
    g_assert_true(channel_close(h.ch, NULL));
    close(sv[1]);
    channel_cancel_unref(cancel);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/channel/tls/psk/roundtrip", Fixture, NULL, fixture_setup,
               test_psk_roundtrip, fixture_teardown);
    g_test_add("/channel/tls/x509/hostname/dns", Fixture, "qemu.org", fixture_setup,
               test_x509_hostname, fixture_teardown);
    g_test_add("/channel/tls/x509/hostname/ip", Fixture, "127.0.0.1", fixture_setup,
               test_x509_hostname, fixture_teardown);
    g_test_add("/channel/tls/x509/hostname/mismatch", Fixture, "example.com",
               fixture_setup, test_x509_hostname, fixture_teardown);
    g_test_add("/channel/tls/psk/first-use-two-threads", Fixture, NULL, fixture_setup,
               test_psk_first_use_two_threads, fixture_teardown);
    g_test_add("/channel/tls/cancel-handshake", Fixture, NULL, fixture_setup,
               test_cancel_handshake, fixture_teardown);
    return g_test_run();
}
