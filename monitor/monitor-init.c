/*
 * Creating and freeing the set of monitors: the command table, the monitor
 * I/O thread and the QMP event emitter, and at the end every monitor of
 * either kind.  It sits above monitor.c, qmp.c and hmp.c, which it ties.
 */
#include "monitor-internal.h"

#include "monitor/hmp.h"
#include "qapi/qmp-event.h"

#include <string.h>

static gpointer monitor_io_thread_run(gpointer opaque)
{
    Monitors *mons = opaque;

    g_main_context_push_thread_default(mons->io_ctx);
    g_main_loop_run(mons->io_loop);
    g_main_context_pop_thread_default(mons->io_ctx);
    return NULL;
}

Monitors *monitors_new(const QmpCommandList *cmds, TernContext *ctx)
{
    Monitors *mons = g_new0(Monitors, 1);
    const QmpCommand *cap;

    mons->cmds = cmds;
    mons->ctx = ctx;
    mons->cap_cmds = qmp_command_list_new();
    cap = qmp_find_command(cmds, "qmp_capabilities");
    if (cap) {
        qmp_register_command(mons->cap_cmds, cap->name, cap->fn,
                             cap->options);
    }
    qemu_mutex_init(&mons->lock);
    mons->io_ctx = g_main_context_new();
    mons->io_loop = g_main_loop_new(mons->io_ctx, FALSE);
    mons->io_thread = g_thread_new("mon-iothread", monitor_io_thread_run,
                                   mons);
    qapi_event_set_emitter(monitor_qmp_emit_event, mons);
    return mons;
}

static gboolean monitor_io_thread_quit(gpointer opaque)
{
    Monitors *mons = opaque;

    g_main_loop_quit(mons->io_loop);
    return G_SOURCE_REMOVE;
}

void monitors_free(Monitors *mons)
{
    GList *monitors;

    if (!mons) {
        return;
    }
    qapi_event_set_emitter(NULL, NULL);

    /* Detach every chardev first, so no handler runs while we free. */
    qemu_mutex_lock(&mons->lock);
    monitors = g_steal_pointer(&mons->monitors);
    if (mons->dispatch_src) {
        g_source_destroy(mons->dispatch_src);
        g_clear_pointer(&mons->dispatch_src, g_source_unref);
    }
    qemu_mutex_unlock(&mons->lock);
    for (GList *l = monitors; l; l = l->next) {
        Monitor *mon = l->data;

        if (mon->chr) {
            qemu_chr_set_handlers(mon->chr, NULL, NULL, NULL);
        }
    }

    g_main_context_invoke(mons->io_ctx, monitor_io_thread_quit, mons);
    g_thread_join(mons->io_thread);
    g_main_loop_unref(mons->io_loop);
    g_main_context_unref(mons->io_ctx);

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
    qmp_command_list_free(mons->cap_cmds);
    qemu_mutex_destroy(&mons->lock);
    g_free(mons);
}
