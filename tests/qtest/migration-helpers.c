/*
 * The migration test framework (migration-helpers.h): processes, QMP
 * helpers for the migration commands, and the checks that prove a guest
 * arrived whole and runs on the destination.
 */
#include "migration-helpers.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

/* Where the guest never writes (mid-page): the progress marker's value. */
#define MIG_MAGIC_MARKER 0xFEED12345678CAFEull
#define MIG_MARKER_SHUFFLE 1024u
#define MIG_WATCH_OFFSET (3u << 20)

/*
 * What migrate_start() puts in bytes 1..4095 of every work page.  a-b only
 * ever writes byte 0, so from then on every work page is a data page,
 * never a zero page whatever a-b's counters are: how much a pass sends and
 * how long it takes at a given max-bandwidth follow from the range alone.
 */
#define MIG_PAGE_FILL 0x5a

/* Waits that end a test when they run out. */
#define MIG_STATUS_TIMEOUT_MS 120000
#define MIG_EVENT_TIMEOUT_MS 60000
#define MIG_GUEST_TIMEOUT_MS 60000

/* testdev's counter register (include/hw/testdev.h). */
#define MIG_TESTDEV_COUNTER 0xe0
#define MIG_TESTDEV_CONTROL 0xe8

char *migrate_test_path(MigTest *t, const char *name)
{
    return g_build_filename(t->dir, name, NULL);
}

static const char *migrate_guest_path(void)
{
    const char *dir = g_getenv("TERN_GUEST_DIR");

    if (!dir) {
        g_error("TERN_GUEST_DIR is not set (meson test sets it)");
    }
    return dir;
}

/* The offset of the watched byte inside the guest's range. */
static uint64_t migrate_watch_address(MigTest *t)
{
    uint64_t half = (t->end_address - t->start_address) / 2;

    half &= ~(uint64_t)(MIG_PAGE_SIZE - 1);
    return t->start_address + MIN(MIG_WATCH_OFFSET, half);
}

/* Start one side; @incoming NULL for the source. */
static QTestState *migrate_start_side(MigTest *t, const MigrateStart *args,
                                      const char *serial, const char *qsock,
                                      const char *incoming, uint64_t ram_mib,
                                      const char *opts, QTestProto **proto)
{
    g_autofree char *kernel = g_build_filename(migrate_guest_path(),
                                               "a-b.bin", NULL);
    g_autofree char *qarg = qtest_proto_arg(qsock);
    g_autofree char *cmd = NULL;
    g_autofree char *inc = NULL;
    QTestState *s;

    if (incoming) {
        inc = g_strdup_printf("-incoming %s", incoming);
        if (strstr(incoming, "%s")) {
            g_autofree char *fmt = g_steal_pointer(&inc);

            inc = g_strdup_printf(fmt, t->dir);
        }
    }
    cmd = g_strdup_printf("-accel %s -m %" PRIu64 "M -display none "
                          "-kernel %s -append start=%" PRIu64 ",end=%" PRIu64
                          " -serial file:%s %s %s %s %s",
                          t->accel, ram_mib, kernel, t->start_address,
                          t->end_address, serial, qarg,
                          !incoming && args->src_stopped ? "-S" : "",
                          inc ? inc : "", opts ? opts : "");
    if (incoming && args->dst_deferred_connect) {
        *proto = NULL;
        return qtest_init_opts(cmd, &(QTestOptions){ .defer_qmp = true });
    }
    s = qtest_init(cmd);
    *proto = qtest_proto_connect(qsock);
    migrate_set_capability(s, "events", true);
    return s;
}

void migrate_attach_destination(MigTest *t)
{
    qtest_qmp_accept(t->to);
    t->qto = qtest_proto_connect(t->dst_qsock);
    /* No events capability: the load may run already, which freezes capabilities. */
}

