/*
 * The migration qtest suite: migrate the a-b guest between two tern
 * processes over every transport, live and not, and check what arrived
 * (migration-helpers.h).  Test paths are QEMU's where tern has the
 * feature; the other groups live in migration-misc-tests.c and
 * migration-stream-tests.c.
 */
#include "migration-helpers.h"
#include "migration-tests.h"
#include "test-accel.h"

#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

typedef struct PrecopyArgs PrecopyArgs;

struct PrecopyArgs {
    MigrateStart start;
    /* The destination's -incoming ("defer": migrate-incoming with
     * connect_uri, or with listen_uri_qmp when set). */
    const char *listen_uri;
    const char *listen_uri_qmp;
    /* Where the source connects; "%s" is the test directory. */
    const char *connect_uri;
    bool live;
    /* Live: wait for this many dirty-sync passes instead of the marker,
     * at this max-bandwidth (non-converging all the same). */
    int64_t passes;
    int64_t passes_bandwidth;
    /* Before migrate-incoming / after the memory check. */
    void (*start_hook)(MigTest *t, PrecopyArgs *args);
    void (*end_hook)(MigTest *t, PrecopyArgs *args);
};

/* @fmt with the test directory substituted (transfer full). */
static char *uri_in_dir(MigTest *t, const char *fmt)
{
    return fmt && strstr(fmt, "%s") ? g_strdup_printf(fmt, t->dir)
                                   : g_strdup(fmt);
}

static void stop_source(MigTest *t)
{
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
}

/*
 * QEMU's precopy flow.  Live: start non-converging, wait until memory the
 * migration already sent is dirty again (or for N passes), then let it
 * converge.  Not live: stop the source, migrate at full speed, cont the
 * destination.  Then check both sides and the guest.
 */
static void test_precopy_common(PrecopyArgs *args)
{
    MigrateStart start = args->start;
    g_autofree char *listen = NULL;
    g_autofree char *connect = NULL;
    g_autofree char *uri = NULL;
    MigTest *t;

    start.incoming = args->listen_uri;
    t = migrate_start(&start);
    if (!t) {
        return;
    }
    listen = uri_in_dir(t, args->listen_uri_qmp ? args->listen_uri_qmp
                                                : args->connect_uri);
    connect = uri_in_dir(t, args->connect_uri);

    if (args->live) {
        migrate_ensure_non_converge(t->from);
        if (args->passes_bandwidth) {
            migrate_set_parameter_int(t->from, "max-bandwidth",
                                      args->passes_bandwidth);
        }
    } else {
        migrate_ensure_converge(t->from);
    }
    if (args->start_hook) {
        args->start_hook(t, args);
    }
    if (!args->listen_uri || !strcmp(args->listen_uri, "defer")) {
        migrate_incoming_qmp(t->to, listen, NULL);
    }
    wait_for_serial(t->src_serial);
    if (!args->live) {
        stop_source(t);
    }
    uri = migrate_get_connect_uri(t->to, connect);
    migrate_qmp(t->from, uri, NULL);

    if (args->live) {
        if (args->passes) {
            wait_for_migration_pass(t->from, args->passes);
        } else {
            migrate_wait_for_dirty_mem(t);
        }
        migrate_ensure_converge(t->from);
        json_node_unref(migrate_eventwait(t->from, "STOP"));
    }
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    if (args->live) {
        json_node_unref(migrate_eventwait(t->to, "RESUME"));
    } else {
        g_autofree char *runstate = migrate_runstate(t->to);

        /* The source was paused, so the destination stays paused. */
        g_assert_cmpstr(runstate, ==, "paused");
        qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    }
    if (args->passes) {
        /* More than one pass over the range went out. */
        g_assert_cmpint(migrate_query_ram_int(t->from, "transferred"), >,
                        (int64_t)(t->end_address - t->start_address));
        g_assert_cmpint(migrate_query_ram_int(t->from, "dirty-sync-count"),
                        >=, args->passes);
    }
    if (args->end_hook) {
        args->end_hook(t, args);
    }
    migrate_end(t, true);
    migrate_test_free(t);
}

