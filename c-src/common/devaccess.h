/*
 * devaccess.h - the MMIO access rules, written once for every C model and
 * for the C trace runner.
 *
 * Two helpers:
 *
 * - devaccess_check: is an access of `size` bytes at `offset` one the
 *   device accepts? The answer comes from what the ops table declares
 *   (access_sizes, region_size), so the rule and the declaration cannot
 *   drift apart. A model only asks "ok or not" (a refused access is
 *   PORTLAB_ERR_INVALID, the host never delivers one); the runner turns the
 *   reason into its error message.
 *
 * - devaccess_read_split / devaccess_write_split: for devices that work in
 *   32-bit units (PL011, PL031 and most AMBA peripherals). QEMU's memory
 *   core splits an 8-byte access into two 4-byte ones and hands a 1- or
 *   2-byte access to the device as is; these helpers do the same around a
 *   device's own one-register read and write. A device with real 64-bit
 *   registers (the HPET) uses the check only.
 *
 * Internal to the C models and tools, like devstate.h: the ABI is
 * portlab_device.h, and the Rust side has its own copy of these rules.
 *
 * The functions are C99 inline definitions: they run on every MMIO access,
 * and inlined into a model's read/write (where the register callback is a
 * known function) they cost nothing over the hand-written code they
 * replace; as out-of-line calls they doubled the time of a C register
 * access. devaccess.c holds the one external definition of each.
 */
#ifndef PORTLAB_DEVACCESS_H
#define PORTLAB_DEVACCESS_H

#include <stdint.h>

#include "portlab_device.h"

/* Why an access is refused, in the order the checks run. */
typedef enum PortlabAccessFault {
    PORTLAB_ACCESS_OK = 0,
    /* size is not 1, 2, 4 or 8, or not one of the declared access_sizes. */
    PORTLAB_ACCESS_BAD_SIZE,
    /* [offset, offset + size) does not lie inside [0, region_size). */
    PORTLAB_ACCESS_OUTSIDE_REGION,
    /* offset is not a multiple of size (QEMU never delivers those). */
    PORTLAB_ACCESS_MISALIGNED,
} PortlabAccessFault;

/*
 * Checks one access against a device's declaration: access_sizes is the
 * ops table's PORTLAB_ACCESS_* mask, region_size its region in bytes.
 * Safe for any input (no overflow when offset is near 2^64).
 */
inline PortlabAccessFault devaccess_check(uint32_t access_sizes,
                                          uint64_t region_size,
                                          uint64_t offset, uint32_t size)
{
    /* Only 1, 2, 4 and 8 are sizes at all: testing the mask alone would
     * let a 3 through a device that accepts 1 or 2. */
    if ((size != 1 && size != 2 && size != 4 && size != 8) ||
        (access_sizes & size) == 0) {
        return PORTLAB_ACCESS_BAD_SIZE;
    }
    /* offset + size could wrap; compare with what is left of the region. */
    if (offset > region_size || region_size - offset < size) {
        return PORTLAB_ACCESS_OUTSIDE_REGION;
    }
    /* size is a power of two here, so the mask is the alignment check. */
    if ((offset & (size - 1u)) != 0) {
        return PORTLAB_ACCESS_MISALIGNED;
    }
    return PORTLAB_ACCESS_OK;
}

/* devaccess_check against an ops table: 1 if accepted, 0 if not. */
inline int devaccess_ok(const PortlabDeviceOps *ops, uint64_t offset,
                        uint32_t size)
{
    return devaccess_check(ops->access_sizes, ops->region_size, offset,
                           size) == PORTLAB_ACCESS_OK;
}

/*
 * One 32-bit register access of a device, on its own state `s`. `offset`
 * is the access's offset as the guest gave it (for a sub-word access, not
 * rounded down to the word): each device decodes it its own way (PL011 by
 * offset >> 2, PL031 by the exact offset) and logs it as given.
 */
typedef uint32_t (*DevAccessRead32)(void *s, uint64_t offset);
typedef void (*DevAccessWrite32)(void *s, uint64_t offset, uint32_t value);

/*
 * The value of a read of `size` bytes at `offset` (an access
 * devaccess_check accepted):
 *   size 8:    read32(offset) | read32(offset + 4) << 32, in that order;
 *   size 4:    read32(offset);
 *   size 1, 2: read32(offset), masked to its low 8 or 16 bits (not
 *              shifted: a byte read at 0x019 is the low byte of the
 *              register at 0x018).
 */
inline uint64_t devaccess_read_split(void *s, DevAccessRead32 read32,
                                     uint64_t offset, uint32_t size)
{
    uint64_t v = read32(s, offset);
    if (size == 8) {
        /* Two reads, each with its side effects, low word first. */
        v |= (uint64_t)read32(s, offset + 4) << 32;
    } else if (size < 4) {
        v &= (UINT64_C(1) << (size * 8u)) - 1u;
    }
    return v;
}

/*
 * A write of `size` bytes at `offset` (an access devaccess_check
 * accepted): PORTLAB_ERR_INVALID, with nothing written, when `value` does
 * not fit in `size` bytes (no host delivers such a write); else
 *   size 8:    write32(offset, low half), then write32(offset + 4, high);
 *   size 1, 2, 4: write32(offset, value zero-extended);
 * and PORTLAB_OK.
 */
inline PortlabStatus devaccess_write_split(void *s, DevAccessWrite32 write32,
                                           uint64_t offset, uint32_t size,
                                           uint64_t value)
{
    /* Refused before anything is written: the device sees all or nothing. */
    if (size < 8 && (value >> (size * 8u)) != 0) {
        return PORTLAB_ERR_INVALID;
    }
    write32(s, offset, (uint32_t)value);
    if (size == 8) {
        write32(s, offset + 4, (uint32_t)(value >> 32));
    }
    return PORTLAB_OK;
}

#endif /* PORTLAB_DEVACCESS_H */