void migrate_start_destination(MigTest *t, const MigrateStart *args)
{
    g_autofree char *serial_name = NULL;
    g_autofree char *qsock_name = NULL;
    g_autofree char *qsock = NULL;

    qtest_proto_free(t->qto);
    qtest_quit(t->to);
    t->qto = NULL;
    t->to = NULL;
    serial_name = g_strdup_printf("dest_serial.%u", t->dst_generation);
    qsock_name = g_strdup_printf("dest_qtest.%u", t->dst_generation);
    t->dst_generation++;
    g_free(t->dst_serial);
    t->dst_serial = migrate_test_path(t, serial_name);
    qsock = migrate_test_path(t, qsock_name);
    g_free(t->dst_qsock);
    t->dst_qsock = g_strdup(qsock);
    t->to = migrate_start_side(t, args, t->dst_serial, qsock,
                               args->incoming ? args->incoming : "defer",
                               args->dst_ram_mib ? args->dst_ram_mib
                                                 : t->ram_mib,
                               args->dst_opts, &t->qto);
}

void migrate_start_source(MigTest *t, const MigrateStart *args)
{
    g_autofree char *serial_name = NULL;
    g_autofree char *qsock_name = NULL;
    g_autofree char *qsock = NULL;

    qtest_proto_free(t->qfrom);
    qtest_quit(t->from);
    t->qfrom = NULL;
    /* The first source's files keep their old names: tests read src_serial. */
    serial_name = t->src_generation ? g_strdup_printf("src_serial.%u", t->src_generation)
                                    : g_strdup("src_serial");
    qsock_name = t->src_generation ? g_strdup_printf("src_qtest.%u", t->src_generation)
                                   : g_strdup("src_qtest");
    t->src_generation++;
    g_free(t->src_serial);
    t->src_serial = migrate_test_path(t, serial_name);
    qsock = migrate_test_path(t, qsock_name);
    t->from = migrate_start_side(t, args, t->src_serial, qsock, NULL,
                                 t->ram_mib, args->src_opts, &t->qfrom);
    qtest_memset_strided(t->qfrom, t->start_address + 1, t->end_address,
                         MIG_PAGE_SIZE, MIG_PAGE_FILL, MIG_PAGE_SIZE - 1);
    migrate_prepare_for_testdev(t);
    migrate_prepare_for_dirty_mem(t);
}

MigTest *migrate_start(const MigrateStart *args)
{
    MigTest *t;
    const char *why;

    if (args->accel && !strcmp(args->accel, "kvm") &&
        !qtest_kvm_usable(&why)) {
        g_test_skip(why);
        return NULL;
    }
    t = g_new0(MigTest, 1);
    t->dir = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_assert_nonnull(t->dir);
    t->accel = args->accel ? args->accel : "interp";
    t->ram_mib = args->ram_mib ? args->ram_mib : 128;
    t->start_address = args->start_address ? args->start_address : 1 << 20;
    t->end_address = args->end_address ? args->end_address : 9 << 20;
    migrate_start_source(t, args);
    if (!args->only_source) {
        migrate_start_destination(t, args);
    }
    return t;
}

void migrate_test_free(MigTest *t)
{
    g_autoptr(GDir) dir = NULL;
    const char *name;

    if (!t) {
        return;
    }
    qtest_proto_free(t->qfrom);
    qtest_proto_free(t->qto);
    qtest_quit(t->from);
    qtest_quit(t->to);
    dir = g_dir_open(t->dir, 0, NULL);
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(t->dir, name, NULL);

        unlink(path);
    }
    rmdir(t->dir);
    g_free(t->dir);
    g_free(t->src_serial);
    g_free(t->dst_serial);
    g_free(t->dst_qsock);
    g_free(t);
}

/* ---- QMP ---- */

/* @str as a JSON string literal (transfer full). */
static char *json_quote(const char *str)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_VALUE);

    json_node_set_string(node, str);
    return json_to_string(node, FALSE);
}

void migrate_set_capability(QTestState *who, const char *cap, bool state)
{
    qtest_qmp_assert_success(who,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': '%s', 'state': %s}]}}",
        cap, state ? "true" : "false");
}

void migrate_set_parameter_int(QTestState *who, const char *param,
                               int64_t value)
{
    qtest_qmp_assert_success(who,
        "{'execute': 'migrate-set-parameters', 'arguments': "
        "{'%s': %" PRId64 "}}", param, value);
    g_assert_cmpint(migrate_get_parameter_int(who, param), ==, value);
}

int64_t migrate_get_parameter_int(QTestState *who, const char *param)
{
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(who,
        "{'execute': 'query-migrate-parameters'}");
    JsonObject *obj = json_node_get_object(ret);

    g_assert_true(json_object_has_member(obj, param));
    return json_object_get_int_member(obj, param);
}

