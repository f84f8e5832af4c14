/*
 * The "cpu" VMState section: one per vCPU (idstr "cpu", instance id = the
 * vCPU index), carrying the whole X86CPUState.  Every accelerator reads
 * and writes the same X86CPUState, so a guest saved under kvm loads under
 * interp and back.  The layout is tern's own: QEMU's "cpu" section (target/
 * i386/machine.c) has the same name but far more fields.
 */
#ifndef HW_CPU_VMSTATE_H
#define HW_CPU_VMSTATE_H

#include <glib.h>
#include <stdbool.h>

#include "migration/vmstate.h"
#include "sysemu/cpu-state.h"
#include "sysemu/vm.h"

/*
 * What a "cpu" section is saved from and loaded into.  The live state is
 * in the accelerator: pre_save copies it into @env (cpu_get_state) and
 * post_load, after checking @env, copies it back (cpu_set_state).  Both
 * need the VM stopped and the BQL held, as at switchover.
 */
typedef struct CPUVMState {
    X86CPUState env;
    VM *vm;                     /* whose vCPU; set once, not migrated */
    int index;                  /* the vCPU; set once, not migrated */
} CPUVMState;

extern const VMStateDescription vmstate_cpu;

/*
 * Whether @env is a state tern's vCPUs may be put in: 32-bit protected
 * mode without paging or long mode, sane segment descriptors, no
 * reserved bits in EFLAGS, CR0, MXCSR or PAT.  Changes nothing; the
 * accelerator may still refuse what it cannot run.
 */
bool x86_cpu_state_check(const X86CPUState *env, GError **errp);

#endif
