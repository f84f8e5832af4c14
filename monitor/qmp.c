/*
 * The QMP server.  Each QMP monitor reads its chardev on the monitor I/O
 * thread, where the JSON stream is split into requests: out-of-band ones run
 * there at once, in-band ones queue and run one at a time in the main loop
 * (BQL held), round-robin across monitors.  Every reply and event is one
 * chardev write, so they never interleave; events go to every negotiated
 * client.
 */
#include "monitor-internal.h"

#include "json-writer.h"
#include "qapi/qapi-commands.h"
#include "qmp-dispatch.h"
#include "qemu/error.h"

typedef struct QmpRequest {
    MonitorQMP *mon;
    JsonNode *req;              /* exactly one of req and err */
    GError *err;
    gint generation;            /* the client it came from */
} QmpRequest;

static void qmp_request_free(QmpRequest *r)
{
    if (r->req) {
        json_node_unref(r->req);
    }
    if (r->err) {
        g_error_free(r->err);
    }
    g_free(r);
}

/* Send @msg (borrowed) to the client of @generation, if still connected. */
static void monitor_qmp_send(MonitorQMP *mon, JsonNode *msg, gint generation)
{
    g_autoptr(GString) text = g_string_new(NULL);

    if (g_atomic_int_get(&mon->generation) != generation) {
        return;                 /* that client left; don't tell the next one */
    }
    json_writer_append(text, msg);
    g_string_append(text, "\r\n");
    monitor_write(&mon->common, text->str, text->len);
}

JsonNode *monitor_qmp_greeting(TernContext *ctx)
{
    g_autoptr(VersionInfo) version = qmp_query_version(ctx, NULL);
    JsonObject *qmp = json_object_new();
    JsonObject *greeting = json_object_new();
    JsonArray *caps = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_array_add_string_element(caps, "oob");
    json_object_set_member(qmp, "version", visit_VersionInfo_to_json(version));
    json_object_set_array_member(qmp, "capabilities", caps);
    json_object_set_object_member(greeting, "QMP", qmp);
    json_node_take_object(node, greeting);
    return node;
}

/* Run one request for @mon in the calling thread and send the reply. */
static void monitor_qmp_dispatch(MonitorQMP *mon, JsonNode *req,
                                 gint generation)
{
    Monitors *mons = mon->common.owner;
    bool negotiated = g_atomic_int_get(&mon->negotiated);
    const QmpCommandList *cmds = negotiated ? mons->cmds : mons->cap_cmds;
    Monitor *prev = monitor_set_cur(&mon->common);
    JsonNode *rsp = qmp_dispatch(cmds, mon->common.ctx, req,
                                 g_atomic_int_get(&mon->oob_enabled));

    monitor_set_cur(prev);
    if (!g_atomic_int_get(&mon->negotiated) &&
        qmp_response_is_error_class(rsp, "CommandNotFound")) {
        JsonObject *error = json_object_get_object_member(
            json_node_get_object(rsp), "error");

        json_object_set_string_member(
            error, "desc",
            "Expecting capabilities negotiation with 'qmp_capabilities'");
    }
    if (rsp) {
        monitor_qmp_send(mon, rsp, generation);
        json_node_unref(rsp);
    }
}

/* Queue_lock held: should we stop reading this client for now? */
static bool monitor_qmp_queue_full(MonitorQMP *mon)
{
    guint len = g_queue_get_length(mon->requests);

    /* Without oob, one request at a time (QEMU's rule). */
    return len >= QMP_REQ_QUEUE_LEN_MAX ||
           (len > 0 && !g_atomic_int_get(&mon->oob_enabled));
}

/* Take the next request of any monitor, rotating so each gets its turn. */
static QmpRequest *monitor_qmp_pop_any(Monitors *mons)
{
    QmpRequest *r = NULL;

    qemu_mutex_lock(&mons->lock);
    for (GList *l = mons->monitors; l && !r; l = l->next) {
        MonitorQMP *mon = l->data;

        if (!mon->common.is_qmp) {
            continue;
        }
        qemu_mutex_lock(&mon->queue_lock);
        r = g_queue_pop_head(mon->requests);
        qemu_mutex_unlock(&mon->queue_lock);
        if (r) {
            mons->monitors = g_list_remove_link(mons->monitors, l);
            mons->monitors = g_list_concat(mons->monitors, l);
        }
    }
    if (!r && mons->dispatch_src) {
        g_clear_pointer(&mons->dispatch_src, g_source_unref);
    }
    qemu_mutex_unlock(&mons->lock);
    return r;
}

/* Main loop, BQL held: run one in-band request, then yield to the loop. */
static gboolean monitor_qmp_dispatcher(gpointer opaque)
{
    QmpRequest *r = monitor_qmp_pop_any(opaque);
    MonitorQMP *mon;

    if (!r) {
        return G_SOURCE_REMOVE;
    }
    mon = r->mon;
    if (r->req) {
        monitor_qmp_dispatch(mon, r->req, r->generation);
    } else {
        JsonNode *rsp = qmp_error_response(r->err);

        monitor_qmp_send(mon, rsp, r->generation);
        json_node_unref(rsp);
    }
    qmp_request_free(r);

    qemu_mutex_lock(&mon->queue_lock);
    if (mon->paused && !monitor_qmp_queue_full(mon)) {
        mon->paused = false;
        qemu_chr_set_paused(mon->common.chr, false);
    }
    qemu_mutex_unlock(&mon->queue_lock);
    return G_SOURCE_CONTINUE;
}

