/*
 * Postcopy, destination side (postcopy-dest.h).
 *
 * Threads: the command handlers run on the incoming thread, which also
 * places every page that arrives (ram-postcopy.c).  The fault thread
 * reads the userfaultfd and sends page requests on the return path; it
 * never places a page from the source, only a zero page for one that
 * arrived as a zero record and was left unmapped (before LISTEN, or after
 * it when no vCPU waited for it: the kernel has no page there, but its
 * content is known).  RUN schedules
 * the guest's start on the main loop, like the end of a precopy load.
 */
#include "postcopy-dest.h"
#include "postcopy-blocktime.h"
#include "postcopy-preempt.h"
#include "incoming-resume.h"
#include "return-path.h"
#include "migration/ram.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct PostcopyIncoming {
    PostcopyState state;        /* incoming thread */
    int uffd;
    int quit_efd;               /* readable: the fault thread ends */
    GThread *fault_thread;
    GSource *run;               /* RUN's guest start, until the main loop ran it */
    gint ran;                   /* atomic: the guest was started here */
    bool thread_ids;            /* faults say which thread (blocktime per vCPU) */
    PostcopyBlocktime *bt;      /* faults, waits, latencies; kept until freed */
};

/* A userfaultfd, by the syscall or, where that is not allowed, /dev/userfaultfd. */
static int postcopy_uffd_open(GError **errp)
{
    int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    int saved = errno;

    if (fd < 0) {
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

        if (dev >= 0) {
            fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
            saved = errno;
            close(dev);
        }
    }
    if (fd < 0) {
        error_setg_errno(errp, saved, "Postcopy is not supported: userfaultfd not "
                         "available");
        return -1;
    }
    return fd;
}

/* Negotiate the API on @fd with @features; the ioctls postcopy needs must be there. */
static bool postcopy_uffd_api(int fd, uint64_t features, GError **errp)
{
    struct uffdio_api api = { .api = UFFD_API, .features = features };

    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        if (features & UFFD_FEATURE_THREAD_ID) {
            error_setg_errno(errp, errno, "Postcopy blocktime needs "
                             "UFFD_FEATURE_THREAD_ID, which this kernel lacks");
        } else {
            error_setg_errno(errp, errno, "Postcopy is not supported: UFFDIO_API failed");
        }
        return false;
    }
    if (!(api.ioctls & (1ull << _UFFDIO_REGISTER))) {
        error_setg(errp, "Postcopy is not supported: userfaultfd cannot register memory");
        return false;
    }
    return true;
}

bool postcopy_userfaultfd_supported(GError **errp)
{
    int fd = postcopy_uffd_open(errp);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = postcopy_uffd_api(fd, 0, errp);
    close(fd);
    return ok;
}

/* Incoming thread: the state, created whole before query-migrate can see it. */
static PostcopyIncoming *postcopy_get(MigrationIncomingState *mis)
{
    const MigrationMachineOps *m = &mis->machine;
    PostcopyIncoming *pc = mis->postcopy;

    if (!pc) {
        pc = g_new0(PostcopyIncoming, 1);
        pc->uffd = -1;
        pc->quit_efd = -1;
        pc->thread_ids = migrate_cap(mis->opts, MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME) &&
                         m->vcpu_count && m->vcpu_index_of_thread;
        pc->bt = postcopy_blocktime_new(m->vcpu_count ? m->vcpu_count(m->opaque) : 0,
                                        pc->thread_ids);
        g_atomic_pointer_set(&mis->postcopy, pc);
    }
    return pc;
}

/* ---- commands ---- */

bool postcopy_incoming_advise(void *opaque, uint64_t ram_pagesize_summary,
                              uint64_t target_page_size, GError **errp)
{
    MigrationIncomingState *mis = opaque;
    PostcopyIncoming *pc = postcopy_get(mis);

    if (pc->state != POSTCOPY_INCOMING_NONE) {
        error_setg(errp, "CMD_POSTCOPY_ADVISE in wrong postcopy state (%d)", pc->state);
        return false;
    }
    if (!migrate_cap(mis->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM)) {
        error_setg(errp, "the source wants postcopy but the postcopy-ram capability "
                   "is off here: set it on both sides");
        return false;
    }
    pc->uffd = postcopy_uffd_open(errp);
    if (pc->uffd < 0 ||
        !postcopy_uffd_api(pc->uffd, pc->thread_ids ? UFFD_FEATURE_THREAD_ID : 0, errp) ||
        !ram_postcopy_incoming_advise(mis->ram, ram_pagesize_summary,
                                      target_page_size, errp)) {
        return false;
    }
    pc->state = POSTCOPY_INCOMING_ADVISE;
    return true;
}

