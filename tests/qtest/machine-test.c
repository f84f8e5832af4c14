/*
 * The machine end to end: real tern processes running the guest programs
 * under interp (always) and kvm (where /dev/kvm works), observed through
 * the serial file, the qtest protocol and QMP; and the start-up errors.
 */
#include "libqtest.h"
#include "libqtest-proto.h"
#include "test-accel.h"

#include <gio/gio.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define AB_START (1u << 20)
#define AB_END   (3u << 20)
#define AB_PAGES ((AB_END - AB_START) / 4096)

typedef struct Guest {
    QTestState *qts;
    QTestProto *qt;
    char *dir;
    char *serial;
    char *qtest_path;
} Guest;

static char *guest_binary(const char *name)
{
    const char *dir = g_getenv("TERN_GUEST_DIR");

    g_assert_nonnull(dir);
    return g_strdup_printf("%s/%s.bin", dir, name);
}

static bool guest_start(Guest *g, const char *accel, const char *program,
                        const char *extra)
{
    g_autofree char *kernel = guest_binary(program);
    g_autofree char *qtest_arg = NULL;
    g_autofree char *args = NULL;

    const char *why;

    if (strcmp(accel, "kvm") == 0 && !qtest_kvm_usable(&why)) {
        g_test_skip(why);
        return false;
    }
    g->dir = g_dir_make_tmp("tern-machine-test-XXXXXX", NULL);
    g->serial = g_build_filename(g->dir, "serial.txt", NULL);
    g->qtest_path = qtest_proto_socket_path();
    qtest_arg = qtest_proto_arg(g->qtest_path);
    args = g_strdup_printf("-display none -accel %s -m 16 -kernel %s "
                           "-append start=%u,end=%u -serial file:%s %s %s",
                           accel, kernel, AB_START, AB_END, g->serial,
                           qtest_arg, extra ? extra : "");
    g->qts = qtest_init(args);
    g->qt = qtest_proto_connect(g->qtest_path);
    return true;
}

static void guest_stop(Guest *g)
{
    qtest_proto_free(g->qt);
    qtest_quit(g->qts);
    g_unlink(g->serial);
    g_rmdir(g->dir);
    g_free(g->serial);
    g_free(g->dir);
    g_free(g->qtest_path);
}

static char *serial_output(Guest *g)
{
    char *text = NULL;

    if (!g_file_get_contents(g->serial, &text, NULL, NULL)) {
        return g_strdup("");
    }
    return text;
}

static guint count_bs(const char *text)
{
    guint n = 0;

    for (; *text; text++) {
        n += *text == 'B';
    }
    return n;
}

