/*
 * mapped-ram: RAM pages at fixed offsets of the migration file
 * (mapped-ram.h; layout in qemu-migration-facts-2.md §10.2).
 *
 * Source: the block list carries, per block, a header; the page region
 * starts at the next 1 MiB boundary after the block's bitmap and is left
 * a hole (the stream continues after it).  Dirty pages are gathered into
 * runs of consecutive pages, and each run becomes one job
 * (mapped-ram-pool.c): its zero pages are skipped (their bit cleared), the
 * others pwritten straight from guest memory.  Jobs run on this thread, or
 * with multifd on multifd-channels workers, which the migration thread
 * waits for at the end of each dirty round.  The bitmaps go last, at
 * completion, so a file cut short never claims pages it lacks.
 *
 * Destination: each header is checked, the bitmap read, and each run of
 * present pages preaded straight into guest memory, by the workers with
 * multifd; or, with x-mapped-ram-restore, the page region is mapped
 * (mapped-ram-map.c).
 */
#include "mapped-ram.h"
#include "mapped-ram-internal.h"
#include "ram-send.h"
#include "tls.h"
#include "qemu/bitmap.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"
#include "qemu/fdset.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAPPED_RAM_HDR_VERSION          1
#define MAPPED_RAM_HDR_SIZE             28      /* be32 + 3 * be64, packed */
#define MAPPED_RAM_FILE_OFFSET_ALIGNMENT 0x100000

/* One block's place in the file. */
typedef struct MappedRamBlock {
    RAMBlock *rb;
    uint64_t bitmap_offset;         /* absolute file offsets */
    uint64_t pages_offset;
    unsigned long *bitmap;          /* pages whose slot holds data */
} MappedRamBlock;

struct MappedRam {
    int fd;                         /* the stream's (not owned) */
    int io_fd;                      /* page I/O: @fd, or an O_DIRECT reopening of it */
    MappedRamPool *pool;            /* multifd: the workers; NULL: this thread */
    bool map_restore;               /* destination: map page regions (x-mapped-ram-restore) */
    MappedRamDetach *detach;        /* what mapping them started, for the RAM state */
    GArray *blocks;                 /* MappedRamBlock, in block-list order */
    guint last;                     /* index of the last block looked up */

    /* Source: consecutive pages of one block waiting for one job. */
    MappedRamBlock *run_block;
    uint64_t run_first;
    uint64_t run_pages;
    bool run_check_zero;
};

/* The file behind @fd, for messages. */
static char *mapped_ram_fd_name(int fd)
{
    g_autofree char *link = g_strdup_printf("/proc/self/fd/%d", fd);
    char *name = g_file_read_link(link, NULL);

    return name ? name : g_strdup_printf("fd %d", fd);
}

/*
 * Page I/O is aligned to the target page (slots, lengths and guest memory
 * alike), which O_DIRECT takes where the filesystem asks for no more.
 * Kernels (and headers) before 6.1 do not say; a misaligned write then
 * fails naming its offset.
 */
