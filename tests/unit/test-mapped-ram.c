/*
 * mapped-ram end to end on RAM blocks of odd sizes (67 and 3 pages, so the
 * last bitmap word has bits past the block), through a real file: saved
 * and loaded by the calling thread, by worker threads (multifd), with a
 * page that was written and then zeroed (its slot keeps stale bytes), and
 * restored by mapping the file; then damaged files: a bitmap claiming
 * pages past its block, a file cut inside the pages, a block of another
 * size, a block that does not exist.
 */
#include "ram-fixture.h"
#include "mapped-ram.h"
#include "qemu/error.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PAGES_A         67
#define PAGES_B         3
#define STALE_PAGE      40      /* of block "a": written, then zeroed */

/* How a file is written and read. */
typedef struct MappedCase {
    bool multifd;               /* 3 worker threads */
    bool map;                   /* load: x-mapped-ram-restore */
} MappedCase;

typedef struct MappedFixture {
    char *dir;
    char *path;
    FakeDirty src;
} MappedFixture;

static MigrationOptions *mapped_opts_new(const MappedCase *c)
{
    MigrationOptions *o = migration_options_new();
    MigrationCapabilityStatus caps[] = {
        { MIGRATION_CAPABILITY_MAPPED_RAM, true },
        { MIGRATION_CAPABILITY_MULTIFD, c->multifd },
        { MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE, c->map },
    };
    MigrationCapabilityStatusList l[G_N_ELEMENTS(caps)];
    MigrateSetParameters p = { .has_multifd_channels = true, .multifd_channels = 3 };
    GError *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
        l[i] = (MigrationCapabilityStatusList) {
            .value = &caps[i], .next = i + 1 < G_N_ELEMENTS(caps) ? &l[i + 1] : NULL,
        };
    }
    g_assert_true(migration_options_set_caps(o, l, &err));
    g_assert_true(migration_options_set_params(o, &p, &err));
    g_assert_no_error(err);
    return o;
}

/*
 * Save the source's blocks to f->path: a first pass, then the guest
 * zeroes STALE_PAGE and writes page 2 again, and completion sends both.
 */
static void mapped_save(MappedFixture *f, const MappedCase *c)
{
    g_autoptr(MigrationOptions) o = mapped_opts_new(c);
    int fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    RAMState *rs = source_new(&f->src, NULL);
    GError *err = NULL;
    QEMUFile *file;
    MappedRam *m;

    g_assert_cmpint(fd, >=, 0);
    m = mapped_ram_new(fd, o, true, &err);
    g_assert_no_error(err);
    ram_state_set_mapped_ram(rs, m);
    file = qemu_file_new_fd(fd, true, &err);
    g_assert_no_error(err);
    g_assert_true(ram_save_handlers.save_setup(file, rs, &err));
    while (ram_save_handlers.save_live_iterate(file, rs, &err) == SAVEVM_ITERATE_MORE) {
    }
    g_assert_no_error(err);
    fake_guest_write(&f->src, 0, STALE_PAGE, 0);
    fake_guest_write(&f->src, 0, 2, 0x22);
    g_assert_true(ram_save_handlers.save_live_complete(file, rs, &err));
    g_assert_no_error(err);
    ram_save_handlers.save_cleanup(rs);
    g_assert_true(qemu_fclose(file, NULL));
    ram_state_free(rs);
}

/* Load f->path into @blocks; false with @errp set on failure. */
static bool mapped_load(MappedFixture *f, const MappedCase *c, GPtrArray *blocks,
                        GError **errp)
{
    g_autoptr(MigrationOptions) o = mapped_opts_new(c);
    int fd = open(f->path, O_RDONLY);
    RAMState *rs = ram_load_state_new(blocks);
    QEMUFile *file;
    MappedRam *m;
    bool ok;

    g_assert_cmpint(fd, >=, 0);
    m = mapped_ram_new(fd, o, false, errp);
    g_assert_nonnull(m);
    ram_state_set_mapped_ram(rs, m);
    file = qemu_file_new_fd(fd, false, errp);
    ok = ram_save_handlers.load_setup(rs, errp);
    while (ok && qemu_peek_byte(file, 0) >= 0) {
        ok = ram_save_handlers.load_state(file, rs, RAM_SECTION_VERSION, errp);
    }
    ram_save_handlers.load_cleanup(rs);
    qemu_fclose(file, NULL);
    ram_state_wait_mapped_restore(rs);
    ram_state_free(rs);
    return ok;
}

