/*
 * The KVM accelerator: the VM, its memory slots and the AccelOps table.
 *
 * Why it is built this way:
 * - No in-kernel irqchip.  tern's guests run with interrupts off, so HLT is
 *   final: without an irqchip KVM returns it to us as KVM_EXIT_HLT and we
 *   report VCPU_EXIT_HALT.  It also means KVM's MP state is always RUNNABLE
 *   (KVM refuses HALTED without a local APIC), so "halted" is tracked here.
 * - One memory slot per RAMBlock, registered once; dirty logging only flips
 *   KVM_MEM_LOG_DIRTY_PAGES on the same slots, so guest addresses never move.
 * - Kicks use run->immediate_exit plus a signal that is blocked outside
 *   KVM_RUN (kvm-cpu.c), so a kick is sticky and never lost, whatever the
 *   vCPU thread is doing when it arrives.
 * - /dev/kvm may be slow (a nested KVM that emulates every guest
 *   instruction): nothing here assumes a guest makes progress quickly, and
 *   nothing busy-waits on it.
 */
#include "kvm-int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "qemu/error.h"

#define KVM_API_VERSION_EXPECTED 12

/* What tern cannot run without (checked in this order; the first missing is named). */
static const KVMCapability kvm_required_caps[] = {
    { "KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY },
    { "KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR },
    { "KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID },
    { "KVM_CAP_SYNC_MMU", KVM_CAP_SYNC_MMU },
    { "KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT },
};

int kvm_device_open(const char *path, GError **errp)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not access KVM kernel module");
    }
    return fd;
}

bool kvm_check_caps(int fd, const KVMCapability *caps, size_t n, GError **errp)
{
    for (size_t i = 0; i < n; i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
            error_set(errp, TERN_ERROR_KVM_MISSING_CAP, "kvm does not support %s",
                      caps[i].name);
            return false;
        }
    }
    return true;
}

/*
 * Open /dev/kvm (or $TERN_KVM_DEVICE, which tests point at an unusable
 * path) and check the API version and required capabilities.
 */
static int kvm_open_checked(GError **errp)
{
    const char *path = g_getenv("TERN_KVM_DEVICE");
    int fd = kvm_device_open(path ? path : "/dev/kvm", errp);
    int version;

    if (fd < 0) {
        return -1;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version < 0) {
        error_setg_errno(errp, errno, "KVM_GET_API_VERSION");
        goto fail;
    }
    if (version < KVM_API_VERSION_EXPECTED) {
        error_setg(errp, "kvm version too old");
        goto fail;
    }
    if (version > KVM_API_VERSION_EXPECTED) {
        error_setg(errp, "kvm version not supported");
        goto fail;
    }
    if (!kvm_check_caps(fd, kvm_required_caps, G_N_ELEMENTS(kvm_required_caps), errp)) {
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

static bool kvm_available(GError **errp)
{
    int fd = kvm_open_checked(errp);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static void kvm_kick_handler(int sig)
{
    /* Empty: the signal exists only to force the thread out of guest mode. */
}

/*
 * Install the kick signal's handler (process-wide, idempotent).  Without SA_RESTART
 * so nothing restarts silently; the signal is only ever unblocked inside KVM_RUN.
 */
static bool kvm_install_kick_handler(GError **errp)
{
    struct sigaction sa = { .sa_handler = kvm_kick_handler };

    sigemptyset(&sa.sa_mask);
    if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) < 0) {
        error_setg_errno(errp, errno, "sigaction(SIGUSR1)");
        return false;
    }
    return true;
}

bool kvm_slot_register(AccelState *s, unsigned slot, uint32_t flags, GError **errp)
{
    RAMBlock *rb = s->slots[slot].rb;
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = flags,
        .guest_phys_addr = rb->guest_addr,
        .memory_size = s->slots[slot].size,
        .userspace_addr = (uintptr_t)rb->host,
    };

    if (ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        error_setg_errno(errp, errno,
                         "KVM_SET_USER_MEMORY_REGION for RAMBlock '%s' "
                         "(guest 0x%" G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT " bytes)",
                         rb->idstr, rb->guest_addr, rb->used_length);
        return false;
    }
    return true;
}

/* Reject blocks KVM would refuse or that would collide with KVM's own pages. */
static bool kvm_check_ramblock(const RAMBlock *rb, GError **errp)
{
    uint64_t end = rb->guest_addr + rb->used_length;

    if (rb->used_length == 0 || (rb->used_length & ~TARGET_PAGE_MASK) ||
        (rb->guest_addr & ~TARGET_PAGE_MASK) || ((uintptr_t)rb->host & ~TARGET_PAGE_MASK) ||
        end < rb->guest_addr) {
        error_setg(errp, "RAMBlock '%s' is not page-aligned or is empty", rb->idstr);
        return false;
    }
    if (rb->guest_addr >= KVM_IDENTITY_MAP_ADDR && rb->guest_addr < KVM_RESERVED_END) {
        error_setg(errp, "RAMBlock '%s' starts inside KVM's reserved pages at 0x%llx-0x%llx",
                   rb->idstr, KVM_IDENTITY_MAP_ADDR, KVM_RESERVED_END - 1);
        return false;
    }
    return true;
}

/*
 * The bytes of @rb KVM maps.  A block reaching into KVM's reserved pages
 * (a 4 GiB guest: RAM fills all of the 32-bit space) is mapped up to them;
 * everything from there to its end stays out of the guest's reach under KVM, which tern's
 * guests never touch (docs/machine.md).
 */
static uint64_t kvm_slot_size(const RAMBlock *rb)
{
    if (rb->guest_addr < KVM_IDENTITY_MAP_ADDR &&
        rb->guest_addr + rb->used_length > KVM_IDENTITY_MAP_ADDR) {
        return KVM_IDENTITY_MAP_ADDR - rb->guest_addr;
    }
    return rb->used_length;
}

static bool kvm_vm_setup_slots(AccelState *s, GPtrArray *ram_blocks, GError **errp)
{
    int max_slots = ioctl(s->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);

    if (max_slots > 0 && ram_blocks->len > (unsigned)max_slots) {
        error_setg(errp, "%u RAM blocks but KVM offers only %d memory slots",
                   ram_blocks->len, max_slots);
        return false;
    }
    s->nr_slots = ram_blocks->len;
    s->slots = g_new0(KVMSlot, s->nr_slots);
    for (unsigned i = 0; i < s->nr_slots; i++) {
        KVMSlot *slot = &s->slots[i];

        slot->rb = g_ptr_array_index(ram_blocks, i);
        if (!kvm_check_ramblock(slot->rb, errp)) {
            return false;
        }
        slot->size = kvm_slot_size(slot->rb);
        /* KVM fills whole 64-bit words. */
        slot->bitmap_bytes = ((ramblock_pages(slot->rb) + 63) / 64) * 8;
        slot->bitmap = g_malloc0(slot->bitmap_bytes);
        if (!kvm_slot_register(s, i, 0, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * Manual protect (KVM_CLEAR_DIRTY_LOG) lets a sync clear exactly the pages it
 * reports instead of re-protecting the whole slot.  INITIALLY_SET is not
 * requested: our contract is "pages written since start", not "all pages".
 */
static bool kvm_vm_enable_manual_protect(AccelState *s, GError **errp)
{
    int caps = ioctl(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
        .args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
    };

    if (caps <= 0 || !(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
        return true;
    }
    if (ioctl(s->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
        error_setg_errno(errp, errno, "KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)");
        return false;
    }
    s->manual_protect = true;
    return true;
}

/* Every vCPU of @s must have been freed first. */
static void kvm_vm_free(AccelState *s)
{
    if (!s) {
        return;
    }
    for (unsigned i = 0; s->slots && i < s->nr_slots; i++) {
        g_free(s->slots[i].bitmap);
    }
    g_free(s->slots);
    if (s->vm_fd >= 0) {
        close(s->vm_fd);
    }
    if (s->kvm_fd >= 0) {
        close(s->kvm_fd);
    }
    g_mutex_clear(&s->slots_lock);
    g_free(s);
}

static AccelState *kvm_vm_new(GPtrArray *ram_blocks, GError **errp)
{
    AccelState *s = g_new0(AccelState, 1);
    int xsave2;

    g_mutex_init(&s->slots_lock);
    s->vm_fd = -1;
    s->kvm_fd = kvm_open_checked(errp);
    if (s->kvm_fd < 0 || !kvm_install_kick_handler(errp)) {
        goto fail;
    }
    s->vcpu_mmap_size = ioctl(s->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (s->vcpu_mmap_size < 0) {
        error_setg_errno(errp, errno, "KVM_GET_VCPU_MMAP_SIZE");
        goto fail;
    }
    if (s->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        error_setg(errp, "KVM_GET_VCPU_MMAP_SIZE: %d bytes is too small", s->vcpu_mmap_size);
        goto fail;
    }
    do {
        s->vm_fd = ioctl(s->kvm_fd, KVM_CREATE_VM, 0);
    } while (s->vm_fd < 0 && errno == EINTR);
    if (s->vm_fd < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_VM");
        goto fail;
    }
    /* Only used by Intel hosts for real mode, but must not land on guest RAM. */
    if (ioctl(s->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_TSS_ADDR");
        goto fail;
    }
    s->has_xsave = ioctl(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
    xsave2 = ioctl(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    s->xsave_size = xsave2 > 0 ? xsave2 : 0;
    if (!kvm_vm_enable_manual_protect(s, errp) ||
        !kvm_vm_setup_slots(s, ram_blocks, errp)) {
        goto fail;
    }
    return s;

fail:
    kvm_vm_free(s);
    return NULL;
}

const AccelOps accel_kvm_ops = {
    .name = "kvm",
    .available = kvm_available,
    .vm_new = kvm_vm_new,
    .vm_free = kvm_vm_free,
    .vcpu_new = kvm_vcpu_new,
    .vcpu_free = kvm_vcpu_free,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_get_state = kvm_vcpu_get_state,
    .vcpu_set_state = kvm_vcpu_set_state,
    .dirty_log_start = kvm_dirty_log_start,
    .dirty_log_sync = kvm_dirty_log_sync,
    .dirty_log_stop = kvm_dirty_log_stop,
};
