/*
 * Writing an RGB image as a screendump file: PPM by hand (a header and the
 * rows, as QEMU writes it) and PNG through libpng's simplified API.  A file
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

static bool image_write_ppm(const RGBImage *img, FILE *f, GError **errp)
{
    size_t row = (size_t)img->width * 3;

    /* QEMU's header; maxval 255. */
    if (fprintf(f, "P6\n%d %d\n255\n", img->width, img->height) < 0) {
        goto fail;
    }
    if ((size_t)img->stride == row) {
        if (fwrite(img->data, row * img->height, 1, f) != 1) {
            goto fail;
        }
        return true;
    }
    for (int y = 0; y < img->height; y++) {
        if (fwrite(img->data + (size_t)y * img->stride, row, 1, f) != 1) {
            goto fail;
        }
    }
    return true;

fail:
    error_setg_errno(errp, errno, "failed to write PPM data");
    return false;
}

static bool image_write_png(const RGBImage *img, FILE *f, GError **errp)
{
    png_image png = {
        .version = PNG_IMAGE_VERSION,
        .width = img->width,
        .height = img->height,
        .format = PNG_FORMAT_RGB,
    };

    if (!png_image_write_to_stdio(&png, f, 0, img->data, img->stride, NULL)) {
        error_setg(errp, "failed to write PNG data: %s", png.message);
        png_image_free(&png);
        return false;
    }
    return true;
}

bool rgb_image_save(const RGBImage *img, const char *filename,
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
    ok = format == IMAGE_FORMAT_PNG ? image_write_png(img, f, errp)
                                    : image_write_ppm(img, f, errp);
    if (fclose(f) != 0 && ok) {
        error_setg_errno(errp, errno, "failed to write '%s'", filename);
        ok = false;
    }
    if (!ok) {
        unlink(filename);
    }
    return ok;
}
