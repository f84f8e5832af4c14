/*
 * Between vm/memory.c (the block list) and vm/memory-backend.c
 * (host backing).
 */
#ifndef SYSTEM_MEMORY_INTERNAL_H
#define SYSTEM_MEMORY_INTERNAL_H

#include "sysemu/memory.h"

/*
 * mmap @rb->used_length bytes for @rb (sets host, fd, page_size, shared).
 * @inherited >= 0: a memfd or shared RAM block maps that fd (taken over,
 * even on failure) instead of fresh memory, and is not preallocated: the
 * old process's guest may still be writing it.
 */
bool memory_backing_create(RAMBlock *rb, MemoryBackendKind kind, bool share,
                           const char *mem_path, bool prealloc, int inherited,
                           GError **errp);
void memory_backing_destroy(RAMBlock *rb);

#endif
