/*
 * The RAM block list, guest-physical access for devices and qtest, and the
 * dirty-tracking interface: start / sync / stop, merging the accelerator's
 * log with the software log (rb->dirty_log) that every non-accelerator
 * writer sets.
 */
#include "memory-internal.h"

#include <errno.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qemu/bitmap.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"

/*
 * One VM's RAM blocks, built at start-up on the main thread and fixed
 * afterwards (so readers need no lock), plus the accelerator whose dirty
 * log memory_sync_dirty() merges and the vCPUs that write to it.
 */
struct GuestMemory {
    GPtrArray *blocks;          /* RAMBlock*, owned, creation order */
    GPtrArray *mapped;          /* RAMBlock*, borrowed, guest-mapped */
    uint64_t main_ram_size;
    const AccelOps *accel_ops;
    AccelState *accel;
    VM *vm;                     /* whose vCPUs a collect parks, or NULL */
    const MemoryFdSource *fd_source;    /* CPR: inherited memory, or NULL */
    bool barrier_force_pause;   /* tests: collect with the vCPUs parked */
};

/*
 * How a collect orders the vCPUs' stores (below).  membarrier(2)'s
 * registration is the process's, so whether it works is too; probed by the
 * first memory_dirty_log_start() (BQL held), before any collect.
 */
static struct {
    bool probed;
    bool membarrier_ok;
} memory_barrier;

static void ram_block_free(RAMBlock *rb)
{
    memory_backing_destroy(rb);
    g_free(rb->dirty_log);
    g_free(rb->bmap);
    g_free(rb->idstr);
    g_free(rb);
}

GuestMemory *guest_memory_new(void)
{
    GuestMemory *gm = g_new0(GuestMemory, 1);

    gm->blocks = g_ptr_array_new_with_free_func((GDestroyNotify)ram_block_free);
    gm->mapped = g_ptr_array_new();
    return gm;
}

void guest_memory_set_fd_source(GuestMemory *gm, const MemoryFdSource *src)
{
    gm->fd_source = src;
}

/* The inherited fd of a block that takes one, -1 if it creates its memory. */
static bool memory_take_inherited_fd(GuestMemory *gm, const char *id,
                                     MemoryBackendKind kind, bool share,
                                     int *fd, GError **errp)
{
    *fd = -1;
    if (!gm->fd_source ||
        !(kind == MEMORY_BACKEND_MEMFD || (kind == MEMORY_BACKEND_RAM && share))) {
        return true;
    }
    *fd = gm->fd_source->take(gm->fd_source->opaque, id);
    if (*fd < 0) {
        error_setg(errp, "CPR: no fd arrived for RAM block '%s'; tern does not "
                   "replace the guest's memory with an empty one", id);
        return false;
    }
    return true;
}

void guest_memory_free(GuestMemory *gm)
{
    if (!gm) {
        return;
    }
    g_ptr_array_free(gm->mapped, TRUE);
    g_ptr_array_free(gm->blocks, TRUE);
    g_free(gm);
}

RAMBlock *ram_block_by_id(GuestMemory *gm, const char *id)
{
    for (guint i = 0; i < gm->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(gm->blocks, i);

        if (strcmp(rb->idstr, id) == 0) {
            return rb;
        }
    }
    return NULL;
}

GPtrArray *ram_block_list(GuestMemory *gm)
{
    return gm->blocks;
}

GPtrArray *ram_block_list_mapped(GuestMemory *gm)
{
    return gm->mapped;
}

uint64_t memory_main_ram_size(GuestMemory *gm)
{
    return gm->main_ram_size;
}

static RAMBlock *memory_add_block(GuestMemory *gm, const char *id,
                                  uint64_t size, MemoryBackendKind kind,
                                  bool share, const char *mem_path,
                                  bool prealloc, GError **errp)
{
    RAMBlock *rb;
    int fd;

    if (ram_block_by_id(gm, id)) {
        error_setg(errp, "RAM block '%s' already exists", id);
        return NULL;
    }
    if (size == 0 || size % TARGET_PAGE_SIZE) {
        error_setg(errp, "RAM block '%s': size %" G_GUINT64_FORMAT
                   " is not a non-zero multiple of %u", id, size,
                   TARGET_PAGE_SIZE);
        return NULL;
    }
    if (!memory_take_inherited_fd(gm, id, kind, share, &fd, errp)) {
        return NULL;
    }
    rb = g_new0(RAMBlock, 1);
    rb->idstr = g_strdup(id);
    rb->used_length = size;
    rb->guest_addr = RAM_ADDR_INVALID;
    if (!memory_backing_create(rb, kind, share, mem_path, prealloc, fd, errp)) {
        error_prepend(errp, "memory backend '%s': ", id);
        ram_block_free(rb);
        return NULL;
    }
    rb->dirty_log = bitmap_new(ramblock_pages(rb));
    g_ptr_array_add(gm->blocks, rb);
    return rb;
}

