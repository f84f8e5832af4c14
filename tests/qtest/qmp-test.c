/*
 * QMP and HMP end to end against a real tern: greeting, negotiation, every
 * error path, id echo, several clients and event fan-out, out-of-band
 * requests, fd passing, HMP through human-monitor-command and on stdio, and
 * quit.
 */
#include "libqtest.h"

#include <string.h>
#include <unistd.h>

static const char common_args[] = "-S -display none";

static void assert_error(JsonNode *reply, const char *cls, const char *desc)
{
    g_autofree char *text = json_to_string(reply, FALSE);

    g_assert_cmpstr(qtest_reply_error_class(reply), ==, cls);
    if (desc) {
        g_assert_cmpstr(qtest_reply_error_desc(reply), ==, desc);
    }
    g_assert_nonnull(text);
}

static void test_greeting_and_negotiation(void)
{
    QTestOptions opts = { .no_negotiation = true };
    QTestState *s = qtest_init_opts(common_args, &opts);
    JsonObject *qmp = json_object_get_object_member(
        json_node_get_object(qtest_qmp_greeting(s)), "QMP");
    JsonObject *version = json_object_get_object_member(qmp, "version");
    JsonObject *qemu = json_object_get_object_member(version, "qemu");
    JsonArray *caps = json_object_get_array_member(qmp, "capabilities");
    g_autoptr(JsonNode) r1 = NULL;
    g_autoptr(JsonNode) r2 = NULL;
    g_autoptr(JsonNode) r3 = NULL;
    g_autoptr(JsonNode) ver = NULL;

    g_assert_cmpint(json_object_get_int_member(qemu, "major"), >=, 9);
    g_assert_true(json_object_has_member(qemu, "minor"));
    g_assert_true(json_object_has_member(qemu, "micro"));
    g_assert_true(g_str_has_prefix(
        json_object_get_string_member(version, "package"), "tern "));
    g_assert_cmpuint(json_array_get_length(caps), ==, 1);
    g_assert_cmpstr(json_array_get_string_element(caps, 0), ==, "oob");

    /* Negotiation mode: only qmp_capabilities. */
    r1 = qtest_qmp(s, "{'execute': 'query-version'}");
    assert_error(r1, "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    r2 = qtest_qmp(s, "{'execute': 'qmp_capabilities', "
                      "'arguments': {'enable': ['bogus']}}");
    g_assert_cmpstr(qtest_reply_error_class(r2), ==, "GenericError");
    qtest_qmp_assert_success(s, "{'execute': 'qmp_capabilities', "
                                "'arguments': {'enable': ['oob']}}");
    r3 = qtest_qmp(s, "{'execute': 'qmp_capabilities'}");
    assert_error(r3, "CommandNotFound",
                 "Capabilities negotiation is already complete, command ignored");

    /* query-version agrees with the greeting. */
    ver = qtest_qmp_assert_success_ref(s, "{'execute': 'query-version'}");
    g_assert_true(json_node_equal(ver, json_object_get_member(qmp, "version")));
    qtest_quit(s);
}

static void test_error_paths(void)
{
    QTestState *s = qtest_init(common_args);

    qtest_qmp_expect_error(s, "CommandNotFound",
                           "The command no-such-command has not been found",
                           "{'execute': 'no-such-command'}");
    qtest_qmp_expect_error(s, "GenericError", "Parameter 'fdname' is missing",
                           "{'execute': 'closefd'}");
    qtest_qmp_expect_error(s, "GenericError", "Parameter 'bogus' is unexpected",
                           "{'execute': 'closefd', "
                           "'arguments': {'fdname': 'x', 'bogus': 1}}");
    qtest_qmp_expect_error(s, "GenericError",
                           "Invalid parameter type for 'fdname', expected: string",
                           "{'execute': 'closefd', 'arguments': {'fdname': 1}}");
    qtest_qmp_expect_error(s, "GenericError",
                           "QMP input member 'arguments' must be an object",
                           "{'execute': 'query-version', 'arguments': []}");
    qtest_qmp_expect_error(s, "GenericError",
                           "QMP input member 'foo' is unexpected",
                           "{'execute': 'query-version', 'foo': 1}");
    qtest_qmp_expect_error(s, "GenericError",
                           "QMP input member 'execute' must be a string",
                           "{'execute': ['query-version']}");
    qtest_qmp_expect_error(s, "GenericError", "QMP input must be a JSON object",
                           "[]");
    qtest_qmp_expect_error(s, "GenericError", "JSON parse error",
                           "{'execute': }");
    qtest_qmp_expect_error(s, "GenericError", "JSON parse error, stray '%'",
                           "%%");
    /* Still usable after all that. */
    qtest_qmp_assert_success(s, "{'execute': 'query-version'}");
    qtest_quit(s);
}

static void test_oversized_input(void)
{
    QTestState *s = qtest_init(common_args);
    size_t chunk = 1 << 20;
    g_autofree char *junk = g_malloc(chunk);
    g_autoptr(GString) deep = g_string_new(NULL);

    memset(junk, 'x', chunk);
    qtest_qmp_send(s, "{'execute': 'closefd', 'arguments': {'fdname': '");
    for (int i = 0; i < 65; i++) {
        qtest_qmp_send_raw(s, junk, chunk);
    }
    qtest_qmp_expect_error(s, "GenericError", "JSON token size limit exceeded",
                           "'}}");
    for (int i = 0; i < 2000; i++) {
        g_string_append_c(deep, '[');
    }
    qtest_qmp_expect_error(s, "GenericError",
                           "JSON nesting depth limit exceeded", "%s", deep->str);
    memset(deep->str, ']', deep->len);
    qtest_qmp_send(s, "%s", deep->str);
    qtest_qmp_assert_success(s, "{'execute': 'query-version'}");
    qtest_quit(s);
}

static void test_id_echo(void)
{
    QTestState *s = qtest_init(common_args);
    const char *ids[] = { "\"str\"", "42", "-1.5", "[1, {\"a\": null}]",
                          "{\"nested\": {\"x\": true}}", "null" };

    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autoptr(JsonNode) ok = qtest_qmp(s, "{\"execute\": \"query-version\", "
                                           "\"id\": %s}", ids[i]);
        g_autoptr(JsonNode) bad = qtest_qmp(s, "{\"execute\": \"nope\", "
                                            "\"id\": %s}", ids[i]);
        g_autoptr(JsonNode) want = json_from_string(ids[i], NULL);

        g_assert_true(json_node_equal(json_object_get_member(
                          json_node_get_object(ok), "id"), want));
        g_assert_true(json_node_equal(json_object_get_member(
                          json_node_get_object(bad), "id"), want));
    }
    qtest_quit(s);
}

