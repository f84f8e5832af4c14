/*
 * The fake clock and channel of tests/unit/migration-fakes.h.
 */
#include "migration-fakes.h"

#include <glib.h>
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
