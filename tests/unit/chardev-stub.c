/*
 * A test double for the chardev frontend API (include/chardev/char.h):
 * writes are captured in a buffer the test inspects, and the frontend's
 * read handler is kept so the test can deliver input.
 */
#include "chardev-stub.h"

#include <string.h>

struct Chardev {
    GString *written;
    ChrReadHandler read;
    ChrEventHandler event;
    void *opaque;
};

Chardev *stub_chr_new(void)
{
    Chardev *chr = g_new0(Chardev, 1);

    chr->written = g_string_new(NULL);
    return chr;
}

void stub_chr_free(Chardev *chr)
{
    g_string_free(chr->written, TRUE);
    g_free(chr);
}

GString *stub_chr_written(Chardev *chr)
{
    return chr->written;
}

void stub_chr_input(Chardev *chr, const char *data)
{
    g_assert(chr->read);
    chr->read(chr->opaque, (const uint8_t *)data, strlen(data));
}

bool stub_chr_has_frontend(Chardev *chr)
{
    return chr->read != NULL;
}

Chardev *qemu_chr_find(const char *id)
{
    return NULL;
}

ssize_t qemu_chr_write_all(Chardev *chr, const uint8_t *buf, size_t len)
{
    g_string_append_len(chr->written, (const char *)buf, len);
    return len;
}

void qemu_chr_set_handlers(Chardev *chr, ChrReadHandler read,
                           ChrEventHandler event, void *opaque)
{
    chr->read = read;
    chr->event = event;
    chr->opaque = opaque;
}
