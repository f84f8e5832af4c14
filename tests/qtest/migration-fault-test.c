/*
 * Fault injection (issue 17): a precopy migration with return-path goes
 * through a proxy (migration-proxy.h) that watches the stream and, at one
 * protocol step, does one fault.  Steps are found in the bytes, never by
 * time: the file header (its 6th byte), the 64th page record of the RAM
 * passes, the 16th page record of the second pass (which begins at the
 * first record that goes back to an address its block already sent), the
 * first device section after RAM's END (switchover: the source's guest is
 * stopped), the VM description trailer just after EOF, and the
 * destination's SHUT on the return path.  With multifd (2
 * channels) the steps are on multifd channel 0, not the main one: its
 * MultiFDInit (the channel id byte) and the middle of the pages of its
 * first packet that carries pages.  With postcopy, the first page record
 * after the package (LISTEN, the devices, POSTCOPY_RUN), held there until
 * the destination runs, is closed at or corrupted: both sides must pause
 * and a recovery by hand must complete (test_fault_postcopy).  Faults:
 *
 *   close     both ends of the connection are closed there;
 *   stall     nothing more is read or written either way: neither side
 *             has a timeout (as QEMU), so the source must end on
 *             migrate_cancel; then the proxy lets go (closes);
 *   truncate  that direction ends there (shutdown for writing), the other
 *             goes on;
 *   corrupt   one byte is changed there (the header's version, the
 *             record's address, the section's type, the trailer's type,
 *             SHUT's type, the MultiFDInit's channel id, the packet's
 *             middle page offset: a page's own bytes have no check), the
 *             rest forwarded;
 *   kill      the destination is killed (SIGKILL) having received the
 *             bytes before the step, then the proxy lets go.
 *
 * Every cell checks: the source ends as the table says (failed with an
 * error-desc, or cancelled, or completed) and, unless it completed, its
 * guest runs on (new 'B's) with no migration thread left; the destination
 * ends as the table says, naming the problem in error-desc when it
 * failed, with no load thread left, and when it completed the guest runs
 * there and its memory is a-b's; then a second migration of whoever has
 * the guest to a fresh destination completes with the memory check.  The
 * guest moves from cell to cell (the process that has it is the next
 * cell's source), so the table costs one destination pair per cell.
 *
 * The cells where the destination completed but the source failed (the
 * return path lost after the destination loaded everything) leave both
 * guests running: the source cannot know; QEMU does the same.  The table
 * says so for each.  A second run of those cells has x-switchover-commit
 * on both sides (commit_table): the return path's step is then the
 * destination's LOADED, and one more step is the source's COMMIT after
 * the trailer (its type byte).  There no cell leaves two guests running:
 * the source fails (or is cancelled) and resumes, or (at COMMIT) it
 * completes with its guest stopped; the destination fails with its guest
 * paused, and where the source completed 'cont' runs the guest there.
 */
#include "migration-fault-common.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* One cell: the step, the fault, how each side must end, what the destination says. */
typedef struct FaultCell {
    FaultStep step;
    FaultKind fault;
    const char *src_end;        /* failed, cancelled, completed */
    const char *dst_end;        /* failed, completed, killed */
    const char *dst_says;       /* in the destination's error-desc (failed) */
    bool commit;                /* x-switchover-commit on both sides */
} FaultCell;

#define F "failed"
#define C "completed"
#define X "cancelled"
#define K "killed"

/*
 * "migration stream" is in every read or write failure: which comes first
 * (a reply to the source's PING written into a closed link, or the next
 * record read from it) depends on how far the destination had read.
 */
