/*
 * Postcopy fault cells (issue 17), beside migration-fault-test.c's close
 * and corrupt after RUN and with its tap (migration-fault-common.h):
 * once the destination runs the guest, the guest's state is split
 * between the two, so a fault must pause, never fail (QEMU's rule), and
 * what can be recovered must be.  Steps are found in the bytes: the
 * first page record after the package on the main channel (held there
 * until the destination runs), or the first page record on the preempt
 * channel (postcopy-preempt: the second connection, which carries only
 * pages the running destination asked for).
 *
 *   stall        the link carries nothing more either way and neither
 *                side times out: migrate-pause on both (QEMU's tool for
 *                a stalled link) pauses them with the link still stuck,
 *                then recovery on a new link completes;
 *   truncate     the source's direction ends: both pause, recovery
 *                completes;
 *   kill         the destination dies: the source pauses and stays
 *                paused (its guest cannot run: the newer state died with
 *                the destination), refuses cont and migrate_cancel, and
 *                quits cleanly;
 *   kill-source  the source dies: the destination pauses, saying the
 *                link was lost, its guest still running on the pages it
 *                has, and quits cleanly;
 *   preempt close / corrupt  on the preempt channel: both pause,
 *                recovery (both channels again) completes.
 *
 * Every cell that recovers checks the destination's memory, then a
 * second migration to a fresh destination completes with the memory
 * check.  A cell that loses the guest (a side killed) starts a fresh
 * guest for the next cell, after a migration of it checks the same.
 */
#include "migration-fault-common.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>

/* The process that has the guest now (the first cell starts it). */
static MigTest *fault_chain;

static MigTest *fault_source(void)
{
    if (!fault_chain) {
        fault_chain = migrate_start(&fault_args);
        wait_for_serial(fault_chain->src_serial);
    }
    return fault_chain;
}

typedef struct PostcopyFaultCell {
    FaultStep step;             /* STEP_POSTCOPY or STEP_PREEMPT */
    FaultKind fault;
    const char *dst_says;       /* in the destination's error-desc when it paused */
} PostcopyFaultCell;

static const PostcopyFaultCell postcopy_fault_table[] = {
    { STEP_POSTCOPY, FAULT_STALL, "paused by the user" },
    { STEP_POSTCOPY, FAULT_TRUNCATE, "unexpected end of migration stream" },
    { STEP_POSTCOPY, FAULT_KILL, NULL },
    { STEP_POSTCOPY, FAULT_KILL_SOURCE, "migration stream" },
    { STEP_PREEMPT, FAULT_CLOSE, "postcopy preempt channel" },
    { STEP_PREEMPT, FAULT_CORRUPT, "postcopy preempt channel" },
};

/* @who ended postcopy-paused, saying @says (NULL: anything) in its error-desc. */
static void pc_check_paused(QTestState *who, const char *side, const char *says)
{
    g_autofree char *desc = NULL;
    g_autofree char *status = fault_wait_final(who, &desc);

    g_test_message("%s: %s (%s)", side, status, desc ? desc : "-");
    g_assert_cmpstr(status, ==, "postcopy-paused");
    g_assert_nonnull(desc);
    if (says && !strstr(desc, says)) {
        g_error("the %s's error-desc '%s' does not say '%s'", side, desc, says);
    }
}

/* The guest is lost (a side was killed): the next cells start from a fresh one. */
static void pc_fresh_guest(MigTest *t)
{
    migrate_start_source(t, &fault_args);
    wait_for_serial(t->src_serial);
}

/* @who quits by QMP and exits with status 0: nothing hangs on the paused postcopy. */
static void pc_quit_cleanly(QTestState *who)
{
    qtest_qmp_assert_success(who, "{'execute': 'quit'}");
    g_assert_cmpint(qtest_wait_exit(who, FAULT_TIMEOUT_MS), ==, 0);
}

/*
 * Stalled: nothing moves and nothing times out, both stay in postcopy;
 * migrate-pause on each pauses it with the link still stuck.
 */
static void pc_stalled(MigTest *t)
{
    g_autofree char *src_status = NULL, *src_desc = NULL;
    g_autofree char *dst_status = NULL, *dst_desc = NULL;

    src_status = fault_query(t->from, &src_desc);
    dst_status = fault_query(t->to, &dst_desc);
    g_assert_cmpstr(src_status, ==, "postcopy-active");
    g_assert_cmpstr(dst_status, ==, "postcopy-active");
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    pc_check_paused(t->from, "source", "paused by the user");
    qtest_qmp_assert_success(t->to, "{'execute': 'migrate-pause'}");
}

