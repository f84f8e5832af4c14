/*
 * Number parsing for command-line and QMP input: sizes with QEMU's suffixes
 * (k, M, G, T, P, E and B) and whole-string integers in decimal or 0x hex.
 * Every parser rejects trailing junk, overflow and negative values and names
 * the offending text in its error.
 */
#ifndef TERN_CUTILS_H
#define TERN_CUTILS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)
#define PiB (UINT64_C(1) << 50)
#define EiB (UINT64_C(1) << 60)

/*
 * Parse a size like "128M", "4G", "1.5G", "512k", "4096B" or a bare number.
 * Suffixes are binary (k = 1024) and case-insensitive; a bare number is
 * multiplied by @default_suffix_unit (1 for bytes, MiB for -m).  Hex ("0x1000")
 * is allowed only without suffix or fraction.  A fraction is allowed only when
 * the unit is larger than a byte.  The result must fit in 64 bits.
 */
bool qemu_strtosz(const char *str, uint64_t default_suffix_unit,
                  uint64_t *out, GError **errp);

/* Parse the whole of @str as an unsigned 64-bit decimal or 0x-hex number. */
bool qemu_strtou64(const char *str, uint64_t *out, GError **errp);

/* Parse the whole of @str as a signed 64-bit decimal or 0x-hex number. */
bool qemu_strtoi64(const char *str, int64_t *out, GError **errp);

#endif
