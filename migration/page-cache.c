/*
 * The XBZRLE page cache (page-cache.h): an array of slots and one block of
 * page copies behind it, slot i's copy at i * page_size.
 */
#include "page-cache.h"

#include <string.h>
#include <sys/mman.h>

#include "qemu/error.h"

/* The index of a slot that holds no page (no page has it: indexes are < 2^52). */
#define PAGE_CACHE_EMPTY    UINT64_MAX

typedef struct PageCacheSlot {
    uint64_t index;                 /* the page held, or PAGE_CACHE_EMPTY */
    uint64_t generation;            /* when last stored or hit */
} PageCacheSlot;

struct PageCache {
    PageCacheSlot *slots;
    uint8_t *data;
    uint64_t nslots;                /* a power of two */
    size_t page_size;
};

PageCache *page_cache_new(uint64_t size, size_t page_size, GError **errp)
{
    uint64_t nslots = size / page_size;
    PageCache *c;

    if (size < page_size) {
        error_setg(errp, "Parameter 'cache size' expects is smaller than one target page size");
        return NULL;
    }
    if (nslots & (nslots - 1)) {
        error_setg(errp, "Parameter 'cache size' expects is not a power of two number of pages");
        return NULL;
    }
    c = g_new0(PageCache, 1);
    c->nslots = nslots;
    c->page_size = page_size;
    /*
     * Large and maybe more than the host can give: refused, not fatal.  The
     * copies are mapped, not malloc'ed, so that an absurd size fails here
     * (and under ASan too, whose malloc aborts instead); slots come second,
     * a 256th of that.
     */
    c->data = size == (size_t)size ? mmap(NULL, size, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    if (c->data == MAP_FAILED) {
        c->data = NULL;
    } else {
        c->slots = g_try_new(PageCacheSlot, nslots);
    }
    if (!c->slots) {
        page_cache_free(c);
        error_setg(errp, "Parameter 'cache size' expects Failed to allocate cache");
        return NULL;
    }
    for (uint64_t i = 0; i < nslots; i++) {
        c->slots[i].index = PAGE_CACHE_EMPTY;
    }
    return c;
}

void page_cache_free(PageCache *c)
{
    if (!c) {
        return;
    }
    g_free(c->slots);
    if (c->data) {
        munmap(c->data, c->nslots * c->page_size);
    }
    g_free(c);
}

uint64_t page_cache_slots(const PageCache *c)
{
    return c->nslots;
}

static uint64_t page_cache_slot_of(const PageCache *c, uint64_t index)
{
    return index & (c->nslots - 1);
}

uint8_t *page_cache_lookup(PageCache *c, uint64_t index, uint64_t generation)
{
    uint64_t s = page_cache_slot_of(c, index);

    if (c->slots[s].index != index) {
        return NULL;
    }
    c->slots[s].generation = generation;
    return c->data + s * c->page_size;
}

uint8_t *page_cache_insert(PageCache *c, uint64_t index, const uint8_t *data,
                           uint64_t generation)
{
    uint64_t s = page_cache_slot_of(c, index);
    PageCacheSlot *slot = &c->slots[s];
    uint8_t *copy = c->data + s * c->page_size;

    if (slot->index != PAGE_CACHE_EMPTY && slot->index != index &&
        slot->generation + PAGE_CACHE_LIFETIME > generation) {
        return NULL;
    }
    memcpy(copy, data, c->page_size);
    slot->index = index;
    slot->generation = generation;
    return copy;
}
