/*
 * The VGA display as a unit: the VBE register rules (clamping, the ID and
 * GETCAPS reads, panning that would leave the video memory), every pixel
 * format through pixman to RGB, the PPM and PNG files, and the VMState
 * section (a round trip, and modes that post_load refuses).
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <string.h>

#include "hw/display-vga.h"
#include "migration/vmstate.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"

#define VRAM_MB 4

typedef struct Fixture {
    GuestMemory *memory;
    VGAState *vga;
    DeviceState *dac;
    uint8_t *vram;
    char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    bql_lock();
    f->memory = guest_memory_new();
    g_assert_true(vga_vram_init(f->memory, VRAM_MB, &err));
    f->vga = (VGAState *)device_new(&vga_class, VGA_DEVICE_ID);
    f->vga->memory = f->memory;
    g_assert_true(device_realize(&f->vga->parent, &err));
    f->dac = vga_dac_new(f->vga);
    g_assert_true(device_realize(f->dac, &err));
    f->vram = f->vga->vram->host;
    f->dir = g_dir_make_tmp("tern-display-XXXXXX", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    device_free(f->dac);
    device_free(&f->vga->parent);
    guest_memory_free(f->memory);
    bql_unlock();
}

static void vbe_write(Fixture *f, uint16_t idx, uint16_t v)
{
    vga_class.pio_write(&f->vga->parent, 0, 2, idx);
    vga_class.pio_write(&f->vga->parent, 1, 2, v);
}

static uint16_t vbe_read(Fixture *f, uint16_t idx)
{
    vga_class.pio_write(&f->vga->parent, 0, 2, idx);
    return vga_class.pio_read(&f->vga->parent, 2, 2);     /* 0x1d0 alias */
}

static void mode_set(Fixture *f, uint16_t x, uint16_t y, uint16_t bpp)
{
    vbe_write(f, VBE_DISPI_INDEX_ENABLE, 0);
    vbe_write(f, VBE_DISPI_INDEX_XRES, x);
    vbe_write(f, VBE_DISPI_INDEX_YRES, y);
    vbe_write(f, VBE_DISPI_INDEX_BPP, bpp);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE,
              VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
}

static RGBImage *render(Fixture *f)
{
    g_autoptr(GError) err = NULL;
    DisplaySurface surf;
    RGBImage *img;

    g_assert_true(vga_get_surface(f->vga, &surf, &err));
    img = display_surface_to_rgb(&surf, &err);
    g_assert_no_error(err);
    return img;
}

static void assert_pixel(const RGBImage *img, int x, int y, uint32_t rgb)
{
    const uint8_t *p = img->data + (size_t)y * img->stride + x * 3;
    uint32_t got = p[0] << 16 | p[1] << 8 | p[2];

    if (got != rgb) {
        g_error("pixel (%d,%d) is %06x, expected %06x", x, y, got, rgb);
    }
}

/* ---- registers ---- */

static void test_id_caps(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(vbe_read(f, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID5);
    vbe_write(f, VBE_DISPI_INDEX_ID, VBE_DISPI_ID0 + 2);
    g_assert_cmphex(vbe_read(f, VBE_DISPI_INDEX_ID), ==, 0xb0c2);
    vbe_write(f, VBE_DISPI_INDEX_ID, 0x1234);
    g_assert_cmphex(vbe_read(f, VBE_DISPI_INDEX_ID), ==, 0xb0c2);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), ==,
                     VRAM_MB * 16);
    vbe_write(f, VBE_DISPI_INDEX_XRES, 640);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_XRES), ==, 16000);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_YRES), ==, 12000);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_BPP), ==, 32);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE, 0);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_XRES), ==, 640);
    /* A register that does not exist reads 0; the index reads back. */
    g_assert_cmpuint(vbe_read(f, 0x33), ==, 0);
    g_assert_cmpuint(vga_class.pio_read(&f->vga->parent, 0, 2), ==, 0x33);
    /* Byte accesses are not the interface's. */
    g_assert_cmphex(vga_class.pio_read(&f->vga->parent, 1, 1), ==, UINT32_MAX);
}

