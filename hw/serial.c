/*
 * 16550A UART: THR/RBR, IER, IIR/FCR, LCR (with the DLAB divisor latch),
 * MCR (with loopback), LSR, MSR and SCR.  Transmission is instant: a byte
 * written to THR goes straight to the chardev and the transmitter is empty
 * again.  Received bytes enter a 16-byte FIFO (1 byte with FIFOs off); more
 * wait in a host-side backlog, as a chardev would hold them back.
 */
#include "hw/serial.h"

#include <string.h>

#include "migration/vmstate.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

/* Bound on what the host side may queue ahead of a guest not reading. */
#define SERIAL_BACKLOG_MAX 65536

/* The register bits a 16550A keeps (what a guest write can leave set). */
#define SERIAL_IER_MASK 0x0f
#define SERIAL_MCR_MASK 0x1f
#define SERIAL_FCR_MASK 0xc9
#define UART_IIR_ID     0x06    /* interrupt identification bits */

static SerialState *SERIAL(DeviceState *dev)
{
    g_assert(dev->klass == &serial_class);
    return (SerialState *)dev;
}

static unsigned serial_rx_capacity(const SerialState *s)
{
    return (s->fcr & UART_FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

/* Recompute IIR from the pending conditions, highest priority first. */
static void serial_update_iir(SerialState *s)
{
    uint8_t iir = UART_IIR_NO_INT;

    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY)) {
        iir = UART_IIR_RLSI;
    } else if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR)) {
        iir = UART_IIR_RDI;
    } else if ((s->ier & UART_IER_THRI) && s->thr_ipending) {
        iir = UART_IIR_THRI;
    } else if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA)) {
        iir = UART_IIR_MSI;
    }
    if (s->fcr & UART_FCR_ENABLE) {
        iir |= UART_IIR_FIFO_ENABLED;
    }
    s->iir = iir;
}

static bool serial_fifo_push(SerialState *s, uint8_t byte)
{
    if (s->recv_fifo.num >= serial_rx_capacity(s)) {
        return false;
    }
    s->recv_fifo.data[(s->recv_fifo.head + s->recv_fifo.num) % SERIAL_FIFO_SIZE] = byte;
    s->recv_fifo.num++;
    s->lsr |= UART_LSR_DR;
    return true;
}

static void serial_fill_from_backlog(SerialState *s)
{
    guint taken = 0;

    while (taken < s->backlog->len && serial_fifo_push(s, s->backlog->data[taken])) {
        taken++;
    }
    g_byte_array_remove_range(s->backlog, 0, taken);
}

void serial_receive(SerialState *s, const uint8_t *buf, size_t len)
{
    size_t room = SERIAL_BACKLOG_MAX - MIN(s->backlog->len, SERIAL_BACKLOG_MAX);

    if (len > room) {
        s->lsr |= UART_LSR_OE;      /* the rest is lost, as on overrun */
        len = room;
    }
    g_byte_array_append(s->backlog, buf, len);
    serial_fill_from_backlog(s);
    serial_update_iir(s);
}

static void serial_chr_read(void *opaque, const uint8_t *buf, size_t len)
{
    serial_receive(opaque, buf, len);
}

static uint8_t serial_read_rbr(SerialState *s)
{
    uint8_t byte = s->rbr;

    if (s->recv_fifo.num > 0) {
        byte = s->recv_fifo.data[s->recv_fifo.head];
        s->recv_fifo.head = (s->recv_fifo.head + 1) % SERIAL_FIFO_SIZE;
        s->recv_fifo.num--;
        s->rbr = byte;
    }
    if (s->recv_fifo.num == 0) {
        s->lsr &= ~UART_LSR_DR;
    }
    serial_fill_from_backlog(s);
    return byte;
}

/* In loopback, MSR's status bits mirror MCR's outputs. */
static uint8_t serial_loopback_msr(const SerialState *s)
{
    uint8_t msr = s->msr & UART_MSR_ANY_DELTA;

    msr |= (s->mcr & 0x01) ? UART_MSR_DSR : 0;   /* DTR -> DSR */
    msr |= (s->mcr & 0x02) ? UART_MSR_CTS : 0;   /* RTS -> CTS */
    msr |= (s->mcr & 0x04) ? UART_MSR_RI : 0;    /* OUT1 -> RI */
    msr |= (s->mcr & 0x08) ? UART_MSR_DCD : 0;   /* OUT2 -> DCD */
    return msr;
}

