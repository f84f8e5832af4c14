/*
 * A worker thread that takes one job at a time from its owner: the owner
 * fills the job's fields, queues it, and later waits until the worker is
 * done with it before it reads the result or fills the job again.  The
 * legacy compress threads of both sides are rings of these.
 *
 * Ownership of the job's fields passes with the queue: the owner's while
 * the slot is idle, the worker's while queued.  Every call but the worker's
 * @run is the owner's (one thread).
 */
#ifndef QEMU_JOB_SLOT_H
#define QEMU_JOB_SLOT_H

#include "qemu/thread.h"

typedef struct JobSlot {
    GThread *thread;            /* NULL until started, and after stopped */
    QemuMutex lock;             /* guards @queued and @quit */
    QemuCond cond;              /* @queued or @quit changed (both directions) */
    bool queued;                /* the worker's until it clears it */
    bool quit;
    void (*run)(void *opaque);  /* does the queued job, on the worker */
    void *opaque;
} JobSlot;

/* Initialise @s (idle, no thread yet). */
void job_slot_init(JobSlot *s);

/* Start the worker, named @name, to call @run(@opaque) for each job. */
void job_slot_start(JobSlot *s, const char *name, void (*run)(void *opaque),
                    void *opaque);

/* Hand the filled job to the worker (the slot must be idle). */
void job_slot_queue(JobSlot *s);

/* Wait until the worker is done with the queued job, if any. */
void job_slot_wait(JobSlot *s);

/* Is a job queued and not done yet? */
bool job_slot_busy(JobSlot *s);

/*
 * Stop and join the worker (a job it runs finishes; one still queued is
 * dropped), then free @s's locks.
 */
void job_slot_destroy(JobSlot *s);

#endif