JsonNode *migrate_query(QTestState *who)
{
    return qtest_qmp_assert_success_ref(who, "{'execute': 'query-migrate'}");
}

char *migrate_query_status(QTestState *who)
{
    g_autoptr(JsonNode) ret = migrate_query(who);
    JsonObject *obj = json_node_get_object(ret);

    if (!json_object_has_member(obj, "status")) {
        return g_strdup("none");
    }
    return g_strdup(json_object_get_string_member(obj, "status"));
}

int64_t migrate_query_ram_int(QTestState *who, const char *member)
{
    g_autoptr(JsonNode) ret = migrate_query(who);
    JsonObject *obj = json_node_get_object(ret);
    JsonObject *ram;

    if (!json_object_has_member(obj, "ram")) {
        return -1;
    }
    ram = json_object_get_object_member(obj, "ram");
    g_assert_true(json_object_has_member(ram, member));
    return json_object_get_int_member(ram, member);
}

char *migrate_runstate(QTestState *who)
{
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(who,
        "{'execute': 'query-status'}");

    return g_strdup(json_object_get_string_member(json_node_get_object(ret),
                                                  "status"));
}

void migrate_incoming_qmp(QTestState *to, const char *uri, const char *extra)
{
    g_autofree char *quoted = json_quote(uri);

    migrate_set_capability(to, "events", true);
    qtest_qmp_assert_success(to,
        "{'execute': 'migrate-incoming', 'arguments': {'uri': %s%s%s}}",
        quoted, extra ? ", " : "", extra ? extra : "");
    migration_event_wait(to, "setup");
}

char *migrate_get_connect_uri(QTestState *to, const char *uri)
{
    g_autoptr(JsonNode) ret = NULL;
    JsonObject *obj, *addr;
    JsonArray *addrs;

    if (!g_str_has_prefix(uri, "tcp:") || !g_str_has_suffix(uri, ":0")) {
        return g_strdup(uri);
    }
    ret = migrate_query(to);
    obj = json_node_get_object(ret);
    if (!json_object_has_member(obj, "socket-address")) {
        g_error("query-migrate on the destination has no socket-address");
    }
    addrs = json_object_get_array_member(obj, "socket-address");
    g_assert_cmpuint(json_array_get_length(addrs), >=, 1);
    addr = json_array_get_object_element(addrs, 0);
    g_assert_cmpstr(json_object_get_string_member(addr, "type"), ==, "inet");
    return g_strdup_printf("tcp:%s:%s",
                           json_object_get_string_member(addr, "host"),
                           json_object_get_string_member(addr, "port"));
}

void migrate_qmp(QTestState *from, const char *uri, const char *extra)
{
    g_autofree char *quoted = json_quote(uri);

    qtest_qmp_assert_success(from,
        "{'execute': 'migrate', 'arguments': {'uri': %s%s%s}}",
        quoted, extra ? ", " : "", extra ? extra : "");
}

char *migrate_qmp_fail(QTestState *from, const char *args_json)
{
    g_autoptr(JsonNode) reply = qtest_qmp(from,
        "{'execute': 'migrate', 'arguments': %s}", args_json);
    const char *desc = qtest_reply_error_desc(reply);

    if (!desc) {
        g_autofree char *text = json_to_string(reply, FALSE);

        g_error("migrate %s should have failed: %s", args_json, text);
    }
    g_assert_cmpstr(qtest_reply_error_class(reply), ==, "GenericError");
    return g_strdup(desc);
}

void migrate_cancel(QTestState *who)
{
    qtest_qmp_assert_success(who, "{'execute': 'migrate_cancel'}");
}

void migrate_continue(QTestState *who, const char *state)
{
    qtest_qmp_assert_success(who, "{'execute': 'migrate-continue', "
                             "'arguments': {'state': '%s'}}", state);
}

static bool migrate_status_in(const char *status, const char **list)
{
    for (; list && *list; list++) {
        if (!strcmp(status, *list)) {
            return true;
        }
    }
    return false;
}

