/*
 * The qtest accelerator: vCPUs that never execute guest code.  vcpu_run
 * just waits to be kicked, so a test drives the machine entirely through
 * the qtest protocol (memory and port I/O) and QMP.  CPU state is kept so
 * that get/set round-trips and migrates like a real accelerator's.
 */
#include "sysemu/accel-ops.h"

#include <string.h>

#include "qemu/thread.h"

struct AccelState {
    int unused;
};

struct AccelVCPU {
    QemuMutex lock;
    QemuCond cond;
    bool kicked;        /* latched until the next vcpu_run returns */
    X86CPUState env;
};

static bool qtest_available(GError **errp)
{
    return true;
}

static AccelState *qtest_vm_new(GPtrArray *ram_blocks, GError **errp)
{
    return g_new0(AccelState, 1);
}

static void qtest_vm_free(AccelState *s)
{
    g_free(s);
}

static AccelVCPU *qtest_vcpu_new(AccelState *s, int index, GError **errp)
{
    AccelVCPU *cpu = g_new0(AccelVCPU, 1);

    qemu_mutex_init(&cpu->lock);
    qemu_cond_init(&cpu->cond);
    return cpu;
}

static void qtest_vcpu_free(AccelVCPU *cpu)
{
    qemu_mutex_destroy(&cpu->lock);
    qemu_cond_destroy(&cpu->cond);
    g_free(cpu);
}

static VCPUExit qtest_vcpu_run(AccelVCPU *cpu, const CPUIOHandler *io,
                               GError **errp)
{
    qemu_mutex_lock(&cpu->lock);
    while (!cpu->kicked) {
        qemu_cond_wait(&cpu->cond, &cpu->lock);
    }
    cpu->kicked = false;
    qemu_mutex_unlock(&cpu->lock);
    return VCPU_EXIT_KICKED;
}

static void qtest_vcpu_kick(AccelVCPU *cpu)
{
    qemu_mutex_lock(&cpu->lock);
    cpu->kicked = true;
    qemu_cond_signal(&cpu->cond);
    qemu_mutex_unlock(&cpu->lock);
}

static bool qtest_vcpu_get_state(AccelVCPU *cpu, X86CPUState *env,
                                 GError **errp)
{
    *env = cpu->env;
    return true;
}

static bool qtest_vcpu_set_state(AccelVCPU *cpu, const X86CPUState *env,
                                 GError **errp)
{
    cpu->env = *env;
    return true;
}

const AccelOps accel_qtest_ops = {
    .name = "qtest",
    .available = qtest_available,
    .vm_new = qtest_vm_new,
    .vm_free = qtest_vm_free,
    .vcpu_new = qtest_vcpu_new,
    .vcpu_free = qtest_vcpu_free,
    .vcpu_run = qtest_vcpu_run,
    .vcpu_kick = qtest_vcpu_kick,
    .vcpu_get_state = qtest_vcpu_get_state,
    .vcpu_set_state = qtest_vcpu_set_state,
    /*
     * No dirty_log_* hooks: no guest code runs; qtest writes mark
     * rb->dirty_log through guest_memory_write().
     */
};
