/*
 * Unit tests for cancellable migration channels (migration/channel.c): a
 * read or write blocked on a pipe ends when another thread cancels, one
 * token ends every channel that shares it, and files move in chunks.
 */
#include "migration/channel.h"
#include "migration/qemu-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIG_WRITE (4 << 20)     /* far more than any pipe holds */

static Channel *channel_on(int fd, ChannelCancel *cancel)
{
    g_autoptr(GError) err = NULL;
    Channel *ch = channel_new_fd(fd, cancel, &err);

    g_assert_no_error(err);
    return ch;
}

/* Wait until the pipe whose read end is @rfd is full: its writer blocks. */
static void wait_pipe_full(int rfd)
{
    int size = fcntl(rfd, F_GETPIPE_SZ);
    int queued = 0;

    g_assert_cmpint(size, >, 0);
    while (ioctl(rfd, FIONREAD, &queued) == 0 && queued < size) {
        g_usleep(1000);
    }
    g_assert_cmpint(queued, ==, size);
}

typedef struct IoJob {
    gint tid;               /* the thread's id, once it runs */
    Channel *ch;
    uint8_t *buf;
    size_t len;
    bool ok;
    GError *err;
} IoJob;

/*
 * Wait until the thread of @job sleeps in poll(): the channel is blocked
 * for real, not about to block.  /proc shows the syscall a task is in.
 */
static void wait_in_poll(IoJob *job)
{
    g_autofree char *path = NULL;
    gint tid;

    while (!(tid = g_atomic_int_get(&job->tid))) {
        g_usleep(1000);
    }
    path = g_strdup_printf("/proc/self/task/%d/syscall", tid);
    for (;;) {
        g_autofree char *text = NULL;
        long nr;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        nr = strtol(text, NULL, 10);
        if (nr == SYS_poll || nr == SYS_ppoll) {
            return;
        }
        g_usleep(1000);
    }
}

static gpointer write_job(gpointer opaque)
{
    IoJob *job = opaque;
    struct iovec iov = { job->buf, job->len };

    g_atomic_int_set(&job->tid, gettid());
    job->ok = channel_writev_all(job->ch, &iov, 1, &job->err);
    return NULL;
}

static gpointer read_job(gpointer opaque)
{
    IoJob *job = opaque;
    size_t done = 0;

    g_atomic_int_set(&job->tid, gettid());
    while (done < job->len) {
        ssize_t n = channel_read(job->ch, job->buf + done, job->len - done,
                                 &job->err);
        if (n <= 0) {
            job->ok = false;
            return NULL;
        }
        done += n;
    }
    job->ok = true;
    return NULL;
}

static void assert_cancelled(IoJob *job)
{
    g_assert_false(job->ok);
    g_assert_nonnull(job->err);
    g_assert_cmpstr(job->err->message, ==,
                    "migration channel was cancelled: Operation canceled");
    g_clear_error(&job->err);
}

/* A write blocked on a pipe nobody reads ends when another thread cancels. */
static void test_blocked_write_cancelled(void)
{
    int fds[2];
    IoJob job = { .len = BIG_WRITE };
    GThread *t;

    g_assert_cmpint(pipe(fds), ==, 0);
    job.ch = channel_on(fds[1], NULL);
    job.buf = g_malloc0(job.len);
    t = g_thread_new("writer", write_job, &job);
    wait_pipe_full(fds[0]);
    wait_in_poll(&job);
    channel_shutdown(job.ch);
    g_thread_join(t);
    assert_cancelled(&job);
    g_assert_true(channel_close(job.ch, NULL));
    close(fds[0]);
    g_free(job.buf);
}

/* A read waiting for a writer that never writes ends on cancel. */
static void test_blocked_read_cancelled(void)
{
    int fds[2];
    uint8_t byte;
    IoJob job = { .buf = &byte, .len = 1 };
    g_autoptr(GError) err = NULL;
    ChannelCancel *cancel = channel_cancel_new(&err);
    GThread *t;

    g_assert_no_error(err);
    g_assert_cmpint(pipe(fds), ==, 0);
    job.ch = channel_on(fds[0], cancel);
    t = g_thread_new("reader", read_job, &job);
    wait_in_poll(&job);
    channel_cancel_trigger(cancel);
    g_thread_join(t);
    assert_cancelled(&job);
    g_assert_true(channel_cancel_is_triggered(cancel));
    channel_cancel_unref(cancel);
    g_assert_true(channel_close(job.ch, NULL));     /* holds the last reference */
    close(fds[1]);
}

