/*
 * libFuzzer target: the source's return-path reader (migration/return-path.c)
 * over the destination's bytes: message headers, lengths, SHUT, PONG,
 * SWITCHOVER_ACK, page requests (REQ_PAGES_ID / REQ_PAGES), which go
 * to the postcopy request queue of the fuzz machine's RAM
 * (ram_postcopy_queue_request(): block, alignment and range checks) as
 * they would during postcopy, and postcopy recovery's RECV_BITMAP (the
 * received bitmap that follows it, into the RAM's dirty bitmap through
 * ram_recover_load_bitmap(): size, payload and end mark) and RESUME_ACK.  The bytes arrive on a socketpair, the
 * reader runs on its own thread as in a migration and is joined.
 */
#include "fuzz-machine.h"
#include "return-path.h"
#include "exec/ramblock.h"
#include "qemu/bitmap.h"
#include "migration/qemu-file.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* What one socketpair buffers without a reader: longer inputs are cut. */
#define FUZZ_RP_MAX_INPUT   (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_rp_pong(void *opaque, uint32_t value)
{
}

static bool fuzz_rp_req_pages(void *opaque, const char *block, uint64_t start,
                              uint64_t len, GError **errp)
{
    return ram_postcopy_queue_request(((FuzzMachine *)opaque)->ram, block, start, len, errp);
}

static void fuzz_rp_switchover_ack(void *opaque)
{
}

static bool fuzz_rp_recv_bitmap(void *opaque, const char *block, QEMUFile *from_dst,
                                GError **errp)
{
    return ram_recover_load_bitmap(((FuzzMachine *)opaque)->ram, block, from_dst, errp);
}

static bool fuzz_rp_resume_ack(void *opaque, GError **errp)
{
    return true;
}

static void fuzz_rp_failed(void *opaque, const GError *err)
{
}

static const ReturnPathSourceOps fuzz_rp_ops = {
    .pong = fuzz_rp_pong,
    .req_pages = fuzz_rp_req_pages,
    .switchover_ack = fuzz_rp_switchover_ack,
    .recv_bitmap = fuzz_rp_recv_bitmap,
    .resume_ack = fuzz_rp_resume_ack,
    .failed = fuzz_rp_failed,
};

/* Built on the first input and kept: the target runs inputs one at a time. */
static FuzzMachine *fuzz_rp_machine(void)
{
    static FuzzMachine *m;

    if (!m) {
        m = fuzz_machine_new();
        /* A recovering source has a dirty bitmap: RECV_BITMAP rewrites it. */
        for (guint i = 0; i < m->blocks->len; i++) {
            RAMBlock *rb = g_ptr_array_index(m->blocks, i);

            rb->bmap = bitmap_new(ramblock_pages(rb));
        }
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzMachine *m = fuzz_rp_machine();
    g_autoptr(GError) err = NULL;
    ReturnPathSource *rp;
    QEMUFile *to_dst;
    int sv[2];

    size = MIN(size, FUZZ_RP_MAX_INPUT);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("socketpair");
        abort();
    }
    /* The destination's side: everything it says, then it hangs up. */
    if (size && write(sv[1], data, size) != (ssize_t)size) {
        perror("fuzz-return-path: write");
        abort();
    }
    close(sv[1]);
    to_dst = qemu_file_new_fd(sv[0], true, &err);
    if (!to_dst) {
        abort();
    }
    ram_postcopy_source_start(m->ram);
    rp = return_path_source_start(to_dst, &fuzz_rp_ops, m, &err);
    if (!rp) {
        abort();
    }
    return_path_source_join(rp, NULL);
    ram_postcopy_source_stop(m->ram);   /* drops the queued requests */
    qemu_fclose(to_dst, NULL);
    return 0;
}
