/*
 * libFuzzer target: the XBZRLE decoder (migration/xbzrle.c) applying
 * arbitrary deltas to a page.  A delta it refuses must leave the page as
 * it was (its contract); one it accepts must have written only inside it
 * (AddressSanitizer watches the page's bounds: the page is allocated
 * exactly).
 */
#include "xbzrle.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_XBZRLE_PAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *page = g_malloc(FUZZ_XBZRLE_PAGE);
    uint8_t *before = g_malloc(FUZZ_XBZRLE_PAGE);
    GError *err = NULL;

    for (size_t i = 0; i < FUZZ_XBZRLE_PAGE; i++) {
        page[i] = (uint8_t)(i * 31);
    }
    memcpy(before, page, FUZZ_XBZRLE_PAGE);
    if (!xbzrle_decode(data, size, page, FUZZ_XBZRLE_PAGE, &err)) {
        if (memcmp(page, before, FUZZ_XBZRLE_PAGE)) {
            abort();                /* a refused delta changed the page */
        }
        g_error_free(err);
    }
    g_free(before);
    g_free(page);
    return 0;
}
