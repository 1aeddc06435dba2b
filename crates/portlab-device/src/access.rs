//! MMIO access rules, once for the Rust side: which accesses a device
//! takes, and how a device built of 32-bit registers answers the others.
//!
//! The C side has the same two pieces in `c-src/common/devaccess.h`. A
//! device declares its region size and access sizes (its `DeviceInfo`);
//! [`check`] is the one place that decides whether an access is valid
//! (the adapter refuses an invalid one before the device sees it, and the
//! board calls the same function to explain why). Devices whose registers
//! are 32-bit words, as the ARM PrimeCells' are, implement [`Words32`] and
//! take 1-, 2- and 8-byte accesses through [`read_words`] and
//! [`write_words`]: an 8-byte access is two word accesses, low word first,
//! and a sub-word read is the word read, masked. A device with 64-bit
//! registers (the HPET) does its own splitting, because its spec says
//! what a half access does.

use crate::{Host, LogKind, sys};

/// Logs the guest error `what 0x<offset>` (a register that is not there,
/// or not there for this direction). Cold and out of line, so that a
/// device's register paths do not set up the formatting's stack frame on
/// every access; with it inlined, the PL031's MR write paid for one
/// (`pl031-mr-write`, docs/benchmarks.md).
#[cold]
#[inline(never)]
pub fn offset_error(host: &mut impl Host, what: &str, offset: u64) {
    host.log(LogKind::GuestError, &format!("{what} 0x{offset:x}"));
}

/// Why an access is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessFault {
    /// The size is not 1, 2, 4 or 8, or not one the device accepts.
    Size,
    /// Part of the access lies outside the device's region.
    OutsideRegion,
    /// The offset is not a multiple of the size.
    Misaligned,
}

/// Whether an access of `size` bytes at `offset` is valid for a device
/// that takes the sizes in the mask `access_sizes` (`PORTLAB_ACCESS_*`)
/// over a region of `region_size` bytes: the adapter's test on every
/// access, so one branch-light expression.
#[inline(always)]
pub fn ok(access_sizes: u32, region_size: u64, offset: u64, size: u32) -> bool {
    // Bit N set when an access of N bytes is allowed. The masks are the
    // sizes themselves (`PORTLAB_ACCESS_4` is 4), and a device's mask is a
    // constant, so this folds to one constant and the size test to a
    // compare and a bit test, where "one of 1, 2, 4, 8, and in the mask"
    // was eight instructions in the plain release build.
    let allowed_by_size = (access_sizes & (sys::PORTLAB_ACCESS_1 | sys::PORTLAB_ACCESS_2)) << 1
        | (access_sizes & sys::PORTLAB_ACCESS_4) << 2
        | (access_sizes & sys::PORTLAB_ACCESS_8) << 5;
    let size_ok = size < 16 && (allowed_by_size >> size) & 1 != 0;
    // `size` is a power of two from here, so the alignment check is a mask,
    // not a division; and `end <= region` is written without the add that
    // could overflow.
    let size = u64::from(size);
    size_ok && offset & (size - 1) == 0 && size <= region_size && offset <= region_size - size
}

/// [`ok`] for a size known at compile time (the adapter's entry points
/// test 4- and 8-byte accesses, the ones guests make, with it): the size
/// test, the alignment mask and the region's last offset are constants,
/// where `ok` needs a bit test and a shift by a variable amount.
#[inline(always)]
pub fn ok_sized<const SIZE: u32>(access_sizes: u32, region_size: u64, offset: u64) -> bool {
    // The header's size masks are the sizes themselves.
    const { assert!(sys::PORTLAB_ACCESS_4 == 4 && sys::PORTLAB_ACCESS_8 == 8 && sys::PORTLAB_ACCESS_2 == 2) };
    const { assert!(SIZE.is_power_of_two() && SIZE <= 8, "a size an access can have") };
    access_sizes & SIZE != 0
        && offset & (u64::from(SIZE) - 1) == 0
        && region_size.checked_sub(u64::from(SIZE)).is_some_and(|last| offset <= last)
}