static bool mapped_ram_direct_aligned(int dfd, const char *name, GError **errp)
{
#ifdef STATX_DIOALIGN
    struct statx stx;

    if (statx(dfd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
        !(stx.stx_mask & STATX_DIOALIGN) || stx.stx_dio_offset_align == 0) {
        return true;
    }
    if (stx.stx_dio_offset_align > TARGET_PAGE_SIZE ||
        stx.stx_dio_mem_align > TARGET_PAGE_SIZE) {
        error_setg(errp, "direct-io: '%s' needs I/O aligned to %u bytes (memory %u), "
                   "more than the %u-byte pages mapped-ram writes",
                   name, stx.stx_dio_offset_align, stx.stx_dio_mem_align, TARGET_PAGE_SIZE);
        return false;
    }
#endif
    return true;
}

/*
 * A second open file description of @fd's file with O_DIRECT: the stream
 * keeps its buffered, unaligned I/O.  QEMU's text where the filesystem
 * refuses O_DIRECT.
 */
static int mapped_ram_open_direct(int fd, bool outgoing, GError **errp)
{
    g_autofree char *link = g_strdup_printf("/proc/self/fd/%d", fd);
    g_autofree char *name = mapped_ram_fd_name(fd);
    int flags = (outgoing ? O_WRONLY : O_RDONLY) | O_CLOEXEC;
    int64_t set = fdset_of_dup(fd);
    int dfd;

    /* From an fd set, the O_DIRECT fd is the client's to give: it is not reopened. */
    if (set >= 0) {
        g_autofree char *path = g_strdup_printf("/dev/fdset/%" PRId64, set);

        dfd = fdset_open(path, (outgoing ? O_WRONLY : O_RDONLY) | O_DIRECT, errp);
        if (dfd >= 0 && !mapped_ram_direct_aligned(dfd, name, errp)) {
            fdset_close(dfd);
            return -1;
        }
        return dfd;
    }
    dfd = open(link, flags | O_DIRECT);

    if (dfd >= 0) {
        if (!mapped_ram_direct_aligned(dfd, name, errp)) {
            close(dfd);
            return -1;
        }
        return dfd;
    }
    if (errno == EINVAL) {
        int probe = open(link, flags);

        if (probe >= 0) {
            close(probe);
            error_setg(errp, "Could not open '%s': filesystem does not support O_DIRECT",
                       name);
            return -1;
        }
    }
    error_setg_errno(errp, errno, "Could not open '%s'", name);
    return -1;
}

MappedRam *mapped_ram_new(int fd, const MigrationOptions *opts, bool outgoing, GError **errp)
{
    const MigrationParameters *p = migrate_params(opts);
    MappedRam *m = g_new0(MappedRam, 1);

    m->fd = fd;
    m->io_fd = fd;
    m->blocks = g_array_new(FALSE, TRUE, sizeof(MappedRamBlock));
    if (p->has_direct_io && p->direct_io) {
        m->io_fd = mapped_ram_open_direct(fd, outgoing, errp);
        if (m->io_fd < 0) {
            m->io_fd = fd;
            mapped_ram_free(m);
            return NULL;
        }
    }
    if (migrate_cap(opts, MIGRATION_CAPABILITY_MULTIFD)) {
        m->pool = mapped_ram_pool_new(m->io_fd, p->multifd_channels);
    }
    m->map_restore = !outgoing && migrate_cap(opts, MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE);
    return m;
}

void mapped_ram_free(MappedRam *m)
{
    if (!m) {
        return;
    }
    mapped_ram_pool_free(m->pool);
    mapped_ram_detach_free(m->detach);
    if (m->io_fd != m->fd) {
        fdset_close(m->io_fd);
    }
    for (guint i = 0; i < m->blocks->len; i++) {
        g_free(g_array_index(m->blocks, MappedRamBlock, i).bitmap);
    }
    g_array_free(m->blocks, TRUE);
    g_free(m);
}

bool mapped_ram_check_migration(const MigrationOptions *opts, const MigrationAddress *addr,
                                GError **errp)
{
    if (!migrate_cap(opts, MIGRATION_CAPABILITY_MAPPED_RAM)) {
        return true;
    }
    if (addr->transport != MIGRATION_ADDRESS_TYPE_FILE) {
        error_setg(errp, "Migration requires seekable transport (e.g. file)");
        return false;
    }
    if (migration_tls_enabled(opts)) {
        error_setg(errp, "Cannot use TLS with mapped-ram");
        return false;
    }
    if (migrate_params(opts)->multifd_compression != MULTIFD_COMPRESSION_NONE) {
        error_setg(errp, "Cannot use compression with mapped-ram");
        return false;
    }
    return true;
}

static MappedRamBlock *mapped_ram_find(MappedRam *m, const RAMBlock *rb)
{
    if (m->last < m->blocks->len &&
        g_array_index(m->blocks, MappedRamBlock, m->last).rb == rb) {
        return &g_array_index(m->blocks, MappedRamBlock, m->last);
    }
    for (guint i = 0; i < m->blocks->len; i++) {
        if (g_array_index(m->blocks, MappedRamBlock, i).rb == rb) {
            m->last = i;
            return &g_array_index(m->blocks, MappedRamBlock, i);
        }
    }
    g_assert_not_reached();     /* every block was announced in save_setup */
}

/* Where the next byte read (@reading) or written on @f goes in the file. */
static bool mapped_ram_file_pos(MappedRam *m, QEMUFile *f, bool reading, uint64_t *pos,
                                GError **errp)
{
    off_t cur = lseek(m->fd, 0, SEEK_CUR);

    if (cur < 0) {
        error_setg_errno(errp, errno, "Migration requires seekable transport (e.g. file)");
        return false;
    }
    *pos = (uint64_t)cur - (reading ? qemu_file_unread(f) : 0);
    return true;
}

static size_t mapped_ram_bitmap_size(const RAMBlock *rb)
{
    return BITS_TO_LONGS(ramblock_pages(rb)) * sizeof(unsigned long);
}

/* The layout of a block whose header starts at @hdr_pos. */
static void mapped_ram_place(MappedRamBlock *b, uint64_t hdr_pos)
{
    b->bitmap_offset = hdr_pos + MAPPED_RAM_HDR_SIZE;
    uint64_t bitmap_end = b->bitmap_offset + mapped_ram_bitmap_size(b->rb);

    b->pages_offset = (bitmap_end + MAPPED_RAM_FILE_OFFSET_ALIGNMENT - 1) /
                      MAPPED_RAM_FILE_OFFSET_ALIGNMENT * MAPPED_RAM_FILE_OFFSET_ALIGNMENT;
}

/* ---- source ---- */

bool mapped_ram_save_block(MappedRam *m, QEMUFile *f, RAMBlock *rb, GError **errp)
{
    MappedRamBlock b = { .rb = rb, .bitmap = bitmap_new(ramblock_pages(rb)) };
    uint64_t hdr_pos;

    qemu_fflush(f);
    if (!qemu_file_check_error(f, errp) || !mapped_ram_file_pos(m, f, false, &hdr_pos, errp)) {
        g_free(b.bitmap);
        return false;
    }
    mapped_ram_place(&b, hdr_pos);
    g_array_append_val(m->blocks, b);

    qemu_put_be32(f, MAPPED_RAM_HDR_VERSION);
    qemu_put_be64(f, TARGET_PAGE_SIZE);
    qemu_put_be64(f, b.bitmap_offset);
    qemu_put_be64(f, b.pages_offset);
    qemu_fflush(f);
    /* The bitmap and the page region stay holes until written. */
    if (lseek(m->fd, b.pages_offset + rb->used_length, SEEK_SET) < 0) {
        error_setg_errno(errp, errno, "mapped-ram: seeking past RAM block \"%s\"", rb->idstr);
        return false;
    }
    return qemu_file_check_error(f, errp);
}

/* Failures of page I/O stick on @f, as every other write failure of the migration. */
static void mapped_ram_fail(QEMUFile *f, GError *err)
{
    if (qemu_file_get_error(f)) {
        g_error_free(err);
        return;
    }
    qemu_file_set_error(f, -EIO, err);
}

/* Pages written and skipped since the last call go to @run, and to @f's byte count (rate limit). */
static void mapped_ram_save_count(MappedRam *m, QEMUFile *f, const MappedRamCounts *own,
                                  RAMSendRun *run)
{
    MappedRamCounts c = *own;

    if (m->pool) {
        mapped_ram_pool_take_counts(m->pool, &c);
    }
    run->normal_pages += c.normal_pages;
    run->zero_pages += c.zero_pages;
    run->bytes += c.normal_pages * TARGET_PAGE_SIZE;
    qemu_file_account(f, c.normal_pages * TARGET_PAGE_SIZE);
}

void mapped_ram_save_flush(MappedRam *m, QEMUFile *f, RAMSendRun *run)
{
    MappedRamBlock *b = m->run_block;
    MappedRamCounts counts = { 0 };
    MappedRamJob job;
    GError *err = NULL;

    if (!b) {
        mapped_ram_save_count(m, f, &counts, run);
        return;
    }
    m->run_block = NULL;
    job = (MappedRamJob) {
        .rb = b->rb, .first = m->run_first, .npages = m->run_pages,
        .pages_offset = b->pages_offset, .bitmap = b->bitmap,
        .check_zero = m->run_check_zero,
    };
    if (qemu_file_get_error(f)) {
        return;
    }
    if (m->pool) {
        mapped_ram_pool_submit(m->pool, &job);
        if (mapped_ram_pool_failed(m->pool) && !mapped_ram_pool_wait(m->pool, &err)) {
            mapped_ram_fail(f, err);
        }
    } else if (!mapped_ram_job_run(m->io_fd, &job, &counts, &err)) {
        mapped_ram_fail(f, err);
    }
    mapped_ram_save_count(m, f, &counts, run);
}

void mapped_ram_save_round_end(MappedRam *m, QEMUFile *f, RAMSendRun *run)
{
    GError *err = NULL;

    mapped_ram_save_flush(m, f, run);
    if (m->pool && !mapped_ram_pool_wait(m->pool, &err)) {
        mapped_ram_fail(f, err);
    }
}

void mapped_ram_save_page(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          bool check_zero, RAMSendRun *run)
{
    MappedRamBlock *b = mapped_ram_find(m, rb);

    if (m->run_block != b || m->run_first + m->run_pages != page ||
        m->run_pages == MAPPED_RAM_RUN_MAX_PAGES || m->run_check_zero != check_zero) {
        mapped_ram_save_flush(m, f, run);
        m->run_block = b;
        m->run_first = page;
        m->run_pages = 0;
        m->run_check_zero = check_zero;
    }
    m->run_pages++;
}

void mapped_ram_save_zero_page(MappedRam *m, RAMBlock *rb, uint64_t page)
{
    MappedRamBlock *b = mapped_ram_find(m, rb);

    /* Atomic: a worker may be setting a neighbour's bit in the same word. */
    __atomic_fetch_and(&b->bitmap[BIT_WORD(page)], ~BIT_MASK(page), __ATOMIC_RELAXED);
}

void mapped_ram_save_copy(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          const uint8_t *data, bool check_zero, RAMSendRun *run)
{
    MappedRamBlock *b = mapped_ram_find(m, rb);
    MappedRamCounts counts = { 0 };
    uint64_t off = b->pages_offset + page * TARGET_PAGE_SIZE;
    GError *err = NULL;

    if (qemu_file_get_error(f)) {
        return;
    }
    if (check_zero && buffer_is_zero(data, TARGET_PAGE_SIZE)) {
        mapped_ram_save_zero_page(m, rb, page);
        counts.zero_pages++;
    } else if (mapped_ram_pwrite(m->io_fd, data, TARGET_PAGE_SIZE, off)) {
        __atomic_fetch_or(&b->bitmap[BIT_WORD(page)], BIT_MASK(page), __ATOMIC_RELAXED);
        counts.normal_pages++;
    } else {
        error_setg_errno(&err, errno, "mapped-ram: writing page %" PRIu64 " of RAM block "
                         "\"%s\" at file offset %" PRIu64, page, rb->idstr, off);
        mapped_ram_fail(f, err);
        return;
    }
    mapped_ram_save_count(m, f, &counts, run);
}

bool mapped_ram_save_bitmaps(MappedRam *m, GError **errp)
{
    if (m->pool && !mapped_ram_pool_wait(m->pool, errp)) {
        return false;
    }
    for (guint i = 0; i < m->blocks->len; i++) {
        MappedRamBlock *b = &g_array_index(m->blocks, MappedRamBlock, i);

        if (!mapped_ram_pwrite(m->fd, (const uint8_t *)b->bitmap, mapped_ram_bitmap_size(b->rb),
                               b->bitmap_offset)) {
            error_setg_errno(errp, errno, "mapped-ram: writing the bitmap of RAM block \"%s\" "
                             "at file offset %" PRIu64, b->rb->idstr, b->bitmap_offset);
            return false;
        }
    }
    return true;
}

/* ---- destination ---- */

/* Fail naming @rb and the record at stream offset @pos. */
static bool G_GNUC_PRINTF(4, 5)
mapped_ram_load_fail(const RAMBlock *rb, uint64_t pos, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "%s (RAM block \"%s\", stream offset %" PRIu64 ")", msg, rb->idstr, pos);
    return false;
}

