/*
 * vCPU threads against a fake accelerator that spins (counting "guest
 * instructions" and doing port I/O) until kicked: stop parks every vCPU
 * synchronously, start resumes them, HLT parks, an error ends in
 * internal-error with the message kept, and state get/set needs a stopped VM.
 */
#include <glib.h>
#include <string.h>

#include "qapi/qmp-event.h"
#include "qemu/main-loop.h"
#include "sysemu/cpu-throttle.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

typedef enum { SPIN, HALT_NOW, FAIL_NOW } SpinMode;

struct AccelState {
    int unused;
};

struct AccelVCPU {
    int index;
    gint kicked;            /* atomic */
    gint64 steps;           /* atomic */
    gint in_run;            /* atomic: inside vcpu_run */
    gint mode;              /* atomic SpinMode */
    gint halts;             /* atomic: HALT exits so far */
    gint runs;              /* atomic: vcpu_run calls so far */
    X86CPUState env;
};

static AccelVCPU *spin_cpus[4];
static gint pio_writes;

static AccelVCPU *spin_vcpu_new(AccelState *s, int index, GError **errp)
{
    AccelVCPU *cpu = g_new0(AccelVCPU, 1);

    cpu->index = index;
    spin_cpus[index] = cpu;
    return cpu;
}

static void spin_vcpu_free(AccelVCPU *cpu)
{
    spin_cpus[cpu->index] = NULL;
    g_free(cpu);
}

static VCPUExit spin_vcpu_run(AccelVCPU *cpu, const CPUIOHandler *io,
                              GError **errp)
{
    VCPUExit ret = VCPU_EXIT_KICKED;

    g_atomic_int_set(&cpu->in_run, 1);
    g_atomic_int_inc(&cpu->runs);
    for (;;) {
        if (g_atomic_int_compare_and_exchange(&cpu->kicked, 1, 0)) {
            break;
        }
        if (g_atomic_int_get(&cpu->mode) == HALT_NOW) {
            g_atomic_int_set(&cpu->mode, SPIN);
            cpu->env.halted = true;
            g_atomic_int_inc(&cpu->halts);
            ret = VCPU_EXIT_HALT;
            break;
        }
        if (g_atomic_int_get(&cpu->mode) == FAIL_NOW) {
            g_atomic_int_set(&cpu->mode, SPIN);
            g_set_error(errp, g_quark_from_static_string("spin"), 0,
                        "unsupported instruction 0f 0b at EIP 0x%x",
                        cpu->env.eip);
            ret = VCPU_EXIT_ERROR;
            break;
        }
        cpu->env.eip++;
        if ((g_atomic_pointer_add(&cpu->steps, 1) & 1023) == 0) {
            io->pio_write(io->opaque, 0xe4, 4, 1);
        }
    }
    g_atomic_int_set(&cpu->in_run, 0);
    return ret;
}

static void spin_vcpu_kick(AccelVCPU *cpu)
{
    g_atomic_int_set(&cpu->kicked, 1);
}

static bool spin_get(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    *env = cpu->env;
    return true;
}

static bool spin_set(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    cpu->env = *env;
    return true;
}

static const AccelOps spin_ops = {
    .name = "spin",
    .vcpu_new = spin_vcpu_new,
    .vcpu_free = spin_vcpu_free,
    .vcpu_run = spin_vcpu_run,
    .vcpu_kick = spin_vcpu_kick,
    .vcpu_get_state = spin_get,
    .vcpu_set_state = spin_set,
};

static uint32_t io_read(void *opaque, uint16_t port, unsigned size)
{
    return 0;
}

static void io_write(void *opaque, uint16_t port, unsigned size, uint32_t v)
{
    bql_lock();
    pio_writes++;
    bql_unlock();
}

static const CPUIOHandler io = { io_read, io_write, NULL };

static void ignore_event(const char *event, JsonObject *data, void *opaque)
{
    if (data) {
        json_object_unref(data);
    }
}

/* A VM with @count vCPUs on the spinning accelerator; BQL held. */
static VM *setup(int count)
{
    g_autoptr(GError) err = NULL;
    VM *vm = vm_new();

    qapi_event_set_emitter(ignore_event, NULL);
    bql_lock();
    g_assert_true(cpus_create(vm, &spin_ops, NULL, count, &io, 0x10000,
                              0x10000, &err));
    return vm;
}

