/*
 * libFuzzer target: the qtest protocol server (system/qtest.c) over a
 * 64 KiB RAM block mapped at 0 and a fake port space: lines split into
 * commands and numbers, sizes checked against the RAM, hex and base64
 * payloads, clock_step / clock_set.  The RAM is small because a read's
 * reply is formatted byte by byte and the fuzzer soon finds the largest.  The input is fed in pieces (the
 * first byte, plus one, is the piece size) as a chardev would deliver it,
 * so partial lines and the line length limit are exercised too.  Checked:
 * every reply is one line starting "OK" or "FAIL".
 */
#include "qemu/main-loop.h"
#include "sysemu/memory.h"
#include "qtest.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_QTEST_RAM  (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t fuzz_pio_read(void *opaque, uint16_t port, unsigned size)
{
    return port * 0x01010101u >> (32 - size * 8);
}

static void fuzz_pio_write(void *opaque, uint16_t port, unsigned size, uint32_t v)
{
}

/* Built on the first input and kept: a fresh server per input, the same RAM. */
static GuestMemory *fuzz_qtest_memory(void)
{
    static GuestMemory *gm;
    g_autoptr(GError) err = NULL;
    RAMBlock *rb;

    if (!gm) {
        gm = guest_memory_new();
        rb = memory_add_main_ram(gm, FUZZ_QTEST_RAM, &err);
        if (!rb || !memory_map_block(gm, rb, 0, &err)) {
            fprintf(stderr, "fuzz-qtest: %s\n", err->message);
            abort();
        }
        bql_lock();
    }
    return gm;
}

/* Every reply line starts with OK or FAIL. */
static void fuzz_qtest_check(const GString *out)
{
    const char *p = out->str;

    while (p < out->str + out->len) {
        const char *nl = memchr(p, '\n', out->str + out->len - p);

        if (!nl || (strncmp(p, "OK", 2) && strncmp(p, "FAIL", 4))) {
            fprintf(stderr, "fuzz-qtest: bad reply '%.*s'\n", (int)MIN(80, out->len), p);
            abort();
        }
        p = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QTestOps ops = { .pio_read = fuzz_pio_read, .pio_write = fuzz_pio_write,
                     .memory = fuzz_qtest_memory() };
    g_autoptr(GString) out = g_string_new(NULL);
    QTestServer *s;
    size_t piece;

    if (!size) {
        return 0;
    }
    ops.has_clock = data[0] & 1;
    piece = (size_t)data[0] + 1;
    s = qtest_server_new(&ops);
    for (size_t off = 1; off < size; off += piece) {
        qtest_server_feed(s, (const char *)data + off, MIN(piece, size - off), out);
    }
    qtest_server_free(s);
    fuzz_qtest_check(out);
    return 0;
}
