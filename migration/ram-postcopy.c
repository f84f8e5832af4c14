/*
 * The RAM section in postcopy, both sides (ram.h "postcopy").
 *
 * Source: after the switch the destination runs the guest and asks, over
 * the return path, for the pages it faults on.  The return-path thread
 * queues each request here; the migration thread takes requested pages
 * before the next background page (ram_take_next_dirty()), so a fault
 * waits behind what is already in the channel, not behind the rest of RAM,
 * and the background pass then continues from the requested page.
 *
 * Destination: from ADVISE on, every page that arrives is marked in its
 * block's receivedmap; DISCARD drops pages the source re-dirtied; from
 * LISTEN on, every block is registered with userfaultfd (missing pages
 * fault to the fault thread, postcopy-dest.c) and pages are placed
 * atomically with UFFDIO_COPY / UFFDIO_ZEROPAGE, which also wakes the
 * vCPUs waiting for them.
 */
#include "ram-postcopy.h"
#include "ram-compress-load.h"
#include "savevm-commands.h"
#include "qemu/error.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

void ram_postcopy_init(RAMState *rs)
{
    qemu_mutex_init(&rs->postcopy.lock);
    g_queue_init(&rs->postcopy.requests);
    rs->load.postcopy.uffd = -1;
}

static void ram_postcopy_drop_requests(RAMState *rs)
{
    qemu_mutex_lock(&rs->postcopy.lock);
    g_queue_clear_full(&rs->postcopy.requests, g_free);
    g_atomic_int_set(&rs->postcopy.pending, 0);
    qemu_mutex_unlock(&rs->postcopy.lock);
}

void ram_postcopy_cleanup(RAMState *rs)
{
    ram_postcopy_drop_requests(rs);
    ram_postcopy_incoming_end(rs);
    qemu_mutex_destroy(&rs->postcopy.lock);
}

uint64_t ram_pagesize_summary(const RAMState *rs)
{
    uint64_t summary = 0;

    for (guint i = 0; i < rs->blocks->len; i++) {
        summary |= ((RAMBlock *)g_ptr_array_index(rs->blocks, i))->page_size;
    }
    return summary;
}

RAMBlock *ram_postcopy_find_block(RAMState *rs, const char *name)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        if (g_str_equal(rb->idstr, name)) {
            return rb;
        }
    }
    return NULL;
}

/* ---- source ---- */

/* Send the dirty runs of @rb's bmap as discard ranges, MIG_DISCARD_MAX_RANGES a command. */
static void ram_postcopy_discard_block(QEMUFile *f, RAMBlock *rb)
{
    uint64_t starts[MIG_DISCARD_MAX_RANGES], lengths[MIG_DISCARD_MAX_RANGES];
    uint64_t npages = ramblock_pages(rb);
    size_t n = 0;

    for (uint64_t p = find_next_bit(rb->bmap, npages, 0); p < npages;) {
        uint64_t end = find_next_zero_bit(rb->bmap, npages, p);

        starts[n] = p << TARGET_PAGE_BITS;
        lengths[n] = (end - p) << TARGET_PAGE_BITS;
        if (++n == MIG_DISCARD_MAX_RANGES) {
            savevm_send_postcopy_ram_discard(f, rb->idstr, starts, lengths, n);
            n = 0;
        }
        p = end < npages ? find_next_bit(rb->bmap, npages, end) : npages;
    }
    if (n) {
        savevm_send_postcopy_ram_discard(f, rb->idstr, starts, lengths, n);
    }
}

bool ram_postcopy_send_discard(RAMState *rs, QEMUFile *f, GError **errp)
{
    uint64_t pending;

    /* The last sync: the VM is stopped, so what is dirty now is final. */
    if (!ram_save_handlers.state_pending_exact(rs, &pending, errp)) {
        return false;
    }
    for (guint i = 0; i < rs->blocks->len; i++) {
        ram_postcopy_discard_block(f, g_ptr_array_index(rs->blocks, i));
    }
    return qemu_file_check_error(f, errp);
}

void ram_postcopy_source_reset(RAMState *rs)
{
    g_atomic_int_set(&rs->postcopy.phase, RAM_POSTCOPY_BEFORE);
}

void ram_postcopy_source_start(RAMState *rs)
{
    rs->postcopy.active = true;
    g_atomic_int_set(&rs->postcopy.phase, RAM_POSTCOPY_RUNNING);
}

void ram_postcopy_source_stop(RAMState *rs)
{
    rs->postcopy.active = false;
    g_atomic_int_set(&rs->postcopy.phase, RAM_POSTCOPY_ENDED);
    ram_postcopy_drop_requests(rs);
}

