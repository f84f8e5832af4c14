/*
 * background-snapshot: the a-b guest keeps running while its snapshot is
 * written, and the image loaded into a new process is memory (and device
 * state) as of the snapshot instant.
 *
 * The oracle does not depend on timing.  The snapshot goes to a unix
 * socket this test listens on and does not read yet, so the stream stalls
 * a few hundred KiB in, far before the progress marker's page (3 MiB into
 * a-b's range).  After the instant (the source's RESUME event) the test
 * overwrites the marker and the testdev counter on the source; only then
 * does it read the stream.  The loaded image must hold the old marker and
 * counter (what was there at the instant), and a-b's page pattern, which a
 * copy taken over time instead of at one instant breaks.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SNAPSHOT_NEW_MARKER 0x0123456789abcdefull

/*
 * Turn background-snapshot on on the source; false (after g_test_skip)
 * where the host cannot write-protect memory with userfaultfd.
 */
static bool snapshot_enable(MigTest *t)
{
    g_autoptr(JsonNode) reply = qtest_qmp(t->from,
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': ["
        "{'capability': 'background-snapshot', 'state': true}]}}");
    JsonObject *obj = json_node_get_object(reply);

    if (json_object_has_member(obj, "error")) {
        const char *desc = json_object_get_string_member(
            json_object_get_object_member(obj, "error"), "desc");

        g_assert_cmpstr(desc, ==, "Background-snapshot is not supported by host kernel");
        g_test_skip("userfaultfd write-protect is not available here: "
                    "background-snapshot cannot run");
        return false;
    }
    return true;
}

/* A listening unix socket at @path. */
static int snapshot_listen(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

/* Accept the source's connection and copy its stream into @file until it closes. */
static void snapshot_receive(int listener, const char *file)
{
    g_autofree uint8_t *buf = g_malloc(1 << 20);
    int conn = accept(listener, NULL, NULL);
    int out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ssize_t n;

    g_assert_cmpint(conn, >=, 0);
    g_assert_cmpint(out, >=, 0);
    while ((n = read(conn, buf, 1 << 20)) > 0) {
        g_assert_cmpint(write(out, buf, n), ==, n);
    }
    g_assert_cmpint(n, ==, 0);
    close(conn);
    close(out);
}

/* Load @file into a new destination; it resumes (the source ran) and migrate_end checks it. */
static void snapshot_load_and_check(MigTest *t, const char *file)
{
    MigrateStart dst = { 0 };
    g_autofree char *uri = g_strdup_printf("file:%s", file);

    migrate_start_destination(t, &dst);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
}

/* The 'B's the source's guest printed so far (it starts with an 'A'). */
static size_t snapshot_b_count(MigTest *t)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    size_t bs = 0;

    g_assert_true(g_file_get_contents(t->src_serial, &text, &len, NULL));
    for (gsize i = 0; i < len; i++) {
        bs += text[i] == 'B';
    }
    return bs;
}

/*
 * The source's guest prints @more 'B's: each 'B' follows sweeps over every
 * page of a-b's range, so no write to it stays blocked.
 */
static void snapshot_wait_guest_sweeps(MigTest *t, size_t more)
{
    size_t goal = snapshot_b_count(t) + more;
    gint64 deadline = qtest_deadline_ms(60000);

    while (snapshot_b_count(t) < goal) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the source's guest stopped printing 'B's");
        }
        g_usleep(10000);
    }
}

/* The source after its snapshot: completed, and the guest still runs there. */
static void snapshot_check_source_runs(MigTest *t)
{
    g_autofree char *runstate = migrate_runstate(t->from);
    g_autofree char *status = migrate_query_status(t->from);

    g_assert_cmpstr(status, ==, "completed");
    g_assert_cmpstr(runstate, ==, "running");
    snapshot_wait_guest_sweeps(t, 2);
}

static void test_snapshot_instant(const char *accel)
{
    MigrateStart start = { .only_source = true, .accel = accel };
    MigTest *t = migrate_start(&start);
    g_autofree char *sock = NULL;
    g_autofree char *file = NULL;
    g_autofree char *uri = NULL;
    uint32_t old_counter;
    int listener;

    if (!t) {
        return;
    }
    if (!snapshot_enable(t)) {
        migrate_test_free(t);
        return;
    }
    sock = migrate_test_path(t, "snap.sock");
    file = migrate_test_path(t, "snapfile");
    uri = g_strdup_printf("unix:%s", sock);
    listener = snapshot_listen(sock);
    wait_for_serial(t->src_serial);

    migrate_qmp(t->from, uri, NULL);
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    json_node_unref(migrate_eventwait(t->from, "RESUME"));
    /* After the instant, before the stream got near these: the image keeps the old values. */
    qtest_writeq(t->qfrom, migrate_marker_address(t), SNAPSHOT_NEW_MARKER);
    old_counter = t->testdev_counter;
    migrate_prepare_for_testdev(t);
    g_assert_cmphex(t->testdev_counter, !=, old_counter);
    t->testdev_counter = old_counter;

    snapshot_receive(listener, file);
    close(listener);
    wait_for_migration_complete(t->from);
    snapshot_check_source_runs(t);
    /* The write went to the running guest; the snapshot did not undo it. */
    g_assert_cmphex(qtest_readq(t->qfrom, migrate_marker_address(t)), ==, SNAPSHOT_NEW_MARKER);
    snapshot_load_and_check(t, file);
    migrate_test_free(t);
}