/* Read the 28-byte header into @b; check what QEMU checks, and that it fits @rb. */
static bool mapped_ram_load_header(QEMUFile *f, MappedRamBlock *b, uint64_t pos,
                                   GError **errp)
{
    uint8_t hdr[MAPPED_RAM_HDR_SIZE];
    size_t got = qemu_get_buffer(f, hdr, sizeof(hdr));
    uint32_t version;
    uint64_t page_size, end;

    if (got != sizeof(hdr)) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "Could not read whole mapped-ram migration header "
                                    "(expected %zd, got %zd bytes)",
                                    (ssize_t)sizeof(hdr), (ssize_t)got);
    }
    memcpy(&version, hdr, 4);
    memcpy(&page_size, hdr + 4, 8);
    memcpy(&b->bitmap_offset, hdr + 12, 8);
    memcpy(&b->pages_offset, hdr + 20, 8);
    version = GUINT32_FROM_BE(version);
    page_size = GUINT64_FROM_BE(page_size);
    b->bitmap_offset = GUINT64_FROM_BE(b->bitmap_offset);
    b->pages_offset = GUINT64_FROM_BE(b->pages_offset);

    if (version > MAPPED_RAM_HDR_VERSION) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "Migration mapped-ram capability version not supported "
                                    "(expected <= %d, got %d)",
                                    MAPPED_RAM_HDR_VERSION, (int)version);
    }
    if (page_size != TARGET_PAGE_SIZE) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "mapped-ram page size %" PRIu64 " is not the target's %u",
                                    page_size, TARGET_PAGE_SIZE);
    }
    if (b->pages_offset % TARGET_PAGE_SIZE) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "Error reading ramblock %s pages, region has bad alignment",
                                    b->rb->idstr);
    }
    if (b->bitmap_offset > INT64_MAX || b->pages_offset > INT64_MAX ||
        g_uint64_checked_add(&end, b->pages_offset, b->rb->used_length) == FALSE ||
        end > INT64_MAX) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "mapped-ram offsets out of range (bitmap 0x%" PRIx64
                                    ", pages 0x%" PRIx64 ")",
                                    b->bitmap_offset, b->pages_offset);
    }
    return true;
}

