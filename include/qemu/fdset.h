/*
 * fd sets (QEMU's add-fd / remove-fd / query-fdsets): file descriptors a
 * management client passes in, grouped by set number, and opened by path
 * as "/dev/fdset/N" where a file name is expected (the file: migration
 * URI).  Opening picks the set's fd whose access mode and O_DIRECT match
 * the open's and hands out a duplicate; a set lives while it holds fds or
 * a duplicate is open.
 *
 * The registry is process-wide, as the fd table whose entries it names is:
 * a "/dev/fdset/N" path reaches it from wherever a file is opened.  Every
 * function takes its lock; any thread may call them.
 */
#ifndef QEMU_FDSET_H
#define QEMU_FDSET_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* One fd of a set, as query-fdsets lists it. */
typedef struct FdsetEntry {
    int fd;
    char *opaque;                   /* NULL when none was given */
} FdsetEntry;

/*
 * Add @fd (ownership taken, also on failure) to set @id, or with !@has_id
 * to a new set with the lowest unused number.  Returns the set number, or
 * -1 with @errp set.
 */
int64_t fdset_add_fd(int fd, bool has_id, int64_t id, const char *opaque, GError **errp);

/*
 * Remove (close) fd @fd of set @id, or with !@has_fd all of its fds.  The
 * set goes once it holds none and no duplicate of them is open.
 */
bool fdset_remove_fd(int64_t id, bool has_fd, int64_t fd, GError **errp);

/* Calls @fn for every set in number order with its fds (FdsetEntry, borrowed). */
void fdset_foreach(void (*fn)(int64_t id, const GArray *fds, void *opaque), void *opaque);

/* True when @path names a set ("/dev/fdset/..."). */
bool fdset_is_path(const char *path);

/*
 * open() for a "/dev/fdset/N" @path: a duplicate (close-on-exec) of the
 * set's first fd opened with @flags' access mode and O_DIRECT; the other
 * @flags (O_CREAT, ...) do not apply to a file already open.  -1 with
 * @errp set in QEMU's words.  Close it with fdset_close().
 */
int fdset_open(const char *path, int flags, GError **errp);

/* The set @fd is a duplicate from, or -1 if none. */
int64_t fdset_of_dup(int fd);

/* close() that also forgets @fd as a set's duplicate (any fd may be passed). */
int fdset_close(int fd);

#endif
