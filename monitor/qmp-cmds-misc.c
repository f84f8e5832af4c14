/*
 * getfd / closefd (qapi/misc.json): file descriptors a client passes over
 * a unix-socket monitor, kept by name in that monitor; add-fd / remove-fd /
 * query-fdsets: the same put into the process's fd sets (qemu/fdset.h).
 */
#include "monitor-internal.h"

#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "qemu/fdset.h"

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

/* ---- fd sets (qemu/fdset.h) ---- */

AddfdInfo *qmp_add_fd(TernContext *ctx, bool has_fdset_id, int64_t fdset_id,
                      const char *opaque, GError **errp)
{
    Monitor *mon = monitor_cur();
    Chardev *chr = mon ? monitor_get_chardev(mon) : NULL;
    int fd = chr ? qemu_chr_get_msgfd(chr) : -1;
    AddfdInfo *info;
    int64_t id;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return NULL;
    }
    id = fdset_add_fd(fd, has_fdset_id, fdset_id, opaque, errp);
    if (id < 0) {
        return NULL;
    }
    info = g_new0(AddfdInfo, 1);
    info->fdset_id = id;
    info->fd = fd;
    return info;
}

bool qmp_remove_fd(TernContext *ctx, int64_t fdset_id, bool has_fd, int64_t fd,
                   GError **errp)
{
    return fdset_remove_fd(fdset_id, has_fd, fd, errp);
}

static void qmp_fdset_info(int64_t id, const GArray *fds, void *opaque)
{
    FdsetInfoList ***tail = opaque;
    FdsetInfo *info = g_new0(FdsetInfo, 1);
    FdsetFdInfoList **fd_tail = &info->fds;

    info->fdset_id = id;
    for (guint i = 0; i < fds->len; i++) {
        const FdsetEntry *e = &g_array_index(fds, FdsetEntry, i);
        FdsetFdInfo *fd = g_new0(FdsetFdInfo, 1);

        fd->fd = e->fd;
        fd->opaque = g_strdup(e->opaque);
        *fd_tail = g_new0(FdsetFdInfoList, 1);
        (*fd_tail)->value = fd;
        fd_tail = &(*fd_tail)->next;
    }
    **tail = g_new0(FdsetInfoList, 1);
    (**tail)->value = info;
    *tail = &(**tail)->next;
}

FdsetInfoList *qmp_query_fdsets(TernContext *ctx, GError **errp)
{
    FdsetInfoList *head = NULL, **tail = &head;

    fdset_foreach(qmp_fdset_info, &tail);
    return head;
}
