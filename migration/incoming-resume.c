/*
 * The destination resumes the guest (incoming-resume.h): at the end of a
 * precopy load (incoming.c) or at postcopy's RUN (postcopy-dest.c).
 */
#include "incoming-resume.h"
#include "migration/global-state.h"
#include "qemu/error.h"

void incoming_resume_guest(MigrationIncomingState *mis)
{
    const MigrationMachineOps *m = &mis->machine;
    RunState rs = global_state_runstate(mis->global_state);

    if (rs == RUN_STATE_RUNNING) {
        if (m->autostart(m->opaque)) {
            m->start(m->opaque);
        } else {
            m->set_state(m->opaque, RUN_STATE_PAUSED);
        }
        return;
    }
    if (!m->may_enter(m->opaque, rs)) {
        warn_report("the source was in run state '%s', which tern cannot "
                    "enter after a migration; the guest stays paused",
                    RunState_str(rs));
        rs = RUN_STATE_PAUSED;
    }
    m->set_state(m->opaque, rs);
}
