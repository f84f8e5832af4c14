/*
 * The migration commands of the HMP shell end to end: real tern processes
 * driven through human-monitor-command and through a "-monitor stdio" pipe,
 * migrating the a-b guest between two of them over a unix socket.
 */
#include "libqtest.h"

#include <glib/gstdio.h>
#include <string.h>

/*
 * a-b, or fill then a-b (flags=1): random data in every page of the range
 * before the first 'B', so that every page is a data page whatever a-b's
 * counters are, and a migration at a given max-bandwidth lasts at least
 * 15 MiB / max-bandwidth.
 */
#define GUEST_ARGS "-display none -accel interp -m 16 -kernel %s/%s.bin " \
                   "-append start=1M,end=16M%s"

/*
 * The guest runs during these migrations: 30 s of allowed downtime lets the
 * first check switch over whatever the bandwidth measured under load.
 */
#define CONVERGE "migrate_set_parameter downtime-limit 30000"

/* The globals block every "info migrate" starts with. */
#define INFO_GLOBALS "globals:\r\nstore-global-state: on\r\n" \
                     "only-migratable: off\r\nsend-configuration: on\r\n" \
                     "send-section-footer: on\r\n"

typedef struct Pair {
    QTestState *src;
    QTestState *dst;
    char *dir;
    char *sock;         /* the destination's listening socket */
    char *serial;       /* the stdio source's serial output, or NULL */
} Pair;

/* Run @line and expect exactly @expected as its output. */
static void hmp_expect(QTestState *s, const char *line, const char *expected)
{
    g_autofree char *out = qtest_hmp(s, line);

    g_assert_cmpstr(out, ==, expected);
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part)) {
        g_error("'%s' not found in:\n%s", part, text);
    }
}

/* @filled: run fill first (GUEST_ARGS). */
static char *guest_args(bool filled, const char *extra)
{
    const char *dir = g_getenv("TERN_GUEST_DIR");
    g_autofree char *base = NULL;

    g_assert_nonnull(dir);
    base = g_strdup_printf(GUEST_ARGS, dir, filled ? "fill" : "a-b",
                           filled ? ",flags=1" : "");
    return g_strdup_printf("%s %s", base, extra);
}

/* A destination listening on a fresh socket; the source is the caller's. */
static void pair_start_dst(Pair *p, const char *incoming)
{
    g_autofree char *args = NULL;

    p->dir = g_dir_make_tmp("tern-hmp-mig-XXXXXX", NULL);
    g_assert_nonnull(p->dir);
    p->sock = g_build_filename(p->dir, "mig.sock", NULL);
    if (incoming) {
        args = guest_args(false, incoming);
    } else {
        g_autofree char *inc = g_strdup_printf("-incoming unix:%s", p->sock);

        args = guest_args(false, inc);
    }
    p->dst = qtest_init(args);
}

static void pair_free(Pair *p)
{
    qtest_quit(p->src);
    qtest_quit(p->dst);
    g_unlink(p->sock);
    if (p->serial) {
        g_unlink(p->serial);
    }
    g_rmdir(p->dir);
    g_free(p->serial);
    g_free(p->sock);
    g_free(p->dir);
}

/* The query-migrate status of @s. */
static char *migrate_status(QTestState *s)
{
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(
        s, "{'execute': 'query-migrate'}");
    JsonObject *o = json_node_get_object(ret);

    if (!json_object_has_member(o, "status")) {
        return g_strdup("none");
    }
    return g_strdup(json_object_get_string_member(o, "status"));
}

