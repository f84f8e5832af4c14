/*
 * The QMP commands about QMP itself (qapi/control.json): capabilities
 * negotiation, version, the command list and the schema.
 */
#include "monitor-internal.h"

#include "qapi/qapi-commands.h"
#include "qapi/qapi-introspect.h"
#include "qemu/error.h"

bool qmp_qmp_capabilities(TernContext *ctx, QMPCapabilityList *enable,
                          GError **errp)
{
    Monitor *mon = monitor_cur();
    bool oob = false;

    if (!mon || !monitor_is_qmp(mon)) {
        error_setg(errp, "qmp_capabilities is only valid on a QMP monitor");
        return false;
    }
    for (QMPCapabilityList *l = enable; l; l = l->next) {
        oob |= l->value == QMP_CAPABILITY_OOB;   /* every QMP monitor offers oob */
    }
    return monitor_qmp_negotiate(mon, oob, errp);
}

VersionInfo *qmp_query_version(TernContext *ctx, GError **errp)
{
    VersionInfo *info = g_new0(VersionInfo, 1);

    info->qemu = g_new0(VersionTriple, 1);
    info->qemu->major = QMP_QEMU_MAJOR;
    info->qemu->minor = QMP_QEMU_MINOR;
    info->qemu->micro = QMP_QEMU_MICRO;
    info->package = g_strdup_printf("tern %s", TERN_VERSION);
    return info;
}

static void query_commands_add(const QmpCommand *cmd, void *opaque)
{
    CommandInfoList **list = opaque;
    CommandInfoList *entry = g_new0(CommandInfoList, 1);

    entry->value = g_new0(CommandInfo, 1);
    entry->value->name = g_strdup(cmd->name);
    entry->next = *list;
    *list = entry;
}

CommandInfoList *qmp_query_commands(TernContext *ctx, GError **errp)
{
    Monitor *mon = monitor_cur();
    CommandInfoList *list = NULL;

    /* QMP-only: it runs from a QMP monitor's dispatch, never elsewhere. */
    g_assert(mon && mon->owner);
    qmp_for_each_command(mon->owner->cmds, query_commands_add, &list);
    return list;
}

JsonNode *qmp_query_qmp_schema(TernContext *ctx, GError **errp)
{
    return qmp_schema_introspect();
}