static void teardown(VM *vm)
{
    cpus_destroy(vm);
    bql_unlock();
    vm_free(vm);
    qapi_event_set_emitter(NULL, NULL);
}

static gint64 steps(int i)
{
    return g_atomic_pointer_get(&spin_cpus[i]->steps);
}

/* Wait (BQL released) until vCPU @i has made progress past @after. */
static void wait_progress(int i, gint64 after)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    bql_unlock();
    while (steps(i) <= after) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    bql_lock();
}

static void test_initial_state(void)
{
    VM *vm = setup(2);
    X86CPUState env;
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(cpus_count(vm), ==, 2);
    g_assert_true(cpu_get_state(vm, 0, &env, &err));
    g_assert_cmphex(env.eip, ==, 0x10000);
    g_assert_cmphex(env.regs[R_ESP], ==, 0x10000);
    g_assert_false(env.halted);
    g_assert_true(cpu_get_state(vm, 1, &env, &err));
    g_assert_true(env.halted);          /* extra vCPUs start halted */
    g_assert_false(cpu_get_state(vm, 2, &env, &err));
    g_assert_nonnull(strstr(err->message, "does not exist"));
    teardown(vm);
}

static void test_stop_parks_all(void)
{
    VM *vm = setup(1);
    gint64 s0;

    vm_start(vm);
    wait_progress(0, 0);
    for (int round = 0; round < 50; round++) {
        vm_stop(vm, RUN_STATE_PAUSED);
        /* stopped means stopped: nothing inside the accelerator, no steps */
        g_assert_cmpint(g_atomic_int_get(&spin_cpus[0]->in_run), ==, 0);
        s0 = steps(0);
        bql_unlock();
        g_usleep(round == 0 ? 20000 : 100);
        bql_lock();
        g_assert_cmpint(steps(0), ==, s0);
        vm_start(vm);
        wait_progress(0, s0);
    }
    g_assert_cmpint(pio_writes, >, 0);
    vm_stop(vm, RUN_STATE_PAUSED);
    teardown(vm);
}

static void test_state_needs_stop(void)
{
    VM *vm = setup(1);
    X86CPUState env;
    g_autoptr(GError) err = NULL;

    vm_start(vm);
    g_assert_false(cpu_get_state(vm, 0, &env, &err));
    g_assert_nonnull(strstr(err->message, "stop the VM first"));
    g_clear_error(&err);
    vm_stop(vm, RUN_STATE_PAUSED);
    g_assert_true(cpu_get_state(vm, 0, &env, &err));
    env.regs[R_EAX] = 0xfeedface;
    env.eip = 0x12345;
    g_assert_true(cpu_set_state(vm, 0, &env, &err));
    memset(&env, 0, sizeof(env));
    g_assert_true(cpu_get_state(vm, 0, &env, &err));
    g_assert_cmphex(env.regs[R_EAX], ==, 0xfeedface);
    g_assert_cmphex(env.eip, ==, 0x12345);
    teardown(vm);
}

static void test_halt_parks(void)
{
    VM *vm = setup(1);
    X86CPUState env;
    g_autoptr(GError) err = NULL;
    gint64 s0;

    vm_start(vm);
    wait_progress(0, 0);
    g_atomic_int_set(&spin_cpus[0]->mode, HALT_NOW);
    bql_unlock();
    while (!g_atomic_int_get(&spin_cpus[0]->halts)) {
        g_usleep(1000);
    }
    g_usleep(20000);
    bql_lock();
    s0 = steps(0);
    bql_unlock();
    g_usleep(20000);
    bql_lock();
    g_assert_cmpint(steps(0), ==, s0);
    g_assert_true(runstate_is_running(vm));
    /* stop/start does not wake it; clearing halted through set_state does */
    vm_stop(vm, RUN_STATE_PAUSED);
    g_assert_true(cpu_get_state(vm, 0, &env, &err));
    g_assert_true(env.halted);
    env.halted = false;
    g_assert_true(cpu_set_state(vm, 0, &env, &err));
    vm_start(vm);
    wait_progress(0, s0);
    vm_stop(vm, RUN_STATE_PAUSED);
    teardown(vm);
}