static void serial_transmit(SerialState *s, uint8_t byte)
{
    if (s->mcr & UART_MCR_LOOP) {
        if (!serial_fifo_push(s, byte)) {
            s->lsr |= UART_LSR_OE;
        }
    } else if (s->chr) {
        qemu_chr_write_all(s->chr, &byte, 1);
    }
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = 1;
}

static uint32_t serial_pio_read(DeviceState *dev, uint16_t offset, unsigned size)
{
    SerialState *s = SERIAL(dev);
    bool dlab = s->lcr & UART_LCR_DLAB;
    uint8_t ret = 0;

    switch (offset) {
    case UART_RBR:
        ret = dlab ? (s->divider & 0xff) : serial_read_rbr(s);
        break;
    case UART_IER:
        ret = dlab ? (s->divider >> 8) : s->ier;
        break;
    case UART_IIR:
        ret = s->iir;
        /* Reading IIR acknowledges a THR-empty interrupt. */
        if ((ret & 0x0f) == UART_IIR_THRI) {
            s->thr_ipending = 0;
        }
        break;
    case UART_LCR:
        ret = s->lcr;
        break;
    case UART_MCR:
        ret = s->mcr;
        break;
    case UART_LSR:
        ret = s->lsr;
        s->lsr &= ~UART_LSR_INT_ANY;    /* error bits clear on read */
        break;
    case UART_MSR:
        ret = (s->mcr & UART_MCR_LOOP) ? serial_loopback_msr(s) : s->msr;
        s->msr &= ~UART_MSR_ANY_DELTA;
        break;
    case UART_SCR:
        ret = s->scr;
        break;
    }
    serial_update_iir(s);
    return ret;
}

static void serial_write_fcr(SerialState *s, uint8_t val)
{
    if ((val ^ s->fcr) & UART_FCR_ENABLE || (val & UART_FCR_CLEAR_RCVR)) {
        /* Switching FIFO mode or clearing it empties the receiver. */
        s->recv_fifo.head = 0;
        s->recv_fifo.num = 0;
        s->lsr &= ~UART_LSR_DR;
    }
    s->fcr = val & SERIAL_FCR_MASK;
    serial_fill_from_backlog(s);
}

static void serial_pio_write(DeviceState *dev, uint16_t offset, unsigned size,
                             uint32_t value)
{
    SerialState *s = SERIAL(dev);
    bool dlab = s->lcr & UART_LCR_DLAB;
    uint8_t val = value;

    switch (offset) {
    case UART_THR:
        if (dlab) {
            s->divider = (s->divider & 0xff00) | val;
        } else {
            s->thr_ipending = 0;
            serial_transmit(s, val);
        }
        break;
    case UART_IER:
        if (dlab) {
            s->divider = (s->divider & 0x00ff) | (val << 8);
        } else {
            uint8_t old = s->ier;

            s->ier = val & SERIAL_IER_MASK;
            if (!(old & UART_IER_THRI) && (s->ier & UART_IER_THRI) &&
                (s->lsr & UART_LSR_THRE)) {
                s->thr_ipending = 1;
            }
        }
        break;
    case UART_FCR:
        serial_write_fcr(s, val);
        break;
    case UART_LCR:
        s->lcr = val;
        break;
    case UART_MCR:
        s->mcr = val & SERIAL_MCR_MASK;
        break;
    case UART_LSR:
    case UART_MSR:
        break;                      /* read-only */
    case UART_SCR:
        s->scr = val;
        break;
    }
    serial_update_iir(s);
}

static void serial_reset(DeviceState *dev)
{
    SerialState *s = SERIAL(dev);

    s->divider = 0x0c;              /* 9600 baud */
    s->rbr = 0;
    s->ier = 0;
    s->lcr = 0;
    s->mcr = 0x08;                  /* OUT2 */
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    s->scr = 0;
    s->fcr = 0;
    s->thr_ipending = 0;
    s->recv_fifo.head = 0;
    s->recv_fifo.num = 0;
    serial_update_iir(s);
}

