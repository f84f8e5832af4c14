/*
 * The codec of compressed page records (ram-compress-codec.h): a page to and
 * from one zlib stream.  Each z_stream is reset per page, as QEMU's, so
 * every record decodes on its own, whichever thread compressed it.
 */
#include "ram-compress-codec.h"

#include "qemu/error.h"

#include <string.h>

bool ram_compress_stream_init(z_stream *zs, int level, GError **errp)
{
    int ret;

    memset(zs, 0, sizeof(*zs));
    ret = deflateInit(zs, level);
    if (ret != Z_OK) {
        error_setg(errp, "zlib deflateInit(level %d) failed: %s", level,
                   zs->msg ? zs->msg : zError(ret));
        return false;
    }
    return true;
}

void ram_compress_stream_end(z_stream *zs)
{
    deflateEnd(zs);
}

size_t ram_compress_page(z_stream *zs, const uint8_t *page, size_t page_size,
                         uint8_t *out, GError **errp)
{
    int ret = deflateReset(zs);

    if (ret == Z_OK) {
        zs->next_in = (Bytef *)page;
        zs->avail_in = page_size;
        zs->next_out = out;
        zs->avail_out = RAM_COMPRESS_MAX_LEN(page_size);
        ret = deflate(zs, Z_FINISH);
    }
    /* compressBound() leaves room for the worst case: anything else is zlib failing. */
    if (ret != Z_STREAM_END) {
        error_setg(errp, "Compress data failed: zlib deflate returned %d (%s)", ret,
                   zs->msg ? zs->msg : zError(ret));
        return 0;
    }
    return zs->total_out;
}

bool ram_decompress_stream_init(z_stream *zs, GError **errp)
{
    int ret;

    memset(zs, 0, sizeof(*zs));
    ret = inflateInit(zs);
    if (ret != Z_OK) {
        error_setg(errp, "zlib inflateInit failed: %s", zs->msg ? zs->msg : zError(ret));
        return false;
    }
    return true;
}

void ram_decompress_stream_end(z_stream *zs)
{
    inflateEnd(zs);
}

bool ram_decompress_page(z_stream *zs, const uint8_t *in, size_t len,
                         uint8_t *out, size_t page_size, GError **errp)
{
    int ret = inflateReset(zs);

    if (ret != Z_OK) {
        error_setg(errp, "zlib inflateReset failed: %s", zError(ret));
        return false;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = len;
    zs->next_out = out;
    zs->avail_out = page_size;
    ret = inflate(zs, Z_FINISH);
    switch (ret) {
    case Z_STREAM_END:
        if (zs->total_out != page_size) {
            error_setg(errp, "the zlib stream holds %lu bytes, not a %zu-byte page",
                       zs->total_out, page_size);
            return false;
        }
        if (zs->avail_in != 0) {
            error_setg(errp, "%u bytes follow the end of the zlib stream", zs->avail_in);
            return false;
        }
        return true;
    case Z_BUF_ERROR:
        /* Z_FINISH could not finish: out of input, or out of room with input left. */
        if (zs->avail_in != 0) {
            error_setg(errp, "the zlib stream holds more than a %zu-byte page", page_size);
        } else {
            error_setg(errp, "the zlib stream is truncated after %zu of %zu bytes "
                       "(%lu bytes decompressed)", len - zs->avail_in, len, zs->total_out);
        }
        return false;
    case Z_NEED_DICT:
        error_setg(errp, "the zlib stream needs a preset dictionary");
        return false;
    default:
        error_setg(errp, "corrupt zlib data after %zu of %zu bytes: %s",
                   len - zs->avail_in, len, zs->msg ? zs->msg : zError(ret));
        return false;
    }
}
