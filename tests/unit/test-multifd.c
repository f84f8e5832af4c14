/*
 * Multifd's wire structures (multifd-packet.c) and the destination's
 * receive side (multifd-recv.c) over a socketpair: a packet's pages land,
 * a SYNC parks the channel until the load's sync, and every bad header,
 * offset or block fails naming the channel and the packet.  The source's
 * send side against max-bandwidth: pages count when queued, and what
 * leaves in a window stays within its budget (on a clock the test drives).
 * The destination's populating thread makes memory resident past the
 * stream's front, and only there.
 */
#include "multifd.h"
#include "rate-window.h"
#include "transport.h"
#include "migration-fakes.h"
#include "qemu/error.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const uint8_t uuid_a[16] = { 1, 2, 3 };
static const uint8_t uuid_b[16] = { 9 };

static void test_init_round_trip(void)
{
    uint8_t buf[MULTIFD_INIT_SIZE];
    g_autoptr(GError) err = NULL;
    uint8_t id = 0;

    multifd_init_encode(buf, uuid_a, 3);
    g_assert_cmpmem(buf, 8, "\x11\x22\x33\x44\0\0\0\1", 8);
    g_assert_cmpint(buf[24], ==, 3);
    g_assert_true(multifd_init_decode(buf, uuid_a, 4, &id, &err));
    g_assert_cmpint(id, ==, 3);

    g_assert_false(multifd_init_decode(buf, uuid_a, 3, &id, &err));
    g_assert_cmpstr(err->message, ==,
                    "multifd: received channel id 3 is greater than number of channels 3");
    g_clear_error(&err);
    g_assert_false(multifd_init_decode(buf, uuid_b, 4, &id, &err));
    g_assert_nonnull(strstr(err->message, "multifd: received uuid '01020300-"));
    g_clear_error(&err);
    buf[7] = 2;
    g_assert_false(multifd_init_decode(buf, uuid_a, 4, &id, &err));
    g_assert_cmpstr(err->message, ==, "multifd: received packet version 2 expected 1");
}

static void fill_packet(MultiFDPacket *p)
{
    memset(p, 0, sizeof(*p));
    p->flags = MULTIFD_FLAG_SYNC;
    p->normal_pages = 2;
    p->zero_pages = 1;
    p->next_packet_size = 2 * TARGET_PAGE_SIZE;
    p->packet_num = 0x100000007ull;
    strcpy(p->ramblock, "pc.ram");
    p->offset[0] = 0x1000;
    p->offset[1] = 0x3000;
    p->offset[2] = 0x2000;
}

static void test_packet_round_trip(void)
{
    uint8_t buf[MULTIFD_PACKET_HDR_SIZE];
    MultiFDPacket in, out;
    g_autoptr(GError) err = NULL;

    fill_packet(&in);
    multifd_packet_encode(&in, buf);
    /* pages_alloc is always 128, the header 320 + 8 * 128 bytes. */
    g_assert_cmpint(buf[15], ==, 128);
    g_assert_cmpmem(buf + 64, 7, "pc.ram", 7);
    g_assert_true(multifd_packet_decode(buf, MULTIFD_FLAG_NOCOMP, &out, &err));
    g_assert_cmpuint(out.flags, ==, in.flags);
    g_assert_cmpuint(out.packet_num, ==, in.packet_num);
    g_assert_cmpuint(out.normal_pages, ==, 2);
    g_assert_cmpuint(out.zero_pages, ==, 1);
    g_assert_cmpstr(out.ramblock, ==, "pc.ram");
    g_assert_cmpuint(out.offset[2], ==, 0x2000);
}

