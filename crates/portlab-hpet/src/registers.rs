//! The HPET's registers as typed Rust.
//!
//! Every number here comes from `c-src/include/hpet.h` through the
//! bindings; this module only gives the numbers names and types, and
//! decodes an access once: which register ([`Register::decode`]) and which
//! half of it ([`Half`]). Names from the IA-PC HPET specification are
//! `doc(alias)`es, so searching rustdoc for `GCAP_ID` or `Tn_CONF` finds
//! them.

use bitflags::bitflags;
use portlab_device::sys;

/// The low 32 bits of a 64-bit register.
pub const LOW32: u64 = 0xFFFF_FFFF;

/// Bits in one half of a register: a 4-byte access covers this many, and
/// the high half starts here.
pub const HALF_BITS: u32 = 32;

/// A global register (spec section 5.1), by its offset with the half bit
/// cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GlobalRegister {
    /// General capabilities and ID: read-only.
    #[doc(alias = "GCAP_ID")]
    Capabilities = sys::HPET_GCAP_ID,
    /// General configuration: ENABLE and LEGACY.
    #[doc(alias = "GEN_CONF")]
    Config = sys::HPET_GEN_CONF,
    /// General interrupt status: one level bit per comparator, write 1 to clear.
    #[doc(alias = "GINTR_STA")]
    InterruptStatus = sys::HPET_GINTR_STA,
    /// The main counter.
    #[doc(alias = "MAIN_CNT")]
    MainCounter = sys::HPET_MAIN_CNT,
}

/// A register of a comparator block (spec section 5.2), by its offset in
/// the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TimerRegister {
    /// Configuration and capabilities.
    #[doc(alias = "Tn_CONF")]
    Config = sys::HPET_TN_CONF,
    /// Comparator value (and, in periodic mode, the period).
    #[doc(alias = "Tn_COMPARATOR")]
    Comparator = sys::HPET_TN_CMP,
    /// FSB interrupt route: address in bits 63:32, value in bits 31:0.
    #[doc(alias = "Tn_FSB_ROUTE")]
    FsbRoute = sys::HPET_TN_FSB,
}

/// What an access reaches, decoded in QEMU's order (spec section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Register {
    /// A global register.
    Global(GlobalRegister),
    /// A register of comparator `index`; `index` is at most the number of
    /// comparators, so it can be the ghost comparator (spec section 8.7).
    Timer(usize, TimerRegister),
    /// A reserved offset (globals, or slot 0x18 of a block): reads 0,
    /// writes are ignored.
    Reserved,
    /// A comparator block beyond the ghost: reads 0, writes are ignored.
    OutOfRange(usize),
}

impl Register {
    /// The register at `offset` of an HPET with `num_timers` comparators.
    ///
    /// The range check is QEMU's `index > num_timers`, which lets the block
    /// of comparator `num_timers` through: the ghost comparator, kept on
    /// purpose (spec section 8.7).
    pub fn decode(offset: u64, num_timers: usize) -> Register {
        let base = u64::from(sys::HPET_TIMER_BASE);
        if offset >= u64::from(sys::HPET_REGION_SIZE) {
            return Register::Reserved;
        }
        if offset >= base {
            let index = ((offset - base) / u64::from(sys::HPET_TIMER_STRIDE)) as usize;
            if index > num_timers {
                return Register::OutOfRange(index);
            }
            return match (offset & u64::from(sys::HPET_TN_REG_MASK)) as u32 {
                sys::HPET_TN_CONF => Register::Timer(index, TimerRegister::Config),
                sys::HPET_TN_CMP => Register::Timer(index, TimerRegister::Comparator),
                sys::HPET_TN_FSB => Register::Timer(index, TimerRegister::FsbRoute),
                _ => Register::Reserved,
            };
        }
        // Below the comparator blocks, so it fits in 32 bits.
        match (offset & !u64::from(sys::HPET_HIGH_HALF)) as u32 {
            sys::HPET_GCAP_ID => Register::Global(GlobalRegister::Capabilities),
            sys::HPET_GEN_CONF => Register::Global(GlobalRegister::Config),
            sys::HPET_GINTR_STA => Register::Global(GlobalRegister::InterruptStatus),
            sys::HPET_MAIN_CNT => Register::Global(GlobalRegister::MainCounter),
            _ => Register::Reserved,
        }
    }
}

/// The bits of a 64-bit register that one access covers (spec section 6):
/// QEMU's `(shift, len)` pair. A 4-byte access covers the half selected by
/// bit 2 of its offset; an 8-byte access covers the whole register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Half {
    shift: u32,
    width: u32,
}

impl Half {
    /// The whole register (an 8-byte access, or QEMU's widened 32-bit-mode
    /// comparator write).
    pub const WHOLE: Half = Half { shift: 0, width: 64 };

    /// The bits an access of `size` bytes at `offset` covers.
    pub fn of(offset: u64, size: u32) -> Half {
        let shift = if offset & u64::from(sys::HPET_HIGH_HALF) != 0 { HALF_BITS } else { 0 };
        let width = if size == 8 { 64 } else { HALF_BITS };
        Half { shift, width }
    }

