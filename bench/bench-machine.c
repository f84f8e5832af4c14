/*
 * The three machine figures a migration benchmark is read against: memcpy
 * between resident buffers, writes into freshly mmap'd anonymous memory (page
 * faults included, as a migration destination pays them), and a unix stream
 * socket fed in 1 MiB writes.  Each is the median of five runs, in GB/s
 * (10^9 bytes per second), one line per figure, so scripts can parse them:
 *
 *   memcpy: 10.31 GB/s
 *
 *   bench-machine [SIZE]      SIZE in bytes, suffixes K M G; defaults to 256M
 */
#include "qemu/cutils.h"
#include "qemu/error.h"

#include <glib.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5
#define SOCKET_CHUNK (1u << 20)

typedef struct SocketJob {
    int fd;
    size_t total;
    bool ok;
} SocketJob;

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), compare_doubles);
    return v[n / 2];
}

static void *map_anonymous(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

/* Seconds to copy @size bytes between two buffers that are already resident. */
static double time_memcpy(void *dst, const void *src, size_t size)
{
    double t0 = now_seconds();

    memcpy(dst, src, size);
    return now_seconds() - t0;
}

/* Seconds to copy @size bytes into a fresh mapping, faults included; -1 if mmap fails. */
static double time_fresh_write(const void *src, size_t size)
{
    void *dst = map_anonymous(size);
    double t;

    if (!dst) {
        return -1;
    }
    t = now_seconds();
    memcpy(dst, src, size);
    t = now_seconds() - t;
    munmap(dst, size);
    return t;
}

static gpointer socket_writer(gpointer opaque)
{
    SocketJob *job = opaque;
    g_autofree char *chunk = g_malloc(SOCKET_CHUNK);
    size_t done = 0;

    memset(chunk, 0x5a, SOCKET_CHUNK);
    while (done < job->total) {
        size_t len = MIN(SOCKET_CHUNK, job->total - done);
        ssize_t n = write(job->fd, chunk, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            job->ok = false;
            return NULL;
        }
        done += n;
    }
    job->ok = true;
    return NULL;
}

/* Seconds to push @size bytes through a unix stream socket pair; -1 on error. */
static double time_unix_socket(size_t size)
{
    int fds[2];
    SocketJob job = { .total = size };
    g_autofree char *buf = g_malloc(SOCKET_CHUNK);
    size_t got = 0;
    GThread *writer;
    double t;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) {
        return -1;
    }
    job.fd = fds[1];
    t = now_seconds();
    writer = g_thread_new("bench-writer", socket_writer, &job);
    while (got < size) {
        ssize_t n = read(fds[0], buf, SOCKET_CHUNK);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += n;
    }
    t = now_seconds() - t;
    close(fds[0]);
    g_thread_join(writer);
    close(fds[1]);
    return got == size && job.ok ? t : -1;
}

static void print_figure(const char *name, size_t size, double *seconds)
{
    printf("%s: %.2f GB/s\n", name, size / median(seconds, RUNS) / 1e9);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    uint64_t size = 256u << 20;
    double copy[RUNS], fresh[RUNS], sock[RUNS];
    char *src, *dst;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [SIZE]\n", argv[0]);
        return 2;
    }
    if (argc == 2 && !qemu_strtosz(argv[1], 1, &size, &err)) {
        fprintf(stderr, "bench-machine: %s\n", err->message);
        return 2;
    }
    src = map_anonymous(size);
    dst = map_anonymous(size);
    if (!src || !dst) {
        fprintf(stderr, "bench-machine: cannot map 2 x %" G_GUINT64_FORMAT " bytes\n", size);
        return 1;
    }
    memset(src, 0xa5, size);
    memset(dst, 0, size);

    /* Interleaved, so a burst of load from elsewhere hits all three alike. */
    for (int i = 0; i < RUNS; i++) {
        copy[i] = time_memcpy(dst, src, size);
        fresh[i] = time_fresh_write(src, size);
        sock[i] = time_unix_socket(size);
        if (fresh[i] < 0 || sock[i] < 0) {
            fprintf(stderr, "bench-machine: run %d failed: %s\n", i, g_strerror(errno));
            return 1;
        }
    }
    print_figure("memcpy", size, copy);
    print_figure("fresh-page write", size, fresh);
    print_figure("unix socket", size, sock);
    munmap(src, size);
    munmap(dst, size);
    return 0;
}
