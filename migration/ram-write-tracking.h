/*
 * RAM write tracking for background-snapshot (qemu-migration-facts-2.md
 * §17.1): from the snapshot instant on, every RAM block is write-protected
 * with userfaultfd (UFFDIO_REGISTER_MODE_WP), so that each page is saved as
 * it was at the instant before the guest's first write to it changes it.
 *
 * Two threads share the pages still to save (rb->bmap, claimed with atomic
 * bit operations, so each page is saved exactly once):
 *  - the migration thread claims pages in address order, writes them into
 *    the stream from guest memory (unchanged since the instant: any write
 *    would have faulted), then un-protects them;
 *  - the fault thread ("mig/snapshot/wp") reads the write faults, claims
 *    the page that faulted, copies it into a ring the migration thread
 *    drains first, and un-protects it, which lets the writer go on.
 * A page the migration thread holds when the guest writes it is
 * un-protected by the migration thread once saved; that wakes the writer.
 */
#ifndef MIGRATION_RAM_WRITE_TRACKING_H
#define MIGRATION_RAM_WRITE_TRACKING_H

#include "migration/ram.h"

typedef struct RAMSendRun RAMSendRun;     /* ram-send.h */

/*
 * Can this host write-protect memory with userfaultfd?  Else *@errp is
 * QEMU's "Background-snapshot is not supported by host kernel".
 */
bool ram_write_tracking_available(GError **errp);

/*
 * Can every block of @blocks (RAMBlock *) be registered for write-protect
 * faults?  Else *@errp is QEMU's "Background-snapshot is not compatible
 * with guest memory configuration".
 */
bool ram_write_tracking_compatible(GPtrArray *blocks, GError **errp);

/*
 * Before save_setup: the next save of @rs sends every page once and reads
 * no dirty log (setup takes no baseline, iterate and complete never sync):
 * a background snapshot, or a save of a stopped guest.
 */
void ram_state_set_single_pass(RAMState *rs, bool on);

/*
 * The snapshot instant (migration thread, BQL held, vCPUs stopped, after
 * save_setup): write-protect every block and start the fault thread.  From
 * here until ram_write_tracking_stop(), iterate saves pages through the
 * tracking and the guest may run.
 */
bool ram_write_tracking_start(RAMState *rs, GError **errp);

/*
 * End the tracking (migration thread; NULL-safe, idempotent): the fault
 * thread is joined and every page un-protected, so no writer stays blocked.
 */
void ram_write_tracking_stop(RAMState *rs);

/*
 * Migration thread, while the tracking runs: save the fault thread's
 * copies and the pages nobody claimed yet, until none is left or, when
 * @limited, the rate limit or @deadline (g_get_monotonic_time()) ends the
 * call.
 */
void ram_write_tracking_send(RAMState *rs, QEMUFile *f, bool limited, int64_t deadline,
                             RAMSendRun *run);

#endif
