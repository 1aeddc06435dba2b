//! The ARM PrimeCell PL011 UART, rewritten in safe Rust.
//!
//! This is the "after" of the port: `c-src/pl011.c` is the "before". The
//! device is a plain state machine: MMIO accesses, serial input and resets
//! come in through [`Device`], and everything observable goes out through
//! the [`Host`] (IRQ levels, transmitted bytes, diagnostics). It knows
//! nothing of FFI; `portlab-device` exports it through the same C ops table
//! as the C model, under the type name `x-pl011-rust`.
//!
//! Behaviour is `docs/spec/pl011.md` (QEMU's model, not the silicon);
//! comments cite its sections. Register offsets and bit masks come from
//! `c-src/include/pl011.h` through the bindings ([`registers`]).

#![forbid(unsafe_code)]

pub mod bench;
pub mod guest;
pub mod qemu;
pub mod registers;

use portlab_device::access::{self, Words32};
use portlab_device::migration::{BlobWriter, SaveBuffer, check_container};
use portlab_device::schema::{field, schema};
use portlab_device::{Device, DeviceInfo, Error, Host, LoadError, LogKind, Properties, sys};

use registers::{Control, DmaControl, Flags, Interrupt, LineControl, RegisterOffset, data, id_register};

/// Receive FIFO storage slots.
const FIFO_SLOTS: u32 = sys::PL011_FIFO_SLOTS;
const STATE_DEVICE_ID: u16 = sys::PL011_STATE_DEVICE_ID as u16;
const STATE_VERSION: u16 = sys::PL011_STATE_VERSION as u16;
const PAYLOAD_V1: u32 = sys::PL011_STATE_PAYLOAD_SIZE_V1;

/// Section 12.2 as data: the same schema as the C model's table (a test
/// in the board holds the two equal), with the offsets from `pl011.h`.
const STATE_FIELDS: [sys::PortlabStateField; 14] = [
    field(c"flags", sys::PL011_STATE_FLAGS, 4, 1),
    field(c"lcr", sys::PL011_STATE_LCR, 4, 1),
    field(c"rsr", sys::PL011_STATE_RSR, 4, 1),
    field(c"cr", sys::PL011_STATE_CR, 4, 1),
    field(c"dmacr", sys::PL011_STATE_DMACR, 4, 1),
    field(c"int_enabled", sys::PL011_STATE_INT_ENABLED, 4, 1),
    field(c"int_level", sys::PL011_STATE_INT_LEVEL, 4, 1),
    field(c"read_fifo", sys::PL011_STATE_READ_FIFO, 4, FIFO_SLOTS),
    field(c"ilpr", sys::PL011_STATE_ILPR, 4, 1),
    field(c"ibrd", sys::PL011_STATE_IBRD, 4, 1),
    field(c"fbrd", sys::PL011_STATE_FBRD, 4, 1),
    field(c"ifl", sys::PL011_STATE_IFL, 4, 1),
    field(c"read_pos", sys::PL011_STATE_READ_POS, 4, 1),
    field(c"read_count", sys::PL011_STATE_READ_COUNT, 4, 1),
];
const STATE_SCHEMA: sys::PortlabStateSchema = schema(STATE_VERSION, PAYLOAD_V1, &STATE_FIELDS);

/// The PL011's state (pl011.md section 3), named as in the spec so that
/// the migration payload maps field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pl011 {
    flags: Flags,
    lcr: LineControl,
    rsr: u32,
    cr: Control,
    dmacr: u32,
    int_enabled: Interrupt,
    int_level: Interrupt,
    read_fifo: [u32; FIFO_SLOTS as usize],
    ilpr: u32,
    ibrd: u32,
    fbrd: u32,
    ifl: u32,
    read_pos: u32,
    read_count: u32,
    read_trigger: u32,
}

impl Default for Pl011 {
    /// The state at creation: reset values, FIFO storage zeroed.
    fn default() -> Self {
        let mut s = Pl011 {
            flags: Flags::RESET,
            lcr: LineControl::empty(),
            rsr: 0,
            cr: Control::RESET,
            dmacr: 0,
            int_enabled: Interrupt::empty(),
            int_level: Interrupt::empty(),
            read_fifo: [0; FIFO_SLOTS as usize],
            ilpr: 0,
            ibrd: 0,
            fbrd: 0,
            ifl: sys::PL011_IFLS_RESET,
            read_pos: 0,
            read_count: 0,
            read_trigger: 1,
        };
        s.reset_registers();
        s
    }
}

