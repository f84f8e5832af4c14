/*
 * Multifd compression (multifd-compression zlib / zstd), as QEMU streams
 * it: each channel keeps one compression stream for the whole migration
 * (never reset between packets); a packet's normal pages are fed in order
 * and the stream is flushed at the packet's last page (zlib Z_SYNC_FLUSH,
 * zstd ZSTD_e_flush), so the destination decompresses every packet as it
 * comes, with its own per-channel stream.  Zero pages are found before and
 * never compressed.
 */
#include "multifd.h"
#include "qemu/error.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct MultiFDCompressor {
    MultiFDCompression method;
    bool compress;
    z_stream zs;
    uint8_t *zpage;                 /* zlib: a page copied before deflate */
    ZSTD_CStream *zcs;
    ZSTD_DStream *zds;
};

size_t multifd_compress_bound(MultiFDCompression method)
{
    switch (method) {
    case MULTIFD_COMPRESSION_ZLIB:
        /* QEMU's zlib buffer: twice a packet. */
        return 2 * MULTIFD_PACKET_SIZE;
    case MULTIFD_COMPRESSION_ZSTD:
        return ZSTD_compressBound(MULTIFD_PACKET_SIZE);
    default:
        return MULTIFD_PACKET_SIZE;
    }
}

MultiFDCompressor *multifd_compressor_new(MultiFDCompression method, bool compress,
                                          int level, GError **errp)
{
    MultiFDCompressor *c = g_new0(MultiFDCompressor, 1);
    int zret;

    c->method = method;
    c->compress = compress;
    switch (method) {
    case MULTIFD_COMPRESSION_ZLIB:
        if (compress) {
            c->zpage = g_malloc(TARGET_PAGE_SIZE);
            zret = deflateInit(&c->zs, level);
        } else {
            zret = inflateInit(&c->zs);
        }
        if (zret != Z_OK) {
            error_setg(errp, "multifd: zlib %s init failed: %s",
                       compress ? "deflate" : "inflate", c->zs.msg ? c->zs.msg : "");
            g_free(c->zpage);
            g_free(c);
            return NULL;
        }
        return c;
    case MULTIFD_COMPRESSION_ZSTD:
        if (compress) {
            c->zcs = ZSTD_createCStream();
            zret = c->zcs ? (int)ZSTD_isError(ZSTD_initCStream(c->zcs, level)) : 1;
        } else {
            c->zds = ZSTD_createDStream();
            zret = c->zds ? (int)ZSTD_isError(ZSTD_initDStream(c->zds)) : 1;
        }
        if (zret) {
            error_setg(errp, "multifd: zstd %s stream init failed",
                       compress ? "compression" : "decompression");
            multifd_compressor_free(c);
            return NULL;
        }
        return c;
    default:
        g_free(c);
        return NULL;
    }
}

void multifd_compressor_free(MultiFDCompressor *c)
{
    if (!c) {
        return;
    }
    if (c->method == MULTIFD_COMPRESSION_ZLIB) {
        if (c->compress) {
            deflateEnd(&c->zs);
        } else {
            inflateEnd(&c->zs);
        }
    }
    ZSTD_freeCStream(c->zcs);
    ZSTD_freeDStream(c->zds);
    g_free(c->zpage);
    g_free(c);
}

static bool multifd_zlib_compress(MultiFDCompressor *c, const struct iovec *pages,
                                  unsigned n, uint8_t *out, size_t cap, size_t *len,
                                  GError **errp)
{
    z_stream *zs = &c->zs;
    size_t used = 0;

    for (unsigned i = 0; i < n; i++) {
        int flush = i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int ret;

        /* The guest may write the page meanwhile; zlib wants stable input. */
        memcpy(c->zpage, pages[i].iov_base, TARGET_PAGE_SIZE);
        zs->next_in = c->zpage;
        zs->avail_in = TARGET_PAGE_SIZE;
        zs->next_out = out + used;
        zs->avail_out = cap - used;
        do {
            ret = deflate(zs, flush);
        } while (ret == Z_OK && zs->avail_in && zs->avail_out);
        if (ret != Z_OK || zs->avail_in) {
            error_setg(errp, "multifd: deflate failed (%d) at page %u", ret, i);
            return false;
        }
        used = cap - zs->avail_out;
    }
    *len = used;
    return true;
}