void wait_for_migration_status(QTestState *who, const char *goal,
                               const char **ungoals)
{
    gint64 deadline = qtest_deadline_ms(MIG_STATUS_TIMEOUT_MS);

    for (;;) {
        g_autofree char *status = migrate_query_status(who);

        if (!strcmp(status, goal)) {
            return;
        }
        if (migrate_status_in(status, ungoals) ||
            !strcmp(status, "failed") || !strcmp(status, "completed")) {
            g_autoptr(JsonNode) info = migrate_query(who);
            g_autofree char *text = json_to_string(info, FALSE);

            g_error("migration reached '%s' while waiting for '%s': %s",
                    status, goal, text);
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("migration still '%s', not '%s', after 120 s", status,
                    goal);
        }
        g_usleep(1000);
    }
}

void wait_for_migration_complete(QTestState *who)
{
    wait_for_migration_status(who, "completed", NULL);
}

char *wait_for_migration_fail(QTestState *from, bool allow_active)
{
    gint64 deadline = qtest_deadline_ms(MIG_STATUS_TIMEOUT_MS);
    g_autoptr(JsonNode) info = NULL;
    g_autofree char *runstate = NULL;
    JsonObject *obj;

    for (;;) {
        g_autofree char *status = migrate_query_status(from);

        if (!strcmp(status, "failed")) {
            break;
        }
        if (strcmp(status, "setup") &&
            !(allow_active && !strcmp(status, "active"))) {
            g_error("migration in '%s' while waiting for it to fail",
                    status);
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("migration still '%s' after 120 s, expected failed",
                    status);
        }
        g_usleep(1000);
    }
    info = migrate_query(from);
    obj = json_node_get_object(info);
    if (!json_object_has_member(obj, "error-desc")) {
        g_autofree char *text = json_to_string(info, FALSE);

        g_error("failed migration without error-desc: %s", text);
    }
    runstate = migrate_runstate(from);
    g_assert_cmpstr(runstate, ==, "running");
    return g_strdup(json_object_get_string_member(obj, "error-desc"));
}

JsonNode *migrate_eventwait(QTestState *who, const char *name)
{
    JsonNode *ev = qtest_qmp_eventwait(who, name, MIG_EVENT_TIMEOUT_MS);

    if (!ev) {
        g_error("no %s event within %d ms", name, MIG_EVENT_TIMEOUT_MS);
    }
    return ev;
}

/* The event's "data" object (borrowed from @ev). */
static JsonObject *migrate_event_data(JsonNode *ev)
{
    return json_object_get_object_member(json_node_get_object(ev), "data");
}

void migration_event_wait(QTestState *who, const char *status)
{
    for (;;) {
        g_autoptr(JsonNode) ev = migrate_eventwait(who, "MIGRATION");
        const char *got = json_object_get_string_member(
            migrate_event_data(ev), "status");

        if (!strcmp(got, status)) {
            return;
        }
    }
}

void wait_for_migration_pass(QTestState *from, int64_t passes)
{
    int64_t seen = 0;

    while (seen < passes) {
        g_autoptr(JsonNode) ev = migrate_eventwait(from, "MIGRATION_PASS");
        int64_t pass = json_object_get_int_member(migrate_event_data(ev),
                                                  "pass");

        /* Passes count up from 1, one event each. */
        g_assert_cmpint(pass, ==, seen + 1);
        seen = pass;
    }
    g_assert_cmpint(migrate_query_ram_int(from, "dirty-sync-count"), >=,
                    passes);
}

static void migrate_set_switchover_hold(QTestState *who, bool hold)
{
    qtest_qmp_assert_success(who, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'x-switchover-hold': %s}}",
                             hold ? "true" : "false");
}

void migrate_ensure_non_converge(QTestState *who)
{
    /* Far too slow for a-b, which dirties every page of its range in a
     * fraction of a millisecond, with no downtime allowed. */
    migrate_set_parameter_int(who, "max-bandwidth", 3000000);
    migrate_set_parameter_int(who, "downtime-limit", 1);
    /*
     * A guest starved of the CPU on a loaded machine dirties nothing between
     * two syncs, and nothing pending is converged whatever the limits: only
     * the hold makes "cannot complete yet" certain.
     */
    migrate_set_switchover_hold(who, true);
}

void migrate_ensure_converge(QTestState *who)
{
    /* 1 GB/s and 30 s of allowed downtime: the next check switches over. */
    migrate_set_parameter_int(who, "max-bandwidth", 1000000000);
    migrate_set_parameter_int(who, "downtime-limit", 30000);
    migrate_set_switchover_hold(who, false);
}

