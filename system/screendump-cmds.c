/*
 * screendump, QMP and HMP: find the display, take its surface, render it
 * (ui/surface.c) and write the file (ui/image-file.c).  QEMU's arguments
 * and error texts.
 */
#include "screendump-cmds.h"

#include <string.h>

#include "hw/display-vga.h"
#include "hw/machine.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/context.h"
#include "ui/surface.h"

/* The display @device (and @head) names, or the first one. */
static VGAState *screendump_find(TernContext *ctx, const char *device,
                                 bool has_head, int64_t head, GError **errp)
{
    VGAState *vga = ctx->machine ? vga_find(ctx->machine) : NULL;

    if (has_head && !device) {
        error_setg(errp, "'head' must be specified together with 'device'");
        return NULL;
    }
    if (!device) {
        if (!vga) {
            error_setg(errp, "There is no console to take a screendump from");
        }
        return vga;
    }
    if (!vga || strcmp(vga->parent.id, device) != 0) {
        error_setg(errp, "Device '%s' not found", device);
        return NULL;
    }
    if (has_head && head != 0) {
        error_setg(errp, "Device %s (head %" G_GINT64_FORMAT ") is not bound "
                   "to a QemuConsole", device, head);
        return NULL;
    }
    return vga;
}

bool qmp_screendump(TernContext *ctx, const char *filename,
                    const char *device, bool has_head, int64_t head,
                    bool has_format, ImageFormat format, GError **errp)
{
    VGAState *vga = screendump_find(ctx, device, has_head, head, errp);
    DisplaySurface surf;

    return vga && vga_get_surface(vga, &surf, errp) &&
           display_surface_save(&surf, filename,
                                has_format ? format : IMAGE_FORMAT_PPM, errp);
}

static void hmp_screendump(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    const char *fmt = hmp_arg_str(args, "format");
    bool has_head = json_object_has_member(args, "head");
    GError *err = NULL;
    int format = IMAGE_FORMAT_PPM;

    if (fmt) {
        format = qapi_enum_parse(&ImageFormat_lookup, fmt, -1, NULL);
        if (format < 0) {
            error_setg(&err, "invalid parameter value: %s", fmt);
            hmp_handle_error(mon, err);
            return;
        }
    }
    if (!qmp_screendump(ctx, hmp_arg_str(args, "filename"),
                        hmp_arg_str(args, "device"), has_head,
                        hmp_arg_int(args, "head", 0), true, format, &err)) {
        hmp_handle_error(mon, err);
    }
}

static const HMPCommand screendump_cmds[] = {
    { "screendump", "filename:s,format:-fs,device:s?,head:i?",
      "filename [-f format] [device [head]]",
      "save screen from head 'head' of display device 'device' in specified "
      "format 'format' as image 'filename'. Currently only 'png' and 'ppm' "
      "formats are supported.", hmp_screendump },
};

void screendump_hmp_register(void)
{
    hmp_register_commands(screendump_cmds, G_N_ELEMENTS(screendump_cmds));
}