    /// Whether the access is to the high half (bits 63:32) only.
    pub fn is_high(self) -> bool {
        self.shift != 0
    }

    /// The value as the access reads it: `register >> shift`, truncated to
    /// `size` bytes.
    pub fn extract(self, register: u64, size: u32) -> u64 {
        let value = register.wrapping_shr(self.shift);
        match size {
            1 => value & 0xFF,
            2 => value & 0xFFFF,
            4 => value & LOW32,
            _ => value,
        }
    }

    /// `deposit(old, shift, width, value)`: `old` with the covered bits
    /// replaced by the low bits of `value` (spec section 2).
    pub fn deposit(self, old: u64, value: u64) -> u64 {
        // An 8-byte access covers the whole register: the value, as it is
        // (the comparator write of a 64-bit driver, `hpet-cmp-write`).
        if self.width >= 64 && self.shift == 0 {
            return value;
        }
        let field = if self.width >= 64 { u64::MAX } else { (1u64 << self.width) - 1 };
        let mask = field.wrapping_shl(self.shift);
        (old & !mask) | (value.wrapping_shl(self.shift) & mask)
    }
}

/// `new` where `writable` has ones, `old` elsewhere: how a register with
/// read-only bits takes a write.
pub fn merge(old: u64, new: u64, writable: u64) -> u64 {
    (new & writable) | (old & !writable)
}

/// `MASK(i)`, comparator `index`'s bits in GINTR_STA (spec section 2).
///
/// QEMU computes `1 << i` as a C `int` and widens it to 64 bits, so for
/// comparator 31 the sign bit is extended: its mask is
/// 0xFFFFFFFF80000000, and it sets and clears bits 31-63 together. Kept on
/// purpose (a QEMU quirk, spec section 9.3).
#[doc(alias = "MASK")]
pub fn isr_mask(index: usize) -> u64 {
    // The shift happens on an i32, where bit 31 is the sign; `i64::from`
    // then sign-extends it. Indexes are below 32.
    i64::from(1i32.wrapping_shl(index as u32)) as u64
}

bitflags! {
    /// GEN_CONF, the general configuration register.
    #[doc(alias = "GEN_CONF")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct GeneralConfig: u64 {
        /// The main counter runs and comparators are armed.
        #[doc(alias = "ENABLE_CNF")]
        const ENABLE = sys::HPET_CFG_ENABLE as u64;
        /// Legacy replacement: comparators 0 and 1 drive lines 0 and 8,
        /// the PIT is disabled.
        #[doc(alias = "LEG_RT_CNF")]
        const LEGACY = sys::HPET_CFG_LEGACY as u64;
    }
}

impl GeneralConfig {
    /// The bits a write can change (all the others stay 0).
    pub const WRITABLE: GeneralConfig = GeneralConfig::from_bits_retain(sys::HPET_CFG_WRITE_MASK as u64);
}

bitflags! {
    /// Tn_CONF, a comparator's configuration and capabilities. Bits 63:32
    /// hold Tn_INT_ROUTE_CAP (the `hpet-intcap` property), kept with
    /// `from_bits_retain`.
    #[doc(alias = "Tn_CONF")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TimerConfig: u64 {
        /// Level-triggered interrupt (else edge).
        #[doc(alias = "Tn_INT_TYPE_CNF")]
        const LEVEL = sys::HPET_TN_LEVEL as u64;
        /// Interrupt enable: gates only the delivery, never the comparator.
        #[doc(alias = "Tn_INT_ENB_CNF")]
        const INT_ENABLE = sys::HPET_TN_ENABLE as u64;
        /// Periodic mode (else one-shot).
        #[doc(alias = "Tn_TYPE_CNF")]
        const PERIODIC = sys::HPET_TN_PERIODIC as u64;
        /// Capability: periodic mode (read-only 1).
        #[doc(alias = "Tn_PER_INT_CAP")]
        const PERIODIC_CAP = sys::HPET_TN_PERIODIC_CAP as u64;
        /// Capability: 64-bit comparator (read-only 1).
        #[doc(alias = "Tn_SIZE_CAP")]
        const SIZE_CAP = sys::HPET_TN_SIZE_CAP as u64;
        /// The next comparator write also sets the comparator of a periodic
        /// timer. Reads back as 1 until that write (a QEMU quirk).
        #[doc(alias = "Tn_VAL_SET_CNF")]
        const SETVAL = sys::HPET_TN_SETVAL as u64;
        /// 32-bit mode.
        #[doc(alias = "Tn_32MODE_CNF")]
        const MODE32 = sys::HPET_TN_32BIT as u64;
        /// The interrupt route, 0-31 (never checked against the capability).
        #[doc(alias = "Tn_INT_ROUTE_CNF")]
        const ROUTE = sys::HPET_TN_INT_ROUTE_MASK as u64;
        /// FSB (MSI) delivery instead of a line, whatever FSB_CAP says.
        #[doc(alias = "Tn_FSB_EN_CNF")]
        const FSB_ENABLE = sys::HPET_TN_FSB_ENABLE as u64;
        /// Capability: FSB delivery (the `msi` property).
        #[doc(alias = "Tn_FSB_INT_DEL_CAP")]
        const FSB_CAP = sys::HPET_TN_FSB_CAP as u64;
    }
}

