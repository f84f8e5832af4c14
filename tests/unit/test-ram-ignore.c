/*
 * Unit tests for the blocks the RAM section skips (migration/ram.c,
 * ram-load.c): x-ignore-shared's block list with guest-physical addresses
 * (qemu-migration-facts.md §4.6, §21.6), no page of an ignored block on
 * the wire, and the destination's refusals; cpr-transfer's "every block".
 */
#include "ram-fixture.h"
#include "ram-state.h"
#include "qemu/error.h"

#include <string.h>

/* Block "a" (2 pages, private, GPA 0) and "bb" (3 pages, a shared file, GPA 0x100000). */
static GPtrArray *blocks_with_shared_file(void)
{
    GPtrArray *blocks = test_blocks_new("a", 2, "bb", 3);

    block(blocks, 0)->guest_addr = 0;
    block(blocks, 1)->guest_addr = 0x100000;
    block(blocks, 1)->shared = true;
    block(blocks, 1)->named_file = true;
    return blocks;
}

static void test_setup_bytes(void)
{
    g_autoptr(GPtrArray) blocks = blocks_with_shared_file();
    static const uint8_t expect[] = {
        0, 0, 0, 0, 0, 0, 0x50, 0x04,               /* 5 pages | MEM_SIZE: ignored ones too */
        1, 'a', 0, 0, 0, 0, 0, 0, 0x20, 0x00,       /* "a", 0x2000 */
        0, 0, 0, 0, 0, 0, 0, 0,                     /* its GPA */
        2, 'b', 'b', 0, 0, 0, 0, 0, 0, 0x30, 0x00,  /* "bb", 0x3000 */
        0, 0, 0, 0, 0, 0x10, 0, 0,                  /* its GPA */
        0, 0, 0, 0, 0, 0, 0, 0x10,                  /* EOS */
    };
    MigrationAtomicStats stats = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(RAMState) rs = NULL;
    FakeDirty d;
    QEMUFile *f;

    fake_dirty_init(&d, blocks);
    rs = source_new(&d, &stats);
    ram_state_set_ignore(rs, true, false);
    g_assert_false(ram_block_is_ignored(rs, block(blocks, 0)));
    g_assert_true(ram_block_is_ignored(rs, block(blocks, 1)));
    f = qemu_file_new_output_buffer();
    g_assert_true(ram_save_handlers.save_setup(f, rs, NULL));
    bytes = output_bytes(f);
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    expect, sizeof(expect));
    /* Only "a" is to send. */
    g_assert_cmpuint(ram_state_dirty_pages(rs), ==, 2);
    g_assert_cmpuint(migration_stat_get(&stats.total), ==, 2 * PAGE);
    ram_save_handlers.save_cleanup(rs);
    fake_dirty_cleanup(&d);
}

/* A shared block that is not a named file (memfd) is copied, as in QEMU. */
static void test_memfd_is_copied(void)
{
    g_autoptr(GPtrArray) blocks = blocks_with_shared_file();
    g_autoptr(RAMState) rs = NULL;
    FakeDirty d;

    block(blocks, 1)->named_file = false;
    fake_dirty_init(&d, blocks);
    rs = source_new(&d, NULL);
    ram_state_set_ignore(rs, true, false);
    g_assert_false(ram_block_is_ignored(rs, block(blocks, 1)));
    ram_state_set_ignore(rs, false, true);
    g_assert_true(ram_block_is_ignored(rs, block(blocks, 0)));
    g_assert_true(ram_block_is_ignored(rs, block(blocks, 1)));
    fake_dirty_cleanup(&d);
}