/* Read @b's bitmap; bits past the block's last page are an error. */
static bool mapped_ram_load_bitmap(MappedRam *m, MappedRamBlock *b, uint64_t pos,
                                   GError **errp)
{
    uint64_t npages = ramblock_pages(b->rb);
    size_t size = mapped_ram_bitmap_size(b->rb);

    b->bitmap = g_malloc(size);
    if (!mapped_ram_pread(m->fd, (uint8_t *)b->bitmap, size, b->bitmap_offset)) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "Error reading dirty bitmap: %zu bytes at file offset "
                                    "%" PRIu64 ": %s", size, b->bitmap_offset,
                                    errno ? g_strerror(errno) : "the file ends before it");
    }
    if (npages % BITS_PER_LONG &&
        b->bitmap[size / sizeof(unsigned long) - 1] >> (npages % BITS_PER_LONG)) {
        return mapped_ram_load_fail(b->rb, pos, errp,
                                    "mapped-ram bitmap claims pages beyond the block's "
                                    "%" PRIu64, npages);
    }
    return true;
}

/*
 * Each run of present pages, at most 1 MiB at a time, straight into guest
 * memory: on this thread, or spread over the workers and waited for.
 */
static bool mapped_ram_load_pages(MappedRam *m, MappedRamBlock *b, uint64_t pos,
                                  GError **errp)
{
    uint64_t npages = ramblock_pages(b->rb);
    uint64_t first = find_first_bit(b->bitmap, npages);

    while (first < npages) {
        uint64_t end = find_next_zero_bit(b->bitmap, npages, first);
        MappedRamJob job = {
            .rb = b->rb, .first = first, .npages = MIN(end - first, MAPPED_RAM_RUN_MAX_PAGES),
            .pages_offset = b->pages_offset, .pos = pos,
        };

        if (m->pool) {
            mapped_ram_pool_submit(m->pool, &job);
        } else if (!mapped_ram_job_run(m->io_fd, &job, NULL, errp)) {
            return false;
        }
        first = find_next_bit(b->bitmap, npages, first + job.npages);
    }
    return !m->pool || mapped_ram_pool_wait(m->pool, errp);
}

