/*
 * The VM object: created empty (prelaunch, autostart, no vCPUs) and freed
 * once its vCPUs are gone.  What it holds is run by runstate.c, cpus.c
 * and shutdown.c.
 */
#include "vm-internal.h"

#include "sysemu/dirty-limit.h"

VM *vm_new(void)
{
    VM *vm = g_new0(VM, 1);

    vm->state = RUN_STATE_PRELAUNCH;
    vm->autostart = true;
    vm->dirty_limit_period_us = DIRTY_LIMIT_PERIOD_US;
    vm->stop_requests = g_async_queue_new();
    vm->shutdown_requests = g_async_queue_new();
    qemu_cond_init(&vm->parked_cond);
    qemu_mutex_init(&vm->throttle_lock);
    qemu_cond_init(&vm->throttle_cond);
    return vm;
}

void vm_free(VM *vm)
{
    if (!vm) {
        return;
    }
    g_assert(!vm->cpus);
    g_list_free_full(vm->notifiers, g_free);
    g_async_queue_unref(vm->stop_requests);
    g_async_queue_unref(vm->shutdown_requests);
    qemu_cond_destroy(&vm->parked_cond);
    qemu_mutex_destroy(&vm->throttle_lock);
    qemu_cond_destroy(&vm->throttle_cond);
    g_free(vm->name);
    g_free(vm);
}
