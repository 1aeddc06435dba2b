/*
 * portlab_device.h - the device interface shared by every implementation.
 *
 * This header is the whole contract between a host (the board, a C runner,
 * an emulator core) and a device model, whichever language the model is
 * written in. The C models implement it directly; the Rust models are
 * exported through it by the portlab-device crate, whose adapter is typed
 * against the bindgen output of this very file, so a signature that drifts
 * from here is a compile error on the Rust side.
 *
 * Rules of the interface:
 *  - Fixed-width types only. No device-private structure appears here: a
 *    device is an opaque PortlabDevice pointer created by its ops table.
 *  - Every operation that can fail returns a PortlabStatus (PORTLAB_OK or a
 *    negative PORTLAB_ERR_* code). A device never aborts the host.
 *  - A guest doing something odd (a bad offset, a write to a read-only
 *    register) is not an error of the interface: the device behaves as its
 *    spec says, reports the event through PortlabHostOps.log and returns
 *    PORTLAB_OK.
 *  - Callbacks into the host happen only while the host is inside one of the
 *    device's operations, on the same thread. A host must not call into a
 *    device from inside one of that device's callbacks.
 */
#ifndef PORTLAB_DEVICE_H
#define PORTLAB_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this interface. Bump it whenever a struct below changes. */
#define PORTLAB_ABI_VERSION 1

/* ---- Status codes ------------------------------------------------------ */

typedef int32_t PortlabStatus;

#define PORTLAB_OK 0
/* An argument is invalid (NULL pointer, unknown timer, offset outside the
 * region, an access size the device does not accept, misaligned offset). */
#define PORTLAB_ERR_INVALID (-1)
/* The device could not allocate memory. */
#define PORTLAB_ERR_NO_MEMORY (-2)
/* save: the buffer is too small; *len holds the size needed. */
#define PORTLAB_ERR_BUFFER_TOO_SMALL (-3)
/* The instance failed internally (for a Rust device: it panicked). It
 * refuses every further operation with this code; destroy is still allowed. */
#define PORTLAB_ERR_POISONED (-4)

/* Migration load errors, in the order the loader checks them (see the
 * device specs, section "Project migration format"). On any of these the
 * device is left exactly as it was. */
#define PORTLAB_ERR_TRUNCATED (-10)
#define PORTLAB_ERR_BAD_MAGIC (-11)
#define PORTLAB_ERR_WRONG_DEVICE (-12)
#define PORTLAB_ERR_BAD_VERSION (-13)
#define PORTLAB_ERR_FUTURE_VERSION (-14)
#define PORTLAB_ERR_BAD_LENGTH (-15)
#define PORTLAB_ERR_BAD_CRC (-16)
#define PORTLAB_ERR_OUT_OF_RANGE (-17)

/* ---- Access sizes --------------------------------------------------------
 * PortlabDeviceOps.access_sizes is a bit mask of the sizes (in bytes) the
 * device accepts. A host checks size and alignment (offset a multiple of
 * size, offset + size within the region) before it calls read or write. */
#define PORTLAB_ACCESS_1 0x1
#define PORTLAB_ACCESS_2 0x2
#define PORTLAB_ACCESS_4 0x4
#define PORTLAB_ACCESS_8 0x8

/* ---- Diagnostics ------------------------------------------------------- */

/* A guest did something the device does not support (QEMU's
 * LOG_GUEST_ERROR): bad offsets, writes to read-only registers. */
#define PORTLAB_LOG_GUEST_ERROR 1
/* A guest used a feature the model does not implement (QEMU's LOG_UNIMP). */
#define PORTLAB_LOG_UNIMPLEMENTED 2
/* A shadow device saw its two implementations disagree. */
#define PORTLAB_LOG_DIVERGENCE 3

/* ---- Migration container ------------------------------------------------
 * Every device saves the same container: magic, device id, version, payload
 * length, payload, CRC-32. All integers little-endian. */
#define PORTLAB_STATE_MAGIC "DEVS"
#define PORTLAB_STATE_HEADER_SIZE 12
#define PORTLAB_STATE_TRAILER_SIZE 4

/* ---- What the host gives a device ---------------------------------------
 * Every callback receives the host_ctx pointer the device was created with. */
