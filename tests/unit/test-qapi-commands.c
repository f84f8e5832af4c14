/*
 * Exercises generated marshallers, registration, events and introspection
 * on the test schema (tests/qapi-schema/qapi-schema-test.json), whose
 * commands are implemented here.
 */
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-introspect.h"
#include "qemu/error.h"

/*
 * The context the marshallers hand to the commands: tern's is defined by
 * system/, the test brings its own, so each command can say it got it.
 */
struct TernContext {
    const char *last;           /* the last command that ran with it */
};

static TernContext test_ctx;

/* ---- implementations of the test schema's commands */

bool qmp_test_add(TernContext *ctx, int64_t a, bool has_b, int64_t b,
                  const char *label, int64_t *ret, GError **errp)
{
    ctx->last = "test-add";
    *ret = a + (has_b ? b : 1);
    return true;
}

TestStruct *qmp_test_echo(TernContext *ctx, TestStruct *s, TestAlt *alt,
                          GError **errp)
{
    g_autoptr(JsonNode) node = visit_TestStruct_to_json(s);
    TestStruct *copy = NULL;

    ctx->last = "test-echo";
    if (!visit_TestStruct_from_json(node, &copy, errp)) {
        return NULL;
    }
    if (alt && alt->type == QTYPE_QNUM) {
        copy->has_q_default = true;
        copy->q_default = alt->u.i;
    }
    return copy;
}

TestEnumList *qmp_test_list(TernContext *ctx, bool has_n, uint32_t n,
                            GError **errp)
{
    TestEnumList *head = NULL;

    ctx->last = "test-list";

    for (uint32_t i = has_n ? n : 0; i > 0; i--) {
        TestEnumList *elt = g_new0(TestEnumList, 1);

        elt->value = (TestEnum)((i - 1) % TEST_E__MAX);
        elt->next = head;
        head = elt;
    }
    return head;
}

char *qmp_test_boxed(TernContext *ctx, const TestUnion *arg, GError **errp)
{
    ctx->last = "test-boxed";
    switch (arg->kind) {
    case TEST_E_ONE:
        return g_strdup_printf("one:%g", arg->u.one.value);
    case TEST_E_TWO_WORDS:
        return g_strdup_printf("two:%s:%d", arg->u.two_words.id,
                               arg->u.two_words.has_flag);
    default:
        return g_strdup_printf("other:%" G_GINT64_FORMAT,
                               arg->has_common ? arg->common : -1);
    }
}

bool qmp_test_oob(TernContext *ctx, GError **errp)
{
    ctx->last = "test-oob";
    return true;
}

bool qmp_test_no_resp(TernContext *ctx, GError **errp)
{
    ctx->last = "test-no-resp";
    return true;
}

bool qmp_test_fail(TernContext *ctx, bool has_code, int8_t code, GError **errp)
{
    ctx->last = "test-fail";
    error_set(errp, TERN_ERROR_DEVICE_NOT_FOUND, "failed with %d",
              has_code ? code : 0);
    return false;
}

/* ---- helpers */

static JsonNode *parse(const char *json)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;

    json_parser_load_from_data(parser, json, -1, &err);
    g_assert_no_error(err);
    return json_parser_steal_root(parser);
}

static char *to_string(JsonNode *node)
{
    return node ? json_to_string(node, FALSE) : g_strdup("(none)");
}

/* Runs @name with @args; returns the reply as a string, or NULL + @errp. */
static char *run(const char *name, const char *args, GError **errp)
{
    g_autoptr(QmpCommandList) cmds = qmp_command_list_new();
    g_autoptr(JsonNode) node = parse(args);
    g_autoptr(JsonNode) ret = NULL;
    const QmpCommand *cmd;

    test_qmp_init_marshal(cmds);
    cmd = qmp_find_command(cmds, name);
    g_assert_nonnull(cmd);
    test_ctx.last = NULL;
    if (!cmd->fn(&test_ctx, json_node_get_object(node), &ret, errp)) {
        g_assert_null(ret);
        return NULL;
    }
    return to_string(ret);
}

static void expect_reply(const char *name, const char *args, const char *reply)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *got = run(name, args, &err);
    g_autoptr(JsonNode) want_node = g_str_equal(reply, "(none)") ? NULL
                                                                  : parse(reply);
    g_autofree char *want = to_string(want_node);

    g_assert_no_error(err);
    g_assert_cmpstr(got, ==, want);
}

static void expect_error(const char *name, const char *args, const char *msg)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *got = run(name, args, &err);

    g_assert_null(got);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
}

/* ---- tests */

