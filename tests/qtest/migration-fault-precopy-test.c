/*
 * More precopy fault cells (issue 17), beside migration-fault-test.c's
 * table and with its tap (migration-fault-common.h), steps found in the
 * bytes, never by time:
 *
 *   kill-source  the source is killed (SIGKILL) at each step of the
 *                stream: header, RAM pass 1, pass 2, device, EOF.  The
 *                destination has the bytes before the step, then the
 *                connection ends.  It must end failed saying the link
 *                was lost, not run the guest, keep its process and QMP,
 *                leave no mig/ thread, and take a new incoming migration
 *                from a fresh source, which completes with the memory
 *                check.  At EOF (the trailer after it) the destination
 *                had everything: it completes and runs the guest, the
 *                only copy left.
 *   multifd-pass2  close and corrupt on multifd channel 0 in the second
 *                RAM pass: both sides fail, the source's guest runs on,
 *                and a second migration completes.
 *
 * As in the table, the guest moves from cell to cell; a killed source
 * takes its guest with it, and the next cell starts from the fresh one.
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

/*
 * The destination's words for a link that went away: the stream ended
 * (the source's FIN), was reset (a close with bytes unread), or a reply
 * on the return path found it closed.
 */
static bool fault_says_link_lost(const char *desc)
{
    return desc && (strstr(desc, "unexpected end of migration stream") ||
                    strstr(desc, "migration stream: Connection reset by peer") ||
                    strstr(desc, "migration stream: Broken pipe"));
}

/* ---- the source killed at a step ---- */

typedef struct KillSourceCell {
    FaultStep step;
    const char *dst_end;        /* failed or completed */
} KillSourceCell;

static const KillSourceCell kill_source_table[] = {
    { STEP_HEADER, "failed" },
    { STEP_RAM, "failed" },
    { STEP_RAM2, "failed" },
    { STEP_DEVICE, "failed" },
    /* EOF came: the trailer is optional, the destination has the guest. */
    { STEP_EOF, "completed" },
};

/*
 * A destination whose source died: failed, its guest never ran, QMP
 * answers, no migration thread left.
 */
static void fault_check_dest_alone(MigTest *t, const char *desc)
{
    g_autofree char *runstate = migrate_runstate(t->to);

    if (!fault_says_link_lost(desc)) {
        g_error("the destination's error-desc '%s' does not say the link was lost",
                desc ? desc : "(none)");
    }
    g_assert_cmpstr(runstate, ==, "inmigrate");
    g_assert_cmpuint(migrate_serial_b_count(t->dst_serial), ==, 0);
    migrate_wait_threads_gone(t->to, "mig/");
}

/*
 * The same destination takes a new incoming migration from a fresh
 * source (a new guest): it completes, with the memory check.
 */
static void fault_migrate_to_same_destination(MigTest *t)
{
    g_autofree char *path = fault_socket_path(t, "again");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);

    migrate_start_source(t, &fault_args);
    wait_for_serial(t->src_serial);
    migrate_set_capability(t->from, "return-path", true);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    fault_check_dest_memory(t);
    fault_swap(t);
}

static void test_kill_source(gconstpointer data)
{
    const KillSourceCell *cell = data;
    MigTest *t = fault_source();
    g_autofree char *dst_path = fault_socket_path(t, "fault");
    g_autofree char *proxy_path = fault_socket_path(t, "proxy");
    g_autofree char *proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    g_autofree char *dst_status = NULL, *dst_desc = NULL;
    FaultTap ft = {
        .step = cell->step, .fault = FAULT_KILL_SOURCE, .seen = g_byte_array_new(),
        .point = UINT64_MAX,
    };
    MigProxy *proxy;

    fault_start_destination(t, dst_path, false, false);
    /* The early steps come while RAM is sent again and again; the late ones after it converged. */
    if (cell->step == STEP_DEVICE || cell->step == STEP_EOF) {
        migrate_ensure_converge(t->from);
    } else {
        migrate_ensure_non_converge(t->from);
    }
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    mig_proxy_wait_action(proxy);
    qtest_kill(t->from, SIGKILL);
    fault_wait_dead(qtest_pid(t->from));
    /* Its connection dies with it: the proxy, stalled at the step, lets go now. */
    mig_proxy_cut_and_free(proxy);

    dst_status = fault_wait_final(t->to, &dst_desc);
    g_test_message("%s x kill-source: destination %s (%s); step at byte %" PRIu64,
                   step_names[cell->step], dst_status, dst_desc ? dst_desc : "-", ft.point);
    fault_tap_clear(&ft);
    g_assert_cmpstr(dst_status, ==, cell->dst_end);
    if (!strcmp(dst_status, "completed")) {
        fault_check_dest_memory(t);
        migrate_wait_threads_gone(t->to, "mig/");
        fault_swap(t);
        return;
    }
    fault_check_dest_alone(t, dst_desc);
    fault_migrate_to_same_destination(t);
}

