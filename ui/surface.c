/*
 * Display surface to RGB: pixman composites from whatever the device's
 * mode stores (indexed through a palette, 15/16/24/32 bits per pixel) into
 * 8-bit R,G,B bytes, the layout both image formats take; the whole picture
 * at once, or band by band into a buffer that is reused.
 */
#include "ui/surface.h"

#include <string.h>

#include "qemu/error.h"

/* b8g8r8 is stored R, G, B in memory on a little-endian host. */
G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
#define RGB_FORMAT PIXMAN_b8g8r8

void rgb_image_free(RGBImage *img)
{
    if (!img) {
        return;
    }
    g_free(img->data);
    g_free(img);
}

static int rgb_stride(int width)
{
    return (width * 3 + 3) & ~3;      /* pixman wants whole 32-bit words */
}

/* A source image over the device's rows, its palette attached if indexed. */
static pixman_image_t *surface_source(const DisplaySurface *s,
                                      pixman_indexed_t **indexed,
                                      GError **errp)
{
    pixman_image_t *src;

    if (s->width <= 0 || s->height <= 0 || s->x_skip < 0) {
        error_setg(errp, "display surface of %dx%d has no pixels", s->width,
                   s->height);
        return NULL;
    }
    if (!pixman_format_supported_source(s->format) || s->stride % 4 ||
        ((uintptr_t)s->rows & 3)) {
        error_setg(errp, "display surface format 0x%x (stride %d) cannot be "
                   "read", s->format, s->stride);
        return NULL;
    }
    /*
     * The image starts at the row, not at the first visible pixel: a
     * panned start need not be 4-byte aligned (24 bpp), which pixman
     * requires of its bits; the composite's source x skips the rest.
     */
    src = pixman_image_create_bits_no_clear(s->format, s->x_skip + s->width,
                                            s->height, (uint32_t *)s->rows,
                                            s->stride);
    if (!src) {
        error_setg(errp, "pixman cannot create a %dx%d source image",
                   s->x_skip + s->width, s->height);
        return NULL;
    }
    if (PIXMAN_FORMAT_TYPE(s->format) == PIXMAN_TYPE_COLOR) {
        *indexed = g_new0(pixman_indexed_t, 1);
        (*indexed)->color = TRUE;
        memcpy((*indexed)->rgba, s->palette, sizeof(s->palette));
        pixman_image_set_indexed(src, *indexed);
    }
    return src;
}

/* Rows [@y, @y + @n) of @src into @buf (RGB, @stride apart). */
static void surface_composite(const DisplaySurface *s, pixman_image_t *src,
                              int y, int n, uint8_t *buf, int stride)
{
    pixman_image_t *dst = pixman_image_create_bits_no_clear(
        RGB_FORMAT, s->width, n, (uint32_t *)buf, stride);

    g_assert(dst);      /* our own buffer, aligned, stride % 4 == 0 */
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, s->x_skip, y,
                             0, 0, 0, 0, s->width, n);
    pixman_image_unref(dst);
}

RGBImage *display_surface_to_rgb(const DisplaySurface *s, GError **errp)
{
    g_autofree pixman_indexed_t *indexed = NULL;
    pixman_image_t *src = surface_source(s, &indexed, errp);
    RGBImage *img;

    if (!src) {
        return NULL;
    }
    img = g_new0(RGBImage, 1);
    img->width = s->width;
    img->height = s->height;
    img->stride = rgb_stride(s->width);
    img->data = g_malloc((size_t)img->stride * s->height);
    surface_composite(s, src, 0, s->height, img->data, img->stride);
    pixman_image_unref(src);
    return img;
}

bool display_surface_render(const DisplaySurface *s, int band_rows,
                            RGBBandFn fn, void *opaque, GError **errp)
{
    g_autofree pixman_indexed_t *indexed = NULL;
    g_autofree uint8_t *buf = NULL;
    pixman_image_t *src = surface_source(s, &indexed, errp);
    int stride = rgb_stride(s->width);
    bool ok = true;

    if (!src) {
        return false;
    }
    band_rows = CLAMP(band_rows, 1, s->height);
    buf = g_malloc((size_t)stride * band_rows);
    for (int y = 0; ok && y < s->height; y += band_rows) {
        int n = MIN(band_rows, s->height - y);

        surface_composite(s, src, y, n, buf, stride);
        ok = fn(buf, n, (size_t)s->width * 3, stride, opaque, errp);
    }
    pixman_image_unref(src);
    return ok;
}
