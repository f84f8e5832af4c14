/*
 * Auto-converge (auto-converge.h): QEMU's trigger, evaluated after each
 * dirty sync over periods of at least a second, and QEMU's throttle steps.
 * The throttle itself is the machine's (MigrationMachineOps.throttle_set:
 * vm/cpu-throttle.c in tern).
 */
#include "auto-converge.h"

#include "migration/migration.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "exec/ramblock.h"

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

/* ---- the running migration ---- */

static ConvergeSample migration_converge_sample(MigrationState *s)
{
    return (ConvergeSample) {
        .now_ms = g_get_monotonic_time() / 1000,
        .dirtied_pages = ram_state_dirtied_pages(s->ram),
        .bytes_sent = s->to_dst ? qemu_file_transferred(s->to_dst) : 0,
    };
}

void migration_converge_start(MigrationConverge *mc, MigrationState *s)
{
    ConvergeSample now = migration_converge_sample(s);

    mc->s = s;
    converge_init(&mc->state, &now);
}

void migration_converge_sync(MigrationConverge *mc)
{
    MigrationState *s = mc->s;
    const MigrationParameters *p = migrate_params(s->run_opts);
    ConvergeSample now = migration_converge_sample(s);
    ConvergeExcess excess;
    int pct;

    if (!converge_period_end(&mc->state, &now, p->throttle_trigger_threshold,
                             &excess) ||
        !migrate_cap(s->run_opts, MIGRATION_CAPABILITY_AUTO_CONVERGE)) {
        return;
    }
    pct = auto_converge_step(p, s->machine.throttle_get(s->machine.opaque), &excess);
    s->machine.throttle_set(s->machine.opaque, pct);
}

void migration_converge_stop(MigrationState *s)
{
    s->machine.throttle_set(s->machine.opaque, 0);
}
