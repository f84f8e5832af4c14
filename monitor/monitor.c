/*
 * What all monitors share: their set (command table, the monitor I/O
 * thread, the list of monitors), the current monitor of a thread, output,
 * and the named file descriptors of getfd / closefd.
 */
#include "monitor-internal.h"

#include "monitor/hmp.h"
#include "qapi/qmp-event.h"
#include "qemu/error.h"

#include <stdlib.h>
#include <unistd.h>

/*
 * The monitor a command runs for, per thread: set around each dispatch (main
 * loop for in-band commands, the I/O thread for out-of-band ones).
 */
static __thread Monitor *monitor_current;

Monitor *monitor_cur(void)
{
    return monitor_current;
}

Monitor *monitor_set_cur(Monitor *mon)
{
    Monitor *prev = monitor_current;

    monitor_current = mon;
    return prev;
}

bool monitor_is_qmp(const Monitor *mon)
{
    return mon->is_qmp;
}

Chardev *monitor_get_chardev(const Monitor *mon)
{
    return mon->chr;
}

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

void monitor_list_append(Monitor *mon)
{
    Monitors *mons = mon->owner;

    qemu_mutex_lock(&mons->lock);
    mons->monitors = g_list_append(mons->monitors, mon);
    qemu_mutex_unlock(&mons->lock);
}

static void monitor_fd_free(gpointer p)
{
    close(*(int *)p);
    g_free(p);
}

void monitor_data_init(Monitor *mon, Monitors *owner, Chardev *chr,
                       bool is_qmp)
{
    mon->owner = owner;
    mon->ctx = owner ? owner->ctx : NULL;
    mon->chr = chr;
    mon->is_qmp = is_qmp;
    qemu_mutex_init(&mon->fds_lock);
    mon->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     monitor_fd_free);
}

void monitor_data_destroy(Monitor *mon)
{
    g_hash_table_destroy(mon->fds);
    qemu_mutex_destroy(&mon->fds_lock);
    if (mon->outbuf) {
        g_string_free(mon->outbuf, TRUE);
    }
}

void monitor_write(Monitor *mon, const char *buf, size_t len)
{
    if (mon->outbuf) {
        g_string_append_len(mon->outbuf, buf, len);
    } else if (mon->chr) {
        qemu_chr_write_all(mon->chr, (const uint8_t *)buf, len);
    }
}

void monitor_puts(Monitor *mon, const char *str)
{
    g_autoptr(GString) out = g_string_sized_new(strlen(str) + 16);

    for (const char *p = str; *p; p++) {
        if (*p == '\n') {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    monitor_write(mon, out->str, out->len);
}

void monitor_printf(Monitor *mon, const char *fmt, ...)
{
    g_autofree char *str = NULL;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    monitor_puts(mon, str);
}

void monitor_add_fd(Monitor *mon, const char *name, int fd)
{
    int *boxed = g_new(int, 1);

    *boxed = fd;
    qemu_mutex_lock(&mon->fds_lock);
    g_hash_table_replace(mon->fds, g_strdup(name), boxed);
    qemu_mutex_unlock(&mon->fds_lock);
}

bool monitor_close_fd(Monitor *mon, const char *name, GError **errp)
{
    bool found;

    qemu_mutex_lock(&mon->fds_lock);
    found = g_hash_table_remove(mon->fds, name);
    qemu_mutex_unlock(&mon->fds_lock);
    if (!found) {
        error_setg(errp, "File descriptor named '%s' not found", name);
    }
    return found;
}

int monitor_get_fd(Monitor *mon, const char *name, GError **errp)
{
    g_autofree char *key = NULL;
    g_autofree int *boxed = NULL;

    qemu_mutex_lock(&mon->fds_lock);
    g_hash_table_steal_extended(mon->fds, name, (gpointer *)&key,
                                (gpointer *)&boxed);
    qemu_mutex_unlock(&mon->fds_lock);
    if (!boxed) {
        error_setg(errp, "File descriptor named '%s' has not been found",
                   name);
        return -1;
    }
    return *boxed;
}

int monitor_fd_param(Monitor *mon, const char *fdname, GError **errp)
{
    char *end;
    long fd;

    if (g_ascii_isdigit(fdname[0])) {
        fd = strtol(fdname, &end, 10);
        if (*end || fd < 0 || fd > G_MAXINT) {
            error_setg(errp, "Invalid file descriptor number '%s'", fdname);
            return -1;
        }
        return fd;
    }
    if (!mon) {
        error_setg(errp, "No monitor to look up file descriptor '%s' in",
                   fdname);
        return -1;
    }
    return monitor_get_fd(mon, fdname, errp);
}
