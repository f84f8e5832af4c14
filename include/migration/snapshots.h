/*
 * Named snapshots, the process assembly's view: the snapshot store of
 * -machine snapshot-dir=PATH and its commands (migration/snapshot.h has
 * the rest).
 */
#ifndef MIGRATION_SNAPSHOTS_H
#define MIGRATION_SNAPSHOTS_H

typedef struct Snapshots Snapshots;
typedef struct VM VM;                   /* sysemu/vm.h */

/*
 * Snapshots of @vm (borrowed: its run time is the VM clock) in directory
 * @dir (copied; NULL: no store, and the commands say so).  Main thread.
 */
Snapshots *snapshots_new(VM *vm, const char *dir);
void snapshots_free(Snapshots *s);

/* Register savevm, loadvm, delvm and info snapshots (start-up). */
void snapshot_hmp_register(void);

#endif
