/*
 * The running VM: one object holding the run state (sysemu/runstate.h) and
 * the vCPU set (sysemu/cpus.h), since vm_start() and vm_stop() move both
 * in one step.  The process assembly creates it (TernContext.vm), the
 * machine runs its vCPUs on it, and every caller is handed it.
 */
#ifndef SYSEMU_VM_H
#define SYSEMU_VM_H

#include <glib.h>

typedef struct VM VM;

/* A VM in run state prelaunch with autostart on and no vCPUs. */
VM *vm_new(void);

/* Free @vm; its vCPUs must be destroyed already (cpus_destroy()).
 * NULL-safe.  No request for it may be pending in the main loop. */
void vm_free(VM *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VM, vm_free)

#endif
