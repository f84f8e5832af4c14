/*
 * The VGA display: the VBE "dispi" registers (their write rules follow
 * QEMU's standard VGA: clamping, never refusing), the "vga.vram" block
 * mapped at VGA_LFB_ADDR, the device's VMState, and the surface that
 * screendump renders.  The DAC ports (palette) are hw/display-vga-dac.c.
 */
#include "hw/display-vga.h"

#include <string.h>

#include "hw/machine.h"
#include "migration/vmstate.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"

static VGAState *VGA(DeviceState *dev)
{
    g_assert(dev->klass == &vga_class);
    return (VGAState *)dev;
}

static bool vga_vbe_enabled(const uint16_t *regs)
{
    return regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

/* Bits per pixel in memory for a BPP value vga_vbe_fixup() accepts. */
static unsigned vga_vbe_bits(uint16_t bpp)
{
    return bpp == 15 ? 16 : bpp;
}

/*
 * Bring an enabled mode within what the hardware allows, the way the Bochs
 * interface does: values are rounded and clamped, never refused, and a
 * panned frame that would run past the video memory loses its Y offset,
 * then its X offset.  Afterwards the visible frame lies inside the video
 * memory, which is what makes every read of it safe.  Returns the start
 * address and line length in @start / @line.
 */
static void vga_vbe_fixup(uint16_t *r, uint64_t vram_size, uint32_t *start,
                          uint32_t *line)
{
    uint32_t bits, line_len, max_y, offset;

    switch (r[VBE_DISPI_INDEX_BPP]) {
    case 4: case 8: case 15: case 16: case 24: case 32:
        break;
    default:
        r[VBE_DISPI_INDEX_BPP] = 8;
    }
    bits = vga_vbe_bits(r[VBE_DISPI_INDEX_BPP]);

    r[VBE_DISPI_INDEX_XRES] &= ~7u;
    r[VBE_DISPI_INDEX_XRES] = CLAMP(r[VBE_DISPI_INDEX_XRES], 8,
                                    VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_VIRT_WIDTH] &= ~7u;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = CLAMP(r[VBE_DISPI_INDEX_VIRT_WIDTH],
                                          r[VBE_DISPI_INDEX_XRES],
                                          VBE_DISPI_MAX_XRES);

    line_len = r[VBE_DISPI_INDEX_VIRT_WIDTH] * bits / 8;
    max_y = vram_size / line_len;       /* >= 16: 1 MiB, lines < 64 KiB */
    r[VBE_DISPI_INDEX_YRES] = CLAMP(r[VBE_DISPI_INDEX_YRES], 1,
                                    MIN(VBE_DISPI_MAX_YRES, max_y));

    r[VBE_DISPI_INDEX_X_OFFSET] = MIN(r[VBE_DISPI_INDEX_X_OFFSET],
                                      VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_Y_OFFSET] = MIN(r[VBE_DISPI_INDEX_Y_OFFSET],
                                      VBE_DISPI_MAX_YRES);
    offset = r[VBE_DISPI_INDEX_X_OFFSET] * bits / 8 +
             r[VBE_DISPI_INDEX_Y_OFFSET] * line_len;
    if (offset + (uint64_t)r[VBE_DISPI_INDEX_YRES] * line_len > vram_size) {
        r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
        offset = r[VBE_DISPI_INDEX_X_OFFSET] * bits / 8;
        if (offset + (uint64_t)r[VBE_DISPI_INDEX_YRES] * line_len > vram_size) {
            r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            offset = 0;
        }
    }
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = MIN(max_y, G_MAXUINT16);
    *start = offset;
    *line = line_len;
}

static void vga_vbe_update(VGAState *s)
{
    if (vga_vbe_enabled(s->vbe_regs)) {
        vga_vbe_fixup(s->vbe_regs, s->vram->used_length, &s->vbe_start_addr,
                      &s->vbe_line_offset);
    }
}

static void vga_vbe_enable(VGAState *s, uint16_t value)
{
    uint16_t *r = s->vbe_regs;
    bool was_enabled = vga_vbe_enabled(r);

    r[VBE_DISPI_INDEX_ENABLE] = value;
    if (!(value & VBE_DISPI_ENABLED) || was_enabled) {
        return;
    }
    /* A mode set starts unpanned, its virtual width the visible one. */
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = r[VBE_DISPI_INDEX_XRES];
    r[VBE_DISPI_INDEX_X_OFFSET] = 0;
    r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
    vga_vbe_update(s);
    if (!(value & VBE_DISPI_NOCLEARMEM)) {
        /* Through guest memory, so that migration sees the pages change. */
        g_assert(guest_memory_set(s->memory, VGA_LFB_ADDR, 0,
                                  (uint64_t)r[VBE_DISPI_INDEX_YRES] *
                                  s->vbe_line_offset, NULL));
    }
}

static void vga_vbe_write(VGAState *s, uint16_t value)
{
    uint16_t idx = s->vbe_index;

    switch (idx) {
    case VBE_DISPI_INDEX_ID:
        if (value >= VBE_DISPI_ID0 && value <= VBE_DISPI_ID5) {
            s->vbe_regs[idx] = value;
        }
        break;
    case VBE_DISPI_INDEX_XRES:
    case VBE_DISPI_INDEX_YRES:
    case VBE_DISPI_INDEX_BPP:
    case VBE_DISPI_INDEX_VIRT_WIDTH:
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        s->vbe_regs[idx] = value;
        vga_vbe_update(s);
        break;
    case VBE_DISPI_INDEX_BANK:
        /* Kept for the guest to read back; tern has no banked window. */
        s->vbe_regs[idx] = value & ((s->vram->used_length >> 16) - 1);
        break;
    case VBE_DISPI_INDEX_ENABLE:
        vga_vbe_enable(s, value);
        break;
    default:
        break;          /* VIRT_HEIGHT is computed; the rest do not exist */
    }
}

static uint16_t vga_vbe_read(VGAState *s)
{
    uint16_t idx = s->vbe_index;
    bool caps = s->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS;

    switch (idx) {
    case VBE_DISPI_INDEX_XRES:
        return caps ? VBE_DISPI_MAX_XRES : s->vbe_regs[idx];
    case VBE_DISPI_INDEX_YRES:
        return caps ? VBE_DISPI_MAX_YRES : s->vbe_regs[idx];
    case VBE_DISPI_INDEX_BPP:
        return caps ? VBE_DISPI_MAX_BPP : s->vbe_regs[idx];
    case VBE_DISPI_INDEX_VIDEO_MEMORY_64K:
        return s->vram->used_length >> 16;
    default:
        return idx < VBE_DISPI_INDEX_NB ? s->vbe_regs[idx] : 0;
    }
}

/* Offsets from 0x1ce: 0 index, 1 and 2 data; 16-bit accesses only. */
static uint32_t vga_pio_read(DeviceState *dev, uint16_t offset, unsigned size)
{
    VGAState *s = VGA(dev);

    if (size != 2 || offset > 2) {
        return UINT32_MAX;
    }
    return offset == 0 ? s->vbe_index : vga_vbe_read(s);
}

static void vga_pio_write(DeviceState *dev, uint16_t offset, unsigned size,
                          uint32_t value)
{
    VGAState *s = VGA(dev);

    if (size != 2 || offset > 2) {
        return;
    }
    if (offset == 0) {
        s->vbe_index = value;
    } else {
        vga_vbe_write(s, value);
    }
}

static bool vga_realize(DeviceState *dev, GError **errp)
{
    VGAState *s = VGA(dev);

    s->vram = s->memory ? ram_block_by_id(s->memory, VGA_VRAM_ID) : NULL;
    if (!s->vram || s->vram->guest_addr != VGA_LFB_ADDR) {
        error_setg(errp, "no video memory ('%s' at 0x%" G_GINT64_MODIFIER "x)",
                   VGA_VRAM_ID, VGA_LFB_ADDR);
        return false;
    }
    return true;
}

static void vga_reset(DeviceState *dev)
{
    VGAState *s = VGA(dev);

    s->vbe_index = 0;
    memset(s->vbe_regs, 0, sizeof(s->vbe_regs));
    s->vbe_regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    memset(s->palette, 0, sizeof(s->palette));
    s->dac_state = s->dac_sub_index = 0;
    s->dac_read_index = s->dac_write_index = 0;
    memset(s->dac_cache, 0, sizeof(s->dac_cache));
    s->vbe_start_addr = s->vbe_line_offset = 0;
}

/*
 * A loaded mode must be one the registers could hold: an enabled mode is
 * already fixed up (fixing it again changes nothing), so the frame lies
 * inside this side's video memory.  The engine restores the old state if
 * this fails.
 */
static bool vga_post_load(void *opaque, int version_id, GError **errp)
{
    VGAState *s = opaque;
    uint16_t fixed[VBE_DISPI_INDEX_NB];
    uint32_t start, line;

    if (s->dac_sub_index > 2 || (s->dac_state != 0 && s->dac_state != 3)) {
        error_setg(errp, "invalid DAC state %u, component %u", s->dac_state,
                   s->dac_sub_index);
        return false;
    }
    if (vga_vbe_enabled(s->vbe_regs)) {
        memcpy(fixed, s->vbe_regs, sizeof(fixed));
        vga_vbe_fixup(fixed, s->vram->used_length, &start, &line);
        for (int i = 0; i < VBE_DISPI_INDEX_NB; i++) {
            if (fixed[i] != s->vbe_regs[i]) {
                error_setg(errp, "VBE register %d = %u is not a valid value "
                           "for %" G_GUINT64_FORMAT " MiB of video memory "
                           "(expected %u)", i, s->vbe_regs[i],
                           s->vram->used_length >> 20, fixed[i]);
                return false;
            }
        }
        s->vbe_start_addr = start;
        s->vbe_line_offset = line;
    }
    return true;
}

static const VMStateDescription vmstate_vga = {
    .name = "vga",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vga_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(vbe_index, VGAState),
        VMSTATE_UINT16_ARRAY(vbe_regs, VGAState, VBE_DISPI_INDEX_NB),
        VMSTATE_BUFFER(palette, VGAState),
        VMSTATE_UINT8(dac_state, VGAState),
        VMSTATE_UINT8(dac_sub_index, VGAState),
        VMSTATE_UINT8(dac_read_index, VGAState),
        VMSTATE_UINT8(dac_write_index, VGAState),
        VMSTATE_BUFFER(dac_cache, VGAState),
        VMSTATE_END_OF_LIST()
    },
};