RAMBlock *ram_postcopy_check_request(RAMState *rs, const char *block,
                                     uint64_t start, uint64_t len, GError **errp)
{
    RAMBlock *rb = ram_postcopy_find_block(rs, block);

    switch (g_atomic_int_get(&rs->postcopy.phase)) {
    case RAM_POSTCOPY_BEFORE:
        error_setg(errp, "page request for '%s' before postcopy started", block);
        return NULL;
    case RAM_POSTCOPY_ENDED:
        return NULL;    /* every page went out: this one is on its way */
    default:
        break;
    }
    if (!rb) {
        error_setg(errp, "MIG_RP_MSG_REQ_PAGES has no block '%s'", block);
        return NULL;
    }
    if (start % rb->page_size || len % rb->page_size || len == 0) {
        error_setg(errp, "MIG_RP_MSG_REQ_PAGES: Misaligned page request, start:%"
                   PRIx64 " len: %" PRIu64, start, len);
        return NULL;
    }
    if (start >= rb->used_length || len > rb->used_length - start) {
        error_setg(errp, "MIG_RP_MSG_REQ_PAGES request overrun, start=%" PRIx64
                   " len=%" PRIx64 " blocklen=%" PRIx64, start, len, rb->used_length);
        return NULL;
    }
    return rb;
}

bool ram_postcopy_queue_request(RAMState *rs, const char *block, uint64_t start,
                                uint64_t len, GError **errp)
{
    GError *err = NULL;
    RAMBlock *rb = ram_postcopy_check_request(rs, block, start, len, &err);
    RAMPageRequest *req;

    if (!rb) {
        if (err) {
            g_propagate_error(errp, err);
            return false;
        }
        return true;
    }
    req = g_new(RAMPageRequest, 1);
    req->rb = rb;
    req->page = start >> TARGET_PAGE_BITS;
    req->npages = len >> TARGET_PAGE_BITS;
    qemu_mutex_lock(&rs->postcopy.lock);
    g_queue_push_tail(&rs->postcopy.requests, req);
    g_atomic_int_set(&rs->postcopy.pending, 1);
    qemu_mutex_unlock(&rs->postcopy.lock);
    migration_stat_add(&rs->stats->postcopy_requests, 1);
    return true;
}

bool ram_postcopy_requests_pending(RAMState *rs)
{
    return g_atomic_int_get(&rs->postcopy.pending);
}

/*
 * Pop requested pages until one is still to send; a page already sent is
 * in the channel on its way, and a request spanning several pages leaves
 * the rest queued.
 */
RAMBlock *ram_postcopy_take_request(RAMState *rs, uint64_t *page)
{
    RAMBlock *found = NULL;

    if (!rs->postcopy.active || !g_atomic_int_get(&rs->postcopy.pending)) {
        return NULL;
    }
    qemu_mutex_lock(&rs->postcopy.lock);
    while (!found && !g_queue_is_empty(&rs->postcopy.requests)) {
        RAMPageRequest *req = g_queue_peek_head(&rs->postcopy.requests);

        if (test_and_clear_bit(req->page, req->rb->bmap)) {
            rs->dirty_pages--;
            found = req->rb;
            *page = req->page;
        }
        req->page++;
        if (--req->npages == 0) {
            g_free(g_queue_pop_head(&rs->postcopy.requests));
        }
    }
    g_atomic_int_set(&rs->postcopy.pending, !g_queue_is_empty(&rs->postcopy.requests));
    qemu_mutex_unlock(&rs->postcopy.lock);
    if (found) {
        /*
         * As QEMU: the background pass goes on right after the page the
         * guest wanted, where its next faults most likely are.
         */
        guint index;

        g_ptr_array_find(rs->blocks, found, &index);
        rs->cursor_block = index;
        rs->cursor_page = *page + 1;
        rs->postcopy.flush_due = true;
    }
    return found;
}

bool ram_postcopy_take_flush_due(RAMState *rs)
{
    bool due = rs->postcopy.flush_due;

    rs->postcopy.flush_due = false;
    return due;
}

/* ---- destination ---- */

/*
 * The received / requested pair, fully ordered: the incoming thread sets
 * "received" then tests "requested", the fault thread sets "requested"
 * then tests "received", so at least one of them sees the other's bit.
 */
static void ram_postcopy_bit_set(unsigned long *map, uint64_t nr)
{
    __atomic_fetch_or(&map[nr / BITS_PER_LONG], 1UL << (nr % BITS_PER_LONG),
                      __ATOMIC_SEQ_CST);
}

