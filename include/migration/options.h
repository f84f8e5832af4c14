/*
 * Migration capabilities and parameters: QEMU 9.1's full lists with QEMU's
 * defaults, the checks QEMU applies, and tern's own rule that a capability
 * or parameter it does not implement is refused, never accepted and ignored.
 *
 * A migration copies the options at start (migration_options_copy); they do
 * not change under it, except max-bandwidth and downtime-limit, which the
 * running migration takes through the live hooks (QEMU allows changing both
 * during a migration, and its tests rely on it to force convergence).
 */
#ifndef MIGRATION_OPTIONS_H
#define MIGRATION_OPTIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/qapi-types.h"

typedef struct MigrationOptions {
    bool caps[MIGRATION_CAPABILITY__MAX];
    MigrationParameters *params;    /* every member present */
} MigrationOptions;

/* QEMU's defaults: every parameter at QEMU's default, every capability off. */
MigrationOptions *migration_options_new(void);
/* A deep copy; the copy shares nothing with @o. */
MigrationOptions *migration_options_copy(const MigrationOptions *o);
/* NULL-safe. */
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
 * Apply @caps all-or-nothing.  The resulting set must pass QEMU's
 * combination rules (checked first, so an inconsistent set gets QEMU's
 * message), and every capability switched on must be implemented by tern.
 * Switching off a capability tern does not implement is accepted (it is
 * already off), so clients that send the full list with states keep working.
 */
bool migration_options_set_caps(MigrationOptions *o,
                                const MigrationCapabilityStatusList *caps,
                                GError **errp);

/*
 * Apply the members present in @p all-or-nothing: the candidate (current
 * values overlaid with @p) must pass QEMU's range checks, then tern's own
 * rule: a parameter tern does not implement may only be "set" to its current
 * value, and the TLS parameters, mode and zero-page-detection accept only
 * the values tern implements.  A null TLS parameter means "" as in QEMU.
 */
bool migration_options_set_params(MigrationOptions *o,
                                  const MigrateSetParameters *p, GError **errp);

/* What the host offers that a capability needs (QEMU probes KVM for these). */
typedef struct MigrationCapsHost {
    bool dirty_limit;       /* dirty-limit: the accelerator can limit vCPUs */
} MigrationCapsHost;

/*
 * As migration_options_set_caps, refusing what @host does not offer (with
 * QEMU's text, after QEMU's combination rules); @host NULL offers all.
 */
bool migration_options_set_caps_on(MigrationOptions *o,
                                   const MigrationCapabilityStatusList *caps,
                                   const MigrationCapsHost *host, GError **errp);

/* For query-migrate-capabilities: one entry per capability, in enum order. */
MigrationCapabilityStatusList *migration_options_query_caps(const MigrationOptions *o);
/* For query-migrate-parameters: a copy with every member present. */
MigrationParameters *migration_options_query_params(const MigrationOptions *o);

/* Whether tern implements @cap / @param (anything else is refused when changed). */
bool migration_cap_is_implemented(MigrationCapability cap);
bool migration_param_is_implemented(MigrationParameter param);

/*
 * How HMP's migrate_set_parameter reads a value of a parameter, as QEMU does:
 * sizes take suffixes (bytes by default, MiB for the two bandwidths), the
 * small integer types take plain numbers, booleans on/off.
 */
typedef enum MigrationParamInput {
    MIGRATION_PARAM_INPUT_UINT,     /* decimal or 0x hex */
    MIGRATION_PARAM_INPUT_SIZE,     /* "64M"; a bare number is bytes */
    MIGRATION_PARAM_INPUT_SIZE_MIB, /* "1G"; a bare number is MiB */
    MIGRATION_PARAM_INPUT_BOOL,     /* on/off, yes/no, true/false */
    MIGRATION_PARAM_INPUT_STR,
    MIGRATION_PARAM_INPUT_ENUM,     /* one of the QAPI enum's names */
    MIGRATION_PARAM_INPUT_QMP_ONLY, /* block-bitmap-mapping */
} MigrationParamInput;

MigrationParamInput migration_param_input(MigrationParameter param);
/* The unit "info migrate_parameters" prints after the value ("" for none). */
const char *migration_param_hmp_unit(MigrationParameter param);

#endif
