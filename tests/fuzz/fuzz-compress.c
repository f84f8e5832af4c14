/*
 * libFuzzer target: the compressed-page decoders a destination runs on
 * bytes from the network.  The first byte picks (modulo 3):
 *
 *   0  capability compress (QEMU's legacy compressed pages): the rest is a
 *      RAM section's page records, loaded by ram_load() into the fuzz
 *      machine's RAM with decompression on (two decompress threads), after
 *      a valid block list: COMPRESS_PAGE records (be32 length, zlib data)
 *      and any other record around them;
 *   1, 2  multifd zlib / zstd (multifd-compress.c): the second byte gives a
 *      packet's page count (1 to 8), the next two (be16) the first packet's
 *      length, the rest is two packets' payload decoded on one stream, as
 *      one channel decodes its packets.
 *
 * A decoded page must be whole: the decoders are checked not to write
 * past their pages (ASan) and to account for every input byte.
 */
#include "fuzz-machine.h"
#include "multifd.h"
#include "ram-internal.h"
#include "migration/qemu-file.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_COMPRESS_MAX_PAGES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_be64(GByteArray *b, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    g_byte_array_append(b, (const guint8 *)&be, sizeof(be));
}

/* The setup payload of the machine's RAM section: its block list, then EOS. */
static GBytes *fuzz_compress_block_list(FuzzMachine *m)
{
    GByteArray *b = g_byte_array_new();
    uint64_t total = 0;

    for (guint i = 0; i < m->blocks->len; i++) {
        total += ((RAMBlock *)g_ptr_array_index(m->blocks, i))->used_length;
    }
    put_be64(b, total | RAM_SAVE_FLAG_MEM_SIZE);
    for (guint i = 0; i < m->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(m->blocks, i);
        guint8 len = strlen(rb->idstr);

        g_byte_array_append(b, &len, 1);
        g_byte_array_append(b, (const guint8 *)rb->idstr, len);
        put_be64(b, rb->used_length);
    }
    put_be64(b, RAM_SAVE_FLAG_EOS);
    return g_byte_array_free_to_bytes(b);
}

/* Records into the machine's RAM, compressed pages on the decompress threads. */
static void fuzz_compress_ram(const uint8_t *data, size_t size)
{
    static FuzzMachine *m;
    static GBytes *setup;
    g_autoptr(GError) err = NULL;
    size_t setup_len;
    const uint8_t *setup_data;
    QEMUFile *f;
    bool ok;

    if (!m) {
        m = fuzz_machine_new();
        ram_state_set_decompress(m->ram, true, 2);
        setup = fuzz_compress_block_list(m);
    }
    setup_data = g_bytes_get_data(setup, &setup_len);
    ok = ram_save_handlers.load_setup(m->ram, &err);
    f = qemu_file_new_input_buffer(setup_data, setup_len);
    ok = ok && ram_save_handlers.load_state(f, m->ram, RAM_SECTION_VERSION, &err);
    qemu_fclose(f, NULL);
    if (!ok) {
        fprintf(stderr, "fuzz-compress: the block list: %s\n", err->message);
        abort();
    }
    f = qemu_file_new_input_buffer(data, size);
    while (ok && qemu_peek_byte(f, 0) >= 0) {
        ok = ram_save_handlers.load_state(f, m->ram, RAM_SECTION_VERSION, &err);
    }
    /* Whatever was handed to the threads lands (or fails) before the next input. */
    ram_decompress_wait(m->ram, ok ? &err : NULL);
    ram_save_handlers.load_cleanup(m->ram);
    qemu_fclose(f, NULL);
}

/* Up to two packets of @n pages each on one decompressing stream. */
static void fuzz_compress_multifd(MultiFDCompression method, const uint8_t *data, size_t size)
{
    static uint8_t *pages;
    struct iovec iov[FUZZ_COMPRESS_MAX_PAGES];
    MultiFDCompressor *c;
    unsigned n;
    size_t first;

    if (size < 3) {
        return;
    }
    if (!pages) {
        pages = g_malloc(FUZZ_COMPRESS_MAX_PAGES * TARGET_PAGE_SIZE);
    }
    n = 1 + data[0] % FUZZ_COMPRESS_MAX_PAGES;
    first = MIN((size_t)(data[1] << 8 | data[2]), size - 3);
    for (unsigned i = 0; i < n; i++) {
        iov[i] = (struct iovec) { pages + i * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE };
    }
    c = multifd_compressor_new(method, false, 0, NULL);
    if (!c) {
        abort();
    }
    data += 3;
    size -= 3;
    if (multifd_decompress_pages(c, data, first, iov, n, NULL)) {
        multifd_decompress_pages(c, data + first, size - first, iov, n, NULL);
    }
    multifd_compressor_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        fuzz_compress_ram(data + 1, size - 1);
        break;
    case 1:
        fuzz_compress_multifd(MULTIFD_COMPRESSION_ZLIB, data + 1, size - 1);
        break;
    default:
        fuzz_compress_multifd(MULTIFD_COMPRESSION_ZSTD, data + 1, size - 1);
        break;
    }
    return 0;
}
