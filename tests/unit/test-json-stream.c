/*
 * Unit tests for the streaming JSON reader and the QEMU-style JSON writer
 * (monitor/json-stream.c, monitor/json-writer.c).
 */
#include "json-stream.h"
#include "json-writer.h"

#include <string.h>

/* What the stream emitted, one line per value ("=" + JSON) or error ("!"). */
typedef struct Sink {
    GString *log;
    int values;
    int errors;
} Sink;

static void sink_emit(void *opaque, JsonNode *value, GError *err)
{
    Sink *sink = opaque;

    g_assert_true(!value != !err);
    if (value) {
        g_autofree char *text = json_writer_to_string(value);

        g_string_append_printf(sink->log, "=%s\n", text);
        sink->values++;
        json_node_unref(value);
    } else {
        g_string_append_printf(sink->log, "!%s\n", err->message);
        sink->errors++;
        g_error_free(err);
    }
}

typedef struct Fixture {
    Sink sink;
    JsonStream *js;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->sink.log = g_string_new(NULL);
    f->js = json_stream_new(sink_emit, &f->sink);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    json_stream_free(f->js);
    g_string_free(f->sink.log, TRUE);
}

static void feed(Fixture *f, const char *s)
{
    json_stream_feed(f->js, s, strlen(s));
}

static void test_split(Fixture *f, gconstpointer data)
{
    feed(f, "  {\"a\": 1}{\"b\": [1, 2]}\n\t[true, null] {\"s\": \"}{][\\\"\"}\r\n");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "={\"a\": 1}\n"
                    "={\"b\": [1, 2]}\n"
                    "=[true, null]\n"
                    "={\"s\": \"}{][\\\"\"}\n");
}

static void test_partial(Fixture *f, gconstpointer data)
{
    const char *msg = "{\"execute\": \"query-status\", \"id\": \"a\\\\b\"}";

    for (const char *p = msg; *p; p++) {
        json_stream_feed(f->js, p, 1);
        if (p[1]) {
            g_assert_cmpint(f->sink.values, ==, 0);
        }
    }
    g_assert_cmpstr(f->sink.log->str, ==,
                    "={\"execute\": \"query-status\", \"id\": \"a\\\\b\"}\n");
}

static void test_scalars(Fixture *f, gconstpointer data)
{
    /* A top-level scalar ends at the next delimiter. */
    feed(f, "42 \"str\" -1.5e3\n");
    g_assert_cmpstr(f->sink.log->str, ==, "=42\n=\"str\"\n=-1500\n");
}

static void test_single_quotes(Fixture *f, gconstpointer data)
{
    feed(f, "{'execute': 'x', 'arguments': {'q': 'it\\'s \"quoted\"'}}");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "={\"execute\": \"x\", \"arguments\": "
                    "{\"q\": \"it's \\\"quoted\\\"\"}}\n");
}

static void test_garbage_recovers(Fixture *f, gconstpointer data)
{
    feed(f, "@ {\"a\": } {\"ok\": 1} } {\"b\": nope} {\"ok\": 2}");
    g_assert_cmpint(f->sink.errors, ==, 4);
    g_assert_cmpint(f->sink.values, ==, 2);
    g_assert_true(g_str_has_prefix(f->sink.log->str,
                                   "!JSON parse error, stray '@'\n"
                                   "!JSON parse error, "));
    g_assert_nonnull(strstr(f->sink.log->str, "={\"ok\": 1}\n"));
    g_assert_nonnull(strstr(f->sink.log->str, "!JSON parse error, stray '}'\n"));
    g_assert_true(g_str_has_suffix(f->sink.log->str, "={\"ok\": 2}\n"));
}

static void test_bad_byte_inside_value(Fixture *f, gconstpointer data)
{
    /* One error for the whole bad value, then the next value parses. */
    feed(f, "{\"a\": [\x01 \x02 ]} {\"ok\": true}");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "!JSON parse error, stray '\\x01'\n={\"ok\": true}\n");
}

