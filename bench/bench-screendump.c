/*
 * screendump's cost per frame: a 1920x1080 VBE mode at 32 bpp (and 16 and
 * 8 bpp for comparison) on the VGA device, rendered with pixman and
 * written as PPM and as PNG, as screendump does.  Each figure is the
 * median of several runs: the whole picture rendered into memory alone,
 * then render + file (to a file in $TMPDIR, or /tmp).
 *
 *   bench-screendump [RUNS]        RUNS defaults to 15 (PNG: a third)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Milliseconds for one screendump (wall clock; CPU time of this thread in
 * *@cpu, which other processes' load disturbs less); @path NULL: render
 * only.
 */
static double one_dump(VGAState *s, const char *path, ImageFormat fmt,
                       double *cpu)
{
    gint64 t0 = g_get_monotonic_time();
    double c0 = cpu_ms();
    g_autoptr(GError) err = NULL;
    g_autoptr(RGBImage) img = NULL;
    DisplaySurface surf;

    if (!vga_get_surface(s, &surf, &err) ||
        (path ? !display_surface_save(&surf, path, fmt, &err)
              : !(img = display_surface_to_rgb(&surf, &err)))) {
        fprintf(stderr, "bench-screendump: %s\n", err->message);
        exit(1);
    }
    *cpu = cpu_ms() - c0;
    return (g_get_monotonic_time() - t0) / 1000.0;
}

/* Median wall time of @runs dumps; the median CPU time in *@cpu. */
static double bench(VGAState *s, const char *path, ImageFormat fmt, int runs,
                    double *cpu)
{
    double t[64], c[64];

    runs = CLAMP(runs, 1, 64);
    for (int i = 0; i < runs; i++) {
        t[i] = one_dump(s, path, fmt, &c[i]);
    }
    *cpu = median(c, runs);
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
    if (!device_realize(&s->parent, &err)) {
        fprintf(stderr, "bench-screendump: %s\n", err->message);
        return 1;
    }
    /* Left half flat colour, right half noise: neither blank nor all noise. */
    for (size_t i = 0; i < 1920 * 1080; i++) {
        uint32_t *px = (uint32_t *)s->vram->host + i;

        *px = i % 1920 < 960 ? 0x203040 * (i / 1920 % 7)
                             : (uint32_t)(i * 2654435761u) & 0xffffff;
    }
    printf("screendump of 1920x1080, median of %d runs (PNG: %d), ms per "
           "frame: wall clock (CPU time)\n", runs, MAX(runs / 3, 1));
    printf("%4s %18s %18s %18s %10s\n", "bpp", "render", "PPM", "PNG",
           "PNG bytes");
    for (size_t i = 0; i < G_N_ELEMENTS(bpps); i++) {
        double render, ppm, png, c_render, c_ppm, c_png;
        GStatBuf st = { 0 };

        mode_set(s, bpps[i]);
        render = bench(s, NULL, IMAGE_FORMAT_PPM, runs, &c_render);
        ppm = bench(s, path, IMAGE_FORMAT_PPM, runs, &c_ppm);
        png = bench(s, path, IMAGE_FORMAT_PNG, MAX(runs / 3, 1), &c_png);
        g_stat(path, &st);
        printf("%4u %8.2f (%7.2f) %8.2f (%7.2f) %8.2f (%7.2f) %10lld\n",
               bpps[i], render, c_render, ppm, c_ppm, png, c_png,
               (long long)st.st_size);
    }
    g_unlink(path);
    g_rmdir(dir);
    device_free(&s->parent);
    guest_memory_free(gm);
    bql_unlock();
    return 0;
}