void serial_set_chardev(SerialState *s, Chardev *chr)
{
    g_assert(!s->parent.realized);
    s->chr = chr;
}

static bool serial_realize(DeviceState *dev, GError **errp)
{
    SerialState *s = SERIAL(dev);

    s->backlog = g_byte_array_new();
    if (s->chr) {
        qemu_chr_set_handlers(s->chr, serial_chr_read, NULL, s);
    }
    return true;
}

static void serial_unrealize(DeviceState *dev)
{
    SerialState *s = SERIAL(dev);

    if (s->chr) {
        qemu_chr_set_handlers(s->chr, NULL, NULL, NULL);
    }
    g_byte_array_unref(s->backlog);
}

/* ---- VMState: QEMU's "serial" (hw/char/serial.c), version 3 ---- */

static bool serial_pre_save(void *opaque, GError **errp)
{
    SerialState *s = opaque;

    s->fcr_vmstate = s->fcr;
    return true;
}

static bool serial_pre_load(void *opaque, GError **errp)
{
    SerialState *s = opaque;

    s->thr_ipending = -1;       /* stays -1 unless serial/thr_ipending comes */
    return true;
}

/* Is the state just read one this device can be in?  Changes nothing. */
static bool serial_state_is_valid(const SerialState *s, GError **errp)
{
    unsigned capacity = (s->fcr_vmstate & UART_FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;

    /* divider, rbr, lcr, msr and scr: every value is one a guest can set. */
    if (s->ier & ~SERIAL_IER_MASK) {
        error_setg(errp, "invalid IER 0x%02x (reserved bits set)", s->ier);
        return false;
    }
    if (s->mcr & ~SERIAL_MCR_MASK) {
        error_setg(errp, "invalid MCR 0x%02x (reserved bits set)", s->mcr);
        return false;
    }
    if (s->fcr_vmstate & ~SERIAL_FCR_MASK) {
        error_setg(errp, "invalid FCR 0x%02x (bits a 16550A does not keep)",
                   s->fcr_vmstate);
        return false;
    }
    /* tern transmits at once: there is never a byte in THR or the shifter. */
    if ((s->lsr & (UART_LSR_THRE | UART_LSR_TEMT)) !=
        (UART_LSR_THRE | UART_LSR_TEMT)) {
        error_setg(errp, "inconsistent state in serial device (transmitter "
                   "not empty, LSR 0x%02x)", s->lsr);
        return false;
    }
    if (s->thr_ipending < -1 || s->thr_ipending > 1) {
        error_setg(errp, "invalid thr_ipending %d", s->thr_ipending);
        return false;
    }
    if (s->recv_fifo.head >= SERIAL_FIFO_SIZE) {
        error_setg(errp, "receive FIFO head %u out of range (size %u)",
                   s->recv_fifo.head, SERIAL_FIFO_SIZE);
        return false;
    }
    if (s->recv_fifo.num > capacity) {
        error_setg(errp, "receive FIFO holds %u bytes, more than its %u",
                   s->recv_fifo.num, capacity);
        return false;
    }
    if (s->recv_fifo.num > 0 && !(s->lsr & UART_LSR_DR)) {
        error_setg(errp, "receive FIFO holds %u bytes but LSR.DR is clear",
                   s->recv_fifo.num);
        return false;
    }
    return true;
}

static bool serial_post_load(void *opaque, int version_id, GError **errp)
{
    SerialState *s = opaque;

    if (version_id < 3) {
        s->fcr_vmstate = 0;     /* FIFOs did not exist in the stream yet */
    }
    if (!serial_state_is_valid(s, errp)) {
        return false;
    }
    s->fcr = s->fcr_vmstate;
    if (s->thr_ipending == -1) {
        s->thr_ipending = (s->iir & UART_IIR_ID) == UART_IIR_THRI;
    }
    /*
     * QEMU keeps a byte received with FIFOs off in RBR alone (LSR.DR set,
     * FIFO empty); tern reads received bytes from the FIFO.
     */
    if ((s->lsr & UART_LSR_DR) && s->recv_fifo.num == 0) {
        s->recv_fifo.data[s->recv_fifo.head] = s->rbr;
        s->recv_fifo.num = 1;
    }
    if (s->backlog) {           /* realized: host input may be waiting */
        serial_fill_from_backlog(s);
    }
    serial_update_iir(s);
    return true;
}

/*
 * QEMU sends thr_ipending only when IIR does not already say it: with
 * THRI enabled, a pending THR-empty interrupt shows in IIR.
 */
static bool serial_thr_ipending_needed(void *opaque)
{
    SerialState *s = opaque;

    if (!(s->ier & UART_IER_THRI)) {
        return false;           /* sampled again from LSR.THRE when enabled */
    }
    return s->thr_ipending != ((s->iir & UART_IIR_ID) == UART_IIR_THRI);
}

static const VMStateDescription vmstate_serial_thr_ipending = {
    .name = "serial/thr_ipending",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = serial_thr_ipending_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32(thr_ipending, SerialState),
        VMSTATE_END_OF_LIST()
    },
};

