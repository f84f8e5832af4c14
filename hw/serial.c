/*
 * 16550A UART: THR/RBR, IER, IIR/FCR, LCR (with the DLAB divisor latch),
 * MCR (with loopback), LSR, MSR and SCR.  Transmission is instant: a byte
 * written to THR goes straight to the chardev and the transmitter is empty
 * again.  Received bytes enter a 16-byte FIFO (1 byte with FIFOs off); more
 * wait in a host-side backlog, as a chardev would hold them back.
 */
#include "hw/serial.h"

#include <string.h>

#include "qemu/main-loop.h"

/* Bound on what the host side may queue ahead of a guest not reading. */
#define SERIAL_BACKLOG_MAX 65536

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
    if (s->recv_fifo_num >= serial_rx_capacity(s)) {
        return false;
    }
    s->recv_fifo[(s->recv_fifo_head + s->recv_fifo_num) % SERIAL_FIFO_SIZE] = byte;
    s->recv_fifo_num++;
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

    if (s->recv_fifo_num > 0) {
        byte = s->recv_fifo[s->recv_fifo_head];
        s->recv_fifo_head = (s->recv_fifo_head + 1) % SERIAL_FIFO_SIZE;
        s->recv_fifo_num--;
        s->rbr = byte;
    }
    if (s->recv_fifo_num == 0) {
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
        s->recv_fifo_head = 0;
        s->recv_fifo_num = 0;
        s->lsr &= ~UART_LSR_DR;
    }
    s->fcr = val & 0xc9;            /* the bits 16550A keeps */
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

            s->ier = val & 0x0f;
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
        s->mcr = val & 0x1f;
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
    s->recv_fifo_head = 0;
    s->recv_fifo_num = 0;
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
};
