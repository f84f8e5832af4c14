/*
 * What x-verify-ram needs of a migration (ram-verify-check.c): the source
 * must hear the destination's verdict, through the return path, unless the
 * stream goes to a file, whose load verifies when it happens.
 */
#ifndef MIGRATION_RAM_VERIFY_CHECK_H
#define MIGRATION_RAM_VERIFY_CHECK_H

#include "migration/options.h"
#include "qapi/qapi-types.h"

/* migrate with @opts to @addr (main thread); true without x-verify-ram. */
bool ram_verify_check_migration(const MigrationOptions *opts, const MigrationAddress *addr,
                                GError **errp);

#endif
