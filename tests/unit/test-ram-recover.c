/*
 * Unit tests for postcopy recovery's RAM parts (migration/ram-recover.c)
 * and its commands (savevm-commands.c): the destination's received bitmap
 * makes exactly the pages it lacks dirty again on the source; a bitmap
 * that is truncated, oversized, badly ended or names an unknown block is
 * refused with QEMU's message and changes nothing; the pages vCPUs wait
 * for are the requested ones that never arrived; RECV_BITMAP and
 * POSTCOPY_RESUME parse as QEMU's.
 */
#include "ram-internal.h"
#include "savevm-commands.h"
#include "savevm-internal.h"
#include "qemu/error.h"

#include "ram-fixture.h"

#include <string.h>
#include <sys/mman.h>

typedef struct Fixture {
    GPtrArray *blocks;
    RAMState *rs;
} Fixture;

/* "pc.ram" of 100 pages (not a multiple of 64) and "small" of 4. */
static void fx_setup(Fixture *fx, gconstpointer data)
{
    fx->blocks = test_blocks_new("pc.ram", 100, "small", 4);
    fx->rs = ram_load_state_new(fx->blocks);
    g_assert_true(ram_postcopy_incoming_advise(fx->rs, PAGE, PAGE, NULL));
    for (guint i = 0; i < fx->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(fx->blocks, i);

        rb->bmap = bitmap_new(ramblock_pages(rb));
    }
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
    ram_state_free(fx->rs);
    g_ptr_array_unref(fx->blocks);
}

static RAMBlock *blk(Fixture *fx, guint i)
{
    return g_ptr_array_index(fx->blocks, i);
}

/* What the return path carries after RECV_BITMAP's name: be64 size, bitmap, be64 mark. */
static GBytes *framed_bitmap(const void *bitmap, uint64_t size, uint64_t claimed,
                             uint64_t mark, size_t cut)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    GBytes *all;
    gsize len;
    const uint8_t *data;
    GBytes *bytes;

    qemu_put_be64(out, claimed);
    qemu_put_buffer(out, bitmap, size);
    qemu_put_be64(out, mark);
    all = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    data = g_bytes_get_data(all, &len);
    bytes = g_bytes_new(data, len - MIN(cut, len));
    g_bytes_unref(all);
    return bytes;
}

static bool load_bitmap(Fixture *fx, const char *block, GBytes *bytes, GError **errp)
{
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    QEMUFile *f = qemu_file_new_input_buffer(data, len);
    bool ok = ram_recover_load_bitmap(fx->rs, block, f, errp);

    qemu_fclose(f, NULL);
    return ok;
}

/* The destination holds some pages; the source resends exactly the others. */
static void test_round_trip(Fixture *fx, gconstpointer data)
{
    static const uint64_t held[] = { 0, 1, 63, 64, 99 };
    RAMBlock *rb = blk(fx, 0);
    g_autofree void *bitmap = NULL;
    g_autoptr(GBytes) bytes = NULL;
    uint64_t size;

    for (size_t i = 0; i < G_N_ELEMENTS(held); i++) {
        ram_postcopy_mark_received(fx->rs, rb, held[i]);
    }
    ram_postcopy_mark_received(fx->rs, blk(fx, 1), 2);
    bitmap = ram_recover_received_bitmap(fx->rs, "pc.ram", &size, NULL);
    g_assert_nonnull(bitmap);
    g_assert_cmpuint(size, ==, 16);          /* 100 bits, in whole 8-byte words */
    bytes = framed_bitmap(bitmap, size, size, RAM_RECV_BITMAP_ENDING, 0);
    g_assert_true(load_bitmap(fx, "pc.ram", bytes, NULL));
    for (uint64_t p = 0; p < 100; p++) {
        bool is_held = p == 0 || p == 1 || p == 63 || p == 64 || p == 99;

        g_assert_cmpint(test_bit(p, rb->bmap), ==, !is_held);
    }
    /* Nothing beyond the block's last page. */
    g_assert_cmpuint(bitmap_count_one(rb->bmap, 128), ==, 95);

    g_clear_pointer(&bitmap, g_free);
    g_clear_pointer(&bytes, g_bytes_unref);
    bitmap = ram_recover_received_bitmap(fx->rs, "small", &size, NULL);
    g_assert_cmpuint(size, ==, 8);
    bytes = framed_bitmap(bitmap, size, size, RAM_RECV_BITMAP_ENDING, 0);
    g_assert_true(load_bitmap(fx, "small", bytes, NULL));
    g_assert_cmpuint(blk(fx, 1)->bmap[0], ==, 0xb);      /* pages 0, 1, 3 */

    ram_recover_source_resume(fx->rs);
    g_assert_cmpuint(fx->rs->dirty_pages, ==, 95 + 3);
}