impl Pl011 {
    /// Section 11: everything but the FIFO storage. No UPDATE.
    fn reset_registers(&mut self) {
        self.lcr = LineControl::empty();
        self.rsr = 0;
        self.dmacr = 0;
        self.int_enabled = Interrupt::empty();
        self.int_level = Interrupt::empty();
        self.ilpr = 0;
        self.ibrd = 0;
        self.fbrd = 0;
        self.ifl = sys::PL011_IFLS_RESET;
        self.cr = Control::RESET;
        self.flags = Flags::RESET;
        self.read_count = 0;
        self.read_pos = 0;
        self.read_trigger = 1;
    }

    /// The receive FIFO depth, from FEN as it is now (section 1).
    fn fifo_depth(&self) -> u32 {
        if self.lcr.contains(LineControl::FEN) { FIFO_SLOTS } else { 1 }
    }

    fn loopback(&self) -> bool {
        self.cr.contains(Control::LBE)
    }

    /// UPDATE: drive every line from `int_level & int_enabled`, line 0 first.
    ///
    /// Out of line: it is called from a dozen places, and inlined into
    /// each it made every caller save registers for its six callbacks.
    /// Without LTO the call then goes through the GOT: rustc shares
    /// `#[inline(never)]` generic instances between crates, so this one
    /// is a global symbol; measured, that costs nothing visible
    /// (docs/benchmarks.md, "Seventh round").
    #[inline(never)]
    fn update(&self, host: &mut impl Host) {
        let pending = self.int_level & self.int_enabled;
        for (line, mask) in (0u32..).zip(Interrupt::LINE_MASKS) {
            host.set_irq(line, pending.intersects(mask));
        }
    }

    /// RX-PUT: no room check; a full FIFO overwrites its oldest entry
    /// (section 7.4).
    fn rx_put(&mut self, host: &mut impl Host, value: u32) {
        let depth = self.fifo_depth();
        let slot = self.read_pos.wrapping_add(self.read_count) & (depth - 1);
        self.read_fifo[slot as usize] = value;
        self.read_count = self.read_count.wrapping_add(1);
        self.flags.remove(Flags::RXFE);
        if self.read_count == depth {
            self.flags.insert(Flags::RXFF);
        }
        if self.read_count == self.read_trigger {
            self.int_level.insert(Interrupt::RX);
            self.update(host);
        }
    }

    fn dr_read(&mut self, host: &mut impl Host) -> u32 {
        let depth = self.fifo_depth();
        self.flags.remove(Flags::RXFF);
        let c = self.read_fifo[self.read_pos as usize];
        if self.read_count > 0 {
            self.read_count -= 1;
            self.read_pos = (self.read_pos + 1) & (depth - 1);
        }
        if self.read_count == 0 {
            self.flags.insert(Flags::RXFE);
        }
        if self.read_count == self.read_trigger - 1 {
            self.int_level.remove(Interrupt::RX);
        }
        self.rsr = c >> data::RSR_SHIFT;
        self.update(host);
        c
    }

    fn dr_write(&mut self, host: &mut impl Host, value: u32) {
        let byte = (value & data::DATA) as u8;
        if !self.cr.contains(Control::UARTEN) {
            host.log(LogKind::GuestError, "PL011 data written to disabled UART");
        }
        if !self.cr.contains(Control::TXE) {
            host.log(LogKind::GuestError, "PL011 data written to disabled TX UART");
        }
        host.serial_send(&[byte]);
        if self.loopback() {
            self.rx_put(host, u32::from(byte));
        }
        self.int_level.insert(Interrupt::TX);
        self.update(host);
    }

    /// Section 7.5: a FEN change empties the FIFO (storage is kept).
    fn fifo_reset(&mut self) {
        self.read_count = 0;
        self.read_pos = 0;
        self.flags.remove(Flags::RXFF | Flags::TXFF);
        self.flags.insert(Flags::RXFE | Flags::TXFE);
    }

    fn lcr_write(&mut self, host: &mut impl Host, value: u32) {
        let new = LineControl::from_bits_retain(value);
        let changed = self.lcr ^ new;
        if changed.contains(LineControl::FEN) {
            self.fifo_reset();
        }
        if changed.contains(LineControl::BRK) {
            let on = new.contains(LineControl::BRK);
            host.serial_set_break(on);
            // Section 9.2: put with the old FEN's depth, before storing lcr.
            if on && self.loopback() {
                self.rx_put(host, data::BREAK);
            }
        }
        self.lcr = new;
        self.read_trigger = 1;
    }

