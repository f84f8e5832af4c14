/*
 * tern's RAM loader and XBZRLE encoder run on pieces of a QEMU stream, for
 * test_analyze_stream.py's QEMU interop test (the analyser cuts the pieces
 * out; QEMU's device sections cannot load into tern's machine).
 *
 *   ram-replay load BLOCKS PAYLOAD OUTDIR
 *       BLOCKS: lines "NAME LENGTH"; PAYLOAD: the ram sections' bodies one
 *       after the other.  Loads them with tern's loader (compressed pages
 *       accepted, as with capability compress) into fresh blocks
 *       and writes each block to OUTDIR/ram-NAME.bin ('/' in NAME as '_').
 *   ram-replay encode TRIPLES
 *       TRIPLES: records of be16 LEN, the page before (4096 bytes), the page
 *       after, and the LEN-byte delta QEMU sent.  Encodes each pair with
 *       tern's encoder and compares the bytes.
 *
 * Prints what it did; exits 1 on the first failure, naming it.
 */
#include "migration/ram.h"
#include "xbzrle.h"
#include "qemu/error.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static RAMBlock *replay_block_new(const char *name, uint64_t length)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);

    rb->idstr = g_strdup(name);
    rb->used_length = length;
    rb->host = mmap(NULL, length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    g_assert(rb->host != MAP_FAILED);
    rb->page_size = TARGET_PAGE_SIZE;
    rb->fd = -1;
    return rb;
}

static void replay_block_free(gpointer p)
{
    RAMBlock *rb = p;

    munmap(rb->host, rb->used_length);
    g_free(rb->idstr);
    g_free(rb);
}

static GPtrArray *replay_read_blocks(const char *path, GError **errp)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *blocks;

    if (!g_file_get_contents(path, &text, NULL, errp)) {
        return NULL;
    }
    blocks = g_ptr_array_new_with_free_func(replay_block_free);
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit(*l, " ", 2);

        if (f[0] && f[1]) {
            g_ptr_array_add(blocks, replay_block_new(f[0], g_ascii_strtoull(f[1], NULL, 0)));
        }
    }
    return blocks;
}

static bool replay_write_block(const RAMBlock *rb, const char *outdir, GError **errp)
{
    g_autofree char *safe = g_strdelimit(g_strdup(rb->idstr), "/", '_');
    g_autofree char *name = g_strdup_printf("ram-%s.bin", safe);
    g_autofree char *path = g_build_filename(outdir, name, NULL);

    return g_file_set_contents(path, (const char *)rb->host, rb->used_length, errp);
}

static bool replay_load(const char *blocks_path, const char *payload_path, const char *outdir,
                        GError **errp)
{
    g_autoptr(GPtrArray) blocks = replay_read_blocks(blocks_path, errp);
    g_autoptr(RAMState) rs = NULL;
    g_autofree char *data = NULL;
    unsigned sections = 0;
    size_t len;
    QEMUFile *f;
    bool ok;

    if (!blocks || !g_file_get_contents(payload_path, &data, &len, errp)) {
        return false;
    }
    rs = ram_load_state_new(blocks);
    /* As a destination with capability compress: QEMU's stream may carry compressed pages. */
    ram_state_set_decompress(rs, true, 2);
    f = qemu_file_new_input_buffer(data, len);
    ok = ram_save_handlers.load_setup(rs, errp);
    while (ok && qemu_peek_byte(f, 0) >= 0) {
        ok = ram_save_handlers.load_state(f, rs, RAM_SECTION_VERSION, errp);
        sections++;
    }
    ram_save_handlers.load_cleanup(rs);
    qemu_fclose(f, NULL);
    if (!ok) {
        return false;
    }
    for (guint i = 0; i < blocks->len; i++) {
        if (!replay_write_block(g_ptr_array_index(blocks, i), outdir, errp)) {
            return false;
        }
    }
    printf("loaded %u ram section bodies (%zu bytes) into %u blocks\n", sections, len,
           blocks->len);
    return true;
}

static bool replay_encode(const char *path, GError **errp)
{
    g_autofree uint8_t *data = NULL;
    uint8_t out[TARGET_PAGE_SIZE];
    size_t len, pos = 0;
    unsigned n = 0;

    if (!g_file_get_contents(path, (char **)&data, &len, errp)) {
        return false;
    }
    while (pos < len) {
        size_t dlen;
        const uint8_t *old, *new, *delta;
        int got;

        if (len - pos < 2 + 2 * TARGET_PAGE_SIZE ||
            len - pos - 2 - 2 * TARGET_PAGE_SIZE < (dlen = (data[pos] << 8) | data[pos + 1])) {
            error_setg(errp, "%s: record %u is cut short", path, n);
            return false;
        }
        old = data + pos + 2;
        new = old + TARGET_PAGE_SIZE;
        delta = new + TARGET_PAGE_SIZE;
        got = xbzrle_encode(old, new, TARGET_PAGE_SIZE, out, TARGET_PAGE_SIZE);
        if (got != (int)dlen || memcmp(out, delta, dlen) != 0) {
            error_setg(errp, "delta %u: QEMU sent %zu bytes, tern encodes %d%s", n, dlen, got,
                       got == (int)dlen ? " different ones" : "");
            return false;
        }
        pos += 2 + 2 * TARGET_PAGE_SIZE + dlen;
        n++;
    }
    printf("%u deltas encoded byte for byte as QEMU sent them (encoder: %s)\n", n,
           xbzrle_encoder_name());
    return true;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    bool ok;

    if (argc == 5 && !strcmp(argv[1], "load")) {
        ok = replay_load(argv[2], argv[3], argv[4], &err);
    } else if (argc == 3 && !strcmp(argv[1], "encode")) {
        ok = replay_encode(argv[2], &err);
    } else {
        fprintf(stderr, "usage: ram-replay load BLOCKS PAYLOAD OUTDIR | encode TRIPLES\n");
        return 2;
    }
    if (!ok) {
        fprintf(stderr, "ram-replay: %s\n", err->message);
        return 1;
    }
    return 0;
}
