/*
 * x-ignore-shared and the CPR modes (QEMU's /migration/ignore-shared and
 * tests/qtest/migration/cpr-tests.c paths): the a-b guest's RAM lives in
 * shared memory (a file on /dev/shm, or a memfd), the new process maps the
 * same memory, and no page of it crosses the wire.  Each ends with the a-b
 * memory check and the guest running in the new process.
 */
#include "migration-helpers.h"
#include "migration-proxy.h"
#include "migration-tests.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* QEMU's bound for /migration/ignore-shared: far less than the 128 MiB of RAM. */
#define CPR_MAX_TRANSFERRED (4 * 1024 * 1024)

/* A file on /dev/shm for the guest's RAM, or NULL after g_test_skip(). */
static char *cpr_shm_file(void)
{
    char *path = g_strdup("/dev/shm/tern-cpr-XXXXXX");
    int fd = g_mkstemp(path);

    if (fd < 0) {
        g_test_skip("no writable /dev/shm for a shared memory-backend-file");
        g_free(path);
        return NULL;
    }
    close(fd);
    return path;
}

/* The options that put 128 MiB of guest RAM in @path, shared. */
static char *cpr_file_backend_opts(const char *path)
{
    return g_strdup_printf("-object memory-backend-file,id=mem0,size=128M,"
                           "mem-path=%s,share=on -machine memory-backend=mem0", path);
}

/* Live over unix with x-ignore-shared: the shared file's pages stay home. */
static void test_ignore_shared(void)
{
    g_autofree char *shm = cpr_shm_file();
    g_autofree char *opts = NULL;
    g_autofree char *uri = NULL;
    MigrateStart start = { .incoming = "defer" };
    MigTest *t;

    if (!shm) {
        return;
    }
    opts = cpr_file_backend_opts(shm);
    start.src_opts = opts;
    start.dst_opts = opts;
    t = migrate_start(&start);
    uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    migrate_set_capability(t->from, "x-ignore-shared", true);
    migrate_set_capability(t->to, "x-ignore-shared", true);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    g_assert_cmpint(migrate_query_ram_int(t->from, "transferred"), <, CPR_MAX_TRANSFERRED);
    g_assert_cmpint(migrate_query_ram_int(t->from, "total"), ==, 0);
    migrate_end(t, true);
    migrate_test_free(t);
    unlink(shm);
}

/* The destination without x-ignore-shared refuses the stream (QEMU's text). */
static void test_ignore_shared_mismatch(void)
{
    g_autofree char *shm = cpr_shm_file();
    g_autofree char *opts = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *desc = NULL;
    g_autoptr(JsonNode) info = NULL;
    MigrateStart start = { .incoming = "defer" };
    MigTest *t;

    if (!shm) {
        return;
    }
    opts = cpr_file_backend_opts(shm);
    start.src_opts = opts;
    start.dst_opts = opts;
    t = migrate_start(&start);
    uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    migrate_set_capability(t->from, "x-ignore-shared", true);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_status(t->to, "failed", NULL);
    info = migrate_query(t->to);
    desc = g_strdup(json_object_get_string_member(json_node_get_object(info),
                                                  "error-desc"));
    g_assert_nonnull(strstr(desc, "Capability x-ignore-shared is off, but received "
                                  "capability is on"));
    migrate_test_free(t);
    unlink(shm);
}

/* ---- cpr-reboot ---- */

static void cpr_set_mode(QTestState *who, const char *mode)
{
    g_autoptr(JsonNode) ret = NULL;

    qtest_qmp_assert_success(who, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'mode': '%s'}}", mode);
    ret = qtest_qmp_assert_success_ref(who, "{'execute': 'query-migrate-parameters'}");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ret), "mode"),
                    ==, mode);
}

/*
 * QEMU's /migration/mode/reboot: save to a file with x-ignore-shared, quit,
 * then a new process over the same backing file loads it.  The guest was
 * running, so the new one resumes it; RAM never went into the file.
 */