static void test_control_char_in_string(Fixture *f, gconstpointer data)
{
    feed(f, "{\"s\": \"a\tb\"} {\"ok\": 1}");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "!JSON parse error, stray '\\x09'\n={\"ok\": 1}\n");
}

static void test_invalid_utf8(Fixture *f, gconstpointer data)
{
    feed(f, "{\"s\": \"\xff\xfe\"} {\"ok\": 1}");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "!JSON parse error, invalid UTF-8 sequence in string\n"
                    "={\"ok\": 1}\n");
}

static void test_depth_limit(Fixture *f, gconstpointer data)
{
    g_autoptr(GString) deep = g_string_new(NULL);

    /* 1024 levels are fine, 1025 are not (QEMU's MAX_NESTING). */
    for (int i = 0; i < 1024; i++) {
        g_string_append_c(deep, '[');
    }
    for (int i = 0; i < 1024; i++) {
        g_string_append_c(deep, ']');
    }
    feed(f, deep->str);
    g_assert_cmpint(f->sink.values, ==, 1);
    g_string_prepend_c(deep, '[');
    g_string_append_c(deep, ']');
    feed(f, deep->str);
    feed(f, "{\"ok\": 1}");
    g_assert_cmpint(f->sink.errors, ==, 1);
    g_assert_true(g_str_has_suffix(f->sink.log->str,
                                   "!JSON nesting depth limit exceeded\n"
                                   "={\"ok\": 1}\n"));
}

static void test_size_limit(Fixture *f, gconstpointer data)
{
    json_stream_set_limits(f->js, 64, 100, 8);
    feed(f, "{\"s\": \"");
    for (int i = 0; i < 1000; i++) {
        feed(f, "aaaaaaaaaa{}[]");      /* braces inside a string don't count */
    }
    feed(f, "\"} {\"ok\": 1}");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "!JSON token size limit exceeded\n={\"ok\": 1}\n");

    /* A top-level string over the limit is dropped whole, too. */
    g_string_truncate(f->sink.log, 0);
    feed(f, "\"");
    for (int i = 0; i < 100; i++) {
        feed(f, "bbbbbbbbbb");
    }
    feed(f, "\" [1]");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "!JSON token size limit exceeded\n=[1]\n");
}

static void test_token_limit(Fixture *f, gconstpointer data)
{
    json_stream_set_limits(f->js, 1 << 20, 10, 8);
    feed(f, "[1,2,3,4,5,6,7,8,9,10] [1]");
    g_assert_cmpstr(f->sink.log->str, ==,
                    "!JSON token count limit exceeded\n=[1]\n");
}

static void test_reset(Fixture *f, gconstpointer data)
{
    feed(f, "{\"half\": ");
    json_stream_reset(f->js);
    feed(f, "{\"whole\": 1}");
    g_assert_cmpstr(f->sink.log->str, ==, "={\"whole\": 1}\n");
}

static void test_writer(void)
{
    g_autoptr(JsonNode) node = json_from_string(
        "{\"b\": [1, 2.5, true, null, {}], \"a\": \"\\u00e9/\\n\\ud83d\\ude00\"}",
        NULL);
    g_autofree char *text = json_writer_to_string(node);

    /* Member order is kept; non-ASCII and '/' are escaped as QEMU does. */
    g_assert_cmpstr(text, ==,
                    "{\"b\": [1, 2.5, true, null, {}], "
                    "\"a\": \"\\u00E9\\/\\n\\uD83D\\uDE00\"}");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add("/json-stream/" path, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
    ADD("split", test_split);
    ADD("partial", test_partial);
    ADD("scalars", test_scalars);
    ADD("single-quotes", test_single_quotes);
    ADD("garbage-recovers", test_garbage_recovers);
    ADD("bad-byte-inside-value", test_bad_byte_inside_value);
    ADD("control-char-in-string", test_control_char_in_string);
    ADD("invalid-utf8", test_invalid_utf8);
    ADD("depth-limit", test_depth_limit);
    ADD("size-limit", test_size_limit);
    ADD("token-limit", test_token_limit);
    ADD("reset", test_reset);
#undef ADD
    g_test_add_func("/json-writer/qemu-style", test_writer);
    return g_test_run();
}