static bool ram_postcopy_bit_test(const unsigned long *map, uint64_t nr)
{
    return __atomic_load_n(&map[nr / BITS_PER_LONG], __ATOMIC_SEQ_CST) &
           (1UL << (nr % BITS_PER_LONG));
}

bool ram_postcopy_incoming_advise(RAMState *rs, uint64_t pagesize_summary,
                                  uint64_t target_page_size, GError **errp)
{
    uint64_t local = ram_pagesize_summary(rs);

    if (pagesize_summary != local) {
        error_setg(errp, "Postcopy needs matching RAM page sizes (s=%" PRIx64
                   " d=%" PRIx64 ")", pagesize_summary, local);
        return false;
    }
    if (target_page_size != TARGET_PAGE_SIZE) {
        error_setg(errp, "Postcopy needs matching target page sizes (s=%" PRIu64
                   " d=%u)", target_page_size, TARGET_PAGE_SIZE);
        return false;
    }
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        if (rb->shared || rb->fd >= 0) {
            error_setg(errp, "Postcopy on shared RAM (%s) is not yet supported",
                       rb->idstr);
            return false;
        }
    }
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        g_free(rb->receivedmap);
        rb->receivedmap = bitmap_new(ramblock_pages(rb));
        g_free(rb->requestedmap);
        rb->requestedmap = bitmap_new(ramblock_pages(rb));
    }
    rs->load.postcopy.advised = true;
    return true;
}

bool ram_postcopy_incoming_discard(RAMState *rs, const char *name, uint64_t start,
                                   uint64_t len, GError **errp)
{
    RAMBlock *rb = ram_postcopy_find_block(rs, name);

    if (!rs->load.postcopy.advised) {
        error_setg(errp, "discard of '%s' before POSTCOPY_ADVISE", name);
        return false;
    }
    if (!rb) {
        error_setg(errp, "discard of unknown RAM block '%s'", name);
        return false;
    }
    if (start % rb->page_size || len % rb->page_size) {
        error_setg(errp, "discard [0x%" PRIx64 ", +0x%" PRIx64 ") of '%s' is not "
                   "aligned to its page size 0x%zx", start, len, name, rb->page_size);
        return false;
    }
    if (start > rb->used_length || len > rb->used_length - start) {
        error_setg(errp, "discard [0x%" PRIx64 ", +0x%" PRIx64 ") is outside RAM "
                   "block '%s' (0x%" PRIx64 " bytes)", start, len, name, rb->used_length);
        return false;
    }
    if (len == 0) {
        return true;
    }
    if (madvise(rb->host + start, len, MADV_DONTNEED) < 0) {
        error_setg_errno(errp, errno, "discard [0x%" PRIx64 ", +0x%" PRIx64 ") of '%s'",
                         start, len, name);
        return false;
    }
    bitmap_clear(rb->receivedmap, start >> TARGET_PAGE_BITS, len >> TARGET_PAGE_BITS);
    return true;
}

bool ram_postcopy_incoming_listen(RAMState *rs, int uffd, GError **errp)
{
    ram_verify_set_postcopy(rs->verify);
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        struct uffdio_register reg = {
            .range = { .start = (uintptr_t)rb->host, .len = rb->used_length },
            .mode = UFFDIO_REGISTER_MODE_MISSING,
        };
        uint64_t need = (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_ZEROPAGE);

        /*
         * Pages are placed one small page at a time from here on; a precopy
         * that never switches keeps its huge pages (as QEMU, which turns
         * them off only when postcopy really starts).
         */
        madvise(rb->host, rb->used_length, MADV_NOHUGEPAGE);
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
            error_setg_errno(errp, errno, "userfaultfd registration of RAM block '%s'",
                             rb->idstr);
            return false;
        }
        if ((reg.ioctls & need) != need) {
            error_setg(errp, "userfaultfd cannot place pages in RAM block '%s'",
                       rb->idstr);
            return false;
        }
    }
    rs->load.postcopy.uffd = uffd;
    rs->load.postcopy.page_buf = mmap(NULL, TARGET_PAGE_SIZE, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rs->load.postcopy.page_buf == MAP_FAILED) {
        rs->load.postcopy.page_buf = NULL;
        error_setg_errno(errp, errno, "postcopy page buffer");
        return false;
    }
    rs->load.postcopy.listening = true;
    return true;
}

