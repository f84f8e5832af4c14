/*
 * The devices' VMState descriptions (hw/serial.c, hw/testdev.c) through
 * the memory-buffer QEMUFile: exact bytes against QEMU's "serial" layout,
 * subsections, round trips into a fresh device, the vmdesc shape, and
 * streams whose values post_load rejects, which must leave the device as
 * it was.
 */
#include <glib.h>
#include <string.h>

#include "hw/serial.h"
#include "hw/testdev.h"
#include "migration/vmstate.h"
#include "qemu/error.h"

/* ---- helpers ---- */

static GBytes *save_bytes(const VMStateDescription *vmsd, void *opaque)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    GBytes *bytes;

    g_assert_true(vmstate_save_state(out, vmsd, opaque, NULL, &err));
    g_assert_no_error(err);
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_true(qemu_fclose(out, NULL));
    return bytes;
}

/* Load @len bytes into @opaque with stream version @version; the error or NULL. */
static GError *load_bytes(const VMStateDescription *vmsd, void *opaque,
                          int version, const void *data, size_t len)
{
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    GError *err = NULL;

    if (vmstate_load_state(in, vmsd, opaque, version, &err)) {
        g_assert_cmpuint(qemu_file_tell(in), ==, len);
    }
    qemu_fclose(in, NULL);
    return err;
}

static void assert_error_has(GError *err, const char *what)
{
    g_assert_nonnull(err);
    if (!strstr(err->message, what)) {
        g_error("error '%s' does not mention '%s'", err->message, what);
    }
}

static DeviceState *device_make(const DeviceClass *klass)
{
    g_autoptr(GError) err = NULL;
    DeviceState *dev = device_new(klass, klass->name);

    g_assert_true(device_realize(dev, &err));
    device_reset(dev);
    return dev;
}

/* ---- serial ---- */

#define SERIAL_VERSION 3

static SerialState *serial_make(void)
{
    return (SerialState *)device_make(&serial_class);
}

static void serial_out(SerialState *s, uint16_t reg, uint8_t v)
{
    serial_class.pio_write(&s->parent, reg, 1, v);
}

static uint8_t serial_in(SerialState *s, uint16_t reg)
{
    return serial_class.pio_read(&s->parent, reg, 1);
}

/* The migrated part of SerialState, compared field by field. */
static void assert_serial_equal(const SerialState *a, const SerialState *b)
{
    g_assert_cmphex(a->divider, ==, b->divider);
    g_assert_cmphex(a->rbr, ==, b->rbr);
    g_assert_cmphex(a->ier, ==, b->ier);
    g_assert_cmphex(a->iir, ==, b->iir);
    g_assert_cmphex(a->lcr, ==, b->lcr);
    g_assert_cmphex(a->mcr, ==, b->mcr);
    g_assert_cmphex(a->lsr, ==, b->lsr);
    g_assert_cmphex(a->msr, ==, b->msr);
    g_assert_cmphex(a->scr, ==, b->scr);
    g_assert_cmphex(a->fcr, ==, b->fcr);
    g_assert_cmpint(a->thr_ipending, ==, b->thr_ipending);
    g_assert_cmpuint(a->recv_fifo.head, ==, b->recv_fifo.head);
    g_assert_cmpuint(a->recv_fifo.num, ==, b->recv_fifo.num);
    for (uint32_t i = 0; i < a->recv_fifo.num; i++) {
        uint32_t at = (a->recv_fifo.head + i) % SERIAL_FIFO_SIZE;

        g_assert_cmphex(a->recv_fifo.data[at], ==, b->recv_fifo.data[at]);
    }
}

/*
 * A freshly reset 16550A: QEMU's serial_reset() leaves the same values, so
 * these are the bytes QEMU writes for its "serial" section after reset
 * (divider be16, rbr, ier, iir, lcr, mcr, lsr, msr, scr, fcr_vmstate; no
 * subsection is needed).
 */
