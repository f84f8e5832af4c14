/*
 * x-verify-ram's rule at migrate time (ram-verify-check.h).  Not a
 * capability rule in options.c: whether a return path is needed depends on
 * the URI, which only migrate knows.
 */
#include "ram-verify-check.h"

#include "qemu/error.h"

bool ram_verify_check_migration(const MigrationOptions *opts, const MigrationAddress *addr,
                                GError **errp)
{
    if (!migrate_cap(opts, MIGRATION_CAPABILITY_X_VERIFY_RAM) ||
        migrate_cap(opts, MIGRATION_CAPABILITY_RETURN_PATH) ||
        addr->transport == MIGRATION_ADDRESS_TYPE_FILE) {
        return true;
    }
    error_setg(errp, "Capability 'x-verify-ram' requires capability 'return-path' "
               "(but to a file: URI, whose load verifies)");
    return false;
}
