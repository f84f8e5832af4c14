/*
 * The RAM residency probe (ram-residency.h): asks the kernel which pages of
 * a private anonymous block hold data, so that both ends of a migration can
 * skip pages the guest never wrote without reading them.  Reading such a
 * page is not free: each 4 KiB read faults in the shared zero page (about
 * 4 GB/s here, against 0.1 ms per GiB for a PAGEMAP_SCAN of fresh memory).
 */
#include "ram-residency.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * PAGEMAP_SCAN (Linux 6.7) as in <linux/fs.h>, which older installed
 * headers lack; the kernel ABI is fixed.
 */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_PRESENT     (1 << 3)
#define PAGE_IS_SWAPPED     (1 << 4)
#define PAGE_IS_PFNZERO     (1 << 5)

struct page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

struct pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#define RESIDENCY_VEC_LEN   64

void ram_residency_init(RAMResidency *r)
{
    memset(r, 0, sizeof(*r));
    r->pagemap_fd = -1;
}

void ram_residency_cleanup(RAMResidency *r)
{
    if (r->pagemap_fd >= 0) {
        close(r->pagemap_fd);
    }
    ram_residency_init(r);
}

void ram_residency_invalidate(RAMResidency *r)
{
    r->block = NULL;
}

bool ram_residency_applies(RAMResidency *r, const RAMBlock *rb)
{
    if (r->unusable || rb->fd >= 0 || rb->shared) {
        return false;
    }
    if (r->pagemap_fd < 0) {
        r->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (r->pagemap_fd < 0) {
            r->unusable = true;
            return false;
        }
    }
    return true;
}

/*
 * Mark in r->has_data the pages of [start, end) (host addresses) that hold
 * data.  False if the kernel refused the scan.
 */
static bool residency_scan(RAMResidency *r, uintptr_t start, uintptr_t end)
{
    struct page_region vec[RESIDENCY_VEC_LEN];
    uintptr_t window_base = start;

    while (start < end) {
        struct pm_scan_arg arg = {
            .size = sizeof(arg),
            .start = start,
            .end = end,
            .vec = (uintptr_t)vec,
            .vec_len = RESIDENCY_VEC_LEN,
            .category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            .return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO,
        };
        long n = ioctl(r->pagemap_fd, PAGEMAP_SCAN, &arg);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        for (long i = 0; i < n; i++) {
            /* A present zero-pfn page reads as zeros; a swapped one holds data. */
            if ((vec[i].categories & (PAGE_IS_PFNZERO | PAGE_IS_SWAPPED)) == PAGE_IS_PFNZERO) {
                continue;
            }
            bitmap_set(r->has_data, (vec[i].start - window_base) >> TARGET_PAGE_BITS,
                       (vec[i].end - vec[i].start) >> TARGET_PAGE_BITS);
        }
        /* A full vector stops the walk early; walk_end says where. */
        if (arg.walk_end <= start) {
            return false;
        }
        start = arg.walk_end;
    }
    return true;
}

/* Probe the window holding @page; on failure every page counts as data from now on. */
static void residency_load_window(RAMResidency *r, const RAMBlock *rb, uint64_t page)
{
    uint64_t first = page - page % RAM_RESIDENCY_WINDOW_PAGES;
    uint64_t count = MIN((uint64_t)RAM_RESIDENCY_WINDOW_PAGES, ramblock_pages(rb) - first);
    uintptr_t start = (uintptr_t)rb->host + (first << TARGET_PAGE_BITS);

    memset(r->has_data, 0, sizeof(r->has_data));
    if (!residency_scan(r, start, start + (count << TARGET_PAGE_BITS))) {
        r->unusable = true;
        r->block = NULL;
        return;
    }
    r->block = rb;
    r->first = first;
    r->count = count;
}

static bool residency_window_holds(const RAMResidency *r, const RAMBlock *rb, uint64_t page)
{
    return r->block == rb && page >= r->first && page < r->first + r->count;
}

bool ram_residency_has_data(RAMResidency *r, const RAMBlock *rb, uint64_t page)
{
    if (!residency_window_holds(r, rb, page)) {
        if (!ram_residency_applies(r, rb)) {
            return true;
        }
        residency_load_window(r, rb, page);
        if (r->unusable) {
            return true;
        }
    }
    return test_bit(page - r->first, r->has_data);
}

uint64_t ram_residency_count(RAMResidency *r, const RAMBlock *rb)
{
    uint64_t pages = ramblock_pages(rb);
    uint64_t data = 0;

    for (uint64_t first = 0; first < pages; first += RAM_RESIDENCY_WINDOW_PAGES) {
        if (!ram_residency_applies(r, rb)) {
            return pages;
        }
        residency_load_window(r, rb, first);
        if (r->unusable) {
            return pages;
        }
        data += bitmap_count_one(r->has_data, r->count);
    }
    ram_residency_invalidate(r);
    return data;
}

void ram_residency_mark(RAMResidency *r, const RAMBlock *rb, uint64_t page, uint64_t n)
{
    uint64_t lo, hi;

    if (r->block != rb) {
        return;
    }
    lo = MAX(page, r->first);
    hi = MIN(page + n, r->first + r->count);
    if (lo < hi) {
        bitmap_set(r->has_data, lo - r->first, hi - lo);
    }
}