static void test_oob(void)
{
    QTestState *s = qtest_init(common_args);
    g_autoptr(JsonNode) r1 = NULL;
    g_autoptr(JsonNode) r2 = NULL;

    /* Without the oob capability, exec-oob is not part of the protocol. */
    r1 = qtest_qmp(s, "{'exec-oob': 'query-version', 'id': 1}");
    assert_error(r1, "GenericError", "QMP input member 'exec-oob' is unexpected");
    qtest_quit(s);

    s = qtest_init_opts(common_args, &(QTestOptions){ .no_negotiation = true });
    qtest_qmp_assert_success(s, "{'execute': 'qmp_capabilities', "
                                "'arguments': {'enable': ['oob']}}");
    r2 = qtest_qmp(s, "{'exec-oob': 'query-version', 'id': 'o'}");
    assert_error(r2, "GenericError",
                 "The command query-version does not support OOB");
    /* In-band requests sent together are answered in order. */
    qtest_qmp_send(s, "{'execute': 'query-version', 'id': 1}"
                      "{'execute': 'query-commands', 'id': 2}"
                      "{'execute': 'query-version', 'id': 3}");
    for (int i = 1; i <= 3; i++) {
        g_autoptr(JsonNode) r = qtest_qmp_receive(s);

        g_assert_cmpint(json_object_get_int_member(json_node_get_object(r),
                                                   "id"), ==, i);
    }
    qtest_quit(s);
}

