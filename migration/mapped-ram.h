/*
 * mapped-ram (QEMU 9.0's fixed-offset file layout, qemu-migration-facts-2.md
 * §10): on a `file:` migration each RAM block's pages live at fixed file
 * offsets instead of in the stream.  In the stream, after the block's
 * `idlen ; idstr ; be64 used_length`, comes a 28-byte header naming where
 * the block's bitmap (pages present) and page region are; the page region
 * is a hole until pages are pwritten into it, a page sent twice is written
 * in place.  Used by ram.c (save), ram-load.c (load) and the migrate /
 * migrate-incoming checks.  Without multifd: the migration thread and the
 * incoming thread only.
 */
#ifndef MIGRATION_MAPPED_RAM_H
#define MIGRATION_MAPPED_RAM_H

#include "exec/ramblock.h"
#include "migration/options.h"
#include "migration/qemu-file.h"
#include "qapi/qapi-types.h"

typedef struct MappedRam MappedRam;

/* Over the regular file @fd that carries the stream (not owned). */
MappedRam *mapped_ram_new(int fd);
void mapped_ram_free(MappedRam *m);

/*
 * migrate / migrate-incoming with @opts to @addr: QEMU's refusals
 * (non-file transport, TLS, multifd compression), and tern's own while
 * mapped-ram with multifd is not built (issue 16).  True without mapped-ram.
 */
bool mapped_ram_check_migration(const MigrationOptions *opts, const MigrationAddress *addr,
                                GError **errp);

/* ---- source ---- */

/* After @rb's used_length in the block list: its header; the stream then continues past its pages. */
bool mapped_ram_save_block(MappedRam *m, QEMUFile *f, RAMBlock *rb, GError **errp);

/* Page @page of @rb holds data: queue it for its slot.  Failures stick on @f. */
void mapped_ram_save_page(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t page);

/* Page @page of @rb is zero: its bit is cleared, nothing is written. */
void mapped_ram_save_zero_page(MappedRam *m, RAMBlock *rb, uint64_t page);

/* Write the queued pages (end of a section).  Failures stick on @f. */
void mapped_ram_save_flush(MappedRam *m, QEMUFile *f);

/* Completion: every block's bitmap at its offset, once. */
bool mapped_ram_save_bitmaps(MappedRam *m, GError **errp);

/* ---- destination ---- */

/*
 * After @rb's used_length in the block list (record at stream offset
 * @pos): read the header, the bitmap and the pages present into @rb, and
 * continue the stream after the page region.
 */
bool mapped_ram_load_block(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t pos,
                           GError **errp);

#endif