RAMBlock *memory_add_backend(GuestMemory *gm, const MemoryBackendConfig *cfg,
                             GError **errp)
{
    return memory_add_block(gm, cfg->id, cfg->size, cfg->kind, cfg->share,
                            cfg->mem_path, cfg->prealloc, errp);
}

RAMBlock *memory_add_main_ram(GuestMemory *gm, uint64_t size, GError **errp)
{
    return memory_add_block(gm, MAIN_RAM_ID, size, MEMORY_BACKEND_RAM, false,
                            NULL, false, errp);
}

bool memory_map_block(GuestMemory *gm, RAMBlock *rb, uint64_t gpa,
                      GError **errp)
{
    g_assert(rb->guest_addr == RAM_ADDR_INVALID);
    if (gpa % TARGET_PAGE_SIZE || gpa + rb->used_length < gpa) {
        error_setg(errp, "cannot map '%s' at 0x%" G_GINT64_MODIFIER "x",
                   rb->idstr, gpa);
        return false;
    }
    for (guint i = 0; i < gm->mapped->len; i++) {
        RAMBlock *o = g_ptr_array_index(gm->mapped, i);

        if (gpa < o->guest_addr + o->used_length &&
            o->guest_addr < gpa + rb->used_length) {
            error_setg(errp, "'%s' would overlap '%s' in guest memory",
                       rb->idstr, o->idstr);
            return false;
        }
    }
    rb->guest_addr = gpa;
    g_ptr_array_add(gm->mapped, rb);
    if (gpa == 0 && gm->main_ram_size == 0) {
        gm->main_ram_size = rb->used_length;
    }
    return true;
}

char *memory_format_ramblocks(GuestMemory *gm)
{
    GString *out = g_string_new(NULL);
    uint64_t offset = 0;

    g_string_append_printf(out, "%24s %8s  %18s %18s %18s %18s %3s\n",
                           "Block Name", "PSize", "Offset", "Used", "Total",
                           "HVA", "RO");
    for (guint i = 0; i < gm->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(gm->blocks, i);
        g_autofree char *psize = g_format_size_full(rb->page_size,
                                                    G_FORMAT_SIZE_IEC_UNITS);

        g_string_append_printf(out, "%24s %8s  0x%016" G_GINT64_MODIFIER "x"
                               " 0x%016" G_GINT64_MODIFIER "x"
                               " 0x%016" G_GINT64_MODIFIER "x"
                               " 0x%016" G_GINT64_MODIFIER "x %3s\n",
                               rb->idstr, psize, offset, rb->used_length,
                               rb->used_length, (guint64)(uintptr_t)rb->host,
                               "rw");
        offset += rb->used_length;
    }
    return g_string_free(out, FALSE);
}

/* The mapped block holding all of [gpa, gpa + len), or NULL. */
static RAMBlock *memory_find(GuestMemory *gm, uint64_t gpa, uint64_t len,
                             GError **errp)
{
    for (guint i = 0; i < gm->mapped->len; i++) {
        RAMBlock *rb = g_ptr_array_index(gm->mapped, i);

        if (gpa >= rb->guest_addr && len <= rb->used_length &&
            gpa - rb->guest_addr <= rb->used_length - len) {
            return rb;
        }
    }
    error_setg(errp, "guest range 0x%" G_GINT64_MODIFIER "x+0x%"
               G_GINT64_MODIFIER "x is not in guest RAM", gpa, len);
    return NULL;
}

static void memory_mark_dirty(RAMBlock *rb, uint64_t offset, uint64_t len)
{
    uint64_t first, last;

    if (len == 0) {
        return;
    }
    first = offset >> TARGET_PAGE_BITS;
    last = (offset + len - 1) >> TARGET_PAGE_BITS;
    bitmap_set_atomic(rb->dirty_log, first, last - first + 1);
}

const uint8_t *guest_memory_view(GuestMemory *gm, uint64_t gpa, uint64_t len,
                                 GError **errp)
{
    RAMBlock *rb = memory_find(gm, gpa, len, errp);

    return rb ? rb->host + (gpa - rb->guest_addr) : NULL;
}

bool guest_memory_read(GuestMemory *gm, uint64_t gpa, void *buf,
                       uint64_t len, GError **errp)
{
    const uint8_t *src = guest_memory_view(gm, gpa, len, errp);

    if (!src) {
        return false;
    }
    memcpy(buf, src, len);
    return true;
}

bool guest_memory_write(GuestMemory *gm, uint64_t gpa, const void *buf,
                        uint64_t len, GError **errp)
{
    RAMBlock *rb = memory_find(gm, gpa, len, errp);

    if (!rb) {
        return false;
    }
    memcpy(rb->host + (gpa - rb->guest_addr), buf, len);
    memory_mark_dirty(rb, gpa - rb->guest_addr, len);
    return true;
}

