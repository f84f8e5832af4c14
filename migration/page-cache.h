/*
 * The XBZRLE page cache: the last copy of each recently sent page, so the
 * next send of that page can be a delta against what the destination
 * holds.  Direct-mapped by page index, a power of two of slots; each slot
 * remembers the dirty-sync generation it was last used in, and a slot is
 * given to another page only once it is PAGE_CACHE_LIFETIME generations
 * old, as QEMU's cache does.  One thread uses a cache.
 */
#ifndef MIGRATION_PAGE_CACHE_H
#define MIGRATION_PAGE_CACHE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* A slot keeps its page for this many dirty-sync generations (QEMU's lifetime). */
#define PAGE_CACHE_LIFETIME     2

typedef struct PageCache PageCache;

/*
 * A cache of @size bytes of @page_size-byte pages; @size must be at least
 * one page and a power of two number of pages (QEMU's messages otherwise).
 * The memory is reserved, not touched: pages become resident as slots fill.
 */
PageCache *page_cache_new(uint64_t size, size_t page_size, GError **errp);
/* NULL-safe. */
void page_cache_free(PageCache *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PageCache, page_cache_free)

/* The number of slots. */
uint64_t page_cache_slots(const PageCache *c);

/*
 * The cached copy of page @index, or NULL when its slot holds another page
 * or nothing.  A hit marks the slot as used in @generation.
 */
uint8_t *page_cache_lookup(PageCache *c, uint64_t index, uint64_t generation);

/*
 * Store a copy of @data as page @index in @generation and return the copy;
 * NULL (nothing stored) when the slot holds another page used less than
 * PAGE_CACHE_LIFETIME generations ago.
 */
uint8_t *page_cache_insert(PageCache *c, uint64_t index, const uint8_t *data,
                           uint64_t generation);

#endif
