/*
 * vCPU threads.  Each runs the accelerator's vcpu_run in a loop and parks on
 * its condition variable (under the BQL) while the VM is stopped, while a
 * pause is requested, or while the vCPU is halted.  Pausing is synchronous:
 * cpus_pause_all() kicks every vCPU and waits until each reports parked.
 *
 * Race-freedom: a vCPU decides to enter the accelerator only with the BQL
 * held, after checking its stop flag; cpus_pause_all() sets the flag under
 * the BQL before kicking.  A kick that arrives between the check and the
 * entry is latched by the accelerator (vcpu_kick contract), so vcpu_run
 * returns at once:
 *
 *     vCPU thread                      main thread
 *     lock; stop? no; unlock
 *                                      lock; stop = true; kick; wait
 *     vcpu_run -> KICKED at once
 *     lock; stop? yes; park, signal    wakes: every vCPU parked
 */
#include "sysemu/cpus.h"

#include <stdio.h>
#include <unistd.h>

#include "qapi/qapi-events.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"

typedef struct CPUState {
    int index;
    GThread *thread;
    AccelVCPU *vcpu;

    /* Protected by the BQL. */
    bool stop;          /* park at the next opportunity */
    bool parked;        /* waiting on wake, not inside the accelerator */
    bool halted;        /* executed HLT; parked until woken */
    bool exit;          /* leave the thread */
    QemuCond wake;
    gint tid;           /* atomic: the thread's kernel id once it runs, else 0 */
} CPUState;

/*
 * The vCPUs of this process's one VM, created once at start-up; protected
 * by the BQL.
 */
static struct {
    const AccelOps *ops;
    AccelState *accel;
    CPUIOHandler io;
    GPtrArray *cpus;        /* CPUState*, by index */
    QemuCond parked_cond;   /* signalled when a vCPU parks */
    int quiesce;            /* cpus_quiesce_begin() calls not yet ended */
    char *last_error;
} vcpus;

static __thread CPUState *current_cpu;

bool cpus_on_vcpu_thread(void)
{
    return current_cpu != NULL;
}

void cpus_stop_current(void)
{
    g_assert(bql_locked());
    if (current_cpu) {
        current_cpu->stop = true;
        vcpus.ops->vcpu_kick(current_cpu->vcpu);
    }
}

int cpus_count(void)
{
    return vcpus.cpus ? (int)vcpus.cpus->len : 0;
}

int cpus_index_of_thread(int tid)
{
    /* The set does not change once created; each tid is written once. */
    for (guint i = 0; vcpus.cpus && i < vcpus.cpus->len; i++) {
        CPUState *cpu = g_ptr_array_index(vcpus.cpus, i);

        if (g_atomic_int_get(&cpu->tid) == tid) {
            return cpu->index;
        }
    }
    return -1;
}

static CPUState *cpu_by_index(int index)
{
    if (index < 0 || index >= cpus_count()) {
        return NULL;
    }
    return g_ptr_array_index(vcpus.cpus, index);
}

static bool cpu_should_park(const CPUState *cpu)
{
    return cpu->exit || cpu->stop || cpu->halted || vcpus.quiesce ||
           !runstate_is_running();
}

static void cpu_report_error(CPUState *cpu, GError *err)
{
    g_free(vcpus.last_error);
    vcpus.last_error = g_strdup_printf("vCPU %d: %s", cpu->index,
                                       err->message);
    error_report("%s", vcpus.last_error);
    g_error_free(err);
    vm_stop_request(RUN_STATE_INTERNAL_ERROR);
}

static gpointer cpu_thread_fn(gpointer opaque)
{
    CPUState *cpu = opaque;

    current_cpu = cpu;
    g_atomic_int_set(&cpu->tid, gettid());
    bql_lock();
    while (!cpu->exit) {
        GError *err = NULL;
        VCPUExit why;

        if (cpu_should_park(cpu)) {
            cpu->parked = true;
            qemu_cond_broadcast(&vcpus.parked_cond);
            bql_cond_wait(&cpu->wake);
            continue;
        }
        cpu->parked = false;
        bql_unlock();
        why = vcpus.ops->vcpu_run(cpu->vcpu, &vcpus.io, &err);
        bql_lock();

        switch (why) {
        case VCPU_EXIT_KICKED:
            break;
        case VCPU_EXIT_HALT:
            cpu->halted = true;
            break;
        case VCPU_EXIT_ERROR:
            /* Park until the main loop has stopped the VM. */
            cpu->stop = true;
            cpu_report_error(cpu, err);
            break;
        }
    }
    cpu->parked = true;
    qemu_cond_broadcast(&vcpus.parked_cond);
    bql_unlock();
    current_cpu = NULL;
    return NULL;
}

