/*
 * The migration commands of the HMP shell.  Each handler calls the QMP
 * command that does the job and only formats its result in QEMU 9.1's words;
 * the option commands share their parsing with the unit-tested helpers of
 * migration-hmp-options.c.  "migrate" without -d keeps the monitor suspended
 * and shows progress from a main-loop timer until the migration ends.
 */
#include "migration/migration-hmp.h"

#include <inttypes.h>

#include "migration-hmp-options.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"

/* How often a synchronous "migrate" polls query-migrate for its progress. */
#define MIGRATE_POLL_MS 100

/* ---- info migrate ---- */

/*
 * QEMU's "-global migration.*" properties.  tern has no such knobs: these
 * are the values its stream always has (the globalstate section, the
 * configuration section and section footers are always sent).  QEMU's
 * clear-bitmap-shift is left out: tern keeps no clear bitmap.
 */
static void migration_hmp_print_globals(Monitor *mon)
{
    monitor_printf(mon, "globals:\n");
    monitor_printf(mon, "store-global-state: on\n");
    monitor_printf(mon, "only-migratable: off\n");
    monitor_printf(mon, "send-configuration: on\n");
    monitor_printf(mon, "send-section-footer: on\n");
}

static void migration_hmp_print_status(Monitor *mon, const MigrationInfo *info)
{
    monitor_printf(mon, "Migration status: %s",
                   MigrationStatus_str(info->status));
    if (info->status == MIGRATION_STATUS_FAILED && info->error_desc) {
        monitor_printf(mon, " (%s)", info->error_desc);
    }
    monitor_printf(mon, "\n");
    /* QEMU prints the total time even where query-migrate has none (0). */
    monitor_printf(mon, "total time: %" PRIu64 " ms\n",
                   (uint64_t)info->total_time);
    if (info->has_expected_downtime) {
        monitor_printf(mon, "expected downtime: %" PRIu64 " ms\n",
                       (uint64_t)info->expected_downtime);
    }
    if (info->has_downtime) {
        monitor_printf(mon, "downtime: %" PRIu64 " ms\n",
                       (uint64_t)info->downtime);
    }
    if (info->has_setup_time) {
        monitor_printf(mon, "setup: %" PRIu64 " ms\n",
                       (uint64_t)info->setup_time);
    }
}

/* Print "<label>: <n> kbytes" when @bytes is non-zero (QEMU's optional lines). */
static void print_kbytes_if_set(Monitor *mon, const char *label, uint64_t bytes)
{
    if (bytes) {
        monitor_printf(mon, "%s: %" PRIu64 " kbytes\n", label, bytes >> 10);
    }
}

static void migration_hmp_print_ram(Monitor *mon, const MigrationStats *ram)
{
    monitor_printf(mon, "transferred ram: %" PRIu64 " kbytes\n",
                   (uint64_t)ram->transferred >> 10);
    monitor_printf(mon, "throughput: %0.2f mbps\n", ram->mbps);
    monitor_printf(mon, "remaining ram: %" PRIu64 " kbytes\n",
                   (uint64_t)ram->remaining >> 10);
    monitor_printf(mon, "total ram: %" PRIu64 " kbytes\n",
                   (uint64_t)ram->total >> 10);
    monitor_printf(mon, "duplicate: %" PRIu64 " pages\n",
                   (uint64_t)ram->duplicate);
    monitor_printf(mon, "normal: %" PRIu64 " pages\n", (uint64_t)ram->normal);
    monitor_printf(mon, "normal bytes: %" PRIu64 " kbytes\n",
                   (uint64_t)ram->normal_bytes >> 10);
    monitor_printf(mon, "dirty sync count: %" PRIu64 "\n",
                   (uint64_t)ram->dirty_sync_count);
    monitor_printf(mon, "page size: %" PRIu64 " kbytes\n",
                   (uint64_t)ram->page_size >> 10);
    monitor_printf(mon, "multifd bytes: %" PRIu64 " kbytes\n",
                   ram->multifd_bytes >> 10);
    monitor_printf(mon, "pages-per-second: %" PRIu64 "\n",
                   ram->pages_per_second);
    if (ram->dirty_pages_rate) {
        monitor_printf(mon, "dirty pages rate: %" PRIu64 " pages\n",
                       (uint64_t)ram->dirty_pages_rate);
    }
    if (ram->postcopy_requests) {
        monitor_printf(mon, "postcopy request count: %" PRIu64 "\n",
                       (uint64_t)ram->postcopy_requests);
    }
    print_kbytes_if_set(mon, "precopy ram", ram->precopy_bytes);
    print_kbytes_if_set(mon, "downtime ram", ram->downtime_bytes);
    print_kbytes_if_set(mon, "postcopy ram", ram->postcopy_bytes);
    if (ram->dirty_sync_missed_zero_copy) {
        monitor_printf(mon, "Zero-copy-send fallbacks happened: %" PRIu64
                       " times\n", ram->dirty_sync_missed_zero_copy);
    }
}

