/*
 * hpet.h - IA-PC High Precision Event Timer as QEMU 10.0 models it:
 * register map, bit masks, migration payload layout, and the C model.
 *
 * Offsets and masks are defined once, here. The C model uses them directly
 * and the Rust rewrite (crates/portlab-hpet) takes them from the bindgen
 * output of this file. Section numbers refer to docs/spec/hpet.md.
 */
#ifndef PORTLAB_HPET_H
#define PORTLAB_HPET_H

#include "portlab_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The device's outside (section 3) --------------------------------- */
#define HPET_REGION_SIZE 0x400
/* Lines 0-31: QEMU's 32 interrupt outputs; line 32: PIT-disable. */
#define HPET_NUM_IRQS 33
/* Host timer i is comparator i. */
#define HPET_NUM_TIMERS 32
/* Input 0: PIT IRQ 0; input 1: RTC IRQ 8 (section 9.7). */
#define HPET_NUM_INPUTS 2
#define HPET_INPUT_PIT 0
#define HPET_INPUT_RTC 1
/* Output lines with a fixed meaning (sections 9.1, 9.7). */
#define HPET_IRQ_LEGACY_PIT 0
#define HPET_IRQ_LEGACY_RTC 8
#define HPET_IRQ_PIT_DISABLE 32

/* ---- Creation properties (section 1.2) --------------------------------- */
#define HPET_PROP_TIMERS 0
#define HPET_PROP_MSI 1
#define HPET_PROP_INTCAP 2
#define HPET_PROP_OFFSET_SAVED 3
#define HPET_NUM_PROPERTIES 4
#define HPET_TIMERS_DEFAULT 3
#define HPET_TIMERS_ACCEPTED_MAX 255
/* QEMU 10.0 clamps the accepted value into this range. */
#define HPET_MIN_TIMERS 3
#define HPET_MAX_TIMERS 32
#define HPET_INTCAP_DEFAULT 0x00FF0104

/* ---- Time (section 7) --------------------------------------------------- */
/* One counter tick per 10 ns (100 MHz). */
#define HPET_CLK_PERIOD_NS 10
/* The periodic clamp: at least 1 us between two arms (section 8.2). */
#define HPET_MIN_PERIOD_NS 1000
/* A migration load sets `last` this far back (section 12.2). */
#define HPET_LOAD_LAST_BACK_NS 1000000000

/* ---- Global registers (section 5.1), each 64 bits ------------------- */
#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_GINTR_STA 0x020
#define HPET_MAIN_CNT 0x0F0
/* Bit 2 of an offset selects the high half of a register. */
#define HPET_HIGH_HALF 0x4

/* GCAP_ID: capability low half without NUM_TIM_CAP, and the high half. */
#define HPET_CAP_ID 0x8086A001
#define HPET_CAP_NUM_TIM_SHIFT 8
#define HPET_CAP_CLK_PERIOD 0x00989680

/* GEN_CONF bits. */
#define HPET_CFG_ENABLE 0x1
#define HPET_CFG_LEGACY 0x2
#define HPET_CFG_WRITE_MASK 0x3

/* ---- Comparator blocks (section 5.2) ------------------------------- */
#define HPET_TIMER_BASE 0x100
#define HPET_TIMER_STRIDE 0x20
/* Register within a block, chosen by offset & HPET_TN_REG_MASK. */
#define HPET_TN_REG_MASK 0x18
#define HPET_TN_CONF 0x00
#define HPET_TN_CMP 0x08
#define HPET_TN_FSB 0x10

/* Tn_CONF bits. */
#define HPET_TN_LEVEL 0x2
#define HPET_TN_ENABLE 0x4
#define HPET_TN_PERIODIC 0x8
#define HPET_TN_PERIODIC_CAP 0x10
#define HPET_TN_SIZE_CAP 0x20
#define HPET_TN_SETVAL 0x40
#define HPET_TN_32BIT 0x100
#define HPET_TN_INT_ROUTE_MASK 0x3E00
#define HPET_TN_INT_ROUTE_SHIFT 9
#define HPET_TN_FSB_ENABLE 0x4000
#define HPET_TN_FSB_CAP 0x8000
#define HPET_TN_CFG_WRITE_MASK 0x7F4E
/* Tn_CONF at reset: PER_INT_CAP and SIZE_CAP (msi and intcap added). */
#define HPET_TN_RESET 0x30
#define HPET_TN_INT_ROUTE_CAP_SHIFT 32

/* ---- Migration payload (section 12.2) ---------------------------------- */
#define HPET_STATE_DEVICE_ID 0x00E7
#define HPET_STATE_VERSION 1
/* Payload = fixed part + one record per comparator. */
#define HPET_STATE_FIXED_SIZE 40
#define HPET_STATE_TIMER_SIZE 48
/* Fixed part. */
#define HPET_STATE_CONFIG 0
#define HPET_STATE_ISR 8
#define HPET_STATE_COUNTER 16
#define HPET_STATE_OFFSET 24
#define HPET_STATE_NUM_TIMERS 32
#define HPET_STATE_RTC_IRQ_LEVEL 36
/* Within a comparator's record. */
#define HPET_STATE_TN_CONFIG 0
#define HPET_STATE_TN_CMP 8
#define HPET_STATE_TN_FSB 16
#define HPET_STATE_TN_PERIOD 24
#define HPET_STATE_TN_DEADLINE 32
#define HPET_STATE_TN_ARMED 40
#define HPET_STATE_TN_WRAP_FLAG 44

/* The C model: type name "hpet". */
extern const PortlabDeviceOps portlab_hpet_c_ops;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_HPET_H */
