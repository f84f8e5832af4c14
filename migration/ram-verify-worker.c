/*
 * x-verify-ram's digest worker (ram-verify-worker.h): a ring of page
 * references between the thread that sends or places pages and one
 * thread that digests them.  The producer fills a private batch and hands
 * it over under the lock, so a page costs it a few stores and the lock is
 * taken once per batch.
 */
#include "ram-verify-worker.h"

#include "qemu/thread.h"

/* References in the ring: 8 MiB of pages, what a drain may have to wait for. */
#define RAM_VERIFY_RING         2048
/* References the producer collects before it hands them over. */
#define RAM_VERIFY_BATCH        32
/* References the worker takes at a time. */
#define RAM_VERIFY_TAKE         64
/*
 * An idle worker is woken once this many references wait (2 MiB of pages),
 * and a producer waiting for room once the ring is half empty: each wake-up
 * is a context switch, and one per batch cost as much CPU as the hashing.
 */
#define RAM_VERIFY_WAKE         512

typedef struct RAMVerifyRef {
    uint64_t page;
    guint block;
    bool zero;
} RAMVerifyRef;

struct RAMVerifyWorker {
    RAMVerifyDigestFn *digest;
    void *opaque;
    GThread *thread;

    /* ---- the producer's own ---- */
    RAMVerifyRef batch[RAM_VERIFY_BATCH];
    unsigned nbatch;

    /*
     * ---- guarded by @lock ----
     * The ring holds [tail, head) (free-running counters).  The producer
     * writes slots at head and beyond, the worker reads [tail, taken)
     * without the lock: the producer writes no slot below tail +
     * RAM_VERIFY_RING, and tail moves past a slot only once the worker
     * is done with it.
     */
    QemuMutex lock;
    QemuCond more;                  /* worker waits: references came, or quit */
    QemuCond room;                  /* producer waits: the ring emptied (by half, or all) */
    uint64_t head, tail;
    bool idle;                      /* the worker waits on @more */
    bool want_room;                 /* the producer waits on @room */
    bool quit;
    RAMVerifyRef ring[RAM_VERIFY_RING];
};

static gpointer ram_verify_worker_thread(gpointer opaque)
{
    RAMVerifyWorker *w = opaque;

    qemu_mutex_lock(&w->lock);
    for (;;) {
        uint64_t from, to;

        while (w->head == w->tail && !w->quit) {
            w->idle = true;
            qemu_cond_wait(&w->more, &w->lock);
        }
        w->idle = false;
        if (w->quit) {
            break;
        }
        from = w->tail;
        to = MIN(w->head, from + RAM_VERIFY_TAKE);
        qemu_mutex_unlock(&w->lock);
        for (uint64_t i = from; i < to; i++) {
            const RAMVerifyRef *r = &w->ring[i % RAM_VERIFY_RING];

            w->digest(w->opaque, r->block, r->page, r->zero);
        }
        qemu_mutex_lock(&w->lock);
        w->tail = to;
        if (w->want_room && w->head - w->tail <= RAM_VERIFY_RING / 2) {
            qemu_cond_signal(&w->room);
        }
    }
    qemu_mutex_unlock(&w->lock);
    return NULL;
}

RAMVerifyWorker *ram_verify_worker_new(RAMVerifyDigestFn *digest, void *opaque)
{
    RAMVerifyWorker *w = g_new0(RAMVerifyWorker, 1);

    w->digest = digest;
    w->opaque = opaque;
    qemu_mutex_init(&w->lock);
    qemu_cond_init(&w->more);
    qemu_cond_init(&w->room);
    w->thread = g_thread_new("mig/verify", ram_verify_worker_thread, w);
    return w;
}

void ram_verify_worker_free(RAMVerifyWorker *w)
{
    if (!w) {
        return;
    }
    qemu_mutex_lock(&w->lock);
    w->quit = true;
    qemu_cond_signal(&w->more);
    qemu_mutex_unlock(&w->lock);
    g_thread_join(w->thread);
    qemu_cond_destroy(&w->room);
    qemu_cond_destroy(&w->more);
    qemu_mutex_destroy(&w->lock);
    g_free(w);
}

/* Producer, @lock held: wait until the worker emptied half the ring, or all of it. */
static void ram_verify_worker_wait_room(RAMVerifyWorker *w)
{
    if (w->idle) {
        qemu_cond_signal(&w->more);     /* fewer than RAM_VERIFY_WAKE wait: it sleeps still */
    }
    w->want_room = true;
    qemu_cond_wait(&w->room, &w->lock);
    w->want_room = false;
}

/* Producer: hand the batch over, waiting for room in the ring. */
static void ram_verify_worker_flush(RAMVerifyWorker *w)
{
    if (!w->nbatch) {
        return;
    }
    qemu_mutex_lock(&w->lock);
    while (w->head + w->nbatch - w->tail > RAM_VERIFY_RING) {
        ram_verify_worker_wait_room(w);
    }
    for (unsigned i = 0; i < w->nbatch; i++) {
        w->ring[(w->head + i) % RAM_VERIFY_RING] = w->batch[i];
    }
    w->head += w->nbatch;
    if (w->idle && w->head - w->tail >= RAM_VERIFY_WAKE) {
        qemu_cond_signal(&w->more);
    }
    qemu_mutex_unlock(&w->lock);
    w->nbatch = 0;
}

void ram_verify_worker_push(RAMVerifyWorker *w, guint block, uint64_t page, bool zero)
{
    w->batch[w->nbatch++] = (RAMVerifyRef){ .page = page, .block = block, .zero = zero };
    if (w->nbatch == RAM_VERIFY_BATCH) {
        ram_verify_worker_flush(w);
    }
}

void ram_verify_worker_drain(RAMVerifyWorker *w)
{
    ram_verify_worker_flush(w);
    qemu_mutex_lock(&w->lock);
    while (w->tail != w->head) {
        ram_verify_worker_wait_room(w);
    }
    qemu_mutex_unlock(&w->lock);
}