void ram_postcopy_incoming_end(RAMState *rs)
{
    RAMPostcopyLoad *pl = &rs->load.postcopy;

    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        struct uffdio_range range = {
            .start = (uintptr_t)rb->host, .len = rb->used_length,
        };

        if (pl->uffd >= 0) {
            ioctl(pl->uffd, UFFDIO_UNREGISTER, &range);
        }
        g_clear_pointer(&rb->receivedmap, g_free);
        g_clear_pointer(&rb->requestedmap, g_free);
    }
    if (pl->page_buf) {
        munmap(pl->page_buf, TARGET_PAGE_SIZE);
        pl->page_buf = NULL;
    }
    pl->uffd = -1;
    pl->listening = false;
    pl->advised = false;
    pl->placed = NULL;
    pl->placed_opaque = NULL;
}

/* Place the page at @host: @src's bytes, or zeros when @src is NULL.  EEXIST: it is there. */
static bool ram_postcopy_place(RAMPostcopyLoad *pl, uint8_t *host, const uint8_t *src,
                               GError **errp)
{
    int ret;

    if (src) {
        struct uffdio_copy copy = {
            .dst = (uintptr_t)host, .src = (uintptr_t)src, .len = TARGET_PAGE_SIZE,
        };

        ret = ioctl(pl->uffd, UFFDIO_COPY, &copy);
    } else {
        struct uffdio_zeropage zero = {
            .range = { .start = (uintptr_t)host, .len = TARGET_PAGE_SIZE },
        };

        ret = ioctl(pl->uffd, UFFDIO_ZEROPAGE, &zero);
    }
    if (ret < 0 && errno != EEXIST) {
        error_setg_errno(errp, errno, "placing a postcopy page at %p", host);
        return false;
    }
    return true;
}

bool ram_postcopy_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                            uint64_t offset, uint64_t flags, uint8_t *buf, GError **errp)
{
    RAMPostcopyLoad *pl = &rs->load.postcopy;
    uint64_t page = offset >> TARGET_PAGE_BITS;
    const uint8_t *src = NULL;

    if (flags & RAM_SAVE_FLAG_ZERO) {
        int fill = qemu_get_byte(f);

        if (!qemu_file_check_error(f, errp)) {
            return false;
        }
        if (fill != 0) {
            error_setg(errp, "Found a zero page with value %d (RAM block \"%s\", "
                       "stream offset %" PRIu64 ")", fill, rb->idstr, pos);
            return false;
        }
    } else if (flags & RAM_SAVE_FLAG_COMPRESS_PAGE) {
        if (!ram_decompress_load_sync(rs, f, pos, rb, page, buf, errp)) {
            return false;
        }
        src = buf;
    } else {
        qemu_get_buffer(f, buf, TARGET_PAGE_SIZE);
        if (!qemu_file_check_error(f, errp)) {
            return false;
        }
        src = buf;
    }
    ram_verify_page(rs->verify, rb, page, src);    /* fault thread or background alike */
    if (!src) {
        /*
         * A zero page: every page sent now was discarded at the switch, so
         * it is not mapped and would read as zeros but for userfaultfd.
         * Unless the guest is waiting for it, leave it so: a later fault
         * finds it received and gets a zero page in place there
         * (postcopy-dest.c), and most zero pages are never touched.
         */
        ram_postcopy_bit_set(rb->receivedmap, page);
        if (!ram_postcopy_bit_test(rb->requestedmap, page)) {
            return true;
        }
    }
    if (!ram_postcopy_place(pl, rb->host + offset, src, errp)) {
        error_prepend(errp, "RAM block \"%s\": ", rb->idstr);
        return false;
    }
    ram_postcopy_bit_set(rb->receivedmap, page);
    if (pl->placed) {
        pl->placed(pl->placed_opaque, (uintptr_t)rb->host + offset);
    }
    return true;
}

void ram_postcopy_set_placed_hook(RAMState *rs, RAMPlacedHook *hook, void *opaque)
{
    rs->load.postcopy.placed = hook;
    rs->load.postcopy.placed_opaque = opaque;
}

RAMBlock *ram_postcopy_block_of(RAMState *rs, uint64_t addr, uint64_t *offset)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);
        uint64_t base = (uintptr_t)rb->host;

        if (addr >= base && addr - base < rb->used_length) {
            *offset = (addr - base) & TARGET_PAGE_MASK;
            return rb;
        }
    }
    return NULL;
}

bool ram_postcopy_received(const RAMBlock *rb, uint64_t offset)
{
    return ram_postcopy_bit_test(rb->receivedmap, offset >> TARGET_PAGE_BITS);
}

void ram_postcopy_mark_requested(RAMBlock *rb, uint64_t offset)
{
    ram_postcopy_bit_set(rb->requestedmap, offset >> TARGET_PAGE_BITS);
}
