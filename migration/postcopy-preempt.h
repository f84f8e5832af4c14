/*
 * Postcopy preempt: a second connection that carries the pages the
 * destination faults on, so they never wait behind the background pass
 * in the main channel (capability postcopy-preempt, QEMU 8.0's protocol:
 * qemu-migration-facts-2.md §13.3).  The source opens it at the switch,
 * once a PONG proved the main channel was taken; it has no magic and no
 * header; the destination knows it as the next connection after the main
 * one and every multifd channel.  Its content: bare RAM records, one EOS
 * at the end (ram-preempt.c).
 */
#ifndef MIGRATION_POSTCOPY_PREEMPT_H
#define MIGRATION_POSTCOPY_PREEMPT_H

#include "migration/migration.h"

/* ---- source ---- */

typedef struct PostcopyPreemptSource PostcopyPreemptSource;

/*
 * Migration thread, before the switch (no BQL): wait for a PONG, connect
 * as the main channel did (transport_connect on the migration's cancel
 * token, TLS when on) and publish it for the return-path thread.  True
 * without doing anything when the capability is off.
 */
bool postcopy_preempt_source_open(MigrationState *s, GError **errp);

/*
 * Return-path thread: send the requested pages on the preempt channel.
 * *@handled false when there is no preempt channel (the request goes to
 * the migration thread's queue instead).
 */
bool postcopy_preempt_source_request(MigrationState *s, const char *block, uint64_t start,
                                     uint64_t len, bool *handled, GError **errp);

/*
 * Migration thread, after the last background page and before END: with
 * @ok, EOS after the last requested page; else the channel is shut so a
 * return-path thread blocked on it lets go.  Requests that come later are
 * dropped (their page went out on one channel or the other).
 */
bool postcopy_preempt_source_finish(MigrationState *s, bool ok, GError **errp);

/* Migration thread, once the return-path thread is joined: close and free (NULL-safe). */
void postcopy_preempt_source_free(MigrationState *s);

/* ---- destination ---- */

typedef struct PostcopyPreemptDst PostcopyPreemptDst;

/* Main loop, with the first channel: the state when postcopy-preempt is on, else NULL. */
PostcopyPreemptDst *postcopy_preempt_dst_new(const MigrationOptions *opts);
/* After every channel thread is joined (NULL-safe). */
void postcopy_preempt_dst_free(PostcopyPreemptDst *p);

/* Is the channel accepted @index-th (0: the first) the preempt one? */
bool postcopy_preempt_dst_is_channel(MigrationIncomingState *mis, unsigned index);

/*
 * The preempt channel's thread: wait for LISTEN, then place the records
 * up to EOS; closes @ch (taken).  A failure is reported and cancels the
 * load.  @gen: the generation the channel was accepted in (0 for the
 * first connection; postcopy_preempt_dst_generation() after a pause).
 */
void postcopy_preempt_dst_run(MigrationIncomingState *mis, Channel *ch, unsigned gen);

/* Main loop: the generation a preempt channel accepted now belongs to. */
unsigned postcopy_preempt_dst_generation(MigrationIncomingState *mis);

/* Incoming thread, LISTEN done: the preempt channel may place pages now. */
void postcopy_preempt_dst_listen(MigrationIncomingState *mis);

/*
 * Incoming thread, the main stream ended (@ok: at EOF), before the RAM is
 * unregistered: after LISTEN, wait until the preempt channel has reached
 * its EOS (its last pages must land); otherwise stop it.  Returns @ok,
 * or false when the channel failed, whose error then replaces *@err
 * (the main stream's, set or not).
 */
bool postcopy_preempt_dst_end(MigrationIncomingState *mis, bool ok, GError **err);

/*
 * Postcopy recovery, incoming thread, the main stream failed: if the
 * preempt channel failed first (and cancelled the stream), its error,
 * which says why, replaces *@err.
 */
void postcopy_preempt_dst_take_error(MigrationIncomingState *mis, GError **err);

/*
 * Postcopy recovery, incoming thread: the link broke.  Stop the channel's
 * reader (its failure is not one), wait until it has let go, and get
 * ready for the preempt channel of the next connection.
 */
void postcopy_preempt_dst_pause(MigrationIncomingState *mis);

/* The exit path (any thread but the channel's): stop waiting and reading. */
void postcopy_preempt_dst_abort(MigrationIncomingState *mis);

#endif
