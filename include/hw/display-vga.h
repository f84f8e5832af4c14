/*
 * VGA: tern's display, the Bochs VBE "dispi" interface of QEMU's standard
 * VGA without the legacy VGA registers.  The guest picks a mode through
 * two ports (index 0x1ce, data 0x1cf, also 0x1d0), draws into a linear
 * framebuffer mapped at guest-physical VGA_LFB_ADDR, and loads the
 * 256-colour palette of 8 bpp modes through the VGA DAC ports 0x3c7-0x3c9.
 * The framebuffer is its own RAM block, "vga.vram", so it migrates with
 * dirty tracking like guest RAM; registers and palette are the "VGA"
 * section.  docs/machine.md has the register table.
 */
#ifndef HW_DISPLAY_VGA_H
#define HW_DISPLAY_VGA_H

#include "exec/ramblock.h"
#include "hw/device.h"
#include "sysemu/memory.h"
#include "ui/surface.h"

/* QEMU's region name; the framebuffer at QEMU's VBE_DISPI_LFB_PHYSICAL_ADDRESS. */
#define VGA_VRAM_ID         "vga.vram"
#define VGA_LFB_ADDR        UINT64_C(0xe0000000)
/* QEMU's vgamem_mb default for PCI VGA; 256 MiB ends below KVM's own pages. */
#define VGA_VRAM_MB_DEFAULT 16
#define VGA_VRAM_MB_MAX     256
/* The device name screendump's "device" argument takes. */
#define VGA_DEVICE_ID       "vga"

/* VBE register indexes (data port after writing the index port). */
enum {
    VBE_DISPI_INDEX_ID,
    VBE_DISPI_INDEX_XRES,
    VBE_DISPI_INDEX_YRES,
    VBE_DISPI_INDEX_BPP,
    VBE_DISPI_INDEX_ENABLE,
    VBE_DISPI_INDEX_BANK,
    VBE_DISPI_INDEX_VIRT_WIDTH,
    VBE_DISPI_INDEX_VIRT_HEIGHT,
    VBE_DISPI_INDEX_X_OFFSET,
    VBE_DISPI_INDEX_Y_OFFSET,
    VBE_DISPI_INDEX_NB,                 /* registers kept in vbe_regs */
    VBE_DISPI_INDEX_VIDEO_MEMORY_64K = VBE_DISPI_INDEX_NB,
};

#define VBE_DISPI_ID0           0xb0c0
#define VBE_DISPI_ID5           0xb0c5
#define VBE_DISPI_MAX_XRES      16000
#define VBE_DISPI_MAX_YRES      12000
#define VBE_DISPI_MAX_BPP       32

/* ENABLE register bits. */
#define VBE_DISPI_ENABLED       0x01
#define VBE_DISPI_GETCAPS       0x02
#define VBE_DISPI_8BIT_DAC      0x20
#define VBE_DISPI_LFB_ENABLED   0x40
#define VBE_DISPI_NOCLEARMEM    0x80

/* Ports. */
#define VBE_DISPI_IOPORT_INDEX  0x1ce
#define VBE_DISPI_IOPORT_DATA   0x1cf   /* and 0x1d0 */
#define VGA_DAC_IOPORT_BASE     0x3c6   /* PEL mask, read/write index, data */

typedef struct VGAState {
    DeviceState parent;

    /* Migrated: VMState "vga" version 1, QEMU's field names. */
    uint16_t vbe_index;
    uint16_t vbe_regs[VBE_DISPI_INDEX_NB];
    uint8_t palette[256 * 3];           /* R, G, B as the guest wrote them */
    uint8_t dac_state;                  /* 0: write index set last, 3: read */
    uint8_t dac_sub_index;              /* 0..2: the colour component next */
    uint8_t dac_read_index;
    uint8_t dac_write_index;
    uint8_t dac_cache[3];               /* the entry being written */

    /* Not migrated: the video memory, and what the mode derives. */
    GuestMemory *memory;                /* the VM's; set before realize */
    RAMBlock *vram;
    uint32_t vbe_start_addr;            /* vram offset of the top-left pixel */
    uint32_t vbe_line_offset;           /* bytes per line */
} VGAState;

extern const DeviceClass vga_class;
extern const DeviceClass vga_dac_class;

/*
 * Create the "vga.vram" block of @vram_mb MiB (1..VGA_VRAM_MB_MAX) and map
 * it at VGA_LFB_ADDR.  Called with the machine's memory, before the
 * accelerator maps guest memory.
 */
bool vga_vram_init(GuestMemory *gm, uint64_t vram_mb, GError **errp);

/*
 * The picture the guest shows: false with "no surface" when no VBE mode
 * is enabled, or a reason when the mode is one tern does not display
 * (4 bpp planar).  @surf borrows the video memory.  BQL held.
 */
bool vga_get_surface(VGAState *s, DisplaySurface *surf, GError **errp);

typedef struct Machine Machine;         /* hw/machine.h */

/*
 * Add the VGA (id VGA_DEVICE_ID) and its DAC ports to @m's devices and
 * port map, realized, over the block vga_vram_init() made in @m's memory.
 * BQL held.
 */
bool vga_machine_add(Machine *m, GError **errp);

/* The DAC ports' device over @vga's palette (hw/display-vga-dac.c). */
DeviceState *vga_dac_new(VGAState *vga);

/* @m's display, or NULL when it has none. */
VGAState *vga_find(Machine *m);

#endif