static void test_serial_reset_bytes(void)
{
    static const uint8_t expect[] = {
        0x00, 0x0c, 0x00, 0x00, 0x01, 0x00, 0x08, 0x60, 0xb0, 0x00, 0x00,
    };
    SerialState *s = serial_make();
    g_autoptr(GBytes) bytes = save_bytes(serial_class.vmsd, s);

    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    expect, sizeof(expect));
    device_free(&s->parent);
}

static void test_serial_field_bytes(void)
{
    static const uint8_t expect[] = {
        0x04, 0x81,                 /* divider 0x0481 */
        0x00,                       /* rbr */
        0x05,                       /* ier RDI | RLSI */
        0xc1,                       /* iir: no interrupt, FIFOs on */
        0x1b,                       /* lcr */
        0x0b,                       /* mcr */
        0x60,                       /* lsr THRE | TEMT */
        0xb0,                       /* msr */
        0x5a,                       /* scr */
        0xc1,                       /* fcr_vmstate: FIFO on, trigger 14 */
    };
    SerialState *s = serial_make();
    g_autoptr(GBytes) bytes = NULL;

    serial_out(s, UART_LCR, UART_LCR_DLAB);
    serial_out(s, UART_DLL, 0x81);
    serial_out(s, UART_DLM, 0x04);
    serial_out(s, UART_LCR, 0x1b);
    serial_out(s, UART_IER, UART_IER_RDI | UART_IER_RLSI);
    serial_out(s, UART_FCR, 0xc1);
    serial_out(s, UART_MCR, 0x0b);
    serial_out(s, UART_SCR, 0x5a);
    bytes = save_bytes(serial_class.vmsd, s);
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    expect, sizeof(expect));
    device_free(&s->parent);
}