/* ---- tern's threads ---- */

pid_t migrate_thread_find(QTestState *who, const char *name)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/task", (int)qtest_pid(who));
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *tid;

    while (d && (tid = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, tid, "comm", NULL);
        g_autofree char *comm = NULL;

        if (g_file_get_contents(path, &comm, NULL, NULL) &&
            !strcmp(g_strchomp(comm), name)) {
            return atoi(tid);
        }
    }
    return 0;
}

/* The syscall number @tid of @who is in, or -1 when it runs in user space. */
static long migrate_thread_syscall(QTestState *who, pid_t tid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/syscall",
                                            (int)qtest_pid(who), (int)tid);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &text, NULL, &err)) {
        g_error("%s", err->message);
    }
    return g_ascii_isdigit(text[0]) ? strtol(text, NULL, 10) : -1;
}

void migrate_wait_thread_blocked(QTestState *who, const char *name)
{
    gint64 deadline = qtest_deadline_ms(MIG_GUEST_TIMEOUT_MS);

    for (;;) {
        pid_t tid = migrate_thread_find(who, name);
        long nr = tid ? migrate_thread_syscall(who, tid) : -1;

        if (nr == SYS_poll || nr == SYS_ppoll || nr == SYS_read ||
            nr == SYS_write || nr == SYS_writev) {
            return;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("thread %s never blocked on its channel", name);
        }
        g_usleep(2000);
    }
}

/* The name of a thread of @who's whose name begins with @prefix, or NULL (transfer full). */
static char *migrate_thread_find_prefix(QTestState *who, const char *prefix)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/task", (int)qtest_pid(who));
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *tid;

    while (d && (tid = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, tid, "comm", NULL);
        g_autofree char *comm = NULL;

        if (g_file_get_contents(path, &comm, NULL, NULL) &&
            g_str_has_prefix(g_strchomp(comm), prefix)) {
            return g_steal_pointer(&comm);
        }
    }
    return NULL;
}

void migrate_wait_threads_gone(QTestState *who, const char *prefix)
{
    gint64 deadline = qtest_deadline_ms(MIG_GUEST_TIMEOUT_MS);

    for (;;) {
        g_autofree char *name = migrate_thread_find_prefix(who, prefix);

        if (!name) {
            return;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("thread %s is still there", name);
        }
        g_usleep(2000);
    }
}

void migrate_wait_thread_gone(QTestState *who, const char *name)
{
    gint64 deadline = qtest_deadline_ms(MIG_GUEST_TIMEOUT_MS);

    while (migrate_thread_find(who, name)) {
        if (g_get_monotonic_time() > deadline) {
            g_error("thread %s is still there", name);
        }
        g_usleep(2000);
    }
}

/* ---- the guest ---- */

void wait_for_serial(const char *serial_path)
{
    if (!wait_for_serial_within(serial_path, MIG_GUEST_TIMEOUT_MS)) {
        g_error("no 'B' on %s within 60 s", serial_path);
    }
}

bool wait_for_serial_within(const char *serial_path, int64_t timeout_ms)
{
    gint64 deadline = qtest_deadline_ms(timeout_ms);

    for (;;) {
        g_autofree char *text = NULL;
        gsize len = 0;

        g_file_get_contents(serial_path, &text, &len, NULL);
        for (gsize i = 0; i < len; i++) {
            if (text[i] == 'B') {
                return true;
            }
            if (text[i] != 'A') {
                g_error("unexpected byte 0x%02x on %s", (uint8_t)text[i],
                        serial_path);
            }
        }
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(5000);
    }
}

size_t migrate_serial_b_count(const char *serial_path)
{
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(serial_path, &text, &len, NULL)) {
        return 0;
    }
    for (gsize i = 0; i < len; i++) {
        if (text[i] != 'B') {
            g_error("%s: byte %zu is 0x%02x, expected only 'B' "
                    "(the guest must continue, not restart): '%.40s'",
                    serial_path, (size_t)i, (uint8_t)text[i], text);
        }
    }
    return len;
}

uint64_t migrate_marker_address(MigTest *t)
{
    return migrate_watch_address(t) + MIG_MARKER_SHUFFLE;
}