static void test_clamp(Fixture *f, gconstpointer data)
{
    mode_set(f, 100, 0, 7);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_XRES), ==, 96);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_YRES), ==, 1);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_BPP), ==, 8);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_VIRT_WIDTH), ==, 96);
    vbe_write(f, VBE_DISPI_INDEX_XRES, 0);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_XRES), ==, 8);
    vbe_write(f, VBE_DISPI_INDEX_XRES, 40000);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_XRES), ==, 16000);
    /* 16000 x 32 bpp = 64000 bytes a line: 4 MiB holds 65 lines. */
    vbe_write(f, VBE_DISPI_INDEX_BPP, 32);
    vbe_write(f, VBE_DISPI_INDEX_YRES, 12000);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_YRES), ==, 65);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_VIRT_HEIGHT), ==, 65);
    vbe_write(f, VBE_DISPI_INDEX_BPP, 15);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_BPP), ==, 15);
    vbe_write(f, VBE_DISPI_INDEX_VIRT_WIDTH, 8);        /* below XRES */
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_VIRT_WIDTH), ==, 16000);
    vbe_write(f, VBE_DISPI_INDEX_VIRT_HEIGHT, 3);       /* ignored */
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_VIRT_HEIGHT), ==,
                     (VRAM_MB << 20) / 32000);
}

static void test_pan_overflow(Fixture *f, gconstpointer data)
{
    /* 1024 x 1024 x 32: 4 MiB exactly, so no offset fits. */
    mode_set(f, 1024, 1024, 32);
    vbe_write(f, VBE_DISPI_INDEX_X_OFFSET, 8);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_X_OFFSET), ==, 0);
    /* 1024 x 512: a Y offset of 512 fits, 513 does not, X then fits. */
    vbe_write(f, VBE_DISPI_INDEX_YRES, 512);
    vbe_write(f, VBE_DISPI_INDEX_Y_OFFSET, 512);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_Y_OFFSET), ==, 512);
    vbe_write(f, VBE_DISPI_INDEX_X_OFFSET, 4);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_Y_OFFSET), ==, 0);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_X_OFFSET), ==, 4);
    vbe_write(f, VBE_DISPI_INDEX_X_OFFSET, 20000);
    g_assert_cmpuint(vbe_read(f, VBE_DISPI_INDEX_X_OFFSET), ==, 16000);
}

static void test_enable_clears(Fixture *f, gconstpointer data)
{
    memset(f->vram, 0xaa, 64 * 4 * 2);
    vbe_write(f, VBE_DISPI_INDEX_XRES, 64);
    vbe_write(f, VBE_DISPI_INDEX_YRES, 1);
    vbe_write(f, VBE_DISPI_INDEX_BPP, 32);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE,
              VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
    g_assert_cmphex(f->vram[0], ==, 0xaa);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE, 0);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    /* The frame (one line) is cleared, nothing after it. */
    g_assert_cmphex(f->vram[0], ==, 0);
    g_assert_cmphex(f->vram[64 * 4 - 1], ==, 0);
    g_assert_cmphex(f->vram[64 * 4], ==, 0xaa);
}

/* ---- rendering ---- */

static void dac_set(Fixture *f, uint8_t idx, uint8_t r, uint8_t g, uint8_t b)
{
    vga_dac_class.pio_write(f->dac, 2, 1, idx);
    vga_dac_class.pio_write(f->dac, 3, 1, r);
    vga_dac_class.pio_write(f->dac, 3, 1, g);
    vga_dac_class.pio_write(f->dac, 3, 1, b);
}

