/*
 * Mutexes and condition variables for tern's threads: thin wrappers over
 * pthreads.  GLib's GMutex/GCond use futexes directly, which
 * ThreadSanitizer cannot see, so threaded code uses these instead and the
 * suite stays meaningful under -Db_sanitize=thread.
 */
#ifndef QEMU_THREAD_H
#define QEMU_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <glib.h>

typedef struct QemuMutex {
    pthread_mutex_t m;
} QemuMutex;

typedef struct QemuCond {
    pthread_cond_t c;
} QemuCond;

static inline void qemu_mutex_init(QemuMutex *mu)
{
    pthread_mutex_init(&mu->m, NULL);
}

static inline void qemu_mutex_destroy(QemuMutex *mu)
{
    pthread_mutex_destroy(&mu->m);
}

static inline void qemu_mutex_lock(QemuMutex *mu)
{
    int ret = pthread_mutex_lock(&mu->m);
    g_assert(ret == 0);
}

static inline void qemu_mutex_unlock(QemuMutex *mu)
{
    int ret = pthread_mutex_unlock(&mu->m);
    g_assert(ret == 0);
}

/* Waits measure time on CLOCK_MONOTONIC, so wall-clock jumps do not matter. */
static inline void qemu_cond_init(QemuCond *cv)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv->c, &attr);
    pthread_condattr_destroy(&attr);
}

static inline void qemu_cond_destroy(QemuCond *cv)
{
    pthread_cond_destroy(&cv->c);
}

static inline void qemu_cond_wait(QemuCond *cv, QemuMutex *mu)
{
    pthread_cond_wait(&cv->c, &mu->m);
}

/* Wait at most @ms milliseconds; false on timeout. */
static inline bool qemu_cond_timedwait(QemuCond *cv, QemuMutex *mu, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return pthread_cond_timedwait(&cv->c, &mu->m, &ts) == 0;
}

static inline void qemu_cond_signal(QemuCond *cv)
{
    pthread_cond_signal(&cv->c);
}

static inline void qemu_cond_broadcast(QemuCond *cv)
{
    pthread_cond_broadcast(&cv->c);
}

#endif