static const FaultCell fault_table[] = {
    { STEP_HEADER, FAULT_CLOSE, F, F, "reading the stream header" },
    { STEP_HEADER, FAULT_STALL, X, F, "reading the stream header" },
    { STEP_HEADER, FAULT_TRUNCATE, F, F, "reading the stream header" },
    { STEP_HEADER, FAULT_CORRUPT, F, F, "Unsupported migration stream version" },
    { STEP_HEADER, FAULT_KILL, F, K, NULL },
    { STEP_RAM, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_RAM, FAULT_STALL, X, F, "migration stream" },
    { STEP_RAM, FAULT_TRUNCATE, F, F, "RAM record at stream offset" },
    { STEP_RAM, FAULT_CORRUPT, F, F, "Illegal RAM offset 0x80000000" },
    { STEP_RAM, FAULT_KILL, F, K, NULL },
    { STEP_DEVICE, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_DEVICE, FAULT_STALL, X, F, "migration stream" },
    { STEP_DEVICE, FAULT_TRUNCATE, F, F, "reading a section type" },
    { STEP_DEVICE, FAULT_CORRUPT, F, F, "Unknown savevm section type 123" },
    { STEP_DEVICE, FAULT_KILL, F, K, NULL },
    /*
     * The trailer is optional: the destination has all it needs.  A
     * malformed one is drained after SHUT, until the source closes.
     */
    { STEP_EOF, FAULT_CLOSE, F, C, NULL },
    { STEP_EOF, FAULT_STALL, X, C, NULL },
    { STEP_EOF, FAULT_TRUNCATE, C, C, NULL },
    { STEP_EOF, FAULT_CORRUPT, C, C, NULL },
    { STEP_EOF, FAULT_KILL, F, K, NULL },
    /* The destination loaded and runs; the source never hears it. */
    { STEP_RP_SHUT, FAULT_CLOSE, F, C, NULL },
    { STEP_RP_SHUT, FAULT_STALL, X, C, NULL },
    { STEP_RP_SHUT, FAULT_TRUNCATE, F, C, NULL },
    { STEP_RP_SHUT, FAULT_CORRUPT, F, C, NULL },
    { STEP_RP_SHUT, FAULT_KILL, F, K, NULL },
    /* The second pass: as the first, later. */
    { STEP_RAM2, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_RAM2, FAULT_STALL, X, F, "migration stream" },
    { STEP_RAM2, FAULT_TRUNCATE, F, F, "RAM record at stream offset" },
    { STEP_RAM2, FAULT_CORRUPT, F, F, "Illegal RAM offset" },
    { STEP_RAM2, FAULT_KILL, F, K, NULL },
    /*
     * Multifd channel 0: its MultiFDInit's id byte; the middle of a packet's
     * pages.  A closed or stalled channel: the source may fail (or be
     * cancelled) first and close the main channel, so which channel the
     * destination names varies; a truncated one is the first it sees.
     */
    { STEP_MFD_INIT, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_MFD_INIT, FAULT_STALL, X, F, "migration stream" },
    { STEP_MFD_INIT, FAULT_TRUNCATE, F, F, "multifd channel: migration stream ended" },
    { STEP_MFD_INIT, FAULT_CORRUPT, F, F, "received channel id 128 is greater than" },
    { STEP_MFD_INIT, FAULT_KILL, F, K, NULL },
    { STEP_MFD_PACKET, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_MFD_PACKET, FAULT_STALL, X, F, "migration stream" },
    { STEP_MFD_PACKET, FAULT_TRUNCATE, F, F, "multifd channel 0: packet" },
    { STEP_MFD_PACKET, FAULT_CORRUPT, F, F, "is out of RAM block" },
    { STEP_MFD_PACKET, FAULT_KILL, F, K, NULL },
};

/*
 * The split-brain cells again, with x-switchover-commit on both sides:
 * the return path's step is then LOADED (the destination's "I have it
 * all", which SHUT was), and a step more, the source's COMMIT after the
 * trailer.  No cell ends with both guests running: without LOADED the
 * source fails (or is cancelled) and resumes, the destination fails
 * paused; with it (the commit step) the source completes, its guest
 * stopped, and the destination fails paused with its state complete,
 * where 'cont' runs the guest.
 */
#define NO_COMMIT "switchover commit not received"
static const FaultCell commit_table[] = {
    { STEP_EOF, FAULT_CLOSE, F, F, NO_COMMIT, true },
    { STEP_EOF, FAULT_STALL, X, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_CLOSE, F, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_STALL, X, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_TRUNCATE, F, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_CORRUPT, F, F, NO_COMMIT, true },
    /* The source has LOADED: committed, whatever comes; a stall ends on cancel. */
    { STEP_COMMIT, FAULT_CLOSE, C, F, NO_COMMIT, true },
    { STEP_COMMIT, FAULT_STALL, C, F, NO_COMMIT, true },
    { STEP_COMMIT, FAULT_TRUNCATE, C, F, NO_COMMIT, true },
    { STEP_COMMIT, FAULT_CORRUPT, C, F, "not the commit", true },
};

