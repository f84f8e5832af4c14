/*
 * The fake clock, channel, machine and RAM blocks of
 * tests/unit/migration-fakes.h.
 */
#include "migration-fakes.h"

#include <glib.h>
#include <sys/mman.h>
#include <sys/uio.h>

static int64_t fake_clock_now_us(void *opaque)
{
    FakeClock *c = opaque;

    return c->now_us;
}

void fake_clock_init(FakeClock *c, int64_t start_us)
{
    c->clock = (MigrationClock) { .now_us = fake_clock_now_us, .opaque = c };
    c->now_us = start_us;
}

void fake_clock_advance_ms(FakeClock *c, int64_t ms)
{
    c->now_us += ms * 1000;
}

static bool fake_channel_writev(void *opaque, const struct iovec *iov, int iovcnt,
                                GError **errp)
{
    FakeChannel *ch = opaque;

    for (int i = 0; i < iovcnt; i++) {
        ch->written += iov[i].iov_len;
    }
    return true;
}

static const QEMUFileOps fake_channel_ops = {
    .writev = fake_channel_writev,
};

QEMUFile *fake_channel_file(FakeChannel *ch)
{
    return qemu_file_new(&fake_channel_ops, ch, true);
}

void fake_channel_put(QEMUFile *f, uint64_t n)
{
    static const uint8_t zeros[4096];

    while (n) {
        size_t chunk = MIN(n, sizeof(zeros));

        qemu_put_buffer(f, zeros, chunk);
        n -= chunk;
    }
}

static bool fake_machine_uuid(void *opaque, uint8_t uuid[16])
{
    return false;
}

static RunState fake_machine_get_state(void *opaque)
{
    return ((FakeMachine *)opaque)->state;
}

static void fake_machine_set_state(void *opaque, RunState state)
{
    ((FakeMachine *)opaque)->state = state;
}

static bool fake_machine_may_enter(void *opaque, RunState state)
{
    return true;
}

static bool fake_machine_autostart(void *opaque)
{
    return ((FakeMachine *)opaque)->autostart;
}

static void fake_machine_start(void *opaque)
{
    FakeMachine *m = opaque;

    m->vm_starts++;
    m->state = RUN_STATE_RUNNING;
}

static void fake_machine_stop(void *opaque, RunState state)
{
    FakeMachine *m = opaque;

    m->vm_stops++;
    m->state = state;
}

static bool fake_machine_dirty_log_start(void *opaque, GError **errp)
{
    ((FakeMachine *)opaque)->dirty_log_starts++;
    return true;
}

static void fake_machine_dirty_log_stop(void *opaque)
{
    ((FakeMachine *)opaque)->dirty_log_stops++;
}

static void fake_machine_throttle_set(void *opaque, int pct)
{
    FakeMachine *m = opaque;

    if (pct) {
        __atomic_add_fetch(&m->throttle_sets, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&m->throttle_pct, pct, __ATOMIC_RELAXED);
}

static int fake_machine_throttle_get(void *opaque)
{
    return __atomic_load_n(&((FakeMachine *)opaque)->throttle_pct, __ATOMIC_RELAXED);
}

void fake_machine_init(FakeMachine *m, RunState state)
{
    *m = (FakeMachine) {
        .ops = {
            .machine_type = FAKE_MACHINE_TYPE,
            .uuid = fake_machine_uuid,
            .get_state = fake_machine_get_state,
            .set_state = fake_machine_set_state,
            .may_enter = fake_machine_may_enter,
            .autostart = fake_machine_autostart,
            .start = fake_machine_start,
            .stop = fake_machine_stop,
            .dirty_log_start = fake_machine_dirty_log_start,
            .dirty_log_stop = fake_machine_dirty_log_stop,
            .throttle_set = fake_machine_throttle_set,
            .throttle_get = fake_machine_throttle_get,
            .opaque = m,
        },
        .state = state,
        .autostart = true,
    };
}

void fake_ram_block_free(gpointer p)
{
    RAMBlock *rb = p;

    munmap(rb->host, rb->used_length);
    g_free(rb->bmap);
    g_free(rb->receivedmap);     /* postcopy's, where a test advised it */
    g_free(rb->requestedmap);
    g_free(rb->idstr);
    g_free(rb);
}
