/*
 * JSON text the way QEMU's monitor writes it: ", " and ": " separators,
 * non-ASCII and '/' escaped, so byte-level consumers (grep in scripts, test
 * expectations) see what they see from QEMU.
 */
#ifndef MONITOR_JSON_WRITER_H
#define MONITOR_JSON_WRITER_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* Append the JSON text of @node to @out. */
void json_writer_append(GString *out, JsonNode *node);

/* The JSON text of @node (caller frees). */
char *json_writer_to_string(JsonNode *node);

#endif
