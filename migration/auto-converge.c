/*
 * Auto-converge (auto-converge.h): QEMU's trigger, evaluated after each
 * dirty sync over periods of at least a second, and its two actions:
 * QEMU's throttle steps (auto-converge; at max-cpu-throttle tern's own
 * dirty-page budget on top), or every vCPU limited to vcpu-dirty-limit
 * (dirty-limit).  The throttle and the limit are the
 * machine's (MigrationMachineOps: vm/cpu-throttle.c, vm/dirty-limit.c).
 */
#include "auto-converge.h"

#include "migration/migration.h"
#include "migration/misc.h"
#include "migration-states.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "exec/ramblock.h"
#include "qemu/main-loop.h"

#include <glib.h>

void converge_init(ConvergeState *c, const ConvergeSample *now)
{
    *c = (ConvergeState) { .period = *now };
}

bool converge_period_end(ConvergeState *c, const ConvergeSample *now,
                         unsigned threshold_pct, ConvergeExcess *excess)
{
    uint64_t sent, dirty, threshold;
    bool act = false;

    if (now->now_ms <= c->period.now_ms + CONVERGE_PERIOD_MS) {
        return false;
    }
    sent = now->bytes_sent - c->period.bytes_sent;
    dirty = (now->dirtied_pages - c->period.dirtied_pages) * TARGET_PAGE_SIZE;
    threshold = sent * threshold_pct / 100;
    c->periods++;
    c->last_sent = sent;
    c->last_ms = now->now_ms - c->period.now_ms;
    if (dirty > threshold && ++c->high_periods >= 2) {
        c->high_periods = 0;
        *excess = (ConvergeExcess) { .dirty_bytes = dirty, .threshold_bytes = threshold };
        act = true;
    }
    c->period = *now;
    return act;
}

int auto_converge_step(const MigrationParameters *p, int throttle_now,
                       const ConvergeExcess *excess)
{
    uint64_t increment = p->cpu_throttle_increment;
    int next;

    if (throttle_now == 0) {
        next = p->cpu_throttle_initial;
    } else {
        if (p->cpu_throttle_tailslow) {
            /* The CPU share at which the guest would dirty just the threshold. */
            uint64_t cpu_now = 100 - throttle_now;
            uint64_t cpu_ideal = cpu_now * ((double)excess->threshold_bytes /
                                            excess->dirty_bytes);

            increment = MIN(cpu_now - cpu_ideal, increment);
        }
        next = MIN(throttle_now + (int)increment, (int)p->max_cpu_throttle);
    }
    return CLAMP(next, 1, 99);
}

bool auto_converge_budget_due(const MigrationParameters *p, int throttle_now)
{
    return p->x_auto_converge_dirty_budget > 0 &&
           throttle_now >= (int)p->max_cpu_throttle;
}

uint64_t auto_converge_dirty_budget(unsigned pct, uint64_t sent_bytes, int64_t period_ms,
                                    unsigned vcpus)
{
    double bytes_per_s;

    if (!pct || !vcpus || period_ms <= 0) {
        return 0;
    }
    bytes_per_s = (double)sent_bytes * 1000 / period_ms * pct / 100;
    return MAX((uint64_t)(bytes_per_s / vcpus) >> 20, 1);
}

/* ---- the running migration ---- */

static ConvergeSample migration_converge_sample(MigrationConverge *mc)
{
    MigrationState *s = mc->s;

    return (ConvergeSample) {
        .now_ms = migration_clock_now_us(mc->clock) / 1000,
        .dirtied_pages = ram_state_dirtied_pages(s->ram),
        .bytes_sent = s->to_dst ? qemu_file_transferred(s->to_dst) : 0,
    };
}

void migration_converge_start(MigrationConverge *mc, MigrationState *s,
                              const MigrationClock *clock)
{
    ConvergeSample now;

    *mc = (MigrationConverge) { .s = s, .clock = clock };
    now = migration_converge_sample(mc);
    converge_init(&mc->state, &now);
}

/*
 * The dirty-limit action: every vCPU limited to vcpu-dirty-limit, measured
 * over x-vcpu-dirty-limit-period (the migration's copy, fixed while it
 * runs).  Applied once: a later vcpu-dirty-limit is applied as it is set
 * (migration_set_vcpu_dirty_limit), where QEMU waits for its next trigger.
 */
static void migration_dirty_limit_apply(MigrationConverge *mc)
{
    MigrationState *s = mc->s;
    const MigrationParameters *p = migrate_params(s->run_opts);

    if (!s->machine.dirty_limit_set) {
        return;
    }
    bql_lock();
    if (!s->dirty_limit_applied) {
        s->machine.dirty_limit_set(s->machine.opaque, s->vcpu_dirty_limit,
                                   p->x_vcpu_dirty_limit_period);
        s->dirty_limit_applied = true;
    }
    bql_unlock();
}

