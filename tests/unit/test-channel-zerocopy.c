/*
 * Unit tests for writes without a copy (migration/channel-zerocopy.c):
 * pages by reference over a unix socket arrive intact and really went by
 * reference; other fds copy; MSG_ZEROCOPY is refused where QEMU refuses
 * it and, over tcp, every send is reported complete by the error queue.
 */
#include "migration/channel.h"
#include "migration/channel-zerocopy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAGE 4096
/* More pages than one vmsplice (IOV_MAX) or one socket buffer takes. */
#define NPAGES 2048

typedef struct ReadJob {
    Channel *ch;
    uint8_t *buf;
    size_t len;
    GError *err;
    int ret;
} ReadJob;

static gpointer read_job(gpointer opaque)
{
    ReadJob *job = opaque;
    struct iovec iov = { job->buf, job->len };

    job->ret = channel_readv_all(job->ch, &iov, 1, &job->err);
    return NULL;
}

static Channel *channel_on(int fd)
{
    g_autoptr(GError) err = NULL;
    Channel *ch = channel_new_fd(fd, NULL, &err);

    g_assert_no_error(err);
    return ch;
}

/* A connected tcp pair over loopback: [0] connects, [1] was accepted. */
static void tcp_pair(int fds[2])
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(l, >=, 0);
    g_assert_cmpint(bind(l, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(listen(l, 1), ==, 0);
    g_assert_cmpint(getsockname(l, (struct sockaddr *)&a, &len), ==, 0);
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(connect(fds[0], (struct sockaddr *)&a, sizeof(a)), ==, 0);
    fds[1] = accept(l, NULL, NULL);
    g_assert_cmpint(fds[1], >=, 0);
    close(l);
}

/* NPAGES pages of a pattern, and one iovec per page (as multifd sends them). */
static uint8_t *pages_new(struct iovec *iov)
{
    uint8_t *p = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    for (size_t i = 0; i < NPAGES * PAGE; i++) {
        p[i] = i * 7 + (i >> 12);
    }
    for (int i = 0; i < NPAGES; i++) {
        iov[i] = (struct iovec){ p + i * PAGE, PAGE };
    }
    return p;
}

/*
 * Send the pages over fds[0] by reference, or with MSG_ZEROCOPY and a
 * flush (its verdict in *@flushed), while a thread reads them from
 * fds[1]: the reader gets every byte.
 */
static void roundtrip(int fds[2], bool zero_copy, ChannelZeroCopyStats *stats, int *flushed)
{
    g_autoptr(GError) err = NULL;
    struct iovec iov[NPAGES];
    uint8_t *src = pages_new(iov);
    Channel *w = channel_on(fds[0]);
    ReadJob r = { .ch = channel_on(fds[1]), .len = NPAGES * PAGE };
    GThread *t;
    bool ok;

    r.buf = g_malloc0(r.len);
    if (zero_copy && !channel_zero_copy_enable(w, &err)) {
        g_test_skip(err->message);
        goto out;
    }
    t = g_thread_new("reader", read_job, &r);
    ok = zero_copy ? channel_writev_zero_copy(w, iov, NPAGES, &err)
                   : channel_writev_by_ref(w, iov, NPAGES, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    if (zero_copy) {
        *flushed = channel_zero_copy_flush(w, &err);
        g_assert_no_error(err);
    }
    g_thread_join(t);
    g_assert_no_error(r.err);
    g_assert_cmpint(r.ret, ==, 1);
    g_assert_cmpmem(src, NPAGES * PAGE, r.buf, r.len);
out:
    channel_zero_copy_stats(w, stats);
    g_assert_true(channel_close(w, NULL));
    g_assert_true(channel_close(r.ch, NULL));
    g_free(r.buf);
    munmap(src, NPAGES * PAGE);
}

/* Over a unix socket every page goes by reference. */
static void test_by_ref_unix(void)
{
    ChannelZeroCopyStats st;
    int fds[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    roundtrip(fds, false, &st, NULL);
    g_assert_cmpuint(st.spliced_bytes, ==, NPAGES * PAGE);
    g_assert_cmpuint(st.copied_bytes, ==, 0);
}

/* A pipe and a tcp socket copy (tcp: splicing costs the reader more). */
static void test_by_ref_copies(void)
{
    ChannelZeroCopyStats st;
    int fds[2];

    g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
    {
        int swapped[2] = { fds[1], fds[0] };   /* write end first */

        roundtrip(swapped, false, &st, NULL);
    }
    g_assert_cmpuint(st.spliced_bytes, ==, 0);
    g_assert_cmpuint(st.copied_bytes, ==, NPAGES * PAGE);

    tcp_pair(fds);
    roundtrip(fds, false, &st, NULL);
    g_assert_cmpuint(st.spliced_bytes, ==, 0);
    g_assert_cmpuint(st.copied_bytes, ==, NPAGES * PAGE);
}

/* A cancelled channel writes nothing by reference either. */
static void test_by_ref_cancelled(void)
{
    g_autoptr(GError) err = NULL;
    struct iovec iov[NPAGES];
    uint8_t *src = pages_new(iov);
    int fds[2];
    Channel *w;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    w = channel_on(fds[0]);
    channel_shutdown(w);
    g_assert_false(channel_writev_by_ref(w, iov, NPAGES, &err));
    g_assert_cmpstr(err->message, ==, "migration channel was cancelled: Operation canceled");
    channel_close(w, NULL);
    close(fds[1]);
    munmap(src, NPAGES * PAGE);
}

/* QEMU's refusal where the socket has no SO_ZEROCOPY (unix) or is no socket. */
static void assert_zero_copy_refused(int fd)
{
    g_autoptr(GError) err = NULL;
    Channel *ch = channel_on(fd);

    g_assert_false(channel_zero_copy_enable(ch, &err));
    g_assert_cmpstr(err->message, ==, "Zero copy send feature not detected in host kernel");
    channel_close(ch, NULL);
}

static void test_zero_copy_refused(void)
{
    int fds[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    assert_zero_copy_refused(fds[0]);
    close(fds[1]);
    g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
    assert_zero_copy_refused(fds[1]);
    close(fds[0]);
}

/*
 * MSG_ZEROCOPY over tcp loopback: data intact, every send reported, and
 * the flush's verdict agrees with the reports (loopback usually copies:
 * the kernel says so, and the flush says zero-copy was missed).
 */
static void test_zero_copy_tcp(void)
{
    ChannelZeroCopyStats st = { 0 };
    int fds[2], flushed = -1;

    tcp_pair(fds);
    roundtrip(fds, true, &st, &flushed);
    if (g_test_failed() || st.zc_sends == 0) {
        return;         /* skipped: the kernel refused SO_ZEROCOPY */
    }
    g_test_message("%" G_GUINT64_FORMAT " MSG_ZEROCOPY sends, %" G_GUINT64_FORMAT
                   " copied by the kernel", st.zc_sends, st.zc_copied);
    g_assert_cmpuint(st.zc_copied, <=, st.zc_sends);
    g_assert_cmpint(flushed, ==, st.zc_copied == st.zc_sends ? 1 : 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/channel-zerocopy/by-ref/unix", test_by_ref_unix);
    g_test_add_func("/channel-zerocopy/by-ref/copies", test_by_ref_copies);
    g_test_add_func("/channel-zerocopy/by-ref/cancelled", test_by_ref_cancelled);
    g_test_add_func("/channel-zerocopy/msg-zerocopy/refused", test_zero_copy_refused);
    g_test_add_func("/channel-zerocopy/msg-zerocopy/tcp", test_zero_copy_tcp);
    return g_test_run();
}
