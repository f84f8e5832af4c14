/*
 * The VM's vCPUs by index: the records cpus.c creates, and what the other
 * files of vm/ (the throttle, the dirty limit) may do with one.  Kept apart
 * from cpus.c, the vCPU threads' loop, so that the policies the loop runs
 * need not call back into it.
 */
#include "vm-internal.h"

int cpus_count(VM *vm)
{
    return vm->cpus ? (int)vm->cpus->len : 0;
}

int cpus_index_of_thread(VM *vm, int tid)
{
    /* The set does not change once created; each tid is written once. */
    for (guint i = 0; vm->cpus && i < vm->cpus->len; i++) {
        CPUState *cpu = g_ptr_array_index(vm->cpus, i);

        if (g_atomic_int_get(&cpu->tid) == tid) {
            return cpu->index;
        }
    }
    return -1;
}

CPUState *cpus_get(VM *vm, int index)
{
    if (index < 0 || index >= cpus_count(vm)) {
        return NULL;
    }
    return g_ptr_array_index(vm->cpus, index);
}

CPUDirtyLimit *cpus_dirty_limit_of(VM *vm, int index)
{
    CPUState *cpu = cpus_get(vm, index);

    return cpu ? &cpu->dirty_limit : NULL;
}

void cpus_kick_one(VM *vm, int index)
{
    CPUState *cpu = cpus_get(vm, index);

    vm->ops->vcpu_kick(cpu->vcpu);
}

