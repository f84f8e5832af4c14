/*
 * libFuzzer target: the device sections (hw/serial.c, hw/testdev.c,
 * hw/display-vga.c) loaded by the VMState engine (migration/vmstate.c):
 * fields, arrays with counts from the stream, subsections, and each
 * device's post_load checks.  The first byte picks the device (modulo
 * their number), the rest is its section's payload at the device's
 * version.  The engine's contract is checked: a load that fails leaves the
 * device as it was (saved before and after, the bytes must match); one
 * that succeeds must save again.
 */
#include "hw/device.h"
#include "hw/display-vga.h"
#include "hw/serial.h"
#include "hw/testdev.h"
#include "migration/qemu-file.h"
#include "migration/vmstate.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const DeviceClass *const fuzz_dev_classes[] = {
    &serial_class, &testdev_class, &vga_class,
};

/* Realized on first use and kept (reset before each input): VGA's memory is large. */
static DeviceState *fuzz_dev_get(size_t i)
{
    static DeviceState *devs[G_N_ELEMENTS(fuzz_dev_classes)];
    g_autoptr(GError) err = NULL;

    if (!devs[i]) {
        devs[i] = device_new(fuzz_dev_classes[i], fuzz_dev_classes[i]->name);
        if (fuzz_dev_classes[i] == &vga_class) {
            /* Its post_load checks the VBE registers against the video memory's size. */
            GuestMemory *gm = guest_memory_new();

            if (!vga_vram_init(gm, 16, &err)) {
                abort();
            }
            ((VGAState *)devs[i])->memory = gm;
        }
        if (!device_realize(devs[i], &err)) {
            fprintf(stderr, "fuzz-devstate: %s: %s\n", fuzz_dev_classes[i]->name, err->message);
            abort();
        }
    }
    device_reset(devs[i]);
    return devs[i];
}

/* The device's section as it would be saved now. */
static GBytes *fuzz_dev_save(const VMStateDescription *vmsd, DeviceState *dev)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    GBytes *bytes;

    if (!vmstate_save_state(out, vmsd, dev, NULL, &err)) {
        fprintf(stderr, "fuzz-devstate: save: %s\n", err->message);
        abort();
    }
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    return bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t which;
    const VMStateDescription *vmsd;
    DeviceState *dev;
    g_autoptr(GBytes) before = NULL;
    g_autoptr(GBytes) after = NULL;
    g_autoptr(GError) err = NULL;
    QEMUFile *in;
    bool ok;

    if (!size) {
        return 0;
    }
    which = data[0] % G_N_ELEMENTS(fuzz_dev_classes);
    vmsd = fuzz_dev_classes[which]->vmsd;
    dev = fuzz_dev_get(which);
    before = fuzz_dev_save(vmsd, dev);
    in = qemu_file_new_input_buffer(data + 1, size - 1);
    ok = vmstate_load_state(in, vmsd, dev, vmsd->version_id, &err);
    qemu_fclose(in, NULL);
    after = fuzz_dev_save(vmsd, dev);
    if (!ok && !g_bytes_equal(before, after)) {
        fprintf(stderr, "fuzz-devstate: %s: a failed load (%s) changed the device\n",
                vmsd->name, err->message);
        abort();
    }
    return 0;
}
