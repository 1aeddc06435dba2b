//! The ARM PrimeCell PL031 real-time clock, rewritten in safe Rust.
//!
//! The second device of the port, and the one that exercises the half of
//! the interface the PL011 does not: the virtual clock and timers. Like
//! `portlab-pl011` it is a plain state machine behind
//! [`portlab_device::Device`]; `portlab-device` exports it through the C
//! ops table as `x-pl031-rust`, next to the C model `pl031`
//! (`c-src/pl031.c`).
//!
//! Behaviour is `docs/spec/pl031.md`: QEMU's model, with the RTC clock
//! fixed to the board's virtual clock. The counter is
//! `(tick_offset + sec(now)) mod 2^32`; the alarm is one one-shot timer.
//! Register offsets and values come from `c-src/include/pl031.h` through
//! the bindings.

#![forbid(unsafe_code)]

pub mod bench;
pub mod guest;
pub mod qemu;
pub mod registers;

use portlab_device::access::{self, Words32};
use portlab_device::migration::{BlobWriter, SaveBuffer, check_container};
use portlab_device::schema::{field, schema};
use registers::{IDS, RegisterOffset};

use portlab_device::{Device, DeviceInfo, Host, LoadError, Properties, sys};

const NS_PER_SECOND: u64 = sys::PL031_NS_PER_SECOND as u64;
const ALARM: u32 = sys::PL031_TIMER_ALARM;
const STATE_DEVICE_ID: u16 = sys::PL031_STATE_DEVICE_ID as u16;
const STATE_VERSION: u16 = sys::PL031_STATE_VERSION as u16;
const PAYLOAD_V1: u32 = sys::PL031_STATE_PAYLOAD_SIZE_V1;
const MATCH: u32 = sys::PL031_INT_MATCH;

/// Section 9.1 as data: the same schema as the C model's table, with the
/// offsets from `pl031.h`.
const STATE_FIELDS: [sys::PortlabStateField; 5] = [
    field(c"tick_offset", sys::PL031_STATE_TICK_OFFSET, 4, 1),
    field(c"mr", sys::PL031_STATE_MR, 4, 1),
    field(c"lr", sys::PL031_STATE_LR, 4, 1),
    field(c"im", sys::PL031_STATE_IM, 4, 1),
    field(c"is", sys::PL031_STATE_IS, 4, 1),
];
const STATE_SCHEMA: sys::PortlabStateSchema = schema(STATE_VERSION, PAYLOAD_V1, &STATE_FIELDS);

/// The PL031's state (pl031.md section 3). The alarm deadline lives in
/// the host's timer, not here, as in QEMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pl031 {
    tick_offset: u32,
    mr: u32,
    lr: u32,
    im: u32,
    is: u32,
}

impl Pl031 {
    /// `count = (tick_offset + sec(now)) mod 2^32` (section 1).
    fn count(&self, host: &mut impl Host) -> u32 {
        self.tick_offset.wrapping_add((host.clock_ns() / NS_PER_SECOND) as u32)
    }

    fn update(&self, host: &mut impl Host) {
        host.set_irq(sys::PL031_IRQ_RTCINTR, self.is & self.im != 0);
    }

    fn fire(&mut self, host: &mut impl Host) {
        self.is = MATCH;
        self.update(host);
    }

    /// ARM-ALARM (section 6): fire now if the count equals MR, else arm
    /// the one-shot timer `ticks` whole seconds from now (keeping the
    /// sub-second phase).
    fn arm_alarm(&mut self, host: &mut impl Host) {
        let ticks = self.mr.wrapping_sub(self.count(host));
        if ticks == 0 {
            host.timer_cancel(ALARM);
            self.fire(host);
        } else {
            let deadline = host.clock_ns().saturating_add(u64::from(ticks) * NS_PER_SECOND);
            host.timer_arm(ALARM, deadline);
        }
    }

