/*
 * Between vm/memory.c (the block list) and vm/memory-backend.c
 * (host backing).
 */
#ifndef SYSTEM_MEMORY_INTERNAL_H
#define SYSTEM_MEMORY_INTERNAL_H

#include "sysemu/memory.h"

/* mmap @rb->used_length bytes for @rb (sets host, fd, page_size, shared). */
bool memory_backing_create(RAMBlock *rb, MemoryBackendKind kind, bool share,
                           const char *mem_path, bool prealloc, GError **errp);
void memory_backing_destroy(RAMBlock *rb);

#endif