/* ---- multifd channel 0 in the second pass ---- */

typedef struct MultifdPass2Cell {
    FaultKind fault;
    const char *dst_says;       /* in the destination's error-desc */
} MultifdPass2Cell;

static const MultifdPass2Cell multifd_pass2_table[] = {
    /* Whichever channel the destination reads first when the source fails. */
    { FAULT_CLOSE, "migration stream" },
    { FAULT_CORRUPT, "is out of RAM block" },
};

static void test_multifd_pass2(gconstpointer data)
{
    const MultifdPass2Cell *cell = data;
    MigTest *t = fault_source();
    g_autofree char *dst_path = fault_socket_path(t, "fault");
    g_autofree char *proxy_path = fault_socket_path(t, "proxy");
    g_autofree char *proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    g_autofree char *src_status = NULL, *src_desc = NULL;
    g_autofree char *dst_status = NULL, *dst_desc = NULL;
    g_autofree char *runstate = NULL;
    FaultTap ft = {
        .step = STEP_MFD_PASS2, .fault = cell->fault, .seen = g_byte_array_new(),
        .point = UINT64_MAX,
    };
    MigProxy *proxy;

    fault_start_destination(t, dst_path, true, false);
    migrate_ensure_non_converge(t->from);
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    src_status = fault_wait_final(t->from, &src_desc);
    dst_status = fault_wait_final(t->to, &dst_desc);
    g_test_message("multifd-pass2 x %s: source %s (%s); destination %s (%s); step at byte %"
                   PRIu64, fault_names[cell->fault], src_status, src_desc ? src_desc : "-",
                   dst_status, dst_desc ? dst_desc : "-", ft.point);
    /* The step was reached: a failure before it would be another cell's. */
    g_assert_cmpuint(ft.point, !=, UINT64_MAX);
    g_assert_cmpstr(src_status, ==, "failed");
    g_assert_cmpstr(dst_status, ==, "failed");
    g_assert_nonnull(dst_desc);
    if (!strstr(dst_desc, cell->dst_says)) {
        g_error("the destination's error-desc '%s' does not say '%s'", dst_desc, cell->dst_says);
    }
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "inmigrate");
    migrate_wait_threads_gone(t->to, "mig/");
    mig_proxy_cut_and_free(proxy);
    fault_tap_clear(&ft);

    fault_check_source_survived(t, src_status, src_desc);
    migrate_wait_threads_gone(t->from, "mig/");
    fault_migrate_ok(t, true, false);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(kill_source_table); i++) {
        const KillSourceCell *cell = &kill_source_table[i];
        g_autofree char *name = g_strdup_printf("/migration/fault/%s/kill-source",
                                                step_names[cell->step]);

        g_test_add_data_func(name, cell, test_kill_source);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(multifd_pass2_table); i++) {
        g_autofree char *name = g_strdup_printf("/migration/fault/multifd-pass2/%s",
                                                fault_names[multifd_pass2_table[i].fault]);

        g_test_add_data_func(name, &multifd_pass2_table[i], test_multifd_pass2);
    }
    ret = g_test_run();
    if (fault_chain) {
        migrate_end(fault_chain, false);
        migrate_test_free(fault_chain);
    }
    return ret;
}
