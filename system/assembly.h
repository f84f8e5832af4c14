/*
 * The process assembly: main() builds the one TernContext here, in a fixed
 * order, and takes it apart in reverse.
 */
#ifndef SYSTEM_ASSEMBLY_H
#define SYSTEM_ASSEMBLY_H

#include "hw/machine.h"
#include "qapi/qmp-registry.h"
#include "sysemu/context.h"

/*
 * Start-up, main thread, first of all: @ctx's VM (run state prelaunch, no
 * vCPUs yet), which the command line then names and configures.
 */
void assembly_init_vm(TernContext *ctx);

/*
 * Start-up, main thread, BQL held, before any monitor: @ctx's set of
 * monitors, which will dispatch to @cmds (borrowed; it must outlive
 * assembly_teardown()) and hand @ctx to every QMP and HMP command; the
 * HMP tables are registered.
 */
void assembly_init_monitors(TernContext *ctx, const QmpCommandList *cmds);

/*
 * @ctx's object set, with the -object objects (CmdlineObject*, from
 * system/cmdline.h) made in order; TLS credentials load their files now.
 * An error names the -object it came from.  Main thread, BQL held, once.
 */
bool assembly_create_objects(TernContext *ctx, GPtrArray *objects, GError **errp);

/*
 * Build the machine from @cfg on @ctx's VM (its devices get a blocker that
 * reaches @ctx's outgoing migration), then the migration objects over its RAM,
 * with the machine's sections registered.  Main thread, BQL held, once.
 * On failure @ctx holds what was built; assembly_teardown() frees it.
 */
bool assembly_build(TernContext *ctx, MachineConfig *cfg, GError **errp);

/*
 * In reverse: stop the migrations (the BQL is dropped while their threads
 * finish) and free their objects, stop the monitors, free the machine
 * (its vCPUs stop), free the VM.  BQL held; whatever part was never built
 * is skipped.
 */
void assembly_teardown(TernContext *ctx);

#endif
