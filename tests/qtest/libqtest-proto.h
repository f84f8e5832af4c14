/*
 * The client side of the qtest protocol (system/qtest.c): read and write a
 * running tern's guest memory and ports, as QEMU's libqtest does.  A test
 * starts tern with "-qtest unix:PATH,server=on,wait=off" (see
 * qtest_proto_arg()) and connects once qtest_init() has returned.  Every
 * helper fails the test when tern answers anything but OK.
 */
#ifndef LIBQTEST_PROTO_H
#define LIBQTEST_PROTO_H

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

typedef struct QTestProto QTestProto;

/* A socket path for -qtest in a fresh directory; g_free() it, and
 * qtest_proto_free() removes the directory. */
char *qtest_proto_socket_path(void);

/* "-qtest unix:@path,server=on,wait=off"; g_free() it. */
char *qtest_proto_arg(const char *path);

QTestProto *qtest_proto_connect(const char *path);
void qtest_proto_free(QTestProto *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QTestProto, qtest_proto_free)

/* Send one request line and return the reply line (without newline). */
char *qtest_proto_cmd(QTestProto *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

uint8_t qtest_readb(QTestProto *q, uint64_t addr);
uint16_t qtest_readw(QTestProto *q, uint64_t addr);
uint32_t qtest_readl(QTestProto *q, uint64_t addr);
uint64_t qtest_readq(QTestProto *q, uint64_t addr);
void qtest_writeb(QTestProto *q, uint64_t addr, uint8_t value);
void qtest_writew(QTestProto *q, uint64_t addr, uint16_t value);
void qtest_writel(QTestProto *q, uint64_t addr, uint32_t value);
void qtest_writeq(QTestProto *q, uint64_t addr, uint64_t value);

/* Bulk access ("read"/"write" with hex data; "b64read"/"b64write"). */
void qtest_memread(QTestProto *q, uint64_t addr, void *buf, size_t size);
void qtest_memwrite(QTestProto *q, uint64_t addr, const void *buf,
                    size_t size);
void qtest_bufread(QTestProto *q, uint64_t addr, void *buf, size_t size);
void qtest_bufwrite(QTestProto *q, uint64_t addr, const void *buf,
                    size_t size);
void qtest_memset(QTestProto *q, uint64_t addr, uint8_t value, size_t size);

/*
 * memset @size bytes at @addr, @addr + @stride, ... below @end: one request
 * per block, sent in batches without waiting for each reply in turn.
 */
void qtest_memset_strided(QTestProto *q, uint64_t addr, uint64_t end,
                          uint64_t stride, uint8_t value, size_t size);

uint8_t qtest_inb(QTestProto *q, uint16_t port);
uint16_t qtest_inw(QTestProto *q, uint16_t port);
uint32_t qtest_inl(QTestProto *q, uint16_t port);
void qtest_outb(QTestProto *q, uint16_t port, uint8_t value);
void qtest_outw(QTestProto *q, uint16_t port, uint16_t value);
void qtest_outl(QTestProto *q, uint16_t port, uint32_t value);

/* clock_step: @ns > 0 advances by @ns; returns the new clock value. */
int64_t qtest_clock_step(QTestProto *q, int64_t ns);

#endif