static void cpu_free(CPUState *cpu)
{
    if (cpu->vcpu) {
        vcpus.ops->vcpu_free(cpu->vcpu);
    }
    qemu_cond_destroy(&cpu->wake);
    g_free(cpu);
}

static CPUState *cpu_new(int index, uint32_t entry, uint32_t stack,
                         GError **errp)
{
    CPUState *cpu = g_new0(CPUState, 1);
    X86CPUState env;

    cpu->index = index;
    cpu->stop = true;
    qemu_cond_init(&cpu->wake);
    cpu->vcpu = vcpus.ops->vcpu_new(vcpus.accel, index, errp);
    if (!cpu->vcpu) {
        cpu_free(cpu);
        return NULL;
    }
    x86_cpu_state_reset(&env, entry, stack);
    env.halted = index != 0;
    if (!vcpus.ops->vcpu_set_state(cpu->vcpu, &env, errp)) {
        cpu_free(cpu);
        return NULL;
    }
    cpu->halted = env.halted;
    return cpu;
}

bool cpus_create(const AccelOps *ops, AccelState *accel, int count,
                 const CPUIOHandler *io, uint32_t entry, uint32_t stack,
                 GError **errp)
{
    g_assert(bql_locked());
    g_assert(!vcpus.cpus);
    vcpus.ops = ops;
    vcpus.accel = accel;
    vcpus.io = *io;
    vcpus.cpus = g_ptr_array_new();
    qemu_cond_init(&vcpus.parked_cond);

    for (int i = 0; i < count; i++) {
        CPUState *cpu = cpu_new(i, entry, stack, errp);
        g_autofree char *name = g_strdup_printf("vcpu%d", i);

        if (!cpu) {
            error_prepend(errp, "vCPU %d: ", i);
            cpus_destroy();
            return false;
        }
        g_ptr_array_add(vcpus.cpus, cpu);
        cpu->thread = g_thread_new(name, cpu_thread_fn, cpu);
    }
    return true;
}

static bool cpus_all_parked(void)
{
    for (int i = 0; i < cpus_count(); i++) {
        if (!cpu_by_index(i)->parked) {
            return false;
        }
    }
    return true;
}

void cpus_pause_all(void)
{
    g_assert(bql_locked());
    g_assert(!cpus_on_vcpu_thread());
    for (int i = 0; i < cpus_count(); i++) {
        CPUState *cpu = cpu_by_index(i);

        cpu->stop = true;
        vcpus.ops->vcpu_kick(cpu->vcpu);
    }
    while (!cpus_all_parked()) {
        bql_cond_wait(&vcpus.parked_cond);
    }
}

/*
 * A quiesce is not a stop: it leaves cpu->stop and the run state alone, so
 * a vm_stop() or vm_start() that runs while we wait (bql_cond_wait drops
 * the BQL) still decides whether the vCPUs run once the quiesce ends.
 */
void cpus_quiesce_begin(void)
{
    g_assert(bql_locked());
    g_assert(!cpus_on_vcpu_thread());
    vcpus.quiesce++;
    for (int i = 0; i < cpus_count(); i++) {
        vcpus.ops->vcpu_kick(cpu_by_index(i)->vcpu);
    }
    while (!cpus_all_parked()) {
        bql_cond_wait(&vcpus.parked_cond);
    }
}

void cpus_quiesce_end(void)
{
    g_assert(bql_locked());
    g_assert(vcpus.quiesce > 0);
    if (--vcpus.quiesce == 0) {
        for (int i = 0; i < cpus_count(); i++) {
            qemu_cond_signal(&cpu_by_index(i)->wake);
        }
    }
}

