/*
 * Capability compress, source side (ram-compress.c), migration thread:
 * the pool of compress threads as the core (ram.c) drives it.
 */
#ifndef MIGRATION_RAM_COMPRESS_H
#define MIGRATION_RAM_COMPRESS_H

#include "ram-send.h"

/* Start the pool when the capability is on (frees any earlier one). */
bool ram_compress_setup(RAMState *rs, GError **errp);
void ram_compress_cleanup(RAMState *rs);
/*
 * Hand page @page of @rb (@zero: known to hold zeros) to the pool: false
 * when the page is to go out otherwise (compress off, the first page of a
 * block, no thread free without waiting), and the caller sends it.
 */
bool ram_compress_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                            bool zero, RAMSendRun *run);
/* Write every pending compressed page (oldest first). */
void ram_compress_flush(RAMState *rs, QEMUFile *f, RAMSendRun *run);
/* A rate period ended: busy-rate and compression-rate over it. */
void ram_compress_update_rates(RAMState *rs);

#endif
