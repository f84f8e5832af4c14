/*
 * The HMP shell.
 */
#include "monitor-internal.h"

#include "qemu/error.h"

void monitor_hmp_free(Monitor *mon)
{
    monitor_data_destroy(mon);
    g_free(mon);
}

bool monitor_init_hmp(Chardev *chr, GError **errp)
{
    error_setg(errp, "HMP is not available");
    return false;
}
