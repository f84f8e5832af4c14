/*
 * The QMP command registry and the event emitter hook
 * (include/qapi/qmp-registry.h, include/qapi/qmp-event.h).
 */
#include "qapi/qmp-registry.h"
#include "qapi/qmp-event.h"

struct QmpCommandList {
    GHashTable *by_name;        /* name -> QmpCommand* (owned) */
};

QmpCommandList *qmp_command_list_new(void)
{
    QmpCommandList *cmds = g_new0(QmpCommandList, 1);
    cmds->by_name = g_hash_table_new_full(g_str_hash, g_str_equal,
                                          NULL, g_free);
    return cmds;
}

void qmp_command_list_free(QmpCommandList *cmds)
{
    if (cmds) {
        g_hash_table_destroy(cmds->by_name);
        g_free(cmds);
    }
}

void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc fn, QmpCommandOptions options)
{
    QmpCommand *cmd = g_new0(QmpCommand, 1);

    g_assert(!g_hash_table_contains(cmds->by_name, name));
    cmd->name = name;           /* generated names are static strings */
    cmd->fn = fn;
    cmd->options = options;
    g_hash_table_insert(cmds->by_name, (gpointer)name, cmd);
}

const QmpCommand *qmp_find_command(const QmpCommandList *cmds, const char *name)
{
    return g_hash_table_lookup(cmds->by_name, name);
}

void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque)
{
    g_autoptr(GList) names = g_hash_table_get_keys(cmds->by_name);

    names = g_list_sort(names, (GCompareFunc)g_strcmp0);
    for (GList *l = names; l; l = l->next) {
        fn(g_hash_table_lookup(cmds->by_name, l->data), opaque);
    }
}

/* Set once at start-up, before any thread that emits events exists. */
static QapiEventEmitter event_emitter;
static void *event_emitter_opaque;

void qapi_event_set_emitter(QapiEventEmitter emit, void *opaque)
{
    event_emitter = emit;
    event_emitter_opaque = opaque;
}

void qapi_event_emit(const char *event, JsonObject *data)
{
    if (event_emitter) {
        event_emitter(event, data, event_emitter_opaque);
    } else if (data) {
        json_object_unref(data);
    }
}
