/*
 * The streaming JSON reader (json-stream.h).  A small lexer tracks strings
 * and nesting to find where each top-level value ends; json-glib parses the
 * value.  After an error, input is skipped until the nesting that was open
 * closes, as QEMU's streamer does, so one bad request costs one error reply.
 * Single-quoted strings, which QEMU accepts, are rewritten to double quotes.
 */
#include "json-stream.h"

#include "qemu/error.h"

#include <string.h>

typedef enum {
    LEX_VALUE,          /* between tokens */
    LEX_STRING,         /* inside a string */
    LEX_STRING_ESCAPE,  /* after a backslash inside a string */
    LEX_LITERAL,        /* inside a number or keyword */
} LexState;

struct JsonStream {
    JsonStreamEmit emit;
    void *opaque;
    size_t max_bytes;
    size_t max_tokens;
    unsigned max_depth;

    LexState state;
    char quote;         /* '"' or '\'' while in a string */
    unsigned depth;     /* open '{' and '[' */
    size_t tokens;
    bool skipping;      /* after an error, until depth returns to 0 */
    GString *value;     /* the current top-level value, normalised */
};

JsonStream *json_stream_new(JsonStreamEmit emit, void *opaque)
{
    JsonStream *js = g_new0(JsonStream, 1);

    js->emit = emit;
    js->opaque = opaque;
    js->max_bytes = JSON_STREAM_MAX_BYTES;
    js->max_tokens = JSON_STREAM_MAX_TOKENS;
    js->max_depth = JSON_STREAM_MAX_DEPTH;
    js->value = g_string_new(NULL);
    return js;
}

void json_stream_free(JsonStream *js)
{
    if (js) {
        g_string_free(js->value, TRUE);
        g_free(js);
    }
}

void json_stream_set_limits(JsonStream *js, size_t max_bytes,
                            size_t max_tokens, unsigned max_depth)
{
    js->max_bytes = max_bytes;
    js->max_tokens = max_tokens;
    js->max_depth = max_depth;
}

void json_stream_reset(JsonStream *js)
{
    js->state = LEX_VALUE;
    js->depth = 0;
    js->tokens = 0;
    js->skipping = false;
    g_string_truncate(js->value, 0);
    if (js->value->allocated_len > 65536) {
        g_string_free(js->value, TRUE);     /* give back a huge buffer */
        js->value = g_string_new(NULL);
    }
}

/* Report an error and skip the rest of the value it occurred in. */
static void json_stream_fail(JsonStream *js, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void json_stream_fail(JsonStream *js, const char *fmt, ...)
{
    GError *err = NULL;
    g_autofree char *msg = NULL;
    va_list ap;

    if (js->skipping) {
        return;                 /* one error per bad value */
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(&err, "%s", msg);
    if (js->depth == 0 && js->state == LEX_VALUE) {
        json_stream_reset(js);
    } else {
        g_string_truncate(js->value, 0);
        js->skipping = true;    /* until the open value or token closes */
    }
    js->emit(js->opaque, NULL, err);
}

/* json-glib says "<data>:1:5: Parse error: unexpected ..."; keep the end. */
static const char *json_stream_strip_location(const char *msg)
{
    const char *p = strstr(msg, "error: ");

    return p ? p + strlen("error: ") : msg;
}

/* A complete top-level value is in js->value: parse and emit it. */
static void json_stream_finish_value(JsonStream *js)
{
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) perr = NULL;
    GError *err = NULL;

    if (js->skipping) {
        json_stream_reset(js);
        return;
    }
    if (!g_utf8_validate(js->value->str, js->value->len, NULL)) {
        json_stream_reset(js);
        error_setg(&err, "JSON parse error, invalid UTF-8 sequence in string");
        js->emit(js->opaque, NULL, err);
        return;
    }
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, js->value->str, js->value->len,
                                    &perr) || !json_parser_get_root(parser)) {
        error_setg(&err, "JSON parse error, %s",
                   perr ? json_stream_strip_location(perr->message)
                        : "expecting value");
        json_stream_reset(js);
        js->emit(js->opaque, NULL, err);
        return;
    }
    json_stream_reset(js);
    js->emit(js->opaque, json_parser_steal_root(parser), NULL);
}

