/*
 * The qtest protocol server (-qtest CHARDEV): QEMU's line-based text
 * protocol through which tests read and write guest memory and ports.  It
 * works with every accelerator; clock_step/clock_set exist only with the
 * qtest accelerator, as in QEMU.
 *
 * Requests and replies (numbers accept decimal, 0x hex and 0 octal):
 *   readb|readw|readl|readq ADDR        -> OK 0x%016x
 *   writeb|writew|writel|writeq ADDR V  -> OK
 *   read ADDR SIZE                      -> OK 0x<2*SIZE hex digits>
 *   write ADDR SIZE 0x<hex>             -> OK   (short data is zero-filled)
 *   b64read ADDR SIZE                   -> OK <base64>
 *   b64write ADDR SIZE <base64>         -> OK
 *   memset ADDR SIZE BYTE               -> OK   (SIZE 0 does nothing)
 *   inb|inw|inl PORT                    -> OK 0x%04x
 *   outb|outw|outl PORT V               -> OK
 *   endianness                          -> OK little
 *   clock_step [NS] / clock_set NS      -> OK <ns>
 * Anything wrong -> "FAIL <reason>" (QEMU asserts on malformed numbers;
 * tern answers FAIL).  Memory outside guest RAM also gives FAIL, where
 * QEMU would read ones and drop writes.  Writes mark the dirty log.
 */
#ifndef SYSEMU_QTEST_H
#define SYSEMU_QTEST_H

#include <glib.h>
#include <stdbool.h>

#include "chardev/char.h"
#include "sysemu/memory.h"

typedef struct QTestServer QTestServer;

/*
 * The guest memory the requests reach, and port I/O and clock hooks, so
 * the protocol is testable without a machine.  The port hooks are called
 * with the BQL held.
 */
typedef struct QTestOps {
    GuestMemory *memory;        /* borrowed; outlives the server */
    uint32_t (*pio_read)(void *opaque, uint16_t port, unsigned size);
    void (*pio_write)(void *opaque, uint16_t port, unsigned size, uint32_t v);
    void *opaque;
    bool has_clock;             /* the qtest accelerator is in use */
} QTestOps;

/* A server with no chardev; feed it lines with qtest_server_process_line. */
QTestServer *qtest_server_new(const QTestOps *ops);
void qtest_server_free(QTestServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QTestServer, qtest_server_free)

/* Attach @chr: bytes read from it are processed, replies are written to it. */
void qtest_server_attach(QTestServer *s, Chardev *chr);

/* Handle one request line (without its newline); returns the reply line
 * with its newline.  BQL held. */
char *qtest_server_process_line(QTestServer *s, const char *line);

/* Handle received bytes (complete lines are processed, the rest kept);
 * replies go to @out (appended).  BQL held. */
void qtest_server_feed(QTestServer *s, const char *buf, size_t len,
                       GString *out);

#endif