/* Live over a unix socket, the destination listening from -incoming. */
static void test_precopy_unix_plain(void)
{
    PrecopyArgs args = {
        .listen_uri = "unix:%s/migsocket",
        .connect_uri = "unix:%s/migsocket",
        .live = true,
    };

    test_precopy_common(&args);
}

/* The same under KVM, over a tiny range (a-b runs slowly there). */
static void test_precopy_unix_plain_kvm(void)
{
    PrecopyArgs args = {
        .start = {
            .accel = "kvm",
            .start_address = 1 << 20,
            .end_address = 2 << 20,
        },
        .connect_uri = "unix:%s/migsocket",
        .live = true,
    };

    test_precopy_common(&args);
}

/* Non-live over tcp, port 0: the port comes from query-migrate. */
static void test_precopy_tcp_plain(void)
{
    PrecopyArgs args = {
        .connect_uri = "tcp:127.0.0.1:0",
    };

    test_precopy_common(&args);
}

/* Several dirty-sync passes before it may converge. */
static void test_precopy_unix_passes(void)
{
    PrecopyArgs args = {
        .connect_uri = "unix:%s/migsocket",
        .live = true,
        .passes = 3,
        .passes_bandwidth = 100000000,
    };

    test_precopy_common(&args);
}

/* ---- fd: a socketpair handed to both sides with getfd ---- */

static void getfd(QTestState *who, int fd, const char *name)
{
    g_autoptr(JsonNode) reply = qtest_qmp_fd(who, fd,
        "{'execute': 'getfd', 'arguments': {'fdname': '%s'}}", name);

    g_assert_nonnull(qtest_reply_return(reply));
}

static void fd_start_hook(MigTest *t, PrecopyArgs *args)
{
    int pair[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), ==, 0);
    getfd(t->to, pair[0], "fd-mig");
    getfd(t->from, pair[1], "fd-mig");
    close(pair[0]);
    close(pair[1]);
}

static void fd_end_hook(MigTest *t, PrecopyArgs *args)
{
    /* Both sides consumed the descriptor. */
    qtest_qmp_expect_error(t->from, "GenericError",
        "File descriptor named 'fd-mig' not found",
        "{'execute': 'closefd', 'arguments': {'fdname': 'fd-mig'}}");
    qtest_qmp_expect_error(t->to, "GenericError",
        "File descriptor named 'fd-mig' not found",
        "{'execute': 'closefd', 'arguments': {'fdname': 'fd-mig'}}");
}

static void test_precopy_fd_socket(void)
{
    PrecopyArgs args = {
        .connect_uri = "fd:fd-mig",
        .live = true,
        .start_hook = fd_start_hook,
        .end_hook = fd_end_hook,
    };

    test_precopy_common(&args);
}

/* ---- file: and exec: — the source finishes before the destination ---- */

#define FILE_TEST_OFFSET 0x1000
#define FILE_TEST_MARKER 'X'

typedef struct FileArgs {
    const char *src_uri;        /* "%s": the test directory */
    const char *dst_uri;
    bool stop_src;
    bool check_offset;
} FileArgs;

static void file_fill_prefix(MigTest *t)
{
    g_autofree char *path = migrate_test_path(t, "migfile");
    char prefix[FILE_TEST_OFFSET];

    memset(prefix, FILE_TEST_MARKER, sizeof(prefix));
    g_assert_true(g_file_set_contents(path, prefix, sizeof(prefix), NULL));
}

/* The prefix is untouched and the stream (magic, version 3) starts at the
 * offset. */
static void file_check_prefix(MigTest *t)
{
    static const uint8_t header[8] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3 };
    g_autofree char *path = migrate_test_path(t, "migfile");
    g_autofree char *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, >, FILE_TEST_OFFSET + sizeof(header));
    for (size_t i = 0; i < FILE_TEST_OFFSET; i++) {
        g_assert_cmpint(data[i], ==, FILE_TEST_MARKER);
    }
    g_assert_cmpmem(data + FILE_TEST_OFFSET, sizeof(header), header,
                    sizeof(header));
}