/* Each corruption of a good header, and QEMU's message for it. */
static void test_packet_bad(void)
{
    static const struct {
        size_t pos;
        uint8_t value;
        const char *msg;
    } cases[] = {
        { 0, 0x12, "multifd: received packet magic 12223344 and expected magic 11223344" },
        { 7, 2, "multifd: received packet version 2 and expected version 1" },
        { 15, 129, "multifd: received packet with size 129 and expected a size of 128" },
        { 19, 129, "multifd: received packet with 129 normal pages and expected "
                   "maximum pages are 128" },
        { 35, 127, "multifd: received packet with 127 zero pages and expected "
                   "maximum zero pages are 126" },
        { 11, 1 | MULTIFD_FLAG_ZSTD, "multifd: flags received 5 flags expected 0" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint8_t buf[MULTIFD_PACKET_HDR_SIZE];
        MultiFDPacket p;
        g_autoptr(GError) err = NULL;

        fill_packet(&p);
        multifd_packet_encode(&p, buf);
        buf[cases[i].pos] = cases[i].value;
        g_assert_false(multifd_packet_decode(buf, MULTIFD_FLAG_NOCOMP, &p, &err));
        g_assert_cmpstr(err->message, ==, cases[i].msg);
    }
}

static void test_address_check(void)
{
    MigrationAddress tcp = {
        .transport = MIGRATION_ADDRESS_TYPE_SOCKET,
        .u.socket = { .type = SOCKET_ADDRESS_TYPE_INET },
    };
    MigrationAddress fd = {
        .transport = MIGRATION_ADDRESS_TYPE_SOCKET,
        .u.socket = { .type = SOCKET_ADDRESS_TYPE_FD },
    };
    MigrationAddress exec = { .transport = MIGRATION_ADDRESS_TYPE_EXEC };
    g_autoptr(GError) err = NULL;

    g_assert_true(multifd_address_check(&tcp, NULL));
    g_assert_false(multifd_address_check(&fd, NULL));
    g_assert_false(multifd_address_check(&exec, &err));
    g_assert_cmpstr(err->message, ==, "Migration requires multi-channel URIs (e.g. tcp)");
}

/* ---- compression ---- */

/*
 * Three packets through one stream each way (the stream is never reset,
 * as QEMU's): each decompresses on its own, in order, to what was sent.
 * Then a packet with a byte flipped fails.
 */
static void test_compress_round_trip(const void *opaque)
{
    MultiFDCompression method = GPOINTER_TO_INT(opaque);
    g_autoptr(GError) err = NULL;
    MultiFDCompressor *tx = multifd_compressor_new(method, true, 1, &err);
    MultiFDCompressor *rx = multifd_compressor_new(method, false, 0, &err);
    size_t cap = multifd_compress_bound(method);
    g_autofree uint8_t *src = g_malloc(MULTIFD_PACKET_SIZE);
    g_autofree uint8_t *dst = g_malloc(MULTIFD_PACKET_SIZE);
    g_autofree uint8_t *z = g_malloc(cap);
    struct iovec in[MULTIFD_PACKET_PAGES], out[MULTIFD_PACKET_PAGES];
    size_t len = 0;

    g_assert_no_error(err);
    for (unsigned i = 0; i < MULTIFD_PACKET_PAGES; i++) {
        in[i] = (struct iovec){ src + i * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE };
        out[i] = (struct iovec){ dst + i * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE };
    }
    for (unsigned round = 0; round < 3; round++) {
        unsigned n = round == 1 ? 1 : MULTIFD_PACKET_PAGES;

        for (size_t i = 0; i < MULTIFD_PACKET_SIZE; i++) {
            src[i] = (i * 7 + round) % 251 < 200 ? round : (uint8_t)(i >> 3);
        }
        memset(dst, 0xee, MULTIFD_PACKET_SIZE);
        g_assert_true(multifd_compress_pages(tx, in, n, z, cap, &len, &err));
        g_assert_cmpuint(len, <, n * TARGET_PAGE_SIZE);
        g_assert_true(multifd_decompress_pages(rx, z, len, out, n, &err));
        g_assert_no_error(err);
        g_assert_cmpmem(dst, n * TARGET_PAGE_SIZE, src, n * TARGET_PAGE_SIZE);
    }
    g_assert_true(multifd_compress_pages(tx, in, 4, z, cap, &len, &err));
    z[len / 2] ^= 0xff;
    z[len / 2 + 1] ^= 0x55;
    if (multifd_decompress_pages(rx, z, len, out, 4, &err)) {
        /* A flip the format cannot see must at least change the data. */
        g_assert_true(memcmp(dst, src, 4 * TARGET_PAGE_SIZE) != 0);
    } else {
        g_assert_true(strstr(err->message, "failed") || strstr(err->message, "left"));
    }
    multifd_compressor_free(tx);
    multifd_compressor_free(rx);
}

/* ---- the receive side ---- */

typedef struct RecvFixture {
    RAMBlock rb;
    GPtrArray *blocks;
    ChannelCancel *cancel;
    MultiFDRecv *mf;
    Channel *ch;                    /* the destination's end, run by @thread */
    int peer;                       /* the test's end: it plays the source */
    GThread *thread;
    GError *err;
    bool ok;
} RecvFixture;

static gpointer recv_thread(gpointer opaque)
{
    RecvFixture *f = opaque;

    f->ok = multifd_recv_channel_run(f->mf, f->ch, &f->err);
    return NULL;
}

/* @data: the channel count (multifd-channels). */
static void recv_setup(RecvFixture *f, gconstpointer data)
{
    MultiFDRecvConfig cfg = { .channels = GPOINTER_TO_UINT(data) };
    int sv[2];

    f->rb.idstr = (char *)"pc.ram";
    f->rb.used_length = 16 * TARGET_PAGE_SIZE;
    f->rb.host = g_malloc0(f->rb.used_length);
    f->blocks = g_ptr_array_new();
    g_ptr_array_add(f->blocks, &f->rb);
    f->cancel = channel_cancel_new(NULL);
    memcpy(cfg.uuid, uuid_a, 16);
    f->mf = multifd_recv_new(&cfg, f->blocks, f->cancel);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    f->peer = sv[1];
    f->ch = channel_new_fd(sv[0], f->cancel, NULL);
    g_assert_nonnull(f->ch);
    f->thread = g_thread_new("test-recv", recv_thread, f);
}

/* The channel thread's end (it closed the channel). */
static void recv_join(RecvFixture *f)
{
    g_thread_join(f->thread);
    f->thread = NULL;
}

static void recv_teardown(RecvFixture *f, gconstpointer data)
{
    multifd_recv_shutdown(f->mf);
    channel_cancel_trigger(f->cancel);
    if (f->thread) {
        recv_join(f);
    }
    close(f->peer);
    multifd_recv_free(f->mf);
    channel_cancel_unref(f->cancel);
    g_ptr_array_free(f->blocks, TRUE);
    g_free(f->rb.host);
    g_clear_error(&f->err);
}

/*
 * Write @buf, or find the receiver gone: a channel that failed on what came
 * before closes its end, and the rest of the packet meets EPIPE.
 */
static void send_all(int fd, const void *buf, size_t len)
{
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

    if (n < 0) {
        g_assert_true(errno == EPIPE || errno == ECONNRESET);
        return;
    }
    g_assert_cmpint(n, ==, (ssize_t)len);
}

static void send_init(RecvFixture *f, uint8_t id)
{
    uint8_t init[MULTIFD_INIT_SIZE];

    multifd_init_encode(init, uuid_a, id);
    send_all(f->peer, init, sizeof(init));
}

static void send_packet(RecvFixture *f, const MultiFDPacket *p, const void *pages)
{
    uint8_t hdr[MULTIFD_PACKET_HDR_SIZE];

    multifd_packet_encode(p, hdr);
    send_all(f->peer, hdr, sizeof(hdr));
    if (pages) {
        send_all(f->peer, pages, p->normal_pages * TARGET_PAGE_SIZE);
    }
}

/*
 * One channel: two normal pages and a zero page with SYNC.  The load's
 * sync returns once the channel parked at it, with the pages in place;
 * the channel then ends cleanly when the source closes it, and a sync
 * after that fails naming it.
 */
static void test_recv_pages_and_sync(RecvFixture *f, gconstpointer data)
{
    g_autofree uint8_t *pages = g_malloc(2 * TARGET_PAGE_SIZE);
    g_autoptr(GError) err = NULL;
    MultiFDPacket p;

    memset(pages, 0xaa, TARGET_PAGE_SIZE);
    memset(pages + TARGET_PAGE_SIZE, 0xbb, TARGET_PAGE_SIZE);
    f->rb.host[0x2000] = 1;             /* the zero page must be cleared */
    send_init(f, 0);
    fill_packet(&p);
    send_packet(f, &p, pages);
    g_assert_true(multifd_recv_sync(f->mf, &err));
    g_assert_no_error(err);
    g_assert_cmpint(f->rb.host[0x1000], ==, 0xaa);
    g_assert_cmpint(f->rb.host[0x3000], ==, 0xbb);
    g_assert_cmpint(f->rb.host[0x2000], ==, 0);

    close(f->peer);
    f->peer = -1;
    recv_join(f);
    g_assert_true(f->ok);
    g_assert_false(multifd_recv_sync(f->mf, &err));
    g_assert_cmpstr(err->message, ==,
                    "multifd channel 0: the source closed it before the round's sync");
}

/* A packet whose offset lies past the block fails, naming channel and packet. */
static void test_recv_bad_offset(RecvFixture *f, gconstpointer data)
{
    g_autofree uint8_t *pages = g_malloc0(2 * TARGET_PAGE_SIZE);
    g_autoptr(GError) err = NULL;
    MultiFDPacket p;

    send_init(f, 1);
    fill_packet(&p);
    p.offset[1] = 16 * TARGET_PAGE_SIZE;
    send_packet(f, &p, pages);
    recv_join(f);
    g_assert_false(f->ok);
    g_assert_cmpstr(f->err->message, ==,
                    "multifd channel 1: packet 4294967303 (number 0 in the channel): "
                    "multifd: offset 0x10000 is out of RAM block \"pc.ram\" "
                    "(length 0x10000)");
    /* Recorded for the load, whose sync fails with it. */
    g_assert_false(multifd_recv_sync(f->mf, &err));
    g_assert_cmpstr(err->message, ==, f->err->message);
    g_assert_true(channel_cancel_is_triggered(f->cancel));
}

static void test_recv_unknown_block(RecvFixture *f, gconstpointer data)
{
    MultiFDPacket p;

    send_init(f, 0);
    fill_packet(&p);
    strcpy(p.ramblock, "nope");
    send_packet(f, &p, NULL);
    recv_join(f);
    g_assert_false(f->ok);
    g_assert_nonnull(strstr(f->err->message, "multifd: unknown ram block nope"));
}

/* A packet cut short inside its pages. */
static void test_recv_truncated(RecvFixture *f, gconstpointer data)
{
    MultiFDPacket p;

    send_init(f, 0);
    fill_packet(&p);
    send_packet(f, &p, NULL);
    send_all(f->peer, "x", 1);
    close(f->peer);
    f->peer = -1;
    recv_join(f);
    g_assert_false(f->ok);
    g_assert_nonnull(strstr(f->err->message, "multifd channel 0: packet 4294967303"));
    g_assert_nonnull(strstr(f->err->message, "ended"));
}

static void test_recv_wrong_uuid(RecvFixture *f, gconstpointer data)
{
    uint8_t init[MULTIFD_INIT_SIZE];

    multifd_init_encode(init, uuid_b, 0);
    send_all(f->peer, init, sizeof(init));
    recv_join(f);
    g_assert_false(f->ok);
    g_assert_nonnull(strstr(f->err->message, "multifd channel: multifd: received uuid"));
}

/* ---- the send side under max-bandwidth ---- */

#define SEND_CHANNELS   2
#define SEND_PAGES      2048        /* 8 MiB: more than the windows below take */

typedef struct SendFixture {
    char *dir;
    int lfd;
    RAMBlock rb;
    MigrationAtomicStats stats;
    MigrationChannelStats channel_stats[SEND_CHANNELS];
    ChannelCancel *cancel;
    MultiFDSend *mf;
    GThread *drain[SEND_CHANNELS];
} SendFixture;

/* A destination that reads everything a channel carries until it closes. */
static gpointer drain_thread(gpointer opaque)
{
    int fd = GPOINTER_TO_INT(opaque);
    static __thread uint8_t buf[65536];

    while (read(fd, buf, sizeof(buf)) > 0) {
        continue;
    }
    close(fd);
    return NULL;
}

static void send_setup(SendFixture *f, gconstpointer data)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autofree char *uri = NULL;
    g_autoptr(MigrationAddress) addr = NULL;
    MultiFDSendConfig cfg = {
        .channels = SEND_CHANNELS,
        .zero_page_detection = ZERO_PAGE_DETECTION_MULTIFD,
        .compression = MULTIFD_COMPRESSION_NONE,
        .channel_stats = f->channel_stats,
    };
    GError *err = NULL;

    f->dir = g_dir_make_tmp("test-multifd-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    g_snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", f->dir);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(f->lfd, SEND_CHANNELS), ==, 0);

    /* Three pages of four hold data, the fourth zeros (found by the send threads). */
    f->rb.idstr = (char *)"pc.ram";
    f->rb.used_length = (uint64_t)SEND_PAGES * TARGET_PAGE_SIZE;
    f->rb.host = g_malloc0(f->rb.used_length);
    for (unsigned i = 0; i < SEND_PAGES; i++) {
        if (i % 4 != 3) {
            memset(f->rb.host + (uint64_t)i * TARGET_PAGE_SIZE, 0x40 + i % 64, TARGET_PAGE_SIZE);
        }
    }

    f->cancel = channel_cancel_new(NULL);
    uri = g_strdup_printf("unix:%s", sa.sun_path);
    addr = migration_uri_parse(uri, &err);
    g_assert_no_error(err);
    /* The channels connect (queued in the backlog) and write their MultiFDInit. */
    f->mf = multifd_send_new(addr, f->cancel, &cfg, &f->stats, &err);
    g_assert_no_error(err);
    for (unsigned i = 0; i < SEND_CHANNELS; i++) {
        int fd = accept(f->lfd, NULL, NULL);

        g_assert_cmpint(fd, >=, 0);
        f->drain[i] = g_thread_new("test-drain", drain_thread, GINT_TO_POINTER(fd));
    }
}