    /// Section 9.3: loopback modem reflection, after every CR write with LBE.
    fn loopback_modem(&mut self, host: &mut impl Host) {
        let reflect = [
            (Control::OUT2, Flags::RI, Interrupt::RI),
            (Control::OUT1, Flags::DCD, Interrupt::DCD),
            (Control::RTS, Flags::CTS, Interrupt::CTS),
            (Control::DTR, Flags::DSR, Interrupt::DSR),
        ];
        for (control, flag, interrupt) in reflect {
            let on = self.cr.contains(control);
            self.flags.set(flag, on);
            self.int_level.set(interrupt, on);
        }
        self.update(host);
    }

    /// One 32-bit register read (section 10).
    ///
    /// Inlined into `read`: it is the hot path of every MMIO read (a driver
    /// polls FR), and as a separate call it cost a second prologue.
    #[inline(always)]
    fn read32(&mut self, host: &mut impl Host, offset: u64) -> u32 {
        match RegisterOffset::decode(offset) {
            Some(RegisterOffset::Dr) => self.dr_read(host),
            Some(RegisterOffset::Rsr) => self.rsr,
            Some(RegisterOffset::Fr) => self.flags.bits(),
            Some(RegisterOffset::Ilpr) => self.ilpr,
            Some(RegisterOffset::Ibrd) => self.ibrd,
            Some(RegisterOffset::Fbrd) => self.fbrd,
            Some(RegisterOffset::LcrH) => self.lcr.bits(),
            Some(RegisterOffset::Cr) => self.cr.bits(),
            Some(RegisterOffset::Ifls) => self.ifl,
            Some(RegisterOffset::Imsc) => self.int_enabled.bits(),
            Some(RegisterOffset::Ris) => self.int_level.bits(),
            Some(RegisterOffset::Mis) => (self.int_level & self.int_enabled).bits(),
            Some(RegisterOffset::Dmacr) => self.dmacr,
            // UARTICR is write-only: a read is a bad offset.
            Some(RegisterOffset::Icr) | None => match id_register(offset) {
                Some(id) => u32::from(id),
                None => {
                    access::offset_error(host, "pl011_read: Bad offset", offset);
                    0
                }
            },
        }
    }

    /// One 32-bit register write (section 10).
    ///
    /// Inlined into `write` for the same reason as `read32`: out of line,
    /// the plain release build paid a second prologue and a call on every
    /// register write (105 instructions for a CR write against C's 86).
    #[inline(always)]
    fn write32(&mut self, host: &mut impl Host, offset: u64, value: u32) {
        match RegisterOffset::decode(offset) {
            Some(RegisterOffset::Dr) => self.dr_write(host, value),
            Some(RegisterOffset::Rsr) => self.rsr = 0,
            // Read-only, ignored without a guest error.
            Some(RegisterOffset::Fr) => {}
            Some(RegisterOffset::Ilpr) => self.ilpr = value,
            Some(RegisterOffset::Ibrd) => self.ibrd = value & sys::PL011_IBRD_MASK,
            Some(RegisterOffset::Fbrd) => self.fbrd = value & sys::PL011_FBRD_MASK,
            Some(RegisterOffset::LcrH) => self.lcr_write(host, value),
            Some(RegisterOffset::Cr) => {
                self.cr = Control::from_bits_retain(value);
                if self.loopback() {
                    self.loopback_modem(host);
                }
            }
            Some(RegisterOffset::Ifls) => {
                self.ifl = value;
                self.read_trigger = 1;
            }
            Some(RegisterOffset::Imsc) => {
                self.int_enabled = Interrupt::from_bits_retain(value);
                self.update(host);
            }
            Some(RegisterOffset::Icr) => {
                self.int_level &= !Interrupt::from_bits_retain(value);
                self.update(host);
            }
            Some(RegisterOffset::Dmacr) => {
                self.dmacr = value;
                if DmaControl::from_bits_retain(value).intersects(DmaControl::RXDMAE | DmaControl::TXDMAE) {
                    host.log(LogKind::Unimplemented, "pl011: DMA not implemented");
                }
            }
            // RIS, MIS and the ID registers are read-only: bad offsets.
            Some(RegisterOffset::Ris | RegisterOffset::Mis) | None => {
                access::offset_error(host, "pl011_write: Bad offset", offset)
            }
        }
    }

    /// Writes the payload fields in the order of section 12.2.
    fn save_payload(&self, blob: &mut BlobWriter<'_>) {
        blob.u32(self.flags.bits())
            .u32(self.lcr.bits())
            .u32(self.rsr)
            .u32(self.cr.bits())
            .u32(self.dmacr)
            .u32(self.int_enabled.bits())
            .u32(self.int_level.bits());
        for slot in self.read_fifo {
            blob.u32(slot);
        }
        blob.u32(self.ilpr).u32(self.ibrd).u32(self.fbrd).u32(self.ifl).u32(self.read_pos).u32(self.read_count);
    }

