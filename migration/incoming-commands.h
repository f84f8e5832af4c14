/*
 * The destination's answers to the source's commands (savevm-commands.h):
 * the return path and pings here, the postcopy steps in postcopy-dest.c.
 * Opaque: the MigrationIncomingState; incoming thread.
 */
#ifndef MIGRATION_INCOMING_COMMANDS_H
#define MIGRATION_INCOMING_COMMANDS_H

#include "savevm-commands.h"

extern const SaveVMCommandOps incoming_command_ops;

/*
 * The load ended (@failed or not): tell the source with SHUT and close the
 * return path, if one was opened.  Incoming thread.
 */
void incoming_return_path_shut(MigrationIncomingState *mis, bool failed);

/*
 * Main loop, BQL held: the listener's accept callback (incoming.c); a
 * postcopy recovery's listener uses it too.  Whether more connections are
 * expected.
 */
bool incoming_accept(int fd, void *opaque);

#endif