/* Every malformed bitmap: QEMU's message, the dirty bitmap untouched. */
static void test_bad_bitmap(Fixture *fx, gconstpointer data)
{
    uint8_t zeros[16] = { 0 };
    struct {
        const char *block;
        uint64_t size, claimed, mark;
        size_t cut;
        const char *want;
    } cases[] = {
        { "nope", 16, 16, RAM_RECV_BITMAP_ENDING, 0,
          "MIG_RP_MSG_RECV_BITMAP has invalid block name 'nope'" },
        { "pc.ram", 16, 24, RAM_RECV_BITMAP_ENDING, 0,
          "ramblock 'pc.ram' bitmap size mismatch (0x18 != 0x10)" },
        { "pc.ram", 16, 16, 0x1234, 0, "ramblock 'pc.ram' end mark incorrect: 0x1234" },
        { "pc.ram", 16, 16, RAM_RECV_BITMAP_ENDING, 8 + 5,
          "read bitmap failed for ramblock 'pc.ram': (size 0x10, got: 0xb)" },
        { "pc.ram", 16, 16, RAM_RECV_BITMAP_ENDING, 4,
          "read bitmap failed for ramblock 'pc.ram': (size 0x10, got: 0x10)" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GBytes) bytes = framed_bitmap(zeros, cases[i].size, cases[i].claimed,
                                                cases[i].mark, cases[i].cut);
        g_autoptr(GError) err = NULL;

        g_assert_false(load_bitmap(fx, cases[i].block, bytes, &err));
        g_assert_cmpstr(err->message, ==, cases[i].want);
        g_assert_cmpuint(bitmap_count_one(blk(fx, 0)->bmap, 100), ==, 0);
    }
    {
        g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
        g_autoptr(GError) err = NULL;

        g_assert_false(load_bitmap(fx, "pc.ram", empty, &err));
        g_assert_true(g_str_has_prefix(err->message,
                                       "read bitmap failed for ramblock 'pc.ram': "));
    }
}

/* The destination side: unknown blocks and blocks without a received bitmap. */
static void test_dest_refused(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    uint64_t size;

    g_assert_null(ram_recover_received_bitmap(fx->rs, "nope", &size, &e1));
    g_assert_cmpstr(e1->message, ==, "loadvm_handle_recv_bitmap: block 'nope' not found");
    ram_postcopy_incoming_end(fx->rs);
    g_assert_null(ram_recover_received_bitmap(fx->rs, "small", &size, &e2));
    g_assert_cmpstr(e2->message, ==, "loadvm_handle_recv_bitmap: block 'small' has no "
                    "received bitmap: postcopy was never advised");
}

static void note_waiting(void *opaque, const RAMBlock *rb, uint64_t offset)
{
    g_string_append_printf(opaque, "%s:%" G_GINT64_MODIFIER "x;", rb->idstr, offset);
}

/* Requested and not arrived: what the destination asks for again after RESUME. */
static void test_waiting(Fixture *fx, gconstpointer data)
{
    g_autoptr(GString) seen = g_string_new(NULL);

    ram_postcopy_mark_requested(blk(fx, 0), 3 * PAGE);
    ram_postcopy_mark_requested(blk(fx, 0), 70 * PAGE);
    ram_postcopy_mark_received(fx->rs, blk(fx, 0), 70);
    ram_postcopy_mark_requested(blk(fx, 1), 1 * PAGE);
    ram_recover_foreach_waiting(fx->rs, note_waiting, seen);
    g_assert_cmpstr(seen->str, ==, "pc.ram:3000;small:1000;");
}