/* tern's x-multifd-channels: one line per channel after the RAM block. */
static void migration_hmp_print_multifd_channels(Monitor *mon, const MultifdChannelInfoList *l)
{
    for (; l; l = l->next) {
        monitor_printf(mon, "multifd channel %" PRId64 ": %" PRIu64 " kbytes, %" PRIu64
                       " packets\n", l->value->id, l->value->bytes >> 10, l->value->packets);
    }
}

static void migration_hmp_print_xbzrle(Monitor *mon,
                                       const XBZRLECacheStats *x)
{
    monitor_printf(mon, "cache size: %" PRIu64 " bytes\n", x->cache_size);
    monitor_printf(mon, "xbzrle transferred: %" PRIu64 " kbytes\n",
                   (uint64_t)x->bytes >> 10);
    monitor_printf(mon, "xbzrle pages: %" PRIu64 " pages\n",
                   (uint64_t)x->pages);
    monitor_printf(mon, "xbzrle cache miss: %" PRIu64 " pages\n",
                   (uint64_t)x->cache_miss);
    monitor_printf(mon, "xbzrle cache miss rate: %0.2f\n", x->cache_miss_rate);
    monitor_printf(mon, "xbzrle encoding rate: %0.2f\n", x->encoding_rate);
    monitor_printf(mon, "xbzrle overflow: %" PRIu64 "\n",
                   (uint64_t)x->overflow);
}

static void migration_hmp_print_compression(Monitor *mon, const CompressionStats *c)
{
    monitor_printf(mon, "compression pages: %" PRIu64 " pages\n", (uint64_t)c->pages);
    monitor_printf(mon, "compression busy: %" PRIu64 "\n", (uint64_t)c->busy);
    monitor_printf(mon, "compression busy rate: %0.2f\n", c->busy_rate);
    monitor_printf(mon, "compressed size: %" PRIu64 " kbytes\n",
                   (uint64_t)c->compressed_size >> 10);
    monitor_printf(mon, "compression rate: %0.2f\n", c->compression_rate);
}

/* A socket address as a migration URI, the way QEMU's socket_uri() spells it. */
static char *socket_address_uri(const SocketAddress *sa)
{
    switch (sa->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        bool v6 = sa->u.inet.has_ipv6 && sa->u.inet.ipv6;

        return g_strdup_printf("tcp:%s%s%s:%s", v6 ? "[" : "",
                               sa->u.inet.host, v6 ? "]" : "",
                               sa->u.inet.port);
    }
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strdup_printf("unix:%s", sa->u.q_unix.path);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup_printf("fd:%s", sa->u.fd.str);
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return g_strdup_printf("vsock:%s:%s", sa->u.vsock.cid,
                               sa->u.vsock.port);
    default:
        return g_strdup("unknown address type");
    }
}

/* Everything after the RAM and XBZRLE blocks, in QEMU's order. */
static void migration_hmp_print_extra(Monitor *mon, const MigrationInfo *info)
{
    if (info->has_cpu_throttle_percentage) {
        monitor_printf(mon, "cpu throttle percentage: %" PRIu64 "\n",
                       (uint64_t)info->cpu_throttle_percentage);
    }
    if (info->has_dirty_limit_throttle_time_per_round) {
        monitor_printf(mon, "dirty-limit throttle time: %" PRIu64 " us\n",
                       info->dirty_limit_throttle_time_per_round);
    }
    if (info->has_dirty_limit_ring_full_time) {
        monitor_printf(mon, "dirty-limit ring full time: %" PRIu64 " us\n",
                       info->dirty_limit_ring_full_time);
    }
    if (info->has_postcopy_blocktime) {
        monitor_printf(mon, "postcopy blocktime: %u\n",
                       info->postcopy_blocktime);
    }
    if (info->postcopy_vcpu_blocktime) {
        g_autoptr(GString) s = g_string_new(NULL);

        for (const uint32List *l = info->postcopy_vcpu_blocktime; l;
             l = l->next) {
            g_string_append_printf(s, "%s%u", s->len ? "," : "", l->value);
        }
        monitor_printf(mon, "postcopy vcpu blocktime: %s\n", s->str);
    }
    if (info->socket_address) {
        monitor_printf(mon, "socket address: [\n");
        for (const SocketAddressList *l = info->socket_address; l;
             l = l->next) {
            g_autofree char *uri = socket_address_uri(l->value);

            monitor_printf(mon, "\t%s\n", uri);
        }
        monitor_printf(mon, "]\n");
    }
    if (info->vfio) {
        monitor_printf(mon, "vfio device transferred: %" PRIu64 " kbytes\n",
                       (uint64_t)info->vfio->transferred >> 10);
    }
}

