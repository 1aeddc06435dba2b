/*
 * {name}.h - the {name} device: register map and the C model.
 *
 * Scaffolded by `cargo xtask new-device {name}`. Offsets and masks are
 * defined once, here; the Rust rewrite (crates/portlab-{name}) takes them
 * from the bindings. Start the port by making the C model behave like the
 * device you are porting (the spec and recorded traces are the contract),
 * then follow the lockstep test to the Rust side.
 */
#ifndef PORTLAB_{NAME}_H
#define PORTLAB_{NAME}_H

#include "portlab_device.h"

#ifdef __cplusplus
extern "C" {
#endif

#define {NAME}_REGION_SIZE 0x1000
#define {NAME}_NUM_IRQS 1
#define {NAME}_STATE_DEVICE_ID {ID}
#define {NAME}_STATE_VERSION 1
#define {NAME}_STATE_PAYLOAD_SIZE_V1 8
/* Payload field offsets: the state schema in {name}.c and the Rust
 * rewrite both use these. */
#define {NAME}_STATE_DATA 0
#define {NAME}_STATE_CTRL 4

/* ---- Register offsets (bytes) ---------------------------------------- */
#define {NAME}_ID 0x000   /* identification, read-only */
#define {NAME}_DATA 0x004 /* a data register */
#define {NAME}_CTRL 0x008 /* control: bit 0 enables the interrupt */

#define {NAME}_ID_VALUE 0x{ID_HEX}
#define {NAME}_CTRL_IRQ_ENABLE 0x1

/* The C model: type name "{name}". */
extern const PortlabDeviceOps portlab_{name}_c_ops;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_{NAME}_H */
