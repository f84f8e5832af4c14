/*
 * Postcopy, source side: migrate-start-postcopy asks for the switch; the
 * migration thread then stops the guest, tells the destination which
 * pages it must drop (discard), sends the device state in one package
 * that ends with RUN, and from then on sends the pages the destination
 * asks for ahead of the rest of RAM, until every page went out.
 */
#ifndef MIGRATION_POSTCOPY_SOURCE_H
#define MIGRATION_POSTCOPY_SOURCE_H

#include "migration/migration.h"

/* migrate-start-postcopy (BQL held), QEMU's checks and messages. */
bool postcopy_source_request(MigrationState *s, GError **errp);

/*
 * migrate_cancel (BQL held): refused in postcopy, where the guest already
 * runs on the destination (QEMU 10.2's rule and message).
 */
bool postcopy_source_may_cancel(MigrationState *s, GError **errp);

/* Did migrate-start-postcopy ask for the switch?  Migration thread. */
bool postcopy_source_requested(MigrationState *s);

/* After the header (and the return path's commands): POSTCOPY_ADVISE if postcopy-ram is on. */
void postcopy_source_advise(MigrationState *s);

/*
 * The switch and the postcopy phase, in place of the precopy switchover:
 * returns with the BQL held on success (completed follows), without it on
 * failure.  Once the package may have reached the destination the guest
 * is there: a failure leaves the source stopped (postmigrate), never
 * running beside it.
 */
bool postcopy_source_run(MigrationState *s, GError **errp);

/* migrate-set-parameters max-postcopy-bandwidth, obeyed from now on (BQL held). */
void postcopy_source_set_bandwidth(MigrationState *s, uint64_t bytes_per_second);

/* The return path's page request (return-path thread). */
bool postcopy_source_page_request(MigrationState *s, const char *block,
                                  uint64_t start, uint64_t len, GError **errp);

#endif