static void test_render_8(Fixture *f, gconstpointer data)
{
    g_autoptr(RGBImage) img = NULL;

    mode_set(f, 16, 2, 8);
    dac_set(f, 1, 0x3f, 0, 0x10);           /* 6-bit: 0xff, 0, 0x41 */
    dac_set(f, 2, 0, 0x20, 0x3f);
    f->vram[0] = 1;
    f->vram[17] = 2;
    img = render(f);
    g_assert_cmpint(img->width, ==, 16);
    g_assert_cmpint(img->height, ==, 2);
    assert_pixel(img, 0, 0, 0xff0041);
    assert_pixel(img, 1, 1, 0x0082ff);
    assert_pixel(img, 1, 0, 0);
    /* Reading the DAC back, and the 8-bit DAC mode. */
    vga_dac_class.pio_write(f->dac, 1, 1, 1);
    g_assert_cmphex(vga_dac_class.pio_read(f->dac, 3, 1), ==, 0x3f);
    g_assert_cmphex(vga_dac_class.pio_read(f->dac, 1, 1), ==, 3);
    vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED |
              VBE_DISPI_8BIT_DAC | VBE_DISPI_NOCLEARMEM);
    rgb_image_free(g_steal_pointer(&img));
    img = render(f);
    assert_pixel(img, 0, 0, 0x3f0010);
}

static void test_render_15_16(Fixture *f, gconstpointer data)
{
    g_autoptr(RGBImage) img = NULL;
    uint16_t *px = (uint16_t *)f->vram;

    mode_set(f, 8, 1, 16);
    px[0] = 0xf800;                         /* r5g6b5 red */
    px[1] = 0x07e0;                         /* green */
    px[2] = 0x001f;                         /* blue */
    img = render(f);
    assert_pixel(img, 0, 0, 0xff0000);
    assert_pixel(img, 1, 0, 0x00ff00);
    assert_pixel(img, 2, 0, 0x0000ff);
    rgb_image_free(g_steal_pointer(&img));
    mode_set(f, 8, 1, 15);
    px[0] = 0x7c00;                         /* x1r5g5b5 red */
    px[1] = 0x03e0;
    img = render(f);
    assert_pixel(img, 0, 0, 0xff0000);
    assert_pixel(img, 1, 0, 0x00ff00);
}

static void test_render_24_32(Fixture *f, gconstpointer data)
{
    g_autoptr(RGBImage) img = NULL;
    uint32_t *px = (uint32_t *)f->vram;

    mode_set(f, 8, 1, 32);
    px[0] = 0x00123456;
    px[7] = 0xff654321;                     /* the x byte is ignored */
    img = render(f);
    assert_pixel(img, 0, 0, 0x123456);
    assert_pixel(img, 7, 0, 0x654321);
    rgb_image_free(g_steal_pointer(&img));
    mode_set(f, 8, 1, 24);
    memcpy(f->vram, "\x56\x34\x12\x21\x43\x65", 6);   /* B, G, R */
    img = render(f);
    assert_pixel(img, 0, 0, 0x123456);
    assert_pixel(img, 1, 0, 0x654321);
}

/* A 24 bpp frame panned so its first pixel is not 4-byte aligned. */
static void test_render_panned(Fixture *f, gconstpointer data)
{
    g_autoptr(RGBImage) img = NULL;
    const int vw = 32, bpp = 3;

    mode_set(f, 16, 4, 24);
    vbe_write(f, VBE_DISPI_INDEX_VIRT_WIDTH, vw);
    vbe_write(f, VBE_DISPI_INDEX_X_OFFSET, 5);
    vbe_write(f, VBE_DISPI_INDEX_Y_OFFSET, 2);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < vw; x++) {
            uint8_t *p = f->vram + (y * vw + x) * bpp;

            p[0] = x;                       /* blue: the column */
            p[1] = y;                       /* green: the line */
            p[2] = 0x80;
        }
    }
    img = render(f);
    g_assert_cmpint(img->width, ==, 16);
    g_assert_cmpint(img->height, ==, 4);
    assert_pixel(img, 0, 0, 0x800205);
    assert_pixel(img, 15, 3, 0x800514);
}

