/*
 * Devices through the port-I/O map: the 16550A's registers, testdev's
 * counter and control, debug-exit's status, and the map's own rules.
 */
#include <glib.h>
#include <string.h>

#include "chardev-stub.h"
#include "hw/debug-exit.h"
#include "hw/device.h"
#include "hw/serial.h"
#include "hw/testdev.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"

#define COM1 0x3f8

typedef struct Fixture {
    IOPortMap *map;
    SerialState *serial;
    TestDevState *testdev;
    DeviceState *debug_exit;
    Chardev *chr;
} Fixture;

static DeviceState *add(Fixture *f, const char *type)
{
    DeviceState *dev = device_new(device_class_find(type), NULL);
    g_autoptr(GError) err = NULL;

    if (dev->klass == &serial_class) {
        serial_set_chardev((SerialState *)dev, f->chr);
    }
    g_assert_true(device_realize(dev, &err));
    g_assert_true(ioport_map_add(f->map, dev, &err));
    return dev;
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->map = ioport_map_new();
    f->chr = stub_chr_new();
    f->serial = (SerialState *)add(f, "serial");
    f->testdev = (TestDevState *)add(f, "testdev");
    f->debug_exit = add(f, "debug-exit");
    bql_lock();
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    bql_unlock();
    ioport_map_free(f->map);
    device_free(&f->serial->parent);
    device_free(&f->testdev->parent);
    device_free(f->debug_exit);
    stub_chr_free(f->chr);
}

static uint8_t inb(Fixture *f, uint16_t port)
{
    return ioport_read(f->map, port, 1);
}

static void outb(Fixture *f, uint16_t port, uint8_t v)
{
    ioport_write(f->map, port, 1, v);
}

static void test_type_table(void)
{
    g_assert_nonnull(device_class_find("serial"));
    g_assert_nonnull(device_class_find("debug-exit"));
    g_assert_nonnull(device_class_find("testdev"));
    g_assert_null(device_class_find("e1000"));
}

static void test_serial_reset_state(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(inb(f, COM1 + UART_LSR), ==, UART_LSR_THRE | UART_LSR_TEMT);
    g_assert_cmphex(inb(f, COM1 + UART_IIR), ==, UART_IIR_NO_INT);
    g_assert_cmphex(inb(f, COM1 + UART_IER), ==, 0);
    g_assert_cmphex(inb(f, COM1 + UART_MSR), ==, 0xb0);
}

static void test_serial_transmit(Fixture *f, gconstpointer data)
{
    outb(f, COM1, 'A');
    outb(f, COM1, 'B');
    g_assert_cmpstr(stub_chr_written(f->chr)->str, ==, "AB");
    g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_THRE, ==, UART_LSR_THRE);
}

static void test_serial_scratch_and_dlab(Fixture *f, gconstpointer data)
{
    outb(f, COM1 + UART_SCR, 0x5a);
    g_assert_cmphex(inb(f, COM1 + UART_SCR), ==, 0x5a);

    outb(f, COM1 + UART_LCR, UART_LCR_DLAB | 0x03);
    outb(f, COM1 + UART_DLL, 0x01);
    outb(f, COM1 + UART_DLM, 0x02);
    g_assert_cmphex(inb(f, COM1 + UART_DLL), ==, 0x01);
    g_assert_cmphex(inb(f, COM1 + UART_DLM), ==, 0x02);
    g_assert_cmphex(f->serial->divider, ==, 0x0201);
    outb(f, COM1 + UART_LCR, 0x03);
    g_assert_cmphex(inb(f, COM1 + UART_LCR), ==, 0x03);
    /* With DLAB clear, offset 0 is THR again: nothing reached the divisor. */
    outb(f, COM1, 'x');
    g_assert_cmphex(f->serial->divider, ==, 0x0201);
    g_assert_cmpstr(stub_chr_written(f->chr)->str, ==, "x");
}

static void test_serial_receive(Fixture *f, gconstpointer data)
{
    g_assert_true(stub_chr_has_frontend(f->chr));
    outb(f, COM1 + UART_FCR, UART_FCR_ENABLE);
    outb(f, COM1 + UART_IER, UART_IER_RDI);
    stub_chr_input(f->chr, "hi!");
    g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
    g_assert_cmphex(inb(f, COM1 + UART_IIR), ==,
                    UART_IIR_FIFO_ENABLED | UART_IIR_RDI);
    g_assert_cmpint(inb(f, COM1), ==, 'h');
    g_assert_cmpint(inb(f, COM1), ==, 'i');
    g_assert_cmpint(inb(f, COM1), ==, '!');
    g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_DR, ==, 0);
    g_assert_cmphex(inb(f, COM1 + UART_IIR), ==,
                    UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
}

static void test_serial_receive_backlog(Fixture *f, gconstpointer data)
{
    /* FIFOs off: one byte at a time, the rest waits on the host side. */
    stub_chr_input(f->chr, "0123456789abcdefXYZ");
    g_assert_cmpuint(f->serial->recv_fifo.num, ==, 1);
    for (const char *p = "0123456789abcdefXYZ"; *p; p++) {
        g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
        g_assert_cmpint(inb(f, COM1), ==, *p);
    }
    g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_DR, ==, 0);
}

static void test_serial_thri(Fixture *f, gconstpointer data)
{
    outb(f, COM1 + UART_IER, UART_IER_THRI);
    g_assert_cmphex(inb(f, COM1 + UART_IIR), ==, UART_IIR_THRI);
    /* reading IIR acknowledged it */
    g_assert_cmphex(inb(f, COM1 + UART_IIR), ==, UART_IIR_NO_INT);
    outb(f, COM1, 'z');
    g_assert_cmphex(inb(f, COM1 + UART_IIR), ==, UART_IIR_THRI);
}

