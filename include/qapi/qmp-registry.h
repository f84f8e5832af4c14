/*
 * The QMP command registry: generated marshallers register here at start-up,
 * the QMP server looks commands up here.  Built once in main() before any
 * monitor runs and read-only afterwards, so lookups need no lock.
 */
#ifndef QAPI_QMP_REGISTRY_H
#define QAPI_QMP_REGISTRY_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

typedef enum {
    QCO_NO_OPTIONS      = 0,
    QCO_NO_SUCCESS_RESP = 1 << 0,   /* schema: 'success-response': false */
    QCO_ALLOW_OOB       = 1 << 1,   /* schema: 'allow-oob': true */
} QmpCommandOptions;

/*
 * The context every command runs in.  Defined by the code that assembles
 * the process (include/sysemu/context.h); the registry, the dispatcher and
 * the monitors only carry the pointer.
 */
typedef struct TernContext TernContext;

/*
 * A generated marshaller.  @ctx is handed to the command's qmp_*() function
 * untouched.  @args is the command's "arguments" object (an
 * empty object when the client sent none); it is borrowed.  On success it
 * returns true and sets *@ret to the reply's "return" value (transfer full),
 * or leaves it NULL for commands without 'returns' (the reply is then {}).
 * On failure it returns false and sets @errp.
 */
typedef bool (*QmpCommandFunc)(TernContext *ctx, JsonObject *args,
                               JsonNode **ret, GError **errp);

typedef struct QmpCommand {
    const char *name;
    QmpCommandFunc fn;
    QmpCommandOptions options;
} QmpCommand;

typedef struct QmpCommandList QmpCommandList;

QmpCommandList *qmp_command_list_new(void);
void qmp_command_list_free(QmpCommandList *cmds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpCommandList, qmp_command_list_free)

void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc fn, QmpCommandOptions options);
const QmpCommand *qmp_find_command(const QmpCommandList *cmds, const char *name);

/* Calls @fn for every command in name order. */
void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque);

#endif