/* A cell's step, named: with the commit, the return path's step is LOADED. */
static const char *fault_step_name(const FaultCell *cell)
{
    return cell->commit && cell->step == STEP_RP_SHUT ? "rp-loaded" : step_names[cell->step];
}

static MigTest *fault_chain;

/* The process that has the guest now (the first cell starts it). */
static MigTest *fault_source(void)
{
    if (!fault_chain) {
        fault_chain = migrate_start(&fault_args);
        wait_for_serial(fault_chain->src_serial);
    }
    return fault_chain;
}

static void fault_check_dest(MigTest *t, const FaultCell *cell, const char *status,
                             const char *desc)
{
    g_autofree char *runstate = migrate_runstate(t->to);

    migrate_wait_thread_gone(t->to, "mig/dst");
    if (!strcmp(status, "completed")) {
        g_assert_cmpstr(runstate, ==, "running");
        return;
    }
    g_assert_cmpstr(runstate, !=, "running");
    if (cell->commit) {
        /* It never ran, and 'cont' would run it (the state may be complete). */
        g_assert_cmpstr(runstate, ==, "paused");
    }
    g_assert_nonnull(desc);
    if (cell->dst_says && !strstr(desc, cell->dst_says)) {
        g_error("the destination's error-desc '%s' does not say '%s'", desc, cell->dst_says);
    }
}

static void test_fault(gconstpointer data)
{
    const FaultCell *cell = data;
    MigTest *t = fault_source();
    g_autofree char *dst_path = fault_socket_path(t, "fault");
    g_autofree char *proxy_path = fault_socket_path(t, "proxy");
    g_autofree char *proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    g_autofree char *src_status = NULL, *src_desc = NULL;
    g_autofree char *dst_status = NULL, *dst_desc = NULL;
    FaultTap ft = {
        .step = cell->step, .fault = cell->fault, .seen = g_byte_array_new(),
        .point = UINT64_MAX, .rp_type = cell->commit ? RP_MSG_LOADED : RP_MSG_SHUT,
    };
    bool multifd = fault_step_is_multifd(cell->step);
    MigProxy *proxy;

    fault_start_destination(t, dst_path, multifd, cell->commit);
    /* The early steps come while RAM is sent again and again; the late ones after it converged. */
    if (cell->step <= STEP_RAM || cell->step == STEP_RAM2 || multifd) {
        migrate_ensure_non_converge(t->from);
    } else {
        migrate_ensure_converge(t->from);
    }
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    if (cell->fault != FAULT_CORRUPT) {
        mig_proxy_wait_action(proxy);
    }
    if (cell->fault == FAULT_KILL) {
        qtest_kill(t->to, SIGKILL);
        fault_wait_dead(qtest_pid(t->to));
        g_clear_pointer(&proxy, mig_proxy_cut_and_free);
    } else if (cell->fault == FAULT_STALL) {
        /*
         * Nothing moves and nothing times out: the source ends when
         * cancelled (completed when it has committed: the cancel only
         * ends its wait for the destination's SHUT).
         */
        g_autofree char *status = migrate_query_status(t->from);

        g_assert_true(strcmp(status, "failed") && strcmp(status, "completed"));
        migrate_cancel(t->from);
        wait_for_migration_status(t->from, cell->src_end, NULL);
        g_clear_pointer(&proxy, mig_proxy_cut_and_free);
    }

    src_status = fault_wait_final(t->from, &src_desc);
    if (cell->fault == FAULT_KILL) {
        dst_status = g_strdup("killed");
    } else {
        dst_status = fault_wait_final(t->to, &dst_desc);
    }
    g_test_message("%s x %s: source %s (%s); destination %s (%s); step at byte %" PRIu64,
                   fault_step_name(cell), fault_names[cell->fault], src_status,
                   src_desc ? src_desc : "-", dst_status, dst_desc ? dst_desc : "-",
                   ft.point);
    g_assert_cmpstr(src_status, ==, cell->src_end);
    g_assert_cmpstr(dst_status, ==, cell->dst_end);
    if (strcmp(dst_status, "killed")) {
        fault_check_dest(t, cell, dst_status, dst_desc);
    }
    if (proxy) {
        mig_proxy_cut_and_free(proxy);
    }
    fault_tap_clear(&ft);

    if (!strcmp(src_status, "completed")) {
        /* The guest moved despite the fault: it is the destination's now. */
        migrate_check_source_after(t);
        if (!strcmp(dst_status, "failed")) {
            /* Committed, but no COMMIT came: the state is complete, 'cont' runs it. */
            g_assert_true(cell->commit);
            qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
        }
        fault_check_dest_memory(t);
        fault_swap(t);
    } else {
        fault_check_source_survived(t, src_status, src_desc);
    }
    fault_migrate_ok(t, multifd, cell->commit);
}

