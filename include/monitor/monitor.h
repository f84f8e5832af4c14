/*
 * Monitors: QMP servers and HMP shells sitting on chardevs.  The process
 * assembly creates the set of monitors (with the command table and the
 * context every command receives), then one monitor per -qmp / -monitor /
 * -mon option.  Commands find the monitor they run for with monitor_cur().
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "chardev/char.h"
#include "qapi/qmp-registry.h"

#include <stdbool.h>

typedef struct Monitor Monitor;
typedef struct Monitors Monitors;

/*
 * Start-up, main thread, before any monitor: @cmds (borrowed; it must
 * outlive the set) is the table every QMP monitor of the set dispatches
 * to, and @ctx (borrowed, opaque to the monitors) what every QMP and HMP
 * command receives.  Starts the monitor I/O thread and installs the QMP
 * event emitter (one set per process: the emitter is).
 */
Monitors *monitors_new(const QmpCommandList *cmds, TernContext *ctx);

/*
 * Stop the I/O thread and free every monitor of @mons (not the chardevs)
 * and the HMP tables; NULL-safe.  At exit.
 */
void monitors_free(Monitors *mons);

/*
 * A QMP server on @chr: greets every client that connects, negotiates, runs
 * commands (in-band ones in the main loop under the BQL, allow-oob ones
 * at once on the monitor I/O thread) and sends it events.  Main thread.
 */
bool monitor_init_qmp(Monitors *mons, Chardev *chr, GError **errp);

/* An HMP shell on @chr (readline mode: prompt, line editing on a tty). */
bool monitor_init_hmp(Monitors *mons, Chardev *chr, GError **errp);

/*
 * The monitor the calling thread runs a command for, or NULL outside a
 * command (and for commands called directly, e.g. from main()).
 */
Monitor *monitor_cur(void);

bool monitor_is_qmp(const Monitor *mon);

/* The chardev @mon sits on (NULL for human-monitor-command's). */
Chardev *monitor_get_chardev(const Monitor *mon);

/* Print to an HMP monitor ("\n" becomes "\r\n", as QEMU writes it). */
void monitor_printf(Monitor *mon, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void monitor_puts(Monitor *mon, const char *str);

/*
 * Suspend an interactive HMP monitor while a command finishes in the
 * background (QEMU's synchronous "migrate"): it shows no prompt and its input
 * waits until monitor_resume().  @waiter is the main-loop source that will
 * resume it; the monitor keeps a reference and destroys it if the monitor is
 * freed first, so the source may use @mon for as long as it lives.  Returns
 * false (and keeps nothing) for a monitor with no terminal to hold: QMP, and
 * human-monitor-command's.  Main loop, BQL held; not while suspended.
 */
bool monitor_suspend(Monitor *mon, GSource *waiter);

/*
 * Undo monitor_suspend(): drop the monitor's reference to the waiter (which
 * stops itself, e.g. by returning G_SOURCE_REMOVE), show the prompt and run
 * input that arrived meanwhile.  Main loop, BQL held.
 */
void monitor_resume(Monitor *mon);

/*
 * Named file descriptors (getfd / closefd), kept per monitor as QEMU does.
 * monitor_add_fd takes ownership of @fd (replacing an fd of the same name);
 * monitor_get_fd hands the fd named @name over to the caller (it leaves the
 * table), as the fd: migration URI needs.
 */
void monitor_add_fd(Monitor *mon, const char *name, int fd);
bool monitor_close_fd(Monitor *mon, const char *name, GError **errp);
int monitor_get_fd(Monitor *mon, const char *name, GError **errp);

/*
 * An fd parameter as QEMU's monitor_fd_param takes it: a number is used as
 * is, anything else names an fd of the current monitor (taken, as above).
 */
int monitor_fd_param(Monitor *mon, const char *fdname, GError **errp);

#endif
