/*
 * x-verify-ram's digest worker (ram-verify-worker.c): a thread that
 * digests pages in RAM for the thread that sends or places them, so that
 * hashing a page costs that thread a queue entry instead of a pass over
 * 4 KiB.  One producer (the thread that started it), one consumer; the
 * references are digested in the order they were pushed.
 * docs/devel/ram-verify.md says when a reference may be deferred and why
 * the digest is still that of the bytes sent or placed.
 */
#ifndef MIGRATION_RAM_VERIFY_WORKER_H
#define MIGRATION_RAM_VERIFY_WORKER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Worker thread: digest page @page of block @block (a zero page when @zero). */
typedef void RAMVerifyDigestFn(void *opaque, guint block, uint64_t page, bool zero);

typedef struct RAMVerifyWorker RAMVerifyWorker;

/* Start the thread ("mig/verify"), which calls @digest(@opaque, ...) per reference. */
RAMVerifyWorker *ram_verify_worker_new(RAMVerifyDigestFn *digest, void *opaque);

/*
 * Stop the thread and free @w: references not digested yet are dropped
 * (whoever stops without draining first throws the digests away: a
 * failed or cancelled migration).  Producer thread; NULL-safe.
 */
void ram_verify_worker_free(RAMVerifyWorker *w);

/*
 * Producer: queue one reference.  Batched: the worker sees it at the
 * latest at the next ram_verify_worker_drain().  Blocks while the queue
 * is full (the worker never waits for anything but references, so it
 * makes room).
 */
void ram_verify_worker_push(RAMVerifyWorker *w, guint block, uint64_t page, bool zero);

/* Producer: return once every reference pushed so far was digested. */
void ram_verify_worker_drain(RAMVerifyWorker *w);

#endif
