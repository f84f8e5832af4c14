/*
 * The residency probe (ram-residency.c): which pages of a RAM block hold
 * data, without reading them.
 */
#ifndef MIGRATION_RAM_RESIDENCY_H
#define MIGRATION_RAM_RESIDENCY_H

#include "exec/ramblock.h"
#include "qemu/bitmap.h"

/* Pages per residency window: 8 MiB, a whole number of 2 MiB huge pages. */
#define RAM_RESIDENCY_WINDOW_PAGES  2048

/*
 * Which pages of a block hold data, asked of the kernel (PAGEMAP_SCAN on
 * /proc/self/pagemap) a window at a time so that pages the guest never
 * wrote are neither read nor faulted in.  Only private anonymous blocks
 * qualify: there a page that is not present, not swapped, or mapped to the
 * zero page reads as zeros.  For other blocks, or when the kernel lacks
 * PAGEMAP_SCAN, every page counts as holding data.  One thread uses it.
 */
typedef struct RAMResidency {
    int pagemap_fd;                 /* -1: not opened yet or unusable */
    bool unusable;                  /* PAGEMAP_SCAN failed once: stop asking */

    /* The cached window: pages [first, first + count) of @block. */
    const RAMBlock *block;          /* NULL: no window cached */
    uint64_t first;
    uint64_t count;
    unsigned long has_data[BITS_TO_LONGS(RAM_RESIDENCY_WINDOW_PAGES)];
} RAMResidency;

void ram_residency_init(RAMResidency *r);
void ram_residency_cleanup(RAMResidency *r);

/* True if the kernel can tell for @rb which pages hold data. */
bool ram_residency_applies(RAMResidency *r, const RAMBlock *rb);

/*
 * False only if page @page of @rb certainly reads as zero without touching
 * it.  On the source the answer is as of the window's probe, which is at
 * most one iterate call old: a write after it is in the dirty log.
 */
bool ram_residency_has_data(RAMResidency *r, const RAMBlock *rb, uint64_t page);

/* Record that pages [@page, @page + @n) of @rb now hold data (the loader wrote them). */
void ram_residency_mark(RAMResidency *r, const RAMBlock *rb, uint64_t page, uint64_t n);

/* Forget the cached window (the guest may have written since). */
void ram_residency_invalidate(RAMResidency *r);

/*
 * The pages of @rb that hold data, window by window (every page when the
 * probe does not apply); the cached window is forgotten.
 */
uint64_t ram_residency_count(RAMResidency *r, const RAMBlock *rb);

#endif
