/*
 * The snapshot store (snapshot-store.h): the index file and the snapshot
 * files of one directory.  The index is JSON:
 *
 *   {"next-id": 3, "snapshots": [
 *     {"id": "1", "name": "before-upgrade", "date-sec": 1765130000,
 *      "date-nsec": 0, "vm-clock-ns": 5000000000, "vm-state-size": 8392704}]}
 *
 * Every change writes the whole index to `index.json.tmp`, fsyncs it and
 * renames it over `index.json`, then fsyncs the directory, so a crash
 * leaves the old index or the new one, never a mix.
 */
#include "snapshot-store.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAPSHOT_INDEX "index.json"

struct SnapshotStore {
    char *dir;
};

void snapshot_info_free(SnapshotInfo *info)
{
    if (!info) {
        return;
    }
    g_free(info->id);
    g_free(info->name);
    g_free(info);
}

SnapshotStore *snapshot_store_new(const char *dir)
{
    SnapshotStore *st = g_new0(SnapshotStore, 1);

    st->dir = g_strdup(dir);
    return st;
}

void snapshot_store_free(SnapshotStore *st)
{
    if (!st) {
        return;
    }
    g_free(st->dir);
    g_free(st);
}

char *snapshot_store_path(SnapshotStore *st, const SnapshotInfo *info)
{
    return g_strdup_printf("%s/%s.snap", st->dir, info->id);
}

/* ---- the index ---- */

typedef struct SnapshotIndex {
    uint64_t next_id;
    GPtrArray *snapshots;           /* SnapshotInfo * */
} SnapshotIndex;

static void snapshot_index_clear(SnapshotIndex *idx)
{
    g_clear_pointer(&idx->snapshots, g_ptr_array_unref);
}

static bool snapshot_index_entry(JsonObject *o, SnapshotInfo **out)
{
    SnapshotInfo *info;

    if (!json_object_has_member(o, "id") || !json_object_has_member(o, "name") ||
        !json_object_has_member(o, "date-sec") || !json_object_has_member(o, "vm-clock-ns") ||
        !json_object_has_member(o, "vm-state-size")) {
        return false;
    }
    info = g_new0(SnapshotInfo, 1);
    info->id = g_strdup(json_object_get_string_member(o, "id"));
    info->name = g_strdup(json_object_get_string_member(o, "name"));
    info->date_sec = json_object_get_int_member(o, "date-sec");
    info->date_nsec = json_object_get_int_member_with_default(o, "date-nsec", 0);
    info->vm_clock_ns = json_object_get_int_member(o, "vm-clock-ns");
    info->vm_state_size = json_object_get_int_member(o, "vm-state-size");
    /* An id names a file in the store: digits only, so it never leaves the directory. */
    if (!info->id || !*info->id || strspn(info->id, "0123456789") != strlen(info->id) ||
        !info->name) {
        snapshot_info_free(info);
        return false;
    }
    *out = info;
    return true;
}

/* Read the index; a store without one is empty. */
static bool snapshot_index_load(SnapshotStore *st, SnapshotIndex *idx, GError **errp)
{
    g_autofree char *path = g_build_filename(st->dir, SNAPSHOT_INDEX, NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *err = NULL;
    JsonNode *root;
    JsonObject *o;
    JsonArray *arr;

    idx->next_id = 1;
    idx->snapshots = g_ptr_array_new_with_free_func((GDestroyNotify)snapshot_info_free);
    if (!json_parser_load_from_file(parser, path, &err)) {
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_error_free(err);
            return true;
        }
        error_setg(errp, "snapshot index %s: %s", path, err->message);
        g_error_free(err);
        snapshot_index_clear(idx);
        return false;
    }
    root = json_parser_get_root(parser);
    o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    arr = o && json_object_has_member(o, "snapshots")
          ? json_object_get_array_member(o, "snapshots") : NULL;
    if (!arr) {
        error_setg(errp, "snapshot index %s: no \"snapshots\" list", path);
        snapshot_index_clear(idx);
        return false;
    }
    idx->next_id = json_object_get_int_member_with_default(o, "next-id", 1);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        SnapshotInfo *info;

        if (!JSON_NODE_HOLDS_OBJECT(n) || !snapshot_index_entry(json_node_get_object(n), &info)) {
            error_setg(errp, "snapshot index %s: entry %u is malformed", path, i);
            snapshot_index_clear(idx);
            return false;
        }
        g_ptr_array_add(idx->snapshots, info);
        idx->next_id = MAX(idx->next_id, g_ascii_strtoull(info->id, NULL, 10) + 1);
    }
    return true;
}

