/*
 * The outgoing migration's state transitions (migration-states.c), apart
 * from the thread that drives them (migration.c), so unit tests can walk
 * them on a MigrationState with a fake channel: no machine, no BQL.
 *
 *   none -> setup -> active -> [pre-switchover ->] device -> completed
 *              \        \             \               \
 *               +--------+-------------+---------------+-> cancelling -> cancelled
 *   any running state -> failed
 */
#ifndef MIGRATION_MIGRATION_STATES_H
#define MIGRATION_MIGRATION_STATES_H

#include "migration/migration.h"

/* The current status (atomic read; any thread). */
MigrationStatus migration_status(MigrationState *s);

/*
 * Leave active for device; with pause-before-switchover (in @s->run_opts),
 * wait in pre-switchover until migrate-continue or cancel first.  False
 * when a cancel got there first.  Migration thread, without the BQL.
 */
bool migration_pause_before_switchover(MigrationState *s);

/*
 * Move from whatever running state @s is in to @final.  Failing while
 * cancelling ends in cancelled.  Migration thread.
 */
void migration_enter_final_state(MigrationState *s, MigrationStatus final);

/*
 * Postcopy recovery, migrate resume or an automatic attempt (s->lock
 * held, postcopy-paused, the migration thread waiting):
 * postcopy-recover-setup on @cancel (taken), connecting to @addr (taken),
 * or to s->addr again when NULL.
 */
void migration_enter_recover_setup(MigrationState *s, ChannelCancel *cancel,
                                   MigrationAddress *addr);

#endif
