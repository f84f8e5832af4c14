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
#include "vm-internal.h"

#include <stdio.h>
#include <unistd.h>

#include "qapi/qapi-events.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

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
        current_cpu->vm->ops->vcpu_kick(current_cpu->vcpu);
    }
}

static bool cpu_should_park(const CPUState *cpu)
{
    return cpu->exit || cpu->stop || cpu->halted || cpu->vm->quiesce ||
           !runstate_is_running(cpu->vm);
}

/*
 * Sleep @us outside the guest, for the throttle or the dirty limit (BQL
 * held, released while asleep).  Asleep, the vCPU counts as parked: a stop
 * does not wait for the sleep, and the sleep ends early when the vCPU must
 * park (it parks at the top of its loop).
 */
static void cpu_sleep(CPUState *cpu, int64_t us)
{
    int64_t deadline = g_get_monotonic_time() + us;

    cpu->parked = true;
    qemu_cond_broadcast(&cpu->vm->parked_cond);
    while (!cpu_should_park(cpu) && g_get_monotonic_time() < deadline) {
        bql_cond_timedwait_until(&cpu->wake, deadline);
    }
}

static void cpu_report_error(CPUState *cpu, GError *err)
{
    VM *vm = cpu->vm;

    g_free(vm->last_error);
    vm->last_error = g_strdup_printf("vCPU %d: %s", cpu->index, err->message);
    error_report("%s", vm->last_error);
    g_error_free(err);
    vm_stop_request(vm, RUN_STATE_INTERNAL_ERROR);
}

