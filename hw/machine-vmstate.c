/*
 * Which sections of the migration stream the machine's state travels in:
 * one "cpu" section per vCPU, then one per device that has a VMState
 * description, in realize order.  The process assembly calls this once at
 * start-up with the process's SaveVMState.
 */
#include "hw/machine.h"

#include "cpu-vmstate.h"
#include "migration/savevm.h"

void machine_register_vmstate(Machine *m, SaveVMState *s)
{
    if (!m->cpu_vmstate) {
        m->cpu_vmstate = g_new0(CPUVMState, m->smp);
        for (int i = 0; i < m->smp; i++) {
            m->cpu_vmstate[i].vm = m->vm;
            m->cpu_vmstate[i].index = i;
        }
    }
    /* QEMU's x86 vCPUs: idstr "cpu", instance id = the vCPU index. */
    for (int i = 0; i < m->smp; i++) {
        savevm_register_vmsd(s, "cpu", i, &vmstate_cpu, &m->cpu_vmstate[i]);
    }
    /*
     * Devices by their type name, the first of each type as instance 0.
     * A device without a vmsd (debug-exit) has no state to move.
     */
    for (guint i = 0; i < m->devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(m->devices, i);

        if (dev->klass->vmsd) {
            savevm_register_vmsd(s, dev->klass->name, SAVEVM_INSTANCE_ID_ANY,
                                 dev->klass->vmsd, dev);
        }
    }
}
