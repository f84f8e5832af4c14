/*
 * The file chardev: output only, to a path created if missing, truncated
 * unless append=on.  Used for serial logs (-serial file:/p).
 */
#include "char-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define FILE_WRITE_TIMEOUT_MS 10000

typedef struct FileChardev {
    Chardev parent;
    int fd;
} FileChardev;

static const char *const file_opt_keys[] = {
    CHARDEV_COMMON_KEYS, "path", "append", NULL
};

static bool file_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    FileChardev *f = (FileChardev *)chr;
    const char *path = qemu_opt_get(opts, "path");
    bool append;

    if (!path) {
        error_setg(errp, "Parameter 'path' is missing");
        return false;
    }
    if (!qemu_opt_get_bool(opts, "append", false, &append, errp)) {
        return false;
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
                 (append ? O_APPEND : O_TRUNC), 0666);
    if (f->fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
        return false;
    }
    chr->connected = true;
    return true;
}

static ssize_t file_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    FileChardev *f = (FileChardev *)chr;

    return qemu_chr_write_fd_all(f->fd, buf, len, false,
                                 FILE_WRITE_TIMEOUT_MS) ? (ssize_t)len : -1;
}

static void file_close(Chardev *chr)
{
    close(((FileChardev *)chr)->fd);
}

const ChardevClass chardev_file_class = {
    .name = "file",
    .instance_size = sizeof(FileChardev),
    .opt_keys = file_opt_keys,
    .open = file_open,
    .write = file_write,
    .close = file_close,
};