static bool json_stream_append(JsonStream *js, const char *s, size_t len)
{
    if (js->skipping) {
        return true;
    }
    if (js->value->len + len > js->max_bytes) {
        json_stream_fail(js, "JSON token size limit exceeded");
        return false;
    }
    g_string_append_len(js->value, s, len);
    return true;
}

static bool json_stream_count_token(JsonStream *js)
{
    if (!js->skipping && ++js->tokens > js->max_tokens) {
        json_stream_fail(js, "JSON token count limit exceeded");
        return false;
    }
    return true;
}

static bool is_literal_char(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '-' || c == '.';
}

/* A token ended; at the top level that completes a value. */
static void json_stream_token_done(JsonStream *js)
{
    if (js->depth == 0) {
        json_stream_finish_value(js);
    }
}

static void json_stream_string_char(JsonStream *js, char c)
{
    if (js->state == LEX_STRING_ESCAPE) {
        js->state = LEX_STRING;
        if (js->quote == '\'' && c == '\'') {
            json_stream_append(js, "'", 1);
        } else {
            char esc[2] = { '\\', c };
            json_stream_append(js, esc, 2);
        }
    } else if ((unsigned char)c < 0x20) {     /* JSON forbids them raw */
        json_stream_fail(js, "JSON parse error, stray '\\x%02x'",
                         (unsigned char)c);
    } else if (c == '\\') {
        js->state = LEX_STRING_ESCAPE;
    } else if (c == js->quote) {
        js->state = LEX_VALUE;
        if (json_stream_append(js, "\"", 1)) {
            json_stream_token_done(js);
        }
    } else if (c == '"') {              /* inside a single-quoted string */
        json_stream_append(js, "\\\"", 2);
    } else {
        json_stream_append(js, &c, 1);
    }
}

static void json_stream_value_char(JsonStream *js, char c)
{
    switch (c) {
    case ' ': case '\t': case '\n': case '\r':
        if (js->depth) {
            json_stream_append(js, " ", 1);
        }
        return;
    case '{': case '[':
        js->depth++;
        if (!js->skipping && js->depth > js->max_depth) {
            json_stream_fail(js, "JSON nesting depth limit exceeded");
            return;
        }
        if (json_stream_count_token(js)) {
            json_stream_append(js, &c, 1);
        }
        return;
    case '}': case ']':
        if (js->depth == 0) {
            json_stream_fail(js, "JSON parse error, stray '%c'", c);
            return;
        }
        js->depth--;
        if (json_stream_count_token(js) && json_stream_append(js, &c, 1)) {
            json_stream_token_done(js);
        }
        return;
    case ',': case ':':
        if (js->depth == 0) {
            json_stream_fail(js, "JSON parse error, stray '%c'", c);
        } else if (json_stream_count_token(js)) {
            json_stream_append(js, &c, 1);
        }
        return;
    case '"': case '\'':
        if (json_stream_count_token(js)) {
            js->state = LEX_STRING;
            js->quote = c;
            json_stream_append(js, "\"", 1);
        }
        return;
    default:
        if (is_literal_char(c)) {
            if (json_stream_count_token(js)) {
                js->state = LEX_LITERAL;
                json_stream_append(js, &c, 1);
            }
        } else if (g_ascii_isprint(c)) {
            json_stream_fail(js, "JSON parse error, stray '%c'", c);
        } else {
            json_stream_fail(js, "JSON parse error, stray '\\x%02x'",
                             (unsigned char)c);
        }
        return;
    }
}

void json_stream_feed(JsonStream *js, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        switch (js->state) {
        case LEX_STRING:
        case LEX_STRING_ESCAPE:
            json_stream_string_char(js, c);
            break;
        case LEX_LITERAL:
            if (is_literal_char(c)) {
                json_stream_append(js, &c, 1);
                break;
            }
            js->state = LEX_VALUE;
            json_stream_token_done(js);
            json_stream_value_char(js, c);
            break;
        case LEX_VALUE:
            json_stream_value_char(js, c);
            break;
        }
    }
}
