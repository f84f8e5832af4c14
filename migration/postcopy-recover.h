/*
 * Postcopy recovery (QEMU 3.0's, qemu-migration-facts-2.md §13): once the
 * guest runs on the destination, a broken link no longer fails the
 * migration.  Both sides go to postcopy-paused, keeping what they have:
 * the source every page not sent yet, the destination the guest, whose
 * vCPUs wait on the pages that are missing.  migrate-recover makes the
 * destination listen again; migrate with resume makes the source
 * reconnect (postcopy-recover-setup, then postcopy-recover); the
 * destination sends each block's received bitmap, the source makes every
 * page it lacks dirty again, and postcopy goes on after RESUME and its
 * RESUME_ACK.  migrate-pause breaks the link on purpose.
 *
 * Source (postcopy-recover-source.c): the migration thread pauses and
 * reconnects; the return-path thread loads the bitmaps and the ack.
 * Destination (postcopy-recover-dest.c): the incoming thread pauses and
 * waits for the new connection, which the main loop accepts.
 */
#ifndef MIGRATION_POSTCOPY_RECOVER_H
#define MIGRATION_POSTCOPY_RECOVER_H

#include "migration/migration.h"

/* postcopy-active or postcopy-recover: where migrate-pause applies (QEMU's rule). */
bool postcopy_recover_is_alive(MigrationStatus st);

/* Any postcopy state after the switch, paused and recovering included. */
bool postcopy_recover_in_postcopy(MigrationStatus st);

/* ---- source ---- */

/*
 * Migration thread, without the BQL: the postcopy stream failed with @err
 * (taken).  In postcopy-active or postcopy-recover, pause: drop the
 * connection, wait for migrate resume and reconnect, until postcopy runs
 * again (true, postcopy-active).  False with *@errp set when it cannot
 * pause, or when the migration ends while paused (the exit path).
 */
bool postcopy_recover_source_pause(MigrationState *s, GError *err, GError **errp);

/* migrate-pause on the source (any thread): false when it is not postcopy's turn. */
bool postcopy_recover_source_pause_request(MigrationState *s, GError **errp);

/* migrate with resume (BQL held), QEMU's checks and messages.  Takes @addr. */
bool postcopy_recover_source_resume(MigrationState *s, MigrationAddress *addr, GError **errp);

/* The return path's RECV_BITMAP (its bitmap follows on @from_dst) and RESUME_ACK. */
bool postcopy_recover_source_recv_bitmap(MigrationState *s, const char *block,
                                         QEMUFile *from_dst, GError **errp);
bool postcopy_recover_source_resume_ack(MigrationState *s, GError **errp);

/* ---- destination ---- */

typedef struct PostcopyRecoverDst PostcopyRecoverDst;

PostcopyRecoverDst *postcopy_recover_dst_new(void);
void postcopy_recover_dst_free(PostcopyRecoverDst *r);

/*
 * Incoming thread: load the rest of a postcopy stream, pausing on every
 * failure once the guest runs here, until EOF (true) or a failure that
 * cannot pause (false, *@errp set).  mis->from_src may be replaced.
 */
bool postcopy_recover_dst_load(MigrationIncomingState *mis, GError **errp);

/* migrate-pause on the destination (any thread): false when it is not postcopy's turn. */
bool postcopy_recover_dst_pause_request(MigrationIncomingState *mis, GError **errp);

/* migrate-recover (BQL held): listen on @addr (taken) for the source. */
bool postcopy_recover_dst_listen(MigrationIncomingState *mis, MigrationAddress *addr,
                                 GError **errp);

/*
 * Main loop, BQL held: a connection came while the destination recovers;
 * true when it was taken here (*@more: whether another is expected).
 */
bool postcopy_recover_dst_accept(MigrationIncomingState *mis, int fd, bool *more);

/* The exit path: a paused load stops waiting (before the incoming thread is joined). */
void postcopy_recover_dst_abort(MigrationIncomingState *mis);

/* The command handlers (incoming-commands.c's table); opaque: the MigrationIncomingState. */
bool postcopy_recover_dst_recv_bitmap(void *opaque, const char *block, GError **errp);
bool postcopy_recover_dst_resume(void *opaque, GError **errp);

#endif