static void test_no_surface(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    DisplaySurface surf;

    g_assert_false(vga_get_surface(f->vga, &surf, &err));
    g_assert_cmpstr(err->message, ==, "no surface");
    g_clear_error(&err);
    mode_set(f, 64, 64, 4);
    g_assert_false(vga_get_surface(f->vga, &surf, &err));
    g_assert_nonnull(strstr(err->message, "4 bpp planar"));
}

/* ---- files ---- */

static DisplaySurface surface(Fixture *f)
{
    DisplaySurface surf;

    g_assert_true(vga_get_surface(f->vga, &surf, NULL));
    return surf;
}

static void test_save(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    DisplaySurface surf;
    g_autofree char *ppm = g_build_filename(f->dir, "a.ppm", NULL);
    g_autofree char *png = g_build_filename(f->dir, "a.png", NULL);
    g_autofree char *contents = NULL;
    png_image rd = { .version = PNG_IMAGE_VERSION };
    g_autofree uint8_t *pixels = NULL;
    uint32_t *px = (uint32_t *)f->vram;
    gsize len;

    mode_set(f, 8, 2, 32);
    px[0] = 0xabcdef;
    px[15] = 0x010203;
    surf = surface(f);
    g_assert_true(display_surface_save(&surf, ppm, IMAGE_FORMAT_PPM, &err));
    g_assert_true(g_file_get_contents(ppm, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, strlen("P6\n8 2\n255\n") + 8 * 2 * 3);
    g_assert_cmpmem(contents, 11, "P6\n8 2\n255\n", 11);
    g_assert_cmpmem(contents + 11, 3, "\xab\xcd\xef", 3);
    g_assert_cmpmem(contents + len - 3, 3, "\x01\x02\x03", 3);

    g_assert_true(display_surface_save(&surf, png, IMAGE_FORMAT_PNG, &err));
    g_assert_true(png_image_begin_read_from_file(&rd, png));
    g_assert_cmpuint(rd.width, ==, 8);
    g_assert_cmpuint(rd.height, ==, 2);
    rd.format = PNG_FORMAT_RGB;
    pixels = g_malloc(PNG_IMAGE_SIZE(rd));
    g_assert_true(png_image_finish_read(&rd, NULL, pixels, 0, NULL));
    g_assert_cmpmem(pixels, 3, "\xab\xcd\xef", 3);
    g_assert_cmpmem(pixels + 8 * 2 * 3 - 3, 3, "\x01\x02\x03", 3);
}

static void test_save_errors(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    DisplaySurface surf;
    g_autofree char *bad = g_build_filename(f->dir, "no", "such", NULL);
    g_autofree char *want = g_strdup_printf("failed to open file '%s': %s",
                                            bad, g_strerror(ENOENT));

    mode_set(f, 8, 1, 32);
    surf = surface(f);
    g_assert_false(display_surface_save(&surf, bad, IMAGE_FORMAT_PPM, &err));
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    /* A write that fails (a full device) leaves no file behind. */
    if (g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
        g_assert_false(display_surface_save(&surf, "/dev/full",
                                            IMAGE_FORMAT_PPM, &err));
        g_assert_nonnull(err);
    }
}

static bool band_append(const uint8_t *rows, int nrows, size_t row_bytes,
                        int stride, void *opaque, GError **errp)
{
    for (int y = 0; y < nrows; y++) {
        g_byte_array_append(opaque, rows + (size_t)y * stride, row_bytes);
    }
    return true;
}

/* Band by band (3 rows, a short last band) gives the whole picture's bytes. */
static void test_bands(Fixture *f, gconstpointer data)
{
    g_autoptr(GByteArray) bands = g_byte_array_new();
    g_autoptr(RGBImage) img = NULL;
    DisplaySurface surf;

    mode_set(f, 16, 7, 24);
    vbe_write(f, VBE_DISPI_INDEX_VIRT_WIDTH, 24);
    vbe_write(f, VBE_DISPI_INDEX_X_OFFSET, 3);
    for (int i = 0; i < 24 * 8 * 3; i++) {
        f->vram[i] = i * 37 + 11;
    }
    surf = surface(f);
    img = render(f);
    g_assert_true(display_surface_render(&surf, 3, band_append, bands, NULL));
    g_assert_cmpuint(bands->len, ==, 16 * 7 * 3);
    for (int y = 0; y < 7; y++) {
        g_assert_cmpmem(bands->data + y * 16 * 3, 16 * 3,
                        img->data + y * img->stride, 16 * 3);
    }
}

/* ---- VMState ---- */

static GBytes *vga_save(VGAState *s)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    GBytes *bytes;

    g_assert_true(vmstate_save_state(out, vga_class.vmsd, s, NULL, &err));
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_true(qemu_fclose(out, NULL));
    return bytes;
}

