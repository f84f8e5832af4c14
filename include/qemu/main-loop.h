/*
 * The big lock (BQL).  The main loop holds it while dispatching; vCPU threads
 * take it for device I/O; the migration thread takes it only for its short
 * critical moments (DESIGN "Threads and locks").
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include <glib.h>
#include <stdbool.h>

#include "qemu/thread.h"

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);      /* true if the calling thread holds the BQL */

/*
 * Wait on @cond, releasing the BQL while waiting (the caller holds it, and
 * holds it again on return).  Spurious wake-ups happen: wait in a loop.
 */
void bql_cond_wait(QemuCond *cond);
/*
 * bql_cond_wait() that gives up at @deadline_us (g_get_monotonic_time()
 * clock); returns false on the timeout.
 */
bool bql_cond_timedwait_until(QemuCond *cond, int64_t deadline_us);

/*
 * The main loop is GLib's default GMainContext iterated by the main thread.
 * main_loop_init() installs the poll wrapper that drops the BQL around the
 * poll, so sources dispatch with the BQL held.  Call it once, on the main
 * thread, before any source is attached; the caller then takes the BQL.
 */
void main_loop_init(void);

/*
 * Run the main loop on the calling (main) thread, BQL held, until
 * main_loop_exit() is called.  Returns the status passed to it.
 */
int main_loop_run(void);

/* One iteration of the main loop (BQL held); for tests.  Returns whether
 * a source was dispatched. */
bool main_loop_iterate(bool may_block);

/* Make main_loop_run() return @status.  Any thread, BQL or not. */
void main_loop_exit(int status);

/* Has main_loop_exit() been called (and main_loop_run() not restarted)? */
bool main_loop_exit_requested(void);

/*
 * Run @fn(@data) once on the main thread, BQL held, at the next iteration
 * (a bottom half).  Any thread; never runs @fn synchronously, even from the
 * main thread.  @fn's return value is ignored (the source is one-shot).
 */
void main_loop_schedule(GSourceFunc fn, gpointer data);

#endif
