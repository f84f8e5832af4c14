/*
 * Small run-time pieces generated QAPI types rely on: the enum string tables
 * (QEnumLookup, Foo_str()) and QType, which tells an alternate's branches
 * apart by their JSON type, named as in QEMU.
 */
#ifndef QAPI_UTIL_H
#define QAPI_UTIL_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The string table of one QAPI enum: array[value] is the wire name. */
typedef struct QEnumLookup {
    const char *const *array;
    int size;
} QEnumLookup;

/* The wire name of @val; @val must be a valid member (a broken invariant aborts). */
const char *qapi_enum_lookup(const QEnumLookup *lookup, int val);

/*
 * The value whose wire name is @name, or @def when @name is NULL.  An
 * unknown name sets "Invalid parameter '<name>'" and returns @def.
 */
int qapi_enum_parse(const QEnumLookup *lookup, const char *name, int def,
                    GError **errp);

/* JSON value kinds, as QEMU's QType: an alternate's 'type' member. */
typedef enum QType {
    QTYPE_NONE,
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
    QTYPE__MAX,
} QType;

/* The QType of a JSON node (QTYPE_NONE for NULL). */
QType qapi_json_qtype(JsonNode *node);

#endif
