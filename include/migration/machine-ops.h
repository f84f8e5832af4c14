/*
 * What the migration core needs of the machine it moves, besides its RAM
 * and sections: the VM's run state and the vCPUs' start and stop, the dirty
 * log around a migration, and the identity the configuration section
 * carries.  The process assembly fills it in from vm/ and hw/
 * (system/assembly.c); unit tests fill it in with fakes, so the
 * core links with util and qapi alone.
 */
#ifndef MIGRATION_MACHINE_OPS_H
#define MIGRATION_MACHINE_OPS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/qapi-types.h"

typedef struct MigrationMachineOps {
    /* The configuration section's machine name ("tern-pc"); static. */
    const char *machine_type;
    /* -uuid: copy it into @uuid and return true, or false when none was given.  Any thread. */
    bool (*uuid)(void *opaque, uint8_t uuid[16]);

    /* ---- the run state; BQL held ---- */
    RunState (*get_state)(void *opaque);
    /* Enter @state; the transition must be one may_enter() allows. */
    void (*set_state)(void *opaque, RunState state);
    /* May the VM go from its current run state to @state? */
    bool (*may_enter)(void *opaque, RunState state);
    /* Does a destination whose source was running start the guest (no -S)? */
    bool (*autostart)(void *opaque);
    /* Start the vCPUs and enter running. */
    void (*start)(void *opaque);
    /* Park the vCPUs if they run, and enter @state either way. */
    void (*stop)(void *opaque, RunState state);

    /* ---- guest writes; BQL held: on before the sections' setup, off at the end ---- */
    bool (*dirty_log_start)(void *opaque, GError **errp);
    void (*dirty_log_stop)(void *opaque);

    /* ---- the vCPU throttle (auto-converge); any thread ---- */
    /* Throttle the vCPUs by @pct percent (1..99), or not at all (0). */
    void (*throttle_set)(void *opaque, int pct);
    /* The percentage in force; 0 when not throttled. */
    int (*throttle_get)(void *opaque);

    /* ---- the vCPUs, for postcopy blocktime; any thread ---- */
    int (*vcpu_count)(void *opaque);
    /* The index of the vCPU running on kernel thread @tid, or -1. */
    int (*vcpu_index_of_thread)(void *opaque, int tid);

    /*
     * ---- the vCPU dirty limit (capability dirty-limit); BQL held ----
     * NULL where the machine cannot limit (as a machine whose
     * dirty_limit_supported says no).
     */
    /* Can the accelerator hold vCPUs to a dirty rate (QEMU: KVM's dirty ring)? */
    bool (*dirty_limit_supported)(void *opaque);
    /*
     * Limit every vCPU to @mbps MB/s, its rate measured over periods of
     * @period_ms; @mbps 0 lifts every vCPU's limit (the period returns to 1 s).
     */
    void (*dirty_limit_set)(void *opaque, uint64_t mbps, uint64_t period_ms);
    /* query-migrate's figures (µs); false when no vCPU is limited. */
    bool (*dirty_limit_info)(void *opaque, uint64_t *throttle_us, uint64_t *ring_full_us);

    void *opaque;
} MigrationMachineOps;

#endif
