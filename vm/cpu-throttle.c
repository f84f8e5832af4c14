/*
 * vCPU throttling (sysemu/cpu-throttle.h): the VM's percentage, the run of
 * one throttled time slice on a vCPU thread, and the kicker thread that ends
 * the slices of accelerators that cannot end them themselves.  The sleep
 * itself is in cpus.c, where a vCPU parks.
 */
#include "vm-internal.h"

#include "sysemu/cpu-throttle.h"

int64_t cpu_throttle_sleep_us(int pct, int64_t run_us)
{
    g_assert(pct >= CPU_THROTTLE_PCT_MIN && pct <= CPU_THROTTLE_PCT_MAX);
    return run_us * pct / (100 - pct);
}

uint64_t cpu_throttle_next_slice(uint64_t insns, int64_t run_us)
{
    uint64_t next;

    if (run_us <= 0) {
        /* Too fast to measure: grow, so the next one can be. */
        next = insns * 2;
    } else {
        next = (uint64_t)((double)insns * CPU_THROTTLE_TIMESLICE_US / run_us);
    }
    return CLAMP(next, CPU_THROTTLE_SLICE_MIN_INSNS, CPU_THROTTLE_SLICE_MAX_INSNS);
}

int cpu_throttle_get_percentage(VM *vm)
{
    return __atomic_load_n(&vm->throttle_pct, __ATOMIC_RELAXED);
}

static void cpu_throttle_store(VM *vm, int pct)
{
    qemu_mutex_lock(&vm->throttle_lock);
    __atomic_store_n(&vm->throttle_pct, pct, __ATOMIC_RELAXED);
    qemu_cond_signal(&vm->throttle_cond);
    qemu_mutex_unlock(&vm->throttle_lock);
}

void cpu_throttle_set(VM *vm, int pct)
{
    cpu_throttle_store(vm, CLAMP(pct, CPU_THROTTLE_PCT_MIN, CPU_THROTTLE_PCT_MAX));
}

void cpu_throttle_stop(VM *vm)
{
    cpu_throttle_store(vm, 0);
}

VCPUExit cpu_throttle_run(VM *vm, CPUThrottleSlice *sl, AccelVCPU *vcpu,
                          GError **errp)
{
    int pct = cpu_throttle_get_percentage(vm);
    uint64_t done = 0;
    int64_t start, ran;
    VCPUExit why;

    sl->sleep_us = 0;
    if (!pct) {
        return vm->ops->vcpu_run(vcpu, &vm->io, errp);
    }
    start = g_get_monotonic_time();
    if (vm->ops->vcpu_run_for) {
        if (!sl->insns) {
            sl->insns = CPU_THROTTLE_SLICE_MIN_INSNS;
        }
        why = vm->ops->vcpu_run_for(vcpu, &vm->io, sl->insns, &done, errp);
    } else {
        why = vm->ops->vcpu_run(vcpu, &vm->io, errp);   /* the kicker ends it */
    }
    ran = g_get_monotonic_time() - start;
    /* Recalibrate on whole slices only: a kicked one says nothing of the speed. */
    if (vm->ops->vcpu_run_for && done == sl->insns) {
        sl->insns = cpu_throttle_next_slice(done, ran);
    }
    sl->sleep_us = cpu_throttle_sleep_us(pct, ran);
    return why;
}

/*
 * The kicker: while throttled, kick every vCPU once per time slice.  The
 * vCPU set is fixed between cpu_throttle_init() and cpu_throttle_cleanup(),
 * and vcpu_kick may be called from any thread, so no BQL is needed.
 */
static gpointer cpu_throttle_kicker_fn(gpointer opaque)
{
    VM *vm = opaque;

    qemu_mutex_lock(&vm->throttle_lock);
    while (!vm->throttle_exit) {
        if (!cpu_throttle_get_percentage(vm)) {
            qemu_cond_wait(&vm->throttle_cond, &vm->throttle_lock);
            continue;
        }
        qemu_mutex_unlock(&vm->throttle_lock);
        for (guint i = 0; i < vm->cpus->len; i++) {
            cpus_kick_one(vm, i);
        }
        qemu_mutex_lock(&vm->throttle_lock);
        qemu_cond_timedwait(&vm->throttle_cond, &vm->throttle_lock,
                            CPU_THROTTLE_TIMESLICE_US / 1000);
    }
    qemu_mutex_unlock(&vm->throttle_lock);
    return NULL;
}

void cpu_throttle_init(VM *vm)
{
    g_assert(!vm->throttle_kicker);
    if (!vm->ops->vcpu_run_for && vm->cpus->len > 0) {
        vm->throttle_exit = false;
        vm->throttle_kicker = g_thread_new("cpu-throttle", cpu_throttle_kicker_fn, vm);
    }
}

void cpu_throttle_cleanup(VM *vm)
{
    if (!vm->throttle_kicker) {
        return;
    }
    qemu_mutex_lock(&vm->throttle_lock);
    vm->throttle_exit = true;
    qemu_cond_signal(&vm->throttle_cond);
    qemu_mutex_unlock(&vm->throttle_lock);
    g_thread_join(vm->throttle_kicker);
    vm->throttle_kicker = NULL;
}
