/*
 * The destination's command handlers (incoming-commands.h).
 */
#include "migration/migration.h"
#include "incoming-commands.h"
#include "postcopy-dest.h"
#include "postcopy-recover.h"
#include "return-path.h"
#include "migration/ram.h"
#include "migration/ram-verify.h"
#include "qemu/error.h"

static bool incoming_open_return_path(void *opaque, QEMUFile *f, GError **errp)
{
    MigrationIncomingState *mis = opaque;

    if (mis->rp) {
        warn_report("CMD_OPEN_RETURN_PATH called when RP already open");
        return true;
    }
    mis->rp = return_path_dst_open(f, errp);
    if (!mis->rp) {
        error_prepend(errp, "CMD_OPEN_RETURN_PATH failed: ");
        return false;
    }
    /*
     * switchover-ack: as QEMU, the ack goes once no device needs to approve
     * the switchover; tern has no such device (VFIO's precopy), so now.
     */
    if (migrate_cap(mis->opts, MIGRATION_CAPABILITY_SWITCHOVER_ACK)) {
        return_path_dst_send_switchover_ack(mis->rp);
        return return_path_dst_check(mis->rp, errp);
    }
    return true;
}

static bool incoming_ping(void *opaque, uint32_t value, GError **errp)
{
    MigrationIncomingState *mis = opaque;

    if (!mis->rp) {
        error_setg(errp, "CMD_PING (0x%x) received with no return path", value);
        return false;
    }
    return_path_dst_send_pong(mis->rp, value);
    return return_path_dst_check(mis->rp, errp);
}

const SaveVMCommandOps incoming_command_ops = {
    .open_return_path = incoming_open_return_path,
    .ping = incoming_ping,
    .postcopy_advise = postcopy_incoming_advise,
    .postcopy_listen = postcopy_incoming_listen,
    .postcopy_run = postcopy_incoming_run,
    .postcopy_ram_discard = postcopy_incoming_discard,
    .recv_bitmap = postcopy_recover_dst_recv_bitmap,
    .postcopy_resume = postcopy_recover_dst_resume,
};

void incoming_return_path_shut(MigrationIncomingState *mis, bool failed)
{
    if (!mis->rp) {
        return;
    }
    if (!failed) {
        return_path_dst_send_shut(mis->rp, MIG_RP_SHUT_OK);
    } else if (ram_verify_mismatched(ram_state_verify(mis->ram))) {
        /* So the source's x-verify-ram says failed too, not just its migration. */
        return_path_dst_send_shut(mis->rp, MIG_RP_SHUT_X_VERIFY_MISMATCH);
    } else {
        return_path_dst_send_shut(mis->rp, MIG_RP_SHUT_FAILED);
    }
    g_clear_pointer(&mis->rp, return_path_dst_close);
}
