/*
 * x-verify-ram with its digest worker (migration/ram-verify.c,
 * ram-verify-worker.c), through the memory-buffer QEMUFile: a source whose
 * guest rewrites pages between rounds and a destination, both hashing on
 * their workers, agree; a byte flipped in a page record in transit is
 * named (block and chunk); a worker stopped with pages queued (a cancelled
 * migration) ends at once.
 */
#include "ram-fixture.h"
#include "ram-internal.h"
#include "migration/qemu-file.h"
#include "qemu/error.h"

#include <string.h>

#define VERIFY_PAGES    600     /* three chunks, the last one short */
#define MARK_PAGE       300     /* in chunk 1: 0x100000-0x1fffff */
#define MARK_VALUE      0xa7

typedef struct VerifyPair {
    FakeDirty dirty;
    GPtrArray *src_blocks;
    GPtrArray *dst_blocks;
    RAMState *src;
    RAMState *dst;
} VerifyPair;

static void pair_init(VerifyPair *p)
{
    p->src_blocks = test_blocks_new("pc.ram", VERIFY_PAGES, "vga.vram", 16);
    p->dst_blocks = test_blocks_new("pc.ram", VERIFY_PAGES, "vga.vram", 16);
    fake_dirty_init(&p->dirty, p->src_blocks);
    p->src = source_new(&p->dirty, NULL);
    p->dst = ram_load_state_new(p->dst_blocks);
    ram_verify_start(ram_state_verify(p->src), true);
    ram_verify_start(ram_state_verify(p->dst), true);
    for (uint64_t page = 0; page < VERIFY_PAGES; page += 3) {
        fake_guest_write(&p->dirty, 0, page, page == MARK_PAGE ? MARK_VALUE : page % 0x80 + 1);
    }
}

static void pair_cleanup(VerifyPair *p)
{
    ram_state_free(p->src);
    ram_state_free(p->dst);
    fake_dirty_cleanup(&p->dirty);
    g_ptr_array_unref(p->src_blocks);
    g_ptr_array_unref(p->dst_blocks);
}

/*
 * The RAM section's payloads, the guest rewriting pages after the first
 * pass (each sent again, its digest replaced), then the verifier's.
 */
static GBytes *pair_save(VerifyPair *p, GBytes **verify)
{
    QEMUFile *f = qemu_file_new_output_buffer();
    QEMUFile *vf = qemu_file_new_output_buffer();
    RAMVerify *v = ram_state_verify(p->src);
    GError *err = NULL;
    SaveVMIterateResult ret;
    unsigned rounds = 0;

    g_assert_true(ram_save_handlers.save_setup(f, p->src, &err));
    g_assert_true(ram_verify_handlers.save_setup(vf, v, &err));
    do {
        ret = ram_save_handlers.save_live_iterate(f, p->src, &err);
        g_assert_cmpint(ret, !=, SAVEVM_ITERATE_ERROR);
        if (ret == SAVEVM_ITERATE_DONE && rounds++ < 2) {
            for (uint64_t page = 1; page < VERIFY_PAGES; page += 7) {
                fake_guest_write(&p->dirty, 0, page, 0xc0 + rounds);
            }
            ret = SAVEVM_ITERATE_MORE;
        }
    } while (ret == SAVEVM_ITERATE_MORE);
    g_assert_true(ram_save_handlers.save_live_complete(f, p->src, &err));
    g_assert_true(ram_verify_handlers.save_live_complete(vf, v, &err));
    g_assert_no_error(err);
    ram_save_handlers.save_cleanup(p->src);
    *verify = output_bytes(vf);
    return output_bytes(f);
}

/* Load @ram and @verify's two payloads into the destination; false with @errp as the load fails. */
static bool pair_load(VerifyPair *p, GBytes *ram, GBytes *verify, GError **errp)
{
    RAMVerify *v = ram_state_verify(p->dst);
    QEMUFile *f;
    bool ok;

    if (!load_all(p->dst, g_bytes_get_data(ram, NULL), g_bytes_get_size(ram), errp)) {
        return false;
    }
    f = qemu_file_new_input_buffer(g_bytes_get_data(verify, NULL), g_bytes_get_size(verify));
    ok = ram_verify_handlers.load_state(f, v, RAM_VERIFY_SECTION_VERSION, errp) &&
         ram_verify_handlers.load_state(f, v, RAM_VERIFY_SECTION_VERSION, errp);
    qemu_fclose(f, NULL);
    return ok;
}

static void check_status(RAMState *rs, VerifyRamStatus want)
{
    g_autoptr(VerifyRamInfo) info = ram_verify_info(ram_state_verify(rs), false);

    g_assert_nonnull(info);
    g_assert_cmpint(info->status, ==, want);
    g_assert_cmpuint(info->pages, >=, VERIFY_PAGES);
}

/* The guest's rewrites are sent, digested and placed again: both sides agree. */
static void test_worker_agrees(void)
{
    VerifyPair p;
    g_autoptr(GBytes) verify = NULL;
    g_autoptr(GBytes) ram = NULL;
    g_autoptr(GError) err = NULL;

    pair_init(&p);
    ram = pair_save(&p, &verify);
    g_assert_true(pair_load(&p, ram, verify, &err));
    g_assert_no_error(err);
    assert_blocks_equal(p.src_blocks, p.dst_blocks);
    check_status(p.dst, VERIFY_RAM_STATUS_PASSED);
    pair_cleanup(&p);
}

