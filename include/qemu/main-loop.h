/*
 * The big lock (BQL).  The main loop holds it while dispatching; vCPU threads
 * take it for device I/O; the migration thread takes it only for its short
 * critical moments (DESIGN "Threads and locks").
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include <stdbool.h>

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);      /* true if the calling thread holds the BQL */

#endif
