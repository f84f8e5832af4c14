/*
 * x-switchover-commit: a two-phase switchover (tern's own capability,
 * qapi/migration.json), so that a link lost at the very end never leaves
 * the guest running on both sides.
 *
 *   destination                               source (guest stopped, all sent)
 *   load to EOF, the trailer, x-verify-ram
 *   return path: LOADED ------------------->  decides, under s->lock: unless
 *                                             cancelled, committed for good
 *                  <----------------------   main stream: COMMIT
 *   runs the guest; SHUT(0) --------------->  completed (cancel only ends
 *                                             this wait)
 *
 * Without LOADED (the return path broke, closed or said SHUT(error), or
 * migrate_cancel) the source fails or is cancelled and resumes its guest.
 * Without COMMIT the destination fails, its guest paused and its state
 * whole (its error-desc says so): if the source completed, 'cont' runs
 * the guest there.  The destination cannot tell the two cases apart; the
 * source's query-migrate can.
 *
 * Wire (tern's own numbers, far from QEMU's): LOADED is return-path
 * message 0x7401, empty; COMMIT is `u8 0x08 ; be16 0x7401 ; be16 0`.
 */
#ifndef MIGRATION_SWITCHOVER_COMMIT_H
#define MIGRATION_SWITCHOVER_COMMIT_H

#include "migration/migration.h"

/*
 * migrate and migrate-incoming: the commit needs both directions of a
 * socket (tcp:, unix:, fd:); a file: or exec: has nobody to commit.
 */
bool switchover_commit_check_address(MigrationOptions *opts, const MigrationAddress *addr,
                                     GError **errp);

/* ---- source ---- */

/*
 * Migration thread, after the last byte (migration_switchover: BQL held).
 * Without the capability: migration_rp_await().  With it: wait for LOADED
 * (without the BQL) and commit.  True, BQL held: completed (committed, or
 * a destination without the capability said SHUT(0)).  False, BQL
 * released, with @errp: the source resumes its guest.
 */
bool switchover_commit_source(MigrationState *s, GError **errp);

/* Has the source committed?  Then nothing may fail or cancel it.  Any thread. */
bool switchover_commit_source_committed(MigrationState *s);

/*
 * migrate_cancel, s->lock held: true when committed (the cancel only ends
 * the wait for the destination's SHUT; the state stays).
 */
bool switchover_commit_source_cancel_locked(MigrationState *s);

/* The return path's hooks (return-path.c), on its thread. */
void switchover_commit_source_loaded(void *opaque);
void switchover_commit_source_rp_ended(void *opaque);

/* ---- destination ---- */

/*
 * Incoming thread, after a load that worked (x-verify-ram compared): the
 * trailer's verdict, then with the capability LOADED and the wait for
 * COMMIT.  True when the guest may run here.  Sets mis->state_complete
 * (no COMMIT) and mis->drain_after_shut as the case is.
 */
bool switchover_commit_dst(MigrationIncomingState *mis, GError **errp);

#endif