/* One token, two channels blocked in two threads: one trigger ends both. */
static void test_shared_token(void)
{
    int out[2], in[2];
    uint8_t byte;
    IoJob w = { .len = BIG_WRITE }, r = { .buf = &byte, .len = 1 };
    g_autoptr(GError) err = NULL;
    ChannelCancel *cancel = channel_cancel_new(&err);
    GThread *tw, *tr;

    g_assert_no_error(err);
    g_assert_cmpint(pipe(out), ==, 0);
    g_assert_cmpint(pipe(in), ==, 0);
    w.ch = channel_on(out[1], cancel);
    r.ch = channel_on(in[0], cancel);
    w.buf = g_malloc0(w.len);
    tw = g_thread_new("writer", write_job, &w);
    tr = g_thread_new("reader", read_job, &r);
    wait_pipe_full(out[0]);
    wait_in_poll(&w);
    wait_in_poll(&r);
    channel_cancel_trigger(cancel);
    g_thread_join(tw);
    g_thread_join(tr);
    assert_cancelled(&w);
    assert_cancelled(&r);
    channel_close(w.ch, NULL);
    channel_close(r.ch, NULL);
    channel_cancel_unref(cancel);
    close(out[0]);
    close(in[1]);
    g_free(w.buf);
}

/* Through a non-blocking pipe, every byte arrives in order (EAGAIN waits). */
static void test_pipe_roundtrip(void)
{
    int fds[2];
    IoJob w = { .len = BIG_WRITE }, r = { .len = BIG_WRITE };
    GThread *tw;

    g_assert_cmpint(pipe(fds), ==, 0);
    w.ch = channel_on(fds[1], NULL);
    r.ch = channel_on(fds[0], NULL);
    w.buf = g_malloc(w.len);
    r.buf = g_malloc0(r.len);
    for (size_t i = 0; i < w.len; i++) {
        w.buf[i] = i * 13 + (i >> 12);
    }
    tw = g_thread_new("writer", write_job, &w);
    read_job(&r);
    g_thread_join(tw);
    g_assert_no_error(w.err);
    g_assert_no_error(r.err);
    g_assert_true(w.ok && r.ok);
    g_assert_cmpmem(w.buf, w.len, r.buf, r.len);
    g_assert_true(channel_close(w.ch, NULL));
    g_assert_true(channel_close(r.ch, NULL));
    g_free(w.buf);
    g_free(r.buf);
}

/* A regular file (not pollable) takes writes bigger than a chunk, many
 * iovecs at once, and refuses everything once cancelled. */
static void test_regular_file(void)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    int fd = g_file_open_tmp("test-channel-XXXXXX", &path, &err);
    size_t len = 3 * (1 << 20) + 123;
    g_autofree uint8_t *buf = g_malloc(len);
    g_autofree char *back = NULL;
    struct iovec iov[3];
    gsize back_len;
    Channel *ch;

    g_assert_no_error(err);
    for (size_t i = 0; i < len; i++) {
        buf[i] = i * 7 + (i >> 16);
    }
    /* A chunk-sized entry, then a big one, then a small one. */
    iov[0] = (struct iovec){ buf, 1 << 20 };
    iov[1] = (struct iovec){ buf + (1 << 20), 2 << 20 };
    iov[2] = (struct iovec){ buf + (3 << 20), 123 };
    ch = channel_on(fd, NULL);
    g_assert_true(channel_writev_all(ch, iov, 3, &err));
    g_assert_no_error(err);
    channel_shutdown(ch);
    g_assert_false(channel_writev_all(ch, iov, 1, &err));
    g_assert_nonnull(strstr(err->message, "cancelled"));
    g_assert_true(channel_close(ch, NULL));

    g_assert_true(g_file_get_contents(path, &back, &back_len, NULL));
    g_assert_cmpmem(back, back_len, buf, len);
    unlink(path);
}

typedef struct FileReadJob {
    IoJob job;              /* only tid is used */
    QEMUFile *f;
} FileReadJob;

static gpointer file_read_job(gpointer opaque)
{
    FileReadJob *fj = opaque;

    g_atomic_int_set(&fj->job.tid, gettid());
    qemu_get_be64(fj->f);
    return NULL;
}

/* qemu_file_shutdown from another thread ends a QEMUFile read that waits. */
static void test_qemu_file_shutdown_wakes_reader(void)
{
    int fds[2];
    g_autoptr(GError) err = NULL;
    FileReadJob fj = { 0 };
    GThread *t;

    g_assert_cmpint(pipe(fds), ==, 0);
    fj.f = qemu_file_new_fd(fds[0], false, &err);
    g_assert_no_error(err);
    t = g_thread_new("reader", file_read_job, &fj);
    wait_in_poll(&fj.job);
    qemu_file_shutdown(fj.f);
    g_thread_join(t);
    g_assert_false(qemu_fclose(fj.f, &err));
    g_assert_cmpstr(err->message, ==,
                    "migration channel was cancelled: Operation canceled");
    close(fds[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/channel/blocked-write-cancelled", test_blocked_write_cancelled);
    g_test_add_func("/channel/blocked-read-cancelled", test_blocked_read_cancelled);
    g_test_add_func("/channel/shared-token", test_shared_token);
    g_test_add_func("/channel/pipe-roundtrip", test_pipe_roundtrip);
    g_test_add_func("/channel/regular-file", test_regular_file);
    g_test_add_func("/channel/qemu-file-shutdown", test_qemu_file_shutdown_wakes_reader);
    return g_test_run();
}