static gpointer cpu_thread_fn(gpointer opaque)
{
    CPUState *cpu = opaque;
    VM *vm = cpu->vm;

    current_cpu = cpu;
    g_atomic_int_set(&cpu->tid, gettid());
    bql_lock();
    while (!cpu->exit) {
        GError *err = NULL;
        int64_t wait_us;
        VCPUExit why;

        if (cpu_should_park(cpu)) {
            cpu->parked = true;
            qemu_cond_broadcast(&vm->parked_cond);
            bql_cond_wait(&cpu->wake);
            continue;
        }
        wait_us = dirty_limit_before_run(vm, &cpu->dirty_limit, cpu->vcpu);
        if (wait_us) {
            cpu_sleep(cpu, wait_us);
            continue;
        }
        cpu->parked = false;
        bql_unlock();
        why = cpu_throttle_run(vm, &cpu->throttle, cpu->vcpu, &err);
        bql_lock();
        if (cpu->throttle.sleep_us) {
            cpu_sleep(cpu, cpu->throttle.sleep_us);
        }

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
    qemu_cond_broadcast(&vm->parked_cond);
    bql_unlock();
    current_cpu = NULL;
    return NULL;
}

static void cpu_free(CPUState *cpu)
{
    if (cpu->vcpu) {
        cpu->vm->ops->vcpu_free(cpu->vcpu);
    }
    qemu_cond_destroy(&cpu->wake);
    g_free(cpu);
}

static CPUState *cpu_new(VM *vm, int index, uint32_t entry, uint32_t stack,
                         GError **errp)
{
    CPUState *cpu = g_new0(CPUState, 1);
    X86CPUState env;

    cpu->vm = vm;
    cpu->index = index;
    cpu->stop = true;
    qemu_cond_init(&cpu->wake);
    cpu->vcpu = vm->ops->vcpu_new(vm->accel, index, errp);
    if (!cpu->vcpu) {
        cpu_free(cpu);
        return NULL;
    }
    x86_cpu_state_reset(&env, entry, stack);
    env.halted = index != 0;
    if (!vm->ops->vcpu_set_state(cpu->vcpu, &env, errp)) {
        cpu_free(cpu);
        return NULL;
    }
    cpu->halted = env.halted;
    return cpu;
}

bool cpus_create(VM *vm, const AccelOps *ops, AccelState *accel, int count,
                 const CPUIOHandler *io, uint32_t entry, uint32_t stack,
                 GError **errp)
{
    g_assert(bql_locked());
    g_assert(!vm->cpus);
    vm->ops = ops;
    vm->accel = accel;
    vm->io = *io;
    vm->cpus = g_ptr_array_new();

    for (int i = 0; i < count; i++) {
        CPUState *cpu = cpu_new(vm, i, entry, stack, errp);
        g_autofree char *name = g_strdup_printf("vcpu%d", i);

        if (!cpu) {
            error_prepend(errp, "vCPU %d: ", i);
            cpus_destroy(vm);
            return false;
        }
        g_ptr_array_add(vm->cpus, cpu);
        cpu->thread = g_thread_new(name, cpu_thread_fn, cpu);
    }
    cpu_throttle_init(vm);
    return true;
}

static bool cpus_all_parked(VM *vm)
{
    for (int i = 0; i < cpus_count(vm); i++) {
        if (!cpus_get(vm, i)->parked) {
            return false;
        }
    }
    return true;
}

void cpus_pause_all(VM *vm)
{
    g_assert(bql_locked());
    g_assert(!cpus_on_vcpu_thread());
    for (int i = 0; i < cpus_count(vm); i++) {
        CPUState *cpu = cpus_get(vm, i);

        cpu->stop = true;
        vm->ops->vcpu_kick(cpu->vcpu);
    }
    while (!cpus_all_parked(vm)) {
        bql_cond_wait(&vm->parked_cond);
    }
}

/*
 * A quiesce is not a stop: it leaves cpu->stop and the run state alone, so
 * a vm_stop() or vm_start() that runs while we wait (bql_cond_wait drops
 * the BQL) still decides whether the vCPUs run once the quiesce ends.
 */
void cpus_quiesce_begin(VM *vm)
{
    g_assert(bql_locked());
    g_assert(!cpus_on_vcpu_thread());
    vm->quiesce++;
    for (int i = 0; i < cpus_count(vm); i++) {
        vm->ops->vcpu_kick(cpus_get(vm, i)->vcpu);
    }
    while (!cpus_all_parked(vm)) {
        bql_cond_wait(&vm->parked_cond);
    }
}

void cpus_quiesce_end(VM *vm)
{
    g_assert(bql_locked());
    g_assert(vm->quiesce > 0);
    if (--vm->quiesce == 0) {
        for (int i = 0; i < cpus_count(vm); i++) {
            qemu_cond_signal(&cpus_get(vm, i)->wake);
        }
    }
}

void cpus_resume_all(VM *vm)
{
    g_assert(bql_locked());
    for (int i = 0; i < cpus_count(vm); i++) {
        CPUState *cpu = cpus_get(vm, i);

        cpu->stop = false;
        qemu_cond_signal(&cpu->wake);
    }
}

void cpus_destroy(VM *vm)
{
    g_assert(bql_locked());
    if (!vm->cpus) {
        return;
    }
    cpu_throttle_cleanup(vm);
    for (int i = 0; i < cpus_count(vm); i++) {
        CPUState *cpu = cpus_get(vm, i);

        cpu->exit = true;
        if (cpu->thread) {
            vm->ops->vcpu_kick(cpu->vcpu);
            qemu_cond_signal(&cpu->wake);
        }
    }
    /* Join without the BQL: an exiting vCPU may be waiting for it. */
    bql_unlock();
    for (int i = 0; i < cpus_count(vm); i++) {
        CPUState *cpu = cpus_get(vm, i);

        if (cpu->thread) {
            g_thread_join(cpu->thread);
        }
    }
    bql_lock();
    for (int i = 0; i < cpus_count(vm); i++) {
        cpu_free(cpus_get(vm, i));
    }
    g_ptr_array_free(vm->cpus, TRUE);
    vm->cpus = NULL;
    g_clear_pointer(&vm->last_error, g_free);
}

static CPUState *cpu_for_state_access(VM *vm, int index, GError **errp)
{
    CPUState *cpu = cpus_get(vm, index);

    g_assert(bql_locked());
    if (!cpu) {
        error_setg(errp, "vCPU %d does not exist", index);
        return NULL;
    }
    /* A thread just created may not have reached its park yet. */
    while (cpu->stop && !cpu->parked && !cpus_on_vcpu_thread()) {
        bql_cond_wait(&vm->parked_cond);
    }
    if (!cpu->parked || !cpu->stop) {
        error_setg(errp, "vCPU %d is running; stop the VM first", index);
        return NULL;
    }
    return cpu;
}

bool cpu_get_state(VM *vm, int index, X86CPUState *env, GError **errp)
{
    CPUState *cpu = cpu_for_state_access(vm, index, errp);

    return cpu && vm->ops->vcpu_get_state(cpu->vcpu, env, errp);
}

bool cpu_set_state(VM *vm, int index, const X86CPUState *env,
                   GError **errp)
{
    CPUState *cpu = cpu_for_state_access(vm, index, errp);

    if (!cpu || !vm->ops->vcpu_set_state(cpu->vcpu, env, errp)) {
        return false;
    }
    cpu->halted = env->halted;
    return true;
}

const char *cpus_last_error(VM *vm)
{
    return vm->last_error;
}

/* ---- starting and stopping the VM: the run state and the vCPUs together ---- */

void vm_start(VM *vm)
{
    g_assert(bql_locked());
    if (runstate_is_running(vm)) {
        qapi_event_send_stop();
        qapi_event_send_resume();
        return;
    }
    qapi_event_send_resume();
    runstate_set(vm, RUN_STATE_RUNNING);
    vm_state_notify(vm, true, RUN_STATE_RUNNING);
    cpus_resume_all(vm);
}

static void vm_stop_running(VM *vm, RunState state)
{
    runstate_set(vm, state);
    cpus_pause_all(vm);
    vm_state_notify(vm, false, state);
    qapi_event_send_stop();
}

void vm_stop(VM *vm, RunState state)
{
    g_assert(bql_locked());
    if (cpus_on_vcpu_thread()) {
        /* Stop here at once; the main loop stops the others. */
        cpus_stop_current();
        vm_stop_request(vm, state);
        return;
    }
    if (runstate_is_running(vm)) {
        vm_stop_running(vm, state);
    }
}

void vm_stop_force_state(VM *vm, RunState state)
{
    g_assert(bql_locked());
    g_assert(!cpus_on_vcpu_thread());
    if (runstate_is_running(vm)) {
        vm_stop_running(vm, state);
    } else {
        runstate_set(vm, state);
    }
}

/* One bottom half per request: it acts on the oldest one. */
static gboolean vm_stop_bh(gpointer opaque)
{
    VM *vm = opaque;
    /* Queued as state + 1, so that no entry is NULL. */
    int queued = GPOINTER_TO_INT(g_async_queue_pop(vm->stop_requests));

    vm_stop(vm, queued - 1);
    return G_SOURCE_REMOVE;
}

void vm_stop_request(VM *vm, RunState state)
{
    g_async_queue_push(vm->stop_requests, GINT_TO_POINTER(state + 1));
    main_loop_schedule(vm_stop_bh, vm);
}
