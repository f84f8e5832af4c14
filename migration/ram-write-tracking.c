/*
 * RAM write tracking for background-snapshot (ram-write-tracking.h): the
 * userfaultfd that write-protects guest RAM from the snapshot instant, the
 * fault thread that copies a page out before its first write, and the
 * migration thread's side that saves the copies first and every other page
 * from guest memory.
 *
 * Who saves page P: whoever clears P's bit in rb->bmap (atomically).  The
 * migration thread exchanges whole words with zero, the fault thread clears
 * one bit; only the winner reads P and un-protects it afterwards, so P is
 * un-protected only once its content as of the instant is safe:
 *
 *   migration thread                  fault thread (guest wrote P)
 *   claims P's word                   claim of P fails: nothing to do
 *   saves P from guest memory         (the writer sleeps in the kernel)
 *   un-protects P  ------------------ the writer wakes, P changes
 *
 *   fault thread claims P, copies it into the ring, un-protects P (the
 *   writer wakes); the migration thread finds P's bit clear, and writes the
 *   ring's copy.
 */
#include "ram-write-tracking.h"
#include "ram-send.h"
#include "mapped-ram.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Kernel 6.4: write-protect pages never touched (older uapi headers lack the name). */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/*
 * Copies the ring holds: 16 MiB.  When it is full the fault thread waits
 * for the migration thread to drain it, and the writing guest waits too.
 */
#define RAM_WT_RING_PAGES       4096
/* Words of rb->bmap the migration thread claims at once: 1024 pages, 4 MiB. */
#define RAM_WT_CLAIM_WORDS      16
/* How long the migration thread waits for a copy before it looks at the stream again. */
#define RAM_WT_WAIT_MS          50

/* One page the fault thread copied out. */
typedef struct RAMWtCopy {
    RAMBlock *rb;
    uint64_t page;
} RAMWtCopy;

typedef struct RAMWriteTracking {
    int uffd;
    int quit_efd;                   /* readable: the fault thread ends */
    GPtrArray *blocks;              /* RAMBlock *, the RAM state's */
    GThread *thread;

    /*
     * The ring of copies: slots [head, head + count) are filled.  The fault
     * thread fills the slot after them, the migration thread writes the
     * filled ones out without the lock and frees them under it.
     */
    QemuMutex lock;
    QemuCond cond;                  /* a copy was added, or slots were freed */
    RAMWtCopy slots[RAM_WT_RING_PAGES];
    uint8_t *data;                  /* RAM_WT_RING_PAGES pages */
    guint head;
    guint count;
    bool quit;                      /* under @lock: stop waiting for slots */
    GError *error;                  /* under @lock: the fault thread's failure */

    /* Migration thread: where the claim in address order goes next. */
    guint cursor_block;
    uint64_t cursor_word;
    bool bitmaps_written;           /* mapped-ram: at the end of the pass */
} RAMWriteTracking;

/* ---- the userfaultfd ---- */

/* A userfaultfd by the syscall or, where that is refused, /dev/userfaultfd. */
static int ram_wt_uffd_open(void)
{
    int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

        if (dev >= 0) {
            fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
            close(dev);
        }
    }
    return fd;
}

/*
 * A userfaultfd with write-protect faults (and, where the kernel offers
 * them, protection of untouched pages and of shared memory); -1 if the
 * host has none.  *@features: what the kernel offered.
 */
static int ram_wt_uffd_new(uint64_t *features)
{
    struct uffdio_api probe = { .api = UFFD_API };
    struct uffdio_api api = { .api = UFFD_API };
    int fd = ram_wt_uffd_open();

    /* The API can be negotiated once per fd: ask what exists, then open again. */
    if (fd < 0 || ioctl(fd, UFFDIO_API, &probe) < 0 ||
        !(probe.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    fd = ram_wt_uffd_open();
    api.features = probe.features & (UFFD_FEATURE_PAGEFAULT_FLAG_WP |
                                     UFFD_FEATURE_WP_UNPOPULATED |
                                     UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
    if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *features = api.features;
    return fd;
}

bool ram_write_tracking_available(GError **errp)
{
    uint64_t features;
    int fd = ram_wt_uffd_new(&features);

    if (fd < 0) {
        error_setg(errp, "Background-snapshot is not supported by host kernel");
        return false;
    }
    close(fd);
    return true;
}

/* Register @rb for write-protect faults; false unless UFFDIO_WRITEPROTECT works on it. */
static bool ram_wt_register(int uffd, RAMBlock *rb)
{
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)rb->host, .len = rb->used_length },
        .mode = UFFDIO_REGISTER_MODE_WP,
    };

    return ioctl(uffd, UFFDIO_REGISTER, &reg) == 0 &&
           (reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT));
}