/*
 * tern's own lines (x-auto-converge-dirty-limit, x-prediction,
 * x-downtime-phases), after QEMU's: a
 * client that parses QEMU's lines by their labels skips them.
 */
static void migration_hmp_print_prediction(Monitor *mon, const XMigrationPrediction *p)
{
    if (p->converges) {
        monitor_printf(mon, "predicted completion: %" PRId64 " ms (confidence %" PRId64
                       " %%)\n", p->completion_time, p->confidence);
    } else {
        monitor_printf(mon, "predicted completion: none, not converging (confidence %"
                       PRId64 " %%)\n", p->confidence);
    }
    monitor_printf(mon, "predicted downtime: %" PRId64 " ms\n", p->downtime);
    monitor_printf(mon, "predicted from: remaining %" PRIu64 " kbytes, bandwidth %" PRIu64
                   " kbytes/s, dirty rate %" PRIu64 " kbytes/s\n",
                   p->remaining >> 10, p->bandwidth >> 10, p->dirty_rate >> 10);
}

/* One line, the phases present in order, "name N ms" each. */
static void migration_hmp_print_downtime_phases(Monitor *mon, const XDowntimePhases *d)
{
    const struct {
        const char *name;
        bool has;
        int64_t ms;
    } phases[] = {
        { "stop", d->has_stop, d->stop },
        { "pre-switchover", d->has_pre_switchover, d->pre_switchover },
        { "ram", d->has_ram, d->ram },
        { "device", d->has_device, d->device },
        { "load", d->has_load, d->load },
        { "resume", d->has_resume, d->resume },
    };
    const char *sep = "";

    monitor_printf(mon, "downtime phases:");
    for (size_t i = 0; i < G_N_ELEMENTS(phases); i++) {
        if (phases[i].has) {
            monitor_printf(mon, "%s %s %" PRId64 " ms", sep, phases[i].name, phases[i].ms);
            sep = ",";
        }
    }
    monitor_printf(mon, "\n");
}

static void migration_hmp_info_migrate(Monitor *mon, TernContext *ctx,
                                       JsonObject *args)
{
    GError *err = NULL;
    g_autoptr(MigrationInfo) info = qmp_query_migrate(ctx, &err);

    if (!info) {
        hmp_handle_error(mon, err);
        return;
    }
    migration_hmp_print_globals(mon);
    if (info->blocked_reasons) {
        monitor_printf(mon, "Outgoing migration blocked:\n");
        for (const strList *l = info->blocked_reasons; l; l = l->next) {
            monitor_printf(mon, "  %s\n", l->value);
        }
    }
    if (info->has_status) {
        migration_hmp_print_status(mon, info);
    }
    if (info->ram) {
        migration_hmp_print_ram(mon, info->ram);
    }
    migration_hmp_print_multifd_channels(mon, info->x_multifd_channels);
    if (info->xbzrle_cache) {
        migration_hmp_print_xbzrle(mon, info->xbzrle_cache);
    }
    if (info->compression) {
        migration_hmp_print_compression(mon, info->compression);
    }
    migration_hmp_print_extra(mon, info);
    if (info->has_x_auto_converge_dirty_limit) {
        monitor_printf(mon, "auto-converge dirty limit: %" PRIu64 " MB/s per vCPU\n",
                       info->x_auto_converge_dirty_limit);
    }
    if (info->x_prediction) {
        migration_hmp_print_prediction(mon, info->x_prediction);
    }
    if (info->x_downtime_phases) {
        migration_hmp_print_downtime_phases(mon, info->x_downtime_phases);
    }
}

/* ---- migrate: waiting for the end with a progress line ---- */

/* A synchronous migrate's waiter: owned by its timer source. */
typedef struct MigrateWait {
    Monitor *mon;               /* suspended; outlives the source */
    TernContext *ctx;           /* what query-migrate runs in */
    bool progress_shown;        /* a progress line is on screen */
} MigrateWait;

