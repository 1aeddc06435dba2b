//! The PL011's registers as typed Rust.
//!
//! Every number here comes from `c-src/include/pl011.h` through the
//! bindings; this module only gives the numbers names and types. Datasheet
//! names are `doc(alias)`es, so searching rustdoc for `UARTFR` or `RXFE`
//! finds them.

use bitflags::bitflags;
use portlab_device::sys;

/// A register, by its offset in the region (decoded from bits 11:2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RegisterOffset {
    /// Data: read pops the receive FIFO, write transmits.
    #[doc(alias = "UARTDR")]
    Dr = sys::PL011_DR,
    /// Receive status (read) / error clear (write).
    #[doc(alias = "UARTRSR")]
    #[doc(alias = "UARTECR")]
    Rsr = sys::PL011_RSR,
    /// Flags.
    #[doc(alias = "UARTFR")]
    Fr = sys::PL011_FR,
    /// IrDA low-power counter.
    #[doc(alias = "UARTILPR")]
    Ilpr = sys::PL011_ILPR,
    /// Integer baud-rate divisor.
    #[doc(alias = "UARTIBRD")]
    Ibrd = sys::PL011_IBRD,
    /// Fractional baud-rate divisor.
    #[doc(alias = "UARTFBRD")]
    Fbrd = sys::PL011_FBRD,
    /// Line control.
    #[doc(alias = "UARTLCR_H")]
    LcrH = sys::PL011_LCR_H,
    /// Control.
    #[doc(alias = "UARTCR")]
    Cr = sys::PL011_CR,
    /// Interrupt FIFO level select.
    #[doc(alias = "UARTIFLS")]
    Ifls = sys::PL011_IFLS,
    /// Interrupt mask set/clear.
    #[doc(alias = "UARTIMSC")]
    Imsc = sys::PL011_IMSC,
    /// Raw interrupt status.
    #[doc(alias = "UARTRIS")]
    Ris = sys::PL011_RIS,
    /// Masked interrupt status.
    #[doc(alias = "UARTMIS")]
    Mis = sys::PL011_MIS,
    /// Interrupt clear.
    #[doc(alias = "UARTICR")]
    Icr = sys::PL011_ICR,
    /// DMA control.
    #[doc(alias = "UARTDMACR")]
    Dmacr = sys::PL011_DMACR,
}

impl RegisterOffset {
    /// The register that a 32-bit access at `offset` reaches: the decoder
    /// looks at bits 11:2 only (pl011.md section 4).
    pub fn decode(offset: u64) -> Option<RegisterOffset> {
        // Matched by word index (offset >> 2): the indexes are dense
        // (0 to 18), so the compiler makes one range check and one jump
        // table of it, where matching the sparse byte offsets gave a chain
        // of tests. This runs on every MMIO access.
        const fn word(offset: u32) -> u64 {
            (offset >> 2) as u64
        }
        const DR: u64 = word(sys::PL011_DR);
        const RSR: u64 = word(sys::PL011_RSR);
        const FR: u64 = word(sys::PL011_FR);
        const ILPR: u64 = word(sys::PL011_ILPR);
        const IBRD: u64 = word(sys::PL011_IBRD);
        const FBRD: u64 = word(sys::PL011_FBRD);
        const LCR_H: u64 = word(sys::PL011_LCR_H);
        const CR: u64 = word(sys::PL011_CR);
        const IFLS: u64 = word(sys::PL011_IFLS);
        const IMSC: u64 = word(sys::PL011_IMSC);
        const RIS: u64 = word(sys::PL011_RIS);
        const MIS: u64 = word(sys::PL011_MIS);
        const ICR: u64 = word(sys::PL011_ICR);
        const DMACR: u64 = word(sys::PL011_DMACR);
        Some(match offset >> 2 {
            DR => RegisterOffset::Dr,
            RSR => RegisterOffset::Rsr,
            FR => RegisterOffset::Fr,
            ILPR => RegisterOffset::Ilpr,
            IBRD => RegisterOffset::Ibrd,
            FBRD => RegisterOffset::Fbrd,
            LCR_H => RegisterOffset::LcrH,
            CR => RegisterOffset::Cr,
            IFLS => RegisterOffset::Ifls,
            IMSC => RegisterOffset::Imsc,
            RIS => RegisterOffset::Ris,
            MIS => RegisterOffset::Mis,
            ICR => RegisterOffset::Icr,
            DMACR => RegisterOffset::Dmacr,
            _ => return None,
        })
    }
}

/// The AMBA identification bytes at 0xFE0..0xFFC, `PeriphID0` first.
#[doc(alias = "UARTPeriphID0")]
#[doc(alias = "UARTPCellID0")]
pub const ID_ARM: [u8; 8] = [
    sys::PL011_ID0 as u8,
    sys::PL011_ID1 as u8,
    sys::PL011_ID2 as u8,
    sys::PL011_ID3 as u8,
    sys::PL011_ID4 as u8,
    sys::PL011_ID5 as u8,
    sys::PL011_ID6 as u8,
    sys::PL011_ID7 as u8,
];

