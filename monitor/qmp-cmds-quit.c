/*
 * quit (qapi/control.json): ask the main loop to shut tern down.  The
 * reply goes out before the main loop acts on the request.
 */
#include "qapi/qapi-commands.h"
#include "sysemu/runstate.h"

bool qmp_quit(TernContext *ctx, GError **errp)
{
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return true;
}
