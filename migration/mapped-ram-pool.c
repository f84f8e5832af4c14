/*
 * mapped-ram page I/O (mapped-ram-internal.h): one run of pages written to
 * or read from its fixed slots, and a pool of worker threads doing runs in
 * parallel.  Slots are disjoint, so workers need no ordering among
 * themselves; the one order that matters, a page written in two dirty
 * rounds, is kept by the caller waiting for the pool between rounds.
 */
#include "mapped-ram-internal.h"
#include "qemu/bitmap.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"
#include "qemu/thread.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

/* Jobs waiting per worker before the submitter waits: enough to never starve one. */
#define MAPPED_RAM_POOL_DEPTH   2

struct MappedRamPool {
    int fd;
    unsigned nthreads;
    GThread **threads;

    QemuMutex lock;
    QemuCond work;                  /* a job was queued, or quit */
    QemuCond done;                  /* a job finished, or left the queue */
    GQueue queue;                   /* MappedRamJob *, owned */
    unsigned running;               /* jobs taken and not finished */
    bool quit;
    GError *error;                  /* the first failure */
    MappedRamCounts counts;         /* of finished jobs, not yet taken */
};

/* ---- one run ---- */

bool mapped_ram_pwrite(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ENOSPC;
            }
            return false;
        }
        buf += n;
        len -= n;
        off += n;
    }
    return true;
}

bool mapped_ram_pread(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            return false;
        }
        buf += n;
        len -= n;
        off += n;
    }
    return true;
}

/* Write pages [@first, @first + @n) of the job and set their bits. */
static bool mapped_ram_write_pages(int fd, const MappedRamJob *job, uint64_t first, uint64_t n,
                                   GError **errp)
{
    uint64_t off = job->pages_offset + first * TARGET_PAGE_SIZE;

    if (!mapped_ram_pwrite(fd, job->rb->host + first * TARGET_PAGE_SIZE,
                           n * TARGET_PAGE_SIZE, off)) {
        error_setg_errno(errp, errno, "mapped-ram: writing pages %" PRIu64 "..%" PRIu64
                         " of RAM block \"%s\" at file offset %" PRIu64,
                         first, first + n - 1, job->rb->idstr, off);
        return false;
    }
    for (uint64_t p = first; p < first + n; p++) {
        __atomic_fetch_or(&job->bitmap[BIT_WORD(p)], BIT_MASK(p), __ATOMIC_RELAXED);
    }
    return true;
}

/* Source: the run's non-zero pages in as few pwrites as the zero pages between them allow. */
static bool mapped_ram_job_save(int fd, const MappedRamJob *job, MappedRamCounts *counts,
                                GError **errp)
{
    uint64_t end = job->first + job->npages;
    uint64_t start = job->first;        /* of the pages not written yet */

    for (uint64_t p = job->first; p < end; p++) {
        if (!job->check_zero ||
            !buffer_is_zero(job->rb->host + p * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE)) {
            continue;
        }
        if (p > start && !mapped_ram_write_pages(fd, job, start, p - start, errp)) {
            return false;
        }
        counts->normal_pages += p - start;
        /* A slot written in an earlier round keeps its bytes; the clear bit wins. */
        __atomic_fetch_and(&job->bitmap[BIT_WORD(p)], ~BIT_MASK(p), __ATOMIC_RELAXED);
        counts->zero_pages++;
        start = p + 1;
    }
    if (end > start && !mapped_ram_write_pages(fd, job, start, end - start, errp)) {
        return false;
    }
    counts->normal_pages += end - start;
    return true;
}

static bool mapped_ram_job_load(int fd, const MappedRamJob *job, GError **errp)
{
    uint64_t off = job->pages_offset + job->first * TARGET_PAGE_SIZE;

    if (!mapped_ram_pread(fd, job->rb->host + job->first * TARGET_PAGE_SIZE,
                          job->npages * TARGET_PAGE_SIZE, off)) {
        error_setg(errp, "Error reading ramblock %s pages %" PRIu64 "..%" PRIu64
                   " at file offset %" PRIu64 ": %s (RAM block \"%s\", stream offset %" PRIu64 ")",
                   job->rb->idstr, job->first, job->first + job->npages - 1, off,
                   errno ? g_strerror(errno) : "the file ends before them",
                   job->rb->idstr, job->pos);
        return false;
    }
    return true;
}

bool mapped_ram_job_run(int fd, const MappedRamJob *job, MappedRamCounts *counts,
                        GError **errp)
{
    g_assert(job->npages > 0 && job->npages <= MAPPED_RAM_RUN_MAX_PAGES);
    if (job->bitmap) {
        return mapped_ram_job_save(fd, job, counts, errp);
    }
    return mapped_ram_job_load(fd, job, errp);
}

