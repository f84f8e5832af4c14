/*
 * libFuzzer target: one multifd channel as the destination reads it
 * (multifd_recv_channel_run(), migration/multifd-recv.c): the 64-byte
 * MultiFDInit, then packets (header, page offsets, pages or a zlib / zstd
 * payload) written into a 1 MiB "pc.ram", with x-verify-ram digesting
 * what lands.  The input's first byte picks the compression (its value
 * modulo 3: none, zlib, zstd), the rest is the channel's bytes.  A SYNC
 * packet ends the run: the load thread that would release it is not here,
 * so the receiver is told to quit before it starts.
 */
#include "multifd.h"
#include "migration-fakes.h"
#include "migration/channel.h"
#include "migration/ram-verify.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_MULTIFD_RAM    (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built on the first input and kept: the target runs inputs one at a time. */
typedef struct FuzzMultifd {
    GPtrArray *blocks;              /* one RAMBlock, "pc.ram" */
    RAMVerify *verify;
    int memfd;                      /* holds the channel's bytes */
} FuzzMultifd;

static FuzzMultifd *fuzz_multifd_get(void)
{
    static FuzzMultifd *fm;
    RAMBlock *rb;

    if (fm) {
        return fm;
    }
    fm = g_new0(FuzzMultifd, 1);
    rb = g_new0(RAMBlock, 1);
    rb->idstr = g_strdup("pc.ram");
    rb->used_length = FUZZ_MULTIFD_RAM;
    rb->page_size = TARGET_PAGE_SIZE;
    rb->fd = -1;
    rb->host = mmap(NULL, FUZZ_MULTIFD_RAM, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fm->memfd = memfd_create("fuzz-multifd", MFD_CLOEXEC);
    if (rb->host == MAP_FAILED || fm->memfd < 0) {
        perror("fuzz-multifd");
        abort();
    }
    fm->blocks = g_ptr_array_new_with_free_func(fake_ram_block_free);
    g_ptr_array_add(fm->blocks, rb);
    fm->verify = ram_verify_new(fm->blocks);
    return fm;
}

/* A channel over a copy of @data (a regular file: plain reads, no polling). */
static Channel *fuzz_multifd_channel(FuzzMultifd *fm, const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;
    Channel *ch;

    if (ftruncate(fm->memfd, 0) < 0 ||
        (size && pwrite(fm->memfd, data, size, 0) != (ssize_t)size) ||
        lseek(fm->memfd, 0, SEEK_SET) < 0) {
        perror("fuzz-multifd: memfd");
        abort();
    }
    ch = channel_new_fd(dup(fm->memfd), NULL, &err);
    if (!ch) {
        fprintf(stderr, "fuzz-multifd: %s\n", err->message);
        abort();
    }
    return ch;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const MultiFDCompression methods[] = {
        MULTIFD_COMPRESSION_NONE, MULTIFD_COMPRESSION_ZLIB, MULTIFD_COMPRESSION_ZSTD,
    };
    FuzzMultifd *fm = fuzz_multifd_get();
    g_autoptr(GError) err = NULL;
    MultiFDRecvConfig cfg = { .channels = 4, .verify = fm->verify };
    ChannelCancel *cancel;
    MultiFDRecv *mf;

    if (!size) {
        return 0;
    }
    cfg.compression = methods[data[0] % G_N_ELEMENTS(methods)];
    cancel = channel_cancel_new(&err);
    if (!cancel) {
        abort();
    }
    ram_verify_start(fm->verify, true);
    mf = multifd_recv_new(&cfg, fm->blocks, cancel);
    multifd_recv_shutdown(mf);
    multifd_recv_channel_run(mf, fuzz_multifd_channel(fm, data + 1, size - 1), &err);
    multifd_recv_free(mf);
    channel_cancel_unref(cancel);
    return 0;
}
