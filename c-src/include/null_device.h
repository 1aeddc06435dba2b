/*
 * null_device.h - the benchmark floor: a device that does nothing.
 *
 * Every entry point returns at once. Driving it through the ops table costs
 * the call alone (the host's wrapper, the indirect call, the return), which
 * is what the benchmarks subtract to show how much of a PL011 access is the
 * device's own work. It looks like a PL011 from the outside (region size,
 * IRQ lines, access sizes) so that a board can put it in the PL011's slot.
 */
#ifndef PORTLAB_NULL_DEVICE_H
#define PORTLAB_NULL_DEVICE_H

#include "portlab_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the null device's MMIO region and number of IRQ outputs: the
 * PL011's, so the board checks accesses the same way for both. */
#define PORTLAB_NULL_REGION_SIZE 0x1000
#define PORTLAB_NULL_NUM_IRQS 6
/* Device id in the migration container (the null device saves nothing). */
#define PORTLAB_NULL_STATE_DEVICE_ID 0x0000

/* The null device's ops table, type name "portlab-null". */
extern const PortlabDeviceOps portlab_null_c_ops;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_NULL_DEVICE_H */
