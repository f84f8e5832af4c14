/*
 * A streaming JSON reader for QMP: bytes go in as they arrive (partial
 * values, several values per read, whitespace between them), complete
 * top-level values come out parsed, and garbage comes out as errors -- after
 * which reading resumes with the next value.  Input past the limits is
 * refused while it streams, so it never piles up in memory.
 */
#ifndef MONITOR_JSON_STREAM_H
#define MONITOR_JSON_STREAM_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* QEMU's limits (qobject/json-streamer.c). */
#define JSON_STREAM_MAX_BYTES   (64ULL << 20)   /* per top-level value */
#define JSON_STREAM_MAX_TOKENS  (2ULL << 20)
#define JSON_STREAM_MAX_DEPTH   1024

/*
 * Receives one value or one error (exactly one is non-NULL), transfer full.
 * Error messages are QEMU's ("JSON parse error, ...", "JSON ... limit
 * exceeded").
 */
typedef void (*JsonStreamEmit)(void *opaque, JsonNode *value, GError *err);

typedef struct JsonStream JsonStream;

JsonStream *json_stream_new(JsonStreamEmit emit, void *opaque);
void json_stream_free(JsonStream *js);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(JsonStream, json_stream_free)

/* Lower the limits (tests). */
void json_stream_set_limits(JsonStream *js, size_t max_bytes,
                            size_t max_tokens, unsigned max_depth);

/* Feed bytes; calls emit for every value or error completed by them. */
void json_stream_feed(JsonStream *js, const char *buf, size_t len);

/* Forget any partial value (a new client connected). */
void json_stream_reset(JsonStream *js);

#endif