/* Every marshaller hands its command the context it was called with. */
static void test_context(void)
{
    static const char *const runs[][2] = {
        { "test-add", "{\"a\": 1}" },
        { "test-echo", "{\"s\": {\"id\": \"x\", \"count\": 1, "
                       "\"kind\": \"one\"}}" },
        { "test-list", "{}" },
        { "test-boxed", "{\"kind\": \"one\", \"value\": 1}" },
        { "test-oob", "{}" },
        { "test-no-resp", "{}" },
        { "test-fail", "{}" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(runs); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *reply = run(runs[i][0], runs[i][1], &err);

        /* Reached the command: only test-fail fails, and by design. */
        g_assert_true(!err == !g_str_equal(runs[i][0], "test-fail"));
        g_assert_cmpstr(test_ctx.last, ==, runs[i][0]);
    }
}

static void count_command(const QmpCommand *cmd, void *opaque)
{
    (*(int *)opaque)++;
}

static void test_registration(void)
{
    g_autoptr(QmpCommandList) cmds = qmp_command_list_new();
    int n = 0;

    test_qmp_init_marshal(cmds);
    qmp_for_each_command(cmds, count_command, &n);
    g_assert_cmpint(n, ==, 7);
    g_assert_cmpint(qmp_find_command(cmds, "test-oob")->options, ==,
                    QCO_ALLOW_OOB);
    g_assert_cmpint(qmp_find_command(cmds, "test-no-resp")->options, ==,
                    QCO_NO_SUCCESS_RESP);
    g_assert_cmpint(qmp_find_command(cmds, "test-add")->options, ==,
                    QCO_NO_OPTIONS);
    g_assert_true(qmp_find_command(cmds, "test-add")->fn == qmp_marshal_test_add);
    g_assert_null(qmp_find_command(cmds, "test_add"));
}

static void test_scalar_args(void)
{
    expect_reply("test-add", "{\"a\":1}", "2");
    expect_reply("test-add", "{\"a\":1,\"b\":5,\"label\":\"x\"}", "6");
    expect_error("test-add", "{}", "Parameter 'a' is missing");
    expect_error("test-add", "{\"a\":\"1\"}",
                 "Invalid parameter type for 'a', expected: integer");
    expect_error("test-add", "{\"a\":1,\"label\":2}",
                 "Invalid parameter type for 'label', expected: string");
    expect_error("test-add", "{\"a\":1,\"zz\":2}", "Parameter 'zz' is unexpected");
    expect_reply("test-oob", "{}", "(none)");
    expect_error("test-oob", "{\"a\":1}", "Parameter 'a' is unexpected");
    expect_reply("test-no-resp", "{}", "(none)");
}

static void test_struct_args(void)
{
    const char *s = "{\"id\":\"x\",\"flag\":true,\"count\":7,\"level\":-3,"
                    "\"kind\":\"two-words\",\"names\":[\"a\",\"b\"],"
                    "\"nested\":{\"value\":1.5,\"any\":{\"k\":[1,null]}},"
                    "\"items\":[{\"value\":2.0}],\"big\":8589934592}";
    g_autofree char *args = g_strdup_printf("{\"s\":%s}", s);
    g_autofree char *args_alt = g_strdup_printf("{\"s\":%s,\"alt\":42}", s);

    expect_reply("test-echo", args, s);
    expect_reply("test-echo", args_alt,
                 "{\"id\":\"x\",\"flag\":true,\"count\":7,\"level\":-3,"
                 "\"kind\":\"two-words\",\"names\":[\"a\",\"b\"],"
                 "\"nested\":{\"value\":1.5,\"any\":{\"k\":[1,null]}},"
                 "\"default\":42,\"items\":[{\"value\":2.0}],\"big\":8589934592}");
    expect_error("test-echo", "{\"s\":{\"id\":\"x\",\"count\":1,\"kind\":\"one\","
                 "\"items\":[{\"value\":1},{}]}}",
                 "Parameter 's.items[1].value' is missing");
    expect_error("test-echo", "{\"s\":{\"id\":\"x\",\"count\":300,\"kind\":\"one\"}}",
                 "Parameter 'count' expects uint8_t");
    expect_error("test-echo", "{\"s\":{\"id\":\"x\",\"count\":1,\"level\":40000,"
                 "\"kind\":\"one\"}}", "Parameter 'level' expects int16_t");
    expect_error("test-echo", "{\"s\":{\"id\":\"x\",\"count\":1,\"kind\":\"bogus\"}}",
                 "Parameter 'kind' does not accept value 'bogus'");
    expect_error("test-echo", "{\"s\":{\"count\":1,\"kind\":\"one\"}}",
                 "Parameter 's.id' is missing");
    expect_error("test-echo", "{\"s\":{\"id\":\"x\",\"count\":1,\"kind\":\"one\","
                 "\"nested\":{\"value\":1,\"other\":2}}}",
                 "Parameter 's.nested.other' is unexpected");
    expect_error("test-echo", "{\"s\":[]}",
                 "Invalid parameter type for 's', expected: object");
    expect_error("test-echo", "{\"s\":{\"id\":\"x\",\"count\":1,\"kind\":\"one\"},"
                 "\"alt\":true}", "Invalid parameter type for 'alt', expected: TestAlt");
}

static void test_list_returns(void)
{
    expect_reply("test-list", "{\"n\":4}", "[\"one\",\"two-words\",\"x-three\",\"one\"]");
    expect_reply("test-list", "{}", "[]");
    expect_error("test-list", "{\"n\":-1}", "Parameter 'n' expects uint32_t");
}

static void test_boxed(void)
{
    expect_reply("test-boxed", "{\"kind\":\"one\",\"value\":2.5}", "\"one:2.5\"");
    expect_reply("test-boxed", "{\"kind\":\"two-words\",\"id\":\"i\",\"flag\":true}",
                 "\"two:i:1\"");
    expect_reply("test-boxed", "{\"kind\":\"x-three\",\"common\":9}", "\"other:9\"");
    expect_error("test-boxed", "{\"value\":2.5}", "Parameter 'kind' is missing");
    expect_error("test-boxed", "{\"kind\":\"one\"}", "Parameter 'value' is missing");
    expect_error("test-boxed", "{\"kind\":\"one\",\"value\":1,\"id\":\"x\"}",
                 "Parameter 'id' is unexpected");
    expect_error("test-boxed", "{\"kind\":\"x-three\",\"value\":1}",
                 "Parameter 'value' is unexpected");
}

static void test_failure(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *got = run("test-fail", "{\"code\":7}", &err);

    g_assert_null(got);
    g_assert_error(err, TERN_ERROR, TERN_ERROR_DEVICE_NOT_FOUND);
    g_assert_cmpstr(err->message, ==, "failed with 7");
    g_assert_cmpstr(tern_error_class_name(err), ==, "DeviceNotFound");
    expect_error("test-fail", "{\"code\":200}", "Parameter 'code' expects int8_t");
}

/* ---- events */

typedef struct EventLog {
    GPtrArray *lines;           /* "NAME data-json" */
} EventLog;

static void record_event(const char *event, JsonObject *data, void *opaque)
{
    EventLog *log = opaque;
    g_autofree char *text = NULL;

    if (data) {
        JsonNode *node = json_node_init_object(json_node_alloc(), data);

        text = json_to_string(node, FALSE);
        json_node_unref(node);
        json_object_unref(data);
    }
    g_ptr_array_add(log->lines, g_strdup_printf("%s %s", event,
                                                text ? text : "-"));
}

static void test_events(void)
{
    EventLog log = { g_ptr_array_new_with_free_func(g_free) };
    TestNested nested = { .value = 0.5 };

    qapi_event_set_emitter(record_event, &log);
    qapi_event_send_test_event(TEST_E_TWO_WORDS, true, 5, "lbl");
    qapi_event_send_test_event(TEST_E_ONE, false, 0, NULL);
    qapi_event_send_test_plain();
    qapi_event_send_test_boxed(&nested);
    qapi_event_set_emitter(NULL, NULL);
    qapi_event_send_test_plain();           /* dropped without an emitter */

    g_assert_cmpuint(log.lines->len, ==, 4);
    g_assert_cmpstr(log.lines->pdata[0], ==,
                    "TEST_EVENT {\"status\":\"two-words\",\"count\":5,\"label\":\"lbl\"}");
    g_assert_cmpstr(log.lines->pdata[1], ==, "TEST_EVENT {\"status\":\"one\"}");
    g_assert_cmpstr(log.lines->pdata[2], ==, "TEST_PLAIN -");
    g_assert_cmpstr(log.lines->pdata[3], ==, "TEST_BOXED {\"value\":0.5}");
    g_ptr_array_unref(log.lines);
}

static void test_introspection(void)
{
    g_autoptr(JsonNode) schema = test_qmp_schema_introspect();
    JsonArray *array = json_node_get_array(schema);
    bool found_add = false, found_event = false;

    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *info = json_array_get_object_element(array, i);
        const char *name = json_object_get_string_member(info, "name");
        const char *meta = json_object_get_string_member(info, "meta-type");

        if (g_str_equal(name, "test-add")) {
            found_add = true;
            g_assert_cmpstr(meta, ==, "command");
            g_assert_cmpstr(json_object_get_string_member(info, "ret-type"), ==,
                            "int");
        } else if (g_str_equal(name, "TEST_EVENT")) {
            found_event = true;
            g_assert_cmpstr(meta, ==, "event");
        }
    }
    g_assert_true(found_add);
    g_assert_true(found_event);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/commands/registration", test_registration);
    g_test_add_func("/qapi/commands/scalar-args", test_scalar_args);
    g_test_add_func("/qapi/commands/struct-args", test_struct_args);
    g_test_add_func("/qapi/commands/list-returns", test_list_returns);
    g_test_add_func("/qapi/commands/boxed", test_boxed);
    g_test_add_func("/qapi/commands/failure", test_failure);
    g_test_add_func("/qapi/commands/context", test_context);
    g_test_add_func("/qapi/events", test_events);
    g_test_add_func("/qapi/introspection", test_introspection);
    return g_test_run();
}