typedef struct PortlabHostOps {
    /* Set output IRQ line `line` (0-based) to `level` (0 or 1). Setting the
     * level a line already has is allowed; the host logs only changes. */
    void (*set_irq)(void *host_ctx, uint32_t line, uint32_t level);
    /* Send `len` bytes to the device's serial backend. */
    void (*serial_send)(void *host_ctx, const uint8_t *bytes, uint32_t len);
    /* Tell the serial backend to start (on = 1) or stop (on = 0) sending a
     * break condition. */
    void (*serial_set_break)(void *host_ctx, uint32_t on);
    /* The virtual clock, in nanoseconds since the machine started. */
    uint64_t (*clock_ns)(void *host_ctx);
    /* Wall-clock time, in Unix seconds, at virtual time 0 (what a real-time
     * clock reads when the machine starts). */
    uint64_t (*rtc_epoch_s)(void *host_ctx);
    /* Arm the device's timer `timer` to expire when the virtual clock
     * reaches `deadline_ns`, replacing any pending deadline of that timer.
     * On expiry the host calls PortlabDeviceOps.timer_expired. */
    void (*timer_arm)(void *host_ctx, uint32_t timer, uint64_t deadline_ns);
    /* Cancel timer `timer`; cancelling a timer that is not armed is fine. */
    void (*timer_cancel)(void *host_ctx, uint32_t timer);
    /* A diagnostic of kind PORTLAB_LOG_*, as a NUL-terminated message. */
    void (*log)(void *host_ctx, uint32_t kind, const char *message);
} PortlabHostOps;

/* ---- What a device gives the host ---------------------------------------
 * A device model is one constant ops table: its description and its entry
 * points. Instances are created and destroyed through it. */
typedef struct PortlabDevice PortlabDevice;

typedef struct PortlabDeviceOps {
    /* PORTLAB_ABI_VERSION of the header the device was built against. */
    uint32_t abi_version;
    /* QOM-style type name, for example "pl011" or "x-pl011-rust". */
    const char *type_name;
    /* Size in bytes of the device's MMIO region. */
    uint64_t region_size;
    /* Number of output IRQ lines. */
    uint32_t num_irqs;
    /* Number of timers the device may arm (timer ids 0 .. num_timers-1). */
    uint32_t num_timers;
    /* Bit mask of accepted access sizes (PORTLAB_ACCESS_*). */
    uint32_t access_sizes;
    /* Device id in the migration container (0x0011 PL011, 0x0031 PL031). */
    uint16_t state_device_id;

    /* Create an instance in its power-on state. `host` and `host_ctx` must
     * outlive the instance. Creation calls no host callback other than
     * clock_ns and rtc_epoch_s. */
    PortlabStatus (*create)(const PortlabHostOps *host, void *host_ctx,
                            PortlabDevice **out);
    /* Free an instance. The host cancels the instance's timers itself. */
    void (*destroy)(PortlabDevice *dev);
    /* Device reset, as the device's spec defines it. */
    PortlabStatus (*reset)(PortlabDevice *dev);
    /* MMIO read/write of `size` bytes at byte `offset` in the region. */
    PortlabStatus (*read)(PortlabDevice *dev, uint64_t offset, uint32_t size,
                          uint64_t *value);
    PortlabStatus (*write)(PortlabDevice *dev, uint64_t offset, uint32_t size,
                           uint64_t value);
    /* Serial input: *room is how many bytes the device can take now (0:
     * none). The host delivers bytes one at a time with receive. */
    PortlabStatus (*can_receive)(PortlabDevice *dev, uint32_t *room);
    PortlabStatus (*receive)(PortlabDevice *dev, uint8_t byte);
    /* A break condition arrived on the serial backend. */
    PortlabStatus (*receive_break)(PortlabDevice *dev);
    /* Timer `timer` reached its deadline; the clock reads that deadline. */
    PortlabStatus (*timer_expired)(PortlabDevice *dev, uint32_t timer);
    /* Save the migration state into buf[0 .. cap). On success *len is the
     * blob size. If cap is too small, returns PORTLAB_ERR_BUFFER_TOO_SMALL
     * with *len set to the size needed (so cap 0 asks for the size). Saving
     * never changes the device. */
    PortlabStatus (*save)(PortlabDevice *dev, uint8_t *buf, uint32_t cap,
                          uint32_t *len);
    /* Replace the state with a saved blob. On error the device is left
     * exactly as it was and a PORTLAB_ERR_* load code says why. */
    PortlabStatus (*load)(PortlabDevice *dev, const uint8_t *blob,
                          uint32_t len);
} PortlabDeviceOps;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_DEVICE_H */