/* ---- the commands ---- */

static bool fx_recv_bitmap(void *opaque, const char *name, GError **errp)
{
    g_string_append_printf(opaque, "bitmap:%s;", name);
    return true;
}

static bool fx_resume(void *opaque, GError **errp)
{
    g_string_append(opaque, "resume;");
    return true;
}

static const SaveVMCommandOps recover_ops = {
    .recv_bitmap = fx_recv_bitmap,
    .postcopy_resume = fx_resume,
};

static SaveVMCommandResult parse_commands(GBytes *bytes, GString *seen, GError **errp)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    gsize len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    QEMUFile *f = qemu_file_new_input_buffer(data, len);
    SaveVMCommandResult res = SAVEVM_CMD_CONTINUE;

    savevm_set_command_ops(s, &recover_ops, seen);
    while (res == SAVEVM_CMD_CONTINUE && qemu_peek_byte(f, 0) == QEMU_VM_COMMAND) {
        qemu_get_byte(f);
        res = savevm_load_command(s, f, 0, savevm_load_sections, errp);
    }
    qemu_fclose(f, NULL);
    return res;
}

static void test_commands(void)
{
    g_autoptr(GString) seen = g_string_new(NULL);
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GBytes) bytes = NULL;

    savevm_send_recv_bitmap(out, "pc.ram");
    savevm_send_recv_bitmap(out, "small");
    savevm_send_postcopy_resume(out);
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    g_assert_cmpint(parse_commands(bytes, seen, NULL), ==, SAVEVM_CMD_CONTINUE);
    g_assert_cmpstr(seen->str, ==, "bitmap:pc.ram;bitmap:small;resume;");
}

static void test_commands_bad(void)
{
    /* 0x08 ; be16 cmd ; be16 len ; payload */
    static const uint8_t long_len[] = { 8, 0, 10, 0, 4, 1, 'x', 'y', 'z' };
    static const uint8_t no_name[] = { 8, 0, 10, 0, 1, 0 };
    static const uint8_t empty[] = { 8, 0, 10, 0, 0 };
    static const uint8_t resume_len[] = { 8, 0, 9, 0, 1, 0 };
    struct {
        const uint8_t *bytes;
        size_t len;
        const char *want;
    } cases[] = {
        { long_len, sizeof(long_len), "command RECV_BITMAP at offset 0: "
          "loadvm_handle_recv_bitmap: invalid payload length (4)" },
        { no_name, sizeof(no_name), "command RECV_BITMAP at offset 0: "
          "loadvm_handle_recv_bitmap: failed to read block name" },
        { empty, sizeof(empty), "command RECV_BITMAP at offset 0: "
          "loadvm_handle_recv_bitmap: failed to read block name" },
        { resume_len, sizeof(resume_len),
          "POSTCOPY_RESUME received with bad length - expecting 0, got 1" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GString) seen = g_string_new(NULL);
        g_autoptr(GBytes) bytes = g_bytes_new(cases[i].bytes, cases[i].len);
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(parse_commands(bytes, seen, &err), ==, SAVEVM_CMD_ERROR);
        g_assert_cmpstr(err->message, ==, cases[i].want);
        g_assert_cmpuint(seen->len, ==, 0);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/ram-recover/round-trip", Fixture, NULL, fx_setup, test_round_trip,
               fx_teardown);
    g_test_add("/ram-recover/bad-bitmap", Fixture, NULL, fx_setup, test_bad_bitmap,
               fx_teardown);
    g_test_add("/ram-recover/dest-refused", Fixture, NULL, fx_setup, test_dest_refused,
               fx_teardown);
    g_test_add("/ram-recover/waiting", Fixture, NULL, fx_setup, test_waiting, fx_teardown);
    g_test_add_func("/ram-recover/commands", test_commands);
    g_test_add_func("/ram-recover/commands/bad", test_commands_bad);
    return g_test_run();
}