static void wait_for_bs(Guest *g, guint bs)
{
    gint64 deadline = qtest_deadline_ms(120000);

    for (;;) {
        g_autofree char *out = serial_output(g);

        if (count_bs(out) >= bs) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
}

static const char *query_status(Guest *g)
{
    static char status[32];
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(
        g->qts, "{'execute': 'query-status'}");
    JsonObject *o = json_node_get_object(ret);

    g_strlcpy(status, json_object_get_string_member(o, "status"),
              sizeof(status));
    g_assert_true(json_object_get_boolean_member(o, "running") ==
                  (strcmp(status, "running") == 0));
    return status;
}

/* a-b's page bytes, read through qtest: all equal, at most one step down. */
static uint8_t check_ab_pattern(Guest *g)
{
    g_autofree uint8_t *ram = g_malloc(AB_END - AB_START);
    guint steps = 0;

    qtest_bufread(g->qt, AB_START, ram, AB_END - AB_START);
    for (guint p = 1; p < AB_PAGES; p++) {
        uint8_t prev = ram[(p - 1) * 4096], cur = ram[p * 4096];

        if (cur != prev) {
            g_assert_cmpint((uint8_t)(prev - 1), ==, cur);
            steps++;
        }
    }
    g_assert_cmpuint(steps, <=, 1);
    g_assert_cmpint(qtest_readb(g->qt, AB_END), ==, 0);
    return ram[0];
}

static void test_ab(gconstpointer data)
{
    Guest g = { 0 };
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autoptr(JsonNode) ev = NULL;
    uint8_t v1;

    if (!guest_start(&g, data, "a-b", NULL)) {
        return;
    }
    wait_for_bs(&g, 2);
    before = serial_output(&g);
    g_assert_true(g_str_has_prefix(before, "ABB"));
    g_assert_cmpstr(query_status(&g), ==, "running");
    /* the parameter block the guest reads */
    g_assert_cmphex(qtest_readl(g.qt, 0x500), ==, 0x4e524554);
    g_assert_cmphex(qtest_readl(g.qt, 0x50c), ==, AB_START);

    /* stop: the guest's memory and output stand still */
    qtest_qmp_assert_success(g.qts, "{'execute': 'stop'}");
    ev = qtest_qmp_eventwait(g.qts, "STOP", QTEST_QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    g_assert_cmpstr(query_status(&g), ==, "paused");
    g_free(before);
    before = serial_output(&g);
    v1 = check_ab_pattern(&g);
    g_usleep(200 * 1000);
    after = serial_output(&g);
    g_assert_cmpstr(before, ==, after);
    g_assert_cmpint(check_ab_pattern(&g), ==, v1);

    /*
     * cont: it runs on from there.  A restart would print 'A' again; how
     * far the counters moved is not promised (a byte wraps every 256
     * sweeps, and the 'B' may end the very sweep that was interrupted).
     */
    qtest_qmp_assert_success(g.qts, "{'execute': 'cont'}");
    g_clear_pointer(&ev, json_node_unref);
    ev = qtest_qmp_eventwait(g.qts, "RESUME", QTEST_QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    wait_for_bs(&g, count_bs(after) + 1);
    qtest_qmp_assert_success(g.qts, "{'execute': 'stop'}");
    check_ab_pattern(&g);
    g_free(after);
    after = serial_output(&g);
    g_assert_true(g_str_has_prefix(after, before));
    g_assert_null(strchr(after + 1, 'A'));
    guest_stop(&g);
}

static void test_testdev_and_qtest_writes(gconstpointer data)
{
    Guest g = { 0 };
    uint8_t buf[16], back[16];

    if (!guest_start(&g, data, "idle", "-S")) {
        return;
    }
    g_assert_cmpstr(query_status(&g), ==, "prelaunch");
    qtest_outl(g.qt, 0xe0, 41);
    qtest_outl(g.qt, 0xe4, 1);
    g_assert_cmpuint(qtest_inl(g.qt, 0xe0), ==, 42);
    for (guint i = 0; i < sizeof(buf); i++) {
        buf[i] = i * 7;
    }
    qtest_memwrite(g.qt, 0x200000, buf, sizeof(buf));
    qtest_memread(g.qt, 0x200000, back, sizeof(back));
    g_assert_cmpmem(buf, sizeof(buf), back, sizeof(back));
    qtest_memset(g.qt, 0x200000, 0xab, 4);
    g_assert_cmphex(qtest_readl(g.qt, 0x200000), ==, 0xabababab);
    qtest_writeq(g.qt, 0x300000, 0x0123456789abcdefull);
    g_assert_cmphex(qtest_readq(g.qt, 0x300000), ==, 0x0123456789abcdefull);
    g_assert_cmphex(qtest_inb(g.qt, 0x3fd), ==, 0x60);
    guest_stop(&g);
}

static void test_bad_opcode(gconstpointer data)
{
    Guest g = { 0 };
    g_autoptr(JsonNode) ev = NULL;

    /* Started stopped: a STOP sent before QMP was connected is lost. */
    if (!guest_start(&g, data, "bad-opcode", "-S")) {
        return;
    }
    qtest_qmp_assert_success(g.qts, "{'execute': 'cont'}");
    ev = qtest_qmp_eventwait(g.qts, "STOP", QTEST_QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    g_assert_cmpstr(query_status(&g), ==, "internal-error");
    {
        g_autoptr(JsonNode) r = qtest_qmp(g.qts, "{'execute': 'cont'}");

        g_assert_cmpstr(qtest_reply_error_desc(r), ==,
                        "Resetting the Virtual Machine is required");
    }
    guest_stop(&g);
}

static void test_debug_exit(void)
{
    Guest g = { 0 };

    guest_start(&g, "interp", "idle", NULL);
    qtest_outb(g.qt, 0xf4, 0x21);
    g_assert_cmpint(qtest_wait_exit(g.qts, 30000), ==, 0x43);
    guest_stop(&g);
}

/* kvm unusable: the fallback to interp is reported on one line. */
static void test_kvm_fallback(void)
{
    g_autofree char *kernel = guest_binary("idle");
    g_autofree char *cmd = g_strdup_printf(
        "env TERN_KVM_DEVICE=/nonexistent %s -display none -kernel %s",
        g_getenv("QTEST_TERN_BINARY"), kernel);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) gerr = NULL;
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GInputStream) errs = NULL;
    char buf[512] = "";
    gsize got = 0;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &gerr));
    proc = g_subprocess_newv((const char *const *)argv,
                             G_SUBPROCESS_FLAGS_STDERR_PIPE, &gerr);
    g_assert_no_error(gerr);
    errs = g_object_ref(g_subprocess_get_stderr_pipe(proc));
    /* The line comes before the guest starts; then stop tern. */
    while (!strchr(buf, '\n') && got < sizeof(buf) - 1) {
        gssize n = g_input_stream_read(errs, buf + got, sizeof(buf) - 1 - got,
                                       NULL, &gerr);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
    g_subprocess_send_signal(proc, SIGTERM);
    g_assert_true(g_subprocess_wait(proc, NULL, &gerr));
    g_assert_cmpstr(buf, ==, "tern: kvm: Could not access KVM kernel module: "
                    "No such file or directory; using accelerator interp\n");
}

static void test_qmp_machine_info(void)
{
    QTestState *s = qtest_init("-display none -accel qtest -name guest=vm-7 "
                               "-object memory-backend-memfd,id=mem0,size=32M "
                               "-machine memory-backend=mem0");
    g_autoptr(JsonNode) name = qtest_qmp_assert_success_ref(
        s, "{'execute': 'query-name'}");
    g_autoptr(JsonNode) mem = qtest_qmp_assert_success_ref(
        s, "{'execute': 'query-memory-size-summary'}");
    g_autoptr(JsonNode) st = qtest_qmp_assert_success_ref(
        s, "{'execute': 'query-status'}");
    g_autoptr(JsonNode) ev = NULL;

    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(name),
                                                  "name"), ==, "vm-7");
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(mem),
                                               "base-memory"), ==, 32 << 20);
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(mem),
                                               "plugged-memory"), ==, 0);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(st),
                                                  "status"), ==, "running");
    qtest_qmp_assert_success(s, "{'execute': 'quit'}");
    ev = qtest_qmp_eventwait(s, "SHUTDOWN", 10000);
    g_assert_false(json_object_get_boolean_member(
        json_object_get_object_member(json_node_get_object(ev), "data"),
        "guest"));
    g_assert_cmpint(qtest_wait_exit(s, 10000), ==, 0);
    qtest_quit(s);
}