void migrate_prepare_for_dirty_mem(MigTest *t)
{
    uint64_t marker = migrate_watch_address(t) + MIG_MARKER_SHUFFLE;

    qtest_writeq(t->qfrom, marker, MIG_MAGIC_MARKER);
}

/* The source's guest still runs: new 'B's keep coming. */
void migrate_check_source_guest_runs(MigTest *t)
{
    gint64 deadline = qtest_deadline_ms(60000);
    g_autofree char *runstate = migrate_runstate(t->from);
    g_autofree char *text = NULL;
    gsize len = 0, now = 0;

    g_assert_cmpstr(runstate, ==, "running");
    g_file_get_contents(t->src_serial, &text, &len, NULL);
    do {
        g_autofree char *again = NULL;

        if (g_get_monotonic_time() > deadline) {
            g_error("the source's guest stopped printing");
        }
        g_usleep(5000);
        g_file_get_contents(t->src_serial, &again, &now, NULL);
    } while (now <= len);
}

/* The source's migration completed (the guest stopped for good there). */
static bool migrate_source_completed(MigTest *t)
{
    g_autofree char *status = migrate_query_status(t->from);

    return !strcmp(status, "completed");
}

/*
 * Wait until sent memory is dirty again.  The caller held the switchover
 * (migrate_ensure_non_converge), so the source cannot complete meanwhile.
 */
void migrate_wait_for_dirty_mem(MigTest *t)
{
    uint64_t watch = migrate_watch_address(t);
    uint64_t marker = watch + MIG_MARKER_SHUFFLE;
    gint64 deadline = qtest_deadline_ms(MIG_STATUS_TIMEOUT_MS);
    uint8_t watch_byte;

    /* The marker arriving shows a known amount of progress... */
    while (qtest_readq(t->qto, marker) != MIG_MAGIC_MARKER) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the progress marker did not reach the destination");
        }
        g_usleep(10000);
    }
    /* ...and a changed watch byte that sent memory is dirty again. */
    watch_byte = qtest_readb(t->qfrom, watch);
    while (qtest_readb(t->qfrom, watch) == watch_byte) {
        if (migrate_source_completed(t)) {
            g_error("the source completed although its switchover was held");
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("the source's guest did not dirty its memory while migrating");
        }
        g_usleep(10000);
    }
}

void migrate_prepare_for_testdev(MigTest *t)
{
    t->testdev_counter = g_test_rand_int() | 1;
    qtest_outl(t->qfrom, MIG_TESTDEV_COUNTER, t->testdev_counter);
    g_assert_cmphex(qtest_inl(t->qfrom, MIG_TESTDEV_COUNTER), ==,
                    t->testdev_counter);
    t->testdev_set = true;
}

/* Bytes 1..4095 of the page at @addr hold MIG_PAGE_FILL, but for the
 * progress marker. */
static void migrate_check_page_fill(MigTest *t, uint64_t addr,
                                    const uint8_t *page)
{
    uint64_t marker = migrate_watch_address(t) + MIG_MARKER_SHUFFLE;

    for (unsigned i = 1; i < MIG_PAGE_SIZE; i++) {
        if (page[i] != MIG_PAGE_FILL &&
            !(addr + i >= marker && addr + i < marker + 8)) {
            g_error("page 0x%" PRIx64 " byte %u is 0x%02x, not the fill "
                    "0x%02x: the page did not arrive whole", addr, i,
                    page[i], MIG_PAGE_FILL);
        }
    }
}

/* The first byte of every page in [start, end), read in bulk; the rest of
 * each page is checked against the fill. */
static uint8_t *migrate_read_page_bytes(MigTest *t, QTestProto *who,
                                        size_t *npages)
{
    const uint64_t chunk = 4u << 20;
    size_t n = (t->end_address - t->start_address) / MIG_PAGE_SIZE;
    uint8_t *bytes = g_malloc(n);
    g_autofree uint8_t *buf = g_malloc(chunk);
    size_t page = 0;

    for (uint64_t a = t->start_address; a < t->end_address; a += chunk) {
        uint64_t len = MIN(chunk, t->end_address - a);

        qtest_bufread(who, a, buf, len);
        for (uint64_t off = 0; off < len; off += MIG_PAGE_SIZE) {
            migrate_check_page_fill(t, a + off, buf + off);
            bytes[page++] = buf[off];
        }
    }
    *npages = n;
    return bytes;
}