/* The first whole page of MARK_VALUE in @ram (the marked page's record). */
static uint8_t *find_marked_page(GBytes *ram)
{
    gsize len;
    uint8_t *data = (uint8_t *)g_bytes_get_data(ram, &len);
    g_autofree uint8_t *mark = g_malloc(PAGE);

    memset(mark, MARK_VALUE, PAGE);
    for (gsize i = 0; i + PAGE <= len; i++) {
        if (!memcmp(data + i, mark, PAGE)) {
            return data + i;
        }
    }
    g_error("the marked page is not in the stream");
}

/* A flipped bit in transit: placed as it came, hashed by the worker, named by the comparison. */
static void test_worker_mismatch(void)
{
    VerifyPair p;
    g_autoptr(GBytes) verify = NULL;
    g_autoptr(GBytes) ram = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(VerifyRamInfo) info = NULL;

    pair_init(&p);
    ram = pair_save(&p, &verify);
    find_marked_page(ram)[123] ^= 0x10;
    g_assert_false(pair_load(&p, ram, verify, &err));
    g_assert_cmpstr(err->message, ==, "x-verify-ram: RAM differs from the source's in block "
                    "\"pc.ram\" at 0x100000-0x1fffff");
    info = ram_verify_info(ram_state_verify(p.dst), false);
    g_assert_cmpint(info->status, ==, VERIFY_RAM_STATUS_FAILED);
    g_assert_cmpstr(info->mismatch_block, ==, "pc.ram");
    g_assert_cmphex(info->mismatch_offset, ==, 0x100000);
    g_assert_cmphex(info->mismatch_length, ==, 0x100000);
    pair_cleanup(&p);
}

/* A cancelled migration stops the worker with pages queued: it ends, nothing is left. */
static void test_worker_stop_queued(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("pc.ram", VERIFY_PAGES, NULL, 0);
    g_autoptr(RAMVerify) v = ram_verify_new(blocks);

    ram_verify_start(v, true);
    ram_verify_worker_start(v);
    for (unsigned round = 0; round < 20; round++) {
        for (uint64_t page = 0; page < VERIFY_PAGES; page++) {
            ram_verify_page_in_place(v, block(blocks, 0), page, page % 2);
        }
    }
    ram_verify_worker_stop(v);
    /* Started again for the next migration, and freed with its worker running. */
    ram_verify_start(v, true);
    ram_verify_worker_start(v);
    ram_verify_page_in_place(v, block(blocks, 0), 1, false);
}

/*
 * Kept worker (the fuzz targets): parked between loads, not joined, taken
 * back by the next; each load still digests every page, a flipped byte is
 * still named.
 */
static void test_worker_kept(void)
{
    VerifyPair p;
    RAMVerify *v;
    g_autoptr(GBytes) verify = NULL;
    g_autoptr(GBytes) ram = NULL;
    g_autoptr(GError) err = NULL;

    pair_init(&p);
    v = ram_state_verify(p.dst);
    ram_verify_set_keep_worker(v, true);
    ram = pair_save(&p, &verify);
    for (int load = 0; load < 3; load++) {
        ram_verify_start(v, true);
        g_assert_true(pair_load(&p, ram, verify, &err));
        g_assert_no_error(err);
        check_status(p.dst, VERIFY_RAM_STATUS_PASSED);
    }
    find_marked_page(ram)[7] ^= 0x01;
    ram_verify_start(v, true);
    g_assert_false(pair_load(&p, ram, verify, &err));
    g_assert_cmpstr(err->message, ==, "x-verify-ram: RAM differs from the source's in block "
                    "\"pc.ram\" at 0x100000-0x1fffff");
    pair_cleanup(&p);                       /* ram_verify_free() joins the parked thread */
}

/* The source's status when the destination's comparison failed (its SHUT said so). */
static void test_peer_mismatch(void)
{
    g_autoptr(GPtrArray) blocks = test_blocks_new("pc.ram", 16, NULL, 0);
    g_autoptr(RAMVerify) v = ram_verify_new(blocks);
    g_autoptr(VerifyRamInfo) active = NULL;
    g_autoptr(VerifyRamInfo) failed = NULL;

    ram_verify_set_peer_mismatch(v);        /* inactive: nothing to say */
    ram_verify_start(v, true);
    active = ram_verify_info(v, false);
    g_assert_cmpint(active->status, ==, VERIFY_RAM_STATUS_ACTIVE);
    ram_verify_set_peer_mismatch(v);
    failed = ram_verify_info(v, false);
    g_assert_cmpint(failed->status, ==, VERIFY_RAM_STATUS_FAILED);
    g_assert_null(failed->mismatch_block);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-verify/worker/agrees", test_worker_agrees);
    g_test_add_func("/ram-verify/worker/mismatch", test_worker_mismatch);
    g_test_add_func("/ram-verify/worker/stop-queued", test_worker_stop_queued);
    g_test_add_func("/ram-verify/worker/kept", test_worker_kept);
    g_test_add_func("/ram-verify/peer-mismatch", test_peer_mismatch);
    return g_test_run();
}