    /// Inlined into `read`, so a register read through the ops table is
    /// one function, as in the PL011.
    #[inline(always)]
    fn read_reg(&self, host: &mut impl Host, offset: u64) -> u32 {
        match RegisterOffset::decode(offset) {
            Some(RegisterOffset::Dr) => self.count(host),
            Some(RegisterOffset::Mr) => self.mr,
            Some(RegisterOffset::Lr) => self.lr,
            Some(RegisterOffset::Cr) => sys::PL031_CR_VALUE,
            Some(RegisterOffset::Imsc) => self.im,
            Some(RegisterOffset::Ris) => self.is,
            Some(RegisterOffset::Mis) => self.is & self.im,
            Some(RegisterOffset::Icr) => {
                access::offset_error(host, "pl031: read of write-only register at offset", offset);
                0
            }
            None if (u64::from(sys::PL031_PERIPH_ID0)..u64::from(sys::PL031_ID_END)).contains(&offset) => {
                u32::from(IDS[((offset - u64::from(sys::PL031_PERIPH_ID0)) >> 2) as usize])
            }
            None => {
                access::offset_error(host, "pl031_read: Bad offset", offset);
                0
            }
        }
    }

    /// Inlined into `write` too: out of line, every register write paid a
    /// second prologue and a call in the plain release build.
    #[inline(always)]
    fn write_reg(&mut self, host: &mut impl Host, offset: u64, value: u32) {
        match RegisterOffset::decode(offset) {
            Some(RegisterOffset::Lr) => {
                let count = self.count(host);
                self.lr = value;
                self.tick_offset = self.tick_offset.wrapping_add(value.wrapping_sub(count));
                self.arm_alarm(host);
            }
            Some(RegisterOffset::Mr) => {
                self.mr = value;
                self.arm_alarm(host);
            }
            Some(RegisterOffset::Imsc) => {
                self.im = value & MATCH;
                self.update(host);
            }
            Some(RegisterOffset::Icr) => {
                self.is &= !value;
                self.update(host);
            }
            // Always running: ignored, no guest error.
            Some(RegisterOffset::Cr) => {}
            Some(RegisterOffset::Dr | RegisterOffset::Ris | RegisterOffset::Mis) => {
                access::offset_error(host, "pl031: write to read-only register at offset", offset);
            }
            None => access::offset_error(host, "pl031_write: Bad offset", offset),
        }
    }
}

impl Words32 for Pl031 {
    #[inline(always)]
    fn read32(&mut self, host: &mut impl Host, offset: u64) -> u32 {
        self.read_reg(host, offset)
    }

    #[inline(always)]
    fn write32(&mut self, host: &mut impl Host, offset: u64, value: u32) {
        self.write_reg(host, offset, value);
    }
}

