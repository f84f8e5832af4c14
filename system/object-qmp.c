/*
 * object-add, object-del and qom-list over the process's object set
 * (crypto/object-set.c): the TLS credentials and authz objects.
 */
#include "crypto/object-set.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "sysemu/context.h"

#include <string.h>

bool qmp_object_add(TernContext *ctx, const ObjectOptions *arg, GError **errp)
{
    return object_set_add(ctx->objects, arg, errp);
}

bool qmp_object_del(TernContext *ctx, const char *id, GError **errp)
{
    return object_set_del(ctx->objects, id, errp);
}

ObjectPropertyInfoList *qmp_qom_list(TernContext *ctx, const char *path,
                                     GError **errp)
{
    if (strcmp(path, "/objects") != 0) {
        error_setg(errp, "Device '%s' not found", path);
        return NULL;
    }
    return object_set_list(ctx->objects);
}
