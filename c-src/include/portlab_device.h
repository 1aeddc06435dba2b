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

/* Version of this interface. Bump it whenever a struct below changes.
 * Version 2 added creation properties, input lines, guest-memory writes,
 * the arm-first timer call and the state schema. A host refuses a table of
 * any other version. */
#define PORTLAB_ABI_VERSION 2

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

/* ---- Creation properties (ABI 2) -----------------------------------------
 * A device type may accept named properties at creation (QEMU's qdev
 * properties): the number of comparators of an HPET, MSI on or off. Every
 * value is an unsigned integer; booleans are 0 or 1. */
typedef struct PortlabPropertyInfo {
    /* NUL-terminated name, as the device's spec spells it ("timers"). */
    const char *name;
    /* One line for `portlab list`. */
    const char *doc;
    /* The value a property takes when create is not given it. */
    uint64_t default_value;
    /* Accepted range, inclusive. A value outside it makes create fail with
     * PORTLAB_ERR_INVALID. The device may still map accepted values (the
     * HPET clamps "timers" to 3..32, as QEMU 10.0 does). */
    uint64_t min;
    uint64_t max;
} PortlabPropertyInfo;

/* One property value handed to create. */
typedef struct PortlabProperty {
    const char *name;
    uint64_t value;
} PortlabProperty;

/* ---- State schema (ABI 2) ------------------------------------------------
 * The migration payload (the bytes between the container header and its
 * CRC) described as data, so that every tool (state diffs, coverage,
 * importers) reads any device's state by field name. The payload is a fixed
 * part followed by an optional array of records whose length is given by a
 * field of the fixed part (the HPET's comparators). Fields are little-endian
 * unsigned integers of 1, 2, 4 or 8 bytes; a field with count > 1 is an
 * array whose element k lies at offset + k * width. Every payload byte
 * belongs to exactly one field. */

/* The field is a member of the repeated record: its offset counts from the
 * start of a record, and it is named "RECORD[i].NAME". */
#define PORTLAB_FIELD_IN_RECORD 0x1

typedef struct PortlabStateField {
    /* NUL-terminated name, as in the device's spec ("read_fifo", "cmp"). */
    const char *name;
    /* Byte offset in the fixed part, or in the record (PORTLAB_FIELD_IN_RECORD). */
    uint32_t offset;
    /* Bytes per element: 1, 2, 4 or 8. */
    uint32_t width;
    /* Number of elements; 1 for a scalar. */
    uint32_t count;
    /* PORTLAB_FIELD_* flags. */
    uint32_t flags;
} PortlabStateField;

typedef struct PortlabStateSchema {
    /* The payload version this schema describes (the newest one saved). */
    uint16_t version;
    /* Bytes of the fixed part, at payload offset 0. */
    uint32_t fixed_size;
    /* Records (ABI 2 variable-length array): the array's name ("timer"),
     * the name of the fixed-part scalar that counts them, the size of one
     * record and the most records a payload may hold. All NULL/0 when the
     * payload has no records. Records follow the fixed part, so a payload
     * with k records is fixed_size + k * record_size bytes long. */
    const char *record_name;
    const char *record_count_field;
    uint32_t record_size;
    uint32_t max_records;
    /* The fields, in payload order: fixed-part fields first, then the
     * record's fields. */
    const PortlabStateField *fields;
    uint32_t num_fields;
} PortlabStateSchema;

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
    /* ABI 2: the device writes `size` bytes (1, 2, 4 or 8) of `value`,
     * little-endian, to guest-physical address `addr` on its own (DMA; the
     * HPET's FSB/MSI interrupt messages). Fire and forget: the device
     * learns no result. The host logs it as a `mem` event. */
    void (*mem_write)(void *host_ctx, uint64_t addr, uint32_t size,
                      uint64_t value);
    /* ABI 2: arm timer `timer` to expire at once (deadline 0), ahead of
     * every timer pending now, of any device: it fires before them at the
     * next advance, and several such arms fire in the reverse of their
     * arming order. This is QEMU's timer list receiving a negative expiry
     * (hpet.md section 8.1). Replaces any pending deadline of that timer. */
    void (*timer_arm_first)(void *host_ctx, uint32_t timer);
} PortlabHostOps;

/* ---- What a device gives the host ---------------------------------------
 * A device model is one constant ops table: its description and its entry
 * points. Instances are created and destroyed through it. Every entry point
 * must be present (a device without serial input still has receive, which
 * returns PORTLAB_ERR_INVALID); a host validates the table once when it
 * registers it and refuses a table of another ABI version. */
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
    /* ABI 2: number of input lines (GPIO inputs), numbered from 0. */
    uint32_t num_inputs;
    /* ABI 2: the properties create accepts (NULL and 0: none). */
    const PortlabPropertyInfo *properties;
    uint32_t num_properties;
    /* ABI 2: the migration payload as data. Never NULL. */
    const PortlabStateSchema *state_schema;

    /* Create an instance in its power-on state, with `num_props` property
     * values (props may be NULL when num_props is 0). An unknown name, a
     * name given twice or a value outside its range makes create fail with
     * PORTLAB_ERR_INVALID, after a log message that names the property, and
     * creates nothing. Properties not given take their default. `host` and
     * `host_ctx` must outlive the instance. Creation calls no host callback
     * other than clock_ns, rtc_epoch_s and (for a refused property) log. */
    PortlabStatus (*create)(const PortlabHostOps *host, void *host_ctx,
                            const PortlabProperty *props, uint32_t num_props,
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
    /* ABI 2: input line `line` (< num_inputs) is driven to `level` (0 or 1;
     * anything else, or a bad line, is PORTLAB_ERR_INVALID and changes
     * nothing). Delivered every time, also when the level does not change.
     * A device without inputs returns PORTLAB_ERR_INVALID. The device may
     * call set_irq, mem_write, timer_arm, timer_arm_first and timer_cancel
     * while handling it. */
    PortlabStatus (*set_input)(PortlabDevice *dev, uint32_t line,
                               uint32_t level);
} PortlabDeviceOps;

#ifdef __cplusplus
}
#endif

#endif /* PORTLAB_DEVICE_H */