static void ram_wt_unregister(int uffd, RAMBlock *rb)
{
    struct uffdio_range range = { .start = (uintptr_t)rb->host, .len = rb->used_length };

    ioctl(uffd, UFFDIO_UNREGISTER, &range);
}

bool ram_write_tracking_compatible(GPtrArray *blocks, GError **errp)
{
    uint64_t features;
    int fd = ram_wt_uffd_new(&features);
    bool ok = fd >= 0;

    for (guint i = 0; ok && i < blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(blocks, i);

        ok = ram_wt_register(fd, rb);
        if (ok) {
            ram_wt_unregister(fd, rb);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        error_setg(errp, "Background-snapshot is not compatible with guest memory "
                   "configuration");
    }
    return ok;
}

/* Write-protect (@protect) or un-protect pages [@page, @page + @n) of @rb; the latter wakes writers. */
static bool ram_wt_protect(int uffd, RAMBlock *rb, uint64_t page, uint64_t n, bool protect)
{
    struct uffdio_writeprotect wp = {
        .range = {
            .start = (uintptr_t)rb->host + (page << TARGET_PAGE_BITS),
            .len = n << TARGET_PAGE_BITS,
        },
        .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
    };

    return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0;
}

/* ---- the fault thread ---- */

static RAMBlock *ram_wt_block_of(RAMWriteTracking *wt, uint64_t addr, uint64_t *page)
{
    for (guint i = 0; i < wt->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(wt->blocks, i);
        uint64_t start = (uintptr_t)rb->host;

        if (addr >= start && addr - start < rb->used_length) {
            *page = (addr - start) >> TARGET_PAGE_BITS;
            return rb;
        }
    }
    return NULL;
}

/* Claim page @page of @rb for this thread: true if its bit was still set. */
static bool ram_wt_claim_page(RAMBlock *rb, uint64_t page)
{
    unsigned long mask = 1UL << (page % BITS_PER_LONG);

    return __atomic_fetch_and(&rb->bmap[page / BITS_PER_LONG], ~mask, __ATOMIC_SEQ_CST) & mask;
}

/* Copy page @page of @rb into the ring, waiting for a free slot; false when told to quit. */
static bool ram_wt_copy_page(RAMWriteTracking *wt, RAMBlock *rb, uint64_t page)
{
    guint slot;

    qemu_mutex_lock(&wt->lock);
    while (wt->count == RAM_WT_RING_PAGES && !wt->quit) {
        qemu_cond_wait(&wt->cond, &wt->lock);
    }
    if (wt->quit) {
        qemu_mutex_unlock(&wt->lock);
        return false;
    }
    slot = (wt->head + wt->count) % RAM_WT_RING_PAGES;
    qemu_mutex_unlock(&wt->lock);

    /* The slot is this thread's until counted: the migration thread reads only counted ones. */
    memcpy(wt->data + ((size_t)slot << TARGET_PAGE_BITS),
           rb->host + (page << TARGET_PAGE_BITS), TARGET_PAGE_SIZE);
    wt->slots[slot] = (RAMWtCopy){ rb, page };

    qemu_mutex_lock(&wt->lock);
    wt->count++;
    qemu_cond_broadcast(&wt->cond);
    qemu_mutex_unlock(&wt->lock);
    return true;
}

static void ram_wt_fail(RAMWriteTracking *wt, GError *err)
{
    qemu_mutex_lock(&wt->lock);
    if (!wt->error) {
        wt->error = err;
        err = NULL;
    }
    qemu_cond_broadcast(&wt->cond);
    qemu_mutex_unlock(&wt->lock);
    g_clear_error(&err);
}

/* One write fault: save the page if nobody did yet, then let the writer go on. */
static bool ram_wt_handle_fault(RAMWriteTracking *wt, const struct uffd_msg *msg)
{
    uint64_t addr = msg->arg.pagefault.address & TARGET_PAGE_MASK;
    GError *err = NULL;
    uint64_t page;
    RAMBlock *rb;

    if (!(msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
        return true;        /* registered for write-protect only: nothing else comes */
    }
    rb = ram_wt_block_of(wt, addr, &page);
    if (!rb) {
        error_setg(&err, "write fault at 0x%" G_GINT64_MODIFIER "x outside guest RAM", addr);
        ram_wt_fail(wt, err);
        return false;
    }
    /* Claimed by the migration thread: it un-protects the page once saved. */
    if (!ram_wt_claim_page(rb, page)) {
        return true;
    }
    if (!ram_wt_copy_page(wt, rb, page)) {
        return false;       /* quitting: the stop un-protects everything */
    }
    if (!ram_wt_protect(wt->uffd, rb, page, 1, false)) {
        error_setg_errno(&err, errno, "un-protecting a page of RAM block \"%s\"", rb->idstr);
        ram_wt_fail(wt, err);
        return false;
    }
    return true;
}

static gpointer ram_wt_fault_thread(gpointer opaque)
{
    RAMWriteTracking *wt = opaque;
    struct pollfd pfd[2] = {
        { .fd = wt->uffd, .events = POLLIN },
        { .fd = wt->quit_efd, .events = POLLIN },
    };

    for (;;) {
        struct uffd_msg msg[16];
        GError *err = NULL;
        ssize_t n;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_setg_errno(&err, errno, "poll on the userfaultfd");
            ram_wt_fail(wt, err);
            return NULL;
        }
        if (pfd[1].revents) {
            return NULL;
        }
        n = read(wt->uffd, msg, sizeof(msg));
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            error_setg_errno(&err, errno, "reading the userfaultfd");
            ram_wt_fail(wt, err);
            return NULL;
        }
        for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
            if (msg[i].event == UFFD_EVENT_PAGEFAULT && !ram_wt_handle_fault(wt, &msg[i])) {
                return NULL;
            }
        }
    }
}