/* Does @bytes hold a record naming @name (a page of that block)? */
static bool stream_names_block(GBytes *bytes, const char *name, size_t skip)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(bytes, &len);
    size_t nlen = strlen(name);

    for (size_t i = skip; i + 1 + nlen <= len; i++) {
        if (p[i] == nlen && memcmp(p + i + 1, name, nlen) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The guest writes both blocks; only "a" travels.  The destination's "bb"
 * stays as it was (in real life: the same file, so already equal).
 */
static void test_round_trip(gconstpointer data)
{
    bool ignore_all = GPOINTER_TO_INT(data);
    g_autoptr(GPtrArray) src = blocks_with_shared_file();
    g_autoptr(GPtrArray) dst = blocks_with_shared_file();
    g_autoptr(RAMState) rs = NULL;
    g_autoptr(RAMState) ls = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) err = NULL;
    FakeDirty d;

    fake_dirty_init(&d, src);
    fake_guest_write(&d, 0, 1, 0x5a);
    fake_guest_write(&d, 1, 2, 0x77);
    rs = source_new(&d, NULL);
    ram_state_set_ignore(rs, !ignore_all, ignore_all);
    bytes = save_everything(rs);
    /* Past the setup's block list, no record names "bb" (nor "a" with ignore_all). */
    g_assert_false(stream_names_block(bytes, "bb", 60));
    g_assert_true(stream_names_block(bytes, "a", 60) != ignore_all);

    ls = ram_load_state_new(dst);
    ram_state_set_ignore(ls, !ignore_all, ignore_all);
    g_assert_true(load_all(ls, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &err));
    g_assert_no_error(err);
    g_assert_cmpint(block(dst, 0)->host[PAGE], ==, ignore_all ? 0 : 0x5a);
    g_assert_cmpint(block(dst, 1)->host[2 * PAGE], ==, 0);
    fake_dirty_cleanup(&d);
}

static GBytes *save_setup_only(GPtrArray *blocks, FakeDirty *d)
{
    g_autoptr(RAMState) rs = NULL;
    QEMUFile *f = qemu_file_new_output_buffer();
    GBytes *bytes;

    fake_dirty_init(d, blocks);
    rs = source_new(d, NULL);
    ram_state_set_ignore(rs, true, false);
    g_assert_true(ram_save_handlers.save_setup(f, rs, NULL));
    bytes = output_bytes(f);
    ram_save_handlers.save_cleanup(rs);
    fake_dirty_cleanup(d);
    return bytes;
}

static void test_reject_gpa_mismatch(void)
{
    g_autoptr(GPtrArray) src = blocks_with_shared_file();
    g_autoptr(GPtrArray) dst = blocks_with_shared_file();
    g_autoptr(RAMState) ls = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) err = NULL;
    FakeDirty d;

    bytes = save_setup_only(src, &d);
    block(dst, 1)->guest_addr = 0x200000;
    ls = ram_load_state_new(dst);
    ram_state_set_ignore(ls, true, false);
    g_assert_false(load_all(ls, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &err));
    g_assert_nonnull(strstr(err->message, "Mismatched GPAs for block bb 1048576!= 2097152"));
}

/* A private block's GPA is not compared (QEMU compares ignored blocks only). */
static void test_private_gpa_not_compared(void)
{
    g_autoptr(GPtrArray) src = blocks_with_shared_file();
    g_autoptr(GPtrArray) dst = blocks_with_shared_file();
    g_autoptr(RAMState) ls = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) err = NULL;
    FakeDirty d;

    bytes = save_setup_only(src, &d);
    block(dst, 0)->guest_addr = 0x300000;
    ls = ram_load_state_new(dst);
    ram_state_set_ignore(ls, true, false);
    g_assert_true(load_all(ls, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &err));
    g_assert_no_error(err);
}

static void test_reject_page_of_ignored_block(void)
{
    g_autoptr(GPtrArray) dst = blocks_with_shared_file();
    g_autoptr(GByteArray) s = g_byte_array_new();
    g_autoptr(RAMState) ls = ram_load_state_new(dst);
    g_autoptr(GError) err = NULL;

    put64(s, 0x1000 | RAM_SAVE_FLAG_ZERO);
    put_name(s, "bb");
    put_u8(s, 0);
    put64(s, RAM_SAVE_FLAG_EOS);
    ram_state_set_ignore(ls, true, false);
    g_assert_false(load_all(ls, s->data, s->len, &err));
    g_assert_nonnull(strstr(err->message, "block bb should not be migrated !"));
}

/* Truncated inside a GPA: a clear error, never a crash. */
static void test_truncated_gpa(void)
{
    g_autoptr(GPtrArray) src = blocks_with_shared_file();
    g_autoptr(GPtrArray) dst = blocks_with_shared_file();
    g_autoptr(GBytes) bytes = NULL;
    FakeDirty d;

    bytes = save_setup_only(src, &d);
    for (size_t cut = 19; cut < 26; cut++) {
        g_autoptr(RAMState) ls = ram_load_state_new(dst);
        g_autoptr(GError) err = NULL;

        ram_state_set_ignore(ls, true, false);
        g_assert_false(load_all(ls, g_bytes_get_data(bytes, NULL), cut, &err));
        g_assert_nonnull(err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram/ignore-shared/setup-bytes", test_setup_bytes);
    g_test_add_func("/ram/ignore-shared/memfd-is-copied", test_memfd_is_copied);
    g_test_add_data_func("/ram/ignore-shared/round-trip", GINT_TO_POINTER(false),
                         test_round_trip);
    g_test_add_data_func("/ram/ignore-all/round-trip", GINT_TO_POINTER(true),
                         test_round_trip);
    g_test_add_func("/ram/ignore-shared/reject/gpa-mismatch", test_reject_gpa_mismatch);
    g_test_add_func("/ram/ignore-shared/private-gpa-not-compared",
                    test_private_gpa_not_compared);
    g_test_add_func("/ram/ignore-shared/reject/page-of-ignored-block",
                    test_reject_page_of_ignored_block);
    g_test_add_func("/ram/ignore-shared/reject/truncated-gpa", test_truncated_gpa);
    return g_test_run();
}