/* ---- postcopy: the guest is the destination's once the package went by ---- */

/*
 * A cell after the switch to postcopy: the fault hits the first page
 * record after the package (LISTEN, the devices, POSTCOPY_RUN).  The
 * guest now lives on the destination, so "the source's guest runs" does
 * not apply: what must hold is that the source keeps every page the
 * destination lacks (it pauses, never fails).
 */
typedef struct PostcopyCell {
    FaultKind fault;
    const char *dst_says;       /* in the destination's error-desc */
} PostcopyCell;

/*
 * Both end postcopy-paused: the destination pauses on any load error
 * once it runs, a bad record as well as a lost link (as QEMU: its loader
 * pauses whatever failed, to keep the guest's pages), and recovery then
 * sends again every page it never placed, the corrupted one included.
 */
static const PostcopyCell postcopy_table[] = {
    { FAULT_CLOSE, "migration stream" },
    { FAULT_CORRUPT, "Illegal RAM offset" },
};

static void test_fault_postcopy(gconstpointer data)
{
    const PostcopyCell *cell = data;
    g_autofree char *why = NULL;
    MigTest *t;
    g_autofree char *dst_path = NULL, *proxy_path = NULL, *proxy_uri = NULL;
    g_autofree char *src_status = NULL, *src_desc = NULL;
    g_autofree char *dst_status = NULL, *dst_desc = NULL;
    g_autofree char *src_runstate = NULL;
    FaultTap ft = {
        .step = STEP_POSTCOPY, .fault = cell->fault, .seen = g_byte_array_new(),
        .point = UINT64_MAX,
    };
    MigProxy *proxy;

    if (!userfaultfd_usable(&why)) {
        g_byte_array_unref(ft.seen);
        g_test_skip(why);
        return;
    }
    t = fault_source();
    dst_path = fault_socket_path(t, "fault");
    proxy_path = fault_socket_path(t, "proxy");
    proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    fault_postcopy_start_destination(t, dst_path, false);
    migrate_ensure_non_converge(t->from);
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    wait_for_migration_pass(t->from, 2);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    fault_wait_running(t->to);
    /*
     * The destination runs: its vCPU asks for pages, the source sends them
     * behind the held record, and those bytes make the tap act.
     */
    g_atomic_int_set(&ft.released, 1);

    src_status = fault_wait_final(t->from, &src_desc);
    dst_status = fault_wait_final(t->to, &dst_desc);
    g_test_message("postcopy-run x %s: source %s (%s); destination %s (%s); step at byte %"
                   PRIu64, fault_names[cell->fault], src_status, src_desc ? src_desc : "-",
                   dst_status, dst_desc ? dst_desc : "-", ft.point);
    g_assert_cmpstr(src_status, ==, "postcopy-paused");
    g_assert_nonnull(src_desc);
    src_runstate = migrate_runstate(t->from);
    g_assert_cmpstr(src_runstate, !=, "running");   /* the guest is the destination's */
    g_assert_cmpstr(dst_status, ==, "postcopy-paused");
    g_assert_nonnull(dst_desc);
    if (!strstr(dst_desc, cell->dst_says)) {
        g_error("the destination's error-desc '%s' does not say '%s'", dst_desc, cell->dst_says);
    }
    mig_proxy_cut_and_free(proxy);
    fault_tap_clear(&ft);

    fault_postcopy_recover(t);
    fault_migrate_ok(t, false, false);
}

