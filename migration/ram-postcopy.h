/*
 * The postcopy parts of both sides of the RAM section (ram-postcopy.c),
 * as the core (ram.c, ram-load.c) and preempt / recovery call them; the
 * rest of its API is in include/migration/ram.h.
 */
#ifndef MIGRATION_RAM_POSTCOPY_H
#define MIGRATION_RAM_POSTCOPY_H

#include "ram-state.h"

void ram_postcopy_init(RAMState *rs);
void ram_postcopy_cleanup(RAMState *rs);
/*
 * Source: the next requested page that is still to send (its bmap bit is
 * cleared), or NULL.  Migration thread.
 */
RAMBlock *ram_postcopy_take_request(RAMState *rs, uint64_t *page);
/*
 * Destination: a page record after LISTEN, placed atomically; a normal or
 * compressed page is read into @buf (one page, the calling thread's own).
 */
bool ram_postcopy_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                            uint64_t offset, uint64_t flags, uint8_t *buf, GError **errp);
/*
 * Source: the block of a page request (QEMU's checks and messages), or
 * NULL: with *@errp set when it is bad, unset when every page went out.
 */
RAMBlock *ram_postcopy_check_request(RAMState *rs, const char *block,
                                     uint64_t start, uint64_t len, GError **errp);
RAMBlock *ram_postcopy_find_block(RAMState *rs, const char *name);
/* Source: was page @page of @rb sent on the preempt channel?  Migration thread. */
static inline bool ram_postcopy_sent_urgently(const RAMBlock *rb, uint64_t page)
{
    return rb->urgentmap &&
           (__atomic_load_n(&rb->urgentmap[page / BITS_PER_LONG], __ATOMIC_RELAXED) &
            (1UL << (page % BITS_PER_LONG)));
}
/* Destination: page @page of @rb arrived (kept from ADVISE on). */
static inline void ram_postcopy_mark_received(RAMState *rs, RAMBlock *rb, uint64_t page)
{
    if (rs->load.postcopy.advised) {
        set_bit_atomic(page, rb->receivedmap);
    }
}

#endif
