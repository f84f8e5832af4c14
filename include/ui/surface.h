/*
 * A display surface: where a display device's visible picture lies in
 * host memory and how its pixels are encoded (a pixman format, plus a
 * palette for indexed modes).  The ui layer turns one into an RGB image
 * through pixman and writes it to a file (screendump); devices only
 * describe their picture, they never convert pixels themselves.
 */
#ifndef UI_SURFACE_H
#define UI_SURFACE_H

#include <glib.h>
#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/qapi-types.h"

typedef struct DisplaySurface {
    /*
     * Row 0 of the picture: pixel (x, y) is pixel x + @x_skip of the row
     * at @rows + y * @stride.  Borrowed: the device's video memory.
     * Every byte of rows 0..@height-1 up to pixel @x_skip + @width must
     * be readable (devices check their modes against their memory).
     */
    const uint8_t *rows;
    int x_skip;                 /* panning inside a row, in pixels */
    int width, height;          /* the visible picture */
    int stride;                 /* bytes from one row to the next, % 4 == 0 */
    pixman_format_code_t format;
    uint32_t palette[256];      /* PIXMAN_c8 only: 0xAARRGGBB per index */
} DisplaySurface;

/* An 8-bit RGB picture: rows of @width R,G,B triples, @stride apart. */
typedef struct RGBImage {
    int width, height;
    int stride;                 /* >= width * 3, % 4 == 0 */
    uint8_t *data;              /* owned */
} RGBImage;

void rgb_image_free(RGBImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RGBImage, rgb_image_free)

/*
 * Convert @s to 8-bit RGB with pixman.  Fails when pixman cannot read
 * the format.  Any thread; reads @s->rows while the guest may be writing
 * them (a picture may mix two frames, as on real hardware).
 */
RGBImage *display_surface_to_rgb(const DisplaySurface *s, GError **errp);

/*
 * Where display_surface_render() hands its bands: @nrows rows of
 * @row_bytes R,G,B bytes, @stride apart.  Returns false with @errp set to
 * stop the render.
 */
typedef bool (*RGBBandFn)(const uint8_t *rows, int nrows, size_t row_bytes,
                          int stride, void *opaque, GError **errp);

/*
 * Convert @s to 8-bit RGB with pixman in bands of at most @band_rows rows,
 * each passed to @fn in a buffer reused for the next band (small bands
 * stay in the cache: a 1920x1080 frame goes out faster than rendered
 * whole).  Threads as display_surface_to_rgb().
 */
bool display_surface_render(const DisplaySurface *s, int band_rows,
                            RGBBandFn fn, void *opaque, GError **errp);

/*
 * Write @s to @filename as @format (QEMU's screendump formats: PPM
 * "P6\n%d %d\n255\n" then the rows; PNG 8-bit RGB, not interlaced).
 * "failed to open file '%s': %s" when it cannot be created; any later
 * failure removes the file and names the cause.
 */
bool display_surface_save(const DisplaySurface *s, const char *filename,
                          ImageFormat format, GError **errp);

#endif
