/*
 * TLS over several migration channels (migration/channel-tls.c, PSK as
 * the TLS tests use it), in GB/s of plaintext, for 1, 2 and 4 channels,
 * each a socketpair with a sending thread and a receiving thread:
 *
 *   encrypt  the receivers drain the ciphertext without decrypting it, so
 *            the figure is the send side alone: how a source's
 *            encryption scales with channels;
 *   both     the receivers decrypt, as a destination does: the whole pipe,
 *            which on a machine whose cores are shared by both sides is
 *            bounded by those cores, not by the channel count.
 *
 * Handshakes happen before the clock starts.  Each figure is the median
 * of five runs.
 *
 *   bench-tls-channels [MIB]     MIB of plaintext per run (default 1024)
 */
#include "crypto/object-set.h"
#include "migration/channel-tls.h"
#include "qapi/qapi-visit.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define RUNS        5
#define CHUNK       (256 << 10)
#define MAX_CHANNELS 4

typedef struct Gate {
    GMutex lock;
    GCond cond;
    int ready;                      /* threads past their handshake */
    bool open;
} Gate;

typedef struct Pipe {
    Channel *send, *recv;
    size_t bytes;                   /* plaintext this pipe carries */
    bool decrypt;
    Gate *gate;
    GError *err;
} Pipe;

static void gate_pass(Gate *g)
{
    g_mutex_lock(&g->lock);
    g->ready++;
    g_cond_broadcast(&g->cond);
    while (!g->open) {
        g_cond_wait(&g->cond, &g->lock);
    }
    g_mutex_unlock(&g->lock);
}

static void gate_open_when_ready(Gate *g, int threads)
{
    g_mutex_lock(&g->lock);
    while (g->ready < threads) {
        g_cond_wait(&g->cond, &g->lock);
    }
    g->open = true;
    g_cond_broadcast(&g->cond);
    g_mutex_unlock(&g->lock);
}

static gpointer sender(gpointer opaque)
{
    Pipe *p = opaque;
    g_autofree uint8_t *buf = g_malloc(CHUNK);
    GError *err = NULL;

    memset(buf, 0x5a, CHUNK);
    if (channel_tls_handshake(p->send, &err)) {
        gate_pass(p->gate);
        for (size_t sent = 0; sent < p->bytes && !err; sent += CHUNK) {
            struct iovec iov = { buf, MIN(CHUNK, p->bytes - sent) };

            channel_writev_all(p->send, &iov, 1, &err);
        }
    }
    if (err) {
        g_error("sender: %s", err->message);
    }
    channel_shutdown(p->send);
    shutdown(channel_fd(p->send), SHUT_WR);
    return NULL;
}

/* Read the raw ciphertext until the sender's end of stream. */
static void drain_raw(int fd)
{
    g_autofree uint8_t *buf = g_malloc(CHUNK);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);

        if (n == 0) {
            return;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            g_error("drain: %s", g_strerror(errno));
        }
        if (n < 0) {
            poll(&pfd, 1, -1);
        }
    }
}

static gpointer receiver(gpointer opaque)
{
    Pipe *p = opaque;
    g_autofree uint8_t *buf = g_malloc(CHUNK);
    GError *err = NULL;
    size_t got = 0;

    if (!channel_tls_handshake(p->recv, &err)) {
        g_error("receiver: %s", err->message);
    }
    gate_pass(p->gate);
    if (!p->decrypt) {
        drain_raw(channel_fd(p->recv));
        return NULL;
    }
    while (got < p->bytes) {
        ssize_t n = channel_read(p->recv, buf, CHUNK, &err);

        if (n <= 0) {
            g_error("receiver: %s", err ? err->message : "early end of stream");
        }
        got += n;
    }
    return NULL;
}

static Channel *tls_channel(ObjectSet *set, int fd, const char *creds_id)
{
    g_autoptr(TlsCreds) creds = object_set_tls_creds(set, creds_id, NULL);
    g_autoptr(GError) err = NULL;
    Channel *ch = channel_new_fd(fd, NULL, &err);
    TlsSession *s;

    if (!ch || !(s = tls_session_new(creds, channel_fd(ch), NULL, NULL, &err))) {
        g_error("%s", err->message);
    }
    channel_tls_attach(ch, s);
    return ch;
}

