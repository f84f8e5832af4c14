/*
 * Capability compress, destination side (ram-compress-load.c), incoming
 * thread: the pool of decompress threads as the loader drives it.
 */
#ifndef MIGRATION_RAM_COMPRESS_LOAD_H
#define MIGRATION_RAM_COMPRESS_LOAD_H

#include "ram-state.h"

/*
 * A COMPRESS_PAGE record's body (after the word and name) for page @page
 * of @rb, handed to a decompress thread; its failure shows at a later
 * ram_decompress_wait(), naming block and offset.
 */
bool ram_decompress_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                              uint64_t page, GError **errp);
/*
 * Postcopy: a COMPRESS_PAGE record's body for page @page of @rb,
 * decompressed on this thread into @buf (one page), checked.
 */
bool ram_decompress_load_sync(RAMState *rs, QEMUFile *f, uint64_t pos, const RAMBlock *rb,
                              uint64_t page, uint8_t *buf, GError **errp);
/* Before page @page of @rb is written otherwise: its pending decompression lands first. */
bool ram_decompress_settle(RAMState *rs, const RAMBlock *rb, uint64_t page, GError **errp);
/* Every pending page lands (the end of a RAM section); the first failure, if any. */
bool ram_decompress_wait(RAMState *rs, GError **errp);
void ram_decompress_cleanup(RAMState *rs);

#endif
