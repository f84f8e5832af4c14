/*
 * Multifd wire structures (multifd.h): MultiFDInit, 64 bytes, and the
 * packet header, 320 bytes plus 8 per page slot, all big-endian and packed.
 * Written and read field by field, so nothing depends on struct layout.
 */
#include "multifd.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

static uint32_t get_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

/* MultiFDInit: be32 magic, be32 version, u8 uuid[16], u8 id, then zeros. */
enum {
    INIT_MAGIC = 0,
    INIT_VERSION = 4,
    INIT_UUID = 8,
    INIT_ID = 24,
};

/* The packet header's fields. */
enum {
    PKT_MAGIC = 0,
    PKT_VERSION = 4,
    PKT_FLAGS = 8,
    PKT_PAGES_ALLOC = 12,
    PKT_NORMAL_PAGES = 16,
    PKT_NEXT_PACKET_SIZE = 20,
    PKT_PACKET_NUM = 24,
    PKT_ZERO_PAGES = 32,
    /* u32 unused32[1], u64 unused64[3] */
    PKT_RAMBLOCK = 64,
    PKT_OFFSETS = MULTIFD_PACKET_FIXED_SIZE,
};

G_STATIC_ASSERT(PKT_RAMBLOCK + MULTIFD_RAMBLOCK_NAME_SIZE == MULTIFD_PACKET_FIXED_SIZE);

