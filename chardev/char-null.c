/*
 * The null chardev: swallows output, never produces input.
 */
#include "char-internal.h"

static const char *const null_opt_keys[] = { CHARDEV_COMMON_KEYS, NULL };

static bool null_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    chr->connected = true;
    return true;
}

static ssize_t null_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    return len;
}

static void null_close(Chardev *chr)
{
}

const ChardevClass chardev_null_class = {
    .name = "null",
    .instance_size = sizeof(Chardev),
    .opt_keys = null_opt_keys,
    .open = null_open,
    .write = null_write,
    .close = null_close,
};