static void monitor_qmp_schedule_dispatch(Monitors *mons)
{
    qemu_mutex_lock(&mons->lock);
    if (!mons->dispatch_src) {
        mons->dispatch_src = g_idle_source_new();
        g_source_set_callback(mons->dispatch_src, monitor_qmp_dispatcher,
                              mons, NULL);
        g_source_attach(mons->dispatch_src, NULL);
    }
    qemu_mutex_unlock(&mons->lock);
}

/* I/O thread: the JSON stream produced a request or an error. */
static void monitor_qmp_handle_input(void *opaque, JsonNode *req, GError *err)
{
    MonitorQMP *mon = opaque;
    gint generation = g_atomic_int_get(&mon->generation);
    QmpRequest *r;

    if (req && qmp_is_oob(req)) {
        monitor_qmp_dispatch(mon, req, generation);
        json_node_unref(req);
        return;
    }
    r = g_new0(QmpRequest, 1);
    r->mon = mon;
    r->req = req;
    r->err = err;
    r->generation = generation;

    qemu_mutex_lock(&mon->queue_lock);
    g_queue_push_tail(mon->requests, r);
    if (!mon->paused && monitor_qmp_queue_full(mon)) {
        mon->paused = true;
        qemu_chr_set_paused(mon->common.chr, true);
    }
    qemu_mutex_unlock(&mon->queue_lock);
    monitor_qmp_schedule_dispatch(mon->common.owner);
}

static void monitor_qmp_read(void *opaque, const uint8_t *buf, size_t len)
{
    MonitorQMP *mon = opaque;

    json_stream_feed(mon->parser, (const char *)buf, len);
}

static void monitor_qmp_clear_queue(MonitorQMP *mon)
{
    qemu_mutex_lock(&mon->queue_lock);
    while (!g_queue_is_empty(mon->requests)) {
        qmp_request_free(g_queue_pop_head(mon->requests));
    }
    if (mon->paused) {
        mon->paused = false;
        qemu_chr_set_paused(mon->common.chr, false);
    }
    qemu_mutex_unlock(&mon->queue_lock);
}

/* I/O thread: a client connected (greet it) or left (forget it). */
static void monitor_qmp_event(void *opaque, bool connected)
{
    MonitorQMP *mon = opaque;

    g_atomic_int_inc(&mon->generation);
    g_atomic_int_set(&mon->negotiated, 0);
    g_atomic_int_set(&mon->oob_enabled, 0);
    monitor_qmp_clear_queue(mon);
    json_stream_reset(mon->parser);
    if (connected) {
        g_autoptr(JsonNode) greeting = monitor_qmp_greeting(mon->common.ctx);

        monitor_qmp_send(mon, greeting, g_atomic_int_get(&mon->generation));
    }
}

bool monitor_qmp_negotiate(Monitor *mon, bool enable_oob, GError **errp)
{
    MonitorQMP *qmp = (MonitorQMP *)mon;

    g_assert(mon->is_qmp);
    if (g_atomic_int_get(&qmp->negotiated)) {
        error_set(errp, TERN_ERROR_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, command "
                  "ignored");
        return false;
    }
    g_atomic_int_set(&qmp->oob_enabled, enable_oob);
    g_atomic_int_set(&qmp->negotiated, 1);
    return true;
}

MonitorQMP *monitor_qmp_new(Monitors *owner, Chardev *chr)
{
    MonitorQMP *mon = g_new0(MonitorQMP, 1);

    monitor_data_init(&mon->common, owner, chr, true);
    mon->parser = json_stream_new(monitor_qmp_handle_input, mon);
    qemu_mutex_init(&mon->queue_lock);
    mon->requests = g_queue_new();
    return mon;
}

void monitor_qmp_free(MonitorQMP *mon)
{
    while (!g_queue_is_empty(mon->requests)) {
        qmp_request_free(g_queue_pop_head(mon->requests));
    }
    g_queue_free(mon->requests);
    qemu_mutex_destroy(&mon->queue_lock);
    json_stream_free(mon->parser);
    monitor_data_destroy(&mon->common);
    g_free(mon);
}

bool monitor_init_qmp(Monitors *mons, Chardev *chr, GError **errp)
{
    MonitorQMP *mon = monitor_qmp_new(mons, chr);

    monitor_list_append(&mon->common);
    qemu_chr_set_handlers_full(chr, monitor_qmp_read, monitor_qmp_event, mon,
                               mons->io_ctx);
    return true;
}

/* Any thread: the QMP event emitter (include/qapi/qmp-event.h). */
void monitor_qmp_emit_event(const char *event, JsonObject *data, void *opaque)
{
    Monitors *mons = opaque;
    g_autoptr(JsonObject) msg = json_object_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    JsonObject *ts = json_object_new();
    gint64 now = g_get_real_time();

    json_object_set_int_member(ts, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", now % G_USEC_PER_SEC);
    json_object_set_object_member(msg, "timestamp", ts);
    json_object_set_string_member(msg, "event", event);
    if (data) {
        json_object_set_object_member(msg, "data", data);
    }
    json_node_set_object(node, msg);

    qemu_mutex_lock(&mons->lock);
    for (GList *l = mons->monitors; l; l = l->next) {
        MonitorQMP *mon = l->data;

        if (mon->common.is_qmp && g_atomic_int_get(&mon->negotiated)) {
            monitor_qmp_send(mon, node, g_atomic_int_get(&mon->generation));
        }
    }
    qemu_mutex_unlock(&mons->lock);
}