void check_guests_ram(MigTest *t, QTestProto *who)
{
    size_t n;
    g_autofree uint8_t *bytes = migrate_read_page_bytes(t, who, &n);
    bool hit_edge = false;
    unsigned bad = 0;

    for (size_t i = 1; i < n; i++) {
        if (bytes[i] == bytes[i - 1]) {
            continue;
        }
        /* The sweep in progress: pages before it are one ahead. */
        if (!hit_edge && (uint8_t)(bytes[i] + 1) == bytes[i - 1]) {
            hit_edge = true;
            continue;
        }
        if (++bad <= 10) {
            g_test_message("memory inconsistent at 0x%" PRIx64
                           ": first 0x%02x previous 0x%02x this 0x%02x "
                           "edge seen %d",
                           t->start_address + i * MIG_PAGE_SIZE, bytes[0],
                           bytes[i - 1], bytes[i], hit_edge);
        }
    }
    if (bad) {
        g_error("%u pages break a-b's memory pattern", bad);
    }
}

void migrate_check_source_after(MigTest *t)
{
    g_autofree char *runstate = migrate_runstate(t->from);
    g_autofree char *status = migrate_query_status(t->from);

    g_assert_cmpstr(status, ==, "completed");
    g_assert_cmpstr(runstate, ==, "postmigrate");
}

/* The destination's guest runs: the watch byte moves, new 'B's appear. */
static void migrate_check_dest_runs(MigTest *t)
{
    gint64 deadline = qtest_deadline_ms(MIG_GUEST_TIMEOUT_MS);
    uint64_t watch = migrate_watch_address(t);
    uint8_t byte = qtest_readb(t->qto, watch);
    size_t bs = migrate_serial_b_count(t->dst_serial);

    while (qtest_readb(t->qto, watch) == byte) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the guest does not run on the destination");
        }
        g_usleep(1000);
    }
    while (migrate_serial_b_count(t->dst_serial) <= bs) {
        if (g_get_monotonic_time() > deadline) {
            g_error("no new 'B' from the guest on the destination");
        }
        g_usleep(5000);
    }
}

void migrate_end(MigTest *t, bool check_dest)
{
    qtest_proto_free(t->qfrom);
    qtest_quit(t->from);
    t->qfrom = NULL;
    t->from = NULL;
    if (check_dest) {
        uint64_t watch = migrate_watch_address(t);
        uint8_t byte;

        migrate_check_dest_runs(t);
        qtest_qmp_assert_success(t->to, "{'execute': 'stop'}");
        byte = qtest_readb(t->qto, watch);
        g_usleep(200 * 1000);
        g_assert_cmphex(qtest_readb(t->qto, watch), ==, byte);
        check_guests_ram(t, t->qto);
        /* Memory the guest never writes arrived too (a-b's pattern alone
         * would also hold for pages that never came). */
        g_assert_cmphex(qtest_readq(t->qto, migrate_watch_address(t) +
                                    MIG_MARKER_SHUFFLE), ==,
                        MIG_MAGIC_MARKER);
        if (t->testdev_set) {
            g_assert_cmphex(qtest_inl(t->qto, MIG_TESTDEV_COUNTER), ==,
                            t->testdev_counter);
            g_assert_cmphex(qtest_inl(t->qto, MIG_TESTDEV_CONTROL), ==, 0);
        }
    }
    qtest_proto_free(t->qto);
    qtest_quit(t->to);
    t->qto = NULL;
    t->to = NULL;
}

/* ---- host features ---- */

/* Tries the syscall first, then /dev/userfaultfd (no privilege needed there). */
bool userfaultfd_usable(char **why)
{
    int fd = syscall(__NR_userfaultfd, O_CLOEXEC);
    int err = errno;

    if (fd < 0) {
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

        if (dev >= 0) {
            fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
            err = errno;
            close(dev);
        }
    }
    if (fd < 0) {
        *why = g_strdup_printf("userfaultfd not available here (%s): postcopy "
                               "needs it on the destination", g_strerror(err));
        return false;
    }
    close(fd);
    return true;
}
