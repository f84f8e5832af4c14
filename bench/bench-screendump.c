/*
 * screendump's cost per frame: a 1920x1080 VBE mode at 32 bpp (and 16 and
 * 8 bpp for comparison) on the VGA device, rendered with pixman and
 * written as PPM and as PNG.  Each figure is the median of several runs:
 * the render alone, then render + file (to a file in $TMPDIR, or /tmp).
 *
 *   bench-screendump [RUNS]        RUNS defaults to 15 (PNG: a third)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "hw/display-vga.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static void vbe(VGAState *s, uint16_t idx, uint16_t v)
{
    vga_class.pio_write(&s->parent, 0, 2, idx);
    vga_class.pio_write(&s->parent, 1, 2, v);
}

static void mode_set(VGAState *s, uint16_t bpp)
{
    vbe(s, VBE_DISPI_INDEX_ENABLE, 0);
    vbe(s, VBE_DISPI_INDEX_XRES, 1920);
    vbe(s, VBE_DISPI_INDEX_YRES, 1080);
    vbe(s, VBE_DISPI_INDEX_BPP, bpp);
    vbe(s, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
}

/* Milliseconds for one screendump; @path NULL: render only. */
static double one_dump(VGAState *s, const char *path, ImageFormat fmt)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GError) err = NULL;
    g_autoptr(RGBImage) img = NULL;
    DisplaySurface surf;

    if (!vga_get_surface(s, &surf, &err) ||
        !(img = display_surface_to_rgb(&surf, &err)) ||
        (path && !rgb_image_save(img, path, fmt, &err))) {
        fprintf(stderr, "bench-screendump: %s\n", err->message);
        exit(1);
    }
    return (g_get_monotonic_time() - t0) / 1000.0;
}

static double bench(VGAState *s, const char *path, ImageFormat fmt, int runs)
{
    double t[64];

    runs = CLAMP(runs, 1, 64);
    for (int i = 0; i < runs; i++) {
        t[i] = one_dump(s, path, fmt);
    }
    return median(t, runs);
}

int main(int argc, char **argv)
{
    static const uint16_t bpps[] = { 32, 16, 8 };
    int runs = argc > 1 ? atoi(argv[1]) : 15;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("tern-bench-screendump-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "dump", NULL);
    GuestMemory *gm = guest_memory_new();
    VGAState *s;

    bql_lock();
    if (!vga_vram_init(gm, 16, &err)) {
        fprintf(stderr, "bench-screendump: %s\n", err->message);
        return 1;
    }
    s = (VGAState *)device_new(&vga_class, VGA_DEVICE_ID);
    s->memory = gm;
    g_assert(device_realize(&s->parent, NULL));
    /* A picture that compresses like a desktop, not like a blank screen. */
    for (size_t i = 0; i < 1920 * 1080; i++) {
        ((uint32_t *)s->vram->host)[i] = (i % 1920 < 960) ? 0x203040 * (i / 1920 % 7)
                                         : (uint32_t)(i * 2654435761u) & 0xffffff;
    }
    printf("screendump of 1920x1080, median of %d runs (PNG: %d), ms per frame\n",
           runs, MAX(runs / 3, 1));
    printf("%6s %10s %10s %10s\n", "bpp", "render", "PPM", "PNG");
    for (size_t i = 0; i < G_N_ELEMENTS(bpps); i++) {
        double render, ppm, png;

        mode_set(s, bpps[i]);
        render = bench(s, NULL, IMAGE_FORMAT_PPM, runs);
        ppm = bench(s, path, IMAGE_FORMAT_PPM, runs);
        png = bench(s, path, IMAGE_FORMAT_PNG, MAX(runs / 3, 1));
        printf("%6u %10.2f %10.2f %10.2f\n", bpps[i], render, ppm, png);
    }
    g_unlink(path);
    g_rmdir(dir);
    device_free(&s->parent);
    guest_memory_free(gm);
    bql_unlock();
    return 0;
}
