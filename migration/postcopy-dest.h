/*
 * Postcopy, destination side: ADVISE checks the page sizes and opens a
 * userfaultfd, DISCARD drops re-dirtied pages, LISTEN registers guest RAM
 * with the userfaultfd and starts the fault thread ("mig/dst/fault"),
 * which asks the source for every page the guest touches before it
 * arrived; RUN starts the guest on the main loop.  The incoming thread
 * keeps loading pages from the main stream until EOF, then
 * postcopy_incoming_end() stops the fault thread.
 */
#ifndef MIGRATION_POSTCOPY_DEST_H
#define MIGRATION_POSTCOPY_DEST_H

#include "migration/migration.h"

/* QEMU's PostcopyState (destination). */
typedef enum PostcopyState {
    POSTCOPY_INCOMING_NONE = 0,
    POSTCOPY_INCOMING_ADVISE,
    POSTCOPY_INCOMING_DISCARD,
    POSTCOPY_INCOMING_LISTENING,
    POSTCOPY_INCOMING_RUNNING,
    POSTCOPY_INCOMING_END,
} PostcopyState;

/* Can this host do postcopy here (userfaultfd with COPY and ZEROPAGE)? */
bool postcopy_userfaultfd_supported(GError **errp);

/* The command handlers (incoming-commands.c's table); opaque: the MigrationIncomingState. */
bool postcopy_incoming_advise(void *opaque, uint64_t ram_pagesize_summary,
                              uint64_t target_page_size, GError **errp);
bool postcopy_incoming_discard(void *opaque, const char *name, const uint64_t *starts,
                               const uint64_t *lengths, size_t n, GError **errp);
bool postcopy_incoming_listen(void *opaque, QEMUFile *f, GError **errp);
bool postcopy_incoming_run(void *opaque, GError **errp);

/*
 * The load ended (incoming thread): stop the fault thread, unregister the
 * RAM, close the userfaultfd.  NULL-safe for a load without postcopy.
 */
void postcopy_incoming_end(MigrationIncomingState *mis);

/*
 * query-migrate on the destination (BQL held): once the guest ran here,
 * x-postcopy-faults and the latencies, and with the postcopy-blocktime
 * capability postcopy-blocktime and postcopy-vcpu-blocktime.
 */
void postcopy_incoming_info(MigrationIncomingState *mis, MigrationInfo *info);

/* Has RUN come (the guest runs here, or is about to)?  Incoming thread. */
bool postcopy_incoming_running(MigrationIncomingState *mis);

/* Did RUN start the guest here (so a failure now loses it)?  Main loop. */
bool postcopy_incoming_ran(MigrationIncomingState *mis);

/* Free what is left (the exit path; after the incoming thread is joined). */
void postcopy_incoming_free(MigrationIncomingState *mis);

#endif