static void test_mode_reboot(void)
{
    g_autofree char *shm = cpr_shm_file();
    g_autofree char *opts = NULL;
    g_autofree char *dst_opts = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *path = NULL;
    MigrateStart start = { .only_source = true };
    struct stat st;
    MigTest *t;

    if (!shm) {
        return;
    }
    opts = cpr_file_backend_opts(shm);
    start.src_opts = opts;
    start.dst_opts = opts;
    t = migrate_start(&start);
    uri = g_strdup_printf("file:%s/migfile", t->dir);
    path = migrate_test_path(t, "migfile");
    migrate_set_capability(t->from, "x-ignore-shared", true);
    cpr_set_mode(t->from, "cpr-reboot");
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    migrate_check_source_after(t);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, <, CPR_MAX_TRANSFERRED);
    qtest_proto_free(t->qfrom);
    qtest_quit(t->from);
    t->qfrom = NULL;
    t->from = NULL;

    /* Later: a new process loads it, with -S, and dies before resuming. */
    dst_opts = g_strdup_printf("%s -S", opts);
    start.dst_opts = dst_opts;
    migrate_start_destination(t, &start);
    migrate_set_capability(t->to, "x-ignore-shared", true);
    cpr_set_mode(t->to, "cpr-reboot");
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    qtest_kill(t->to, SIGKILL);

    /* The file loads again in the next one, which resumes the guest. */
    start.dst_opts = opts;
    migrate_start_destination(t, &start);
    migrate_set_capability(t->to, "x-ignore-shared", true);
    cpr_set_mode(t->to, "cpr-reboot");
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
    unlink(shm);
}

/* ---- cpr-transfer ---- */

/* memfd RAM (QEMU's test uses memory-backend-memfd, share on by default). */
#define CPR_MEMFD_FMT \
    "-object memory-backend-memfd,id=mem0,size=%" PRIu64 "M -machine memory-backend=mem0"
#define CPR_MEMFD_OPTS \
    "-object memory-backend-memfd,id=mem0,size=128M -machine memory-backend=mem0"

static char *cpr_channels(MigTest *t, const char *main_sock)
{
    return g_strdup_printf("{'channels': ["
        "{'channel-type': 'main', 'addr': {'transport': 'socket', 'type': 'unix', "
        "'path': '%s/%s'}}, "
        "{'channel-type': 'cpr', 'addr': {'transport': 'socket', 'type': 'unix', "
        "'path': '%s/cpr.sock'}}]}", t->dir, main_sock, t->dir);
}

/*
 * The source with @ram_mib of memfd RAM (0: 128) and, waiting on its cpr
 * channel, the new process (no QMP yet).
 */
static MigTest *cpr_transfer_start_ram(bool defer, uint64_t ram_mib)
{
    g_autofree char *mem = g_strdup_printf(CPR_MEMFD_FMT, ram_mib ? ram_mib : 128);
    MigrateStart start = { .only_source = true, .src_opts = mem, .ram_mib = ram_mib };
    g_autofree char *dst_opts = NULL;
    MigTest *t = migrate_start(&start);

    dst_opts = g_strdup_printf("%s -incoming cpr,addr.transport=socket,addr.type=unix,"
                               "addr.path=%s/cpr.sock", mem, t->dir);
    start.dst_opts = dst_opts;
    start.incoming = defer ? "defer" : "unix:%s/migsocket";
    start.dst_deferred_connect = true;
    migrate_start_destination(t, &start);
    return t;
}

static MigTest *cpr_transfer_start(bool defer)
{
    return cpr_transfer_start_ram(defer, 0);
}

/* migrate with both channels, once the new process listens on cpr.sock. */
static void cpr_transfer_migrate(MigTest *t)
{
    g_autofree char *sock = migrate_test_path(t, "cpr.sock");
    g_autofree char *args = cpr_channels(t, "migsocket");
    gint64 deadline = qtest_deadline_ms(60000);

    while (access(sock, F_OK) != 0) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    cpr_set_mode(t->from, "cpr-transfer");
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate', 'arguments': %s}", args);
}

static void cpr_transfer_finish(MigTest *t)
{
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    /* Device state only: no page of the 128 MiB. */
    g_assert_cmpint(migrate_query_ram_int(t->from, "transferred"), <, CPR_MAX_TRANSFERRED);
    g_assert_cmpint(migrate_query_ram_int(t->from, "total"), ==, 0);
    g_assert_cmpint(migrate_query_ram_int(t->from, "normal"), ==, 0);
}