impl Device for Pl031 {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-pl031-rust",
        region_size: sys::PL031_REGION_SIZE as u64,
        num_irqs: sys::PL031_NUM_IRQS,
        num_timers: sys::PL031_NUM_TIMERS,
        access_sizes: sys::PORTLAB_ACCESS_1 | sys::PORTLAB_ACCESS_2 | sys::PORTLAB_ACCESS_4 | sys::PORTLAB_ACCESS_8,
        state_device_id: STATE_DEVICE_ID,
        num_inputs: 0,
        properties: &[],
        state_schema: &STATE_SCHEMA,
    };

    /// Section 3: DR reads `epoch + sec(now)` until the guest writes LR.
    fn new(host: &mut impl Host, _properties: &Properties) -> Self {
        Pl031 { tick_offset: host.rtc_epoch_s() as u32, mr: 0, lr: 0, im: 0, is: 0 }
    }

    /// Section 8: QEMU's PL031 has no reset handler.
    fn reset(&mut self, _host: &mut impl Host) {}

    /// Section 7: exact decode at every size; 8-byte accesses are two
    /// 4-byte ones (A, then A+4).
    /// Section 7: 32-bit registers (an 8-byte access is two, low word
    /// first; a sub-word read is the register at that offset, masked).
    #[inline]
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        // A word read of DR is what drivers do (the time of day): it is
        // tested for before the general decode.
        if offset == u64::from(sys::PL031_DR) && size == 4 {
            return u64::from(self.count(host));
        }
        access::read_words(self, host, offset, size)
    }

    #[inline]
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        access::write_words(self, host, offset, size, value);
    }

    fn timer_expired(&mut self, host: &mut impl Host, _timer: u32) {
        self.fire(host);
    }

    fn save(&self, _host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        let mut blob = BlobWriter::new(out, STATE_DEVICE_ID, STATE_VERSION, PAYLOAD_V1);
        blob.u32(self.tick_offset).u32(self.mr).u32(self.lr).u32(self.im).u32(self.is);
        blob.finish();
    }

    /// Section 9.2: check everything, replace the fields, then ARM-ALARM
    /// at the current time (which can fire during the load).
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        let p = check_container(blob, STATE_DEVICE_ID, STATE_VERSION, |_| PAYLOAD_V1)?;
        let (im, is) = (p.u32(12), p.u32(16));
        if im > MATCH || is > MATCH {
            return Err(LoadError::OutOfRange);
        }
        *self = Pl031 { tick_offset: p.u32(0), mr: p.u32(4), lr: p.u32(8), im, is };
        self.arm_alarm(host);
        Ok(())
    }
}

/// What a PL031 saves right after loading `blob` at virtual time `now_ns`:
/// the same bytes, except that a PL031 whose count equals MR at load time
/// fires during the load (section 9.2, R21), so its `is` reads 1. This is
/// the device's after-load rule, plugged into the registry: the property
/// tests and the `migration_load` fuzz target hold both implementations
/// to it.
pub fn saved_after_load(blob: &[u8], now_ns: u64) -> Vec<u8> {
    let mut expected = blob.to_vec();
    let header = sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let u32_at = |at: usize| blob.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let is_pl031 = blob.get(4..6) == Some(&STATE_DEVICE_ID.to_le_bytes()[..]);
    let tick_offset = u32_at(header + sys::PL031_STATE_TICK_OFFSET as usize);
    let mr = u32_at(header + sys::PL031_STATE_MR as usize);
    if let (true, Some(tick_offset), Some(mr)) = (is_pl031, tick_offset, mr) {
        if tick_offset.wrapping_add((now_ns / NS_PER_SECOND) as u32) == mr {
            let is = header + sys::PL031_STATE_IS as usize;
            expected[is..is + 4].copy_from_slice(&1u32.to_le_bytes());
            portlab_device::migration::reseal(&mut expected);
        }
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;
    use portlab_device::testing::Recorder;

    fn clock_at(now: u64) -> Recorder {
        Recorder { clock_ns: now, epoch_s: 1_700_000_000, ..Recorder::default() }
    }

    #[test]
    fn the_alarm_keeps_the_phase_of_the_write() {
        let mut h = clock_at(1_500_000_000);
        let mut d = Pl031::new(&mut h, &Properties::defaults_of::<Pl031>());
        let count = d.read(&mut h, 0, 4) as u32;
        d.write(&mut h, 0x004, 4, u64::from(count + 1));
        assert_eq!(h.armed.get(&0), Some(&2_500_000_000));
        d.write(&mut h, 0x010, 4, 1);
        h.clock_ns = 2_500_000_000;
        d.timer_expired(&mut h, 0);
        assert!(h.level(0));
    }

    #[test]
    fn matching_now_fires_during_the_write() {
        let mut h = clock_at(0);
        let mut d = Pl031::new(&mut h, &Properties::defaults_of::<Pl031>());
        d.write(&mut h, 0x010, 4, 1);
        d.write(&mut h, 0x004, 4, 1_700_000_000);
        assert!(h.level(0));
        assert_eq!(h.armed.get(&0), None);
        assert_eq!(d.read(&mut h, 0x014, 4), 1);
    }
}
