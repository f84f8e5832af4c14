/*
 * The QMP commands over the process's migration options:
 * migrate-set-capabilities, query-migrate-capabilities,
 * migrate-set-parameters and query-migrate-parameters.  They find the
 * options, and the outgoing migration whose limits follow them, in the
 * context they receive.
 */
#include "migration/options.h"

#include <string.h>

#include "migration/migration.h"
#include "postcopy-source.h"
#include "background-snapshot.h"
#include "migration/ram.h"
#include "migration/misc.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/context.h"

/* A context without migration (as some tests build) cannot answer. */
static MigrationObjects *options_migration(TernContext *ctx, GError **errp)
{
    if (!ctx || !ctx->migration) {
        error_setg(errp, "Migration is not initialized");
        return NULL;
    }
    return ctx->migration;
}

/* Would @caps leave postcopy-preempt on (the last word for it, else as it is)? */
static bool options_preempt_after(const MigrationOptions *opts,
                                  const MigrationCapabilityStatusList *caps)
{
    bool on = migrate_cap(opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT);

    for (; caps; caps = caps->next) {
        if (caps->value->capability == MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) {
            on = caps->value->state;
        }
    }
    return on;
}

/*
 * As QEMU: turning background-snapshot on asks the host whether it can
 * write-protect the guest's RAM (after the combination rules).
 */
static bool options_check_background_snapshot(MigrationObjects *o,
                                              const MigrationCapabilityStatusList *caps,
                                              GError **errp)
{
    for (; caps; caps = caps->next) {
        if (caps->value->capability == MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT &&
            caps->value->state) {
            return background_snapshot_check_host(ram_state_blocks(o->ram), errp);
        }
    }
    return true;
}

bool qmp_migrate_set_capabilities(TernContext *ctx,
                                  MigrationCapabilityStatusList *capabilities,
                                  GError **errp)
{
    MigrationObjects *o = options_migration(ctx, errp);
    MigrationCapsHost host;
    bool before[MIGRATION_CAPABILITY__MAX];

    if (!o) {
        return false;
    }
    host.dirty_limit = o->out->machine.dirty_limit_supported &&
                       o->out->machine.dirty_limit_supported(o->out->machine.opaque);
    /* Capabilities are frozen while this process sends or loads a stream. */
    if (migration_is_running(g_atomic_int_get(&o->out->state))) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    /*
     * As QEMU, whose check comes before tern's on the destination's load:
     * the destination knows its channels by their order from the first one.
     */
    if (o->in->started && options_preempt_after(o->opts, capabilities)) {
        error_setg(errp, "Postcopy preempt must be set before incoming starts");
        return false;
    }
    if (migration_incoming_is_loading(o->in)) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    memcpy(before, o->opts->caps, sizeof(before));
    if (!migration_options_set_caps_on(o->opts, capabilities, &host, errp)) {
        return false;
    }
    if (!options_check_background_snapshot(o, capabilities, errp)) {
        memcpy(o->opts->caps, before, sizeof(before));     /* the command failed whole */
        return false;
    }
    return true;
}

MigrationCapabilityStatusList *qmp_query_migrate_capabilities(TernContext *ctx,
                                                              GError **errp)
{
    MigrationObjects *o = options_migration(ctx, errp);

    return o ? migration_options_query_caps(o->opts) : NULL;
}

bool qmp_migrate_set_parameters(TernContext *ctx,
                                const MigrateSetParameters *arg, GError **errp)
{
    MigrationObjects *o = options_migration(ctx, errp);
    uint64_t old_cache_size;

    if (!o) {
        return false;
    }
    old_cache_size = o->opts->params->xbzrle_cache_size;
    if (!migration_options_set_params(o->opts, arg, errp)) {
        return false;
    }
    /* As QEMU: the value is kept even when the running migration cannot resize. */
    if (arg->has_xbzrle_cache_size && arg->xbzrle_cache_size != old_cache_size &&
        !migration_set_xbzrle_cache_size(o->out, arg->xbzrle_cache_size, errp)) {
        return false;
    }
    /* Like QEMU, passed on even when the value did not change. */
    if (arg->has_max_bandwidth) {
        migration_set_max_bandwidth(o->out, o->opts->params->max_bandwidth);
    }
    if (arg->has_downtime_limit) {
        migration_set_downtime_limit(o->out, o->opts->params->downtime_limit);
    }
    if (arg->has_max_postcopy_bandwidth) {
        postcopy_source_set_bandwidth(o->out, o->opts->params->max_postcopy_bandwidth);
    }
    if (arg->has_x_switchover_hold) {
        migration_set_switchover_hold(o->out, o->opts->params->x_switchover_hold);
    }
    return true;
}

MigrationParameters *qmp_query_migrate_parameters(TernContext *ctx,
                                                  GError **errp)
{
    MigrationObjects *o = options_migration(ctx, errp);

    return o ? migration_options_query_params(o->opts) : NULL;
}
