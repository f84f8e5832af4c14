/*
 * QEMU-style option strings ("memory-backend-ram,id=m,size=1G",
 * "unix:/p,server=on,wait=off") parsed into a key -> value table, and typed
 * getters over that table.  Every error names the parameter or text at fault.
 */
#ifndef TERN_OPTION_H
#define TERN_OPTION_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Parse "key=value,key2=value2" into a new table mapping key to value (both
 * strings owned by the table; free it with g_hash_table_unref()).  ",," in a
 * value stands for a literal comma.  With @implied_key non-NULL, a first
 * element without '=' is the value of @implied_key ("socket,id=c0" with
 * implied "backend" gives backend=socket).  Rejects an empty parameter name,
 * a missing '=', and a key given twice.  Returns NULL on error.
 */
GHashTable *qemu_opts_parse(const char *str, const char *implied_key,
                            GError **errp);

/* The value of @key, or NULL if absent. */
const char *qemu_opt_get(GHashTable *opts, const char *key);

/*
 * Parse a boolean parameter value: on/yes/true or off/no/false.  @name is the
 * parameter name used in the error message.
 */
bool qemu_parse_bool(const char *name, const char *value, bool *out,
                     GError **errp);

/* *@out = boolean value of @key, or @def if absent.  False on a bad value. */
bool qemu_opt_get_bool(GHashTable *opts, const char *key, bool def,
                       bool *out, GError **errp);

/*
 * *@out = size value of @key in bytes (see qemu_strtosz(); a bare number is
 * bytes), or @def if absent.  False on a bad value.
 */
bool qemu_opt_get_size(GHashTable *opts, const char *key, uint64_t def,
                       uint64_t *out, GError **errp);

/* *@out = unsigned (decimal or 0x hex) value of @key, or @def if absent. */
bool qemu_opt_get_u64(GHashTable *opts, const char *key, uint64_t def,
                      uint64_t *out, GError **errp);

/*
 * Fail with "Invalid parameter 'x'" if @opts holds a key not in @allowed
 * (NULL-terminated).  With several unknown keys, the alphabetically first is
 * named, so the message does not depend on hash order.
 */
bool qemu_opts_check_keys(GHashTable *opts, const char *const *allowed,
                          GError **errp);

#endif