/// The ID byte a 32-bit access at `offset` reads, if `offset` is in the
/// ID block (decoded by bits 11:2, like every other register).
pub fn id_register(offset: u64) -> Option<u8> {
    let first = u64::from(sys::PL011_PERIPH_ID0);
    let last = u64::from(sys::PL011_PCELL_ID3);
    let word = offset & !3;
    (first..=last).contains(&word).then(|| ID_ARM[((word - first) >> 2) as usize])
}

bitflags! {
    /// UARTFR, the flag register.
    #[doc(alias = "UARTFR")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Flags: u32 {
        /// Clear to send (loopback reflection of RTS).
        const CTS = sys::PL011_FR_CTS;
        /// Data set ready (loopback reflection of DTR).
        const DSR = sys::PL011_FR_DSR;
        /// Data carrier detect (loopback reflection of OUT1).
        const DCD = sys::PL011_FR_DCD;
        /// Busy transmitting: always 0 here.
        const BUSY = sys::PL011_FR_BUSY;
        /// Receive FIFO empty.
        const RXFE = sys::PL011_FR_RXFE;
        /// Transmit FIFO full: always 0 here.
        const TXFF = sys::PL011_FR_TXFF;
        /// Receive FIFO full.
        const RXFF = sys::PL011_FR_RXFF;
        /// Transmit FIFO empty: always 1 here.
        const TXFE = sys::PL011_FR_TXFE;
        /// Ring indicator (loopback reflection of OUT2).
        const RI = sys::PL011_FR_RI;
        /// The modem-status bits that loopback reflects.
        const MODEM = Self::CTS.bits() | Self::DSR.bits() | Self::DCD.bits() | Self::RI.bits();
    }
}

impl Flags {
    /// The value after reset: TXFE and RXFE.
    pub const RESET: Flags = Flags::from_bits_retain(sys::PL011_FR_RESET);
}

bitflags! {
    /// UARTIMSC, UARTRIS, UARTMIS and UARTICR share this layout.
    #[doc(alias = "UARTIMSC")]
    #[doc(alias = "UARTRIS")]
    #[doc(alias = "UARTMIS")]
    #[doc(alias = "UARTICR")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Interrupt: u32 {
        /// Ring indicator modem interrupt.
        #[doc(alias = "RIMIM")]
        const RI = sys::PL011_INT_RI;
        /// Clear-to-send modem interrupt.
        #[doc(alias = "CTSMIM")]
        const CTS = sys::PL011_INT_CTS;
        /// Data-carrier-detect modem interrupt.
        #[doc(alias = "DCDMIM")]
        const DCD = sys::PL011_INT_DCD;
        /// Data-set-ready modem interrupt.
        #[doc(alias = "DSRMIM")]
        const DSR = sys::PL011_INT_DSR;
        /// Receive.
        #[doc(alias = "RXIM")]
        const RX = sys::PL011_INT_RX;
        /// Transmit.
        #[doc(alias = "TXIM")]
        const TX = sys::PL011_INT_TX;
        /// Receive timeout: never set here.
        #[doc(alias = "RTIM")]
        const RT = sys::PL011_INT_RT;
        /// Framing error: never set here.
        #[doc(alias = "FEIM")]
        const FE = sys::PL011_INT_FE;
        /// Parity error: never set here.
        #[doc(alias = "PEIM")]
        const PE = sys::PL011_INT_PE;
        /// Break error: never set here.
        #[doc(alias = "BEIM")]
        const BE = sys::PL011_INT_BE;
        /// Overrun error: never set here.
        #[doc(alias = "OEIM")]
        const OE = sys::PL011_INT_OE;
        /// The four modem-status interrupts (line UARTMSINTR).
        const MS = sys::PL011_INT_MS;
        /// The four error interrupts (line UARTEINTR).
        const E = sys::PL011_INT_E;
    }
}

impl Interrupt {
    /// Which interrupt bits drive each output line, in line order
    /// (pl011.md section 8.1): UARTINTR, RX, TX, RT, MS, E.
    pub const LINE_MASKS: [Interrupt; sys::PL011_NUM_IRQS as usize] = [
        Interrupt::from_bits_retain(sys::PL011_INT_MASK),
        Interrupt::RX,
        Interrupt::TX,
        Interrupt::RT,
        Interrupt::MS,
        Interrupt::E,
    ];
}

bitflags! {
    /// UARTCR, the control register. All 32 written bits are kept.
    #[doc(alias = "UARTCR")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Control: u32 {
        /// UART enable: gates nothing in this model.
        const UARTEN = sys::PL011_CR_UARTEN;
        /// SIR enable: no effect.
        const SIREN = sys::PL011_CR_SIREN;
        /// SIR low-power mode: no effect.
        const SIRLP = sys::PL011_CR_SIRLP;
        /// Loopback enable.
        const LBE = sys::PL011_CR_LBE;
        /// Transmit enable: gates nothing in this model.
        const TXE = sys::PL011_CR_TXE;
        /// Receive enable: gates nothing in this model.
        const RXE = sys::PL011_CR_RXE;
        /// Data transmit ready (reflected to DSR in loopback).
        const DTR = sys::PL011_CR_DTR;
        /// Request to send (reflected to CTS in loopback).
        const RTS = sys::PL011_CR_RTS;
        /// Out1 (reflected to DCD in loopback).
        const OUT1 = sys::PL011_CR_OUT1;
        /// Out2 (reflected to RI in loopback).
        const OUT2 = sys::PL011_CR_OUT2;
        /// RTS hardware flow control: not modelled.
        const RTSEN = sys::PL011_CR_RTSEN;
        /// CTS hardware flow control: not modelled.
        const CTSEN = sys::PL011_CR_CTSEN;
    }
}