    /// Decodes and range-checks a version 1 payload into a new state.
    fn from_payload(p: &portlab_device::migration::Payload<'_>) -> Result<Pl011, LoadError> {
        let mut read_fifo = [0u32; FIFO_SLOTS as usize];
        for (i, slot) in read_fifo.iter_mut().enumerate() {
            *slot = p.u32(28 + 4 * i);
        }
        let s = Pl011 {
            flags: Flags::from_bits_retain(p.u32(0)),
            lcr: LineControl::from_bits_retain(p.u32(4)),
            rsr: p.u32(8),
            cr: Control::from_bits_retain(p.u32(12)),
            dmacr: p.u32(16),
            int_enabled: Interrupt::from_bits_retain(p.u32(20)),
            int_level: Interrupt::from_bits_retain(p.u32(24)),
            read_fifo,
            ilpr: p.u32(92),
            ibrd: p.u32(96),
            fbrd: p.u32(100),
            ifl: p.u32(104),
            read_pos: p.u32(108),
            read_count: p.u32(112),
            read_trigger: 1,
        };
        let in_range = s.flags.bits() <= sys::PL011_FR_MASK
            && s.rsr <= data::RSR_MASK
            && s.int_level.bits() <= sys::PL011_INT_MASK
            && s.read_fifo.iter().all(|&e| e <= data::ENTRY_MAX)
            && s.ibrd <= sys::PL011_IBRD_MASK
            && s.fbrd <= sys::PL011_FBRD_MASK
            && s.read_pos < FIFO_SLOTS
            && (s.lcr.contains(LineControl::FEN) || s.read_pos == 0)
            && s.read_count <= FIFO_SLOTS;
        if in_range { Ok(s) } else { Err(LoadError::OutOfRange) }
    }
}

impl Words32 for Pl011 {
    #[inline(always)]
    fn read32(&mut self, host: &mut impl Host, offset: u64) -> u32 {
        Pl011::read32(self, host, offset)
    }

    #[inline(always)]
    fn write32(&mut self, host: &mut impl Host, offset: u64, value: u32) {
        Pl011::write32(self, host, offset, value);
    }
}

impl Device for Pl011 {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-pl011-rust",
        region_size: sys::PL011_REGION_SIZE as u64,
        num_irqs: sys::PL011_NUM_IRQS,
        num_timers: 0,
        access_sizes: sys::PORTLAB_ACCESS_1 | sys::PORTLAB_ACCESS_2 | sys::PORTLAB_ACCESS_4 | sys::PORTLAB_ACCESS_8,
        state_device_id: STATE_DEVICE_ID,
        num_inputs: 0,
        properties: &[],
        state_schema: &STATE_SCHEMA,
    };

    fn new(_host: &mut impl Host, _properties: &Properties) -> Self {
        Pl011::default()
    }

    fn reset(&mut self, _host: &mut impl Host) {
        self.reset_registers();
    }

    /// Section 5: 32-bit units; sub-word reads take the low bits of the
    /// register at `offset >> 2`; 8-byte reads are two 32-bit reads.
    /// Section 5: the device works in 32-bit units (an 8-byte access is
    /// two, low word first; a sub-word read is the word, masked).
    #[inline]
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        // A word read of UARTFR is what a polling driver does between
        // characters: it is tested for before the general decode.
        if offset == u64::from(sys::PL011_FR) && size == 4 {
            return u64::from(self.flags.bits());
        }
        access::read_words(self, host, offset, size)
    }

    #[inline]
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        access::write_words(self, host, offset, size, value);
    }

    /// Section 7.2: room while `read_count < depth` (UARTEN and RXE are
    /// not checked).
    fn can_receive(&self) -> u32 {
        self.fifo_depth().saturating_sub(self.read_count)
    }

    fn receive(&mut self, host: &mut impl Host, byte: u8) -> Result<(), Error> {
        // Loopback disconnects the RX pin: the byte is dropped.
        if !self.loopback() {
            self.rx_put(host, u32::from(byte));
        }
        Ok(())
    }

    fn receive_break(&mut self, host: &mut impl Host) {
        if !self.loopback() {
            self.rx_put(host, data::BREAK);
        }
    }

    fn save(&self, _host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        let mut blob = BlobWriter::new(out, STATE_DEVICE_ID, STATE_VERSION, PAYLOAD_V1);
        self.save_payload(&mut blob);
        blob.finish();
    }

    /// Section 12.2: all checks first, then the whole state at once; no
    /// UPDATE (line levels belong to the host).
    fn load(&mut self, _host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        let payload = check_container(blob, STATE_DEVICE_ID, STATE_VERSION, |_| PAYLOAD_V1)?;
        *self = Pl011::from_payload(&payload)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