bool postcopy_incoming_discard(void *opaque, const char *name, const uint64_t *starts,
                               const uint64_t *lengths, size_t n, GError **errp)
{
    MigrationIncomingState *mis = opaque;
    PostcopyIncoming *pc = postcopy_get(mis);

    if (pc->state != POSTCOPY_INCOMING_ADVISE &&
        pc->state != POSTCOPY_INCOMING_DISCARD) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD in wrong postcopy state (%d)",
                   pc->state);
        return false;
    }
    pc->state = POSTCOPY_INCOMING_DISCARD;
    for (size_t i = 0; i < n; i++) {
        if (!ram_postcopy_incoming_discard(mis->ram, name, starts[i], lengths[i], errp)) {
            return false;
        }
    }
    return true;
}

/* The vCPU whose thread faulted, or -1. */
static int postcopy_fault_vcpu(MigrationIncomingState *mis, const struct uffd_msg *msg)
{
    const MigrationMachineOps *m = &mis->machine;

    if (!mis->postcopy->thread_ids) {
        return -1;
    }
    return m->vcpu_index_of_thread(m->opaque, msg->arg.pagefault.feat.ptid);
}

/* Place a zero page at @addr, which arrived as one, for the vCPU waiting there. */
static void postcopy_place_zero(PostcopyIncoming *pc, uint64_t addr, int cpu)
{
    struct uffdio_zeropage zero = {
        .range = { .start = addr, .len = TARGET_PAGE_SIZE },
    };

    postcopy_blocktime_fault(pc->bt, addr, cpu, false);
    if (ioctl(pc->uffd, UFFDIO_ZEROPAGE, &zero) < 0 && errno == EEXIST) {
        /* Placed meanwhile; whoever placed it woke the faulting thread. */
        ioctl(pc->uffd, UFFDIO_WAKE, &zero.range);
    }
    postcopy_blocktime_placed(pc->bt, addr);
}

/* A fault on @addr: a zero page that never got a page of its own, or ask the source. */
static void postcopy_handle_fault(MigrationIncomingState *mis, uint64_t addr, int cpu)
{
    PostcopyIncoming *pc = mis->postcopy;
    uint64_t offset;
    RAMBlock *rb = ram_postcopy_block_of(mis->ram, addr, &offset);

    if (!rb) {
        error_report("postcopy: fault at 0x%" PRIx64 " outside guest RAM", addr);
        return;
    }
    /*
     * Received but not mapped: a zero page (from precopy, or one the
     * incoming thread left unmapped).  Checked again after marking the
     * request: a zero page arriving in between is then ours to place.
     */
    if (!ram_postcopy_received(rb, offset)) {
        ram_postcopy_mark_requested(rb, offset);
        if (!ram_postcopy_received(rb, offset)) {
            postcopy_blocktime_fault(pc->bt, addr, cpu, true);
            return_path_dst_send_req_pages(mis->rp, rb->idstr, offset, TARGET_PAGE_SIZE);
            return;
        }
    }
    postcopy_place_zero(pc, addr, cpu);
}