static bool multifd_zstd_compress(MultiFDCompressor *c, const struct iovec *pages,
                                  unsigned n, uint8_t *out, size_t cap, size_t *len,
                                  GError **errp)
{
    ZSTD_outBuffer ob = { out, cap, 0 };

    for (unsigned i = 0; i < n; i++) {
        ZSTD_EndDirective flush = i == n - 1 ? ZSTD_e_flush : ZSTD_e_continue;
        ZSTD_inBuffer ib = { pages[i].iov_base, TARGET_PAGE_SIZE, 0 };
        size_t ret;

        do {
            ret = ZSTD_compressStream2(c->zcs, &ob, &ib, flush);
        } while (!ZSTD_isError(ret) && ob.pos < ob.size &&
                 (ib.pos < ib.size || (flush == ZSTD_e_flush && ret > 0)));
        if (ZSTD_isError(ret) || ib.pos < ib.size || (flush == ZSTD_e_flush && ret > 0)) {
            error_setg(errp, "multifd: zstd compression failed at page %u: %s", i,
                       ZSTD_isError(ret) ? ZSTD_getErrorName(ret) : "output full");
            return false;
        }
    }
    *len = ob.pos;
    return true;
}

bool multifd_compress_pages(MultiFDCompressor *c, const struct iovec *pages, unsigned n,
                            uint8_t *out, size_t cap, size_t *len, GError **errp)
{
    if (n == 0) {
        *len = 0;
        return true;
    }
    if (c->method == MULTIFD_COMPRESSION_ZLIB) {
        return multifd_zlib_compress(c, pages, n, out, cap, len, errp);
    }
    return multifd_zstd_compress(c, pages, n, out, cap, len, errp);
}

static bool multifd_zlib_decompress(MultiFDCompressor *c, const uint8_t *in, size_t len,
                                    const struct iovec *pages, unsigned n, GError **errp)
{
    z_stream *zs = &c->zs;

    zs->next_in = (uint8_t *)in;
    zs->avail_in = len;
    for (unsigned i = 0; i < n; i++) {
        int flush = i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int ret;

        zs->next_out = pages[i].iov_base;
        zs->avail_out = TARGET_PAGE_SIZE;
        do {
            ret = inflate(zs, flush);
        } while (ret == Z_OK && zs->avail_in && zs->avail_out);
        if ((ret != Z_OK && ret != Z_BUF_ERROR) || zs->avail_out) {
            error_setg(errp, "multifd: inflate failed (%d%s%s) at page %u of %u", ret,
                       zs->msg ? ": " : "", zs->msg ? zs->msg : "", i, n);
            return false;
        }
    }
    if (zs->avail_in) {
        /* What may follow the last byte of output: the end of the flushed block. */
        uint8_t none;

        zs->next_out = &none;
        zs->avail_out = 0;
        inflate(zs, Z_SYNC_FLUSH);
    }
    if (zs->avail_in) {
        error_setg(errp, "multifd: %u bytes of compressed data left after %u pages",
                   zs->avail_in, n);
        return false;
    }
    return true;
}

static bool multifd_zstd_decompress(MultiFDCompressor *c, const uint8_t *in, size_t len,
                                    const struct iovec *pages, unsigned n, GError **errp)
{
    ZSTD_inBuffer ib = { in, len, 0 };

    for (unsigned i = 0; i < n; i++) {
        ZSTD_outBuffer ob = { pages[i].iov_base, TARGET_PAGE_SIZE, 0 };
        size_t ret;

        do {
            ret = ZSTD_decompressStream(c->zds, &ob, &ib);
        } while (!ZSTD_isError(ret) && ob.pos < ob.size && ib.pos < ib.size);
        if (ZSTD_isError(ret) || ob.pos < ob.size) {
            error_setg(errp, "multifd: zstd decompression failed at page %u of %u: %s", i, n,
                       ZSTD_isError(ret) ? ZSTD_getErrorName(ret) : "data ended early");
            return false;
        }
    }
    while (ib.pos < ib.size) {
        /* What may follow the last byte of output: the end of the flushed block. */
        ZSTD_outBuffer none = { NULL, 0, 0 };
        size_t before = ib.pos;

        if (ZSTD_isError(ZSTD_decompressStream(c->zds, &none, &ib)) || ib.pos == before) {
            break;
        }
    }
    if (ib.pos < ib.size) {
        error_setg(errp, "multifd: %zu bytes of compressed data left after %u pages",
                   ib.size - ib.pos, n);
        return false;
    }
    return true;
}

bool multifd_decompress_pages(MultiFDCompressor *c, const uint8_t *in, size_t len,
                              const struct iovec *pages, unsigned n, GError **errp)
{
    if (c->method == MULTIFD_COMPRESSION_ZLIB) {
        return multifd_zlib_decompress(c, in, len, pages, n, errp);
    }
    return multifd_zstd_decompress(c, in, len, pages, n, errp);
}