impl Control {
    /// The value after reset: TXE and RXE.
    pub const RESET: Control = Control::from_bits_retain(sys::PL011_CR_RESET);
}

bitflags! {
    /// UARTLCR_H, the line control register. All 32 written bits are kept.
    #[doc(alias = "UARTLCR_H")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct LineControl: u32 {
        /// Send break.
        const BRK = sys::PL011_LCR_BRK;
        /// Parity enable: stored only.
        const PEN = sys::PL011_LCR_PEN;
        /// Even parity select: stored only.
        const EPS = sys::PL011_LCR_EPS;
        /// Two stop bits: stored only.
        const STP2 = sys::PL011_LCR_STP2;
        /// FIFO enable: the receive FIFO is 16 deep, else 1.
        const FEN = sys::PL011_LCR_FEN;
        /// Word length: stored only.
        const WLEN = sys::PL011_LCR_WLEN;
        /// Stick parity: stored only.
        const SPS = sys::PL011_LCR_SPS;
    }
}

bitflags! {
    /// UARTDMACR. No DMA is performed.
    #[doc(alias = "UARTDMACR")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DmaControl: u32 {
        /// Receive DMA enable.
        const RXDMAE = sys::PL011_DMACR_RXDMAE;
        /// Transmit DMA enable.
        const TXDMAE = sys::PL011_DMACR_TXDMAE;
        /// DMA on error.
        const DMAONERR = sys::PL011_DMACR_DMAONERR;
    }
}

/// A receive FIFO entry (and a UARTDR read value).
pub mod data {
    use portlab_device::sys;

    /// The data byte.
    pub const DATA: u32 = sys::PL011_DR_DATA;
    /// The break bit of an entry: the only error bit this model produces.
    #[doc(alias = "BE")]
    pub const BREAK: u32 = sys::PL011_DR_BE;
    /// UARTRSR is the entry shifted right by this much.
    pub const RSR_SHIFT: u32 = sys::PL011_RSR_SHIFT;
    /// The bits of UARTRSR.
    pub const RSR_MASK: u32 = sys::PL011_RSR_MASK;
    /// The largest value a FIFO entry can hold (data and four error bits).
    pub const ENTRY_MAX: u32 =
        sys::PL011_DR_DATA | sys::PL011_DR_FE | sys::PL011_DR_PE | sys::PL011_DR_BE | sys::PL011_DR_OE;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_finds_every_register_at_its_offset_and_nothing_else() {
        use RegisterOffset::*;
        let all = [Dr, Rsr, Fr, Ilpr, Ibrd, Fbrd, LcrH, Cr, Ifls, Imsc, Ris, Mis, Icr, Dmacr];
        for register in all {
            let offset = u64::from(register as u32);
            for byte in 0..4 {
                assert_eq!(RegisterOffset::decode(offset + byte), Some(register));
            }
            assert_eq!(RegisterOffset::decode(offset | 1 << 32), None, "bits above 31 count");
        }
        let decoded = (0..0x1000u64).filter(|&o| RegisterOffset::decode(o).is_some()).count();
        assert_eq!(decoded, all.len() * 4);
        assert_eq!(RegisterOffset::decode(u64::MAX), None);
    }

    #[test]
    fn decode_ignores_bits_1_0_and_rejects_holes() {
        assert_eq!(RegisterOffset::decode(0x018), Some(RegisterOffset::Fr));
        assert_eq!(RegisterOffset::decode(0x019), Some(RegisterOffset::Fr));
        assert_eq!(RegisterOffset::decode(0x02f), Some(RegisterOffset::LcrH));
        for hole in [0x008, 0x00c, 0x010, 0x014, 0x01c, 0x04c, 0x080, 0xfdc] {
            assert_eq!(RegisterOffset::decode(hole), None, "{hole:#x}");
        }
        assert_eq!(id_register(0xfe0), Some(0x11));
        assert_eq!(id_register(0xfe9), Some(0x14));
        assert_eq!(id_register(0xffc), Some(0xb1));
        assert_eq!(id_register(0xfdc), None);
    }

    #[test]
    fn line_masks_follow_the_header() {
        assert_eq!(Interrupt::LINE_MASKS[0].bits(), 0x7ff);
        assert_eq!(Interrupt::LINE_MASKS[4].bits(), 0x00f);
        assert_eq!(Interrupt::LINE_MASKS[5].bits(), 0x780);
        assert_eq!(Flags::RESET, Flags::TXFE | Flags::RXFE);
    }
}
