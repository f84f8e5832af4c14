/*
 * The VM object's fields, shared by the files of vm/ that make it up:
 * vm.c (new / free), runstate.c (the run state), cpus.c (the vCPUs, start
 * and stop) and shutdown.c (shutdown requests).
 */
#ifndef VM_VM_INTERNAL_H
#define VM_VM_INTERNAL_H

#include "qemu/thread.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "sysemu/vm.h"

struct VM {
    /* ---- the run state (runstate.c); BQL ---- */
    RunState state;
    bool autostart;
    bool no_shutdown;
    GList *notifiers;           /* VMStateNotifier, in registration order */
    char *name;
    guint8 uuid[16];
    bool has_uuid;

    /*
     * Requests for the main loop, one bottom half per entry (any thread):
     * RunStates to stop in (as state + 1, so none is NULL) and
     * ShutdownCauses (never SHUTDOWN_CAUSE_NONE, so none is NULL).
     */
    GAsyncQueue *stop_requests;
    GAsyncQueue *shutdown_requests;

    /* ---- the vCPUs (cpus.c); BQL ---- */
    const AccelOps *ops;
    AccelState *accel;
    CPUIOHandler io;
    GPtrArray *cpus;            /* CPUState*, by index; NULL: none created */
    QemuCond parked_cond;       /* signalled when a vCPU parks */
    int quiesce;                /* cpus_quiesce_begin() calls not yet ended */
    char *last_error;
};

#endif