/* The serial/recv_fifo subsection: QEMU's Fifo8 (16 data bytes, head, num). */
static void test_serial_fifo_subsection_bytes(void)
{
    static const char name[] = "serial/recv_fifo";
    SerialState *s = serial_make();
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *p;
    size_t len;

    serial_out(s, UART_FCR, UART_FCR_ENABLE);
    serial_receive(s, (const uint8_t *)"abc", 3);
    g_assert_cmpint(serial_in(s, UART_RBR), ==, 'a');
    bytes = save_bytes(serial_class.vmsd, s);
    p = g_bytes_get_data(bytes, &len);
    g_assert_cmpuint(len, ==, 11 + 1 + 1 + 16 + 4 + 16 + 4 + 4);
    g_assert_cmphex(p[7], ==, UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
    g_assert_cmphex(p[11], ==, 0x05);
    g_assert_cmpuint(p[12], ==, strlen(name));
    g_assert_cmpmem(p + 13, 16, name, 16);
    g_assert_cmpmem(p + 29, 4, "\x00\x00\x00\x01", 4);
    g_assert_cmpmem(p + 33, 3, "abc", 3);
    g_assert_cmpmem(p + 49, 4, "\x00\x00\x00\x01", 4);      /* head */
    g_assert_cmpmem(p + 53, 4, "\x00\x00\x00\x02", 4);      /* num */
    device_free(&s->parent);
}

/* A serial with every kind of state: FIFO data, divisor, interrupts. */
static SerialState *serial_busy(void)
{
    SerialState *s = serial_make();

    serial_out(s, UART_LCR, UART_LCR_DLAB);
    serial_out(s, UART_DLL, 0x01);
    serial_out(s, UART_LCR, 0x03);
    serial_out(s, UART_FCR, UART_FCR_ENABLE);
    serial_out(s, UART_SCR, 0x77);
    serial_out(s, UART_IER, UART_IER_RDI | UART_IER_THRI);
    serial_out(s, UART_THR, 'x');             /* THR empty again: pending */
    serial_receive(s, (const uint8_t *)"0123456789", 10);
    g_assert_cmpint(serial_in(s, UART_RBR), ==, '0');
    g_assert_cmpint(serial_in(s, UART_RBR), ==, '1');
    serial_receive(s, (const uint8_t *)"ABCDEFGHIJKL", 12);    /* wraps */
    return s;
}

static void test_serial_roundtrip(void)
{
    SerialState *src = serial_busy();
    SerialState *dst = serial_make();
    g_autoptr(GBytes) bytes = save_bytes(serial_class.vmsd, src);
    GError *err;
    size_t len;
    const uint8_t *p = g_bytes_get_data(bytes, &len);

    /* RDI shows in IIR over the pending THRI: thr_ipending travels too. */
    g_assert_cmphex(src->iir & 0x0f, ==, UART_IIR_RDI);
    g_assert_nonnull(memmem(p, len, "serial/thr_ipending", 19));
    g_assert_nonnull(memmem(p, len, "serial/recv_fifo", 16));
    err = load_bytes(serial_class.vmsd, dst, SERIAL_VERSION, p, len);
    g_assert_no_error(err);
    assert_serial_equal(src, dst);
    /* The destination goes on where the source was. */
    for (const char *c = "23456789ABCDEFGH"; *c; c++) {
        g_assert_cmpint(serial_in(dst, UART_RBR), ==, *c);
        g_assert_cmpint(serial_in(src, UART_RBR), ==, *c);
    }
    g_assert_cmphex(serial_in(dst, UART_LSR) & UART_LSR_DR, ==, 0);
    g_assert_cmphex(serial_in(dst, UART_IIR) & 0x0f, ==, UART_IIR_THRI);
    device_free(&src->parent);
    device_free(&dst->parent);
}

/* QEMU keeps a byte received with FIFOs off in RBR, with no FIFO subsection. */
static void test_serial_qemu_rbr_byte(void)
{
    static const uint8_t stream[] = {
        0x00, 0x0c, 'Q', 0x01, 0x04, 0x03, 0x08, 0x61, 0xb0, 0x00, 0x00,
    };
    SerialState *s = serial_make();
    GError *err = load_bytes(serial_class.vmsd, s, SERIAL_VERSION, stream,
                             sizeof(stream));

    g_assert_no_error(err);
    g_assert_cmphex(serial_in(s, UART_IIR), ==, UART_IIR_RDI);
    g_assert_cmpint(serial_in(s, UART_RBR), ==, 'Q');
    g_assert_cmphex(serial_in(s, UART_LSR) & UART_LSR_DR, ==, 0);
    g_assert_cmpint(s->thr_ipending, ==, 0);
    device_free(&s->parent);
}

typedef struct SerialBad {
    size_t offset;              /* into the serial_busy() stream */
    uint8_t value;
    const char *error;
} SerialBad;

/* Offsets in serial_busy()'s stream: 11 field bytes, then thr_ipending. */
#define THR_SUB     11
#define THR_VALUE   (THR_SUB + 2 + 19 + 4)
#define FIFO_SUB    (THR_VALUE + 4)
#define FIFO_DATA   (FIFO_SUB + 2 + 16 + 4)
#define FIFO_HEAD   (FIFO_DATA + 16)
#define FIFO_NUM    (FIFO_HEAD + 4)

static const SerialBad serial_bad[] = {
    { 3, 0x1f, "invalid IER 0x1f" },
    { 6, 0x20, "invalid MCR 0x20" },
    { 10, 0x03, "invalid FCR 0x03" },
    { 7, 0x01, "transmitter not empty" },
    { 7, 0x60, "LSR.DR is clear" },
    { THR_VALUE + 3, 0x07, "invalid thr_ipending 7" },
    { FIFO_HEAD + 3, 0x10, "head 16 out of range" },
    { FIFO_NUM + 3, 0x11, "holds 17 bytes" },
    { FIFO_SUB + 2 + 7, 'X', "subsection 'serial/Xecv_fifo' does not exist" },
};

static void test_serial_bad_values(void)
{
    SerialState *src = serial_busy();
    g_autoptr(GBytes) bytes = save_bytes(serial_class.vmsd, src);
    size_t len;
    const uint8_t *p = g_bytes_get_data(bytes, &len);

    g_assert_cmpuint(len, ==, FIFO_NUM + 4);
    g_assert_cmpmem(p + THR_SUB + 2, 19, "serial/thr_ipending", 19);
    for (size_t i = 0; i < G_N_ELEMENTS(serial_bad); i++) {
        g_autofree uint8_t *bad = g_memdup2(p, len);
        SerialState *dst = serial_make();
        SerialState before;
        GError *err;

        serial_out(dst, UART_SCR, 0x42);
        serial_out(dst, UART_IER, UART_IER_MSI);
        serial_receive(dst, (const uint8_t *)"z", 1);
        before = *dst;
        bad[serial_bad[i].offset] = serial_bad[i].value;
        err = load_bytes(serial_class.vmsd, dst, SERIAL_VERSION, bad, len);
        assert_error_has(err, serial_bad[i].error);
        g_test_message("rejected: %s", err->message);
        g_error_free(err);
        assert_serial_equal(&before, dst);
        g_assert_cmpint(serial_in(dst, UART_RBR), ==, 'z');
        device_free(&dst->parent);
    }
    device_free(&src->parent);
}

static void test_serial_versions(void)
{
    SerialState *src = serial_make();
    SerialState *dst = serial_make();
    g_autoptr(GBytes) bytes = save_bytes(serial_class.vmsd, src);
    size_t len;
    const void *p = g_bytes_get_data(bytes, &len);
    GError *err;

    err = load_bytes(serial_class.vmsd, dst, 4, p, len);
    assert_error_has(err, "too new");
    g_error_free(err);
    err = load_bytes(serial_class.vmsd, dst, 1, p, len);
    assert_error_has(err, "too old");
    g_error_free(err);
    err = load_bytes(serial_class.vmsd, dst, 2, p, len);
    g_assert_no_error(err);
    device_free(&src->parent);
    device_free(&dst->parent);
}

static JsonObject *object_member(JsonObject *o, const char *name)
{
    g_assert_true(json_object_has_member(o, name));
    return json_object_get_object_member(o, name);
}

/* The vmdesc has QEMU's isa-serial shape: one struct "state" of vmsd "serial". */
static void test_serial_vmdesc(void)
{
    static const char *const names[] = {
        "divider", "rbr", "ier", "iir", "lcr", "mcr", "lsr", "msr", "scr",
        "fcr_vmstate",
    };
    SerialState *s = serial_busy();
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) root = NULL;
    JsonObject *top, *field, *core;
    JsonArray *fields, *subs;

    json_builder_begin_object(b);
    g_assert_true(vmstate_save_state(out, serial_class.vmsd, s, b, &err));
    json_builder_end_object(b);
    qemu_fclose(out, NULL);
    root = json_builder_get_root(b);
    top = json_node_get_object(root);
    g_assert_cmpstr(json_object_get_string_member(top, "vmsd_name"), ==, "serial");
    g_assert_cmpint(json_object_get_int_member(top, "version"), ==, 3);
    fields = json_object_get_array_member(top, "fields");
    g_assert_cmpuint(json_array_get_length(fields), ==, 1);
    field = json_array_get_object_element(fields, 0);
    g_assert_cmpstr(json_object_get_string_member(field, "name"), ==, "state");
    g_assert_cmpstr(json_object_get_string_member(field, "type"), ==, "struct");
    core = object_member(field, "struct");
    g_assert_cmpstr(json_object_get_string_member(core, "vmsd_name"), ==, "serial");
    fields = json_object_get_array_member(core, "fields");
    g_assert_cmpuint(json_array_get_length(fields), ==, G_N_ELEMENTS(names));
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);

        g_assert_cmpstr(json_object_get_string_member(f, "name"), ==, names[i]);
        g_assert_cmpint(json_object_get_int_member(f, "size"), ==, i ? 1 : 2);
    }
    subs = json_object_get_array_member(core, "subsections");
    g_assert_cmpuint(json_array_get_length(subs), ==, 2);
    g_assert_cmpstr(json_object_get_string_member(
                        json_array_get_object_element(subs, 0), "vmsd_name"),
                    ==, "serial/thr_ipending");
    field = json_array_get_object_element(
        json_object_get_array_member(json_array_get_object_element(subs, 1),
                                     "fields"), 0);
    g_assert_cmpstr(json_object_get_string_member(object_member(field, "struct"),
                                                  "vmsd_name"), ==, "Fifo8");
    device_free(&s->parent);
}

