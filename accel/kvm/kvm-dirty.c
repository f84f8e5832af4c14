/*
 * KVM dirty logging: KVM_MEM_LOG_DIRTY_PAGES on every slot, collected with
 * KVM_GET_DIRTY_LOG.  With manual protect (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)
 * GET only reads the log and KVM_CLEAR_DIRTY_LOG re-protects exactly the
 * pages reported; without it GET reads, clears and re-protects in one go.
 */
#include "kvm-int.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "qemu/error.h"

/* Switch every slot's flags; on failure put back the ones already switched. */
static bool kvm_slots_set_flags(AccelState *s, uint32_t flags, uint32_t old_flags,
                                GError **errp)
{
    for (unsigned i = 0; i < s->nr_slots; i++) {
        if (!kvm_slot_register(s, i, flags, errp)) {
            while (i-- > 0) {
                kvm_slot_register(s, i, old_flags, NULL);
            }
            return false;
        }
    }
    return true;
}

bool kvm_dirty_log_start(AccelState *s, GError **errp)
{
    bool ok = true;

    g_mutex_lock(&s->slots_lock);
    if (!s->dirty_logging) {
        ok = kvm_slots_set_flags(s, KVM_MEM_LOG_DIRTY_PAGES, 0, errp);
        s->dirty_logging = ok;
    }
    g_mutex_unlock(&s->slots_lock);
    return ok;
}

void kvm_dirty_log_stop(AccelState *s)
{
    g_autoptr(GError) err = NULL;

    g_mutex_lock(&s->slots_lock);
    if (s->dirty_logging) {
        if (!kvm_slots_set_flags(s, 0, KVM_MEM_LOG_DIRTY_PAGES, &err)) {
            /* Logging stays on: harmless beyond its cost, and stop cannot fail. */
            error_prepend(&err, "cannot stop KVM dirty logging: ");
            error_report("%s", err->message);
        } else {
            s->dirty_logging = false;
        }
    }
    g_mutex_unlock(&s->slots_lock);
}

static KVMSlot *kvm_slot_find(AccelState *s, const RAMBlock *rb, unsigned *index)
{
    for (unsigned i = 0; i < s->nr_slots; i++) {
        if (s->slots[i].rb == rb) {
            *index = i;
            return &s->slots[i];
        }
    }
    return NULL;
}

static bool kvm_bitmap_is_empty(const KVMSlot *slot)
{
    size_t words = slot->bitmap_bytes / sizeof(unsigned long);

    for (size_t i = 0; i < words; i++) {
        if (slot->bitmap[i]) {
            return false;
        }
    }
    return true;
}

/* Read slot @index's log into slot->bitmap and, with manual protect, clear those pages. */
static bool kvm_slot_fetch_log(AccelState *s, unsigned index, KVMSlot *slot, GError **errp)
{
    struct kvm_dirty_log log = { .slot = index, .dirty_bitmap = slot->bitmap };
    struct kvm_clear_dirty_log clear = {
        .slot = index,
        .first_page = 0,
        .num_pages = slot->size >> TARGET_PAGE_BITS,
        .dirty_bitmap = slot->bitmap,
    };

    memset(slot->bitmap, 0, slot->bitmap_bytes);
    if (ioctl(s->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_DIRTY_LOG for RAMBlock '%s'", slot->rb->idstr);
        return false;
    }
    if (!s->manual_protect || kvm_bitmap_is_empty(slot)) {
        return true;
    }
    /*
     * A write between GET and CLEAR lands in a page already reported dirty;
     * the caller copies the page after this sync, so it sends the new data.
     */
    if (ioctl(s->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0) {
        error_setg_errno(errp, errno, "KVM_CLEAR_DIRTY_LOG for RAMBlock '%s'", slot->rb->idstr);
        return false;
    }
    return true;
}

/*
 * KVM's bitmap is little-endian 64-bit words; on a little-endian host that
 * is bit-for-bit an array of unsigned long of any width, so it ORs straight
 * into @dest (which has BITS_TO_LONGS(pages) words).
 */
bool kvm_dirty_log_sync(AccelState *s, RAMBlock *rb, unsigned long *dest, GError **errp)
{
    G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
    const size_t long_bits = 8 * sizeof(unsigned long);
    unsigned index;
    KVMSlot *slot;
    bool ok = false;

    g_mutex_lock(&s->slots_lock);
    slot = kvm_slot_find(s, rb, &index);
    if (!slot) {
        error_setg(errp, "RAMBlock '%s' is not in a KVM memory slot", rb->idstr);
    } else if (!s->dirty_logging) {
        error_setg(errp, "KVM dirty logging is not active");
    } else if (kvm_slot_fetch_log(s, index, slot, errp)) {
        size_t words = (ramblock_pages(rb) + long_bits - 1) / long_bits;

        for (size_t i = 0; i < words; i++) {
            dest[i] |= slot->bitmap[i];
        }
        ok = true;
    }
    g_mutex_unlock(&s->slots_lock);
    return ok;
}