void cpus_resume_all(void)
{
    g_assert(bql_locked());
    for (int i = 0; i < cpus_count(); i++) {
        CPUState *cpu = cpu_by_index(i);

        cpu->stop = false;
        qemu_cond_signal(&cpu->wake);
    }
}

void cpus_destroy(void)
{
    g_assert(bql_locked());
    if (!vcpus.cpus) {
        return;
    }
    for (int i = 0; i < cpus_count(); i++) {
        CPUState *cpu = cpu_by_index(i);

        cpu->exit = true;
        if (cpu->thread) {
            vcpus.ops->vcpu_kick(cpu->vcpu);
            qemu_cond_signal(&cpu->wake);
        }
    }
    /* Join without the BQL: an exiting vCPU may be waiting for it. */
    bql_unlock();
    for (int i = 0; i < cpus_count(); i++) {
        CPUState *cpu = cpu_by_index(i);

        if (cpu->thread) {
            g_thread_join(cpu->thread);
        }
    }
    bql_lock();
    for (int i = 0; i < cpus_count(); i++) {
        cpu_free(cpu_by_index(i));
    }
    g_ptr_array_free(vcpus.cpus, TRUE);
    vcpus.cpus = NULL;
    qemu_cond_destroy(&vcpus.parked_cond);
    g_clear_pointer(&vcpus.last_error, g_free);
}

static CPUState *cpu_for_state_access(int index, GError **errp)
{
    CPUState *cpu = cpu_by_index(index);

    g_assert(bql_locked());
    if (!cpu) {
        error_setg(errp, "vCPU %d does not exist", index);
        return NULL;
    }
    /* A thread just created may not have reached its park yet. */
    while (cpu->stop && !cpu->parked && !cpus_on_vcpu_thread()) {
        bql_cond_wait(&vcpus.parked_cond);
    }
    if (!cpu->parked || !cpu->stop) {
        error_setg(errp, "vCPU %d is running; stop the VM first", index);
        return NULL;
    }
    return cpu;
}

bool cpu_get_state(int index, X86CPUState *env, GError **errp)
{
    CPUState *cpu = cpu_for_state_access(index, errp);

    return cpu && vcpus.ops->vcpu_get_state(cpu->vcpu, env, errp);
}

bool cpu_set_state(int index, const X86CPUState *env, GError **errp)
{
    CPUState *cpu = cpu_for_state_access(index, errp);

    if (!cpu || !vcpus.ops->vcpu_set_state(cpu->vcpu, env, errp)) {
        return false;
    }
    cpu->halted = env->halted;
    return true;
}

const char *cpus_last_error(void)
{
    return vcpus.last_error;
}

/* ---- starting and stopping the VM: the run state and the vCPUs together ---- */

void vm_start(void)
{
    g_assert(bql_locked());
    if (runstate_is_running()) {
        qapi_event_send_stop();
        qapi_event_send_resume();
        return;
    }
    qapi_event_send_resume();
    runstate_set(RUN_STATE_RUNNING);
    vm_state_notify(true, RUN_STATE_RUNNING);
    cpus_resume_all();
}

static void vm_stop_running(RunState state)
{
    runstate_set(state);
    cpus_pause_all();
    vm_state_notify(false, state);
    qapi_event_send_stop();
}

void vm_stop(RunState state)
{
    g_assert(bql_locked());
    if (cpus_on_vcpu_thread()) {
        /* Stop here at once; the main loop stops the others. */
        cpus_stop_current();
        vm_stop_request(state);
        return;
    }
    if (runstate_is_running()) {
        vm_stop_running(state);
    }
}

void vm_stop_force_state(RunState state)
{
    g_assert(bql_locked());
    g_assert(!cpus_on_vcpu_thread());
    if (runstate_is_running()) {
        vm_stop_running(state);
    } else {
        runstate_set(state);
    }
}

static gboolean vm_stop_bh(gpointer opaque)
{
    vm_stop(GPOINTER_TO_INT(opaque));
    return G_SOURCE_REMOVE;
}

void vm_stop_request(RunState state)
{
    main_loop_schedule(vm_stop_bh, GINT_TO_POINTER(state));
}
