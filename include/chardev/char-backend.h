/*
 * Creating character devices and the calls only their owners need (monitors,
 * main()).  The frontend view (read/event handlers, writing) is
 * include/chardev/char.h; the backends live in chardev/char-*.c.
 */
#ifndef CHARDEV_CHAR_BACKEND_H
#define CHARDEV_CHAR_BACKEND_H

#include "chardev/char.h"

/*
 * Create the chardev @id with backend @backend ("socket", "stdio", "file",
 * "null") from the options in @opts (string -> string, as parsed from
 * "-chardev socket,id=x,path=/p,server=on"; the keys "id" and "backend" are
 * ignored).  Registers it under @id for qemu_chr_find().  A socket server
 * with wait=on (QEMU's default) blocks here until the first client connects.
 * Main thread, at start-up.
 */
Chardev *qemu_chr_new(const char *id, const char *backend, GHashTable *opts,
                      GError **errp);

/*
 * Create a chardev from QEMU's shorthand used by -qmp, -monitor and -serial:
 * "stdio", "null", "file:PATH", "unix:PATH[,opts]", "tcp:HOST:PORT[,opts]"
 * (opts e.g. "server=on,wait=off").
 */
Chardev *qemu_chr_new_from_compat(const char *id, const char *spec,
                                  GError **errp);

/* Close @chr, unregister it and free it.  NULL-safe.  Main thread. */
void qemu_chr_delete(Chardev *chr);

/* Delete every registered chardev (at exit). */
void qemu_chr_cleanup_all(void);

/*
 * Like qemu_chr_set_handlers(), but the handlers run in the thread that
 * iterates @ctx (NULL: the main loop) -- the QMP monitors' I/O thread, where
 * the BQL is *not* held.
 */
void qemu_chr_set_handlers_full(Chardev *chr, ChrReadHandler read,
                                ChrEventHandler event, void *opaque,
                                GMainContext *ctx);

/*
 * Stop (true) or restart (false) reading from @chr; bytes wait in the kernel
 * meanwhile.  Any thread.  Used by monitors for flow control.
 */
void qemu_chr_set_paused(Chardev *chr, bool paused);

/* True while a peer is connected (always for stdio, file and null). */
bool qemu_chr_is_connected(Chardev *chr);

/*
 * Take the file descriptor received with SCM_RIGHTS alongside the most recent
 * bytes (unix sockets only).  Returns -1 if there is none; the caller owns
 * the returned fd.  Further fds received in the same message are closed.
 */
int qemu_chr_get_msgfd(Chardev *chr);

/*
 * Terminal echo for stdio on a tty: echo=false puts the terminal in raw mode
 * (no echo, no line buffering; ^C still interrupts) for a line editor;
 * echo=true restores it.  No effect on other backends.
 */
void qemu_chr_set_echo(Chardev *chr, bool echo);

#endif