static void mapped_setup(MappedFixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("tern-mapped-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "migfile", NULL);
    fake_dirty_init(&f->src, test_blocks_new("a", PAGES_A, "b", PAGES_B));
    for (uint64_t p = 0; p < PAGES_A; p += 3) {
        fake_guest_write(&f->src, 0, p, 0x10 + p);
    }
    fake_guest_write(&f->src, 0, STALE_PAGE, 0x5a);
    fake_guest_write(&f->src, 1, PAGES_B - 1, 0x77);
}

static void mapped_teardown(MappedFixture *f, gconstpointer data)
{
    unlink(f->path);
    rmdir(f->dir);
    g_ptr_array_unref(f->src.blocks);
    fake_dirty_cleanup(&f->src);
    g_free(f->path);
    g_free(f->dir);
}

/* The destination's blocks, filled with @fill (0: fresh). */
static GPtrArray *dest_blocks(uint8_t fill)
{
    GPtrArray *blocks = test_blocks_new("a", PAGES_A, "b", PAGES_B);

    if (fill) {
        memset(block(blocks, 0)->host, fill, PAGES_A * PAGE);
        memset(block(blocks, 1)->host, fill, PAGES_B * PAGE);
    }
    return blocks;
}

/* Offset of block @name's 28-byte header in the file at @path (its contents in *@data). */
static size_t mapped_header(const char *path, const char *name, uint64_t pages,
                            uint8_t **data, gsize *len)
{
    size_t nlen = strlen(name);
    uint64_t be_len = GUINT64_TO_BE(pages * PAGE);

    g_assert_true(g_file_get_contents(path, (char **)data, len, NULL));
    for (size_t i = 0; i + 1 + nlen + 8 + 28 <= *len; i++) {
        if ((*data)[i] == nlen && !memcmp(*data + i + 1, name, nlen) &&
            !memcmp(*data + i + 1 + nlen, &be_len, 8)) {
            return i + 1 + nlen + 8;
        }
    }
    g_error("no header for block %s", name);
}

static uint64_t be64_at(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

/*
 * Round trip.  Reading leaves pages the bitmap does not list untouched (as
 * QEMU), so it loads into fresh memory; mapping makes them zero, so it
 * loads over memory full of 0xee.  Either way the stale slot of
 * STALE_PAGE never reaches the guest.
 */
static void test_round_trip(MappedFixture *f, gconstpointer data)
{
    const MappedCase *c = data;
    g_autoptr(GPtrArray) dst = dest_blocks(c->map ? 0xee : 0);
    g_autofree uint8_t *bytes = NULL;
    GError *err = NULL;
    uint8_t page[PAGE];
    gsize len;
    size_t hdr;

    mapped_save(f, c);
    /* The slot kept the bytes the page had when first written. */
    hdr = mapped_header(f->path, "a", PAGES_A, &bytes, &len);
    g_assert_cmpuint(bytes[be64_at(bytes + hdr + 20) + STALE_PAGE * PAGE], ==, 0x5a);

    g_assert_true(mapped_load(f, c, dst, &err));
    g_assert_no_error(err);
    assert_blocks_equal(f->src.blocks, dst);
    memset(page, 0, sizeof(page));
    g_assert_cmpmem(block(dst, 0)->host + STALE_PAGE * PAGE, PAGE, page, PAGE);
}

/* Load the damaged file; the error must contain @expect. */
static void expect_load_error(MappedFixture *f, const MappedCase *c, const char *expect)
{
    g_autoptr(GPtrArray) dst = dest_blocks(0);
    g_autoptr(GError) err = NULL;

    g_assert_false(mapped_load(f, c, dst, &err));
    g_test_message("%s", err->message);
    g_assert_nonnull(strstr(err->message, expect));
}

/* Block "a" has 67 pages: bit 70 of its bitmap lies in its last word. */
static void test_bitmap_past_block(MappedFixture *f, gconstpointer data)
{
    const MappedCase *c = data;
    g_autofree uint8_t *bytes = NULL;
    gsize len;
    size_t hdr;
    uint64_t bitmap;

    mapped_save(f, c);
    hdr = mapped_header(f->path, "a", PAGES_A, &bytes, &len);
    bitmap = be64_at(bytes + hdr + 12);
    bytes[bitmap + 70 / 8] |= 1u << (70 % 8);
    g_assert_true(g_file_set_contents(f->path, (char *)bytes, len, NULL));
    expect_load_error(f, c, "mapped-ram bitmap claims pages beyond the block's 67");
}

/* The file ends inside block "a"'s page region. */
static void test_truncated(MappedFixture *f, gconstpointer data)
{
    const MappedCase *c = data;
    g_autofree uint8_t *bytes = NULL;
    gsize len;
    size_t hdr;

    mapped_save(f, c);
    hdr = mapped_header(f->path, "a", PAGES_A, &bytes, &len);
    g_assert_cmpint(truncate(f->path, be64_at(bytes + hdr + 20) + 10 * PAGE + 7), ==, 0);
    expect_load_error(f, c, "the file ends before them (RAM block \"a\"");
}

/* Block "b"'s entry says 4 pages where the destination has 3. */
static void test_other_size(MappedFixture *f, gconstpointer data)
{
    const MappedCase *c = data;
    g_autofree uint8_t *bytes = NULL;
    uint64_t be = GUINT64_TO_BE((PAGES_B + 1) * PAGE);
    gsize len;
    size_t hdr;

    mapped_save(f, c);
    hdr = mapped_header(f->path, "b", PAGES_B, &bytes, &len);
    memcpy(bytes + hdr - 8, &be, 8);
    g_assert_true(g_file_set_contents(f->path, (char *)bytes, len, NULL));
    expect_load_error(f, c, "Length mismatch: b: 0x4000 in != 0x3000");
}

/* Block "b" is called "c" in the file. */
static void test_unknown_block(MappedFixture *f, gconstpointer data)
{
    const MappedCase *c = data;
    g_autofree uint8_t *bytes = NULL;
    gsize len;
    size_t hdr;

    mapped_save(f, c);
    hdr = mapped_header(f->path, "b", PAGES_B, &bytes, &len);
    bytes[hdr - 9] = 'c';
    g_assert_true(g_file_set_contents(f->path, (char *)bytes, len, NULL));
    expect_load_error(f, c, "Unknown ramblock \"c\"");
}

static const MappedCase case_thread = { 0 };
static const MappedCase case_multifd = { .multifd = true };
static const MappedCase case_map = { .map = true };
static const MappedCase case_multifd_map = { .multifd = true, .map = true };

#define ADD(path, c, fn) \
    g_test_add("/mapped-ram/" path, MappedFixture, c, mapped_setup, fn, mapped_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("round-trip/thread", &case_thread, test_round_trip);
    ADD("round-trip/multifd", &case_multifd, test_round_trip);
    ADD("round-trip/map", &case_map, test_round_trip);
    ADD("round-trip/multifd-map", &case_multifd_map, test_round_trip);
    ADD("bad/bitmap-past-block/thread", &case_thread, test_bitmap_past_block);
    ADD("bad/bitmap-past-block/map", &case_map, test_bitmap_past_block);
    ADD("bad/truncated/thread", &case_thread, test_truncated);
    ADD("bad/truncated/multifd", &case_multifd, test_truncated);
    ADD("bad/other-size", &case_thread, test_other_size);
    ADD("bad/unknown-block", &case_thread, test_unknown_block);
    return g_test_run();
}