static char *snapshot_index_to_json(const SnapshotIndex *idx)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "next-id");
    json_builder_add_int_value(b, idx->next_id);
    json_builder_set_member_name(b, "snapshots");
    json_builder_begin_array(b);
    for (guint i = 0; i < idx->snapshots->len; i++) {
        const SnapshotInfo *s = g_ptr_array_index(idx->snapshots, i);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, s->id);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, s->name);
        json_builder_set_member_name(b, "date-sec");
        json_builder_add_int_value(b, s->date_sec);
        json_builder_set_member_name(b, "date-nsec");
        json_builder_add_int_value(b, s->date_nsec);
        json_builder_set_member_name(b, "vm-clock-ns");
        json_builder_add_int_value(b, s->vm_clock_ns);
        json_builder_set_member_name(b, "vm-state-size");
        json_builder_add_int_value(b, s->vm_state_size);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    return json_generator_to_data(gen, NULL);
}

/* fsync the store's directory, so that renames in it last. */
static bool snapshot_store_sync_dir(SnapshotStore *st, GError **errp)
{
    int fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = fd >= 0 && fsync(fd) == 0;

    if (!ok) {
        error_setg_errno(errp, errno, "syncing snapshot directory %s", st->dir);
    }
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Write all of @len bytes of @data to @fd. */
static bool snapshot_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ENOSPC;
            }
            return false;
        }
        data += n;
        len -= n;
    }
    return true;
}

/* Replace the index with @idx: temp file, fsync, rename, fsync the directory. */
static bool snapshot_index_save(SnapshotStore *st, const SnapshotIndex *idx, GError **errp)
{
    g_autofree char *path = g_build_filename(st->dir, SNAPSHOT_INDEX, NULL);
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    g_autofree char *json = snapshot_index_to_json(idx);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok;

    if (fd < 0) {
        error_setg_errno(errp, errno, "creating snapshot index %s", tmp);
        return false;
    }
    ok = snapshot_write_all(fd, json, strlen(json)) && fsync(fd) == 0;
    if (!ok) {
        error_setg_errno(errp, errno, "writing snapshot index %s", tmp);
    }
    close(fd);
    if (ok && rename(tmp, path) < 0) {
        error_setg_errno(errp, errno, "renaming snapshot index %s", tmp);
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        return false;
    }
    return snapshot_store_sync_dir(st, errp);
}

static int snapshot_index_find(const SnapshotIndex *idx, const char *name)
{
    for (guint i = 0; i < idx->snapshots->len; i++) {
        if (g_str_equal(((SnapshotInfo *)g_ptr_array_index(idx->snapshots, i))->name, name)) {
            return i;
        }
    }
    return -1;
}

/* ---- queries ---- */

GPtrArray *snapshot_store_list(SnapshotStore *st, GError **errp)
{
    SnapshotIndex idx;

    return snapshot_index_load(st, &idx, errp) ? idx.snapshots : NULL;
}

SnapshotInfo *snapshot_store_find(SnapshotStore *st, const char *name, GError **errp)
{
    SnapshotIndex idx;
    SnapshotInfo *found = NULL;
    int i;

    if (!snapshot_index_load(st, &idx, errp)) {
        return NULL;
    }
    i = snapshot_index_find(&idx, name);
    if (i >= 0) {
        found = g_ptr_array_steal_index(idx.snapshots, i);
    }
    snapshot_index_clear(&idx);
    return found;
}

/* ---- changes ---- */

bool snapshot_store_begin(SnapshotStore *st, SnapshotWrite *w, GError **errp)
{
    SnapshotIndex idx;

    *w = (SnapshotWrite){ .fd = -1 };
    if (g_mkdir_with_parents(st->dir, 0700) < 0) {
        error_setg_errno(errp, errno, "creating snapshot directory %s", st->dir);
        return false;
    }
    if (!snapshot_index_load(st, &idx, errp)) {
        return false;
    }
    w->id = g_strdup_printf("%" G_GUINT64_FORMAT, idx.next_id);
    snapshot_index_clear(&idx);
    w->tmp_path = g_strdup_printf("%s/.%s.snap.tmp", st->dir, w->id);
    w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        error_setg_errno(errp, errno, "creating snapshot file %s", w->tmp_path);
        g_clear_pointer(&w->id, g_free);
        g_clear_pointer(&w->tmp_path, g_free);
        return false;
    }
    return true;
}

