/*
 * The destination's guest resume, shared by the end of a precopy load
 * (incoming.c) and postcopy's RUN (postcopy-dest.c): it reads only the
 * migrated run state and the machine's hooks, so both call it from below
 * instead of postcopy calling back into incoming.c.
 */
#ifndef MIGRATION_INCOMING_RESUME_H
#define MIGRATION_INCOMING_RESUME_H

#include "migration/migration.h"

/*
 * Main loop, BQL held (run state inmigrate): the guest resumes where the
 * source left it.  As in QEMU, running follows autostart and any other
 * state is entered as sent, but only where QEMU allows it after inmigrate
 * and tern models it (the transition table says both).  The rest, which
 * any QEMU may send (suspended, colo, debug, save-vm, ...), is input, not
 * a bug: the guest stays paused and the user is told which state it was.
 */
void incoming_resume_guest(MigrationIncomingState *mis);

#endif
