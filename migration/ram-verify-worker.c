/*
 * x-verify-ram's digest worker (ram-verify-worker.h): page references
 * collected in batches, two of them, on a JobSlot (qemu/job-slot.h).  The
 * producer fills one batch while the worker hashes the other, so a page
 * costs the producer a store, and each hand-over (one context switch for
 * the worker) covers 2 MiB of pages: one per batch of 32 pages cost the
 * worker 10-15 % of its time in the kernel.
 */
#include "ram-verify-worker.h"

#include "qemu/job-slot.h"

/* References a batch holds: 2 MiB of pages, the most a drain waits for beyond the one hashed. */
#define RAM_VERIFY_BATCH        512

typedef struct RAMVerifyRef {
    uint64_t page;
    guint block;
    bool zero;
} RAMVerifyRef;

typedef struct RAMVerifyBatch {
    RAMVerifyRef refs[RAM_VERIFY_BATCH];
    unsigned n;
} RAMVerifyBatch;

struct RAMVerifyWorker {
    RAMVerifyDigestFn *digest;
    void *opaque;
    JobSlot slot;
    RAMVerifyBatch batch[2];
    unsigned filling;           /* the producer's: the batch it fills */
    unsigned queued;            /* set before the hand-over: the batch the worker hashes */
};

/* The worker: hash the queued batch, in order. */
static void ram_verify_worker_run(void *opaque)
{
    RAMVerifyWorker *w = opaque;
    const RAMVerifyBatch *b = &w->batch[w->queued];

    for (unsigned i = 0; i < b->n; i++) {
        w->digest(w->opaque, b->refs[i].block, b->refs[i].page, b->refs[i].zero);
    }
}

RAMVerifyWorker *ram_verify_worker_new(RAMVerifyDigestFn *digest, void *opaque)
{
    RAMVerifyWorker *w = g_new0(RAMVerifyWorker, 1);

    w->digest = digest;
    w->opaque = opaque;
    job_slot_init(&w->slot);
    job_slot_start(&w->slot, "mig/verify", ram_verify_worker_run, w);
    return w;
}

void ram_verify_worker_free(RAMVerifyWorker *w)
{
    if (w) {
        job_slot_destroy(&w->slot);     /* a batch being hashed finishes; a queued one is dropped */
        g_free(w);
    }
}

/*
 * Producer: hand the batch being filled over, once the worker is done
 * with the other one, and fill that one next.  The slot's lock orders the
 * batch's contents and @queued before the worker's reads, and the
 * worker's reads before the producer refills the batch.
 */
static void ram_verify_worker_hand_over(RAMVerifyWorker *w)
{
    job_slot_wait(&w->slot);
    w->queued = w->filling;
    job_slot_queue(&w->slot);
    w->filling ^= 1;
    w->batch[w->filling].n = 0;
}

void ram_verify_worker_push(RAMVerifyWorker *w, guint block, uint64_t page, bool zero)
{
    RAMVerifyBatch *b = &w->batch[w->filling];

    b->refs[b->n++] = (RAMVerifyRef){ .page = page, .block = block, .zero = zero };
    if (b->n == RAM_VERIFY_BATCH) {
        ram_verify_worker_hand_over(w);
    }
}

void ram_verify_worker_drain(RAMVerifyWorker *w)
{
    if (w->batch[w->filling].n) {
        ram_verify_worker_hand_over(w);
    }
    job_slot_wait(&w->slot);
}
