/*
 * Multifd, destination side: a thread that makes guest memory resident
 * just ahead of the pages the receive threads are writing (multifd.h).
 *
 * Why: a destination whose RAM was never touched pays, for every page the
 * stream fills, the kernel's clearing of a fresh page (a transparent huge
 * page at a time) inside the receive thread's copy; on this class of
 * machine that is ten times the copy itself.  The source walks a block
 * from its start, so where a packet's normal pages land the next ones
 * will follow: after a packet that is mostly data the receive thread
 * hints the end of its pages, and this thread populates
 * (MADV_POPULATE_WRITE) the next POPULATE_AHEAD chunks of 2 MiB past it,
 * on another core, while the receive threads copy.  It only follows data,
 * so an idle guest's zero pages populate nothing, and what it populates
 * that the stream then leaves untouched is at most POPULATE_AHEAD chunks
 * past each dense run of pages; a chunk already resident (a preallocated
 * destination, a later round) costs one mincore().  The stream may
 * overtake it: it then skips to the stream's front, and the receive
 * threads fault in what it did not reach, as they would without it.
 * Populating never changes a resident page's bytes, so racing a receive
 * thread on the same chunk is harmless.  Precopy only: postcopy (which
 * must not populate, its faults are requests) excludes multifd.
 */
#include "multifd.h"
#include "qemu/thread.h"

#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23      /* Linux 5.14 */
#endif

#define POPULATE_CHUNK  (2u << 20)  /* one transparent huge page */
#define POPULATE_AHEAD  4           /* chunks past the stream's front: 8 MiB */

struct MultiFDPopulate {
    GThread *thread;
    QemuMutex lock;
    QemuCond cond;
    /* ---- under lock ---- */
    RAMBlock *block;                /* the block the stream is in */
    uint64_t next;                  /* the next chunk's offset to populate */
    uint64_t limit;                 /* populate up to here */
    bool quit;
};

static uint64_t populate_align(uint64_t x)
{
    return (x + POPULATE_CHUNK - 1) & ~(uint64_t)(POPULATE_CHUNK - 1);
}

/* True when every page of [@host, @host + @len) is resident already. */
static bool populate_resident(uint8_t *host, size_t len)
{
    unsigned char vec[POPULATE_CHUNK / 4096];
    size_t n = (len + 4095) / 4096;

    if (mincore(host, len, vec) != 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(vec[i] & 1)) {
            return false;
        }
    }
    return true;
}

static gpointer populate_thread(gpointer opaque)
{
    MultiFDPopulate *p = opaque;

    qemu_mutex_lock(&p->lock);
    for (;;) {
        RAMBlock *rb;
        uint64_t off, len;

        while (!p->quit && (!p->block || p->next >= p->limit)) {
            qemu_cond_wait(&p->cond, &p->lock);
        }
        if (p->quit) {
            break;
        }
        rb = p->block;
        off = p->next;
        len = MIN(POPULATE_CHUNK, rb->used_length - off);
        p->next = off + POPULATE_CHUNK;
        qemu_mutex_unlock(&p->lock);
        if (!populate_resident(rb->host + off, len)) {
            /* Best effort: an old kernel or no memory now leaves it to the faults. */
            madvise(rb->host + off, len, MADV_POPULATE_WRITE);
        }
        qemu_mutex_lock(&p->lock);
    }
    qemu_mutex_unlock(&p->lock);
    return NULL;
}

MultiFDPopulate *multifd_populate_new(void)
{
    MultiFDPopulate *p = g_new0(MultiFDPopulate, 1);

    qemu_mutex_init(&p->lock);
    qemu_cond_init(&p->cond);
    p->thread = g_thread_new("mig/populate", populate_thread, p);
    return p;
}

void multifd_populate_hint(MultiFDPopulate *p, RAMBlock *rb, uint64_t end)
{
    uint64_t front = populate_align(end);
    uint64_t limit = MIN(front + POPULATE_AHEAD * (uint64_t)POPULATE_CHUNK, rb->used_length);

    qemu_mutex_lock(&p->lock);
    if (p->block != rb) {
        p->block = rb;
        p->next = p->limit = front;
    }
    /* Behind the front is the receive threads' (or done): skip to it. */
    p->next = MAX(p->next, front);
    if (limit > p->limit) {
        p->limit = limit;
        qemu_cond_signal(&p->cond);
    }
    qemu_mutex_unlock(&p->lock);
}

void multifd_populate_free(MultiFDPopulate *p)
{
    if (!p) {
        return;
    }
    qemu_mutex_lock(&p->lock);
    p->quit = true;
    qemu_cond_signal(&p->cond);
    qemu_mutex_unlock(&p->lock);
    g_thread_join(p->thread);
    qemu_cond_destroy(&p->cond);
    qemu_mutex_destroy(&p->lock);
    g_free(p);
}