static void test_error_internal_error(void)
{
    VM *vm = setup(1);
    vm_start(vm);
    wait_progress(0, 0);
    g_atomic_int_set(&spin_cpus[0]->mode, FAIL_NOW);
    while (!runstate_check(vm, RUN_STATE_INTERNAL_ERROR)) {
        main_loop_iterate(true);
    }
    g_assert_nonnull(cpus_last_error(vm));
    g_assert_true(g_str_has_prefix(cpus_last_error(vm),
                                   "vCPU 0: unsupported instruction 0f 0b at "
                                   "EIP 0x"));
    g_assert_cmpint(g_atomic_int_get(&spin_cpus[0]->in_run), ==, 0);
    teardown(vm);
}

/* Wait (BQL released) until vCPU @i entered vcpu_run more than @after times. */
static void wait_runs(int i, gint after)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    bql_unlock();
    while (g_atomic_int_get(&spin_cpus[i]->runs) <= after) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    bql_lock();
}

/*
 * Throttled, an accelerator without an instruction budget is kicked out of
 * the guest slice after slice (nothing else kicks here); a stop parks the
 * vCPU even in the middle of a 99 % sleep, and unthrottled it runs on.
 */
static void test_throttle(void)
{
    VM *vm = setup(1);
    gint runs;

    vm_start(vm);
    wait_progress(0, 0);
    cpu_throttle_set(vm, 150);
    g_assert_cmpint(cpu_throttle_get_percentage(vm), ==, CPU_THROTTLE_PCT_MAX);
    cpu_throttle_set(vm, 50);
    g_assert_cmpint(cpu_throttle_get_percentage(vm), ==, 50);
    runs = g_atomic_int_get(&spin_cpus[0]->runs);
    wait_runs(0, runs + 3);
    cpu_throttle_set(vm, 99);
    runs = g_atomic_int_get(&spin_cpus[0]->runs);
    wait_runs(0, runs + 1);
    vm_stop(vm, RUN_STATE_PAUSED);
    g_assert_cmpint(g_atomic_int_get(&spin_cpus[0]->in_run), ==, 0);
    cpu_throttle_stop(vm);
    g_assert_cmpint(cpu_throttle_get_percentage(vm), ==, 0);
    vm_start(vm);
    wait_progress(0, steps(0));
    teardown(vm);
}

/* The throttle's arithmetic: the sleep pays for the run, the slice is ~10 ms of instructions. */
static void test_throttle_math(void)
{
    g_assert_cmpint(cpu_throttle_sleep_us(20, 10000), ==, 2500);
    g_assert_cmpint(cpu_throttle_sleep_us(50, 10000), ==, 10000);
    g_assert_cmpint(cpu_throttle_sleep_us(99, 10000), ==, 990000);
    g_assert_cmpuint(cpu_throttle_next_slice(100000, 5000), ==, 200000);
    g_assert_cmpuint(cpu_throttle_next_slice(100000, 20000), ==, 50000);
    g_assert_cmpuint(cpu_throttle_next_slice(5000, 0), ==, 10000);
    g_assert_cmpuint(cpu_throttle_next_slice(10, 1000000), ==,
                     CPU_THROTTLE_SLICE_MIN_INSNS);
    g_assert_cmpuint(cpu_throttle_next_slice(UINT64_C(1) << 40, 1), ==,
                     CPU_THROTTLE_SLICE_MAX_INSNS);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    g_test_add_func("/cpus/initial-state", test_initial_state);
    g_test_add_func("/cpus/stop-parks-all", test_stop_parks_all);
    g_test_add_func("/cpus/state-needs-stop", test_state_needs_stop);
    g_test_add_func("/cpus/halt-parks", test_halt_parks);
    g_test_add_func("/cpus/error-internal-error", test_error_internal_error);
    g_test_add_func("/cpus/throttle", test_throttle);
    g_test_add_func("/cpus/throttle-math", test_throttle_math);
    return g_test_run();
}