/* QEMU's /migration/mode/transfer, live: the guest runs on in the new process. */
static void test_mode_transfer(void)
{
    MigTest *t = cpr_transfer_start(false);

    wait_for_serial(t->src_serial);
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    cpr_transfer_finish(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* QEMU's /migration/mode/transfer/defer: the main channel comes by migrate-incoming. */
static void test_mode_transfer_defer(void)
{
    MigTest *t = cpr_transfer_start(true);
    g_autofree char *uri = NULL;
    g_autofree char *runstate = NULL;

    wait_for_serial(t->src_serial);
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    /* The source waits for the new process's main listener: the guest still runs. */
    wait_for_migration_status(t->from, "setup", NULL);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    migrate_incoming_qmp(t->to, uri, NULL);
    cpr_transfer_finish(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* A stopped guest stays stopped in the new process until cont. */
static void test_mode_transfer_stopped(void)
{
    MigTest *t = cpr_transfer_start(false);
    g_autofree char *runstate = NULL;

    wait_for_serial(t->src_serial);
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    cpr_transfer_finish(t);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "paused");
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * A 4 GiB guest: the pause does not grow with RAM, since none is copied.
 * The figure is printed, never compared (bench/cpr-bench.py measures).
 */
static void test_mode_transfer_4g(void)
{
    MigTest *t = cpr_transfer_start_ram(false, 4096);
    g_autoptr(JsonNode) info = NULL;

    wait_for_serial(t->src_serial);
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    cpr_transfer_finish(t);
    info = migrate_query(t->from);
    g_test_message("4 GiB guest: downtime %" PRId64 " ms, %" PRId64 " bytes sent",
                   json_object_get_int_member(json_node_get_object(info), "downtime"),
                   migrate_query_ram_int(t->from, "transferred"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/* migrate_cancel while the source waits for the new process: cancelled at once. */
static void test_mode_transfer_cancel(void)
{
    MigTest *t = cpr_transfer_start(true);
    g_autofree char *runstate = NULL;

    wait_for_serial(t->src_serial);
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    wait_for_migration_status(t->from, "setup", NULL);
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    migrate_test_free(t);
}

/*
 * The new process dies after taking the fds, before it listens: the old
 * one's migration fails and its guest never stopped; it can migrate again.
 */
static void test_mode_transfer_dest_dies(void)
{
    MigTest *t = cpr_transfer_start(true);
    g_autofree char *desc = NULL;

    wait_for_serial(t->src_serial);
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    qtest_kill(t->to, SIGKILL);
    desc = wait_for_migration_fail(t->from, false);
    g_test_message("error-desc: %s", desc);
    g_assert_nonnull(strstr(desc, "migsocket"));
    qtest_proto_free(t->qto);
    t->qto = NULL;
    /* Again, to a new process that lives. */
    qtest_quit(t->to);
    t->to = NULL;
    {
        MigrateStart start = { .incoming = "unix:%s/migsocket",
                               .dst_deferred_connect = true };
        g_autofree char *dst_opts = g_strdup_printf(
            CPR_MEMFD_OPTS " -incoming cpr,addr.transport=socket,addr.type=unix,"
            "addr.path=%s/cpr.sock", t->dir);

        start.dst_opts = dst_opts;
        migrate_start_destination(t, &start);
    }
    cpr_transfer_migrate(t);
    migrate_attach_destination(t);
    cpr_transfer_finish(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* QEMU's refusals, before anything is sent; the guest runs on. */
static void test_mode_refusals(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *channels = cpr_channels(t, "migsocket");
    static const struct {
        const char *args;       /* NULL: @channels */
        const char *expect;
    } cases[] = {
        { NULL, "Memory region pc.ram is not compatible with CPR. share=on is required "
                "for memory-backend objects, and aux-ram-share=on is required." },
        { "{'uri': 'unix:/nonexistent/migsocket'}", "missing 'cpr' migration channel" },
        { "{'channels': [{'channel-type': 'main', 'addr': {'transport': 'file', "
          "'filename': '/nonexistent/f', 'offset': 0}}, {'channel-type': 'cpr', 'addr': "
          "{'transport': 'socket', 'type': 'unix', 'path': '/nonexistent/c'}}]}",
          "Migration requires streamable transport (eg unix)" },
        { "{'channels': [{'channel-type': 'main', 'addr': {'transport': 'socket', "
          "'type': 'unix', 'path': '/nonexistent/m'}}, {'channel-type': 'cpr', 'addr': "
          "{'transport': 'socket', 'type': 'inet', 'host': '127.0.0.1', 'port': '1'}}]}",
          "bad cpr channel address; must be unix" },
    };

    cpr_set_mode(t->from, "cpr-transfer");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *desc = migrate_qmp_fail(t->from, cases[i].args ? cases[i].args
                                                                         : channels);

        g_assert_cmpstr(desc, ==, cases[i].expect);
    }
    /* Every CPR mode refuses postcopy. */
    cpr_set_mode(t->from, "cpr-reboot");
    migrate_set_capability(t->from, "postcopy-ram", true);
    {
        g_autofree char *desc = migrate_qmp_fail(t->from, "{'uri': 'file:/nonexistent/f'}");

        g_assert_cmpstr(desc, ==, "Cannot use postcopy with CPR");
    }
    /* And cpr-exec is not built. */
    {
        g_autoptr(JsonNode) reply = qtest_qmp(t->from, "{'execute': 'migrate-set-parameters', "
                                              "'arguments': {'mode': 'cpr-exec'}}");

        g_assert_cmpstr(qtest_reply_error_desc(reply), ==,
                        "Migration parameter 'mode' value 'cpr-exec' is not supported "
                        "by tern");
    }
    g_autofree char *status = migrate_query_status(t->from);
    g_assert_cmpstr(status, ==, "none");
    migrate_test_free(t);
}

/*
 * A CPR state that names a block whose fd did not come: the new process
 * refuses to start rather than run the guest on empty memory.
 */
static void test_mode_transfer_missing_fd(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *sock = migrate_test_path(t, "cpr.sock");
    g_autofree char *dst_opts = g_strdup_printf(
        CPR_MEMFD_OPTS " -incoming cpr,addr.transport=socket,addr.type=unix,"
        "addr.path=%s", sock);
    static const uint8_t state[] = {
        0x51, 0x43, 0x50, 0x52, 0, 0, 0, 1,     /* "QCPR", version 1 */
        1, 0, 0, 0, 5, 'm', 'e', 'm', '0', 0,   /* entry "mem0" */
        0, 0, 0, 0, 0x20,                       /* id 0, the fd's byte without an fd */
        0,                                      /* end of list */
    };
    gint64 deadline = qtest_deadline_ms(60000);
    int fd = -1;

    start.dst_opts = dst_opts;
    start.incoming = "defer";
    start.dst_deferred_connect = true;
    migrate_start_destination(t, &start);
    while (fd < 0) {
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        fd = access(sock, F_OK) == 0 ? mig_unix_connect(sock) : -1;
        if (fd < 0) {
            g_usleep(1000);
        }
    }
    g_assert_cmpint(write(fd, state, sizeof(state)), ==, sizeof(state));
    shutdown(fd, SHUT_WR);
    g_assert_cmpint(qtest_wait_exit(t->to, 60000), ==, 1);
    close(fd);
    migrate_test_free(t);
}

/*
 * The new process refuses a cpr channel that cannot carry fds ("bad cpr
 * channel socket type; must be unix") and one without a main channel:
 * it exits at once, status 1.
 */
static void test_mode_transfer_bad_cpr_channel(void)
{
    static const char *const args[] = {
        "-incoming defer -incoming cpr,addr.transport=socket,addr.type=inet,"
        "addr.host=127.0.0.1,addr.port=0",
        "-incoming cpr,addr.transport=socket,addr.type=unix,addr.path=/nonexistent/c",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(args); i++) {
        g_autofree char *cmd = g_strdup_printf("-accel qtest -display none %s", args[i]);
        QTestState *s = qtest_init_opts(cmd, &(QTestOptions){ .defer_qmp = true });

        g_assert_cmpint(qtest_wait_exit(s, 60000), ==, 1);
        qtest_quit(s);
    }
}

void migration_register_cpr_tests(void)
{
    g_test_add_func("/migration/ignore-shared", test_ignore_shared);
    g_test_add_func("/migration/ignore-shared/mismatch", test_ignore_shared_mismatch);
    g_test_add_func("/migration/mode/reboot", test_mode_reboot);
    g_test_add_func("/migration/mode/transfer", test_mode_transfer);
    g_test_add_func("/migration/mode/transfer/defer", test_mode_transfer_defer);
    g_test_add_func("/migration/mode/transfer/stopped", test_mode_transfer_stopped);
    g_test_add_func("/migration/mode/transfer/4g", test_mode_transfer_4g);
    g_test_add_func("/migration/mode/transfer/cancel", test_mode_transfer_cancel);
    g_test_add_func("/migration/mode/transfer/dest-dies", test_mode_transfer_dest_dies);
    g_test_add_func("/migration/mode/transfer/missing-fd", test_mode_transfer_missing_fd);
    g_test_add_func("/migration/mode/transfer/bad-cpr-channel",
                    test_mode_transfer_bad_cpr_channel);
    g_test_add_func("/migration/mode/refusals", test_mode_refusals);
}