/* ---- testdev ---- */

typedef struct BlockerLog {
    int calls;
    bool blocked;
} BlockerLog;

static void blocker_hook(void *opaque, const char *reason, bool blocked)
{
    BlockerLog *log = opaque;

    log->calls++;
    log->blocked = blocked;
}

static void test_testdev_roundtrip(void)
{
    TestDevState *src = (TestDevState *)device_make(&testdev_class);
    TestDevState *dst = (TestDevState *)device_make(&testdev_class);
    BlockerLog log = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    GError *err;

    testdev_class.pio_write(&src->parent, TESTDEV_COUNTER, 4, 0xdeadbeef);
    testdev_class.pio_write(&src->parent, TESTDEV_CONTROL, 4, 1);
    bytes = save_bytes(testdev_class.vmsd, src);
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    "\xde\xad\xbe\xef\x00\x00\x00\x01", 8);
    testdev_set_blocker(dst, &(DeviceBlocker){ blocker_hook, &log });
    err = load_bytes(testdev_class.vmsd, dst, 1, g_bytes_get_data(bytes, NULL),
                     g_bytes_get_size(bytes));
    g_assert_no_error(err);
    g_assert_cmphex(dst->counter, ==, 0xdeadbeef);
    g_assert_true(testdev_is_blocking_migration(dst));
    /* loading "blocked" asks for the blocker as a guest write would */
    g_assert_cmpint(log.calls, ==, 1);
    g_assert_true(log.blocked);
    /* loading the same again changes nothing */
    err = load_bytes(testdev_class.vmsd, dst, 1, g_bytes_get_data(bytes, NULL),
                     g_bytes_get_size(bytes));
    g_assert_no_error(err);
    g_assert_cmpint(log.calls, ==, 1);
    device_free(&src->parent);
    device_free(&dst->parent);
}

