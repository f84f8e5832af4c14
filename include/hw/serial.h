/*
 * A 16550A-compatible UART (QEMU's "serial" device at 0x3f8).  Guests poll
 * it, so there is no interrupt line, but IER/IIR keep their 16550A meaning
 * so a guest (or a migration) sees a consistent register file.
 */
#ifndef HW_SERIAL_H
#define HW_SERIAL_H

#include <stdint.h>
#include <stddef.h>

#include "chardev/char.h"
#include "hw/device.h"

#define SERIAL_FIFO_SIZE 16

/* Register offsets from the base port. */
enum {
    UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
    UART_IER = 1, UART_DLM = 1,
    UART_IIR = 2, UART_FCR = 2,
    UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define UART_LCR_DLAB   0x80
#define UART_IER_RDI    0x01    /* received data available */
#define UART_IER_THRI   0x02    /* transmitter holding register empty */
#define UART_IER_RLSI   0x04    /* receiver line status */
#define UART_IER_MSI    0x08    /* modem status */
#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_FIFO_ENABLED 0xc0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_FCR_CLEAR_XMIT 0x04
#define UART_LSR_DR     0x01
#define UART_LSR_OE     0x02
#define UART_LSR_PE     0x04
#define UART_LSR_FE     0x08
#define UART_LSR_BI     0x10
#define UART_LSR_THRE   0x20
#define UART_LSR_TEMT   0x40
#define UART_LSR_INT_ANY (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)
#define UART_MCR_LOOP   0x10
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80
#define UART_MSR_ANY_DELTA 0x0f

/* The receive FIFO as QEMU's Fifo8 migrates it (vmsd "Fifo8"). */
typedef struct SerialFifo {
    uint8_t data[SERIAL_FIFO_SIZE];
    uint32_t head;              /* index of the oldest byte */
    uint32_t num;               /* bytes held */
} SerialFifo;

/*
 * Migratable state, field for field QEMU's "serial" VMState (version 3,
 * see hw/serial.c): divider (uint16), rbr, ier, iir, lcr, mcr, lsr, msr,
 * scr, fcr_vmstate (uint8); subsection "serial/thr_ipending": thr_ipending
 * (int32); subsection "serial/recv_fifo": recv_fifo (Fifo8: data[16],
 * head, num as uint32).
 */
typedef struct SerialState {
    DeviceState parent;

    uint16_t divider;
    uint8_t rbr;
    uint8_t ier;
    uint8_t iir;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint8_t fcr;
    uint8_t fcr_vmstate;        /* fcr as sent: set by pre_save, applied by post_load */
    int32_t thr_ipending;       /* -1 while loading: the stream did not carry it */
    SerialFifo recv_fifo;

    /* Not migrated: the host side. */
    Chardev *chr;               /* NULL: output dropped, no input */
    GByteArray *backlog;        /* received, not yet in the FIFO */
} SerialState;

extern const DeviceClass serial_class;

/* Attach @chr (may be NULL) before realize. */
void serial_set_chardev(SerialState *s, Chardev *chr);

/* Bytes from the host side; the chardev read handler.  BQL held. */
void serial_receive(SerialState *s, const uint8_t *buf, size_t len);

#endif
