/*
 * TernContext: the one object a tern process is made of.  system/ assembles
 * it at start-up (system/assembly.c) and hands it down: every QMP and HMP
 * command receives it as its first parameter, and the subsystems get the
 * parts they need when they are created.  This header only says what the
 * context holds; it includes nothing, so any layer may read it without
 * depending on the code that builds it.
 */
#ifndef SYSEMU_CONTEXT_H
#define SYSEMU_CONTEXT_H

typedef struct Machine Machine;                   /* hw/machine.h */
typedef struct MigrationObjects MigrationObjects; /* migration/misc.h */
typedef struct Monitors Monitors;                 /* monitor/monitor.h */
typedef struct ObjectSet ObjectSet;               /* crypto/object-set.h */
typedef struct VM VM;                             /* sysemu/vm.h */

struct TernContext {
    /* The run state and the vCPUs; the machine runs on it (sysemu/vm.h). */
    VM *vm;
    /* The board: RAM blocks, accelerator, devices (hw/machine.h). */
    Machine *machine;
    /* Both migration states, their options, sections and RAM state. */
    MigrationObjects *migration;
    /* The QMP and HMP monitors; they hand this context to every command. */
    Monitors *monitors;
    /* -object / object-add objects: TLS credentials, authz (crypto/). */
    ObjectSet *objects;
};

#endif