static void send_teardown(SendFixture *f, gconstpointer data)
{
    g_autofree char *path = g_strdup_printf("%s/sock", f->dir);

    multifd_send_free(f->mf);           /* closes the channels: the drains end */
    for (unsigned i = 0; i < SEND_CHANNELS; i++) {
        g_thread_join(f->drain[i]);
    }
    close(f->lfd);
    unlink(path);
    rmdir(f->dir);
    g_free(f->dir);
    channel_cancel_unref(f->cancel);
    g_free(f->rb.host);
}

/*
 * A page counts when it is queued, before any of it left: its packet's
 * header and the page.  Once sent, the count settles to the bytes the
 * packets took (a zero page carries no data).
 */
static void test_send_charge_when_queued(SendFixture *f, gconstpointer data)
{
    const MigrationStat *committed = multifd_send_committed(f->mf);
    uint64_t sent;

    g_assert_cmpuint(migration_stat_get(committed), ==, 0);
    g_assert_true(multifd_send_queue_page(f->mf, &f->rb, 0, false, NULL));
    g_assert_cmpuint(migration_stat_get(committed), ==,
                     MULTIFD_PACKET_HDR_SIZE + TARGET_PAGE_SIZE);
    g_assert_cmpuint(migration_stat_get(&f->stats.multifd_bytes), ==, 0);
    /* Page 3 holds zeros: charged in full until its packet is built. */
    g_assert_true(multifd_send_queue_page(f->mf, &f->rb, 3 * TARGET_PAGE_SIZE, false, NULL));
    g_assert_true(multifd_send_queue_page(f->mf, &f->rb, 7 * TARGET_PAGE_SIZE, true, NULL));
    g_assert_cmpuint(migration_stat_get(committed), ==,
                     MULTIFD_PACKET_HDR_SIZE + 2 * TARGET_PAGE_SIZE);

    g_assert_true(multifd_send_sync(f->mf, NULL));
    sent = migration_stat_get(&f->stats.multifd_bytes);
    /* One packet with one page of data, and a SYNC packet per channel. */
    g_assert_cmpuint(sent, ==, (1 + SEND_CHANNELS) * MULTIFD_PACKET_HDR_SIZE + TARGET_PAGE_SIZE);
    g_assert_cmpuint(migration_stat_get(committed), ==, sent);
    g_assert_cmpuint(migration_stat_get(&f->stats.zero_pages), ==, 2);
}

