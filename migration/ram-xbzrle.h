/*
 * XBZRLE pages of the RAM section (ram-xbzrle.c), as the core calls them:
 * the source's page cache around each round, and a page sent or loaded
 * the XBZRLE way.
 */
#ifndef MIGRATION_RAM_XBZRLE_H
#define MIGRATION_RAM_XBZRLE_H

#include "ram-send.h"

/* Migration thread: build the cache when the capability is on (frees any earlier state). */
bool ram_xbzrle_setup(RAMState *rs, GError **errp);
void ram_xbzrle_cleanup(RAMState *rs);
/* Migration thread, at each iterate call: swap in a cache a resize handed over. */
void ram_xbzrle_take_resize(RAMState *rs);
/*
 * Send a non-zero page @page of @rb the XBZRLE way:
 * false when XBZRLE is not in use (yet), and the caller sends it normally.
 */
bool ram_xbzrle_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          RAMSendRun *run);
/* Page @page of @rb was sent as a zero page: cache it as zeros. */
void ram_xbzrle_page_zeroed(RAMState *rs, const RAMBlock *rb, uint64_t page, bool last_stage);
/* A rate period ended: cache-miss-rate and encoding-rate over it. */
void ram_xbzrle_update_rates(RAMState *rs);
/*
 * Destination: read an XBZRLE record's body (after the word and name) and
 * apply it to the page at @host; nothing is written to @host on error.
 */
bool ram_xbzrle_load_page(RAMState *rs, QEMUFile *f, uint8_t *host, GError **errp);

#endif