static void test_testdev_bad_control(void)
{
    TestDevState *dst = (TestDevState *)device_make(&testdev_class);
    BlockerLog log = { 0 };
    GError *err;

    testdev_class.pio_write(&dst->parent, TESTDEV_COUNTER, 4, 7);
    testdev_set_blocker(dst, &(DeviceBlocker){ blocker_hook, &log });
    err = load_bytes(testdev_class.vmsd, dst, 1,
                     "\x00\x00\x00\x09\x00\x00\x00\x03", 8);
    assert_error_has(err, "invalid CONTROL 0x00000003");
    g_error_free(err);
    g_assert_cmpuint(dst->counter, ==, 7);
    g_assert_cmpuint(dst->control, ==, 0);
    g_assert_cmpint(log.calls, ==, 0);
    err = load_bytes(testdev_class.vmsd, dst, 2,
                     "\x00\x00\x00\x09\x00\x00\x00\x00", 8);
    assert_error_has(err, "too new");
    g_error_free(err);
    err = load_bytes(testdev_class.vmsd, dst, 1, "\x00\x00\x00\x09\x00", 5);
    g_assert_nonnull(err);
    g_error_free(err);
    g_assert_cmpuint(dst->counter, ==, 7);
    device_free(&dst->parent);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/devstate/serial/reset-bytes", test_serial_reset_bytes);
    g_test_add_func("/devstate/serial/field-bytes", test_serial_field_bytes);
    g_test_add_func("/devstate/serial/fifo-subsection-bytes",
                    test_serial_fifo_subsection_bytes);
    g_test_add_func("/devstate/serial/roundtrip", test_serial_roundtrip);
    g_test_add_func("/devstate/serial/qemu-rbr-byte", test_serial_qemu_rbr_byte);
    g_test_add_func("/devstate/serial/bad-values", test_serial_bad_values);
    g_test_add_func("/devstate/serial/versions", test_serial_versions);
    g_test_add_func("/devstate/serial/vmdesc", test_serial_vmdesc);
    g_test_add_func("/devstate/testdev/roundtrip", test_testdev_roundtrip);
    g_test_add_func("/devstate/testdev/bad-control", test_testdev_bad_control);
    return g_test_run();
}