/*
 * Three windows at max-bandwidth 10 MB/s (1 MB each), the clock driven by
 * the test: in each, pages are queued as the migration thread does, until
 * the window says its budget is spent; then the round is sent out (a
 * sync).  What left in the window (multifd-bytes, without the SYNC
 * packets) is within the budget plus the one page that crossed it, with
 * its header; and not far below it.
 */
static void test_send_window_budget(SendFixture *f, gconstpointer data)
{
    const uint64_t max_bandwidth = 10 * 1000 * 1000;
    const uint64_t budget = rate_window_budget(max_bandwidth);
    FakeClock clock;
    FakeChannel main_ch = { 0 };
    QEMUFile *main_f = fake_channel_file(&main_ch);
    RateWindow w;
    uint64_t page = 0;

    fake_clock_init(&clock, G_USEC_PER_SEC);
    rate_window_init(&w, &clock.clock, main_f);
    rate_window_add_counter(&w, &f->stats.multifd_bytes);
    rate_window_add_committed(&w, multifd_send_committed(f->mf));
    for (int window = 0; window < 3; window++) {
        uint64_t before = migration_stat_get(&f->stats.multifd_bytes);
        uint64_t left;

        while (!rate_window_spent(&w, max_bandwidth)) {
            g_assert_cmpuint(page, <, SEND_PAGES);
            g_assert_true(multifd_send_queue_page(f->mf, &f->rb, page++ * TARGET_PAGE_SIZE,
                                                  false, NULL));
        }
        g_assert_true(multifd_send_sync(f->mf, NULL));
        left = migration_stat_get(&f->stats.multifd_bytes) - before -
               SEND_CHANNELS * MULTIFD_PACKET_HDR_SIZE;
        g_test_message("window %d: %" G_GUINT64_FORMAT " bytes left, budget %"
                       G_GUINT64_FORMAT, window, left, budget);
        g_assert_cmpuint(left, <, budget + MULTIFD_PACKET_HDR_SIZE + TARGET_PAGE_SIZE);
        g_assert_cmpuint(left, >, budget / 2);

        fake_clock_advance_ms(&clock, RATE_WINDOW_MS);
        rate_window_close(&w, max_bandwidth, true);
    }
    g_assert_true(qemu_fclose(main_f, NULL));
}

