/*
 * fd sets (qemu/fdset.h): the process-wide registry of fds passed in with
 * add-fd, and "/dev/fdset/N" opened as a duplicate of one of them.  Sets
 * are kept in number order; a duplicate is remembered so that its set
 * outlives the removal of its fds until the duplicate is closed, as QEMU's
 * do.
 */
#include "qemu/fdset.h"
#include "qemu/cutils.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#define FDSET_PATH_PREFIX "/dev/fdset/"

typedef struct Fdset {
    int64_t id;
    GArray *fds;                    /* FdsetEntry, owned */
    GArray *dups;                   /* int: duplicates handed out and still open */
} Fdset;

/* The registry (see the header for why it is process-wide), under fdsets_lock. */
static GMutex fdsets_lock;
static GPtrArray *fdsets;           /* Fdset *, by id */

static void fdset_entry_clear(gpointer p)
{
    FdsetEntry *e = p;

    close(e->fd);
    g_free(e->opaque);
}

static Fdset *fdset_find(int64_t id, guint *index)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);

        if (s->id == id) {
            if (index) {
                *index = i;
            }
            return s;
        }
    }
    return NULL;
}

/* Set @id, created in its place in number order. */
static Fdset *fdset_get(int64_t id)
{
    Fdset *s = fdset_find(id, NULL);
    guint at = 0;

    if (s) {
        return s;
    }
    if (!fdsets) {
        fdsets = g_ptr_array_new();
    }
    while (at < fdsets->len && ((Fdset *)g_ptr_array_index(fdsets, at))->id < id) {
        at++;
    }
    s = g_new0(Fdset, 1);
    s->id = id;
    s->fds = g_array_new(FALSE, TRUE, sizeof(FdsetEntry));
    g_array_set_clear_func(s->fds, fdset_entry_clear);
    s->dups = g_array_new(FALSE, FALSE, sizeof(int));
    g_ptr_array_insert(fdsets, at, s);
    return s;
}

/* The lowest number no set has. */
static int64_t fdset_free_id(void)
{
    int64_t id = 0;

    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        if (((Fdset *)g_ptr_array_index(fdsets, i))->id != id) {
            break;
        }
        id++;
    }
    return id;
}

/* Drop set @s (at @index) once nothing is left in it. */
static void fdset_drop_if_empty(Fdset *s, guint index)
{
    if (s->fds->len || s->dups->len) {
        return;
    }
    g_ptr_array_remove_index(fdsets, index);
    g_array_free(s->fds, TRUE);
    g_array_free(s->dups, TRUE);
    g_free(s);
}

int64_t fdset_add_fd(int fd, bool has_id, int64_t id, const char *opaque, GError **errp)
{
    FdsetEntry e = { .fd = fd, .opaque = g_strdup(opaque) };

    if (has_id && id < 0) {
        error_setg(errp, "Parameter 'fdset-id' expects a non-negative value");
        close(fd);
        g_free(e.opaque);
        return -1;
    }
    g_mutex_lock(&fdsets_lock);
    if (!has_id) {
        id = fdset_free_id();
    }
    g_array_append_val(fdset_get(id)->fds, e);
    g_mutex_unlock(&fdsets_lock);
    return id;
}

bool fdset_remove_fd(int64_t id, bool has_fd, int64_t fd, GError **errp)
{
    bool found = false;
    guint index;
    Fdset *s;

    g_mutex_lock(&fdsets_lock);
    s = fdset_find(id, &index);
    for (guint i = 0; s && i < s->fds->len; i++) {
        if (!has_fd || g_array_index(s->fds, FdsetEntry, i).fd == fd) {
            g_array_remove_index(s->fds, i--);
            found = true;
        }
    }
    if (s) {
        fdset_drop_if_empty(s, index);
    }
    g_mutex_unlock(&fdsets_lock);
    if (!found) {
        g_autofree char *name = has_fd ?
            g_strdup_printf("fdset-id:%" PRId64 ", fd:%" PRId64, id, fd) :
            g_strdup_printf("fdset-id:%" PRId64, id);

        error_setg(errp, "File descriptor named '%s' not found", name);
    }
    return found;
}

void fdset_foreach(void (*fn)(int64_t id, const GArray *fds, void *opaque), void *opaque)
{
    g_mutex_lock(&fdsets_lock);
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);

        fn(s->id, s->fds, opaque);
    }
    g_mutex_unlock(&fdsets_lock);
}

bool fdset_is_path(const char *path)
{
    return g_str_has_prefix(path, FDSET_PATH_PREFIX);
}

/* The set's first fd whose access mode and O_DIRECT are @flags'; -1 if none. */
static int fdset_match(Fdset *s, int flags)
{
    int want = flags & (O_ACCMODE | O_DIRECT);

    for (guint i = 0; i < s->fds->len; i++) {
        int fd = g_array_index(s->fds, FdsetEntry, i).fd;
        int fl = fcntl(fd, F_GETFL);

        if (fl >= 0 && (fl & (O_ACCMODE | O_DIRECT)) == want) {
            return fd;
        }
    }
    return -1;
}

int fdset_open(const char *path, int flags, GError **errp)
{
    int64_t id;
    int dup_fd = -1;
    Fdset *s;
    int fd;

    if (!qemu_strtoi64(path + strlen(FDSET_PATH_PREFIX), &id, NULL) || id < 0) {
        error_setg(errp, "Could not open '%s': not a number after %s", path,
                   FDSET_PATH_PREFIX);
        return -1;
    }
    g_mutex_lock(&fdsets_lock);
    s = fdset_find(id, NULL);
    fd = s ? fdset_match(s, flags) : -1;
    if (!s) {
        error_setg(errp, "Failed to find fdset %s%" PRId64, FDSET_PATH_PREFIX, id);
    } else if (fd < 0) {
        error_setg(errp, "Failed to find file descriptor with matching flags=0x%x", flags);
    } else if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        error_setg(errp, "Failed to dup() given file descriptor fd=%d", fd);
    } else {
        g_array_append_val(s->dups, dup_fd);
    }
    g_mutex_unlock(&fdsets_lock);
    return dup_fd;
}

/* The set @fd is a duplicate of, and where in its dups; NULL if none.  Lock held. */
static Fdset *fdset_find_dup(int fd, guint *set_index, guint *dup_index)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);

        for (guint j = 0; j < s->dups->len; j++) {
            if (g_array_index(s->dups, int, j) == fd) {
                *set_index = i;
                *dup_index = j;
                return s;
            }
        }
    }
    return NULL;
}

int64_t fdset_of_dup(int fd)
{
    guint i, j;
    Fdset *s;
    int64_t id;

    g_mutex_lock(&fdsets_lock);
    s = fdset_find_dup(fd, &i, &j);
    id = s ? s->id : -1;
    g_mutex_unlock(&fdsets_lock);
    return id;
}

int fdset_close(int fd)
{
    guint i, j;
    Fdset *s;

    g_mutex_lock(&fdsets_lock);
    s = fdset_find_dup(fd, &i, &j);
    if (s) {
        g_array_remove_index(s->dups, j);
        fdset_drop_if_empty(s, i);
    }
    g_mutex_unlock(&fdsets_lock);
    return close(fd);
}