impl TimerConfig {
    /// The bits a guest write can change.
    pub const WRITABLE: TimerConfig = TimerConfig::from_bits_retain(sys::HPET_TN_CFG_WRITE_MASK as u64);

    /// Tn_CONF after reset (`TN_RESET`): the capability bits, FSB_CAP from
    /// `msi`, and `intcap` as Tn_INT_ROUTE_CAP.
    pub fn reset_value(msi: bool, intcap: u32) -> TimerConfig {
        let route_cap = u64::from(intcap) << sys::HPET_TN_INT_ROUTE_CAP_SHIFT;
        let mut config = TimerConfig::from_bits_retain(u64::from(sys::HPET_TN_RESET) | route_cap);
        config.set(TimerConfig::FSB_CAP, msi);
        config
    }

    /// Tn_INT_ROUTE_CNF: the output line, 0-31.
    pub fn route(self) -> u32 {
        ((self & TimerConfig::ROUTE).bits() >> sys::HPET_TN_INT_ROUTE_SHIFT) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_globals_both_halves_and_reserved() {
        use GlobalRegister::*;
        for (offset, register) in
            [(0x000, Capabilities), (0x010, Config), (0x020, InterruptStatus), (0x0F0, MainCounter)]
        {
            assert_eq!(Register::decode(offset, 3), Register::Global(register));
            assert_eq!(Register::decode(offset + 4, 3), Register::Global(register));
        }
        for offset in [0x008, 0x00C, 0x018, 0x028, 0x0E8, 0x0F8, 0x0FC] {
            assert_eq!(Register::decode(offset, 3), Register::Reserved, "{offset:#x}");
        }
        assert_eq!(Register::decode(0x400, 3), Register::Reserved);
        assert_eq!(Register::decode(u64::MAX, 3), Register::Reserved);
    }

    #[test]
    fn decode_blocks_let_the_ghost_through() {
        use TimerRegister::*;
        assert_eq!(Register::decode(0x100, 3), Register::Timer(0, Config));
        assert_eq!(Register::decode(0x104, 3), Register::Timer(0, Config));
        assert_eq!(Register::decode(0x128, 3), Register::Timer(1, Comparator));
        assert_eq!(Register::decode(0x154, 3), Register::Timer(2, FsbRoute));
        assert_eq!(Register::decode(0x118, 3), Register::Reserved);
        assert_eq!(Register::decode(0x11C, 3), Register::Reserved);
        // Comparator 3 of a 3-comparator HPET: the ghost.
        assert_eq!(Register::decode(0x160, 3), Register::Timer(3, Config));
        assert_eq!(Register::decode(0x180, 3), Register::OutOfRange(4));
        assert_eq!(Register::decode(0x3F8, 3), Register::OutOfRange(23));
        assert_eq!(Register::decode(0x3E8, 32), Register::Timer(23, Comparator));
    }

    #[test]
    fn halves_deposit_and_extract() {
        let low = Half::of(0x108, 4);
        let high = Half::of(0x10C, 4);
        let whole = Half::of(0x108, 8);
        assert_eq!(whole, Half::WHOLE);
        assert!(high.is_high() && !low.is_high());
        let r = 0x0123_4567_89AB_CDEF;
        assert_eq!(low.extract(r, 4), 0x89AB_CDEF);
        assert_eq!(high.extract(r, 4), 0x0123_4567);
        assert_eq!(whole.extract(r, 8), r);
        assert_eq!(low.deposit(r, 0x1111_2222), 0x0123_4567_1111_2222);
        assert_eq!(high.deposit(r, 0x1111_2222), 0x1111_2222_89AB_CDEF);
        assert_eq!(whole.deposit(r, 5), 5);
    }

    #[test]
    fn mask_31_is_sign_extended() {
        assert_eq!(isr_mask(0), 1);
        assert_eq!(isr_mask(30), 1 << 30);
        assert_eq!(isr_mask(31), 0xFFFF_FFFF_8000_0000);
    }

    #[test]
    fn timer_config_values() {
        assert_eq!(TimerConfig::reset_value(false, 0x00FF_0104).bits(), 0x00FF_0104_0000_0030);
        assert_eq!(TimerConfig::reset_value(true, 4).bits(), 0x0000_0004_0000_8030);
        assert_eq!(TimerConfig::from_bits_retain(0x7F7E).route(), 31);
        assert_eq!(TimerConfig::from_bits_retain(0x406).route(), 2);
        assert_eq!(TimerConfig::WRITABLE.bits(), 0x7F4E);
        assert_eq!(GeneralConfig::WRITABLE, GeneralConfig::ENABLE | GeneralConfig::LEGACY);
    }
}
