/*
 * getfd / closefd (qapi/misc.json): file descriptors a client passes over
 * a unix-socket monitor, kept by name in that monitor.
 */
#include "monitor-internal.h"

#include "qapi/qapi-commands.h"
#include "qemu/error.h"

#include <unistd.h>

bool qmp_getfd(TernContext *ctx, const char *fdname, GError **errp)
{
    Monitor *mon = monitor_cur();
    Chardev *chr = mon ? monitor_get_chardev(mon) : NULL;
    int fd = chr ? qemu_chr_get_msgfd(chr) : -1;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    if (g_ascii_isdigit(fdname[0])) {
        close(fd);
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                   "with a digit");
        return false;
    }
    monitor_add_fd(mon, fdname, fd);
    return true;
}

bool qmp_closefd(TernContext *ctx, const char *fdname, GError **errp)
{
    Monitor *mon = monitor_cur();

    if (!mon) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
        return false;
    }
    return monitor_close_fd(mon, fdname, errp);
}
