/*
 * The QMP commands over the process's migration options:
 * migrate-set-capabilities, query-migrate-capabilities,
 * migrate-set-parameters and query-migrate-parameters.  The migration core
 * hands over its options and a "is a migration running" predicate once at
 * start-up, and hooks through which parameter changes reach a running
 * migration.
 */
#include "migration/options.h"

#include "qapi/qapi-commands.h"
#include "qemu/error.h"

/*
 * Set once at start-up (tests may swap them) and used only on the main
 * thread with the BQL held: the command handlers' only way to the options.
 */
static struct {
    MigrationOptions *opts;
    bool (*migration_running)(void);
    MigrationOptionsLiveHooks live;
} current;

void migration_options_init_current(MigrationOptions *opts,
                                    bool (*migration_running)(void))
{
    current.opts = opts;
    current.migration_running = migration_running;
}

void migration_options_set_live_hooks(const MigrationOptionsLiveHooks *hooks)
{
    if (hooks) {
        current.live = *hooks;
    } else {
        current.live = (MigrationOptionsLiveHooks) { 0 };
    }
}

static MigrationOptions *current_options(GError **errp)
{
    if (!current.opts) {
        error_setg(errp, "Migration is not initialized");
    }
    return current.opts;
}

bool qmp_migrate_set_capabilities(TernContext *ctx,
                                  MigrationCapabilityStatusList *capabilities,
                                  GError **errp)
{
    MigrationOptions *o = current_options(errp);

    if (!o) {
        return false;
    }
    if (current.migration_running && current.migration_running()) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    return migration_options_set_caps(o, capabilities, errp);
}

MigrationCapabilityStatusList *qmp_query_migrate_capabilities(TernContext *ctx,
                                                              GError **errp)
{
    MigrationOptions *o = current_options(errp);

    return o ? migration_options_query_caps(o) : NULL;
}

bool qmp_migrate_set_parameters(TernContext *ctx,
                                const MigrateSetParameters *arg, GError **errp)
{
    MigrationOptions *o = current_options(errp);

    if (!o || !migration_options_set_params(o, arg, errp)) {
        return false;
    }
    /* Like QEMU, passed on even when the value did not change. */
    if (arg->has_max_bandwidth && current.live.max_bandwidth_changed) {
        current.live.max_bandwidth_changed(o->params->max_bandwidth);
    }
    if (arg->has_downtime_limit && current.live.downtime_limit_changed) {
        current.live.downtime_limit_changed(o->params->downtime_limit);
    }
    return true;
}

MigrationParameters *qmp_query_migrate_parameters(TernContext *ctx,
                                                  GError **errp)
{
    MigrationOptions *o = current_options(errp);

    return o ? migration_options_query_params(o) : NULL;
}
