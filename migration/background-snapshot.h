/*
 * Capability background-snapshot (qemu-migration-facts-2.md §17.1): a
 * migration that saves the guest as of one instant while it keeps running.
 * The migration thread runs it in place of iterate and switchover.
 */
#ifndef MIGRATION_BACKGROUND_SNAPSHOT_H
#define MIGRATION_BACKGROUND_SNAPSHOT_H

#include "migration/migration.h"

/* Does the migration that runs now (its run_opts) take a background snapshot? */
bool background_snapshot_enabled(MigrationState *s);

/*
 * migrate-set-capabilities turning the capability on for the guest RAM
 * @blocks: the host must write-protect it with userfaultfd (QEMU's two
 * messages).
 */
bool background_snapshot_check_host(GPtrArray *blocks, GError **errp);

/*
 * Migration thread, after setup (header and setup sections, state
 * active): the instant (guest stopped, device state kept in a buffer, RAM
 * write-protected, guest restarted), every page as of the instant in PART
 * sections, then the device state, EOF and vmdesc.  On success returns
 * with the BQL held, as migration_switchover() does.
 */
bool background_snapshot_run(MigrationState *s, GError **errp);

#endif
