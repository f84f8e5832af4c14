/*
 * The test machine of guest-vm.h: RAM, guest loading, a serial sink.
 */
#include "guest-vm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "guest-blobs.h"
#include "qemu/bitmap.h"
#include "qemu/error.h"

static uint32_t guest_vm_pio_read(void *opaque, uint16_t port, unsigned size)
{
    if (port == GUEST_SERIAL_PORT + 5) {
        return 0x60;    /* line status: transmitter empty */
    }
    return 0xffffffffu;
}

static void guest_vm_pio_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    GuestVM *vm = opaque;

    if (port == GUEST_SERIAL_PORT) {
        g_mutex_lock(&vm->serial_lock);
        g_string_append_c(vm->serial, (char)value);
        g_mutex_unlock(&vm->serial_lock);
    }
}

GuestVM *guest_vm_new(uint64_t ram_size, const char *guest,
                      const GuestParams *params, GError **errp)
{
    g_autoptr(GuestVM) vm = g_new0(GuestVM, 1);
    const GuestBlob *blob = guest_blob_find(guest);
    void *host;

    g_mutex_init(&vm->serial_lock);
    vm->serial = g_string_new(NULL);
    vm->rb.fd = -1;
    if (!blob) {
        error_setg(errp, "no guest program called '%s'", guest);
        return NULL;
    }
    if (ram_size < GUEST_LOAD_ADDR + blob->size || ram_size % TARGET_PAGE_SIZE) {
        error_setg(errp, "bad RAM size %" G_GUINT64_FORMAT, ram_size);
        return NULL;
    }
    host = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                -1, 0);
    if (host == MAP_FAILED) {
        error_setg_errno(errp, errno, "mmap of %" G_GUINT64_FORMAT " bytes", ram_size);
        return NULL;
    }
    vm->rb.idstr = g_strdup("pc.ram");
    vm->rb.host = host;
    vm->rb.used_length = ram_size;
    vm->rb.page_size = TARGET_PAGE_SIZE;
    vm->rb.dirty_log = bitmap_new(ramblock_pages(&vm->rb));
    memcpy(vm->rb.host + GUEST_LOAD_ADDR, blob->data, blob->size);
    if (params) {
        guest_params_write(vm->rb.host + GUEST_PARAMS_ADDR, params);
    }

    vm->blocks = g_ptr_array_new();
    g_ptr_array_add(vm->blocks, &vm->rb);
    vm->accel = accel_interp_ops.vm_new(vm->blocks, errp);
    if (!vm->accel) {
        return NULL;
    }
    vm->cpu = accel_interp_ops.vcpu_new(vm->accel, 0, errp);
    if (!vm->cpu) {
        return NULL;
    }
    vm->io = (CPUIOHandler){ .pio_read = guest_vm_pio_read,
                             .pio_write = guest_vm_pio_write, .opaque = vm };
    return g_steal_pointer(&vm);
}

void guest_vm_free(GuestVM *vm)
{
    if (!vm) {
        return;
    }
    if (vm->cpu) {
        accel_interp_ops.vcpu_free(vm->cpu);
    }
    if (vm->accel) {
        accel_interp_ops.vm_free(vm->accel);
    }
    if (vm->blocks) {
        g_ptr_array_free(vm->blocks, TRUE);
    }
    if (vm->rb.host) {
        munmap(vm->rb.host, vm->rb.used_length);
    }
    g_free(vm->rb.dirty_log);
    g_free(vm->rb.idstr);
    g_string_free(vm->serial, TRUE);
    g_mutex_clear(&vm->serial_lock);
    g_free(vm);
}

char *guest_vm_serial(GuestVM *vm)
{
    char *s;

    g_mutex_lock(&vm->serial_lock);
    s = g_strdup(vm->serial->str);
    g_mutex_unlock(&vm->serial_lock);
    return s;
}

void guest_vm_dirty_clear(GuestVM *vm)
{
    bitmap_clear(vm->rb.dirty_log, 0, ramblock_pages(&vm->rb));
}