static void test_file_common(const FileArgs *fa)
{
    MigrateStart start = { 0 };
    g_autofree char *src_uri = NULL;
    g_autofree char *dst_uri = NULL;
    MigTest *t = migrate_start(&start);

    src_uri = uri_in_dir(t, fa->src_uri);
    dst_uri = uri_in_dir(t, fa->dst_uri);
    if (fa->check_offset) {
        file_fill_prefix(t);
    }
    migrate_ensure_converge(t->from);
    wait_for_serial(t->src_serial);
    if (fa->stop_src) {
        stop_source(t);
    }
    migrate_qmp(t->from, src_uri, NULL);
    wait_for_migration_complete(t->from);
    migrate_check_source_after(t);
    if (fa->check_offset) {
        file_check_prefix(t);
    }
    migrate_incoming_qmp(t->to, dst_uri, NULL);
    wait_for_migration_complete(t->to);
    if (fa->stop_src) {
        g_autofree char *runstate = migrate_runstate(t->to);

        g_assert_cmpstr(runstate, ==, "paused");
        qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    } else {
        json_node_unref(migrate_eventwait(t->to, "RESUME"));
    }
    migrate_end(t, true);
    migrate_test_free(t);
}

static void test_precopy_file(void)
{
    FileArgs fa = {
        .src_uri = "file:%s/migfile",
        .dst_uri = "file:%s/migfile",
        .stop_src = true,
    };

    test_file_common(&fa);
}

static void test_precopy_file_offset(void)
{
    FileArgs fa = {
        .src_uri = "file:%s/migfile,offset=4096",
        .dst_uri = "file:%s/migfile,offset=4096",
        .stop_src = true,
        .check_offset = true,
    };

    test_file_common(&fa);
}

static void test_precopy_exec(void)
{
    FileArgs fa = {
        .src_uri = "exec:cat > %s/migfile",
        .dst_uri = "exec:cat %s/migfile",
        .stop_src = false,
    };

    test_file_common(&fa);
}

/* An offset with a suffix in hex is not a plain size: migrate refuses it. */
static void test_precopy_file_offset_bad(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *args = g_strdup_printf(
        "{'uri': 'file:%s/migfile,offset=0x20M'}", t->dir);
    g_autofree char *desc = migrate_qmp_fail(t->from, args);
    g_autofree char *status = migrate_query_status(t->from);
    g_autofree char *runstate = migrate_runstate(t->from);

    g_test_message("migrate error: %s", desc);
    g_assert_true(strcmp(status, "none") == 0 || strcmp(status, "failed") == 0);
    g_assert_cmpstr(runstate, ==, "running");
    migrate_test_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* The cases that need kvm run from meson's migration-test-kvm. */
    if (test_accel_selected(true)) {
        g_test_add_func("/migration/precopy/unix/plain/kvm",
                        test_precopy_unix_plain_kvm);
        migration_register_postcopy_kvm_tests();
        migration_register_converge_kvm_tests();
        migration_register_snapshot_kvm_tests();
        migration_register_savevm_kvm_tests();
    }
    if (!test_accel_selected(false)) {
        return g_test_run();
    }
    g_test_add_func("/migration/precopy/unix/plain", test_precopy_unix_plain);
    g_test_add_func("/migration/precopy/unix/passes",
                    test_precopy_unix_passes);
    g_test_add_func("/migration/precopy/tcp/plain", test_precopy_tcp_plain);
    g_test_add_func("/migration/precopy/fd/tcp", test_precopy_fd_socket);
    g_test_add_func("/migration/precopy/exec", test_precopy_exec);
    g_test_add_func("/migration/precopy/file", test_precopy_file);
    g_test_add_func("/migration/precopy/file/offset",
                    test_precopy_file_offset);
    g_test_add_func("/migration/precopy/file/offset/bad",
                    test_precopy_file_offset_bad);
    migration_register_misc_tests();
    migration_register_converge_tests();
    migration_register_predict_tests();
    migration_register_stream_tests();
    migration_register_lifecycle_tests();
    migration_register_cancel_tests();
    migration_register_multifd_tests();
    migration_register_mapped_ram_tests();
    migration_register_fdset_tests();
    migration_register_cpr_tests();
    migration_register_postcopy_tests();
    migration_register_verify_tests();
    migration_register_xbzrle_tests();
    migration_register_snapshot_tests();
    migration_register_savevm_tests();
    migration_register_compress_tests();
    return g_test_run();
}