void migration_set_vcpu_dirty_limit(MigrationState *s, uint64_t mbps)
{
    s->vcpu_dirty_limit = mbps;
    /* Applied means running with the capability: run_opts is this migration's. */
    if (s->dirty_limit_applied && s->machine.dirty_limit_set) {
        s->machine.dirty_limit_set(s->machine.opaque, mbps,
                                   migrate_params(s->run_opts)->x_vcpu_dirty_limit_period);
    }
}

/*
 * The dirty-page budget, from the period that just ended: applied to every
 * vCPU when it changed (the bandwidth moved), where the machine can limit.
 */
static void migration_converge_budget_apply(MigrationConverge *mc)
{
    MigrationState *s = mc->s;
    const MigrationParameters *p = migrate_params(s->run_opts);
    int vcpus = s->machine.vcpu_count ? s->machine.vcpu_count(s->machine.opaque) : 1;
    uint64_t mbps = auto_converge_dirty_budget(p->x_auto_converge_dirty_budget,
                                               mc->state.last_sent, mc->state.last_ms,
                                               MAX(vcpus, 1));

    if (!mbps || !s->machine.dirty_limit_supported) {
        return;
    }
    bql_lock();
    /* KVM has no dirty ring in tern: QEMU's behaviour, the throttle alone. */
    if (s->machine.dirty_limit_supported(s->machine.opaque) &&
        mbps != s->converge_budget_mbps) {
        s->machine.dirty_limit_set(s->machine.opaque, mbps, p->x_vcpu_dirty_limit_period);
        s->converge_budget_mbps = mbps;
    }
    bql_unlock();
}

void migration_converge_sync(MigrationConverge *mc)
{
    MigrationState *s = mc->s;
    const MigrationParameters *p = migrate_params(s->run_opts);
    ConvergeSample now = migration_converge_sample(mc);
    unsigned periods = mc->state.periods;
    ConvergeExcess excess;
    bool act;
    int pct;

    act = converge_period_end(&mc->state, &now, p->throttle_trigger_threshold, &excess);
    /*
     * Only while the guest runs and the thread iterates without the BQL:
     * the syncs of setup and of the switchover hold it, and the guest
     * stops at the switchover anyway.
     */
    if (mc->state.periods == periods || migration_status(s) != MIGRATION_STATUS_ACTIVE) {
        return;
    }
    if (migrate_cap(s->run_opts, MIGRATION_CAPABILITY_AUTO_CONVERGE)) {
        if (act) {
            int throttle_now = s->machine.throttle_get(s->machine.opaque);

            /* At the maximum and still too fast: QEMU's rule has nothing left. */
            mc->budget_due |= auto_converge_budget_due(p, throttle_now);
            pct = auto_converge_step(p, throttle_now, &excess);
            s->machine.throttle_set(s->machine.opaque, pct);
        }
        if (mc->budget_due) {
            migration_converge_budget_apply(mc);
        }
    } else if (act && migrate_cap(s->run_opts, MIGRATION_CAPABILITY_DIRTY_LIMIT)) {
        migration_dirty_limit_apply(mc);
    }
}

void migration_converge_stop(MigrationState *s)
{
    bool limited = s->converge_budget_mbps != 0;

    s->dirty_limit_applied = false;
    s->converge_budget_mbps = 0;
    s->machine.throttle_set(s->machine.opaque, 0);
    /* As QEMU's migrate_cancel, and at any other end: every vCPU's limit goes. */
    if (s->run_opts && migrate_cap(s->run_opts, MIGRATION_CAPABILITY_DIRTY_LIMIT)) {
        limited = true;
    }
    if (limited && s->machine.dirty_limit_set) {
        s->machine.dirty_limit_set(s->machine.opaque, 0, 0);
    }
}

bool migration_dirty_limit_held(MigrationState *s)
{
    return migration_is_running(migration_status(s)) &&
           (migrate_cap(s->opts, MIGRATION_CAPABILITY_DIRTY_LIMIT) ||
            s->converge_budget_mbps);
}

void migration_converge_info(MigrationState *s, MigrationInfo *info)
{
    uint64_t throttle_us, ring_full_us;

    info->cpu_throttle_percentage = s->machine.throttle_get(s->machine.opaque);
    info->has_cpu_throttle_percentage = info->cpu_throttle_percentage != 0;
    info->has_x_auto_converge_dirty_limit = s->converge_budget_mbps != 0;
    info->x_auto_converge_dirty_limit = s->converge_budget_mbps;
    /* As QEMU: with the capability on (now), while the limiter runs. */
    if (migrate_cap(s->opts, MIGRATION_CAPABILITY_DIRTY_LIMIT) &&
        s->machine.dirty_limit_info &&
        s->machine.dirty_limit_info(s->machine.opaque, &throttle_us, &ring_full_us)) {
        info->has_dirty_limit_throttle_time_per_round = true;
        info->dirty_limit_throttle_time_per_round = throttle_us;
        info->has_dirty_limit_ring_full_time = true;
        info->dirty_limit_ring_full_time = ring_full_us;
    }
}
