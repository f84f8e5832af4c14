/*
 * Guest RAM: a list of RAMBlocks, each an mmap'd host range with a stable id
 * string (the name the migration stream carries) and the bitmaps that track
 * which pages changed.
 */
#ifndef EXEC_RAMBLOCK_H
#define EXEC_RAMBLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define TARGET_PAGE_BITS 12
#define TARGET_PAGE_SIZE (1u << TARGET_PAGE_BITS)
#define TARGET_PAGE_MASK (~(uint64_t)(TARGET_PAGE_SIZE - 1))

typedef struct RAMBlock {
    char *idstr;                /* stable id, e.g. "pc.ram" or the backend id */
    uint8_t *host;              /* mmap'd, used_length bytes */
    uint64_t used_length;       /* bytes, a multiple of TARGET_PAGE_SIZE */
    uint64_t guest_addr;        /* guest-physical address of host[0] */
    size_t page_size;           /* host page size backing it */
    int fd;                     /* memfd / file backing, or -1 */
    bool shared;                /* MAP_SHARED */
    /* Backed by a file named by a path (memory-backend-file): another
     * process can open it again, so x-ignore-shared may skip it. */
    bool named_file;

    /*
     * Dirty log: one bit per target page, set (atomically) by every writer
     * that is not KVM: the interpreter's stores, qtest writes, device DMA.
     * Collected and cleared by memory_sync_dirty() (vm/memory.c), which
     * merges it with the accelerator's own log (KVM's) into the caller's map.
     */
    unsigned long *dirty_log;

    /* Migration source: pages still to send.  Owned by the migration thread. */
    unsigned long *bmap;
    /*
     * Postcopy destination: pages that arrived (set atomically by the
     * incoming thread, read by the fault thread), from ADVISE to the end.
     */
    unsigned long *receivedmap;
    /* Postcopy destination: pages the fault thread asked the source for (atomic). */
    unsigned long *requestedmap;
    /*
     * Postcopy preempt source: pages the return-path thread sent on the
     * preempt channel (set atomically by it, read by the migration thread).
     */
    unsigned long *urgentmap;
} RAMBlock;

static inline uint64_t ramblock_pages(const RAMBlock *rb)
{
    return rb->used_length >> TARGET_PAGE_BITS;
}

#endif