static void test_hmp(void)
{
    QTestState *s = qtest_init("-display none -accel qtest -S -m 64 "
                               "-name hmp-vm");
    g_autofree char *st1 = qtest_hmp(s, "info status");
    g_autofree char *name = qtest_hmp(s, "info name");
    g_autofree char *rb = qtest_hmp(s, "info ramblock");
    g_autofree char *c = qtest_hmp(s, "cont");
    g_autofree char *st2 = qtest_hmp(s, "info status");
    g_autofree char *stop = qtest_hmp(s, "stop");
    g_autofree char *st3 = qtest_hmp(s, "info status");

    g_assert_cmpstr(st1, ==, "VM status: paused (prelaunch)\r\n");
    g_assert_cmpstr(name, ==, "hmp-vm\r\n");
    g_assert_nonnull(strstr(rb, "Block Name"));
    g_assert_nonnull(strstr(rb, "pc.ram"));
    g_assert_nonnull(strstr(rb, "0x0000000004000000"));
    g_assert_cmpstr(c, ==, "");
    g_assert_cmpstr(st2, ==, "VM status: running\r\n");
    g_assert_cmpstr(stop, ==, "");
    g_assert_cmpstr(st3, ==, "VM status: paused\r\n");
    qtest_quit(s);
}

/* Run tern with @args (no QMP); expect exit 1 and @msg on stderr. */
static void expect_startup_error_env(const char *env, const char *args,
                                     const char *msg)
{
    g_autofree char *cmd = g_strdup_printf("env %s %s %s", env ? env : "",
                                           g_getenv("QTEST_TERN_BINARY"), args);
    g_auto(GStrv) argv = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &gerr));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &gerr));
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    if (strcmp(err, msg) != 0) {
        g_error("tern %s: stderr '%s', want '%s'", args, err, msg);
    }
}