static void test_snapshot_instant_interp(void)
{
    test_snapshot_instant(NULL);
}

static void test_snapshot_instant_kvm(void)
{
    test_snapshot_instant("kvm");
}

/* The usual use: file:, the guest running throughout; the image loads with the memory check. */
static void test_snapshot_file(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *file = migrate_test_path(t, "snapfile");
    g_autofree char *uri = g_strdup_printf("file:%s", file);

    if (!snapshot_enable(t)) {
        migrate_test_free(t);
        return;
    }
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    snapshot_check_source_runs(t);
    snapshot_load_and_check(t, file);
    migrate_test_free(t);
}

/*
 * With mapped-ram (QEMU accepts the pair): pages go to their file slots,
 * those the guest writes after the instant from the fault thread's copies,
 * and the bitmaps when all are out.  The marker and the testdev counter
 * change after the instant (RESUME): whether the migration thread had
 * saved the marker's page by then or the write made the fault thread copy
 * it first, the image holds the old values.
 */
static void test_snapshot_file_mapped_ram(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *file = migrate_test_path(t, "snapfile");
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    MigrateStart dst = { 0 };
    uint32_t old_counter;

    if (!snapshot_enable(t)) {
        migrate_test_free(t);
        return;
    }
    migrate_set_capability(t->from, "mapped-ram", true);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    json_node_unref(migrate_eventwait(t->from, "RESUME"));
    qtest_writeq(t->qfrom, migrate_marker_address(t), SNAPSHOT_NEW_MARKER);
    old_counter = t->testdev_counter;
    migrate_prepare_for_testdev(t);
    g_assert_cmphex(t->testdev_counter, !=, old_counter);
    t->testdev_counter = old_counter;
    wait_for_migration_complete(t->from);
    snapshot_check_source_runs(t);

    migrate_start_destination(t, &dst);
    migrate_set_capability(t->to, "mapped-ram", true);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    /* a-b never writes the marker: the image's is the one of the instant. */
    g_assert_cmphex(qtest_readq(t->qto, migrate_marker_address(t)), !=, SNAPSHOT_NEW_MARKER);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* A paused guest: nothing stops or resumes, it stays paused, and the image loads paused. */
static void test_snapshot_paused(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *file = migrate_test_path(t, "snapfile");
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    g_autofree char *src_state = NULL;
    g_autofree char *dst_state = NULL;
    MigrateStart dst = { 0 };

    if (!snapshot_enable(t)) {
        migrate_test_free(t);
        return;
    }
    wait_for_serial(t->src_serial);
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    src_state = migrate_runstate(t->from);
    g_assert_cmpstr(src_state, ==, "paused");

    migrate_start_destination(t, &dst);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    dst_state = migrate_runstate(t->to);
    g_assert_cmpstr(dst_state, ==, "paused");
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    migrate_end(t, true);
    migrate_test_free(t);
}

/* Cancelled while the stream stalls: the write protection goes, the guest runs on unharmed. */
static void test_snapshot_cancel(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *sock = migrate_test_path(t, "snap.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *runstate = NULL;
    int listener;

    if (!snapshot_enable(t)) {
        migrate_test_free(t);
        return;
    }
    listener = snapshot_listen(sock);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    json_node_unref(migrate_eventwait(t->from, "RESUME"));
    migrate_wait_thread_blocked(t->from, "mig/src");
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    snapshot_wait_guest_sweeps(t, 2);
    qtest_writeq(t->qfrom, migrate_marker_address(t), SNAPSHOT_NEW_MARKER);
    g_assert_cmphex(qtest_readq(t->qfrom, migrate_marker_address(t)), ==, SNAPSHOT_NEW_MARKER);
    close(listener);
    migrate_test_free(t);
}

/* QEMU's refusals beside the capability. */
static void test_snapshot_refusals(void)
{
    static const char *const conflicts[] = {
        "postcopy-ram", "return-path", "multifd", "pause-before-switchover",
        "auto-converge", "compress", "xbzrle", "validate-uuid",
    };
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);

    for (size_t i = 0; i < G_N_ELEMENTS(conflicts); i++) {
        g_autofree char *cmd = g_strdup_printf(
            "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': ["
            "{'capability': 'background-snapshot', 'state': true},"
            "{'capability': '%s', 'state': true}]}}", conflicts[i]);
        g_autofree char *msg = g_strdup_printf(
            "Background-snapshot is not compatible with %s", conflicts[i]);

        qtest_qmp_expect_error(t->from, "GenericError", msg, cmd);
    }
    migrate_test_free(t);
}

void migration_register_snapshot_tests(void)
{
    g_test_add_func("/migration/background-snapshot/unix/instant", test_snapshot_instant_interp);
    g_test_add_func("/migration/background-snapshot/file", test_snapshot_file);
    g_test_add_func("/migration/background-snapshot/file/mapped-ram",
                    test_snapshot_file_mapped_ram);
    g_test_add_func("/migration/background-snapshot/paused", test_snapshot_paused);
    g_test_add_func("/migration/background-snapshot/cancel", test_snapshot_cancel);
    g_test_add_func("/migration/background-snapshot/refusals", test_snapshot_refusals);
}

void migration_register_snapshot_kvm_tests(void)
{
    g_test_add_func("/migration/background-snapshot/unix/instant/kvm", test_snapshot_instant_kvm);
}