/// [`ok`], and when the access is refused, why. The rule is written twice
/// on purpose: as one expression for the hot path, and as ordered tests
/// for the reason, which only a refusal pays for. With `ok` defined as
/// `check(..).is_ok()`, the Rust PL011's `tx` workload measured 0.8 ns
/// slower per byte (`portlab bench --quick`, plain release build, three
/// runs each, 2026-11-26). The tests below hold the two equal. The faults are tested in
/// the order of the enum (as `devaccess_check` does in C).
#[inline]
pub fn check(access_sizes: u32, region_size: u64, offset: u64, size: u32) -> Result<(), AccessFault> {
    if ok(access_sizes, region_size, offset, size) {
        Ok(())
    } else {
        Err(fault(access_sizes, region_size, offset, size))
    }
}

#[cold]
fn fault(access_sizes: u32, region_size: u64, offset: u64, size: u32) -> AccessFault {
    if !matches!(size, 1 | 2 | 4 | 8) || access_sizes & size == 0 {
        AccessFault::Size
    } else if offset.checked_add(u64::from(size)).is_none_or(|end| end > region_size) {
        AccessFault::OutsideRegion
    } else {
        AccessFault::Misaligned
    }
}

/// A device whose registers are 32-bit words.
pub trait Words32 {
    /// Reads the register word at `offset` (for a sub-word access, the
    /// offset as the guest gave it).
    fn read32(&mut self, host: &mut impl Host, offset: u64) -> u32;
    /// Writes the register word at `offset`.
    fn write32(&mut self, host: &mut impl Host, offset: u64, value: u32);
}

/// A read of `size` bytes (already checked) from a device of 32-bit words.
#[inline(always)]
pub fn read_words<D: Words32, H: Host>(device: &mut D, host: &mut H, offset: u64, size: u32) -> u64 {
    debug_assert!(matches!(size, 1 | 2 | 4 | 8), "read_words takes checked sizes, not {size}");
    match size {
        4 => u64::from(device.read32(host, offset)),
        8 => read64(device, host, offset),
        _ => u64::from(device.read32(host, offset)) & ((1u64 << (size * 8)) - 1),
    }
}

/// A write of `size` bytes (already checked; the value fits) to a device
/// of 32-bit words. A sub-word write is a word write of the value.
#[inline(always)]
pub fn write_words<D: Words32, H: Host>(device: &mut D, host: &mut H, offset: u64, size: u32, value: u64) {
    if size == 8 {
        write64(device, host, offset, value);
    } else {
        device.write32(host, offset, value as u32);
    }
}

/// Two word reads, low word first. Out of line: 8-byte accesses are rare,
/// and inlined, the second call would keep every argument alive across
/// the first one's callbacks, which costs every access register saves.
/// Cold too, so that the 4-byte access is the straight path and nothing
/// is set up for this call before the size is known.
#[cold]
#[inline(never)]
fn read64<D: Words32, H: Host>(device: &mut D, host: &mut H, offset: u64) -> u64 {
    let low = u64::from(device.read32(host, offset));
    low | u64::from(device.read32(host, offset + 4)) << 32
}

