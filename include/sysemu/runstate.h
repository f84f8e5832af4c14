/*
 * The VM's run state (QEMU's RunState) and the requests that change it:
 * start, stop, shutdown.  The state is the VM object's (sysemu/vm.h), and
 * is read and changed only with the BQL held.
 */
#ifndef SYSEMU_RUNSTATE_H
#define SYSEMU_RUNSTATE_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types.h"
#include "sysemu/vm.h"

/*
 * RunState and ShutdownCause are QEMU's enums, generated from
 * qapi/run-state.json (RUN_STATE_*, SHUTDOWN_CAUSE_*, RunState_str()).
 * tern enters prelaunch, inmigrate, running, paused, finish-migrate,
 * postmigrate, shutdown, internal-error and guest-panicked, and a
 * destination also io-error and watchdog when the source was in them; the
 * others exist for the wire format only.
 */
/* The wire names: "running", "inmigrate", ...; "host-qmp-quit", ... */
const char *runstate_name(RunState state);
const char *shutdown_cause_name(ShutdownCause cause);
/* The RunState named @name, or -1. */
int runstate_from_name(const char *name);

RunState runstate_get(VM *vm);
bool runstate_check(VM *vm, RunState state);
bool runstate_is_running(VM *vm);
/* internal-error or shutdown: only a reset (which tern lacks) leaves them. */
bool runstate_needs_reset(VM *vm);

/* Is @from -> @to one of QEMU's transitions that tern makes? */
bool runstate_transition_valid(RunState from, RunState to);

/*
 * Enter @state.  BQL held.  An invalid transition is a bug in the caller:
 * it is reported and aborts, as in QEMU.  Setting the current state is a
 * no-op.
 */
void runstate_set(VM *vm, RunState state);

/*
 * vm_start() and the vm_stop*() family are defined in vm/cpus.c, since
 * each moves the run state and parks or wakes the vCPUs in one step.
 *
 * Start the vCPUs and enter running; emits RESUME.  BQL held, not on a
 * vCPU thread.  When already running, emits STOP and RESUME as QEMU does
 * and changes nothing.
 */
void vm_start(VM *vm);

/*
 * If the VM is running: enter @state, park every vCPU (on return none is
 * inside the accelerator), emit STOP.  Otherwise nothing.  BQL held.  On a
 * vCPU thread the stop is queued for the main loop instead (returns at once).
 */
void vm_stop(VM *vm, RunState state);

/* Like vm_stop(), but when the VM is not running it still enters @state
 * (the migration source's finish-migrate).  BQL held, not on a vCPU thread. */
void vm_stop_force_state(VM *vm, RunState state);

/* Ask the main loop to vm_stop(@state).  Any thread. */
void vm_stop_request(VM *vm, RunState state);

/* Register a callback run (BQL held) after each start and stop; @running
 * says which.  Returns a handle for vm_state_notifier_remove(). */
typedef void (*VMStateChangeFunc)(void *opaque, bool running, RunState state);
gpointer vm_state_notifier_add(VM *vm, VMStateChangeFunc fn, void *opaque);
void vm_state_notifier_remove(VM *vm, gpointer handle);
/* Run the callbacks, in registration order.  For vm_start() / vm_stop(). */
void vm_state_notify(VM *vm, bool running, RunState state);

/*
 * QEMU's autostart: whether the VM starts once an incoming migration
 * completes.  Set from -S at start-up; stop / cont in run state inmigrate
 * change it instead of the run state.
 */
void runstate_set_autostart(VM *vm, bool autostart);
bool runstate_autostart(VM *vm);

/*
 * Whether a shutdown request stops the VM (-no-shutdown: run state shutdown,
 * the process stays) instead of exiting.  QMP quit and signals always exit.
 */
void runstate_set_no_shutdown(VM *vm, bool no_shutdown);
bool runstate_no_shutdown(VM *vm);

/*
 * Shutdown requests (vm/shutdown.c).
 *
 * Ask the main loop to shut down for @cause: it emits SHUTDOWN (guest =
 * whether the guest asked) and then exits with status 0 or, with
 * -no-shutdown, stops the VM in run state shutdown.  Any thread.
 */
void qemu_system_shutdown_request(VM *vm, ShutdownCause cause);

/*
 * Make the process exit with @status as soon as the main loop runs, without
 * a SHUTDOWN event (isa-debug-exit semantics).  Any thread.
 */
void qemu_system_exit_request(int status);

/* -name / -uuid.  The uuid is 16 bytes; all zero when not given. */
void vm_set_name(VM *vm, const char *name);
const char *vm_get_name(VM *vm);        /* NULL when -name was not given */
void vm_set_uuid(VM *vm, const guint8 uuid[16]);
const guint8 *vm_get_uuid(VM *vm);
bool vm_has_uuid(VM *vm);
/* "00000000-0000-0000-0000-000000000000" form; g_free() it. */
char *vm_uuid_string(VM *vm);
/* Parse the canonical 8-4-4-4-12 hex form. */
bool qemu_uuid_parse(const char *str, guint8 uuid[16], GError **errp);

#endif
