/*
 * Shutdown requests: the main loop emits SHUTDOWN, then exits or, with
 * -no-shutdown, stops the VM in run state shutdown; and isa-debug-exit's
 * exit with a status.  Above both the run state and the vCPUs.
 */
#include <stdlib.h>

#include "qapi/qapi-events.h"
#include "qemu/main-loop.h"
#include "vm-internal.h"

/* QEMU's rule: causes from guest-shutdown on, except subsystem-reset and
 * snapshot-load, were asked for by the guest. */
static bool shutdown_caused_by_guest(ShutdownCause cause)
{
    return cause >= SHUTDOWN_CAUSE_GUEST_SHUTDOWN &&
           cause != SHUTDOWN_CAUSE_SUBSYSTEM_RESET &&
           cause != SHUTDOWN_CAUSE_SNAPSHOT_LOAD;
}

/* One bottom half per request: it acts on the oldest one. */
static gboolean shutdown_bh(gpointer opaque)
{
    VM *vm = opaque;
    ShutdownCause cause = GPOINTER_TO_INT(
        g_async_queue_pop(vm->shutdown_requests));
    bool forced = cause == SHUTDOWN_CAUSE_HOST_QMP_QUIT ||
                  cause == SHUTDOWN_CAUSE_HOST_SIGNAL;

    qapi_event_send_shutdown(shutdown_caused_by_guest(cause), cause);

    if (runstate_no_shutdown(vm) && !forced) {
        vm_stop(vm, RUN_STATE_SHUTDOWN);
    } else {
        main_loop_exit(EXIT_SUCCESS);
    }
    return G_SOURCE_REMOVE;
}

void qemu_system_shutdown_request(VM *vm, ShutdownCause cause)
{
    g_assert(cause > SHUTDOWN_CAUSE_NONE && cause < SHUTDOWN_CAUSE__MAX);
    g_async_queue_push(vm->shutdown_requests, GINT_TO_POINTER(cause));
    main_loop_schedule(shutdown_bh, vm);
}

void qemu_system_exit_request(int status)
{
    main_loop_exit(status);
}

