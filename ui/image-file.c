/*
 * Writing a display surface as a screendump file: PPM by hand (a header
 * and the rows, rendered and written band by band) and PNG through
 * libpng's simplified API (from the whole picture).  A file
 * that could not be written completely is removed.
 */
#include "ui/surface.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qemu/error.h"

/* Bands of about this many bytes of RGB: they stay in the cache. */
#define PPM_BAND_BYTES (256 * 1024)

static bool ppm_write_band(const uint8_t *rows, int nrows, size_t row_bytes,
                           int stride, void *opaque, GError **errp)
{
    FILE *f = opaque;

    if ((size_t)stride == row_bytes) {
        if (fwrite(rows, row_bytes * nrows, 1, f) != 1) {
            goto fail;
        }
        return true;
    }
    for (int y = 0; y < nrows; y++) {
        if (fwrite(rows + (size_t)y * stride, row_bytes, 1, f) != 1) {
            goto fail;
        }
    }
    return true;

fail:
    error_setg_errno(errp, errno, "failed to write PPM data");
    return false;
}

/*
 * QEMU's header, then the rows.  (QEMU writes each row's pixman stride,
 * rounded up to 4 bytes; with VBE widths, multiples of 8, that is the
 * width * 3 written here.)
 */
static bool image_write_ppm(const DisplaySurface *s, FILE *f, GError **errp)
{
    if (fprintf(f, "P6\n%d %d\n255\n", s->width, s->height) < 0) {
        error_setg_errno(errp, errno, "failed to write PPM header");
        return false;
    }
    return display_surface_render(s, PPM_BAND_BYTES / (s->width * 3 + 3),
                                  ppm_write_band, f, errp);
}

static bool image_write_png(const DisplaySurface *s, FILE *f, GError **errp)
{
    g_autoptr(RGBImage) img = display_surface_to_rgb(s, errp);
    png_image png = {
        .version = PNG_IMAGE_VERSION,
        .width = s->width,
        .height = s->height,
        .format = PNG_FORMAT_RGB,
    };

    if (!img) {
        return false;
    }
    if (!png_image_write_to_stdio(&png, f, 0, img->data, img->stride, NULL)) {
        error_setg(errp, "failed to write PNG data: %s", png.message);
        png_image_free(&png);
        return false;
    }
    return true;
}

bool display_surface_save(const DisplaySurface *s, const char *filename,
                          ImageFormat format, GError **errp)
{
    int fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    FILE *f;
    bool ok;

    if (fd < 0) {
        error_setg(errp, "failed to open file '%s': %s", filename,
                   g_strerror(errno));
        return false;
    }
    f = fdopen(fd, "wb");
    if (!f) {
        error_setg_errno(errp, errno, "failed to open file '%s'", filename);
        close(fd);
        unlink(filename);
        return false;
    }
    ok = format == IMAGE_FORMAT_PNG ? image_write_png(s, f, errp)
                                    : image_write_ppm(s, f, errp);
    if (fclose(f) != 0 && ok) {
        error_setg_errno(errp, errno, "failed to write '%s'", filename);
        ok = false;
    }
    if (!ok) {
        unlink(filename);
    }
    return ok;
}