static void wait_for_status(QTestState *s, const char *want)
{
    gint64 deadline = qtest_deadline_ms(60000);

    for (;;) {
        g_autofree char *st = migrate_status(s);

        if (!strcmp(st, want)) {
            return;
        }
        g_assert_cmpstr(st, !=, "failed");
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

/* A fresh process: info migrate shows the globals only; then bad input. */
static void test_idle_and_errors(void)
{
    QTestState *s = qtest_init("-display none -accel qtest -m 16");

    hmp_expect(s, "info migrate", INFO_GLOBALS);
    hmp_expect(s, "migrate", "migrate: string expected\r\n");
    hmp_expect(s, "migrate -x unix:/nonexistent",
               "migrate: unsupported option -x\r\n");
    hmp_expect(s, "migrate -r unix:/nonexistent",
               "Error: Cannot resume if there is no paused migration\r\n");
    hmp_expect(s, "migrate_recover unix:/nonexistent",
               "Error: Migrate recover can only be run when postcopy is paused.\r\n");
    hmp_expect(s, "migrate_pause",
               "Error: migrate-pause is currently only supported during "
               "postcopy-active or postcopy-recover state\r\n");
    hmp_expect(s, "migrate_incoming unix:/nonexistent",
               "Error: '-incoming' was not specified on the command line\r\n");
    hmp_expect(s, "migrate_continue bogus",
               "Error: Invalid parameter 'bogus'\r\n");
    hmp_expect(s, "migrate_set_capability bogus on",
               "Error: Invalid parameter 'bogus'\r\n");
    hmp_expect(s, "migrate_set_capability events maybe",
               "Expected 'on' or 'off'\r\n");
    hmp_expect(s, "migrate_set_parameter bogus 1",
               "Error: Invalid parameter 'bogus'\r\n");
    hmp_expect(s, "migrate_set_parameter downtime-limit many",
               "Error: Parameter 'downtime-limit' expects a non-negative "
               "number below 2^64\r\n");
    hmp_expect(s, "migrate_cancel", "");
    {
        /* One line naming the problem. */
        g_autofree char *out = qtest_hmp(s, "migrate nowhere:at-all");

        g_assert_true(g_str_has_prefix(out, "Error: "));
        g_assert_true(strchr(out, '\n') == out + strlen(out) - 1);
    }
    /* Nothing above started a migration. */
    hmp_expect(s, "info migrate", INFO_GLOBALS);
    qtest_quit(s);
}

/* Setting options through HMP shows in both HMP and QMP. */
static void test_options_round_trip(void)
{
    QTestState *s = qtest_init("-display none -accel qtest -m 16");
    g_autofree char *caps0 = qtest_hmp(s, "info migrate_capabilities");
    g_autofree char *caps1 = NULL;
    g_autofree char *params = NULL;
    g_autoptr(JsonNode) qmp = NULL;
    JsonObject *o;

    assert_contains(caps0, "events: off\r\n");
    hmp_expect(s, "migrate_set_capability events on", "");
    caps1 = qtest_hmp(s, "info migrate_capabilities");
    assert_contains(caps1, "events: on\r\n");
    g_assert_true(g_str_has_prefix(caps1, "xbzrle: off\r\n"));

    hmp_expect(s, "migrate_set_parameter downtime-limit 500", "");
    hmp_expect(s, "migrate_set_parameter max-bandwidth 64M", "");
    hmp_expect(s, "migrate_set_parameter x-checkpoint-delay 4",
               "Error: Migration parameter 'x-checkpoint-delay' is not "
               "supported by tern\r\n");
    params = qtest_hmp(s, "info migrate_parameters");
    g_assert_true(g_str_has_prefix(params, "announce-initial: 50 ms\r\n"));
    assert_contains(params, "downtime-limit: 500 ms\r\n");
    assert_contains(params, "max-bandwidth: 67108864 bytes/second\r\n");
    assert_contains(params, "multifd-channels: 2\r\n");
    assert_contains(params, "tls-creds: ''\r\n");

    qmp = qtest_qmp_assert_success_ref(s,
                                       "{'execute': 'query-migrate-parameters'}");
    o = json_node_get_object(qmp);
    g_assert_cmpint(json_object_get_int_member(o, "downtime-limit"), ==, 500);
    g_assert_cmpint(json_object_get_int_member(o, "max-bandwidth"), ==,
                    64 << 20);
    qtest_quit(s);
}

/*
 * migrate -d returns at once; info migrate on both sides afterwards.  The
 * destination waits for migrate_incoming (typed over HMP) and reports its
 * listening address.
 */
static void test_detached(void)
{
    Pair p = { 0 };
    g_autofree char *src_args = guest_args(false, "");
    g_autofree char *uri = NULL;
    g_autofree char *line = NULL;
    g_autofree char *dst_listen = NULL;
    g_autofree char *src_info = NULL;
    g_autofree char *dst_info = NULL;
    g_autofree char *want = NULL;

    pair_start_dst(&p, "-incoming defer");
    p.src = qtest_init(src_args);
    uri = g_strdup_printf("unix:%s", p.sock);

    line = g_strdup_printf("migrate_incoming %s", uri);
    hmp_expect(p.dst, line, "");
    dst_listen = qtest_hmp(p.dst, "info migrate");
    want = g_strdup_printf(INFO_GLOBALS "Migration status: setup\r\n"
                           "total time: 0 ms\r\nsocket address: [\r\n"
                           "\t%s\r\n]\r\n", uri);
    g_assert_cmpstr(dst_listen, ==, want);

    g_free(line);
    line = g_strdup_printf("migrate -d %s", uri);
    hmp_expect(p.src, CONVERGE, "");
    hmp_expect(p.src, line, "");
    wait_for_status(p.src, "completed");
    wait_for_status(p.dst, "completed");

    src_info = qtest_hmp(p.src, "info migrate");
    g_assert_true(g_str_has_prefix(src_info, INFO_GLOBALS
                                   "Migration status: completed\r\n"
                                   "total time: "));
    assert_contains(src_info, " ms\r\ndowntime: ");
    assert_contains(src_info, " ms\r\nsetup: ");
    assert_contains(src_info, "\r\ntransferred ram: ");
    assert_contains(src_info, "\r\nthroughput: ");
    assert_contains(src_info, " mbps\r\nremaining ram: 0 kbytes\r\n"
                              "total ram: 16384 kbytes\r\nduplicate: ");
    assert_contains(src_info, "\r\nnormal bytes: ");
    assert_contains(src_info, "\r\npage size: 4 kbytes\r\n"
                              "multifd bytes: 0 kbytes\r\npages-per-second: ");
    assert_contains(src_info, "\r\nprecopy ram: ");
    g_assert_null(strstr(src_info, "expected downtime"));

    dst_info = qtest_hmp(p.dst, "info migrate");
    g_assert_true(g_str_has_prefix(dst_info, INFO_GLOBALS
                                   "Migration status: completed\r\n"));
    pair_free(&p);
}

/*
 * The source with its HMP monitor on stdio pipes, past the first prompt,
 * once the guest has written every page (its first "B" on the serial).
 */
static void pair_start_stdio_src(Pair *p)
{
    static const QTestOptions opts = { .stdio_pipes = true };
    gint64 deadline = qtest_deadline_ms(60000);
    g_autofree char *extra = NULL;
    g_autofree char *src_args = NULL;

    p->serial = g_build_filename(p->dir, "serial.txt", NULL);
    extra = g_strdup_printf("-monitor stdio -serial file:%s", p->serial);
    src_args = guest_args(true, extra);
    p->src = qtest_init_opts(src_args, &opts);
    g_free(qtest_stdout_read_until(p->src, "(tern) "));
    for (;;) {
        g_autofree char *text = NULL;

        if (g_file_get_contents(p->serial, &text, NULL, NULL) &&
            strchr(text, 'B')) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
}

/* Is there a progress line short of 100 % in @out? */
static bool has_partial_progress(const char *out)
{
    for (const char *l = strstr(out, "\rCompleted "); l;
         l = strstr(l + 1, "\rCompleted ")) {
        if (!g_str_has_prefix(l, "\rCompleted 100 %")) {
            return true;
        }
    }
    return false;
}

/*
 * A synchronous migrate on a terminal: the monitor redraws the progress
 * line, prints the outcome, holds what was typed meanwhile and runs it
 * after.  The guest is stopped and its 15 MiB of filled pages take at
 * least 0.9 s at 16 MiB/s: several 100 ms updates before the switchover.
 */
static void test_sync_stdio(void)
{
    Pair p = { 0 };
    g_autofree char *line = NULL;
    g_autofree char *out = NULL;
    const char *done;

    pair_start_dst(&p, NULL);
    pair_start_stdio_src(&p);
    qtest_stdin_write(p.src, "stop\n"
                             "migrate_set_parameter max-bandwidth 16M\n");
    line = g_strdup_printf("migrate unix:%s\ninfo status\n", p.sock);
    qtest_stdin_write(p.src, line);
    out = qtest_stdout_read_until(p.src, "VM status: paused (postmigrate)");

    g_assert_true(has_partial_progress(out));
    assert_contains(out, " %, transferred ");
    assert_contains(out, " kbytes, remaining ");
    assert_contains(out, " mbps\033[K");
    done = strstr(out, "\rCompleted 100 %, transferred ");
    g_assert_nonnull(done);
    /* The outcome on its own line, then the prompt and the held command. */
    assert_contains(done, " kbytes, remaining 0 kbytes, throughput ");
    assert_contains(done, " mbps\033[K\r\nmigration completed\r\n"
                          "(tern) info status\r\n");
    g_assert_null(strstr(out, "Error"));
    wait_for_status(p.dst, "completed");
    pair_free(&p);
}

/*
 * pause-before-switchover: the synchronous wait ends at pre-switchover so
 * that migrate_continue can be typed; the guest keeps running meanwhile.
 */
static void test_sync_pre_switchover(void)
{
    Pair p = { 0 };
    g_autofree char *line = NULL;
    g_autofree char *out = NULL;
    g_autofree char *bad = NULL;
    g_autofree char *good = NULL;

    pair_start_dst(&p, NULL);
    pair_start_stdio_src(&p);
    qtest_stdin_write(p.src,
                      "migrate_set_capability pause-before-switchover on\n"
                      CONVERGE "\n");
    line = g_strdup_printf("migrate unix:%s\n", p.sock);
    qtest_stdin_write(p.src, line);
    out = qtest_stdout_read_until(p.src,
                                  "\r\nMigration status: pre-switchover\r\n"
                                  "(tern) ");
    g_assert_null(strstr(out, "migration completed"));

    qtest_stdin_write(p.src, "migrate_continue active\n");
    bad = qtest_stdout_read_until(p.src, "\r\n(tern) ");
    assert_contains(bad, "migrate_continue active\r\nError: ");
    qtest_stdin_write(p.src, "migrate_continue pre-switchover\n");
    good = qtest_stdout_read_until(p.src, "migrate_continue pre-switchover"
                                          "\r\n(tern) ");
    wait_for_status(p.src, "completed");
    wait_for_status(p.dst, "completed");
    pair_free(&p);
}

/* The destination dies mid-way: the wait ends with the reason. */
static void test_sync_failure(void)
{
    Pair p = { 0 };
    g_autofree char *line = NULL;
    g_autofree char *first = NULL;
    g_autofree char *rest = NULL;
    g_autofree char *out = NULL;
    g_autofree char *info = NULL;

    pair_start_dst(&p, NULL);
    pair_start_stdio_src(&p);
    /* 2 MiB/s: at least 7 s for the filled pages, plenty of time to fail. */
    qtest_stdin_write(p.src, "stop\n"
                             "migrate_set_parameter max-bandwidth 2M\n");
    line = g_strdup_printf("migrate unix:%s\n", p.sock);
    qtest_stdin_write(p.src, line);
    first = qtest_stdout_read_until(p.src, "\rCompleted ");
    g_clear_pointer(&p.dst, qtest_quit);
    rest = qtest_stdout_read_until(p.src, "\r\n(tern) ");
    out = g_strconcat(first, rest, NULL);
    /* A failed migration reports no RAM: the last progress line stays. */
    assert_contains(out, "\033[K\r\nmigration failed: ");
    g_assert_null(strstr(out, "migration completed"));

    info = qtest_hmp(p.src, "info migrate");
    assert_contains(info, "\r\nMigration status: failed (");
    g_assert_null(strstr(info, "transferred ram"));
    pair_free(&p);
}

/* quit (over QMP) while the monitor waits: tern exits cleanly. */
static void test_sync_quit(void)
{
    Pair p = { 0 };
    g_autofree char *line = NULL;

    pair_start_dst(&p, NULL);
    pair_start_stdio_src(&p);
    /* 2 MiB/s: at least 7 s for the filled pages, so quit comes first. */
    qtest_stdin_write(p.src, "stop\n"
                             "migrate_set_parameter max-bandwidth 2M\n");
    line = g_strdup_printf("migrate unix:%s\ninfo status\n", p.sock);
    qtest_stdin_write(p.src, line);
    g_free(qtest_stdout_read_until(p.src, "\rCompleted "));
    qtest_qmp_assert_success(p.src, "{'execute': 'quit'}");
    g_assert_cmpint(qtest_wait_exit(p.src, 30000), ==, 0);
    pair_free(&p);
}

/* QMP's human-monitor-command cannot suspend: QEMU's message, detached. */
static void test_sync_through_qmp(void)
{
    Pair p = { 0 };
    g_autofree char *src_args = guest_args(false, "");
    g_autofree char *line = NULL;

    pair_start_dst(&p, NULL);
    p.src = qtest_init(src_args);
    line = g_strdup_printf("migrate unix:%s", p.sock);
    hmp_expect(p.src, CONVERGE, "");
    hmp_expect(p.src, line, "terminal does not allow synchronous migration, "
                            "continuing detached\r\n");
    wait_for_status(p.src, "completed");
    wait_for_status(p.dst, "completed");
    pair_free(&p);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp-migration/idle-and-errors", test_idle_and_errors);
    g_test_add_func("/hmp-migration/options", test_options_round_trip);
    g_test_add_func("/hmp-migration/detached", test_detached);
    g_test_add_func("/hmp-migration/sync-stdio", test_sync_stdio);
    g_test_add_func("/hmp-migration/sync-pre-switchover",
                    test_sync_pre_switchover);
    g_test_add_func("/hmp-migration/sync-failure", test_sync_failure);
    g_test_add_func("/hmp-migration/sync-quit", test_sync_quit);
    g_test_add_func("/hmp-migration/sync-through-qmp", test_sync_through_qmp);
    return g_test_run();
}
