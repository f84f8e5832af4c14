/*
 * Auto-converge's rule (migration/auto-converge.c) on fake dirty counts:
 * when a period ends, when it counts as high, when the throttle moves, and
 * the steps it moves by (QEMU 9.1's migration_trigger_throttle and
 * mig_throttle_guest_down, qemu-migration-facts-2.md §14.1-14.2).
 */
#include "auto-converge.h"
#include "migration/options.h"
#include "exec/ramblock.h"

#include <glib.h>

#define MIB (1024 * 1024)

/* One sync @ms after the previous sample, having sent @sent bytes and found @dirty bytes dirtied. */
static ConvergeSample sample_after(const ConvergeSample *prev, int64_t ms,
                                   uint64_t sent, uint64_t dirty)
{
    return (ConvergeSample) {
        .now_ms = prev->now_ms + ms,
        .dirtied_pages = prev->dirtied_pages + dirty / TARGET_PAGE_SIZE,
        .bytes_sent = prev->bytes_sent + sent,
    };
}

/* A period ends only after more than 1000 ms; until then nothing counts. */
static void test_period_length(void)
{
    ConvergeSample t0 = { .now_ms = 5000 };
    ConvergeSample t;
    ConvergeState c;
    ConvergeExcess e;

    converge_init(&c, &t0);
    /* Exactly 1000 ms: still the same period (QEMU compares with >). */
    t = sample_after(&t0, 1000, MIB, 100 * MIB);
    g_assert_false(converge_period_end(&c, &t, 50, &e));
    g_assert_cmpint(c.high_periods, ==, 0);
    g_assert_cmpint(c.period.now_ms, ==, 5000);
    /* 1001 ms: a high period ends, the next begins here. */
    t = sample_after(&t0, 1001, MIB, 100 * MIB);
    g_assert_false(converge_period_end(&c, &t, 50, &e));
    g_assert_cmpint(c.high_periods, ==, 1);
    g_assert_cmpint(c.period.now_ms, ==, 6001);
}

/* High means dirtied > sent x threshold%; the second high period acts, a low one in between does not reset the count. */
static void test_trigger(void)
{
    ConvergeSample t = { .now_ms = 0 };
    ConvergeState c;
    ConvergeExcess e = { 0 };

    converge_init(&c, &t);
    /* 10 MiB sent, 5 MiB dirtied: exactly 50 %, not above it. */
    t = sample_after(&t, 1500, 10 * MIB, 5 * MIB);
    g_assert_false(converge_period_end(&c, &t, 50, &e));
    g_assert_cmpint(c.high_periods, ==, 0);
    /* One page more: high, first time. */
    t = sample_after(&t, 1500, 10 * MIB, 5 * MIB + TARGET_PAGE_SIZE);
    g_assert_false(converge_period_end(&c, &t, 50, &e));
    g_assert_cmpint(c.high_periods, ==, 1);
    /* A low period keeps the count. */
    t = sample_after(&t, 1500, 10 * MIB, MIB);
    g_assert_false(converge_period_end(&c, &t, 50, &e));
    g_assert_cmpint(c.high_periods, ==, 1);
    /* The second high period acts, with its own figures, and restarts the count. */
    t = sample_after(&t, 1500, 8 * MIB, 6 * MIB);
    g_assert_true(converge_period_end(&c, &t, 50, &e));
    g_assert_cmpint(c.high_periods, ==, 0);
    g_assert_cmpuint(e.dirty_bytes, ==, 6 * MIB);
    g_assert_cmpuint(e.threshold_bytes, ==, 4 * MIB);
    /* With threshold 100 the same figures are low. */
    t = sample_after(&t, 1500, 8 * MIB, 6 * MIB);
    g_assert_false(converge_period_end(&c, &t, 100, &e));
    g_assert_cmpint(c.high_periods, ==, 0);
}

/* Defaults: 20 first, +10 after, capped at 99; max-cpu-throttle caps lower. */
static void test_steps(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    MigrationParameters *p = o->params;
    ConvergeExcess e = { .dirty_bytes = 10 * MIB, .threshold_bytes = MIB };
    static const int expect[] = { 20, 30, 40, 50, 60, 70, 80, 90, 99, 99 };
    int pct = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
        pct = auto_converge_step(p, pct, &e);
        g_assert_cmpint(pct, ==, expect[i]);
    }
    p->cpu_throttle_initial = 5;
    p->cpu_throttle_increment = 30;
    p->max_cpu_throttle = 50;
    g_assert_cmpint(auto_converge_step(p, 0, &e), ==, 5);
    g_assert_cmpint(auto_converge_step(p, 5, &e), ==, 35);
    g_assert_cmpint(auto_converge_step(p, 35, &e), ==, 50);
    g_assert_cmpint(auto_converge_step(p, 50, &e), ==, 50);
}

/* Tailslow: the step is at most what brings the CPU share to threshold/dirty of itself. */
static void test_tailslow(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    MigrationParameters *p = o->params;
    /* Dirtying twice the threshold: ideal CPU 40 of 80, the full +10 applies. */
    ConvergeExcess twice = { .dirty_bytes = 20 * MIB, .threshold_bytes = 10 * MIB };
    /* 5 % over it: ideal CPU = 80 x 0.952 = 76 (truncated), so +4. */
    ConvergeExcess near = { .dirty_bytes = 21 * MIB, .threshold_bytes = 20 * MIB };

    p->cpu_throttle_tailslow = true;
    g_assert_cmpint(auto_converge_step(p, 0, &near), ==, 20);   /* the first step is whole */
    g_assert_cmpint(auto_converge_step(p, 20, &twice), ==, 30);
    g_assert_cmpint(auto_converge_step(p, 20, &near), ==, 24);
    p->cpu_throttle_tailslow = false;
    g_assert_cmpint(auto_converge_step(p, 20, &near), ==, 30);
}