static void test_introspection(void)
{
    QTestState *s = qtest_init(common_args);
    g_autoptr(JsonNode) cmds = qtest_qmp_assert_success_ref(
        s, "{'execute': 'query-commands'}");
    g_autoptr(JsonNode) schema = qtest_qmp_assert_success_ref(
        s, "{'execute': 'query-qmp-schema'}");
    const char *want[] = { "qmp_capabilities", "query-version",
                           "query-commands", "query-qmp-schema", "quit",
                           "getfd", "closefd", "human-monitor-command" };
    JsonArray *list = json_node_get_array(cmds);
    JsonArray *entries = json_node_get_array(schema);
    bool schema_has_getfd = false;

    for (size_t w = 0; w < G_N_ELEMENTS(want); w++) {
        bool found = false;

        for (guint i = 0; i < json_array_get_length(list); i++) {
            JsonObject *c = json_array_get_object_element(list, i);

            found |= !strcmp(json_object_get_string_member(c, "name"), want[w]);
        }
        g_assert_true(found);
    }
    for (guint i = 0; i < json_array_get_length(entries); i++) {
        JsonObject *e = json_array_get_object_element(entries, i);

        schema_has_getfd |=
            !g_strcmp0(json_object_get_string_member(e, "name"), "getfd") &&
            !g_strcmp0(json_object_get_string_member(e, "meta-type"), "command");
    }
    g_assert_true(schema_has_getfd);
    qtest_quit(s);
}

static void test_fd_passing(void)
{
    QTestState *s = qtest_init(common_args);
    g_autoptr(JsonNode) ok = NULL;
    g_autoptr(JsonNode) digit = NULL;
    int pipefd[2];
    char c;

    qtest_qmp_expect_error(s, "GenericError",
                           "No file descriptor supplied via SCM_RIGHTS",
                           "{'execute': 'getfd', 'arguments': {'fdname': 'x'}}");
    g_assert_cmpint(pipe(pipefd), ==, 0);
    ok = qtest_qmp_fd(s, pipefd[1], "{'execute': 'getfd', "
                                    "'arguments': {'fdname': 'x'}}");
    g_assert_nonnull(qtest_reply_return(ok));
    digit = qtest_qmp_fd(s, pipefd[1], "{'execute': 'getfd', "
                                       "'arguments': {'fdname': '1x'}}");
    g_assert_cmpstr(qtest_reply_error_class(digit), ==, "GenericError");
    close(pipefd[1]);
    qtest_qmp_assert_success(s, "{'execute': 'closefd', "
                                "'arguments': {'fdname': 'x'}}");
    /* tern holds no copy any more: the pipe reports end of file. */
    g_assert_cmpint(read(pipefd[0], &c, 1), ==, 0);
    close(pipefd[0]);
    qtest_qmp_expect_error(s, "GenericError",
                           "File descriptor named 'x' not found",
                           "{'execute': 'closefd', 'arguments': {'fdname': 'x'}}");
    qtest_quit(s);
}

