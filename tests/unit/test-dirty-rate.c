/*
 * The page hash of page sampling (migration/dirty-rate.c): XXH64 of one
 * target page with seed 1, low 32 bits, as QEMU's dirty rate uses it.
 * The expected values come from the xxHash library (libxxhash 0.8.1,
 * XXH64(page, 4096, 1) & 0xffffffff).
 */
#include "dirty-rate.h"
#include "exec/ramblock.h"

#include <glib.h>

static void test_page_hash(void)
{
    g_autofree uint8_t *page = g_malloc0(TARGET_PAGE_SIZE);

    g_assert_cmphex(dirty_rate_page_hash(page), ==, 0x8266bfde);
    for (unsigned i = 0; i < TARGET_PAGE_SIZE; i++) {
        page[i] = i % 251;
    }
    g_assert_cmphex(dirty_rate_page_hash(page), ==, 0x75b119e6);
    /* a-b's kind of write: one byte per page changes the hash. */
    page[0]++;
    g_assert_cmphex(dirty_rate_page_hash(page), !=, 0x75b119e6);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dirty-rate/page-hash", test_page_hash);
    return g_test_run();
}
