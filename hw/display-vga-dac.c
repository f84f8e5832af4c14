/*
 * The VGA DAC ports, the one part of the legacy VGA tern's display has:
 * they load the 256-colour palette that 8 bpp VBE modes show.  The state
 * is the VGA's (and migrates in its section); this device only owns the
 * ports 0x3c6-0x3c9:
 *   0x3c6 PEL mask    reads 0xff; writes ignored (tern applies no mask)
 *   0x3c7 read index  write: next entry to read; read: DAC state (0 or 3)
 *   0x3c8 write index write: next entry to write; read: it
 *   0x3c9 data        three accesses, R then G then B, per entry; the
 *                     index advances after B (wrapping at 256)
 */
#include "hw/display-vga.h"

#include <string.h>

typedef struct VGADacState {
    DeviceState parent;
    VGAState *vga;              /* the VGA whose palette this is; not owned */
} VGADacState;

enum { DAC_PEL_MASK, DAC_READ_INDEX, DAC_WRITE_INDEX, DAC_DATA };

static VGAState *vga_dac_vga(DeviceState *dev)
{
    g_assert(dev->klass == &vga_dac_class);
    return ((VGADacState *)dev)->vga;
}

static uint8_t vga_dac_read_byte(VGAState *s, uint16_t port)
{
    uint8_t v;

    switch (port) {
    case DAC_READ_INDEX:
        return s->dac_state;
    case DAC_WRITE_INDEX:
        return s->dac_write_index;
    case DAC_DATA:
        v = s->palette[s->dac_read_index * 3 + s->dac_sub_index];
        if (++s->dac_sub_index == 3) {
            s->dac_sub_index = 0;
            s->dac_read_index++;
        }
        return v;
    default:
        return 0xff;
    }
}

static void vga_dac_write_byte(VGAState *s, uint16_t port, uint8_t v)
{
    switch (port) {
    case DAC_READ_INDEX:
        s->dac_read_index = v;
        s->dac_sub_index = 0;
        s->dac_state = 3;
        break;
    case DAC_WRITE_INDEX:
        s->dac_write_index = v;
        s->dac_sub_index = 0;
        s->dac_state = 0;
        break;
    case DAC_DATA:
        s->dac_cache[s->dac_sub_index] = v;
        if (++s->dac_sub_index == 3) {
            memcpy(&s->palette[s->dac_write_index * 3], s->dac_cache, 3);
            s->dac_sub_index = 0;
            s->dac_write_index++;
        }
        break;
    }
}

/* A wider access is that many byte accesses to consecutive ports. */
static uint32_t vga_dac_pio_read(DeviceState *dev, uint16_t offset,
                                 unsigned size)
{
    VGAState *s = vga_dac_vga(dev);
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)vga_dac_read_byte(s, offset + i) << (i * 8);
    }
    return v;
}

static void vga_dac_pio_write(DeviceState *dev, uint16_t offset,
                              unsigned size, uint32_t value)
{
    VGAState *s = vga_dac_vga(dev);

    for (unsigned i = 0; i < size; i++) {
        vga_dac_write_byte(s, offset + i, value >> (i * 8));
    }
}

const DeviceClass vga_dac_class = {
    .name = "vga-dac",
    .instance_size = sizeof(VGADacState),
    .pio_base = VGA_DAC_IOPORT_BASE,
    .pio_len = 4,
    .pio_read = vga_dac_pio_read,
    .pio_write = vga_dac_pio_write,
};

DeviceState *vga_dac_new(VGAState *vga)
{
    VGADacState *dac = (VGADacState *)device_new(&vga_dac_class, "vga-dac");

    dac->vga = vga;
    return &dac->parent;
}