/// Two word writes, low word first; out of line and cold like [`read64`].
#[cold]
#[inline(never)]
fn write64<D: Words32, H: Host>(device: &mut D, host: &mut H, offset: u64, value: u64) {
    device.write32(host, offset, value as u32);
    device.write32(host, offset + 4, (value >> 32) as u32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Recorder;

    #[test]
    fn faults_come_in_order() {
        let sizes = crate::sys::PORTLAB_ACCESS_4 | crate::sys::PORTLAB_ACCESS_8;
        assert_eq!(check(sizes, 0x400, 0x3f8, 8), Ok(()));
        assert_eq!(check(sizes, 0x400, 0x0, 2), Err(AccessFault::Size));
        assert_eq!(check(sizes, 0x400, 0x0, 3), Err(AccessFault::Size));
        assert_eq!(check(0xff, 0x400, 0x0, 16), Err(AccessFault::Size));
        assert_eq!(check(sizes, 0x400, 0x3fc, 8), Err(AccessFault::OutsideRegion));
        assert_eq!(check(sizes, 0x400, u64::MAX - 3, 4), Err(AccessFault::OutsideRegion));
        assert_eq!(check(sizes, 0x400, 0x4, 8), Err(AccessFault::Misaligned));
    }

    /// The access rule written the plain way (the expression `ok` had
    /// before it was made branch-light): what the test below holds `ok`
    /// and `check` to.
    fn reference(access_sizes: u32, region_size: u64, offset: u64, size: u32) -> bool {
        matches!(size, 1 | 2 | 4 | 8)
            && access_sizes & size != 0
            && offset % u64::from(size) == 0
            && offset.checked_add(u64::from(size)).is_some_and(|end| end <= region_size)
    }

    #[test]
    fn ok_and_check_agree_everywhere() {
        // Masks with bits beyond the four sizes, and sizes past 8 (16 is
        // the first the fast test's table cannot hold), must agree too.
        for sizes in [0x1, 0x4, 0x6, 0xC, 0xF, 0x10, 0xFF, u32::MAX] {
            for region in [0u64, 4, 0x400, u64::MAX] {
                for offset in [0u64, 1, 2, 3, 4, 6, 8, 0x3f8, 0x3fc, 0x400, u64::MAX - 7, u64::MAX] {
                    for size in (0..=17).chain([32, 64, u32::MAX]) {
                        let expected = reference(sizes, region, offset, size);
                        let at = format!("sizes {sizes:#x} region {region:#x} offset {offset:#x} size {size}");
                        assert_eq!(ok(sizes, region, offset, size), expected, "{at}");
                        assert_eq!(check(sizes, region, offset, size).is_ok(), expected, "{at}");
                    }
                }
            }
        }
    }

    /// The sized test is `ok` at its size, everywhere `ok` is tested.
    #[test]
    fn ok_sized_is_ok_at_its_size() {
        for sizes in [0x1, 0x4, 0x6, 0x8, 0xC, 0xF, 0x10, 0xFF, u32::MAX] {
            for region in [0u64, 4, 7, 8, 0x400, u64::MAX] {
                for offset in [0u64, 1, 2, 3, 4, 6, 8, 12, 0x3f8, 0x3fc, 0x400, u64::MAX - 7, u64::MAX - 3, u64::MAX] {
                    let at = format!("sizes {sizes:#x} region {region:#x} offset {offset:#x}");
                    assert_eq!(ok_sized::<1>(sizes, region, offset), ok(sizes, region, offset, 1), "{at} size 1");
                    assert_eq!(ok_sized::<2>(sizes, region, offset), ok(sizes, region, offset, 2), "{at} size 2");
                    assert_eq!(ok_sized::<4>(sizes, region, offset), ok(sizes, region, offset, 4), "{at} size 4");
                    assert_eq!(ok_sized::<8>(sizes, region, offset), ok(sizes, region, offset, 8), "{at} size 8");
                }
            }
        }
    }

    /// Registers that hold their offset plus what was written.
    struct Echo(Vec<(u64, u32)>);

    impl Words32 for Echo {
        fn read32(&mut self, _host: &mut impl Host, offset: u64) -> u32 {
            0xAABB_0000 | offset as u32
        }
        fn write32(&mut self, _host: &mut impl Host, offset: u64, value: u32) {
            self.0.push((offset, value));
        }
    }

    #[test]
    fn wide_accesses_are_two_words_low_first_and_narrow_reads_are_masked() {
        let mut host = Recorder::default();
        let mut d = Echo(Vec::new());
        assert_eq!(read_words(&mut d, &mut host, 0x10, 8), 0xAABB_0014_AABB_0010);
        assert_eq!(read_words(&mut d, &mut host, 0x11, 1), 0x11);
        assert_eq!(read_words(&mut d, &mut host, 0x12, 2), 0x0012);
        write_words(&mut d, &mut host, 0x20, 8, 0x1111_2222_3333_4444);
        write_words(&mut d, &mut host, 0x31, 1, 0x55);
        assert_eq!(d.0, [(0x20, 0x3333_4444), (0x24, 0x1111_2222), (0x31, 0x55)]);
    }
}
