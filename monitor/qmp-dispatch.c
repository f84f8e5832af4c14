/*
 * QMP request checking and command dispatch (qmp-dispatch.h).  Error texts
 * follow QEMU's qapi/qmp-dispatch.c so clients matching on them keep working.
 */
#include "qmp-dispatch.h"

#include "qemu/error.h"

#include <string.h>

JsonNode *qmp_error_response(const GError *err)
{
    JsonObject *error = json_object_new();
    JsonObject *rsp = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_string_member(error, "class", tern_error_class_name(err));
    json_object_set_string_member(error, "desc", err->message);
    json_object_set_object_member(rsp, "error", error);
    json_node_take_object(node, rsp);
    return node;
}

bool qmp_is_oob(JsonNode *request)
{
    JsonObject *obj;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        return false;
    }
    obj = json_node_get_object(request);
    return json_object_has_member(obj, "exec-oob") &&
           !json_object_has_member(obj, "execute");
}

bool qmp_response_is_error_class(JsonNode *rsp, const char *cls)
{
    JsonObject *obj = rsp && JSON_NODE_HOLDS_OBJECT(rsp)
                      ? json_node_get_object(rsp) : NULL;
    JsonObject *error = obj && json_object_has_member(obj, "error")
                        ? json_object_get_object_member(obj, "error") : NULL;

    return error && json_object_has_member(error, "class") &&
           !g_strcmp0(json_object_get_string_member(error, "class"), cls);
}

static bool node_is_string(JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == G_TYPE_STRING;
}

/* The command name, after checking every member of the request. */
static const char *qmp_check_request(JsonObject *req, bool allow_oob,
                                     GError **errp)
{
    g_autoptr(GList) members = json_object_get_members(req);
    const char *exec_key = NULL;

    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        JsonNode *value = json_object_get_member(req, name);

        if (!strcmp(name, "execute") ||
            (!strcmp(name, "exec-oob") && allow_oob)) {
            if (!node_is_string(value)) {
                error_setg(errp, "QMP input member '%s' must be a string",
                           name);
                return NULL;
            }
            if (exec_key) {
                error_setg(errp, "QMP input member '%s' clashes with '%s'",
                           name, exec_key);
                return NULL;
            }
            exec_key = name;
        } else if (!strcmp(name, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(value)) {
                error_setg(errp,
                           "QMP input member 'arguments' must be an object");
                return NULL;
            }
        } else if (strcmp(name, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", name);
            return NULL;
        }
    }
    if (!exec_key) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return NULL;
    }
    return json_object_get_string_member(req, exec_key);
}

/* Find and run the command; returns its "return" value or sets @errp. */
static bool qmp_run(const QmpCommandList *cmds, TernContext *ctx,
                    JsonObject *req, bool allow_oob, JsonNode **ret,
                    bool *no_response, GError **errp)
{
    const char *name = qmp_check_request(req, allow_oob, errp);
    const QmpCommand *cmd;
    g_autoptr(JsonObject) args = NULL;
    bool oob;

    if (!name) {
        return false;
    }
    oob = !json_object_has_member(req, "execute");
    cmd = qmp_find_command(cmds, name);
    if (!cmd) {
        error_set(errp, TERN_ERROR_COMMAND_NOT_FOUND,
                  "The command %s has not been found", name);
        return false;
    }
    if (oob && !(cmd->options & QCO_ALLOW_OOB)) {
        error_setg(errp, "The command %s does not support OOB", name);
        return false;
    }
    args = json_object_has_member(req, "arguments")
           ? json_object_ref(json_object_get_object_member(req, "arguments"))
           : json_object_new();
    if (!cmd->fn(ctx, args, ret, errp)) {
        g_clear_pointer(ret, json_node_unref);
        return false;
    }
    *no_response = cmd->options & QCO_NO_SUCCESS_RESP;
    return true;
}

JsonNode *qmp_dispatch(const QmpCommandList *cmds, TernContext *ctx,
                       JsonNode *request, bool allow_oob)
{
    g_autoptr(GError) err = NULL;
    JsonObject *req = NULL;
    JsonNode *ret = NULL;
    JsonNode *rsp;
    bool no_response = false;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        error_setg(&err, "QMP input must be a JSON object");
    } else {
        req = json_node_get_object(request);
        qmp_run(cmds, ctx, req, allow_oob, &ret, &no_response, &err);
    }

    if (err) {
        rsp = qmp_error_response(err);
    } else if (no_response) {
        g_clear_pointer(&ret, json_node_unref);
        return NULL;
    } else {
        JsonObject *obj = json_object_new();

        if (!ret) {     /* no 'returns' in the schema: the spec says {} */
            ret = json_node_new(JSON_NODE_OBJECT);
            json_node_take_object(ret, json_object_new());
        }
        json_object_set_member(obj, "return", ret);
        rsp = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(rsp, obj);
    }
    if (req && json_object_has_member(req, "id")) {
        json_object_set_member(json_node_get_object(rsp), "id",
                               json_node_copy(json_object_get_member(req, "id")));
    }
    return rsp;
}
