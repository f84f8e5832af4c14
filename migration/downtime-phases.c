/*
 * The downtime's phases (downtime-phases.h), from the marks the migration
 * threads set: consecutive marks, so the source's add up to its downtime.
 */
#include "migration/downtime-phases.h"

#include <glib.h>

XDowntimePhases *downtime_phases_source_info(const DowntimePhases *d, bool paused)
{
    XDowntimePhases *x;

    if (!d->stop || !d->stopped || !d->continued || !d->ram_done || !d->device_done) {
        return NULL;
    }
    x = g_new0(XDowntimePhases, 1);
    x->has_stop = true;
    x->stop = d->stopped - d->stop;
    x->has_pre_switchover = paused;
    x->pre_switchover = d->continued - d->stopped;
    x->has_ram = true;
    x->ram = d->ram_done - d->continued;
    x->has_device = true;
    x->device = d->device_done - d->ram_done;
    return x;
}

XDowntimePhases *downtime_phases_dest_info(const DowntimePhases *d)
{
    XDowntimePhases *x;

    if (!d->load_start || !d->load_eof || !d->resumed) {
        return NULL;
    }
    x = g_new0(XDowntimePhases, 1);
    x->has_load = true;
    x->load = d->load_eof - d->load_start;
    x->has_resume = true;
    x->resume = d->resumed - d->load_eof;
    return x;
}
