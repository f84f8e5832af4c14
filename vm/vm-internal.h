/*
 * The VM object's fields, shared by the files of vm/ that make it up:
 * vm.c (new / free), runstate.c (the run state), cpus.c (the vCPU threads,
 * start and stop), cpu-set.c (the vCPUs by index) and shutdown.c (shutdown
 * requests).
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

    /* ---- the throttle (cpu-throttle.c) ---- */
    int throttle_pct;           /* atomic: 0, or 1..99 while throttled */
    /* The kicker of accelerators without an instruction budget; under throttle_lock. */
    QemuMutex throttle_lock;
    QemuCond throttle_cond;     /* a new percentage, or the kicker must exit */
    GThread *throttle_kicker;
    bool throttle_exit;

    /* ---- the dirty limit (dirty-limit.c); BQL ---- */
    int64_t dirty_limit_period_us;  /* rate period and catch-up bound */
};

/* One vCPU's dirty limit (dirty-limit.c); BQL. */
typedef struct CPUDirtyLimit {
    uint64_t limit_mbps;        /* 0: none */
    uint64_t current_mbps;      /* distinct pages of the last period */
    /* The vCPU's own thread, with the BQL held between runs: */
    bool counting;              /* the accelerator counts for us */
    uint64_t budget;            /* what the accelerator was given */
    double tokens;              /* pages it may still dirty */
    int64_t last_us;            /* when @tokens was last refilled */
    int64_t period_start_us;
    uint64_t period_pages;
    int64_t period_wait_us;     /* waited for tokens in this period */
    unsigned period_waits;      /* how many times */
    /* The last period's figures (query-migrate's dirty-limit members): */
    uint64_t rate_pps;          /* distinct pages per second */
    uint64_t round_wait_us;     /* average wait for an empty bucket, 0: none */
} CPUDirtyLimit;

/* vCPU @index's dirty limit (cpus.c owns it). */
CPUDirtyLimit *cpus_dirty_limit_of(VM *vm, int index);

/*
 * Before a run, on the vCPU's thread (BQL held): account the pages of the
 * last run, refill, hand the accelerator the next budget.  Returns how
 * long (µs) the vCPU must wait before it may run, 0 to run now.
 */
int64_t dirty_limit_before_run(VM *vm, CPUDirtyLimit *dl, AccelVCPU *vcpu);

/* One vCPU's throttle bookkeeping; its own thread only. */
typedef struct CPUThrottleSlice {
    uint64_t insns;             /* the next slice's budget (vcpu_run_for) */
    int64_t sleep_us;           /* owed by the last run */
} CPUThrottleSlice;

/*
 * Run @vcpu once: unthrottled, as long as vcpu_run goes; throttled, for one
 * time slice, leaving in @sl->sleep_us how long the vCPU must now sleep.
 * On the vCPU thread, without the BQL.
 */
VCPUExit cpu_throttle_run(VM *vm, CPUThrottleSlice *sl, AccelVCPU *vcpu,
                          GError **errp);

/* One vCPU (cpus.c creates and runs it; cpu-set.c finds it by index). */
typedef struct CPUState {
    VM *vm;             /* the VM it belongs to */
    int index;
    GThread *thread;
    AccelVCPU *vcpu;

    /* Protected by the BQL. */
    bool stop;          /* park at the next opportunity */
    bool parked;        /* waiting on wake, not inside the accelerator */
    bool halted;        /* executed HLT; parked until woken */
    bool exit;          /* leave the thread */
    QemuCond wake;
    gint tid;           /* atomic: the thread's kernel id once it runs, else 0 */

    CPUThrottleSlice throttle;  /* its own thread only */
    CPUDirtyLimit dirty_limit;
} CPUState;

/* vCPU @index, or NULL when there is none. */
CPUState *cpus_get(VM *vm, int index);

/* Kick vCPU @index out of the accelerator.  Any thread, while the vCPU set is fixed. */
void cpus_kick_one(VM *vm, int index);

/* Start / stop the kicker thread; cpus.c calls them around the vCPUs' life.  BQL held. */
void cpu_throttle_init(VM *vm);
void cpu_throttle_cleanup(VM *vm);

#endif
