/*
 * background-snapshot (background-snapshot.h), the migration thread's part.
 *
 * Order on the wire, as QEMU's: header, configuration and the setup
 * sections (written while the guest runs: RAM's block list); then RAM's
 * pages as of the instant in PART sections; then the device state taken
 * at the instant (FULL sections, EOF, vmdesc), kept in a buffer until the
 * pages are out.  There is no RAM END section, and the stream loads as any
 * other.  No dirty log and no rate limit: each page goes once.  With
 * mapped-ram the pages go to their file slots instead of PART sections
 * and the bitmaps follow the last page (ram-write-tracking.c).
 *
 * The instant, under the BQL: the guest stops (STOP), the run state goes
 * into the globalstate section, the devices are saved into the buffer, RAM
 * is write-protected (ram-write-tracking.c), and the guest runs again
 * (RESUME) if it ran.  From there on a guest write to a page not saved
 * yet waits until the page is copied out.
 */
#include "background-snapshot.h"
#include "migration-states.h"
#include "ram-write-tracking.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

bool background_snapshot_enabled(MigrationState *s)
{
    return migrate_cap(s->run_opts, MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT);
}


bool background_snapshot_check_host(GPtrArray *blocks, GError **errp)
{
    return ram_write_tracking_available(errp) &&
           ram_write_tracking_compatible(blocks, errp);
}

/*
 * The instant (BQL held): *@devices gets the device state as of now, RAM
 * is write-protected, and the guest goes on as it was.
 */
static bool background_snapshot_instant(MigrationState *s, GBytes **devices, GError **errp)
{
    int64_t stop_ms = g_get_monotonic_time() / 1000;
    QEMUFile *fb = qemu_file_new_output_buffer();
    bool ok;

    s->vm_old_state = s->machine.get_state(s->machine.opaque);
    global_state_store(s->global_state, s->vm_old_state);
    /* As QEMU's vm_stop(): a guest that does not run (paused, prelaunch) keeps its state. */
    if (s->vm_old_state == RUN_STATE_RUNNING) {
        s->machine.stop(s->machine.opaque, RUN_STATE_PAUSED);
    }
    ok = savevm_state_complete_non_iterable(s->savevm, fb, errp) &&
         ram_write_tracking_start(s->ram, errp);
    if (ok) {
        *devices = qemu_file_output_buffer_bytes(fb);
    }
    qemu_fclose(fb, NULL);
    if (s->vm_old_state == RUN_STATE_RUNNING) {
        s->machine.start(s->machine.opaque);
    }
    /* As QEMU reports it: how long the guest stood still. */
    __atomic_store_n(&s->downtime, g_get_monotonic_time() / 1000 - stop_ms, __ATOMIC_RELAXED);
    return ok;
}

/* No rate limit, as QEMU's snapshot thread: iterate stops early only for a cancel. */
static bool background_snapshot_cancelled(void *opaque)
{
    return migration_status(opaque) == MIGRATION_STATUS_CANCELLING;
}

/* Every page as of the instant, in PART sections. */
static bool background_snapshot_pages(MigrationState *s, GError **errp)
{
    for (;;) {
        SaveVMIterateResult res = savevm_state_iterate(s->savevm, s->to_dst, errp);

        migration_stat_set(&s->stats.transferred, qemu_file_transferred(s->to_dst));
        if (res == SAVEVM_ITERATE_ERROR || !qemu_file_check_error(s->to_dst, errp)) {
            return false;
        }
        if (migration_status(s) != MIGRATION_STATUS_ACTIVE) {
            error_setg(errp, "migration cancelled");
            return false;
        }
        if (res == SAVEVM_ITERATE_DONE) {
            return true;
        }
    }
}

bool background_snapshot_run(MigrationState *s, GError **errp)
{
    g_autoptr(GBytes) devices = NULL;
    const void *data;
    gsize len;
    bool ok;

    ram_state_set_rate_limit(s->ram, &(RAMRateLimit){ background_snapshot_cancelled, s });
    bql_lock();
    ok = background_snapshot_instant(s, &devices, errp);
    bql_unlock();
    ok = ok && background_snapshot_pages(s, errp);
    /* Every page is out: the guest writes freely again. */
    ram_write_tracking_stop(s->ram);
    if (!ok) {
        return false;
    }
    data = g_bytes_get_data(devices, &len);
    qemu_put_buffer(s->to_dst, data, len);
    qemu_fflush(s->to_dst);
    migration_stat_set(&s->stats.transferred, qemu_file_transferred(s->to_dst));
    if (!qemu_file_check_error(s->to_dst, errp)) {
        return false;
    }
    bql_lock();
    if (migration_status(s) != MIGRATION_STATUS_ACTIVE) {
        bql_unlock();
        error_setg(errp, "migration cancelled");
        return false;
    }
    return true;
}
