//! The PL031's registers as typed Rust: the same shape as the PL011's
//! `registers.rs` (and the scaffold's), one place where an offset becomes
//! a register.
//!
//! Every number here comes from `c-src/include/pl031.h` through the
//! bindings; this module only gives the numbers names. Datasheet names are
//! `doc(alias)`es, so searching rustdoc for `RTCMR` finds them.

use portlab_device::sys;

/// A PL031 register, by its exact byte offset (the PL031 decodes the whole
/// offset, unlike the PL011).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RegisterOffset {
    /// Data: the current count.
    #[doc(alias = "RTCDR")]
    Dr = sys::PL031_DR,
    /// Match: the alarm value.
    #[doc(alias = "RTCMR")]
    Mr = sys::PL031_MR,
    /// Load: sets the count; reads back the last value written.
    #[doc(alias = "RTCLR")]
    Lr = sys::PL031_LR,
    /// Control: reads 1, writes ignored.
    #[doc(alias = "RTCCR")]
    Cr = sys::PL031_CR,
    /// Interrupt mask.
    #[doc(alias = "RTCIMSC")]
    Imsc = sys::PL031_IMSC,
    /// Raw interrupt status.
    #[doc(alias = "RTCRIS")]
    Ris = sys::PL031_RIS,
    /// Masked interrupt status.
    #[doc(alias = "RTCMIS")]
    Mis = sys::PL031_MIS,
    /// Interrupt clear.
    #[doc(alias = "RTCICR")]
    Icr = sys::PL031_ICR,
}

impl RegisterOffset {
    /// The register at exactly `offset`, if any.
    pub fn decode(offset: u64) -> Option<RegisterOffset> {
        Some(match u32::try_from(offset).ok()? {
            sys::PL031_DR => RegisterOffset::Dr,
            sys::PL031_MR => RegisterOffset::Mr,
            sys::PL031_LR => RegisterOffset::Lr,
            sys::PL031_CR => RegisterOffset::Cr,
            sys::PL031_IMSC => RegisterOffset::Imsc,
            sys::PL031_RIS => RegisterOffset::Ris,
            sys::PL031_MIS => RegisterOffset::Mis,
            sys::PL031_ICR => RegisterOffset::Icr,
            _ => return None,
        })
    }
}

/// The AMBA identification bytes at 0xFE0..0xFFF, `RTCPeriphID0` first.
#[doc(alias = "RTCPeriphID0")]
#[doc(alias = "RTCPCellID0")]
pub const IDS: [u8; 8] = [
    sys::PL031_ID0 as u8,
    sys::PL031_ID1 as u8,
    sys::PL031_ID2 as u8,
    sys::PL031_ID3 as u8,
    sys::PL031_ID4 as u8,
    sys::PL031_ID5 as u8,
    sys::PL031_ID6 as u8,
    sys::PL031_ID7 as u8,
];