static char *uuid_str(const uint8_t u[16])
{
    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
                           u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void multifd_init_encode(uint8_t buf[MULTIFD_INIT_SIZE], const uint8_t uuid[16],
                         uint8_t id)
{
    memset(buf, 0, MULTIFD_INIT_SIZE);
    put_be32(buf + INIT_MAGIC, MULTIFD_MAGIC);
    put_be32(buf + INIT_VERSION, MULTIFD_VERSION);
    memcpy(buf + INIT_UUID, uuid, 16);
    buf[INIT_ID] = id;
}

bool multifd_init_decode(const uint8_t buf[MULTIFD_INIT_SIZE], const uint8_t uuid[16],
                         unsigned channels, uint8_t *id, GError **errp)
{
    uint32_t magic = get_be32(buf + INIT_MAGIC);
    uint32_t version = get_be32(buf + INIT_VERSION);

    if (magic != MULTIFD_MAGIC) {
        error_setg(errp, "multifd: received packet magic %x expected %x",
                   magic, MULTIFD_MAGIC);
        return false;
    }
    if (version != MULTIFD_VERSION) {
        error_setg(errp, "multifd: received packet version %u expected %u",
                   version, MULTIFD_VERSION);
        return false;
    }
    if (memcmp(buf + INIT_UUID, uuid, 16) != 0) {
        g_autofree char *got = uuid_str(buf + INIT_UUID);
        g_autofree char *want = uuid_str(uuid);

        error_setg(errp, "multifd: received uuid '%s' and expected uuid '%s' for channel %u",
                   got, want, buf[INIT_ID]);
        return false;
    }
    if (buf[INIT_ID] >= channels) {
        error_setg(errp, "multifd: received channel id %u is greater than "
                   "number of channels %u", buf[INIT_ID], channels);
        return false;
    }
    *id = buf[INIT_ID];
    return true;
}

void multifd_packet_encode(const MultiFDPacket *p, uint8_t buf[MULTIFD_PACKET_HDR_SIZE])
{
    uint32_t used = p->normal_pages + p->zero_pages;

    memset(buf, 0, PKT_OFFSETS);
    put_be32(buf + PKT_MAGIC, MULTIFD_MAGIC);
    put_be32(buf + PKT_VERSION, MULTIFD_VERSION);
    put_be32(buf + PKT_FLAGS, p->flags);
    put_be32(buf + PKT_PAGES_ALLOC, MULTIFD_PACKET_PAGES);
    put_be32(buf + PKT_NORMAL_PAGES, p->normal_pages);
    put_be32(buf + PKT_NEXT_PACKET_SIZE, p->next_packet_size);
    put_be64(buf + PKT_PACKET_NUM, p->packet_num);
    put_be32(buf + PKT_ZERO_PAGES, p->zero_pages);
    /* strncpy semantics: the name, NUL-padded to 256 bytes. */
    memcpy(buf + PKT_RAMBLOCK, p->ramblock,
           strnlen(p->ramblock, MULTIFD_RAMBLOCK_NAME_SIZE));
    for (uint32_t i = 0; i < MULTIFD_PACKET_PAGES; i++) {
        put_be64(buf + PKT_OFFSETS + 8 * i, i < used ? p->offset[i] : 0);
    }
}

bool multifd_packet_decode(const uint8_t buf[MULTIFD_PACKET_HDR_SIZE], uint32_t compress_flag,
                           MultiFDPacket *p, GError **errp)
{
    uint32_t magic = get_be32(buf + PKT_MAGIC);
    uint32_t version = get_be32(buf + PKT_VERSION);
    uint32_t used;

    if (magic != MULTIFD_MAGIC) {
        error_setg(errp, "multifd: received packet magic %x and expected magic %x",
                   magic, MULTIFD_MAGIC);
        return false;
    }
    if (version != MULTIFD_VERSION) {
        error_setg(errp, "multifd: received packet version %u and expected version %u",
                   version, MULTIFD_VERSION);
        return false;
    }
    p->flags = get_be32(buf + PKT_FLAGS);
    p->pages_alloc = get_be32(buf + PKT_PAGES_ALLOC);
    p->normal_pages = get_be32(buf + PKT_NORMAL_PAGES);
    p->next_packet_size = get_be32(buf + PKT_NEXT_PACKET_SIZE);
    p->packet_num = get_be64(buf + PKT_PACKET_NUM);
    p->zero_pages = get_be32(buf + PKT_ZERO_PAGES);
    if (p->pages_alloc != MULTIFD_PACKET_PAGES) {
        error_setg(errp, "multifd: received packet with size %u and expected a size of %u",
                   p->pages_alloc, MULTIFD_PACKET_PAGES);
        return false;
    }
    if (p->normal_pages > p->pages_alloc) {
        error_setg(errp, "multifd: received packet with %u normal pages and expected "
                   "maximum pages are %u", p->normal_pages, p->pages_alloc);
        return false;
    }
    if (p->zero_pages > p->pages_alloc - p->normal_pages) {
        error_setg(errp, "multifd: received packet with %u zero pages and expected "
                   "maximum zero pages are %u", p->zero_pages,
                   p->pages_alloc - p->normal_pages);
        return false;
    }
    if ((p->flags & ~(MULTIFD_FLAG_SYNC | MULTIFD_FLAG_COMPRESS_MASK)) ||
        (p->flags & MULTIFD_FLAG_COMPRESS_MASK) != compress_flag) {
        error_setg(errp, "multifd: flags received %x flags expected %x",
                   p->flags, compress_flag);
        return false;
    }
    memcpy(p->ramblock, buf + PKT_RAMBLOCK, MULTIFD_RAMBLOCK_NAME_SIZE);
    p->ramblock[MULTIFD_RAMBLOCK_NAME_SIZE] = '\0';
    used = p->normal_pages + p->zero_pages;
    for (uint32_t i = 0; i < used; i++) {
        p->offset[i] = get_be64(buf + PKT_OFFSETS + 8 * i);
    }
    return true;
}

uint32_t multifd_compress_flag(MultiFDCompression method)
{
    switch (method) {
    case MULTIFD_COMPRESSION_ZLIB:
        return MULTIFD_FLAG_ZLIB;
    case MULTIFD_COMPRESSION_ZSTD:
        return MULTIFD_FLAG_ZSTD;
    default:
        return MULTIFD_FLAG_NOCOMP;
    }
}

bool multifd_address_check(const MigrationAddress *addr, GError **errp)
{
    if (addr->transport != MIGRATION_ADDRESS_TYPE_SOCKET ||
        (addr->u.socket.type != SOCKET_ADDRESS_TYPE_INET &&
         addr->u.socket.type != SOCKET_ADDRESS_TYPE_UNIX)) {
        error_setg(errp, "Migration requires multi-channel URIs (e.g. tcp)");
        return false;
    }
    return true;
}
