/*
 * x-mapped-ram-restore (mapped-ram-internal.h): instead of reading a
 * block's pages, map its page region of the file over the block's guest
 * RAM, private and copy-on-write, so the guest runs as soon as the device
 * state is loaded and each page comes from the page cache (or the disk) on
 * its first touch.
 *
 * Only the 2 MiB chunks holding a page with data are mapped from the file;
 * the rest of the block is fresh anonymous memory.
 *
 * Pages whose bit is clear must read as zero: a hole does, but a slot
 * written in one dirty round and found zero in a later one still holds its
 * old bytes, so data extents (SEEK_DATA) under clear bits are zeroed in the
 * private copy before the guest sees it.
 *
 * The guest's memory must not depend on the file for long: a later save to
 * the same path truncates it (pages past the end would raise SIGBUS), and
 * anyone may change it.  A thread per block therefore writes every page
 * of the mapped chunks once (MADV_POPULATE_WRITE), which turns each into a private anonymous
 * copy; a migration from this guest waits for it before it opens its file
 * (mapped_ram_detach_wait()).  Until then the file must stay as it is,
 * which the user guide says.  The thread runs at normal priority, to keep
 * that window short: for 1 GiB on a host at load 30 it took 66 s at nice
 * 10, 9 to 11 s at nice 0.
 *
 * Only where the result is the same as reading: a block that is private
 * (not shared with another process), in host pages of the target page
 * size, and a regular file on a local filesystem (a network filesystem's
 * file may change under the mapping) that covers the whole page region.
 * Otherwise the block is read, with a warning that says why.
 */
#include "mapped-ram-internal.h"
#include "qemu/bitmap.h"
#include "qemu/error.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23      /* Linux 5.14 */
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4          /* Linux 5.7; any private mapping since 5.13 */
#endif

/* What the detach thread makes private at once: one transparent huge page's worth. */
#define MAPPED_RAM_DETACH_CHUNK (2u * 1024 * 1024)

/* Filesystems whose files only this host changes (statfs f_type). */
static const unsigned long mapped_ram_local_fs[] = {
    0xEF53,                 /* ext2, ext3, ext4 */
    0x58465342,             /* xfs */
    0x9123683E,             /* btrfs */
    0x01021994,             /* tmpfs */
    0xF2F52010,             /* f2fs */
};

struct MappedRamDetach {
    GPtrArray *threads;     /* GThread *, one per mapped block; joined by wait */
};

typedef struct MappedRamDetachJob {
    uint8_t *host;
    uint64_t len;
    void *old;              /* the block's memory before, to unmap; or NULL */
    unsigned long *chunks;  /* chunks mapped from the file (the others are anonymous) */
} MappedRamDetachJob;

/* Chunks of @len bytes: MAPPED_RAM_DETACH_CHUNK each, the last maybe shorter. */
static uint64_t mapped_ram_nchunks(uint64_t len)
{
    return (len + MAPPED_RAM_DETACH_CHUNK - 1) / MAPPED_RAM_DETACH_CHUNK;
}

/*
 * The chunks of @rb holding a page whose bit is set: only those are mapped
 * from the file.  A chunk without one reads as zero, so it stays fresh
 * anonymous memory: a mostly untouched guest neither faults its holes in
 * through the page cache nor gets every page copied by the detach thread.
 */
static unsigned long *mapped_ram_data_chunks(const RAMBlock *rb, const unsigned long *bitmap)
{
    uint64_t npages = rb->used_length / TARGET_PAGE_SIZE;
    uint64_t per_chunk = MAPPED_RAM_DETACH_CHUNK / TARGET_PAGE_SIZE;
    unsigned long *chunks = bitmap_new(mapped_ram_nchunks(rb->used_length));

    for (uint64_t p = find_next_bit(bitmap, npages, 0); p < npages;
         p = find_next_bit(bitmap, npages, (p / per_chunk + 1) * per_chunk)) {
        set_bit(p / per_chunk, chunks);
    }
    return chunks;
}

/*
 * @rb's memory-to-be: anonymous, with each run of data chunks mapped over
 * it from the file (private).  NULL with errno set.
 */
