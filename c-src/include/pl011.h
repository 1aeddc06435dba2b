/*
 * pl011.h - ARM PrimeCell PL011 UART: register map and the C model.
 *
 * Offsets and bit masks are defined once, here. The C model uses them
 * directly and the Rust rewrite takes them from the bindgen output of this
 * file, so both implementations read the same numbers.
 */
#ifndef PORTLAB_PL011_H
#define PORTLAB_PL011_H

#include "portlab_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the MMIO region and number of IRQ outputs. */
#define PL011_REGION_SIZE 0x1000
#define PL011_NUM_IRQS 6
/* Device id in the migration container and its payload. */
#define PL011_STATE_DEVICE_ID 0x0011
#define PL011_STATE_VERSION 1
#define PL011_STATE_PAYLOAD_SIZE_V1 116
/* Payload field offsets (pl011.md section 12.2): every u32, little-endian.
 * The state schema in pl011.c and the Rust rewrite both use these. */
#define PL011_STATE_FLAGS 0
#define PL011_STATE_LCR 4
#define PL011_STATE_RSR 8
#define PL011_STATE_CR 12
#define PL011_STATE_DMACR 16
#define PL011_STATE_INT_ENABLED 20
#define PL011_STATE_INT_LEVEL 24
#define PL011_STATE_READ_FIFO 28
#define PL011_STATE_ILPR 92
#define PL011_STATE_IBRD 96
#define PL011_STATE_FBRD 100
#define PL011_STATE_IFL 104
#define PL011_STATE_READ_POS 108
#define PL011_STATE_READ_COUNT 112
/* Receive FIFO storage slots. */
#define PL011_FIFO_SLOTS 16

/* ---- Register offsets (bytes) --------------------------------------- */
#define PL011_DR 0x000        /* UARTDR: data */
#define PL011_RSR 0x004       /* UARTRSR (read) / UARTECR (write) */
#define PL011_FR 0x018        /* UARTFR: flags */
#define PL011_ILPR 0x020      /* UARTILPR: IrDA low-power counter */
#define PL011_IBRD 0x024      /* UARTIBRD: integer baud divisor */
#define PL011_FBRD 0x028      /* UARTFBRD: fractional baud divisor */
#define PL011_LCR_H 0x02C     /* UARTLCR_H: line control */
#define PL011_CR 0x030        /* UARTCR: control */
#define PL011_IFLS 0x034      /* UARTIFLS: FIFO level select */
#define PL011_IMSC 0x038      /* UARTIMSC: interrupt mask set/clear */
#define PL011_RIS 0x03C       /* UARTRIS: raw interrupt status */
#define PL011_MIS 0x040       /* UARTMIS: masked interrupt status */
#define PL011_ICR 0x044       /* UARTICR: interrupt clear */
#define PL011_DMACR 0x048     /* UARTDMACR: DMA control */
#define PL011_PERIPH_ID0 0xFE0 /* UARTPeriphID0 .. UARTPCellID3: 8 ID bytes */
#define PL011_PCELL_ID3 0xFFC

/* ID register values of the ARM variant, PeriphID0 first. */
#define PL011_ID0 0x11
#define PL011_ID1 0x10
#define PL011_ID2 0x14
#define PL011_ID3 0x00
#define PL011_ID4 0x0D
#define PL011_ID5 0xF0
#define PL011_ID6 0x05
#define PL011_ID7 0xB1

/* ---- UARTDR read value / FIFO entry --------------------------------- */
#define PL011_DR_DATA 0x0FF
#define PL011_DR_FE 0x100
#define PL011_DR_PE 0x200
#define PL011_DR_BE 0x400
#define PL011_DR_OE 0x800
/* UARTRSR is the FIFO entry's error bits shifted down by this much. */
#define PL011_RSR_SHIFT 8
#define PL011_RSR_MASK 0xF

/* ---- UARTFR --------------------------------------------------------- */
#define PL011_FR_CTS 0x001
#define PL011_FR_DSR 0x002
#define PL011_FR_DCD 0x004
#define PL011_FR_BUSY 0x008
#define PL011_FR_RXFE 0x010
#define PL011_FR_TXFF 0x020
#define PL011_FR_RXFF 0x040
#define PL011_FR_TXFE 0x080
#define PL011_FR_RI 0x100
#define PL011_FR_MASK 0x1FF
#define PL011_FR_RESET 0x090

/* ---- UARTLCR_H ------------------------------------------------------ */
#define PL011_LCR_BRK 0x01
#define PL011_LCR_PEN 0x02
#define PL011_LCR_EPS 0x04
#define PL011_LCR_STP2 0x08
#define PL011_LCR_FEN 0x10
#define PL011_LCR_WLEN 0x60
#define PL011_LCR_SPS 0x80

/* ---- UARTCR --------------------------------------------------------- */
#define PL011_CR_UARTEN 0x0001
#define PL011_CR_SIREN 0x0002
#define PL011_CR_SIRLP 0x0004
#define PL011_CR_LBE 0x0080
#define PL011_CR_TXE 0x0100
#define PL011_CR_RXE 0x0200
#define PL011_CR_DTR 0x0400
#define PL011_CR_RTS 0x0800
#define PL011_CR_OUT1 0x1000
#define PL011_CR_OUT2 0x2000
#define PL011_CR_RTSEN 0x4000
#define PL011_CR_CTSEN 0x8000
#define PL011_CR_RESET 0x0300

/* ---- UARTIFLS ------------------------------------------------------- */
#define PL011_IFLS_RESET 0x12

/* ---- Baud divisors -------------------------------------------------- */
#define PL011_IBRD_MASK 0xFFFF
#define PL011_FBRD_MASK 0x3F

/* ---- Interrupt bits: UARTIMSC, UARTRIS, UARTMIS, UARTICR ------------- */
#define PL011_INT_RI 0x001
#define PL011_INT_CTS 0x002
#define PL011_INT_DCD 0x004
#define PL011_INT_DSR 0x008
#define PL011_INT_RX 0x010
#define PL011_INT_TX 0x020
#define PL011_INT_RT 0x040
#define PL011_INT_FE 0x080
#define PL011_INT_PE 0x100
#define PL011_INT_BE 0x200
#define PL011_INT_OE 0x400
#define PL011_INT_MASK 0x7FF
/* Modem-status bits (lines RI, CTS, DCD, DSR) and error bits. */
#define PL011_INT_MS 0x00F
#define PL011_INT_E 0x780

/* ---- UARTDMACR ------------------------------------------------------ */
#define PL011_DMACR_RXDMAE 0x1
#define PL011_DMACR_TXDMAE 0x2
#define PL011_DMACR_DMAONERR 0x4

/* ---- IRQ output lines, in QEMU's order ------------------------------ */
#define PL011_IRQ_INTR 0   /* UARTINTR: combined, mask PL011_INT_MASK */
#define PL011_IRQ_RXINTR 1 /* UARTRXINTR: PL011_INT_RX */
#define PL011_IRQ_TXINTR 2 /* UARTTXINTR: PL011_INT_TX */
#define PL011_IRQ_RTINTR 3 /* UARTRTINTR: PL011_INT_RT */
#define PL011_IRQ_MSINTR 4 /* UARTMSINTR: PL011_INT_MS */
#define PL011_IRQ_EINTR 5  /* UARTEINTR: PL011_INT_E */

/* The C model: type name "pl011". */
extern const PortlabDeviceOps portlab_pl011_c_ops;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_PL011_H */
