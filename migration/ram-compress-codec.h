/*
 * QEMU's legacy compressed pages (capability compress, QEMU 2.4 to 9.0):
 * one record per page, `be64 (offset | COMPRESS_PAGE | CONTINUE) ; be32 len ;
 * len bytes`, the bytes one complete zlib stream (RFC 1950) of the page.
 * This header is the codec, which knows nothing of threads or streams;
 * ram-compress.c runs it on the source's pool, ram-compress-load.c on the
 * destination's.
 */
#ifndef MIGRATION_RAM_COMPRESS_CODEC_H
#define MIGRATION_RAM_COMPRESS_CODEC_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/*
 * The longest record body a page can need: zlib's compressBound() of a
 * 4 KiB page (4110 bytes), also the most a destination accepts, as QEMU.
 */
#define RAM_COMPRESS_MAX_LEN(page_size) ((size_t)compressBound(page_size))

/* A z_stream for ram_compress_page() at zlib @level (0..9). */
bool ram_compress_stream_init(z_stream *zs, int level, GError **errp);
void ram_compress_stream_end(z_stream *zs);

/*
 * Compress the @page_size bytes at @page into @out (RAM_COMPRESS_MAX_LEN
 * bytes) as one zlib stream.  Returns its length, or 0 with @errp set.
 */
size_t ram_compress_page(z_stream *zs, const uint8_t *page, size_t page_size,
                         uint8_t *out, GError **errp);

/* A z_stream for ram_decompress_page(). */
bool ram_decompress_stream_init(z_stream *zs, GError **errp);
void ram_decompress_stream_end(z_stream *zs);

/*
 * Decompress the @len bytes at @in into @out (@page_size bytes).  They
 * must be exactly one complete zlib stream that inflates to exactly
 * @page_size bytes; anything else fails with @errp saying what.  On
 * failure @out holds garbage: callers decompress into a buffer of their
 * own and copy only a page that passed.
 */
bool ram_decompress_page(z_stream *zs, const uint8_t *in, size_t len,
                         uint8_t *out, size_t page_size, GError **errp);

#endif
