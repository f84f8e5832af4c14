/*
 * XBZRLE, the delta encoding QEMU uses for a page that was sent before
 * (qemu-migration-facts.md §5): runs of unchanged bytes alternate with
 * runs of new bytes, every run length a ULEB128 of one or two bytes.
 * Pure functions over buffers; the page cache and the stream records are
 * elsewhere (page-cache.c, ram-xbzrle.c).
 */
#ifndef MIGRATION_XBZRLE_H
#define MIGRATION_XBZRLE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest run length a two-byte ULEB128 holds, so the largest buffer the codec takes. */
#define XBZRLE_MAX_LEN          0x3fff

/* The byte after an XBZRLE record's header (QEMU's ENCODING_FLAG_XBZRLE). */
#define XBZRLE_ENCODING_FLAG    0x01

/*
 * Encode how @new differs from @old (both @len bytes, @len <= XBZRLE_MAX_LEN)
 * into @dst, at most @dlen bytes.  Returns the encoded length, 0 when the
 * buffers are equal (nothing to send), or -1 when the encoding would not fit
 * in @dlen (the caller sends @new whole).  The runs are maximal and the last
 * unchanged run is left out, as QEMU encodes.
 */
int xbzrle_encode(const uint8_t *old, const uint8_t *new, size_t len,
                  uint8_t *dst, size_t dlen);

/*
 * Apply the delta @src (@slen bytes) to @page (@plen bytes, holding the
 * copy the delta was made against).  The whole delta is checked before any
 * byte of @page changes: a run past the end of the page, a truncated run or
 * length, an empty run where QEMU allows none, fail with an error naming the
 * delta offset, and @page is left as it was.
 */
bool xbzrle_decode(const uint8_t *src, size_t slen, uint8_t *page, size_t plen,
                   GError **errp);

/* One encoder implementation; all give the same bytes. */
typedef int (*XbzrleEncodeFn)(const uint8_t *old, const uint8_t *new, size_t len,
                              uint8_t *dst, size_t dlen);

/*
 * The encoder called @name ("scalar", "avx2"), or NULL when unknown or the
 * CPU cannot run it (tests compare them, the bench times them).
 */
XbzrleEncodeFn xbzrle_encode_variant(const char *name);

/* The name of the implementation xbzrle_encode() uses (the widest the CPU has). */
const char *xbzrle_encoder_name(void);

#endif