/* ---- start and stop ---- */

static void ram_wt_free(RAMWriteTracking *wt)
{
    for (guint i = 0; i < wt->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(wt->blocks, i);

        /* Un-protecting wakes every writer still waiting; unregistering forgets the range. */
        ram_wt_protect(wt->uffd, rb, 0, ramblock_pages(rb), false);
        ram_wt_unregister(wt->uffd, rb);
    }
    close(wt->uffd);
    if (wt->quit_efd >= 0) {
        close(wt->quit_efd);
    }
    if (wt->data) {
        munmap(wt->data, (size_t)RAM_WT_RING_PAGES << TARGET_PAGE_BITS);
    }
    g_clear_error(&wt->error);
    qemu_mutex_destroy(&wt->lock);
    qemu_cond_destroy(&wt->cond);
    g_free(wt);
}

/*
 * Protect @rb.  Without UFFD_FEATURE_WP_UNPOPULATED an untouched page has
 * nothing to protect and a later write would go unseen: map the zero page
 * everywhere first, as QEMU does.
 */
static bool ram_wt_protect_block(RAMWriteTracking *wt, RAMBlock *rb, uint64_t features,
                                 GError **errp)
{
    if (!(features & UFFD_FEATURE_WP_UNPOPULATED) &&
        madvise(rb->host, rb->used_length, MADV_POPULATE_READ) < 0) {
        error_setg_errno(errp, errno, "populating RAM block \"%s\" for write tracking",
                         rb->idstr);
        return false;
    }
    if (!ram_wt_register(wt->uffd, rb)) {
        error_setg(errp, "Background-snapshot is not compatible with guest memory "
                   "configuration");
        return false;
    }
    if (!ram_wt_protect(wt->uffd, rb, 0, ramblock_pages(rb), true)) {
        error_setg_errno(errp, errno, "write-protecting RAM block \"%s\"", rb->idstr);
        ram_wt_unregister(wt->uffd, rb);
        return false;
    }
    return true;
}

void ram_state_set_single_pass(RAMState *rs, bool on)
{
    rs->single_pass = on;
}

