/*
 * The main loop and the big lock.  The main thread iterates GLib's default
 * context with the BQL held; a poll wrapper releases the BQL only while the
 * thread sleeps in poll(), so every callback (monitors, chardevs, bottom
 * halves) runs under the BQL and other threads get it while we wait.
 */
#include "qemu/main-loop.h"

#include <glib.h>

/*
 * Process-wide by nature: there is one BQL and one main loop per tern
 * process.  They are reached only through the functions below.
 */
static QemuMutex bql = { PTHREAD_MUTEX_INITIALIZER };
static __thread bool bql_held;      /* does this thread hold the BQL? */
static GPollFunc glib_poll;         /* the context's poll before ours */
static int exit_status;
static gint exit_requested;         /* atomic */

void bql_lock(void)
{
    g_assert(!bql_held);            /* the BQL is not recursive */
    qemu_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    g_assert(bql_held);
    bql_held = false;
    qemu_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}

void bql_cond_wait(QemuCond *cond)
{
    g_assert(bql_held);
    bql_held = false;
    qemu_cond_wait(cond, &bql);
    bql_held = true;
}

bool bql_cond_timedwait_until(QemuCond *cond, int64_t deadline_us)
{
    /* QemuCond waits on CLOCK_MONOTONIC, g_get_monotonic_time()'s clock. */
    struct timespec ts = {
        .tv_sec = deadline_us / G_USEC_PER_SEC,
        .tv_nsec = (deadline_us % G_USEC_PER_SEC) * 1000,
    };
    int ret;

    g_assert(bql_held);
    bql_held = false;
    ret = pthread_cond_timedwait(&cond->c, &bql.m, &ts);
    bql_held = true;
    return ret == 0;
}

/* Poll without the BQL, so vCPU and migration threads can take it. */
static gint main_loop_poll(GPollFD *fds, guint nfds, gint timeout)
{
    bool held = bql_held;
    gint ret;

    if (held) {
        bql_unlock();
    }
    ret = glib_poll(fds, nfds, timeout);
    if (held) {
        bql_lock();
    }
    return ret;
}

void main_loop_init(void)
{
    GMainContext *ctx = g_main_context_default();

    if (!glib_poll) {
        glib_poll = g_main_context_get_poll_func(ctx);
        g_main_context_set_poll_func(ctx, main_loop_poll);
    }
}

bool main_loop_iterate(bool may_block)
{
    g_assert(bql_held);
    return g_main_context_iteration(NULL, may_block);
}

int main_loop_run(void)
{
    g_assert(bql_held);
    while (!g_atomic_int_get(&exit_requested)) {
        g_main_context_iteration(NULL, TRUE);
    }
    int status = g_atomic_int_get(&exit_status);

    g_atomic_int_set(&exit_requested, 0);     /* tests run the loop again */
    return status;
}

void main_loop_exit(int status)
{
    /* The first request wins: a later "quit" must not hide a failure. */
    if (g_atomic_int_compare_and_exchange(&exit_requested, 0, 1)) {
        g_atomic_int_set(&exit_status, status);
    }
    g_main_context_wakeup(NULL);
}

bool main_loop_exit_requested(void)
{
    return g_atomic_int_get(&exit_requested);
}

typedef struct ScheduledCall {
    GSourceFunc fn;
    gpointer data;
} ScheduledCall;

static gboolean scheduled_call_dispatch(gpointer opaque)
{
    ScheduledCall *call = opaque;

    call->fn(call->data);
    return G_SOURCE_REMOVE;
}

void main_loop_schedule(GSourceFunc fn, gpointer data)
{
    GSource *src = g_idle_source_new();
    ScheduledCall *call = g_new(ScheduledCall, 1);

    call->fn = fn;
    call->data = data;
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, scheduled_call_dispatch, call, g_free);
    g_source_attach(src, NULL);     /* thread-safe; wakes the context */
    g_source_unref(src);
}
