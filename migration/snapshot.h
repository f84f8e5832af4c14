/*
 * Named snapshots (savevm / loadvm / delvm, snapshot-save / -load /
 * -delete): the whole guest saved into the snapshot store
 * (snapshot-store.h) as a mapped-ram stream while it is stopped, and
 * loaded back into the running process.  The store plays the part of
 * QEMU's vmstate block node.  Main thread, BQL held: like QEMU's, a save
 * or load holds the monitor until it is done.
 */
#ifndef MIGRATION_SNAPSHOT_H
#define MIGRATION_SNAPSHOT_H

#include "migration/misc.h"
#include "migration/snapshots.h"
#include "snapshot-store.h"
#include "sysemu/vm.h"

/* The node name a QMP snapshot job gives as `vmstate` for the store. */
#define SNAPSHOT_STORE_NODE "snapshot-store"

struct Snapshots {
    SnapshotStore *store;       /* NULL: no -machine snapshot-dir */
    VM *vm;                     /* borrowed: its run time is the VM clock */
    gpointer notifier;
    int64_t run_ns;             /* time the guest ran before @since_ns */
    int64_t since_ns;           /* monotonic start of the current run, 0: stopped */
    GPtrArray *jobs;            /* SnapshotJob *, snapshot-jobs.c */
};

/* @o's snapshots, or NULL with QEMU's error when there is no store. */
Snapshots *snapshots_get(MigrationObjects *o, GError **errp);

/*
 * Save the guest as snapshot @name: the guest stops (save-vm) and runs
 * again afterwards if it ran.  An existing @name is replaced when
 * @overwrite (HMP savevm), else refused (QMP).  A failed save leaves the
 * store as it was and the guest as it was.
 */
bool snapshots_save(MigrationObjects *o, const char *name, bool overwrite, GError **errp);

/*
 * Load snapshot @name into the guest: it stops (restore-vm), its RAM is
 * cleared and replaced, its devices loaded; it runs again if it ran.  On
 * a failed load the guest stays stopped.
 */
bool snapshots_load(MigrationObjects *o, const char *name, GError **errp);

/* Remove snapshot @name from the store. */
bool snapshots_delete(MigrationObjects *o, const char *name, GError **errp);

/* What `info snapshots` prints (transfer full). */
char *snapshots_info_text(MigrationObjects *o, GError **errp);


#endif
