/*
 * Shutdown requests: the main loop emits SHUTDOWN, then exits or, with
 * -no-shutdown, stops the VM in run state shutdown; and isa-debug-exit's
 * exit with a status.  Above both the run state and the vCPUs.
 */
#include <stdlib.h>

#include "qapi/qapi-events.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"

/* QEMU's rule: causes from guest-shutdown on, except subsystem-reset and
 * snapshot-load, were asked for by the guest. */
static bool shutdown_caused_by_guest(ShutdownCause cause)
{
    return cause >= SHUTDOWN_CAUSE_GUEST_SHUTDOWN &&
           cause != SHUTDOWN_CAUSE_SUBSYSTEM_RESET &&
           cause != SHUTDOWN_CAUSE_SNAPSHOT_LOAD;
}

static gboolean shutdown_bh(gpointer opaque)
{
    ShutdownCause cause = GPOINTER_TO_INT(opaque);
    bool forced = cause == SHUTDOWN_CAUSE_HOST_QMP_QUIT ||
                  cause == SHUTDOWN_CAUSE_HOST_SIGNAL;

    qapi_event_send_shutdown(shutdown_caused_by_guest(cause), cause);

    if (runstate_no_shutdown() && !forced) {
        vm_stop(RUN_STATE_SHUTDOWN);
    } else {
        main_loop_exit(EXIT_SUCCESS);
    }
    return G_SOURCE_REMOVE;
}

void qemu_system_shutdown_request(ShutdownCause cause)
{
    g_assert(cause > SHUTDOWN_CAUSE_NONE && cause < SHUTDOWN_CAUSE__MAX);
    main_loop_schedule(shutdown_bh, GINT_TO_POINTER(cause));
}

void qemu_system_exit_request(int status)
{
    main_loop_exit(status);
}