/* QEMU's vmstate_fifo8: the whole ring (its capacity is not sent), head, num. */
static const VMStateDescription vmstate_serial_fifo8 = {
    .name = "Fifo8",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BUFFER_V(data, SerialFifo, 1),
        VMSTATE_UINT32(head, SerialFifo),
        VMSTATE_UINT32(num, SerialFifo),
        VMSTATE_END_OF_LIST()
    },
};

static bool serial_recv_fifo_needed(void *opaque)
{
    SerialState *s = opaque;

    return s->recv_fifo.num > 0;
}

static const VMStateDescription vmstate_serial_recv_fifo = {
    .name = "serial/recv_fifo",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = serial_recv_fifo_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(recv_fifo, SerialState, 1, vmstate_serial_fifo8, SerialFifo),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * The UART core, QEMU's vmstate_serial.  QEMU's other subsections
 * (serial/tsr, serial/xmit_fifo, serial/fifo_timeout_timer,
 * serial/timeout_ipending, serial/poll) describe state tern does not have:
 * a stream carrying one fails the load as an unknown subsection.
 */
static const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 3,
    .minimum_version_id = 2,
    .pre_save = serial_pre_save,
    .pre_load = serial_pre_load,
    .post_load = serial_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16_V(divider, SerialState, 2),
        VMSTATE_UINT8(rbr, SerialState),
        VMSTATE_UINT8(ier, SerialState),
        VMSTATE_UINT8(iir, SerialState),
        VMSTATE_UINT8(lcr, SerialState),
        VMSTATE_UINT8(mcr, SerialState),
        VMSTATE_UINT8(lsr, SerialState),
        VMSTATE_UINT8(msr, SerialState),
        VMSTATE_UINT8(scr, SerialState),
        VMSTATE_UINT8_V(fcr_vmstate, SerialState, 3),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_serial_thr_ipending,
        &vmstate_serial_recv_fifo,
        NULL
    },
};

/*
 * The device section, QEMU's isa-serial: one struct field "state" holding
 * the core.  The bytes are the core's alone; the wrapper only shapes the
 * vmdesc JSON as QEMU's.  The core's fields are offsets into SerialState,
 * so "state" is the whole instance (offset 0).
 */
static const VMStateDescription vmstate_serial_device = {
    .name = "serial",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        {
            .name = "state",
            .offset = 0,
            .size = sizeof(SerialState),
            .vmsd = &vmstate_serial,
            .flags = VMS_STRUCT,
        },
        VMSTATE_END_OF_LIST()
    },
};

const DeviceClass serial_class = {
    .name = "serial",
    .instance_size = sizeof(SerialState),
    .pio_base = 0x3f8,
    .pio_len = 8,
    .realize = serial_realize,
    .unrealize = serial_unrealize,
    .reset = serial_reset,
    .pio_read = serial_pio_read,
    .pio_write = serial_pio_write,
    .vmsd = &vmstate_serial_device,
};
