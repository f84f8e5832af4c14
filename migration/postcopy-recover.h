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
#include "transport.h"

/* postcopy-active or postcopy-recover: where migrate-pause applies (QEMU's rule). */
static inline bool postcopy_recover_is_alive(MigrationStatus st)
{
    return st == MIGRATION_STATUS_POSTCOPY_ACTIVE || st == MIGRATION_STATUS_POSTCOPY_RECOVER;
}

/* Any postcopy state after the switch, paused and recovering included. */
static inline bool postcopy_recover_in_postcopy(MigrationStatus st)
{
    switch (st) {
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
        return true;
    default:
        return false;
    }
}

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

/* ---- source: auto-recover (postcopy-auto-recover.c) ---- */

/*
 * The wait before automatic attempt @attempt (from 1): @first_ms, doubled
 * at each attempt after the first, at most 10 s (or @first_ms if longer).
 */
uint64_t postcopy_auto_recover_delay(uint64_t first_ms, uint32_t attempt);

/*
 * Migration thread, just paused after @why: wait until the state leaves
 * postcopy-paused: migrate resume, an exit-path cancel, or (parameter
 * x-postcopy-auto-recover) an automatic attempt started here when its
 * wait is over.  No attempt after migrate-pause, or once they ran out.
 */
void postcopy_auto_recover_source_wait(MigrationState *s, const char *why);

/* Migration thread, at a handshake: its deadline (µs, monotonic) when automatic, else 0. */
int64_t postcopy_auto_recover_handshake_deadline(MigrationState *s);

/* Migration thread: postcopy-active again; the next break gets the full budget. */
void postcopy_auto_recover_source_healed(MigrationState *s);

/* migrate resume, s->lock held: a manual attempt; migrate-pause's stop is lifted. */
void postcopy_auto_recover_source_resumed(MigrationState *s);

/*
 * migrate-pause, s->lock held: in @st, outside QEMU's states, is there an
 * automatic recovery to stop (waiting in postcopy-paused, or connecting)?
 */
bool postcopy_auto_recover_source_may_pause(MigrationState *s, MigrationStatus st);

/* query-migrate: NULL unless the migration runs with the parameter and postcopy started. */
XPostcopyAutoRecoverInfo *postcopy_auto_recover_info(MigrationState *s, MigrationStatus st);

/* ---- destination ---- */

typedef struct PostcopyRecoverDst PostcopyRecoverDst;

/*
 * @accept: the destination's accept callback (incoming.c's), which a
 * listener migrate-recover opens hands its connections to; it gives each
 * to postcopy_recover_dst_accept() first.
 */
PostcopyRecoverDst *postcopy_recover_dst_new(TransportAcceptFunc accept);
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

/*
 * A listener for the migration is up (BQL held): remember @asked (with
 * the port it bound), where a paused destination with
 * x-postcopy-auto-recover listens again by itself.
 */
void postcopy_recover_dst_set_address(MigrationIncomingState *mis,
                                      const MigrationAddress *asked);

/* The exit path: a paused load stops waiting (before the incoming thread is joined). */
void postcopy_recover_dst_abort(MigrationIncomingState *mis);

/* The command handlers (incoming-commands.c's table); opaque: the MigrationIncomingState. */
bool postcopy_recover_dst_recv_bitmap(void *opaque, const char *block, GError **errp);
bool postcopy_recover_dst_resume(void *opaque, GError **errp);

#endif