static gpointer postcopy_fault_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    PostcopyIncoming *pc = mis->postcopy;
    struct pollfd pfd[2] = {
        { .fd = pc->uffd, .events = POLLIN },
        { .fd = pc->quit_efd, .events = POLLIN },
    };

    for (;;) {
        struct uffd_msg msg;

        if (poll(pfd, G_N_ELEMENTS(pfd), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_report("postcopy fault thread: poll: %s", g_strerror(errno));
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        if (read(pc->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
            continue;       /* EAGAIN: another wake-up took it */
        }
        if (msg.event == UFFD_EVENT_PAGEFAULT) {
            postcopy_handle_fault(mis, msg.arg.pagefault.address & TARGET_PAGE_MASK,
                                  postcopy_fault_vcpu(mis, &msg));
        }
    }
    return NULL;
}

static void postcopy_page_placed(void *opaque, uint64_t host_addr)
{
    postcopy_blocktime_placed(opaque, host_addr);
}

bool postcopy_incoming_listen(void *opaque, QEMUFile *f, GError **errp)
{
    MigrationIncomingState *mis = opaque;
    PostcopyIncoming *pc = postcopy_get(mis);

    if (pc->state != POSTCOPY_INCOMING_ADVISE &&
        pc->state != POSTCOPY_INCOMING_DISCARD) {
        error_setg(errp, "CMD_POSTCOPY_LISTEN in wrong postcopy state (%d)", pc->state);
        return false;
    }
    if (!mis->rp) {
        error_setg(errp, "CMD_POSTCOPY_LISTEN without a return path");
        return false;
    }
    pc->quit_efd = eventfd(0, EFD_CLOEXEC);
    if (pc->quit_efd < 0) {
        error_setg_errno(errp, errno, "postcopy fault thread eventfd");
        return false;
    }
    if (!ram_postcopy_incoming_listen(mis->ram, pc->uffd, errp)) {
        return false;
    }
    ram_postcopy_set_placed_hook(mis->ram, postcopy_page_placed, pc->bt);
    pc->state = POSTCOPY_INCOMING_LISTENING;
    pc->fault_thread = g_thread_new("mig/dst/fault", postcopy_fault_thread, mis);
    postcopy_preempt_dst_listen(mis);
    migrate_set_state(&mis->state, mis->opts, MIGRATION_STATUS_ACTIVE,
                      MIGRATION_STATUS_POSTCOPY_ACTIVE);
    return true;
}

/* Main loop, BQL held: RUN's guest start. */
static gboolean postcopy_run_guest(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;

    g_clear_pointer(&mis->postcopy->run, g_source_unref);
    g_atomic_int_set(&mis->postcopy->ran, 1);
    incoming_resume_guest(mis);
    return G_SOURCE_REMOVE;
}

bool postcopy_incoming_run(void *opaque, GError **errp)
{
    MigrationIncomingState *mis = opaque;
    PostcopyIncoming *pc = postcopy_get(mis);

    if (pc->state != POSTCOPY_INCOMING_LISTENING) {
        error_setg(errp, "CMD_POSTCOPY_RUN in wrong postcopy state (%d)", pc->state);
        return false;
    }
    pc->state = POSTCOPY_INCOMING_RUNNING;
    /* Not main_loop_schedule(): the exit path must be able to drop it (see incoming.c). */
    pc->run = g_idle_source_new();
    g_source_set_priority(pc->run, G_PRIORITY_HIGH);
    g_source_set_callback(pc->run, postcopy_run_guest, mis, NULL);
    g_source_attach(pc->run, NULL);
    return true;
}

/* ---- the end ---- */

void postcopy_incoming_end(MigrationIncomingState *mis)
{
    PostcopyIncoming *pc = mis->postcopy;

    if (!pc) {
        return;
    }
    if (pc->fault_thread) {
        eventfd_write(pc->quit_efd, 1);
        g_thread_join(pc->fault_thread);
        pc->fault_thread = NULL;
    }
    ram_postcopy_incoming_end(mis->ram);
    if (pc->uffd >= 0) {
        close(pc->uffd);
        pc->uffd = -1;
    }
    if (pc->quit_efd >= 0) {
        close(pc->quit_efd);
        pc->quit_efd = -1;
    }
    pc->state = POSTCOPY_INCOMING_END;
}

void postcopy_incoming_info(MigrationIncomingState *mis, MigrationInfo *info)
{
    PostcopyIncoming *pc = g_atomic_pointer_get(&mis->postcopy);

    if (pc && g_atomic_int_get(&pc->ran)) {
        postcopy_blocktime_info(pc->bt, info);
    }
}

bool postcopy_incoming_running(MigrationIncomingState *mis)
{
    return mis->postcopy && mis->postcopy->state == POSTCOPY_INCOMING_RUNNING;
}

bool postcopy_incoming_ran(MigrationIncomingState *mis)
{
    return mis->postcopy && g_atomic_int_get(&mis->postcopy->ran);
}

void postcopy_incoming_free(MigrationIncomingState *mis)
{
    PostcopyIncoming *pc = mis->postcopy;

    if (!pc) {
        return;
    }
    postcopy_incoming_end(mis);
    if (pc->run) {
        g_source_destroy(pc->run);
        g_source_unref(pc->run);
    }
    postcopy_blocktime_free(pc->bt);
    g_clear_pointer(&mis->postcopy, g_free);
}
