/*
 * mapped-ram (QEMU 9.0's fixed-offset file layout, qemu-migration-facts-2.md
 * §10): on a `file:` migration each RAM block's pages live at fixed file
 * offsets instead of in the stream.  In the stream, after the block's
 * `idlen ; idstr ; be64 used_length`, comes a 28-byte header naming where
 * the block's bitmap (pages present) and page region are; the page region
 * is a hole until pages are pwritten into it, a page sent twice is written
 * in place.  Used by ram.c (save), ram-load.c (load) and the migrate /
 * migrate-incoming checks.  Page I/O runs on the migration / incoming
 * thread, or with multifd on multifd-channels worker threads of mapped-ram
 * (no multifd channels or packets: QEMU's format has none with mapped-ram).
 */
#ifndef MIGRATION_MAPPED_RAM_H
#define MIGRATION_MAPPED_RAM_H

#include "exec/ramblock.h"
#include "migration/options.h"
#include "migration/qemu-file.h"
#include "qapi/qapi-types.h"

typedef struct MappedRam MappedRam;
typedef struct RAMSendRun RAMSendRun;

/*
 * Over the regular file @fd that carries the stream (not owned), for a
 * migration with @opts (read now): multifd's workers, and direct-io's
 * O_DIRECT file for the page I/O, opened here.  NULL with QEMU's text when
 * the filesystem refuses O_DIRECT.
 */
MappedRam *mapped_ram_new(int fd, const MigrationOptions *opts, bool outgoing, GError **errp);
void mapped_ram_free(MappedRam *m);

/*
 * migrate / migrate-incoming with @opts to @addr: QEMU's refusals
 * (non-file transport, TLS, multifd compression).  True without mapped-ram.
 */
bool mapped_ram_check_migration(const MigrationOptions *opts, const MigrationAddress *addr,
                                GError **errp);

/* ---- source ---- */

/* After @rb's used_length in the block list: its header; the stream then continues past its pages. */
bool mapped_ram_save_block(MappedRam *m, QEMUFile *f, RAMBlock *rb, GError **errp);

/*
 * Page @page of @rb goes to its slot; with @check_zero a zero page is not
 * written and its bit cleared instead.  Pages are written in runs, later
 * (by a worker with multifd); @run counts what was done.  Failures stick on @f.
 */
void mapped_ram_save_page(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          bool check_zero, RAMSendRun *run);

/* Page @page of @rb is zero: its bit is cleared, nothing is written. */
void mapped_ram_save_zero_page(MappedRam *m, RAMBlock *rb, uint64_t page);

/* Hand on the pages gathered (end of a section); @run counts what is done. */
void mapped_ram_save_flush(MappedRam *m, QEMUFile *f, RAMSendRun *run);

/*
 * End of a dirty round: every page handed on is written, so that a page
 * written again in the next round cannot be overtaken by its older copy.
 */
void mapped_ram_save_round_end(MappedRam *m, QEMUFile *f, RAMSendRun *run);

/*
 * background-snapshot: @data, the copy of page @page of @rb taken before
 * the guest wrote it, goes to the page's slot now (a zero copy clears the
 * bit instead, with @check_zero).  Failures stick on @f.
 */
void mapped_ram_save_copy(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t page,
                          const uint8_t *data, bool check_zero, RAMSendRun *run);

/* Completion (after the last pages): every block's bitmap at its offset, once. */
bool mapped_ram_save_bitmaps(MappedRam *m, GError **errp);

/* ---- destination ---- */

/*
 * After @rb's used_length in the block list (record at stream offset
 * @pos): read the header, the bitmap and the pages present into @rb, and
 * continue the stream after the page region.
 */
bool mapped_ram_load_block(MappedRam *m, QEMUFile *f, RAMBlock *rb, uint64_t pos,
                           GError **errp);

/* ---- after an x-mapped-ram-restore load ---- */

typedef struct MappedRamDetach MappedRamDetach;

/*
 * The threads that make the mapped blocks' pages private copies, from
 * @m's load on (transfer full; NULL when nothing was mapped).  Called once
 * the load is over, before @m is freed.
 */
MappedRamDetach *mapped_ram_take_detach(MappedRam *m);

/*
 * Wait until the guest's memory no longer depends on the file it was
 * mapped from (before a migration opens a file, which may be the same).
 * One thread at a time; NULL-safe.
 */
void mapped_ram_detach_wait(MappedRamDetach *d);

/* Wait, then free; NULL-safe. */
void mapped_ram_detach_free(MappedRamDetach *d);

#endif