/* Still worth waiting for: QEMU's setup/active, plus the moments that pass by
 * themselves (cancelling, device).  pre-switchover ends the wait, so that
 * the prompt comes back for migrate_continue. */
static bool migration_hmp_keep_waiting(const MigrationInfo *info)
{
    if (!info->has_status) {
        return true;
    }
    switch (info->status) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_CANCELLING:
    case MIGRATION_STATUS_DEVICE:
        return true;
    default:
        return false;
    }
}

/*
 * "Completed 42 %, transferred 6144 kbytes, remaining 8192 kbytes,
 * throughput 268.44 mbps", redrawn in place: \r goes back to the start of
 * the line and ESC [ K clears what a longer previous line left behind.
 */
static void migration_hmp_print_progress(MigrateWait *w,
                                         const MigrationStats *ram)
{
    uint64_t total = ram->total;
    uint64_t remaining = MIN((uint64_t)ram->remaining, total);
    unsigned percent = total ? (unsigned)((total - remaining) * 100 / total)
                             : 100;

    monitor_printf(w->mon, "\rCompleted %u %%, transferred %" PRIu64
                   " kbytes, remaining %" PRIu64 " kbytes, throughput "
                   "%0.2f mbps\033[K", percent,
                   (uint64_t)ram->transferred >> 10, remaining >> 10,
                   ram->mbps);
    w->progress_shown = true;
}

static void migration_hmp_print_outcome(Monitor *mon, const MigrationInfo *info)
{
    MigrationStatus st = info->has_status ? info->status
                                          : MIGRATION_STATUS_NONE;

    switch (st) {
    case MIGRATION_STATUS_COMPLETED:
        monitor_printf(mon, "migration completed\n");
        break;
    case MIGRATION_STATUS_FAILED:
        if (info->error_desc) {
            monitor_printf(mon, "migration failed: %s\n", info->error_desc);
        } else {
            monitor_printf(mon, "migration failed\n");
        }
        break;
    case MIGRATION_STATUS_CANCELLED:
        monitor_printf(mon, "migration cancelled\n");
        break;
    default:
        monitor_printf(mon, "Migration status: %s\n", MigrationStatus_str(st));
        break;
    }
}

/* Timer, main loop, BQL held: redraw the progress, or finish and resume. */
static gboolean migration_hmp_migrate_poll(gpointer opaque)
{
    MigrateWait *w = opaque;
    g_autoptr(MigrationInfo) info = qmp_query_migrate(w->ctx, NULL);

    if (info && migration_hmp_keep_waiting(info)) {
        if (info->ram) {
            migration_hmp_print_progress(w, info->ram);
        }
        return G_SOURCE_CONTINUE;
    }
    if (info && info->ram) {
        migration_hmp_print_progress(w, info->ram);
    }
    if (w->progress_shown) {
        monitor_printf(w->mon, "\n");
    }
    if (info) {
        migration_hmp_print_outcome(w->mon, info);
    }
    monitor_resume(w->mon);
    return G_SOURCE_REMOVE;
}

static void migration_hmp_migrate(Monitor *mon, TernContext *ctx,
                                  JsonObject *args)
{
    GError *err = NULL;
    g_autoptr(GSource) timer = NULL;
    MigrateWait *w;

    if (!qmp_migrate(ctx, hmp_arg_str(args, "uri"), NULL, false, false, true,
                     hmp_arg_bool(args, "resume"), &err)) {
        hmp_handle_error(mon, err);
        return;
    }
    if (hmp_arg_bool(args, "detach")) {
        return;
    }
    timer = g_timeout_source_new(MIGRATE_POLL_MS);
    if (!monitor_suspend(mon, timer)) {
        monitor_printf(mon, "terminal does not allow synchronous migration, "
                       "continuing detached\n");
        return;
    }
    w = g_new0(MigrateWait, 1);
    w->mon = mon;
    w->ctx = ctx;
    g_source_set_callback(timer, migration_hmp_migrate_poll, w, g_free);
    g_source_attach(timer, NULL);
}

/* ---- the other commands ---- */

