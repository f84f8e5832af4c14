/*
 * A minimal machine for unit tests and benchmarks of the interp
 * accelerator: one anonymous RAM block at guest-physical 0, a guest program
 * from guest-blobs loaded at GUEST_LOAD_ADDR, an optional parameter block,
 * and a port-I/O handler that captures what the guest writes to the serial
 * port.  Not the real machine (hw/, system/): no devices, no threads.
 */
#ifndef TESTS_GUEST_VM_H
#define TESTS_GUEST_VM_H

#include <glib.h>

#include "exec/ramblock.h"
#include "hw/guest-params.h"
#include "qemu/bitmap.h"
#include "sysemu/accel-ops.h"

typedef struct GuestVM {
    RAMBlock rb;
    GPtrArray *blocks;          /* of RAMBlock*, for vm_new */
    AccelState *accel;
    AccelVCPU *cpu;
    CPUIOHandler io;
    GMutex serial_lock;         /* serial is written on whichever thread runs the vCPU */
    GString *serial;
} GuestVM;

/*
 * A VM with @ram_size bytes of RAM running guest @guest (a guest_blob_find
 * name), with @params written at GUEST_PARAMS_ADDR unless NULL.
 */
GuestVM *guest_vm_new(uint64_t ram_size, const char *guest,
                      const GuestParams *params, GError **errp);
void guest_vm_free(GuestVM *vm);

/* A copy of the serial output so far (caller frees). */
char *guest_vm_serial(GuestVM *vm);

/* First byte of page @page of RAM. */
static inline uint8_t guest_vm_page_byte(const GuestVM *vm, uint64_t page)
{
    return vm->rb.host[page << TARGET_PAGE_BITS];
}

/* Clear the dirty log (what a collector does after reading it). */
void guest_vm_dirty_clear(GuestVM *vm);

static inline bool guest_vm_page_is_dirty(const GuestVM *vm, uint64_t page)
{
    return test_bit(page, vm->rb.dirty_log);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestVM, guest_vm_free)

#endif