void snapshot_store_abort(SnapshotStore *st, SnapshotWrite *w)
{
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->tmp_path) {
        unlink(w->tmp_path);
    }
    g_clear_pointer(&w->id, g_free);
    g_clear_pointer(&w->tmp_path, g_free);
    w->fd = -1;
}

/* fsync and close @w's file and give it its name; its size on disk into *@size. */
static bool snapshot_store_settle(SnapshotStore *st, SnapshotWrite *w, const char *path,
                                  uint64_t *size, GError **errp)
{
    struct stat sb;
    int fd = w->fd;

    w->fd = -1;
    if (fsync(fd) < 0 || fstat(fd, &sb) < 0) {
        error_setg_errno(errp, errno, "syncing snapshot file %s", w->tmp_path);
        close(fd);
        return false;
    }
    if (close(fd) < 0) {
        error_setg_errno(errp, errno, "closing snapshot file %s", w->tmp_path);
        return false;
    }
    if (rename(w->tmp_path, path) < 0) {
        error_setg_errno(errp, errno, "renaming snapshot file %s", w->tmp_path);
        return false;
    }
    *size = (uint64_t)sb.st_blocks * 512;
    return true;
}

bool snapshot_store_commit(SnapshotStore *st, SnapshotWrite *w, const SnapshotInfo *meta,
                           GError **errp)
{
    SnapshotIndex idx;
    SnapshotInfo *info = g_new0(SnapshotInfo, 1);
    g_autoptr(SnapshotInfo) replaced = NULL;
    g_autofree char *path = NULL;
    int old;

    *info = *meta;
    info->id = g_strdup(w->id);
    info->name = g_strdup(meta->name);
    path = snapshot_store_path(st, info);
    if (!snapshot_index_load(st, &idx, errp)) {
        snapshot_info_free(info);
        snapshot_store_abort(st, w);
        return false;
    }
    if (!snapshot_store_settle(st, w, path, &info->vm_state_size, errp)) {
        snapshot_info_free(info);
        snapshot_index_clear(&idx);
        snapshot_store_abort(st, w);
        return false;
    }
    old = snapshot_index_find(&idx, info->name);
    if (old >= 0) {
        replaced = g_ptr_array_steal_index(idx.snapshots, old);
    }
    g_ptr_array_add(idx.snapshots, info);
    idx.next_id = MAX(idx.next_id, g_ascii_strtoull(info->id, NULL, 10) + 1);
    if (!snapshot_index_save(st, &idx, errp)) {
        /* Not listed: the file goes, and a replaced snapshot stays as it was. */
        unlink(path);
        snapshot_index_clear(&idx);
        snapshot_store_abort(st, w);
        return false;
    }
    snapshot_index_clear(&idx);
    if (replaced) {
        g_autofree char *old_path = snapshot_store_path(st, replaced);

        unlink(old_path);
    }
    snapshot_store_abort(st, w);        /* frees the names; the temp path is gone */
    return true;
}

bool snapshot_store_delete(SnapshotStore *st, const char *name, bool *found, GError **errp)
{
    SnapshotIndex idx;
    g_autoptr(SnapshotInfo) gone = NULL;
    g_autofree char *path = NULL;
    int i;

    *found = false;
    if (!snapshot_index_load(st, &idx, errp)) {
        return false;
    }
    i = snapshot_index_find(&idx, name);
    if (i < 0) {
        snapshot_index_clear(&idx);
        return true;
    }
    *found = true;
    gone = g_ptr_array_steal_index(idx.snapshots, i);
    if (!snapshot_index_save(st, &idx, errp)) {
        snapshot_index_clear(&idx);
        return false;
    }
    snapshot_index_clear(&idx);
    path = snapshot_store_path(st, gone);
    if (unlink(path) < 0 && errno != ENOENT) {
        error_setg_errno(errp, errno, "removing snapshot file %s", path);
        return false;
    }
    return true;
}
