/*
 * The migration test framework: start a source and a destination tern
 * running the a-b guest, drive a migration over QMP, and prove afterwards
 * that the guest's memory arrived and that the guest runs on the
 * destination.  Modelled on QEMU's tests/qtest/migration framework (the
 * same steps and numbers), with all of one test's state in a MigTest.
 */
#ifndef MIGRATION_HELPERS_H
#define MIGRATION_HELPERS_H

#include "libqtest.h"
#include "libqtest-proto.h"

#include <stdint.h>

/* How a test wants its processes. */
typedef struct MigrateStart {
    const char *accel;          /* "interp" (NULL) or "kvm" */
    uint64_t ram_mib;           /* source RAM in MiB (0: 128) */
    uint64_t dst_ram_mib;       /* destination RAM in MiB (0: as source) */
    uint64_t start_address;     /* a-b's range (0: 1 MiB .. 9 MiB) */
    uint64_t end_address;
    const char *incoming;       /* destination's -incoming (NULL: "defer");
                                 * "%s" stands for the test directory */
    const char *src_opts;       /* extra command-line arguments */
    const char *dst_opts;
    bool only_source;           /* start no destination */
    bool src_stopped;           /* start the source with -S */
    /*
     * Start the destination without waiting for its QMP and qtest (a
     * cpr-transfer destination has none until the source migrates);
     * migrate_attach_destination() connects them.
     */
    bool dst_deferred_connect;
} MigrateStart;

/* One test's processes and files. */
typedef struct MigTest {
    QTestState *from;           /* NULL once quit */
    QTestState *to;
    QTestProto *qfrom;          /* their qtest protocol connections */
    QTestProto *qto;
    char *dir;                  /* serial files, sockets, stream files */
    char *src_serial;
    char *dst_serial;
    uint64_t start_address;
    uint64_t end_address;
    uint64_t ram_mib;
    const char *accel;
    unsigned dst_generation;    /* destinations started so far */
    unsigned src_generation;    /* sources started so far */
    char *dst_qsock;            /* the destination's qtest socket, until attached */

    /* What migrate_prepare_for_testdev() put in the source's testdev. */
    bool testdev_set;
    uint32_t testdev_counter;
} MigTest;

/* The page size the a-b guest strides by. */
#define MIG_PAGE_SIZE 4096u

/*
 * Start the processes @args asks for, with the events capability on both
 * (and the destination listening at once unless it defers), and bytes
 * 1..4095 of every page of the source's a-b range filled: every work page
 * is a data page, and check_guests_ram() checks the fill.  Returns NULL
 * after g_test_skip() when the accelerator is unusable.
 */
MigTest *migrate_start(const MigrateStart *args);

/*
 * Start a fresh source, replacing t->from (the old one must be gone or is
 * quit): a new guest, its RAM filled and its testdev and progress marker
 * set as migrate_start() does, its serial in a file of its own.
 */
void migrate_start_source(MigTest *t, const MigrateStart *args);

/* Start a (new) destination, replacing t->to (the old one must be gone or
 * is quit).  @incoming and @opts as in MigrateStart. */
void migrate_start_destination(MigTest *t, const MigrateStart *args);

/*
 * dst_deferred_connect: connect QMP and qtest to the destination now
 * (without the events capability, which a running load would refuse).
 */
void migrate_attach_destination(MigTest *t);

/* Quit what is still running, remove the test's files, free @t. */
void migrate_test_free(MigTest *t);

/* A path inside the test's directory (transfer full). */
char *migrate_test_path(MigTest *t, const char *name);

/* ---- QMP helpers ---- */

/* Set a capability / an integer parameter (the command must succeed). */
void migrate_set_capability(QTestState *who, const char *cap, bool state);
void migrate_set_parameter_int(QTestState *who, const char *param,
                               int64_t value);
int64_t migrate_get_parameter_int(QTestState *who, const char *param);

/* query-migrate's reply (transfer full) and members of it. */
JsonNode *migrate_query(QTestState *who);
char *migrate_query_status(QTestState *who);     /* "none" before any */
int64_t migrate_query_ram_int(QTestState *who, const char *member);

/*
 * migrate-incoming on the destination.  Turns the events capability on
 * first and waits for its MIGRATION "setup" event.  @extra: more members
 * for the arguments object, e.g. "'exit-on-error': false" (NULL: none).
 */
void migrate_incoming_qmp(QTestState *to, const char *uri,
                          const char *extra);

/*
 * The destination's URI to connect to: @uri unless it is a tcp: URI with
 * port 0, in which case the port query-migrate reports (socket-address).
 */
char *migrate_get_connect_uri(QTestState *to, const char *uri);

/* migrate on the source, which must accept the command.  @extra as for
 * migrate_incoming_qmp. */
void migrate_qmp(QTestState *from, const char *uri, const char *extra);