/*
 * The destination was killed: the source pauses and keeps every page,
 * but its guest must not run again (the newer state was the
 * destination's): cont and migrate_cancel are refused.
 */
static void pc_check_source_orphaned(MigTest *t)
{
    g_autofree char *runstate = NULL;

    pc_check_paused(t->from, "source", NULL);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, !=, "running");
    qtest_qmp_expect_error(t->from, "GenericError", "Migration is not finalized yet",
                           "{'execute': 'cont'}");
    qtest_qmp_expect_error(t->from, "GenericError",
                           "Postcopy migration in progress, cannot cancel.",
                           "{'execute': 'migrate_cancel'}");
    g_free(runstate);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, !=, "running");
}

/* The source was killed: the destination pauses, its guest runs on what it has. */
static void pc_check_dest_orphaned(MigTest *t, const char *says)
{
    g_autofree char *runstate = NULL;

    pc_check_paused(t->to, "destination", says);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "running");
}

static void test_postcopy_fault(gconstpointer data)
{
    const PostcopyFaultCell *cell = data;
    bool preempt = cell->step == STEP_PREEMPT;
    g_autofree char *why = NULL;
    g_autofree char *dst_path = NULL, *proxy_path = NULL, *proxy_uri = NULL;
    FaultTap ft = {
        .step = cell->step, .fault = cell->fault, .point = UINT64_MAX,
    };
    MigProxy *proxy;
    MigTest *t;

    if (!userfaultfd_usable(&why)) {
        g_test_skip(why);
        return;
    }
    ft.seen = g_byte_array_new();
    t = fault_source();
    if (preempt) {
        /*
         * A process that was a destination cannot turn preempt on (QEMU's
         * "Postcopy preempt must be set before incoming starts"): a fresh
         * guest in a fresh source.
         */
        pc_fresh_guest(t);
    }
    dst_path = fault_socket_path(t, "fault");
    proxy_path = fault_socket_path(t, "proxy");
    proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    fault_postcopy_start_destination(t, dst_path, preempt);
    migrate_ensure_non_converge(t->from);
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    wait_for_migration_pass(t->from, 2);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    fault_wait_running(t->to);
    /* The destination runs: the bytes that come next make the tap act. */
    g_atomic_int_set(&ft.released, 1);
    if (cell->fault != FAULT_CORRUPT) {
        mig_proxy_wait_action(proxy);
    }

    switch (cell->fault) {
    case FAULT_KILL:
        qtest_kill(t->to, SIGKILL);
        fault_wait_dead(qtest_pid(t->to));
        mig_proxy_cut_and_free(proxy);
        pc_check_source_orphaned(t);
        pc_quit_cleanly(t->from);
        pc_fresh_guest(t);
        break;
    case FAULT_KILL_SOURCE:
        qtest_kill(t->from, SIGKILL);
        fault_wait_dead(qtest_pid(t->from));
        mig_proxy_cut_and_free(proxy);
        pc_check_dest_orphaned(t, cell->dst_says);
        pc_quit_cleanly(t->to);
        pc_fresh_guest(t);
        break;
    default:
        if (cell->fault == FAULT_STALL) {
            pc_stalled(t);
        } else {
            pc_check_paused(t->from, "source", NULL);
        }
        pc_check_paused(t->to, "destination", cell->dst_says);
        /* A stalled proxy stays stuck through the recovery, which takes a new link. */
        fault_postcopy_recover(t);
        mig_proxy_cut_and_free(proxy);
        /* The guest's process now: preempt off before postcopy-ram goes off. */
        migrate_set_capability(t->from, "postcopy-preempt", false);
        break;
    }
    g_test_message("%s x %s: step at byte %" PRIu64, step_names[cell->step],
                   fault_names[cell->fault], ft.point);
    g_assert_cmpuint(ft.point, !=, UINT64_MAX);
    fault_tap_clear(&ft);
    fault_migrate_ok(t, false, false);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(postcopy_fault_table); i++) {
        const PostcopyFaultCell *cell = &postcopy_fault_table[i];
        g_autofree char *name = g_strdup_printf("/migration/fault/%s/%s",
                                                step_names[cell->step],
                                                fault_names[cell->fault]);

        g_test_add_data_func(name, cell, test_postcopy_fault);
    }
    ret = g_test_run();
    if (fault_chain) {
        migrate_end(fault_chain, false);
        migrate_test_free(fault_chain);
    }
    return ret;
}
