/*
 * Starting and stopping the monitor subsystem: the command table, the
 * monitor I/O thread and the QMP event emitter, and at exit every monitor of
 * either kind.  It sits above monitor.c, qmp.c and hmp.c, which it ties.
 */
#include "monitor-internal.h"

#include "monitor/hmp.h"
#include "qapi/qmp-event.h"

#include <string.h>

static gpointer monitor_io_thread_run(gpointer opaque)
{
    g_main_context_push_thread_default(monitor_globals.io_ctx);
    g_main_loop_run(monitor_globals.io_loop);
    g_main_context_pop_thread_default(monitor_globals.io_ctx);
    return NULL;
}

void monitor_init_globals(const QmpCommandList *cmds)
{
    const QmpCommand *cap;

    g_assert(!monitor_globals.cmds);
    monitor_globals.cmds = cmds;
    monitor_globals.cap_cmds = qmp_command_list_new();
    cap = qmp_find_command(cmds, "qmp_capabilities");
    if (cap) {
        qmp_register_command(monitor_globals.cap_cmds, cap->name, cap->fn,
                             cap->options);
    }
    qemu_mutex_init(&monitor_globals.lock);
    monitor_globals.io_ctx = g_main_context_new();
    monitor_globals.io_loop = g_main_loop_new(monitor_globals.io_ctx, FALSE);
    monitor_globals.io_thread = g_thread_new("mon-iothread",
                                             monitor_io_thread_run, NULL);
    qapi_event_set_emitter(monitor_qmp_emit_event, NULL);
}

static gboolean monitor_io_thread_quit(gpointer opaque)
{
    g_main_loop_quit(monitor_globals.io_loop);
    return G_SOURCE_REMOVE;
}

void monitor_cleanup(void)
{
    GList *monitors;

    if (!monitor_globals.cmds) {
        return;
    }
    qapi_event_set_emitter(NULL, NULL);

    /* Detach every chardev first, so no handler runs while we free. */
    qemu_mutex_lock(&monitor_globals.lock);
    monitors = g_steal_pointer(&monitor_globals.monitors);
    if (monitor_globals.dispatch_src) {
        g_source_destroy(monitor_globals.dispatch_src);
        g_clear_pointer(&monitor_globals.dispatch_src, g_source_unref);
    }
    qemu_mutex_unlock(&monitor_globals.lock);
    for (GList *l = monitors; l; l = l->next) {
        Monitor *mon = l->data;

        if (mon->chr) {
            qemu_chr_set_handlers(mon->chr, NULL, NULL, NULL);
        }
    }

    g_main_context_invoke(monitor_globals.io_ctx, monitor_io_thread_quit,
                          NULL);
    g_thread_join(monitor_globals.io_thread);
    g_main_loop_unref(monitor_globals.io_loop);
    g_main_context_unref(monitor_globals.io_ctx);

    for (GList *l = monitors; l; l = l->next) {
        Monitor *mon = l->data;

        if (mon->is_qmp) {
            monitor_qmp_free((MonitorQMP *)mon);
        } else {
            monitor_hmp_free(mon);
        }
    }
    g_list_free(monitors);
    hmp_unregister_all();
    qmp_command_list_free(monitor_globals.cap_cmds);
    qemu_mutex_destroy(&monitor_globals.lock);
    memset(&monitor_globals, 0, sizeof(monitor_globals));
}
