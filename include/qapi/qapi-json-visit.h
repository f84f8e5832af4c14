/*
 * The primitives generated visitors are built from: reading QAPI values out
 * of json-glib nodes with QEMU's strictness and error messages, and writing
 * them back.  Error messages name the offending member by its path, as QEMU
 * does ("Parameter 'capabilities[0].state' is missing").
 */
#ifndef QAPI_JSON_VISIT_H
#define QAPI_JSON_VISIT_H

#include "qapi/qapi-util.h"

/*
 * Where a value sits inside the visited document: a chain of member names
 * and list indices from the leaf up to the root, kept on the C stack.
 * A NULL path is the root value itself.
 */
typedef struct QapiPath {
    const struct QapiPath *up;
    const char *name;           /* member name, or NULL for a list element */
    unsigned index;             /* list index when @name is NULL */
} QapiPath;

/* "a[0].b" for error messages (caller frees); "null" for the root. */
char *qapi_path_full(const QapiPath *path);

/* The innermost member name, or "null" (QEMU's wording for range errors). */
const char *qapi_path_leaf(const QapiPath *path);

/* "Parameter '<path>' is missing" */
void qapi_error_missing(const QapiPath *path, GError **errp);

/* "Invalid parameter type for '<path>', expected: <expected>" */
void qapi_error_type(const QapiPath *path, const char *expected, GError **errp);

/*
 * Member @name of @obj, or NULL when absent.  Records @name in @seen (a set
 * of static strings) so qapi_check_unexpected() knows it was consumed.
 */
JsonNode *qapi_in_member(JsonObject *obj, const char *name, GHashTable *seen);

/* A new set for qapi_in_member(); free with g_hash_table_unref(). */
GHashTable *qapi_seen_new(void);

/* "Parameter '<path>.<key>' is unexpected" for the first member not in @seen. */
bool qapi_check_unexpected(JsonObject *obj, const QapiPath *path,
                           GHashTable *seen, GError **errp);

/* Container checks: "expected: object" / "expected: array". Borrowed results. */
bool qapi_in_object(JsonNode *node, const QapiPath *path, JsonObject **out,
                    GError **errp);
bool qapi_in_array(JsonNode *node, const QapiPath *path, JsonArray **out,
                   GError **errp);

/* A string naming a member of @lookup, else "does not accept value". */
bool qapi_in_enum(JsonNode *node, const QapiPath *path,
                  const QEnumLookup *lookup, int *out, GError **errp);

/* Built-in types, one per QAPI built-in; strings are newly allocated. */
bool qapi_in_str(JsonNode *node, const QapiPath *path, char **out, GError **errp);
bool qapi_in_number(JsonNode *node, const QapiPath *path, double *out,
                    GError **errp);
bool qapi_in_bool(JsonNode *node, const QapiPath *path, bool *out, GError **errp);
bool qapi_in_null(JsonNode *node, const QapiPath *path, bool *out, GError **errp);
bool qapi_in_any(JsonNode *node, const QapiPath *path, JsonNode **out,
                 GError **errp);
bool qapi_in_int(JsonNode *node, const QapiPath *path, int64_t *out,
                 GError **errp);
bool qapi_in_int8(JsonNode *node, const QapiPath *path, int8_t *out,
                  GError **errp);
bool qapi_in_int16(JsonNode *node, const QapiPath *path, int16_t *out,
                   GError **errp);
bool qapi_in_int32(JsonNode *node, const QapiPath *path, int32_t *out,
                   GError **errp);
bool qapi_in_int64(JsonNode *node, const QapiPath *path, int64_t *out,
                   GError **errp);
bool qapi_in_uint8(JsonNode *node, const QapiPath *path, uint8_t *out,
                   GError **errp);
bool qapi_in_uint16(JsonNode *node, const QapiPath *path, uint16_t *out,
                    GError **errp);
bool qapi_in_uint32(JsonNode *node, const QapiPath *path, uint32_t *out,
                    GError **errp);
bool qapi_in_uint64(JsonNode *node, const QapiPath *path, uint64_t *out,
                    GError **errp);
bool qapi_in_size(JsonNode *node, const QapiPath *path, uint64_t *out,
                  GError **errp);

/*
 * Output: new nodes (transfer full).  A NULL string is written as "" like
 * QEMU's output visitor.  json-glib stores integers as int64, so a uint64
 * above INT64_MAX is written as its two's-complement negative; the input
 * side accepts negative values for unsigned types as QEMU does, so such a
 * value still round-trips.
 */
JsonNode *qapi_out_str(const char *value);
JsonNode *qapi_out_number(double value);
JsonNode *qapi_out_bool(bool value);
JsonNode *qapi_out_null(bool value);
JsonNode *qapi_out_any(const JsonNode *value);
JsonNode *qapi_out_int(int64_t value);
JsonNode *qapi_out_uint(uint64_t value);

#define qapi_out_int8 qapi_out_int
#define qapi_out_int16 qapi_out_int
#define qapi_out_int32 qapi_out_int
#define qapi_out_int64 qapi_out_int
#define qapi_out_uint8 qapi_out_uint
#define qapi_out_uint16 qapi_out_uint
#define qapi_out_uint32 qapi_out_uint
#define qapi_out_uint64 qapi_out_uint
#define qapi_out_size qapi_out_uint

/* Wraps @obj (transfer full) in a new node. */
JsonNode *qapi_out_object(JsonObject *obj);

#endif