static void migration_hmp_migrate_incoming(Monitor *mon, TernContext *ctx,
                                           JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_migrate_incoming(ctx, hmp_arg_str(args, "uri"), NULL, false,
                              false, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void migration_hmp_migrate_cancel(Monitor *mon, TernContext *ctx,
                                         JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_migrate_cancel(ctx, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void migration_hmp_migrate_continue(Monitor *mon, TernContext *ctx,
                                           JsonObject *args)
{
    GError *err = NULL;
    int state = qapi_enum_parse(&MigrationStatus_lookup,
                                hmp_arg_str(args, "state"), -1, &err);

    if (state < 0 || !qmp_migrate_continue(ctx, state, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void migration_hmp_migrate_start_postcopy(Monitor *mon, TernContext *ctx,
                                                 JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_migrate_start_postcopy(ctx, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void migration_hmp_migrate_pause(Monitor *mon, TernContext *ctx,
                                        JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_migrate_pause(ctx, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void migration_hmp_migrate_recover(Monitor *mon, TernContext *ctx,
                                          JsonObject *args)
{
    GError *err = NULL;

    if (!qmp_migrate_recover(ctx, hmp_arg_str(args, "uri"), &err)) {
        hmp_handle_error(mon, err);
    }
}

/* Print what an options helper produced, or its error. */
static void migration_hmp_finish(Monitor *mon, bool ok, GString *out,
                                 GError *err)
{
    if (!ok) {
        hmp_handle_error(mon, err);
    } else if (out) {
        monitor_puts(mon, out->str);
    }
}

static void migration_hmp_info_capabilities(Monitor *mon, TernContext *ctx,
                                            JsonObject *args)
{
    g_autoptr(GString) out = g_string_new(NULL);
    GError *err = NULL;
    bool ok = hmp_info_migrate_capabilities(ctx, out, &err);

    migration_hmp_finish(mon, ok, out, err);
}

static void migration_hmp_info_parameters(Monitor *mon, TernContext *ctx,
                                          JsonObject *args)
{
    g_autoptr(GString) out = g_string_new(NULL);
    GError *err = NULL;
    bool ok = hmp_info_migrate_parameters(ctx, out, &err);

    migration_hmp_finish(mon, ok, out, err);
}

static void migration_hmp_set_capability(Monitor *mon, TernContext *ctx,
                                         JsonObject *args)
{
    GError *err = NULL;
    bool ok = hmp_migrate_set_capability(ctx, hmp_arg_str(args, "capability"),
                                         hmp_arg_bool(args, "state"), &err);

    migration_hmp_finish(mon, ok, NULL, err);
}

static void migration_hmp_set_parameter(Monitor *mon, TernContext *ctx,
                                        JsonObject *args)
{
    GError *err = NULL;
    bool ok = hmp_migrate_set_parameter(ctx, hmp_arg_str(args, "parameter"),
                                        hmp_arg_str(args, "value"), &err);

    migration_hmp_finish(mon, ok, NULL, err);
}

/* Names, arguments and help texts as in QEMU 9.1's hmp-commands*.hx. */
static const HMPCommand migration_cmds[] = {
    { "migrate", "detach:-d,resume:-r,uri:s", "[-d] [-r] uri",
      "migrate to URI (using -d to not wait for completion, "
      "-r to resume a paused postcopy migration)", migration_hmp_migrate },
    { "migrate_cancel", "", "", "cancel the current VM migration",
      migration_hmp_migrate_cancel },
    { "migrate_continue", "state:s", "state",
      "Continue migration from the given paused state",
      migration_hmp_migrate_continue },
    { "migrate_incoming", "uri:s", "uri",
      "Continue an incoming migration from an -incoming defer",
      migration_hmp_migrate_incoming },
    { "migrate_set_capability", "capability:s,state:b", "capability state",
      "Enable/Disable the usage of a capability for migration",
      migration_hmp_set_capability },
    { "migrate_set_parameter", "parameter:s,value:s", "parameter value",
      "Set the parameter for migration", migration_hmp_set_parameter },
    { "migrate_start_postcopy", "", "",
      "Followup to a migration command to switch the migration to postcopy mode. "
      "The postcopy-ram capability must be set on both source and destination "
      "before the original migration command .",
      migration_hmp_migrate_start_postcopy },
    { "migrate_pause", "", "", "Pause an ongoing migration (postcopy-only)",
      migration_hmp_migrate_pause },
    { "migrate_recover", "uri:s", "uri", "Continue a paused incoming postcopy migration",
      migration_hmp_migrate_recover },
};

static const HMPCommand migration_info_cmds[] = {
    { "migrate", "", "", "show migration status", migration_hmp_info_migrate },
    { "migrate_capabilities", "", "", "show current migration capabilities",
      migration_hmp_info_capabilities },
    { "migrate_parameters", "", "", "show current migration parameters",
      migration_hmp_info_parameters },
};

void migration_hmp_register(void)
{
    hmp_register_commands(migration_cmds, G_N_ELEMENTS(migration_cmds));
    hmp_register_info_commands(migration_info_cmds,
                               G_N_ELEMENTS(migration_info_cmds));
}
