/*
 * Unit tests for postcopy's blocktime and latency bookkeeping
 * (migration/postcopy-blocktime.c).  Durations come from the clock, so the
 * checks are on what must hold whatever they are: who counts as blocked,
 * when all vCPUs are, and what goes into the latency figures.
 */
#include "postcopy-blocktime.h"
#include "qapi/qapi-types.h"

#include <glib.h>
#include <unistd.h>

static MigrationInfo *info_of(PostcopyBlocktime *bt)
{
    MigrationInfo *info = g_new0(MigrationInfo, 1);

    postcopy_blocktime_info(bt, info);
    return info;
}

/* One vCPU: its wait is also the time all vCPUs waited. */
static void test_one_vcpu(void)
{
    PostcopyBlocktime *bt = postcopy_blocktime_new(1, true);
    g_autoptr(MigrationInfo) info = NULL;

    postcopy_blocktime_fault(bt, 0x1000, 0, true);
    g_usleep(3000);
    postcopy_blocktime_placed(bt, 0x1000);
    info = info_of(bt);
    g_assert_true(info->has_postcopy_blocktime);
    g_assert_nonnull(info->postcopy_vcpu_blocktime);
    g_assert_null(info->postcopy_vcpu_blocktime->next);
    g_assert_cmpuint(info->postcopy_vcpu_blocktime->value, >=, 3);
    g_assert_cmpuint(info->postcopy_blocktime, ==, info->postcopy_vcpu_blocktime->value);
    g_assert_cmpuint(info->x_postcopy_faults, ==, 1);
    g_assert_true(info->has_x_postcopy_latency_p50);
    g_assert_cmpuint(info->x_postcopy_latency_p50, >=, 3000);
    g_assert_cmpuint(info->x_postcopy_latency_p50, ==, info->x_postcopy_latency_max);
    postcopy_blocktime_free(bt);
}

/* Two vCPUs, one blocked: no time with all of them blocked. */
static void test_not_all_blocked(void)
{
    PostcopyBlocktime *bt = postcopy_blocktime_new(2, true);
    g_autoptr(MigrationInfo) info = NULL;

    postcopy_blocktime_fault(bt, 0x2000, 1, true);
    /* The same vCPU again on the same page: still one wait. */
    postcopy_blocktime_fault(bt, 0x2000, 1, true);
    g_usleep(2000);
    postcopy_blocktime_placed(bt, 0x2000);
    info = info_of(bt);
    g_assert_cmpuint(info->postcopy_blocktime, ==, 0);
    g_assert_cmpuint(info->postcopy_vcpu_blocktime->value, ==, 0);
    g_assert_cmpuint(info->postcopy_vcpu_blocktime->next->value, >=, 2);
    g_assert_cmpuint(info->x_postcopy_faults, ==, 1);
    postcopy_blocktime_free(bt);
}

/*
 * A page placed locally (requested = false) blocks but is no request; a
 * page placed that nobody waited for changes nothing; without the
 * capability the blocktime members are absent.
 */
static void test_local_and_unwaited(void)
{
    PostcopyBlocktime *bt = postcopy_blocktime_new(1, false);
    g_autoptr(MigrationInfo) info = NULL;

    postcopy_blocktime_placed(bt, 0x5000);
    postcopy_blocktime_fault(bt, 0x3000, 0, false);
    postcopy_blocktime_placed(bt, 0x3000);
    postcopy_blocktime_fault(bt, 0x4000, -1, true);    /* not a vCPU */
    info = info_of(bt);
    g_assert_false(info->has_postcopy_blocktime);
    g_assert_null(info->postcopy_vcpu_blocktime);
    g_assert_cmpuint(info->x_postcopy_faults, ==, 1);   /* 0x4000, still waiting */
    g_assert_false(info->has_x_postcopy_latency_p50);
    postcopy_blocktime_free(bt);
}

/* p50 and p99 by nearest rank over 100 requests. */
static void test_percentiles(void)
{
    PostcopyBlocktime *bt = postcopy_blocktime_new(0, false);
    g_autoptr(MigrationInfo) info = NULL;

    for (uint64_t i = 1; i <= 100; i++) {
        postcopy_blocktime_fault(bt, i << 12, -1, true);
    }
    for (uint64_t i = 1; i <= 100; i++) {
        postcopy_blocktime_placed(bt, i << 12);
    }
    info = info_of(bt);
    g_assert_cmpuint(info->x_postcopy_faults, ==, 100);
    g_assert_cmpuint(info->x_postcopy_latency_p50, <=, info->x_postcopy_latency_p99);
    g_assert_cmpuint(info->x_postcopy_latency_p99, <=, info->x_postcopy_latency_max);
    postcopy_blocktime_free(bt);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/postcopy-blocktime/one-vcpu", test_one_vcpu);
    g_test_add_func("/postcopy-blocktime/not-all-blocked", test_not_all_blocked);
    g_test_add_func("/postcopy-blocktime/local-and-unwaited", test_local_and_unwaited);
    g_test_add_func("/postcopy-blocktime/percentiles", test_percentiles);
    return g_test_run();
}