/* migrate that must be refused; returns the error description. */
char *migrate_qmp_fail(QTestState *from, const char *args_json);

void migrate_cancel(QTestState *who);
void migrate_continue(QTestState *who, const char *state);

/*
 * Poll query-migrate until the status is @goal.  Any status in @ungoals
 * (NULL-terminated; may be NULL) fails the test, and so do "failed" and
 * "completed" unless they are the goal.  Times out after 120 s.
 */
void wait_for_migration_status(QTestState *who, const char *goal,
                               const char **ungoals);
void wait_for_migration_complete(QTestState *who);

/*
 * The source failed: status stays within setup/active (the latter only
 * with @allow_active) until failed, error-desc is set (returned, transfer
 * full) and the guest still runs.
 */
char *wait_for_migration_fail(QTestState *from, bool allow_active);

/* Consume MIGRATION events until one with @status arrives (60 s). */
void migration_event_wait(QTestState *who, const char *status);

/* Wait for an event (fails after 60 s); transfer full. */
JsonNode *migrate_eventwait(QTestState *who, const char *name);

/* Wait until dirty-sync-count reaches @passes, seen both as a
 * MIGRATION_PASS event and in query-migrate. */
void wait_for_migration_pass(QTestState *from, int64_t passes);

/* Slow the migration so that it cannot end, or let it end at once. */
void migrate_ensure_non_converge(QTestState *who);
void migrate_ensure_converge(QTestState *who);

/* query-status's "status" (transfer full). */
char *migrate_runstate(QTestState *who);

/* ---- tern's threads ---- */

/* The id of tern's thread named @name (e.g. "mig/src"), or 0 if none. */
pid_t migrate_thread_find(QTestState *who, const char *name);

/*
 * Wait until tern's thread @name sleeps in a syscall that waits for a
 * channel (poll, read, write): for a migration thread, blocked on the
 * stream.  Fails after 60 s.
 */
void migrate_wait_thread_blocked(QTestState *who, const char *name);

/* Wait until tern has no thread @name any more (fails after 60 s). */
void migrate_wait_thread_gone(QTestState *who, const char *name);

/* Wait until tern has no thread whose name begins with @prefix (fails after 60 s). */
void migrate_wait_threads_gone(QTestState *who, const char *prefix);

/* ---- host features ---- */

/*
 * Can this host give tern a userfaultfd (the syscall, or /dev/userfaultfd)?
 * Postcopy needs one on the destination.  If not, *@why says why, for the
 * test's skip.
 */
bool userfaultfd_usable(char **why);

/* ---- the guest ---- */

/* Wait until the guest printed 'B' into @serial_path; 'A' is allowed
 * before, anything else fails the test. */
void wait_for_serial(const char *serial_path);
/* The same without failing: false after @timeout_ms (stretched by
 * qtest_time_scale()) without a 'B'. */
bool wait_for_serial_within(const char *serial_path, int64_t timeout_ms);

/* Bytes in @serial_path, all 'B' (anything else fails); 0 if missing. */
size_t migrate_serial_b_count(const char *serial_path);

/*
 * The progress marker: put a magic value where the guest never writes
 * (mid-page; migrate_start() does), then wait until the destination has
 * it and the source's guest has dirtied already-sent memory again.
 * migrate_end() checks the destination has it.
 *
 * A guest that did not run during a whole round (a loaded host; a fast
 * multifd round) leaves nothing dirty, and nothing pending is always ready
 * (QEMU's rule): so the caller must have held the switchover
 * (migrate_ensure_non_converge sets x-switchover-hold), and a source that
 * completes anyway fails the test.
 */
/* After a failed or cancelled migration: the source's guest still runs (new 'B's come). */
void migrate_check_source_guest_runs(MigTest *t);

void migrate_prepare_for_dirty_mem(MigTest *t);
/* Where the progress marker is (guest-physical). */
uint64_t migrate_marker_address(MigTest *t);
void migrate_wait_for_dirty_mem(MigTest *t);

/* Give the source's testdev a value that migrate_end() checks on the
 * destination. */
void migrate_prepare_for_testdev(MigTest *t);

/*
 * Check the guest's page pattern on @who (a-b's guarantee, as QEMU's
 * check): every page's first byte equals the previous page's, except at
 * most one step down by one; the rest of every page holds the fill.
 */
void check_guests_ram(MigTest *t, QTestProto *who);

/*
 * Finish a test: quit the source; when @check_dest, prove the guest runs
 * on the destination (its watch byte changes and new 'B's appear), stop
 * it, check the byte is stable for 200 ms, check its RAM and testdev.
 */
void migrate_end(MigTest *t, bool check_dest);

/* The source after a successful migration: postmigrate, not running. */
void migrate_check_source_after(MigTest *t);

#endif