const DeviceClass vga_class = {
    .name = "VGA",
    .instance_size = sizeof(VGAState),
    .pio_base = VBE_DISPI_IOPORT_INDEX,
    .pio_len = 4,
    .realize = vga_realize,
    .reset = vga_reset,
    .pio_read = vga_pio_read,
    .pio_write = vga_pio_write,
    .vmsd = &vmstate_vga,
};

/* 6-bit DAC components stretched to 8 bits (0x3f -> 0xff). */
static uint8_t vga_dac_to_8bit(uint8_t v)
{
    v &= 0x3f;
    return (v << 2) | (v >> 4);
}

static void vga_palette_rgba(const VGAState *s, uint32_t *rgba)
{
    bool dac8 = s->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC;

    for (int i = 0; i < 256; i++) {
        const uint8_t *c = &s->palette[i * 3];
        uint32_t r = dac8 ? c[0] : vga_dac_to_8bit(c[0]);
        uint32_t g = dac8 ? c[1] : vga_dac_to_8bit(c[1]);
        uint32_t b = dac8 ? c[2] : vga_dac_to_8bit(c[2]);

        rgba[i] = 0xff000000u | r << 16 | g << 8 | b;
    }
}

bool vga_get_surface(VGAState *s, DisplaySurface *surf, GError **errp)
{
    static const struct {
        uint16_t bpp;
        pixman_format_code_t format;
    } formats[] = {
        { 8, PIXMAN_c8 }, { 15, PIXMAN_x1r5g5b5 }, { 16, PIXMAN_r5g6b5 },
        { 24, PIXMAN_r8g8b8 }, { 32, PIXMAN_x8r8g8b8 },
    };
    const uint16_t *r = s->vbe_regs;
    unsigned bits = vga_vbe_bits(r[VBE_DISPI_INDEX_BPP]);

    if (!vga_vbe_enabled(r)) {
        error_setg(errp, "no surface");
        return false;
    }
    *surf = (DisplaySurface){
        .x_skip = r[VBE_DISPI_INDEX_X_OFFSET],
        .width = r[VBE_DISPI_INDEX_XRES],
        .height = r[VBE_DISPI_INDEX_YRES],
        .stride = s->vbe_line_offset,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (formats[i].bpp == r[VBE_DISPI_INDEX_BPP]) {
            surf->format = formats[i].format;
        }
    }
    if (!surf->format) {
        error_setg(errp, "the %u bpp planar VBE mode is not displayed by tern",
                   r[VBE_DISPI_INDEX_BPP]);
        return false;
    }
    /* The fixed-up mode lies inside the video memory (vga_vbe_fixup). */
    g_assert(s->vbe_start_addr + (uint64_t)(surf->height - 1) * surf->stride +
             (uint64_t)surf->width * bits / 8 <= s->vram->used_length);
    surf->rows = s->vram->host + s->vbe_start_addr -
                 (uint64_t)surf->x_skip * bits / 8;
    if (surf->format == PIXMAN_c8) {
        vga_palette_rgba(s, surf->palette);
    }
    return true;
}

