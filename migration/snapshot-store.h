/*
 * The snapshot store: tern's stand-in for the qcow2 vmstate area that
 * holds QEMU's internal snapshots.  A directory (-machine snapshot-dir=DIR)
 * with one mapped-ram migration file per snapshot, `<id>.snap`, and an
 * index, `index.json`, naming each snapshot's tag, file, date, VM clock
 * and size.
 *
 * Only a snapshot whose file is complete and on disk is ever in the index:
 * a save writes `.<id>.snap.tmp`, fsyncs it and renames it into place
 * before the index (itself written to a temp file, fsynced and renamed)
 * names it.  A save that fails or a crash leaves at most a temp file,
 * which is never listed.  Main thread (BQL) only.
 */
#ifndef MIGRATION_SNAPSHOT_STORE_H
#define MIGRATION_SNAPSHOT_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* One snapshot of the index. */
typedef struct SnapshotInfo {
    char *id;                   /* decimal, unique in the store, never reused */
    char *name;                 /* the tag */
    int64_t date_sec;           /* wall clock at the save, seconds since the epoch */
    int64_t date_nsec;
    int64_t vm_clock_ns;        /* how long the guest had run at the save */
    uint64_t vm_state_size;     /* bytes the file takes on disk */
} SnapshotInfo;

void snapshot_info_free(SnapshotInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapshotInfo, snapshot_info_free)

typedef struct SnapshotStore SnapshotStore;

/* A store over directory @dir (copied); nothing is read or created yet. */
SnapshotStore *snapshot_store_new(const char *dir);
void snapshot_store_free(SnapshotStore *st);

/* The snapshots, oldest first (SnapshotInfo *, owned by the array); empty without an index. */
GPtrArray *snapshot_store_list(SnapshotStore *st, GError **errp);

/* The snapshot tagged @name (transfer full), or NULL: *@errp is set only when the index is bad. */
SnapshotInfo *snapshot_store_find(SnapshotStore *st, const char *name, GError **errp);

/* The path of @info's file (transfer full). */
char *snapshot_store_path(SnapshotStore *st, const SnapshotInfo *info);

/* A save in progress: a temp file in the store. */
typedef struct SnapshotWrite {
    char *id;
    char *tmp_path;
    int fd;                     /* O_RDWR, the caller's until commit / abort */
} SnapshotWrite;

/* Create the directory if needed and a temp file for a new snapshot. */
bool snapshot_store_begin(SnapshotStore *st, SnapshotWrite *w, GError **errp);

/*
 * The temp file of @w holds a whole snapshot: fsync and close it, give it
 * its name, and list it in the index as @meta (its id and size are filled
 * in here), replacing a snapshot with the same tag, whose file is removed.
 * On failure the temp file is removed and the index is as before.
 */
bool snapshot_store_commit(SnapshotStore *st, SnapshotWrite *w, const SnapshotInfo *meta,
                           GError **errp);

/* Give up a save: close and remove the temp file. */
void snapshot_store_abort(SnapshotStore *st, SnapshotWrite *w);

/* Remove the snapshot tagged @name from the index, then its file; *@found: there was one. */
bool snapshot_store_delete(SnapshotStore *st, const char *name, bool *found, GError **errp);

#endif