/* Seconds for @channels pipes to carry @total bytes between them. */
static double run_once(ObjectSet *set, int channels, size_t total, bool decrypt)
{
    Pipe pipes[MAX_CHANNELS] = { 0 };
    GThread *threads[2 * MAX_CHANNELS];
    Gate gate = { 0 };
    gint64 start;

    for (int i = 0; i < channels; i++) {
        int sv[2];

        g_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        pipes[i] = (Pipe){ .send = tls_channel(set, sv[0], "client"),
                           .recv = tls_channel(set, sv[1], "server"),
                           .bytes = total / channels, .decrypt = decrypt, .gate = &gate };
        threads[2 * i] = g_thread_new("send", sender, &pipes[i]);
        threads[2 * i + 1] = g_thread_new("recv", receiver, &pipes[i]);
    }
    gate_open_when_ready(&gate, 2 * channels);
    start = g_get_monotonic_time();
    for (int i = 0; i < 2 * channels; i++) {
        g_thread_join(threads[i]);
    }
    for (int i = 0; i < channels; i++) {
        channel_close(pipes[i].send, NULL);
        channel_close(pipes[i].recv, NULL);
    }
    return (g_get_monotonic_time() - start) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void add_creds(ObjectSet *set, const char *json)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(ObjectOptions) opts = NULL;
    g_autoptr(GError) err = NULL;

    if (!json_parser_load_from_data(p, json, -1, &err) ||
        !visit_ObjectOptions_from_json(json_parser_get_root(p), &opts, &err) ||
        !object_set_add(set, opts, &err)) {
        g_error("%s", err->message);
    }
}

static ObjectSet *psk_creds(const char *dir)
{
    g_autofree char *keys = g_build_filename(dir, "keys.psk", NULL);
    g_autofree char *client = NULL, *server = NULL;
    ObjectSet *set = object_set_new();

    g_assert(g_file_set_contents(keys, "qemu:009d5638c40fde0c\n", -1, NULL));
    client = g_strdup_printf("{\"qom-type\": \"tls-creds-psk\", \"id\": \"client\","
                             " \"dir\": \"%s\", \"endpoint\": \"client\"}", dir);
    server = g_strdup_printf("{\"qom-type\": \"tls-creds-psk\", \"id\": \"server\","
                             " \"dir\": \"%s\", \"endpoint\": \"server\"}", dir);
    add_creds(set, client);
    add_creds(set, server);
    return set;
}

int main(int argc, char **argv)
{
    size_t total = (argc > 1 ? strtoull(argv[1], NULL, 0) : 1024) << 20;
    g_autofree char *dir = g_dir_make_tmp("tern-bench-tls-XXXXXX", NULL);
    ObjectSet *set = psk_creds(dir);   /* the server reads keys.psk at each handshake */
    g_autofree char *keys = NULL;
    static const int counts[] = { 1, 2, 4 };

    printf("TLS (PSK) over socketpairs, %zu MiB per run, median of %d, %u CPUs\n",
           total >> 20, RUNS, g_get_num_processors());
    printf("%-9s %10s %10s %10s\n", "mode", "1 ch GB/s", "2 ch GB/s", "4 ch GB/s");
    for (int decrypt = 0; decrypt <= 1; decrypt++) {
        printf("%-9s", decrypt ? "both" : "encrypt");
        for (size_t c = 0; c < G_N_ELEMENTS(counts); c++) {
            double t[RUNS];

            for (int r = 0; r < RUNS; r++) {
                t[r] = run_once(set, counts[c], total, decrypt);
            }
            qsort(t, RUNS, sizeof(t[0]), cmp_double);
            printf(" %10.2f", total / t[RUNS / 2] / 1e9);
        }
        printf("\n");
    }
    object_set_free(set);
    keys = g_build_filename(dir, "keys.psk", NULL);
    g_unlink(keys);
    g_rmdir(dir);
    return 0;
}
