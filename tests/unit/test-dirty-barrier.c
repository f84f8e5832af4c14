/*
 * The dirty log collect where membarrier(2) is missing (system/memory.c):
 * a store that a vCPU made but that was not yet visible when the collector
 * cleared its page's bit must be in what the collector reads afterwards,
 * or reported by the next collect; never lost.
 *
 * A fake accelerator plays the vCPU and holds one store back, like a store
 * buffer: it checks the page's dirty bit (set, so it skips the mark, as
 * set_bit_atomic() does), then stores only once kicked out of the
 * accelerator or once the collector has read the page.  Pausing the vCPUs
 * around the collect kicks it first; a fence on the collecting thread alone
 * would read the page before the store and lose it.  membarrier drains a
 * real store buffer but not this simulated one, so only the pause is tested.
 */
#include <glib.h>
#include <string.h>

#include "qemu/bitmap.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"
#include "sysemu/memory.h"
#include "sysemu/runstate.h"

#define TEST_PAGES 16
#define TEST_PAGE 5                 /* the page the vCPU writes */
#define NEW_BYTE 0x5a
#define WAIT_US (10 * G_USEC_PER_SEC)

struct AccelState {
    int unused;
};

struct AccelVCPU {
    X86CPUState env;
};

/* The vCPU's script, shared between its thread and the test's. */
static struct {
    GMutex lock;
    GCond cond;                 /* any field below changed */
    RAMBlock *rb;
    bool kicked;
    int runs;                   /* vcpu_run entries */
    bool arm;                   /* next run: hold one store back */
    bool holding;               /* the bit was checked, the store waits */
    bool page_read;             /* the collector has read the page */
} script;

static void script_wait(bool *flag)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;

    while (!*flag) {
        if (!g_cond_wait_until(&script.cond, &script.lock, deadline)) {
            g_error("the fake vCPU did not get there within 10 s");
        }
    }
}

static bool page_bit_set(const RAMBlock *rb)
{
    return __atomic_load_n(&rb->dirty_log[BIT_WORD(TEST_PAGE)],
                           __ATOMIC_RELAXED) & BIT_MASK(TEST_PAGE);
}

static VCPUExit buffered_vcpu_run(AccelVCPU *cpu, const CPUIOHandler *io,
                                  GError **errp)
{
    g_mutex_lock(&script.lock);
    script.runs++;
    g_cond_broadcast(&script.cond);
    if (script.arm) {
        script.arm = false;
        g_assert_true(page_bit_set(script.rb));     /* so: no mark */
        script.holding = true;
        g_cond_broadcast(&script.cond);
        while (!script.kicked && !script.page_read) {
            g_cond_wait(&script.cond, &script.lock);
        }
        script.rb->host[TEST_PAGE * TARGET_PAGE_SIZE] = NEW_BYTE;
    }
    while (!script.kicked) {
        g_cond_wait(&script.cond, &script.lock);
    }
    script.kicked = false;
    g_mutex_unlock(&script.lock);
    return VCPU_EXIT_KICKED;
}

static void buffered_vcpu_kick(AccelVCPU *cpu)
{
    g_mutex_lock(&script.lock);
    script.kicked = true;
    g_cond_broadcast(&script.cond);
    g_mutex_unlock(&script.lock);
}

static AccelVCPU *buffered_vcpu_new(AccelState *s, int index, GError **errp)
{
    return g_new0(AccelVCPU, 1);
}

static void buffered_vcpu_free(AccelVCPU *cpu)
{
    g_free(cpu);
}

static bool buffered_get(AccelVCPU *cpu, X86CPUState *env, GError **errp)
{
    *env = cpu->env;
    return true;
}

static bool buffered_set(AccelVCPU *cpu, const X86CPUState *env, GError **errp)
{
    cpu->env = *env;
    return true;
}

static const AccelOps buffered_ops = {
    .name = "buffered",
    .vcpu_new = buffered_vcpu_new,
    .vcpu_free = buffered_vcpu_free,
    .vcpu_run = buffered_vcpu_run,
    .vcpu_kick = buffered_vcpu_kick,
    .vcpu_get_state = buffered_get,
    .vcpu_set_state = buffered_set,
};

static uint32_t io_read(void *opaque, uint16_t port, unsigned size)
{
    return 0;
}

static void io_write(void *opaque, uint16_t port, unsigned size, uint32_t v)
{
}

static const CPUIOHandler io = { io_read, io_write, NULL };

static void test_store_during_collect_not_lost(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree unsigned long *first = bitmap_new(TEST_PAGES);
    g_autofree unsigned long *second = bitmap_new(TEST_PAGES);
    g_autoptr(GuestMemory) gm = guest_memory_new();
    g_autoptr(VM) vm = vm_new();
    AccelState accel = { 0 };
    RAMBlock *rb;
    uint8_t seen;

    memory_dirty_barrier_force_pause(gm, true);
    bql_lock();
    rb = memory_add_main_ram(gm, TEST_PAGES * TARGET_PAGE_SIZE, &err);
    g_assert_no_error(err);
    g_assert_true(memory_map_block(gm, rb, 0, &err));
    g_assert_true(cpus_create(vm, &buffered_ops, &accel, 1, &io, 0, 0, &err));
    memory_set_accel(gm, &buffered_ops, &accel, vm);
    g_assert_true(memory_dirty_log_start(gm, &err));
    /* An earlier write to the page, not collected yet. */
    set_bit_atomic(TEST_PAGE, rb->dirty_log);
    script.rb = rb;
    script.arm = true;
    vm_start(vm);
    bql_unlock();

    g_mutex_lock(&script.lock);
    script_wait(&script.holding);
    g_mutex_unlock(&script.lock);

    /* The migration thread's collect (no BQL), then its read of the page. */
    g_assert_true(memory_sync_dirty(gm, rb, first, &err));
    g_assert_true(test_bit(TEST_PAGE, first));
    seen = rb->host[TEST_PAGE * TARGET_PAGE_SIZE];
    g_mutex_lock(&script.lock);
    script.page_read = true;
    g_cond_broadcast(&script.cond);
    g_mutex_unlock(&script.lock);

    /* The next collect, which reports the page if the first missed it. */
    g_assert_true(memory_sync_dirty(gm, rb, second, &err));
    g_assert_no_error(err);
    if (seen != NEW_BYTE && !test_bit(TEST_PAGE, second)) {
        g_error("a store made during the collect was lost: page %d read as "
                "0x%02x and not reported dirty again", TEST_PAGE, seen);
    }
    g_assert_cmpint(seen, ==, NEW_BYTE);    /* the pause made it visible */

    /* The collects parked the vCPU for a moment only: it runs again. */
    g_mutex_lock(&script.lock);
    while (script.runs < 2) {
        gint64 deadline = g_get_monotonic_time() + WAIT_US;

        if (!g_cond_wait_until(&script.cond, &script.lock, deadline)) {
            g_error("the vCPU did not run again after the collect");
        }
    }
    g_mutex_unlock(&script.lock);
    bql_lock();
    g_assert_cmpint(runstate_get(vm), ==, RUN_STATE_RUNNING);
    vm_stop(vm, RUN_STATE_PAUSED);
    /* The switchover's collect: VM stopped, BQL already held. */
    g_assert_true(memory_sync_dirty(gm, rb, first, &err));
    g_assert_no_error(err);

    cpus_destroy(vm);
    bql_unlock();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_mutex_init(&script.lock);
    g_cond_init(&script.cond);
    g_test_add_func("/memory/dirty-barrier/pause/store-during-collect",
                    test_store_during_collect_not_lost);
    return g_test_run();
}
