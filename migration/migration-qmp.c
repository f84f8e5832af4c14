/*
 * The monitor's and the command line's face of migration: migrate,
 * migrate-incoming, migrate_cancel, migrate-continue, query-migrate, and
 * -incoming.  Handlers run in the main loop with the BQL held, reach the
 * migration states through the context they receive and never wait for
 * the stream.  This is where fd:NAME becomes an fd number: the name belongs
 * to the monitor the command runs for, which the transport never sees.
 */
#include "migration/misc.h"

#include "migration/migration.h"
#include "postcopy-source.h"
#include "postcopy-recover.h"
#include "qemu/main-loop.h"
#include "migration/cpr.h"
#include "qapi/qapi-clone.h"
#include "transport.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/context.h"

/*
 * The address of a migrate / migrate-incoming command: a URI or a channel
 * list.  fd: names are still names here.
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

/*
 * fd:NAME: take the fd the client passed with getfd from @mon (it leaves
 * the monitor's table, as in QEMU) and put its number in @addr.  @mon is
 * NULL on the command line, which has no monitor to look names up in: an
 * error.  fd:N and the other transports are left as they are.
 */
static bool migration_take_named_fd(MigrationAddress *addr, Monitor *mon,
                                    GError **errp)
{
    char **name;
    int fd;

    if (addr->transport != MIGRATION_ADDRESS_TYPE_SOCKET ||
        addr->u.socket.type != SOCKET_ADDRESS_TYPE_FD) {
        return true;
    }
    name = &addr->u.socket.u.fd.str;
    if (g_ascii_isdigit((*name)[0])) {
        return true;            /* an fd number inherited from the parent */
    }
    fd = monitor_fd_param(mon, *name, errp);
    if (fd < 0) {
        return false;
    }
    g_free(*name);
    *name = g_strdup_printf("%d", fd);
    return true;
}

bool qmp_migrate(TernContext *ctx, const char *uri,
                 MigrationChannelList *channels, bool has_detach, bool detach,
                 bool has_resume, bool resume, GError **errp)
{
    MigrationState *s = ctx->migration->out;
    MigrationAddress *addr;
    MigrationAddress *cpr;

    addr = migration_parse_target(uri, channels, errp);
    if (!addr) {
        return false;
    }
    if (has_resume && resume) {
        if (!migration_take_named_fd(addr, monitor_cur(), errp)) {
            qapi_free_MigrationAddress(addr);
            return false;
        }
        return postcopy_recover_source_resume(s, addr, errp);
    }
    if (!cpr_channel_find(channels, &cpr, errp)) {
        qapi_free_MigrationAddress(addr);
        return false;
    }
    /* Refused: a named fd stays with the monitor, as in QEMU. */
    if (!migration_can_start(s, errp) ||
        !migration_take_named_fd(addr, monitor_cur(), errp)) {
        qapi_free_MigrationAddress(addr);
        return false;
    }
    return migration_start_cpr(s, addr, cpr ? QAPI_CLONE(MigrationAddress, cpr) : NULL,
                               errp);
}

bool qmp_migrate_incoming(TernContext *ctx, const char *uri,
                          MigrationChannelList *channels,
                          bool has_exit_on_error, bool exit_on_error,
                          GError **errp)
{
    MigrationIncomingState *mis = ctx->migration->in;
    /*
     * tern's addition: a failed load that never ran the guest leaves a
     * process that can take a new stream (QEMU allows one start only).
     */
    bool restart = migration_incoming_may_restart(mis);
    MigrationAddress *addr;

    /* In QEMU's order: -incoming URI counts as the one start. */
    if (mis->started && !restart) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (!mis->deferred) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return false;
    }
    addr = migration_parse_target(uri, channels, errp);
    if (addr && !migration_take_named_fd(addr, monitor_cur(), errp)) {
        qapi_free_MigrationAddress(addr);
        return false;
    }
    /* The failed load's state goes only for a start that can be tried. */
    if (addr && restart) {
        g_ptr_array_add(ctx->migration->in_retired, mis);
        mis = migration_incoming_renew(mis);
        g_atomic_pointer_set(&ctx->migration->in, mis);
    }
    return addr && migration_incoming_start(mis, addr,
                                            has_exit_on_error ? exit_on_error : true,
                                            errp);
}

bool migration_incoming_setup(MigrationObjects *o, const char *uri,
                              const MigrationAddress *channel, GError **errp)
{
    MigrationAddress *addr;

    if (uri && g_str_equal(uri, "defer")) {
        o->in->deferred = true;
        return true;
    }
    if (!uri) {
        uri = "(main channel)";
        addr = QAPI_CLONE(MigrationAddress, channel);
    } else {
        addr = migration_uri_parse(uri, errp);
    }
    /* No monitor yet: -incoming fd:NAME fails, fd:N is fine. */
    if (!addr || !migration_take_named_fd(addr, NULL, errp)) {
        qapi_free_MigrationAddress(addr);
        error_prepend(errp, "-incoming %s: ", uri);
        return false;
    }
    return migration_incoming_start(o->in, addr, true, errp);
}

bool qmp_migrate_cancel(TernContext *ctx, GError **errp)
{
    if (!postcopy_source_may_cancel(ctx->migration->out, errp)) {
        return false;
    }
    migration_cancel(ctx->migration->out);
    return true;
}

bool qmp_migrate_continue(TernContext *ctx, MigrationStatus state,
                          GError **errp)
{
    return migration_continue(ctx->migration->out, state, errp);
}

/* Out of band (no BQL): the source if its postcopy runs, else the destination. */
bool qmp_migrate_pause(TernContext *ctx, GError **errp)
{
    if (postcopy_recover_source_pause_request(ctx->migration->out, errp) ||
        postcopy_recover_dst_pause_request(g_atomic_pointer_get(&ctx->migration->in), errp)) {
        return true;
    }
    error_setg(errp, "migrate-pause is currently only supported during postcopy-active "
               "or postcopy-recover state");
    return false;
}

/*
 * Out of band too, but it sets up a listener in the main loop: it takes
 * the BQL when the monitor's I/O thread runs it.
 */
bool qmp_migrate_recover(TernContext *ctx, const char *uri, GError **errp)
{
    MigrationIncomingState *mis = ctx->migration->in;
    bool locked = bql_locked();
    MigrationAddress *addr;
    bool ok = false;

    if (!locked) {
        bql_lock();
    }
    if (g_atomic_int_get(&mis->state) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy is paused.");
    } else if ((addr = migration_uri_parse(uri, errp)) &&
               migration_take_named_fd(addr, monitor_cur(), errp)) {
        ok = postcopy_recover_dst_listen(mis, addr, errp);
    } else {
        qapi_free_MigrationAddress(addr);
    }
    if (!locked) {
        bql_unlock();
    }
    return ok;
}

bool qmp_migrate_start_postcopy(TernContext *ctx, GError **errp)
{
    return postcopy_source_request(ctx->migration->out, errp);
}

MigrationInfo *qmp_query_migrate(TernContext *ctx, GError **errp)
{
    MigrationInfo *info = migration_source_info(ctx->migration->out);

    /* A process is a source or a destination; show whichever has begun. */
    if (!info->has_status) {
        migration_incoming_info(ctx->migration->in, info);
    }
    return info;
}
