/*
 * Migration capabilities and parameters: QEMU 9.1's full lists with QEMU's
 * defaults, the checks QEMU applies, and tern's own rule that a capability
 * or parameter it does not implement is refused, never accepted and ignored.
 *
 * A migration copies the options at start (migration_options_copy); they do
 * not change under it, except max-bandwidth, which the running migration
 * re-reads (QEMU allows changing it live).
 */
#ifndef MIGRATION_OPTIONS_H
#define MIGRATION_OPTIONS_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types-migration.h"

typedef struct MigrationOptions {
    bool caps[MIGRATION_CAPABILITY__MAX];
    MigrationParameters *params;    /* every member present */
} MigrationOptions;

/* QEMU's defaults. */
MigrationOptions *migration_options_new(void);
MigrationOptions *migration_options_copy(const MigrationOptions *o);
void migration_options_free(MigrationOptions *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationOptions, migration_options_free)

static inline bool migrate_cap(const MigrationOptions *o, MigrationCapability cap)
{
    return o->caps[cap];
}

static inline const MigrationParameters *migrate_params(const MigrationOptions *o)
{
    return o->params;
}

/*
 * Apply @caps all-or-nothing: each must be implemented by tern and the
 * resulting set must pass QEMU's compatibility checks.
 */
bool migration_options_set_caps(MigrationOptions *o,
                                const MigrationCapabilityStatusList *caps,
                                GError **errp);

/* Apply the members present in @p all-or-nothing, after QEMU's range checks. */
bool migration_options_set_params(MigrationOptions *o,
                                  const MigrateSetParameters *p, GError **errp);

/* For query-migrate-capabilities / query-migrate-parameters. */
MigrationCapabilityStatusList *migration_options_query_caps(const MigrationOptions *o);
MigrationParameters *migration_options_query_params(const MigrationOptions *o);

#endif