static void expect_startup_error(const char *args, const char *msg)
{
    expect_startup_error_env(NULL, args, msg);
}

static void test_startup_errors(void)
{
    expect_startup_error("-m foo", "tern: -m foo: invalid size 'foo'\n");
    expect_startup_error("-object memory-backend-ram,id=m",
                         "tern: -object memory-backend-ram,id=m: can't create "
                         "backend with size 0\n");
    expect_startup_error("-object memory-backend-ram,id=m,size=1M,bogus=1",
                         "tern: -object memory-backend-ram,id=m,size=1M,"
                         "bogus=1: Invalid parameter 'bogus'\n");
    expect_startup_error("-display none -accel qtest -kernel /nonexistent/k.bin",
                         "tern: could not load kernel '/nonexistent/k.bin': No "
                         "such file or directory\n");
    expect_startup_error("-display none -accel qtest -m 64 -object "
                         "memory-backend-ram,id=m,size=32M -machine "
                         "memory-backend=m",
                         "tern: Machine memory size does not match the size "
                         "of the memory backend\n");
    expect_startup_error("-accel tcg", "tern: -accel tcg: invalid accelerator "
                         "tcg\n");
    expect_startup_error_env("TERN_KVM_DEVICE=/nonexistent",
                             "-display none -accel kvm",
                             "tern: no usable accelerator: kvm: Could not "
                             "access KVM kernel module: No such file or "
                             "directory\n");
}

int main(int argc, char **argv)
{
    static const char *const accels[] = { "interp", "kvm" };

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
        if (!test_accel_selected(!strcmp(accels[i], "kvm"))) {
            continue;
        }
        g_autofree char *ab = g_strdup_printf("/machine/%s/a-b", accels[i]);
        g_autofree char *dev = g_strdup_printf("/machine/%s/testdev-qtest",
                                               accels[i]);
        g_autofree char *bad = g_strdup_printf("/machine/%s/bad-opcode",
                                               accels[i]);

        g_test_add_data_func(ab, accels[i], test_ab);
        g_test_add_data_func(dev, accels[i], test_testdev_and_qtest_writes);
        g_test_add_data_func(bad, accels[i], test_bad_opcode);
    }
    if (test_accel_selected(false)) {
        g_test_add_func("/machine/debug-exit", test_debug_exit);
        g_test_add_func("/machine/qmp-info", test_qmp_machine_info);
        g_test_add_func("/machine/hmp", test_hmp);
        g_test_add_func("/machine/startup-errors", test_startup_errors);
        g_test_add_func("/machine/kvm-fallback", test_kvm_fallback);
    }
    return g_test_run();
}
