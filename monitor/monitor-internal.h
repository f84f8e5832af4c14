/*
 * What the monitor files share: the Monitor base, the QMP and HMP monitors,
 * and the set they belong to (command table, I/O thread, list).
 */
#ifndef MONITOR_MONITOR_INTERNAL_H
#define MONITOR_MONITOR_INTERNAL_H

#include "monitor/monitor.h"
#include "chardev/char-backend.h"
#include "json-stream.h"
#include "qemu/thread.h"

/* The QEMU release whose QMP tern speaks, reported by the greeting. */
#define QMP_QEMU_MAJOR 9
#define QMP_QEMU_MINOR 1
#define QMP_QEMU_MICRO 0

/* In-band requests a client may have queued before we stop reading it. */
#define QMP_REQ_QUEUE_LEN_MAX 8

struct Monitor {
    Monitors *owner;            /* NULL for human-monitor-command's */
    TernContext *ctx;           /* what its commands receive; opaque here */
    Chardev *chr;               /* NULL: output goes to @outbuf */
    bool is_qmp;
    GString *outbuf;            /* human-monitor-command's captured output */

    QemuMutex fds_lock;            /* protects @fds */
    GHashTable *fds;            /* name -> int* (owned fd) */
};

typedef struct MonitorQMP {
    Monitor common;
    JsonStream *parser;         /* I/O thread only */

    /* Read and written from several threads: g_atomic_int_*. */
    gint negotiated;            /* qmp_capabilities done for this client */
    gint oob_enabled;
    gint generation;            /* changes with every connect / disconnect */

    QemuMutex queue_lock;          /* protects the two below */
    GQueue *requests;           /* QmpRequest, in arrival order */
    bool paused;                /* we asked the chardev to stop reading */
} MonitorQMP;

/*
 * The monitors of a process, created by monitors_new() and freed by
 * monitors_free().  @cmds, @ctx and @cap_cmds are read-only after creation;
 * @lock protects the list and the dispatcher source.
 */
struct Monitors {
    const QmpCommandList *cmds;
    TernContext *ctx;           /* what every command receives; opaque here */
    QmpCommandList *cap_cmds;   /* negotiation mode: qmp_capabilities only */

    GThread *io_thread;
    GMainContext *io_ctx;
    GMainLoop *io_loop;

    QemuMutex lock;
    GList *monitors;            /* Monitor*, round-robin order for dispatch */
    GSource *dispatch_src;      /* in-band dispatcher idle, when scheduled */
};

/* @owner may be NULL (a monitor of its own); @mon->ctx is then NULL too. */
void monitor_data_init(Monitor *mon, Monitors *owner, Chardev *chr,
                       bool is_qmp);
void monitor_data_destroy(Monitor *mon);

/* Make @mon the calling thread's current monitor; returns the previous. */
Monitor *monitor_set_cur(Monitor *mon);

/* Register @mon in its owner's list (takes the list lock). */
void monitor_list_append(Monitor *mon);

/* Write @len bytes of @buf to @mon's chardev or capture buffer. */
void monitor_write(Monitor *mon, const char *buf, size_t len);

/* QMP (qmp.c). */
MonitorQMP *monitor_qmp_new(Monitors *owner, Chardev *chr);
void monitor_qmp_free(MonitorQMP *mon);
JsonNode *monitor_qmp_greeting(TernContext *ctx);
void monitor_qmp_emit_event(const char *event, JsonObject *data, void *opaque);

/*
 * qmp_capabilities for @mon: leave negotiation mode, with oob if asked.
 * Already negotiated: CommandNotFound, as QEMU answers.
 */
bool monitor_qmp_negotiate(Monitor *mon, bool enable_oob, GError **errp);

/* HMP (hmp.c). */
void monitor_hmp_free(Monitor *mon);

#endif