static void test_serial_loopback(Fixture *f, gconstpointer data)
{
    outb(f, COM1 + UART_MCR, UART_MCR_LOOP | 0x03);     /* loop, DTR, RTS */
    g_assert_cmphex(inb(f, COM1 + UART_MSR) & 0xf0, ==,
                    UART_MSR_DSR | UART_MSR_CTS);
    outb(f, COM1, 'q');
    g_assert_cmpstr(stub_chr_written(f->chr)->str, ==, "");
    g_assert_cmpint(inb(f, COM1), ==, 'q');
    /* a second byte while the 1-byte holding register is full overruns */
    outb(f, COM1, '1');
    outb(f, COM1, '2');
    g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_OE, ==, UART_LSR_OE);
    g_assert_cmphex(inb(f, COM1 + UART_LSR) & UART_LSR_OE, ==, 0);
    g_assert_cmpint(inb(f, COM1), ==, '1');
}

static void test_testdev(Fixture *f, gconstpointer data)
{
    uint16_t base = testdev_class.pio_base;

    g_assert_cmphex(ioport_read(f->map, base + TESTDEV_COUNTER, 4), ==, 0);
    ioport_write(f->map, base + TESTDEV_INCREMENT, 4, 1);
    ioport_write(f->map, base + TESTDEV_INCREMENT, 4, 1);
    g_assert_cmphex(ioport_read(f->map, base + TESTDEV_COUNTER, 4), ==, 2);
    ioport_write(f->map, base + TESTDEV_COUNTER, 4, 0xfffffffe);
    ioport_write(f->map, base + TESTDEV_INCREMENT, 4, 3);
    g_assert_cmphex(f->testdev->counter, ==, 1);        /* wraps */
    g_assert_cmphex(ioport_read(f->map, base + TESTDEV_COUNTER + 1, 1), ==, 0);
    device_reset(&f->testdev->parent);
    g_assert_cmphex(f->testdev->counter, ==, 0);
}

static void blocker_hook(void *opaque, const char *reason, bool blocked)
{
    GString *log = opaque;

    g_assert_cmpstr(reason, ==, TESTDEV_BLOCKER_REASON);
    g_string_append(log, blocked ? "+" : "-");
}

static void test_testdev_blocker(Fixture *f, gconstpointer data)
{
    uint16_t ctl = testdev_class.pio_base + TESTDEV_CONTROL;
    g_autoptr(GString) log = g_string_new(NULL);

    testdev_set_blocker(f->testdev, &(DeviceBlocker){ blocker_hook, log });
    ioport_write(f->map, ctl, 4, TESTDEV_CONTROL_BLOCK_MIGRATION);
    g_assert_true(testdev_is_blocking_migration(f->testdev));
    ioport_write(f->map, ctl, 4, TESTDEV_CONTROL_BLOCK_MIGRATION);
    ioport_write(f->map, ctl, 4, 0);
    g_assert_false(testdev_is_blocking_migration(f->testdev));
    g_assert_cmpstr(log->str, ==, "+-");
    testdev_set_blocker(f->testdev, NULL);
}

static void test_debug_exit(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(debug_exit_status(0), ==, 1);
    g_assert_cmpint(debug_exit_status(0x21), ==, 0x43);
    ioport_write(f->map, 0xf4, 1, 3);
    g_assert_cmpint(main_loop_run(), ==, 7);
}

static void test_unassigned_ports(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(ioport_read(f->map, 0x80, 1), ==, 0xff);
    g_assert_cmphex(ioport_read(f->map, 0x80, 2), ==, 0xffff);
    g_assert_cmphex(ioport_read(f->map, 0x80, 4), ==, 0xffffffff);
    ioport_write(f->map, 0x80, 1, 0x12);
    /* an access straddling the end of a device's range is unassigned */
    g_assert_cmphex(ioport_read(f->map, 0x3fe, 4), ==, 0xffffffff);
}

static void test_overlap_rejected(void)
{
    g_autoptr(GError) err = NULL;
    IOPortMap *map = ioport_map_new();
    DeviceState *a = device_new(&testdev_class, "a");
    DeviceState *b = device_new(&testdev_class, "b");

    g_assert_true(ioport_map_add(map, a, &err));
    g_assert_false(ioport_map_add(map, b, &err));
    g_assert_nonnull(strstr(err->message, "overlap device 'a'"));
    ioport_map_free(map);
    device_free(a);
    device_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
#define ADD(path, fn) \
    g_test_add("/devices/" path, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
    g_test_add_func("/devices/type-table", test_type_table);
    ADD("serial/reset-state", test_serial_reset_state);
    ADD("serial/transmit", test_serial_transmit);
    ADD("serial/scratch-dlab", test_serial_scratch_and_dlab);
    ADD("serial/receive", test_serial_receive);
    ADD("serial/receive-backlog", test_serial_receive_backlog);
    ADD("serial/thri", test_serial_thri);
    ADD("serial/loopback", test_serial_loopback);
    ADD("testdev/counter", test_testdev);
    ADD("testdev/blocker", test_testdev_blocker);
    ADD("debug-exit", test_debug_exit);
    ADD("ioport/unassigned", test_unassigned_ports);
    g_test_add_func("/devices/ioport/overlap", test_overlap_rejected);
    return g_test_run();
}