/* ---- x-switchover-commit without a fault, and where it is refused ---- */

/* A plain migration with the capability: completes, memory checked; HMP lists it. */
static void test_commit_plain(void)
{
    MigTest *t = fault_source();
    g_autofree char *caps = NULL;

    fault_migrate_ok(t, false, true);
    caps = qtest_hmp(t->from, "info migrate_capabilities");
    g_assert_nonnull(strstr(caps, "x-switchover-commit: on"));
}

/* migrate-set-capabilities with @caps (a JSON list) must fail saying @says. */
static void fault_caps_refused(QTestState *who, const char *caps, const char *says)
{
    g_autoptr(JsonNode) reply = qtest_qmp(who, "{'execute': 'migrate-set-capabilities', "
                                          "'arguments': {'capabilities': %s}}", caps);
    const char *desc = qtest_reply_error_desc(reply);

    if (!desc || !strstr(desc, says)) {
        g_error("capabilities %s: '%s', not '%s'", caps, desc ? desc : "(accepted)", says);
    }
}

#define CAP_ON(name) "{'capability': '" name "', 'state': true}"
#define CAP_OFF(name) "{'capability': '" name "', 'state': false}"

static void test_commit_refused(void)
{
    MigTest *t = fault_source();
    g_autofree char *path = migrate_test_path(t, "commit.file");
    g_autofree char *args = g_strdup_printf("{'uri': 'file:%s'}", path);
    g_autofree char *err = NULL;

    fault_caps_refused(t->from, "[" CAP_OFF("return-path") ", " CAP_ON("x-switchover-commit")
                       "]", "Capability 'x-switchover-commit' requires capability "
                       "'return-path'");
    fault_caps_refused(t->from, "[" CAP_ON("return-path") ", " CAP_ON("postcopy-ram") ", "
                       CAP_ON("x-switchover-commit") "]", "not combined with postcopy-ram");
    fault_caps_refused(t->from, "[" CAP_ON("return-path") ", " CAP_ON("background-snapshot")
                       ", " CAP_ON("x-switchover-commit") "]",
                       "not combined with background-snapshot");
    fault_caps_refused(t->from, "[" CAP_ON("return-path") ", " CAP_ON("mapped-ram") ", "
                       CAP_ON("x-switchover-commit") "]", "not combined with mapped-ram");
    /* Nothing of those stuck (all or nothing); a file: URI is refused by migrate. */
    migrate_set_capability(t->from, "postcopy-ram", false);
    migrate_set_capability(t->from, "return-path", true);
    migrate_set_capability(t->from, "x-switchover-commit", true);
    err = migrate_qmp_fail(t->from, args);
    g_assert_nonnull(strstr(err, "x-switchover-commit needs a socket transport"));
    migrate_set_capability(t->from, "x-switchover-commit", false);
    migrate_check_source_guest_runs(t);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(fault_table); i++) {
        const FaultCell *cell = &fault_table[i];
        g_autofree char *name = g_strdup_printf("/migration/fault/%s/%s",
                                                step_names[cell->step],
                                                fault_names[cell->fault]);

        g_test_add_data_func(name, cell, test_fault);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(postcopy_table); i++) {
        g_autofree char *name = g_strdup_printf("/migration/fault/postcopy-run/%s",
                                                fault_names[postcopy_table[i].fault]);

        g_test_add_data_func(name, &postcopy_table[i], test_fault_postcopy);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commit_table); i++) {
        const FaultCell *cell = &commit_table[i];
        g_autofree char *name = g_strdup_printf("/migration/fault/switchover-commit/%s/%s",
                                                fault_step_name(cell),
                                                fault_names[cell->fault]);

        g_test_add_data_func(name, cell, test_fault);
    }
    g_test_add_func("/migration/fault/switchover-commit/plain", test_commit_plain);
    g_test_add_func("/migration/fault/switchover-commit/refused", test_commit_refused);
    ret = g_test_run();
    if (fault_chain) {
        migrate_end(fault_chain, false);
        migrate_test_free(fault_chain);
    }
    return ret;
}
