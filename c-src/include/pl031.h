/*
 * pl031.h - ARM PrimeCell PL031 real-time clock: register map and the C
 * model.
 *
 * Offsets and bit masks are defined once, here. The C model uses them
 * directly and the Rust rewrite takes them from the bindgen output of this
 * file.
 */
#ifndef PORTLAB_PL031_H
#define PORTLAB_PL031_H

#include "portlab_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the MMIO region, IRQ outputs and timers. */
#define PL031_REGION_SIZE 0x1000
#define PL031_NUM_IRQS 1
#define PL031_NUM_TIMERS 1
/* The one timer: the alarm. */
#define PL031_TIMER_ALARM 0
/* Device id in the migration container and its payload. */
#define PL031_STATE_DEVICE_ID 0x0031
#define PL031_STATE_VERSION 1
#define PL031_STATE_PAYLOAD_SIZE_V1 20
/* Payload field offsets (pl031.md section 9.1): every u32, little-endian. */
#define PL031_STATE_TICK_OFFSET 0
#define PL031_STATE_MR 4
#define PL031_STATE_LR 8
#define PL031_STATE_IM 12
#define PL031_STATE_IS 16

/* The counter steps once per second of virtual time. */
#define PL031_NS_PER_SECOND 1000000000

/* ---- Register offsets (bytes; decoded exactly) ----------------------- */
#define PL031_DR 0x000   /* RTCDR: data (current count) */
#define PL031_MR 0x004   /* RTCMR: match */
#define PL031_LR 0x008   /* RTCLR: load */
#define PL031_CR 0x00C   /* RTCCR: control (reads 1, writes ignored) */
#define PL031_IMSC 0x010 /* RTCIMSC: interrupt mask */
#define PL031_RIS 0x014  /* RTCRIS: raw interrupt status */
#define PL031_MIS 0x018  /* RTCMIS: masked interrupt status */
#define PL031_ICR 0x01C  /* RTCICR: interrupt clear */
#define PL031_PERIPH_ID0 0xFE0 /* RTCPeriphID0 .. RTCPCellID3: 8 ID bytes */
#define PL031_ID_END 0x1000

/* ID register values, RTCPeriphID0 first. */
#define PL031_ID0 0x31
#define PL031_ID1 0x10
#define PL031_ID2 0x14
#define PL031_ID3 0x00
#define PL031_ID4 0x0D
#define PL031_ID5 0xF0
#define PL031_ID6 0x05
#define PL031_ID7 0xB1

/* RTCCR always reads this: the RTC is always running. */
#define PL031_CR_VALUE 1

/* The match interrupt bit of IMSC, RIS, MIS and ICR. */
#define PL031_INT_MATCH 0x1

/* IRQ output line. */
#define PL031_IRQ_RTCINTR 0

/* The C model: type name "pl031". */
extern const PortlabDeviceOps portlab_pl031_c_ops;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_PL031_H */