/* ---- the pool ---- */

static gpointer mapped_ram_worker(gpointer opaque)
{
    MappedRamPool *p = opaque;

    qemu_mutex_lock(&p->lock);
    for (;;) {
        g_autofree MappedRamJob *job = NULL;
        MappedRamCounts counts = { 0 };
        GError *err = NULL;
        bool ok;

        while (!p->quit && g_queue_is_empty(&p->queue)) {
            qemu_cond_wait(&p->work, &p->lock);
        }
        if (g_queue_is_empty(&p->queue)) {
            break;                      /* quit, and nothing left to do */
        }
        job = g_queue_pop_head(&p->queue);
        if (p->error) {
            qemu_cond_broadcast(&p->done);
            continue;                   /* the migration fails: drop what is left */
        }
        p->running++;
        qemu_cond_signal(&p->done);     /* a submitter may wait for room */
        qemu_mutex_unlock(&p->lock);

        ok = mapped_ram_job_run(p->fd, job, &counts, &err);

        qemu_mutex_lock(&p->lock);
        p->running--;
        p->counts.normal_pages += counts.normal_pages;
        p->counts.zero_pages += counts.zero_pages;
        if (!ok && !p->error) {
            p->error = err;
        } else if (!ok) {
            g_error_free(err);
        }
        qemu_cond_broadcast(&p->done);
    }
    qemu_mutex_unlock(&p->lock);
    return NULL;
}

MappedRamPool *mapped_ram_pool_new(int fd, unsigned threads)
{
    MappedRamPool *p = g_new0(MappedRamPool, 1);

    g_assert(threads >= 1);
    p->fd = fd;
    p->nthreads = threads;
    qemu_mutex_init(&p->lock);
    qemu_cond_init(&p->work);
    qemu_cond_init(&p->done);
    g_queue_init(&p->queue);
    p->threads = g_new0(GThread *, threads);
    for (unsigned i = 0; i < threads; i++) {
        p->threads[i] = g_thread_new("mig/mapped", mapped_ram_worker, p);
    }
    return p;
}

void mapped_ram_pool_free(MappedRamPool *p)
{
    if (!p) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    p->quit = true;
    qemu_cond_broadcast(&p->work);
    qemu_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++) {
        g_thread_join(p->threads[i]);
    }
    g_free(p->threads);
    g_queue_clear_full(&p->queue, g_free);
    g_clear_error(&p->error);
    qemu_cond_destroy(&p->done);
    qemu_cond_destroy(&p->work);
    qemu_mutex_destroy(&p->lock);
    g_free(p);
}

void mapped_ram_pool_submit(MappedRamPool *p, const MappedRamJob *job)
{
    qemu_mutex_lock(&p->lock);
    while (!p->error && g_queue_get_length(&p->queue) >= p->nthreads * MAPPED_RAM_POOL_DEPTH) {
        qemu_cond_wait(&p->done, &p->lock);
    }
    if (!p->error) {
        g_queue_push_tail(&p->queue, g_memdup2(job, sizeof(*job)));
        qemu_cond_signal(&p->work);
    }
    qemu_mutex_unlock(&p->lock);
}

bool mapped_ram_pool_wait(MappedRamPool *p, GError **errp)
{
    bool ok;

    qemu_mutex_lock(&p->lock);
    while (!p->error && (p->running || !g_queue_is_empty(&p->queue))) {
        qemu_cond_wait(&p->done, &p->lock);
    }
    /* After a failure, workers drain the queue; wait for the running ones too. */
    while (p->running) {
        qemu_cond_wait(&p->done, &p->lock);
    }
    g_queue_clear_full(&p->queue, g_free);
    ok = !p->error;
    if (!ok) {
        g_propagate_error(errp, g_error_copy(p->error));
    }
    qemu_mutex_unlock(&p->lock);
    return ok;
}

bool mapped_ram_pool_failed(MappedRamPool *p)
{
    bool failed;

    qemu_mutex_lock(&p->lock);
    failed = p->error != NULL;
    qemu_mutex_unlock(&p->lock);
    return failed;
}

void mapped_ram_pool_take_counts(MappedRamPool *p, MappedRamCounts *counts)
{
    qemu_mutex_lock(&p->lock);
    counts->normal_pages += p->counts.normal_pages;
    counts->zero_pages += p->counts.zero_pages;
    p->counts = (MappedRamCounts){ 0 };
    qemu_mutex_unlock(&p->lock);
}
