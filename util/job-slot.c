/*
 * One-job worker threads (qemu/job-slot.h).
 */
#include "qemu/job-slot.h"

void job_slot_init(JobSlot *s)
{
    *s = (JobSlot) { 0 };
    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->cond);
}

static gpointer job_slot_worker(gpointer opaque)
{
    JobSlot *s = opaque;

    qemu_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queued && !s->quit) {
            qemu_cond_wait(&s->cond, &s->lock);
        }
        if (s->quit) {
            break;
        }
        qemu_mutex_unlock(&s->lock);
        s->run(s->opaque);
        qemu_mutex_lock(&s->lock);
        s->queued = false;
        qemu_cond_broadcast(&s->cond);
    }
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

void job_slot_start(JobSlot *s, const char *name, void (*run)(void *opaque),
                    void *opaque)
{
    g_assert(!s->thread);
    s->run = run;
    s->opaque = opaque;
    s->thread = g_thread_new(name, job_slot_worker, s);
}

void job_slot_queue(JobSlot *s)
{
    qemu_mutex_lock(&s->lock);
    g_assert(!s->queued && s->thread);
    s->queued = true;
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

void job_slot_wait(JobSlot *s)
{
    qemu_mutex_lock(&s->lock);
    while (s->queued) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
    qemu_mutex_unlock(&s->lock);
}

bool job_slot_busy(JobSlot *s)
{
    bool busy;

    qemu_mutex_lock(&s->lock);
    busy = s->queued;
    qemu_mutex_unlock(&s->lock);
    return busy;
}

void job_slot_destroy(JobSlot *s)
{
    if (s->thread) {
        qemu_mutex_lock(&s->lock);
        s->quit = true;
        qemu_cond_broadcast(&s->cond);
        qemu_mutex_unlock(&s->lock);
        g_thread_join(s->thread);
        s->thread = NULL;
    }
    qemu_mutex_destroy(&s->lock);
    qemu_cond_destroy(&s->cond);
}