static uint8_t *mapped_ram_map_chunks(int fd, const RAMBlock *rb, uint64_t pages_offset,
                                      const unsigned long *chunks)
{
    uint64_t n = mapped_ram_nchunks(rb->used_length);
    uint8_t *map = mmap(NULL, rb->used_length, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (map == MAP_FAILED) {
        return NULL;
    }
    madvise(map, rb->used_length, MADV_HUGEPAGE);   /* as the block's own RAM */
    for (uint64_t c = find_next_bit(chunks, n, 0); c < n; ) {
        uint64_t end = find_next_zero_bit(chunks, n, c);
        uint64_t off = c * MAPPED_RAM_DETACH_CHUNK;
        uint64_t len = MIN(end * MAPPED_RAM_DETACH_CHUNK, rb->used_length) - off;

        if (mmap(map + off, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
                 pages_offset + off) == MAP_FAILED) {
            int err = errno;

            munmap(map, rb->used_length);
            errno = err;
            return NULL;
        }
        c = find_next_bit(chunks, n, end);
    }
    return map;
}

/* Why @rb's region at @pages_offset of @fd cannot be mapped, or NULL if it can. */
static char *mapped_ram_map_refusal(int fd, const RAMBlock *rb, uint64_t pages_offset)
{
    struct statfs fs;
    struct stat st;
    bool local = false;

    if (rb->shared) {
        return g_strdup("the block is shared memory");
    }
    if (rb->page_size != TARGET_PAGE_SIZE || sysconf(_SC_PAGESIZE) != TARGET_PAGE_SIZE) {
        return g_strdup_printf("the block's pages are %zu bytes, not %u", rb->page_size,
                               TARGET_PAGE_SIZE);
    }
    if (fstat(fd, &st) < 0 || fstatfs(fd, &fs) < 0) {
        return g_strdup_printf("cannot look at the file: %s", g_strerror(errno));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(mapped_ram_local_fs); i++) {
        local |= (unsigned long)fs.f_type == mapped_ram_local_fs[i];
    }
    if (!S_ISREG(st.st_mode) || !local) {
        return g_strdup_printf("the file is not a regular file on a local filesystem "
                               "(f_type 0x%lx)", (unsigned long)fs.f_type);
    }
    /* Touching a page past the end of the file raises SIGBUS. */
    if ((uint64_t)st.st_size < pages_offset + rb->used_length) {
        return g_strdup_printf("the file ends at %" PRIu64 ", inside the page region",
                               (uint64_t)st.st_size);
    }
    return NULL;
}

/*
 * In the private mapping @map of @rb's region: zero the pages with a clear
 * bit that the file holds data for.  Holes read as zero already.
 */
static bool mapped_ram_map_zero_stale(int fd, uint8_t *map, const RAMBlock *rb,
                                      uint64_t pages_offset, const unsigned long *bitmap,
                                      const unsigned long *chunks, GError **errp)
{
    uint64_t end = pages_offset + rb->used_length;
    off_t data = lseek(fd, pages_offset, SEEK_DATA);

    while (data >= 0 && (uint64_t)data < end) {
        off_t hole = lseek(fd, data, SEEK_HOLE);
        uint64_t first, last;

        if (hole < 0) {
            break;
        }
        first = ((uint64_t)data - pages_offset) / TARGET_PAGE_SIZE;
        last = MIN((uint64_t)hole, end) - pages_offset;
        last = (last + TARGET_PAGE_SIZE - 1) / TARGET_PAGE_SIZE;
        for (uint64_t p = find_next_zero_bit(bitmap, last, first); p < last;
             p = find_next_zero_bit(bitmap, last, p + 1)) {
            /* A chunk not mapped from the file is zero already. */
            if (test_bit(p * TARGET_PAGE_SIZE / MAPPED_RAM_DETACH_CHUNK, chunks)) {
                memset(map + p * TARGET_PAGE_SIZE, 0, TARGET_PAGE_SIZE);
            }
        }
        data = lseek(fd, hole, SEEK_DATA);
    }
    if (data < 0 && errno != ENXIO) {
        error_setg_errno(errp, errno, "mapped-ram: looking for data in the page region of "
                         "RAM block \"%s\"", rb->idstr);
        return false;
    }
    return true;
}

/* Free the block's previous memory, then make every page of it a private copy. */
static gpointer mapped_ram_detach_thread(gpointer opaque)
{
    g_autofree MappedRamDetachJob *job = opaque;

    if (job->old) {
        munmap(job->old, job->len);
    }
    for (uint64_t off = 0; off < job->len; off += MAPPED_RAM_DETACH_CHUNK) {
        uint64_t n = MIN(MAPPED_RAM_DETACH_CHUNK, job->len - off);

        if (!test_bit(off / MAPPED_RAM_DETACH_CHUNK, job->chunks)) {
            continue;           /* anonymous already */
        }
        if (madvise(job->host + off, n, MADV_POPULATE_WRITE) == 0) {
            continue;
        }
        if (errno != EINVAL) {
            break;              /* the memory is gone (shut-down): nothing to keep */
        }
        /* Before Linux 5.14: a write that keeps the guest's value (atomic, as it runs). */
        for (uint64_t p = 0; p < n; p += TARGET_PAGE_SIZE) {
            __atomic_fetch_or(job->host + off + p, 0, __ATOMIC_RELAXED);
        }
    }
    g_free(job->chunks);
    return NULL;
}

int mapped_ram_map_block(int fd, RAMBlock *rb, uint64_t pages_offset,
                         const unsigned long *bitmap, MappedRamDetach **detach,
                         GError **errp)
{
    g_autofree char *why = mapped_ram_map_refusal(fd, rb, pages_offset);
    g_autofree unsigned long *chunks = NULL;
    MappedRamDetachJob *job;
    uint8_t *map;
    void *old;

    if (why) {
        warn_report("x-mapped-ram-restore: RAM block \"%s\" is read, not mapped: %s",
                    rb->idstr, why);
        return 0;
    }
    chunks = mapped_ram_data_chunks(rb, bitmap);
    map = mapped_ram_map_chunks(fd, rb, pages_offset, chunks);
    if (!map) {
        warn_report("x-mapped-ram-restore: RAM block \"%s\" is read, not mapped: mmap: %s",
                    rb->idstr, g_strerror(errno));
        return 0;
    }
    if (!mapped_ram_map_zero_stale(fd, map, rb, pages_offset, bitmap, chunks, errp)) {
        munmap(map, rb->used_length);
        return -1;
    }
    /*
     * Freeing what the block held (a preallocated destination's every
     * page) takes a while: its pages move elsewhere, to be unmapped by the
     * detach thread, and the block's range stays mapped, empty.
     */
    old = mremap(rb->host, rb->used_length, rb->used_length,
                 MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    /* One step: the block is never without memory behind it. */
    if (mremap(map, rb->used_length, rb->used_length, MREMAP_MAYMOVE | MREMAP_FIXED,
               rb->host) == MAP_FAILED) {
        error_setg_errno(errp, errno, "mapped-ram: mapping the page region over RAM block "
                         "\"%s\"", rb->idstr);
        munmap(map, rb->used_length);
        if (old != MAP_FAILED) {
            /* Put it back (best effort: the load fails anyway). */
            mremap(old, rb->used_length, rb->used_length, MREMAP_MAYMOVE | MREMAP_FIXED,
                   rb->host);
        }
        return -1;
    }
    if (!*detach) {
        *detach = g_new0(MappedRamDetach, 1);
        (*detach)->threads = g_ptr_array_new();
    }
    job = g_new0(MappedRamDetachJob, 1);
    job->host = rb->host;
    job->len = rb->used_length;
    job->old = old != MAP_FAILED ? old : NULL;
    job->chunks = g_steal_pointer(&chunks);
    g_ptr_array_add((*detach)->threads,
                    g_thread_new("mig/detach", mapped_ram_detach_thread, job));
    return 1;
}

void mapped_ram_detach_wait(MappedRamDetach *d)
{
    if (!d) {
        return;
    }
    for (guint i = 0; i < d->threads->len; i++) {
        g_thread_join(g_ptr_array_index(d->threads, i));
    }
    g_ptr_array_set_size(d->threads, 0);
}

void mapped_ram_detach_free(MappedRamDetach *d)
{
    if (!d) {
        return;
    }
    mapped_ram_detach_wait(d);
    g_ptr_array_free(d->threads, TRUE);
    g_free(d);
}