bool ram_write_tracking_start(RAMState *rs, GError **errp)
{
    RAMWriteTracking *wt = g_new0(RAMWriteTracking, 1);
    uint64_t features = 0;
    guint done;

    qemu_mutex_init(&wt->lock);
    qemu_cond_init(&wt->cond);
    wt->blocks = rs->blocks;
    wt->quit_efd = -1;
    wt->uffd = ram_wt_uffd_new(&features);
    if (wt->uffd < 0) {
        error_setg(errp, "Background-snapshot is not supported by host kernel");
        qemu_mutex_destroy(&wt->lock);
        qemu_cond_destroy(&wt->cond);
        g_free(wt);
        return false;
    }
    for (done = 0; done < rs->blocks->len; done++) {
        if (!ram_wt_protect_block(wt, g_ptr_array_index(rs->blocks, done), features, errp)) {
            break;
        }
    }
    wt->quit_efd = eventfd(0, EFD_CLOEXEC);
    wt->data = mmap(NULL, (size_t)RAM_WT_RING_PAGES << TARGET_PAGE_BITS,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (wt->data == MAP_FAILED) {
        wt->data = NULL;
    }
    if (done < rs->blocks->len || wt->quit_efd < 0 || !wt->data) {
        if (done == rs->blocks->len) {
            error_setg_errno(errp, errno, "background-snapshot: no memory for its copies");
        }
        /* ram_wt_free un-protects all blocks: harmless on those never protected. */
        ram_wt_free(wt);
        return false;
    }
    wt->thread = g_thread_new("mig/snapshot/wp", ram_wt_fault_thread, wt);
    rs->wt = wt;
    return true;
}

void ram_write_tracking_stop(RAMState *rs)
{
    RAMWriteTracking *wt = rs ? rs->wt : NULL;
    uint64_t one = 1;

    if (!wt) {
        return;
    }
    qemu_mutex_lock(&wt->lock);
    wt->quit = true;
    qemu_cond_broadcast(&wt->cond);
    qemu_mutex_unlock(&wt->lock);
    if (write(wt->quit_efd, &one, sizeof(one)) != sizeof(one)) {
        g_assert_not_reached();     /* an eventfd at 0 always takes 1 */
    }
    g_thread_join(wt->thread);
    rs->wt = NULL;
    ram_wt_free(wt);
}

/* ---- the migration thread's side ---- */

/* Write the copies the ring holds now; the fault thread may add more meanwhile. */
static void ram_wt_drain(RAMState *rs, QEMUFile *f, RAMSendRun *run)
{
    RAMWriteTracking *wt = rs->wt;
    guint head, n;

    qemu_mutex_lock(&wt->lock);
    head = wt->head;
    n = wt->count;
    qemu_mutex_unlock(&wt->lock);
    if (!n) {
        return;
    }
    for (guint i = 0; i < n; i++) {
        guint slot = (head + i) % RAM_WT_RING_PAGES;
        const RAMWtCopy *c = &wt->slots[slot];
        const uint8_t *data = wt->data + ((size_t)slot << TARGET_PAGE_BITS);

        if (rs->mapped_ram) {
            mapped_ram_save_copy(rs->mapped_ram, f, c->rb, c->page, data,
                                 rs->zero_page_detection != ZERO_PAGE_DETECTION_NONE, run);
        } else {
            ram_save_page_copy(rs, f, c->rb, c->page, data, run);
        }
    }
    rs->dirty_pages -= n;
    qemu_mutex_lock(&wt->lock);
    wt->head = (head + n) % RAM_WT_RING_PAGES;
    wt->count -= n;
    qemu_cond_broadcast(&wt->cond);
    qemu_mutex_unlock(&wt->lock);
}

/* Save the claimed pages [@page, @page + @n) of @rb from guest memory, then un-protect them. */
static bool ram_wt_save_run(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                            uint64_t n, RAMSendRun *run)
{
    for (uint64_t p = page; p < page + n; p++) {
        if (rs->mapped_ram) {
            mapped_ram_save_page(rs->mapped_ram, f, rb, p,
                                 rs->zero_page_detection != ZERO_PAGE_DETECTION_NONE, run);
        } else {
            ram_save_page_copy(rs, f, rb, p, rb->host + (p << TARGET_PAGE_BITS), run);
        }
    }
    /* mapped-ram gathers runs: they must be in the file before the pages are writable. */
    if (rs->mapped_ram) {
        mapped_ram_save_flush(rs->mapped_ram, f, run);
    }
    rs->dirty_pages -= n;
    if (!ram_wt_protect(rs->wt->uffd, rb, page, n, false)) {
        int saved = errno;
        GError *err = NULL;

        error_setg_errno(&err, saved, "un-protecting RAM block \"%s\"", rb->idstr);
        qemu_file_set_error(f, -saved, err);
        return false;
    }
    return true;
}

/*
 * Claim the next RAM_WT_CLAIM_WORDS words of bitmap from the cursor and
 * save their pages, one un-protect per run of consecutive pages.  False
 * once the cursor passed the last block (or on error).
 */
static bool ram_wt_save_next(RAMState *rs, QEMUFile *f, RAMSendRun *run)
{
    RAMWriteTracking *wt = rs->wt;
    unsigned long claimed[RAM_WT_CLAIM_WORDS];
    uint64_t first_word, nwords, nbits;
    RAMBlock *rb = NULL;

    for (; wt->cursor_block < rs->blocks->len; wt->cursor_block++, wt->cursor_word = 0) {
        rb = g_ptr_array_index(rs->blocks, wt->cursor_block);
        if (wt->cursor_word < BITS_TO_LONGS(ramblock_pages(rb))) {
            break;
        }
    }
    if (wt->cursor_block == rs->blocks->len) {
        return false;
    }
    first_word = wt->cursor_word;
    nwords = MIN(RAM_WT_CLAIM_WORDS, BITS_TO_LONGS(ramblock_pages(rb)) - first_word);
    for (uint64_t i = 0; i < nwords; i++) {
        claimed[i] = __atomic_exchange_n(&rb->bmap[first_word + i], 0, __ATOMIC_SEQ_CST);
    }
    wt->cursor_word += nwords;

    nbits = nwords * BITS_PER_LONG;
    for (uint64_t b = 0; b < nbits;) {
        uint64_t end;

        b = find_next_bit(claimed, nbits, b);
        if (b >= nbits) {
            break;
        }
        end = find_next_zero_bit(claimed, nbits, b);
        if (!ram_wt_save_run(rs, f, rb, first_word * BITS_PER_LONG + b, end - b, run)) {
            return false;
        }
        b = end;
    }
    return true;
}

/* The address-order pass is over; wait for the copies of pages the fault thread claimed. */
static void ram_wt_wait_copies(RAMWriteTracking *wt)
{
    qemu_mutex_lock(&wt->lock);
    if (!wt->count && !wt->error) {
        qemu_cond_timedwait(&wt->cond, &wt->lock, RAM_WT_WAIT_MS);
    }
    qemu_mutex_unlock(&wt->lock);
}

/* The fault thread's failure, if any, onto @f. */
static bool ram_wt_check(RAMWriteTracking *wt, QEMUFile *f)
{
    GError *err = NULL;

    qemu_mutex_lock(&wt->lock);
    if (wt->error) {
        err = g_error_copy(wt->error);
    }
    qemu_mutex_unlock(&wt->lock);
    if (err) {
        qemu_file_set_error(f, -EIO, err);
        return false;
    }
    return true;
}

void ram_write_tracking_send(RAMState *rs, QEMUFile *f, bool limited, int64_t deadline,
                             RAMSendRun *run)
{
    while (rs->dirty_pages > 0 && !qemu_file_get_error(f) && ram_wt_check(rs->wt, f)) {
        ram_wt_drain(rs, f, run);
        if (!ram_wt_save_next(rs, f, run) && !qemu_file_get_error(f)) {
            /* Every page left is with the fault thread. */
            ram_wt_drain(rs, f, run);
            if (rs->dirty_pages > 0) {
                ram_wt_wait_copies(rs->wt);
            }
        }
        ram_send_run_publish(rs, run);
        if (limited && (g_get_monotonic_time() > deadline || ram_send_rate_exceeded(rs))) {
            break;
        }
    }
    /* mapped-ram: every page is in its slot; the bitmaps go once, as at a completion. */
    if (rs->mapped_ram && rs->dirty_pages == 0 && !rs->wt->bitmaps_written &&
        !qemu_file_get_error(f)) {
        GError *err = NULL;

        rs->wt->bitmaps_written = true;
        if (!mapped_ram_save_bitmaps(rs->mapped_ram, &err)) {
            qemu_file_set_error(f, -EIO, err);
        }
    }
    ram_send_run_publish(rs, run);
}
