/*
 * The monitor's face of the dirty rate measurement (dirty-rate.h):
 * calc-dirty-rate and query-dirty-rate, HMP calc_dirty_rate and
 * info dirty_rate with QEMU's texts.  Main loop, BQL held.
 */
#include "migration/migration-hmp.h"
#include "migration/misc.h"

#include <inttypes.h>

#include "dirty-rate.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"
#include "sysemu/context.h"

bool qmp_calc_dirty_rate(TernContext *ctx, int64_t calc_time,
                         bool has_calc_time_unit, TimeUnit calc_time_unit,
                         bool has_sample_pages, int64_t sample_pages,
                         bool has_mode, DirtyRateMeasureMode mode, GError **errp)
{
    return dirty_rate_calc(ctx->migration->dirty_rate, calc_time,
                           has_calc_time_unit, calc_time_unit,
                           has_sample_pages, sample_pages, has_mode, mode, errp);
}

DirtyRateInfo *qmp_query_dirty_rate(TernContext *ctx, bool has_calc_time_unit,
                                    TimeUnit calc_time_unit, GError **errp)
{
    return dirty_rate_query(ctx->migration->dirty_rate,
                            has_calc_time_unit ? calc_time_unit : TIME_UNIT_SECOND);
}

static void dirty_rate_hmp_calc(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    bool ring = hmp_arg_bool(args, "dirty_ring");
    bool bitmap = hmp_arg_bool(args, "dirty_bitmap");
    int64_t sec = hmp_arg_int(args, "second", 0);
    int64_t sample_pages = hmp_arg_int(args, "sample_pages_per_GB", -1);
    DirtyRateMeasureMode mode = ring ? DIRTY_RATE_MEASURE_MODE_DIRTY_RING :
                                bitmap ? DIRTY_RATE_MEASURE_MODE_DIRTY_BITMAP :
                                DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING;
    GError *err = NULL;

    if (!sec) {
        monitor_printf(mon, "Incorrect period length specified!\n");
        return;
    }
    if (ring && bitmap) {
        monitor_printf(mon, "Either dirty ring or dirty bitmap can be specified!\n");
        return;
    }
    /* As QEMU: a sample count given with -b is ignored, not refused. */
    if (!qmp_calc_dirty_rate(ctx, sec, true, TIME_UNIT_SECOND,
                             !bitmap && sample_pages != -1, sample_pages,
                             true, mode, &err)) {
        hmp_handle_error(mon, err);
        return;
    }
    monitor_printf(mon, "Starting dirty rate measurement with period %" PRIi64
                   " seconds\n", sec);
    monitor_printf(mon, "[Please use 'info dirty_rate' to check results]\n");
}

static void dirty_rate_hmp_info(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    g_autoptr(DirtyRateInfo) info = qmp_query_dirty_rate(ctx, false, 0, NULL);

    monitor_printf(mon, "Status: %s\n", DirtyRateStatus_str(info->status));
    /* The label says ms, the value is seconds: QEMU's text. */
    monitor_printf(mon, "Start Time: %" PRIi64 " (ms)\n", info->start_time);
    if (info->mode == DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING) {
        monitor_printf(mon, "Sample Pages: %" PRIu64 " (per GB)\n", info->sample_pages);
    }
    monitor_printf(mon, "Period: %" PRIi64 " (sec)\n", info->calc_time);
    monitor_printf(mon, "Mode: %s\n", DirtyRateMeasureMode_str(info->mode));
    monitor_printf(mon, "Dirty rate: ");
    if (info->has_dirty_rate) {
        monitor_printf(mon, "%" PRIi64 " (MB/s)\n", info->dirty_rate);
    } else {
        monitor_printf(mon, "(not ready)\n");
    }
}

static const HMPCommand dirty_rate_cmds[] = {
    { "calc_dirty_rate",
      "dirty_ring:-r,dirty_bitmap:-b,second:i,sample_pages_per_GB:i?",
      "[-r] [-b] second [sample_pages_per_GB]",
      "start a round of guest dirty rate measurement (using -r to"
      "\n\t\t\t specify dirty ring as the method of calculation and"
      "\n\t\t\t -b to specify dirty bitmap as method of calculation)",
      dirty_rate_hmp_calc },
};

static const HMPCommand dirty_rate_info_cmds[] = {
    { "dirty_rate", "", "", "show dirty rate information", dirty_rate_hmp_info },
};

void dirty_rate_hmp_register(void)
{
    hmp_register_commands(dirty_rate_cmds, G_N_ELEMENTS(dirty_rate_cmds));
    hmp_register_info_commands(dirty_rate_info_cmds,
                               G_N_ELEMENTS(dirty_rate_info_cmds));
}
