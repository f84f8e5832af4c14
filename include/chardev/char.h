/*
 * Character devices as their users (serial, monitors, qtest) see them.
 * Backends (socket, stdio, file, null) live in chardev/char-*.c.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct Chardev Chardev;

/* Called in the main loop, BQL held, with bytes received from the backend. */
typedef void (*ChrReadHandler)(void *opaque, const uint8_t *buf, size_t len);
/* Called in the main loop, BQL held, when a client connects or disconnects. */
typedef void (*ChrEventHandler)(void *opaque, bool connected);

/* The chardev registered with -chardev id=@id (or an implicit one), or NULL. */
Chardev *qemu_chr_find(const char *id);

/*
 * Write all of @buf.  Any thread.  Returns @len, or -1 when nothing is
 * connected or the peer went away (the bytes are dropped, as a UART with no
 * cable drops them).
 */
ssize_t qemu_chr_write_all(Chardev *chr, const uint8_t *buf, size_t len);

/* Attach the frontend (one per chardev).  Pass NULLs to detach. */
void qemu_chr_set_handlers(Chardev *chr, ChrReadHandler read,
                           ChrEventHandler event, void *opaque);

#endif