/*
 * A guest dirtying 100 MiB/s against a link sending 10 MiB/s, one sync
 * every 1.5 s: the throttle moves on every second period, by QEMU's steps.
 */
static void test_sequence(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    ConvergeSample t = { .now_ms = 100 };
    ConvergeState c;
    int pct = 0;
    int moves = 0;

    converge_init(&c, &t);
    for (int period = 1; period <= 8; period++) {
        ConvergeExcess e;

        t = sample_after(&t, 1500, 15 * MIB, 150 * MIB);
        if (converge_period_end(&c, &t, 50, &e)) {
            g_assert_cmpint(period % 2, ==, 0);
            pct = auto_converge_step(o->params, pct, &e);
            moves++;
            g_assert_cmpint(pct, ==, 20 + 10 * (moves - 1));
        } else {
            g_assert_cmpint(period % 2, ==, 1);
        }
    }
    g_assert_cmpint(moves, ==, 4);
    g_assert_cmpint(pct, ==, 50);
}

/* tern's dirty-page budget: a share of the period's bytes sent per second, per vCPU. */
static void test_budget(void)
{
    /* 128 MiB in 1 s, half of it, one vCPU: 64 MB/s (QEMU's MB are MiB). */
    g_assert_cmpuint(auto_converge_dirty_budget(50, 128 * MIB, 1000, 1), ==, 64);
    /* Shared by the vCPUs. */
    g_assert_cmpuint(auto_converge_dirty_budget(50, 128 * MIB, 1000, 2), ==, 32);
    /* A rate, not a quantity: 192 MiB over 1.5 s is 128 MiB/s. */
    g_assert_cmpuint(auto_converge_dirty_budget(50, 192 * MIB, 1500, 1), ==, 64);
    g_assert_cmpuint(auto_converge_dirty_budget(25, 192 * MIB, 1500, 1), ==, 32);
    /* Rounded down (3.9 -> 3), never below the limit's unit. */
    g_assert_cmpuint(auto_converge_dirty_budget(50, 78 * MIB / 10, 1000, 1), ==, 3);
    g_assert_cmpuint(auto_converge_dirty_budget(50, MIB, 1000, 4), ==, 1);
    /* Nothing to share, or off. */
    g_assert_cmpuint(auto_converge_dirty_budget(0, 128 * MIB, 1000, 1), ==, 0);
    g_assert_cmpuint(auto_converge_dirty_budget(50, 128 * MIB, 0, 1), ==, 0);
    g_assert_cmpuint(auto_converge_dirty_budget(50, 128 * MIB, 1000, 0), ==, 0);
}

/* Due at max-cpu-throttle only, and never with the parameter 0. */
static void test_budget_due(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    MigrationParameters *p = o->params;

    g_assert_cmpuint(p->x_auto_converge_dirty_budget, ==, 50);
    g_assert_false(auto_converge_budget_due(p, 0));
    g_assert_false(auto_converge_budget_due(p, 98));
    g_assert_true(auto_converge_budget_due(p, 99));
    p->max_cpu_throttle = 20;
    g_assert_true(auto_converge_budget_due(p, 20));
    p->x_auto_converge_dirty_budget = 0;
    g_assert_false(auto_converge_budget_due(p, 20));
}

/*
 * The bench's case on the fake clock of the samples: a-b rewrites 100 MiB
 * between any two syncs whatever the throttle, the link sends 192 MiB per
 * 1.5 s period (128 MiB/s).  QEMU's steps take the throttle from 20 to 99
 * in nine actions; the tenth finds it at 99 and makes the budget due, at
 * half of what the period sent: 64 MB/s for the one vCPU.
 */
static void test_budget_sequence(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    ConvergeSample t = { .now_ms = 0 };
    ConvergeState c;
    unsigned actions = 0;
    bool due = false;
    int pct = 0;

    converge_init(&c, &t);
    for (int period = 1; period <= 20; period++) {
        ConvergeExcess e;

        t = sample_after(&t, 1500, 192 * MIB, 100 * MIB);
        g_assert_false(due);
        if (converge_period_end(&c, &t, o->params->throttle_trigger_threshold, &e)) {
            actions++;
            due = auto_converge_budget_due(o->params, pct);
            pct = auto_converge_step(o->params, pct, &e);
        }
        g_assert_cmpuint(c.periods, ==, period);
        g_assert_cmpuint(c.last_sent, ==, 192 * MIB);
        g_assert_cmpint(c.last_ms, ==, 1500);
    }
    g_assert_cmpuint(actions, ==, 10);
    g_assert_cmpint(pct, ==, 99);
    g_assert_true(due);
    g_assert_cmpuint(auto_converge_dirty_budget(o->params->x_auto_converge_dirty_budget,
                                                c.last_sent, c.last_ms, 1), ==, 64);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/auto-converge/period-length", test_period_length);
    g_test_add_func("/auto-converge/trigger", test_trigger);
    g_test_add_func("/auto-converge/steps", test_steps);
    g_test_add_func("/auto-converge/tailslow", test_tailslow);
    g_test_add_func("/auto-converge/sequence", test_sequence);
    g_test_add_func("/auto-converge/budget", test_budget);
    g_test_add_func("/auto-converge/budget-due", test_budget_due);
    g_test_add_func("/auto-converge/budget-sequence", test_budget_sequence);
    return g_test_run();
}