static GError *vga_load(VGAState *s, const void *data, size_t len)
{
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    GError *err = NULL;

    vmstate_load_state(in, vga_class.vmsd, s, 1, &err);
    qemu_fclose(in, NULL);
    return err;
}

static void test_vmstate(Fixture *f, gconstpointer data)
{
    g_autoptr(GBytes) bytes = NULL;
    g_autofree uint8_t *bad = NULL;
    GError *err;
    gsize len;
    VGAState before;

    mode_set(f, 640, 480, 32);
    vbe_write(f, VBE_DISPI_INDEX_VIRT_WIDTH, 800);
    vbe_write(f, VBE_DISPI_INDEX_Y_OFFSET, 7);
    dac_set(f, 9, 1, 2, 3);
    bytes = vga_save(f->vga);
    /* vbe_index, 10 registers, palette, 4 DAC bytes, the DAC cache. */
    g_assert_cmpuint(g_bytes_get_size(bytes), ==, 2 + 20 + 768 + 4 + 3);
    before = *f->vga;
    device_reset(&f->vga->parent);
    err = vga_load(f->vga, g_bytes_get_data(bytes, NULL),
                   g_bytes_get_size(bytes));
    g_assert_no_error(err);
    g_assert_cmpmem(f->vga->vbe_regs, sizeof(before.vbe_regs),
                    before.vbe_regs, sizeof(before.vbe_regs));
    g_assert_cmpuint(f->vga->vbe_start_addr, ==, before.vbe_start_addr);
    g_assert_cmpuint(f->vga->vbe_line_offset, ==, 800 * 4);

    /* An enabled mode taller than the video memory is refused. */
    len = g_bytes_get_size(bytes);
    bad = g_memdup2(g_bytes_get_data(bytes, NULL), len);
    bad[2 + 2 * VBE_DISPI_INDEX_YRES] = 0x2e;          /* YRES = 12000 */
    bad[2 + 2 * VBE_DISPI_INDEX_YRES + 1] = 0xe0;
    err = vga_load(f->vga, bad, len);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "VBE register 2 = 12000"));
    g_error_free(err);
    g_assert_cmpuint(f->vga->vbe_regs[VBE_DISPI_INDEX_YRES], ==, 480);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add("/display/" path, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
    ADD("vbe/id-caps", test_id_caps);
    ADD("vbe/clamp", test_clamp);
    ADD("vbe/pan-overflow", test_pan_overflow);
    ADD("vbe/enable-clears", test_enable_clears);
    ADD("render/8bpp-palette", test_render_8);
    ADD("render/15-16bpp", test_render_15_16);
    ADD("render/24-32bpp", test_render_24_32);
    ADD("render/panned", test_render_panned);
    ADD("render/no-surface", test_no_surface);
    ADD("file/ppm-png", test_save);
    ADD("file/errors", test_save_errors);
    ADD("render/bands", test_bands);
    ADD("vmstate", test_vmstate);
    return g_test_run();
}