/* ---- populating ahead of the stream (multifd-populate.c) ---- */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define CHUNK (2u << 20)

/* Pages of [@off, @off + @len) of @host that are resident. */
static size_t resident_pages(uint8_t *host, size_t off, size_t len)
{
    g_autofree unsigned char *vec = g_malloc(len / 4096);
    size_t n = 0;

    g_assert_cmpint(mincore(host + off, len, vec), ==, 0);
    for (size_t i = 0; i < len / 4096; i++) {
        n += vec[i] & 1;
    }
    return n;
}

/*
 * A hint that pages landed in the first chunk makes the next chunks (to
 * the block's end, 3 of them) resident, and not the first one (the
 * receive threads'); a hint behind the front adds nothing.  Waits for the
 * thread (an event, not a duration), so it fails only by not populating.
 */
static void test_populate_ahead(void)
{
    RAMBlock rb = { .idstr = (char *)"pc.ram", .used_length = 4 * CHUNK };
    MultiFDPopulate *p;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    rb.host = mmap(NULL, rb.used_length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert_true(rb.host != MAP_FAILED);
    /* Page counts, not huge pages: with THP "always" one write fills 2 MiB. */
    madvise(rb.host, rb.used_length, MADV_NOHUGEPAGE);
    if (madvise(rb.host + CHUNK - 4096, 4096, MADV_POPULATE_WRITE) != 0) {
        g_test_skip("no MADV_POPULATE_WRITE (Linux 5.14)");
        munmap(rb.host, rb.used_length);
        return;
    }
    /* That page stands for what the receive thread wrote. */
    p = multifd_populate_new();
    multifd_populate_hint(p, &rb, CHUNK - 4096);
    multifd_populate_hint(p, &rb, 4096);
    while (resident_pages(rb.host, CHUNK, 3 * CHUNK) < 3 * CHUNK / 4096 &&
           g_get_monotonic_time() < deadline) {
        g_usleep(10 * 1000);
    }
    multifd_populate_free(p);
    g_assert_cmpuint(resident_pages(rb.host, CHUNK, 3 * CHUNK), ==, 3 * CHUNK / 4096);
    g_assert_cmpuint(resident_pages(rb.host, 0, CHUNK), ==, 1);
    munmap(rb.host, rb.used_length);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/multifd/init/round-trip", test_init_round_trip);
    g_test_add_func("/multifd/packet/round-trip", test_packet_round_trip);
    g_test_add_func("/multifd/packet/bad", test_packet_bad);
    g_test_add_func("/multifd/address-check", test_address_check);
    g_test_add_data_func("/multifd/compress/zlib", GINT_TO_POINTER(MULTIFD_COMPRESSION_ZLIB),
                         test_compress_round_trip);
    g_test_add_data_func("/multifd/compress/zstd", GINT_TO_POINTER(MULTIFD_COMPRESSION_ZSTD),
                         test_compress_round_trip);
    g_test_add("/multifd/recv/pages-and-sync", RecvFixture, GUINT_TO_POINTER(1),
               recv_setup, test_recv_pages_and_sync, recv_teardown);
    g_test_add("/multifd/recv/bad-offset", RecvFixture, GUINT_TO_POINTER(2),
               recv_setup, test_recv_bad_offset, recv_teardown);
    g_test_add("/multifd/recv/unknown-block", RecvFixture, GUINT_TO_POINTER(2),
               recv_setup, test_recv_unknown_block, recv_teardown);
    g_test_add("/multifd/recv/truncated", RecvFixture, GUINT_TO_POINTER(2),
               recv_setup, test_recv_truncated, recv_teardown);
    g_test_add("/multifd/recv/wrong-uuid", RecvFixture, GUINT_TO_POINTER(2),
               recv_setup, test_recv_wrong_uuid, recv_teardown);
    g_test_add("/multifd/send/charge-when-queued", SendFixture, NULL,
               send_setup, test_send_charge_when_queued, send_teardown);
    g_test_add("/multifd/send/window-budget", SendFixture, NULL,
               send_setup, test_send_window_budget, send_teardown);
    g_test_add_func("/multifd/populate/ahead", test_populate_ahead);
    return g_test_run();
}