bool vga_vram_init(GuestMemory *gm, uint64_t vram_mb, GError **errp)
{
    MemoryBackendConfig cfg = {
        .kind = MEMORY_BACKEND_RAM,
        .id = (char *)VGA_VRAM_ID,
        .size = vram_mb << 20,
    };
    RAMBlock *rb;

    g_assert(vram_mb >= 1 && vram_mb <= VGA_VRAM_MB_MAX);
    rb = memory_add_backend(gm, &cfg, errp);
    return rb && memory_map_block(gm, rb, VGA_LFB_ADDR, errp);
}

static bool vga_add_device(Machine *m, DeviceState *dev, GError **errp)
{
    g_ptr_array_add(m->devices, dev);
    return ioport_map_add(m->ioports, dev, errp) && device_realize(dev, errp);
}

bool vga_machine_add(Machine *m, GError **errp)
{
    DeviceState *vga = device_new(&vga_class, VGA_DEVICE_ID);
    DeviceState *dac;

    ((VGAState *)vga)->memory = m->memory;
    if (!vga_add_device(m, vga, errp)) {
        return false;
    }
    dac = vga_dac_new((VGAState *)vga);
    return vga_add_device(m, dac, errp);
}

VGAState *vga_find(Machine *m)
{
    for (guint i = 0; m->devices && i < m->devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(m->devices, i);

        if (dev->klass == &vga_class) {
            return (VGAState *)dev;
        }
    }
    return NULL;
}