static void test_hmp_via_qmp(void)
{
    QTestState *s = qtest_init(common_args);
    g_autoptr(JsonNode) version = qtest_qmp_assert_success_ref(
        s, "{'execute': 'human-monitor-command', "
           "'arguments': {'command-line': 'info version'}}");
    g_autoptr(JsonNode) bad = qtest_qmp_assert_success_ref(
        s, "{'execute': 'human-monitor-command', "
           "'arguments': {'command-line': 'no-such-thing'}}");
    g_autoptr(JsonNode) help = qtest_qmp_assert_success_ref(
        s, "{'execute': 'human-monitor-command', "
           "'arguments': {'command-line': 'help info'}}");

    g_assert_true(g_str_has_suffix(json_node_get_string(version), "\r\n"));
    g_assert_nonnull(strstr(json_node_get_string(version), "(tern "));
    g_assert_cmpstr(json_node_get_string(bad), ==,
                    "unknown command: 'no-such-thing'\r\n");
    g_assert_nonnull(strstr(json_node_get_string(help), "info version"));
    qtest_qmp_expect_error(s, "GenericError", "Parameter 'command-line' is missing",
                           "{'execute': 'human-monitor-command'}");
    qtest_quit(s);
}

static void test_hmp_stdio(void)
{
    QTestOptions opts = { .stdio_pipes = true };
    g_autofree char *args = g_strdup_printf("%s -monitor stdio", common_args);
    QTestState *s = qtest_init_opts(args, &opts);
    g_autofree char *banner = qtest_stdout_read_until(s, "(tern) ");
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_assert_true(g_str_has_prefix(banner, "tern "));
    g_assert_nonnull(strstr(banner, "monitor - type 'help' for more information"));
    qtest_stdin_write(s, "info version\n");
    out = qtest_stdout_read_until(s, "\r\n(tern) ");
    g_assert_true(g_str_has_prefix(out, "info version\r\n"));
    g_assert_nonnull(strstr(out, "(tern "));
    qtest_stdin_write(s, "closefd nope\n");
    err = qtest_stdout_read_until(s, "\r\n(tern) ");
    g_assert_cmpstr(err, ==, "closefd nope\r\n"
                    "Error: File descriptor named 'nope' not found\r\n(tern) ");
    qtest_quit(s);
}

static void test_two_clients_and_quit(void)
{
    g_autofree char *dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "second.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "%s -qmp unix:%s,server=on,wait=off", common_args, path);
    QTestState *s = qtest_init(args);
    QTestState *second = qtest_qmp_connect(s, path, true);
    g_autoptr(JsonNode) ev1 = NULL;
    g_autoptr(JsonNode) ev2 = NULL;
    JsonObject *ts;

    /* A client that leaves is replaced by the next one. */
    qtest_qmp_assert_success(second, "{'execute': 'query-version'}");
    qtest_quit(second);
    second = qtest_qmp_connect(s, path, true);

    qtest_qmp_assert_success(s, "{'execute': 'quit'}");
    ev1 = qtest_qmp_eventwait(s, "SHUTDOWN", QTEST_QMP_TIMEOUT_MS);
    ev2 = qtest_qmp_eventwait(second, "SHUTDOWN", QTEST_QMP_TIMEOUT_MS);
    g_assert_nonnull(ev1);
    g_assert_nonnull(ev2);
    ts = json_object_get_object_member(json_node_get_object(ev1), "timestamp");
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >, 0);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <, 1000000);
    g_assert_cmpint(qtest_wait_exit(s, QTEST_QMP_TIMEOUT_MS), ==, 0);
    qtest_quit(second);
    qtest_quit(s);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/greeting-and-negotiation", test_greeting_and_negotiation);
    g_test_add_func("/qmp/error-paths", test_error_paths);
    g_test_add_func("/qmp/oversized-input", test_oversized_input);
    g_test_add_func("/qmp/id-echo", test_id_echo);
    g_test_add_func("/qmp/oob", test_oob);
    g_test_add_func("/qmp/introspection", test_introspection);
    g_test_add_func("/qmp/fd-passing", test_fd_passing);
    g_test_add_func("/qmp/hmp-via-qmp", test_hmp_via_qmp);
    g_test_add_func("/qmp/hmp-stdio", test_hmp_stdio);
    g_test_add_func("/qmp/two-clients-and-quit", test_two_clients_and_quit);
    return g_test_run();
}
