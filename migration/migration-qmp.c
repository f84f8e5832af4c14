/*
 * The QMP face of migration: migrate, migrate-incoming, migrate_cancel,
 * migrate-continue, query-migrate.  Handlers run in the main loop with the
 * BQL held and never wait for the stream.  This file is the only one that
 * reaches the process's migration objects through the pointers saved at
 * start-up; everything else gets them passed.
 */
#include "migration/migration.h"
#include "migration/transport.h"
#include "qapi/qapi-clone.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/runstate.h"

/* Set once by migration_object_init() before any monitor runs. */
static MigrationState *current_migration;
static MigrationIncomingState *current_incoming;

void migration_object_init(MigrationState *s, MigrationIncomingState *mis)
{
    current_migration = s;
    current_incoming = mis;
}

MigrationState *migration_current(void)
{
    return current_migration;
}

MigrationIncomingState *migration_incoming_current(void)
{
    return current_incoming;
}

/*
 * The address of a migrate / migrate-incoming command: a URI or a channel
 * list.  fd: names are still names: they are taken from the monitor only
 * once the command is known to go ahead.
 */
static MigrationAddress *migration_parse_target(const char *uri,
                                                MigrationChannelList *channels,
                                                GError **errp)
{
    if (!uri == !channels) {
        error_setg(errp, "need either 'uri' or 'channels' argument");
        return NULL;
    }
    return uri ? migration_uri_parse(uri, errp)
               : migration_channels_parse(channels, errp);
}

bool qmp_migrate(TernContext *ctx, const char *uri,
                 MigrationChannelList *channels, bool has_detach, bool detach,
                 bool has_resume, bool resume, GError **errp)
{
    MigrationAddress *addr;

    if (has_resume && resume) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return false;
    }
    addr = migration_parse_target(uri, channels, errp);
    return addr && migration_start(current_migration, addr, errp);
}

bool qmp_migrate_incoming(TernContext *ctx, const char *uri,
                          MigrationChannelList *channels,
                          bool has_exit_on_error, bool exit_on_error,
                          GError **errp)
{
    MigrationIncomingState *mis = current_incoming;
    MigrationAddress *addr;

    /* In QEMU's order: -incoming URI counts as the one start. */
    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (!mis->deferred) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return false;
    }
    addr = migration_parse_target(uri, channels, errp);
    if (addr && !transport_prepare(addr, errp)) {
        qapi_free_MigrationAddress(addr);
        return false;
    }
    return addr && migration_incoming_start(mis, addr,
                                            has_exit_on_error ? exit_on_error : true,
                                            errp);
}

bool qmp_migrate_cancel(TernContext *ctx, GError **errp)
{
    migration_cancel(current_migration);
    return true;
}

bool qmp_migrate_continue(TernContext *ctx, MigrationStatus state,
                          GError **errp)
{
    return migration_continue(current_migration, state, errp);
}

MigrationInfo *qmp_query_migrate(TernContext *ctx, GError **errp)
{
    MigrationInfo *info = migration_source_info(current_migration);

    /* A process is a source or a destination; show whichever has begun. */
    if (!info->has_status) {
        migration_incoming_info(current_incoming, info);
    }
    return info;
}
