/*
 * libFuzzer target: a postcopy stream as the destination loads it, from
 * the file header on (savevm_state_load(), then savevm_state_load_more()
 * for what follows POSTCOPY_RUN, as the listen thread reads it), into the
 * fuzz machine.  The commands go through the real parser
 * (savevm-commands.c: lengths, versions, the discard ranges, PACKAGED
 * and its nested stream) to handlers that keep postcopy-dest.c's order
 * (ADVISE, then RAM_DISCARD, LISTEN, RUN) over the RAM's real postcopy
 * side (ram-postcopy.c): ADVISE's page size checks, received bitmaps,
 * discards checked against the blocks, and after LISTEN pages placed
 * with UFFDIO_COPY / UFFDIO_ZEROPAGE into RAM registered with a real
 * userfaultfd (where the host gives none, LISTEN fails, as tern's would).
 * Nothing here reads guest RAM while it is registered: no fault thread
 * is needed.
 */
#include "fuzz-machine.h"
#include "savevm-commands.h"
#include "migration/qemu-file.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* postcopy-dest.c's states, in the order the commands must come. */
typedef enum FuzzPostcopyState {
    FUZZ_PC_NONE, FUZZ_PC_ADVISE, FUZZ_PC_DISCARD, FUZZ_PC_LISTEN, FUZZ_PC_RUN,
} FuzzPostcopyState;

typedef struct FuzzPostcopy {
    FuzzMachine *m;
    FuzzPostcopyState state;
    int uffd;
} FuzzPostcopy;

static bool fuzz_pc_open_return_path(void *opaque, QEMUFile *f, GError **errp)
{
    return true;                /* nobody listens: the answers are not the target */
}

static bool fuzz_pc_ping(void *opaque, uint32_t value, GError **errp)
{
    return true;
}

static bool fuzz_pc_advise(void *opaque, uint64_t summary, uint64_t target_page_size,
                           GError **errp)
{
    FuzzPostcopy *pc = opaque;

    if (pc->state != FUZZ_PC_NONE) {
        error_setg(errp, "CMD_POSTCOPY_ADVISE in wrong postcopy state (%d)", pc->state);
        return false;
    }
    if (!ram_postcopy_incoming_advise(pc->m->ram, summary, target_page_size, errp)) {
        return false;
    }
    pc->state = FUZZ_PC_ADVISE;
    return true;
}

static bool fuzz_pc_discard(void *opaque, const char *name, const uint64_t *starts,
                            const uint64_t *lengths, size_t n, GError **errp)
{
    FuzzPostcopy *pc = opaque;

    if (pc->state != FUZZ_PC_ADVISE && pc->state != FUZZ_PC_DISCARD) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD in wrong postcopy state (%d)", pc->state);
        return false;
    }
    pc->state = FUZZ_PC_DISCARD;
    for (size_t i = 0; i < n; i++) {
        if (!ram_postcopy_incoming_discard(pc->m->ram, name, starts[i], lengths[i], errp)) {
            return false;
        }
    }
    return true;
}

static bool fuzz_pc_listen(void *opaque, QEMUFile *f, GError **errp)
{
    FuzzPostcopy *pc = opaque;
    struct uffdio_api api = { .api = UFFD_API };

    if (pc->state != FUZZ_PC_ADVISE && pc->state != FUZZ_PC_DISCARD) {
        error_setg(errp, "CMD_POSTCOPY_LISTEN in wrong postcopy state (%d)", pc->state);
        return false;
    }
    pc->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (pc->uffd < 0 || ioctl(pc->uffd, UFFDIO_API, &api) < 0) {
        error_setg_errno(errp, errno, "userfaultfd");
        return false;
    }
    pc->state = FUZZ_PC_LISTEN;
    return ram_postcopy_incoming_listen(pc->m->ram, pc->uffd, errp);
}

static bool fuzz_pc_run(void *opaque, GError **errp)
{
    FuzzPostcopy *pc = opaque;

    if (pc->state != FUZZ_PC_LISTEN) {
        error_setg(errp, "CMD_POSTCOPY_RUN in wrong postcopy state (%d)", pc->state);
        return false;
    }
    pc->state = FUZZ_PC_RUN;
    return true;
}

/* A recovering destination sends what it received; here it is built and dropped. */
static bool fuzz_pc_recv_bitmap(void *opaque, const char *block, GError **errp)
{
    FuzzPostcopy *pc = opaque;
    g_autofree void *bitmap = NULL;
    uint64_t size;

    if (pc->state != FUZZ_PC_RUN) {
        error_setg(errp, "CMD_RECV_BITMAP in wrong postcopy state (%d)", pc->state);
        return false;
    }
    bitmap = ram_recover_received_bitmap(pc->m->ram, block, &size, errp);
    return bitmap != NULL;
}

static void fuzz_pc_page_waiting(void *opaque, const RAMBlock *rb, uint64_t offset)
{
    g_assert(offset < rb->used_length);
}

static bool fuzz_pc_resume(void *opaque, GError **errp)
{
    FuzzPostcopy *pc = opaque;

    if (pc->state != FUZZ_PC_RUN) {
        error_setg(errp, "CMD_POSTCOPY_RESUME in wrong postcopy state (%d)", pc->state);
        return false;
    }
    ram_recover_foreach_waiting(pc->m->ram, fuzz_pc_page_waiting, pc);
    return true;
}

static const SaveVMCommandOps fuzz_pc_ops = {
    .open_return_path = fuzz_pc_open_return_path,
    .ping = fuzz_pc_ping,
    .postcopy_advise = fuzz_pc_advise,
    .postcopy_listen = fuzz_pc_listen,
    .postcopy_run = fuzz_pc_run,
    .postcopy_ram_discard = fuzz_pc_discard,
    .postcopy_resume = fuzz_pc_resume,
    .recv_bitmap = fuzz_pc_recv_bitmap,
};

/* Back to a machine that never migrated: RAM unregistered and empty, no bitmaps. */
static void fuzz_pc_reset(FuzzPostcopy *pc)
{
    ram_postcopy_incoming_end(pc->m->ram);
    if (pc->uffd >= 0) {
        close(pc->uffd);
        pc->uffd = -1;
    }
    for (guint i = 0; i < pc->m->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(pc->m->blocks, i);

        madvise(rb->host, rb->used_length, MADV_DONTNEED);
    }
    pc->state = FUZZ_PC_NONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FuzzPostcopy pc = { .uffd = -1 };
    g_autoptr(GError) err = NULL;
    QEMUFile *in;

    if (!pc.m) {
        pc.m = fuzz_machine_new();
        savevm_set_command_ops(pc.m->s, &fuzz_pc_ops, &pc);
    }
    in = qemu_file_new_input_buffer(data, size);
    if (savevm_state_load(pc.m->s, in, &pc.m->cfg, &err) &&
        savevm_state_load_quit(pc.m->s)) {
        savevm_state_load_more(pc.m->s, in, &err);
        savevm_state_load_finish(pc.m->s);
    }
    qemu_fclose(in, NULL);
    fuzz_pc_reset(&pc);
    return 0;
}
