/*
 * Multifd: guest pages over several channels at once, in QEMU's wire
 * format (qemu-migration-facts.md §7).  Each multifd channel opens with a
 * 64-byte MultiFDInit, then carries packets: a header naming one RAM block,
 * the offsets of its normal and zero pages, then the normal pages' bytes.
 * The main channel keeps everything else and marks the end of each dirty
 * round with RAM_SAVE_FLAG_MULTIFD_FLUSH; a SYNC packet on every multifd
 * channel matches it, so a page sent in two rounds lands in round order.
 *
 * multifd-packet.c encodes and checks the wire structures, multifd-send.c
 * runs the source's send threads, multifd-recv.c the destination's receive
 * side.  Private to migration/.
 */
#ifndef MIGRATION_MULTIFD_H
#define MIGRATION_MULTIFD_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "exec/ramblock.h"
#include "migration/channel.h"
#include "migration/migration-stats.h"
#include "migration/ram-verify.h"
#include "tls.h"
#include "qapi/qapi-types.h"

#define MULTIFD_MAGIC               0x11223344u
#define MULTIFD_VERSION             1

#define MULTIFD_FLAG_SYNC           (1u << 0)
#define MULTIFD_FLAG_COMPRESS_MASK  (0x1fu << 1)
#define MULTIFD_FLAG_NOCOMP         (0u << 1)
#define MULTIFD_FLAG_ZLIB           (1u << 1)
#define MULTIFD_FLAG_ZSTD           (2u << 1)

/* A packet carries at most 512 KiB of pages: 128 pages of 4 KiB. */
#define MULTIFD_PACKET_SIZE         (512u * 1024)
#define MULTIFD_PACKET_PAGES        (MULTIFD_PACKET_SIZE / TARGET_PAGE_SIZE)

#define MULTIFD_INIT_SIZE           64
/* The header before the offsets, and the whole header with them. */
#define MULTIFD_PACKET_FIXED_SIZE   320
#define MULTIFD_PACKET_HDR_SIZE     (MULTIFD_PACKET_FIXED_SIZE + 8 * MULTIFD_PACKET_PAGES)
#define MULTIFD_RAMBLOCK_NAME_SIZE  256

/* A packet header, decoded (host byte order). */
typedef struct MultiFDPacket {
    uint32_t flags;
    uint32_t pages_alloc;
    uint32_t normal_pages;
    uint32_t zero_pages;
    uint32_t next_packet_size;      /* payload bytes after the header */
    uint64_t packet_num;
    char ramblock[MULTIFD_RAMBLOCK_NAME_SIZE + 1];  /* NUL-terminated */
    /* normal_pages offsets, then zero_pages offsets */
    uint64_t offset[MULTIFD_PACKET_PAGES];
} MultiFDPacket;

/* ---- multifd-packet.c ---- */

/* The MultiFDInit of channel @id from a source whose uuid is @uuid. */
void multifd_init_encode(uint8_t buf[MULTIFD_INIT_SIZE], const uint8_t uuid[16],
                         uint8_t id);

/*
 * Check a MultiFDInit against the destination's @uuid and @channels;
 * the channel's id in *@id.  QEMU's messages.
 */
bool multifd_init_decode(const uint8_t buf[MULTIFD_INIT_SIZE], const uint8_t uuid[16],
                         unsigned channels, uint8_t *id, GError **errp);

/* Write @p as MULTIFD_PACKET_HDR_SIZE bytes (pages_alloc is always 128). */
void multifd_packet_encode(const MultiFDPacket *p, uint8_t buf[MULTIFD_PACKET_HDR_SIZE]);

/*
 * Decode and check a header: magic, version, page counts, and the
 * compression flags against @compress_flag.  Offsets are checked by the
 * caller, which knows the block.
 */
bool multifd_packet_decode(const uint8_t buf[MULTIFD_PACKET_HDR_SIZE], uint32_t compress_flag,
                           MultiFDPacket *p, GError **errp);

/* The packet flag of a multifd-compression method. */
uint32_t multifd_compress_flag(MultiFDCompression method);

/* ---- multifd-compress.c: zlib and zstd, one stream per channel ---- */

typedef struct MultiFDCompressor MultiFDCompressor;

/*
 * A channel's stream for @method (zlib or zstd): compressing at @level on
 * the source, decompressing on the destination.
 */
MultiFDCompressor *multifd_compressor_new(MultiFDCompression method, bool compress,
                                          int level, GError **errp);
void multifd_compressor_free(MultiFDCompressor *c);

/* The most a packet's compressed pages may take with @method. */
size_t multifd_compress_bound(MultiFDCompression method);

/* Compress @n pages (@pages, TARGET_PAGE_SIZE each) into @out (@cap bytes); *@len. */
bool multifd_compress_pages(MultiFDCompressor *c, const struct iovec *pages, unsigned n,
                            uint8_t *out, size_t cap, size_t *len, GError **errp);

/* Decompress a packet's @len bytes at @in into its @n pages; every byte must be used. */
bool multifd_decompress_pages(MultiFDCompressor *c, const uint8_t *in, size_t len,
                              const struct iovec *pages, unsigned n, GError **errp);

/* ---- multifd-send.c: the source ---- */

typedef struct MultiFDSend MultiFDSend;