bool guest_memory_set(GuestMemory *gm, uint64_t gpa, uint8_t byte,
                      uint64_t len, GError **errp)
{
    RAMBlock *rb = memory_find(gm, gpa, len, errp);

    if (!rb) {
        return false;
    }
    memset(rb->host + (gpa - rb->guest_addr), byte, len);
    memory_mark_dirty(rb, gpa - rb->guest_addr, len);
    return true;
}

void memory_set_accel(GuestMemory *gm, const AccelOps *ops,
                      AccelState *accel, VM *vm)
{
    gm->accel_ops = ops;
    gm->accel = accel;
    gm->vm = vm;
}

/*
 * Writers mark a page after storing to it and skip the atomic when the bit
 * is already set, and that check is a plain load that x86 may perform
 * before the store is visible.  So a store can still sit in a vCPU's store
 * buffer when the collector clears the bit:
 *
 *   vCPU thread                        migration thread
 *   store to page P (buffered)
 *   load dirty bit of P: set, skip
 *                                      collect: bit of P cleared
 *                                      read page P: old bytes sent
 *   store becomes visible              (P never marked again: lost)
 *
 * A process-wide barrier after collecting drains every thread's store
 * buffer, so reading the pages afterwards sees every write whose mark was
 * skipped.  Where membarrier(2) is missing (old kernels, seccomp filters),
 * a fence on the collecting thread alone would not drain the vCPUs', so
 * the collect runs with every vCPU parked instead: parking and unparking
 * take the BQL, which orders the vCPUs' stores before the collect and
 * their later bit checks after it.  Writers other than vCPUs hold the BQL,
 * which the collect holds too.
 */
static void memory_barrier_probe(void)
{
    if (!memory_barrier.probed) {
        memory_barrier.probed = true;
        memory_barrier.membarrier_ok =
            syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                    0, 0) == 0;
        if (!memory_barrier.membarrier_ok) {
            warn_report("membarrier(2) is unavailable: the vCPUs pause for "
                        "every dirty page collect");
        }
    }
}

void memory_dirty_barrier_force_pause(GuestMemory *gm, bool force)
{
    gm->barrier_force_pause = force;
}

static bool memory_barrier_pauses_vcpus(GuestMemory *gm)
{
    return gm->barrier_force_pause || !memory_barrier.membarrier_ok;
}

/* Collect @rb's software log into @dest with the vCPUs parked. */
static void memory_collect_paused(GuestMemory *gm, RAMBlock *rb,
                                  unsigned long *dest)
{
    bool locked = bql_locked();     /* the switchover holds it already */

    if (!locked) {
        bql_lock();
    }
    if (gm->vm) {
        cpus_quiesce_begin(gm->vm);
    }
    bitmap_collect_and_clear_atomic(dest, rb->dirty_log, ramblock_pages(rb));
    if (gm->vm) {
        cpus_quiesce_end(gm->vm);
    }
    if (!locked) {
        bql_unlock();
    }
}

/* Collect @rb's software log into @dest, then drain every store buffer. */
static bool memory_collect_membarrier(RAMBlock *rb, unsigned long *dest,
                                      GError **errp)
{
    bitmap_collect_and_clear_atomic(dest, rb->dirty_log, ramblock_pages(rb));
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) < 0) {
        error_setg_errno(errp, errno, "membarrier");
        return false;
    }
    return true;
}

bool memory_dirty_log_start(GuestMemory *gm, GError **errp)
{
    memory_barrier_probe();
    for (guint i = 0; i < gm->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(gm->blocks, i);
        unsigned long *scratch = bitmap_new(ramblock_pages(rb));

        /* Forget writes from before the start. */
        bitmap_collect_and_clear_atomic(scratch, rb->dirty_log,
                                        ramblock_pages(rb));
        g_free(scratch);
    }
    if (gm->accel_ops && gm->accel_ops->dirty_log_start) {
        return gm->accel_ops->dirty_log_start(gm->accel, errp);
    }
    return true;
}

bool memory_sync_dirty(GuestMemory *gm, RAMBlock *rb, unsigned long *dest,
                       GError **errp)
{
    if (rb->guest_addr != RAM_ADDR_INVALID && gm->accel_ops &&
        gm->accel_ops->dirty_log_sync &&
        !gm->accel_ops->dirty_log_sync(gm->accel, rb, dest, errp)) {
        return false;
    }
    memory_barrier_probe();
    if (memory_barrier_pauses_vcpus(gm)) {
        memory_collect_paused(gm, rb, dest);
        return true;
    }
    return memory_collect_membarrier(rb, dest, errp);
}

void memory_dirty_log_stop(GuestMemory *gm)
{
    if (gm->accel_ops && gm->accel_ops->dirty_log_stop) {
        gm->accel_ops->dirty_log_stop(gm->accel);
    }
}
