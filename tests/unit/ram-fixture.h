/*
 * Fixtures for the RAM section's unit tests: anonymous RAM blocks, a fake
 * dirty log that "the guest" writes through, and helpers that save and
 * load whole streams through the memory-buffer QEMUFile.
 */
#ifndef TESTS_UNIT_RAM_FIXTURE_H
#define TESTS_UNIT_RAM_FIXTURE_H

#include "migration/ram.h"
#include "qemu/bitmap.h"

#define PAGE        TARGET_PAGE_SIZE
#define HUGE_CHUNK  (2u * 1024 * 1024)

/* An anonymous private block aligned to 2 MiB, so populate chunks are predictable. */
RAMBlock *test_block_new(const char *name, uint64_t pages);
/* One or two blocks (@name1 NULL: one), freed with the array (fake_ram_block_free). */
GPtrArray *test_blocks_new(const char *name0, uint64_t pages0,
                           const char *name1, uint64_t pages1);
RAMBlock *block(GPtrArray *blocks, guint i);
/* True if the page of @rb was never faulted in (mincore: not resident). */
bool page_untouched(RAMBlock *rb, uint64_t page);

/* A fake machine: remembers the pages "the guest" wrote since the last sync. */
typedef struct FakeDirty {
    GPtrArray *blocks;
    unsigned long *written[2];
    unsigned syncs;
    bool fail;
} FakeDirty;

void fake_dirty_init(FakeDirty *d, GPtrArray *blocks);
void fake_dirty_cleanup(FakeDirty *d);
/* The guest writes @value over a whole page. */
void fake_guest_write(FakeDirty *d, guint blk, uint64_t page, uint8_t value);
/* A source RAMState over @d's blocks, syncing from @d. */
RAMState *source_new(FakeDirty *d, MigrationAtomicStats *stats);

/* Close an output buffer QEMUFile and return what was written. */
GBytes *output_bytes(QEMUFile *f);
/* setup, iterate until drained, complete: each payload one after the other. */
GBytes *save_everything(RAMState *rs);
/* Load payloads from @data until it is used up; false with @errp set on the first failure. */
bool load_all(RAMState *rs, const void *data, size_t len, GError **errp);
void assert_blocks_equal(GPtrArray *a, GPtrArray *b);

/* Append a big-endian u64, a `u8 len ; name`, a byte to @buf. */
void put64(GByteArray *buf, uint64_t v);
void put_name(GByteArray *buf, const char *name);
void put_u8(GByteArray *buf, guint8 v);

#endif