bool mapped_ram_load_block(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t pos,
                           GError **errp)
{
    MappedRamBlock b = { .rb = rb };
    uint64_t here, next;
    int mapped = 0;
    bool ok;

    ok = mapped_ram_load_header(f, &b, pos, errp) &&
         mapped_ram_file_pos(m, f, true, &here, errp) &&
         mapped_ram_load_bitmap(m, &b, pos, errp);
    if (ok && m->map_restore) {
        mapped = mapped_ram_map_block(m->fd, rb, b.pages_offset, b.bitmap, &m->detach, errp);
        ok = mapped >= 0;
    }
    ok = ok && (mapped > 0 || mapped_ram_load_pages(m, &b, pos, errp));
    g_clear_pointer(&b.bitmap, g_free);
    if (!ok) {
        return false;
    }
    /* The stream goes on after the page region: what is buffered is stale. */
    next = b.pages_offset + rb->used_length;
    if (next < here) {
        return mapped_ram_load_fail(rb, pos, errp,
                                    "mapped-ram page region 0x%" PRIx64 " ends before its "
                                    "header", b.pages_offset);
    }
    if (lseek(m->fd, next, SEEK_SET) < 0) {
        return mapped_ram_load_fail(rb, pos, errp, "seeking past the page region: %s",
                                    g_strerror(errno));
    }
    qemu_file_jump(f, qemu_file_tell(f) + (next - here));
    return true;
}

MappedRamDetach *mapped_ram_take_detach(MappedRam *m)
{
    return m ? g_steal_pointer(&m->detach) : NULL;
}