typedef struct MultiFDSendConfig {
    unsigned channels;              /* 1..255 */
    ZeroPageDetection zero_page_detection;
    MultiFDCompression compression;
    int level;                      /* of the compression method */
    uint8_t uuid[16];               /* the source's (zeros when unset) */
    RAMVerify *verify;              /* x-verify-ram: told of every page sent (or NULL) */
    MigrationTls *tls;              /* the migration's TLS, or NULL: plain */
    bool zero_copy;                 /* zero-copy-send: pages with MSG_ZEROCOPY */
    MigrationChannelStats *channel_stats;   /* @channels of them: bytes, packets */
} MultiFDSendConfig;

/*
 * Connect @cfg->channels channels to @addr (each through
 * transport_connect(), sharing @cancel, and made TLS as the main channel
 * is when @cfg->tls is set), send each its MultiFDInit, and
 * start one send thread per channel.  Migration thread.  @stats receives
 * multifd_bytes, the page counters and dirty_sync_missed_zero_copy.  With
 * @cfg->zero_copy a socket without SO_ZEROCOPY fails here, with QEMU's
 * message.
 */
MultiFDSend *multifd_send_new(const MigrationAddress *addr, ChannelCancel *cancel,
                              const MultiFDSendConfig *cfg, MigrationAtomicStats *stats,
                              GError **errp);

/*
 * Stop the threads (after what they hold is sent, or at once when a
 * channel failed), join them and close the channels.  NULL-safe.
 */
void multifd_send_free(MultiFDSend *mf);

/*
 * Queue page @offset of @rb (migration thread).  @known_zero: the caller
 * knows it holds zeros (sent as a zero page unchecked).  A full batch, or
 * a page of another block, sends the batch first, waiting for a free
 * channel.  False with @errp set once any channel failed.
 */
bool multifd_send_queue_page(MultiFDSend *mf, RAMBlock *rb, uint64_t offset,
                             bool known_zero, GError **errp);

/*
 * Send the pending batch, then a SYNC packet on every channel, and wait
 * until each has gone out.  The caller then writes MULTIFD_FLUSH on the
 * main channel.  Migration thread.
 */
bool multifd_send_sync(MultiFDSend *mf, GError **errp);

/*
 * Bytes charged to the channels: every packet sent, and the most each
 * queued one (the filling batch included) may take: its header and a full
 * page for every page not known to be zero.  It counts a page when it is
 * queued, before it leaves, so a rate limit on it cannot be overshot by
 * packets in flight; it may fall when a packet turns out smaller (zero
 * pages, compression).  Any thread; lives as long as @mf.
 */
const MigrationStat *multifd_send_committed(MultiFDSend *mf);

/* A copy of the first channel failure, or NULL.  Any thread. */
GError *multifd_send_error(MultiFDSend *mf);

/* query-migrate's x-multifd-channels: @n channels' counters.  Any thread. */
MultifdChannelInfoList *multifd_channel_info(const MigrationChannelStats *stats, unsigned n);

/*
 * May a migration to @addr use multifd?  Only over tcp and unix sockets,
 * which can open more connections; QEMU's message otherwise.
 */
bool multifd_address_check(const MigrationAddress *addr, GError **errp);

/* ---- multifd-recv.c: the destination ---- */

typedef struct MultiFDRecv MultiFDRecv;

typedef struct MultiFDRecvConfig {
    unsigned channels;
    MultiFDCompression compression;
    uint8_t uuid[16];               /* the destination's (zeros when unset) */
    RAMVerify *verify;              /* x-verify-ram: told of every page placed (or NULL) */
} MultiFDRecvConfig;

/* The receive side over @blocks (RAMBlock *, not owned); @cancel is shared. */
MultiFDRecv *multifd_recv_new(const MultiFDRecvConfig *cfg, GPtrArray *blocks,
                              ChannelCancel *cancel);

/*
 * The threads are gone (the caller joined them): free.  NULL-safe.
 */
void multifd_recv_free(MultiFDRecv *mf);

/* ---- multifd-populate.c: guest memory made resident ahead of the stream ---- */

typedef struct MultiFDPopulate MultiFDPopulate;

/* Start the populating thread ("mig/populate"). */
MultiFDPopulate *multifd_populate_new(void);

/* Normal pages of @rb were received up to offset @end: populate past it. */
void multifd_populate_hint(MultiFDPopulate *p, RAMBlock *rb, uint64_t end);

/* Stop and join the thread; NULL is fine. */
void multifd_populate_free(MultiFDPopulate *p);

/*
 * Run a multifd channel on the calling thread: read its MultiFDInit,
 * then packets into guest RAM until the load ends or the channel fails.
 * Takes ownership of @ch.  False with @errp set (naming the channel and
 * packet) on failure, which is also recorded for multifd_recv_error().
 */
bool multifd_recv_channel_run(MultiFDRecv *mf, Channel *ch, GError **errp);

/*
 * RAM_SAVE_FLAG_MULTIFD_FLUSH on the main channel (load thread): wait
 * until every channel has reached its SYNC packet, then let them go on.
 */
bool multifd_recv_sync(MultiFDRecv *mf, GError **errp);

/*
 * The load ended (@ok) or fails: let every channel thread end (parked ones
 * at once; the others when the shared cancel token, which the caller
 * triggers, stops their reads).  Any thread.
 */
void multifd_recv_shutdown(MultiFDRecv *mf);

/* Record @err (taken) as the receive side's first error and wake every waiter. */
void multifd_recv_fail(MultiFDRecv *mf, GError *err);

/* A copy of the first error a channel met, or NULL. */
GError *multifd_recv_error(MultiFDRecv *mf);

#endif
