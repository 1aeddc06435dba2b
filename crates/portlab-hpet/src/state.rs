//! The migration payload (spec section 12.2): its schema as data, saving,
//! and loading with every check made before anything changes.
//!
//! The payload is a fixed part followed by one record per comparator, so
//! its length depends on the instance's `timers` property: `40 + 48 * n`.
//! The container check takes the expected length as a closure of the
//! version, which here captures `n`.

use portlab_device::migration::{BlobWriter, SaveBuffer, check_container};
use portlab_device::schema::{RecordLayout, field, record_field, schema_with_records};
use portlab_device::{Host, LoadError, sys};

use crate::registers::{GeneralConfig, LOW32, TimerConfig};
use crate::timer::SIGN_BIT;
use crate::{CLK_PERIOD_NS, Hpet};

pub(crate) const STATE_DEVICE_ID: u16 = sys::HPET_STATE_DEVICE_ID as u16;
pub(crate) const STATE_VERSION: u16 = sys::HPET_STATE_VERSION as u16;
const FIXED_SIZE: usize = sys::HPET_STATE_FIXED_SIZE as usize;
const RECORD_SIZE: usize = sys::HPET_STATE_TIMER_SIZE as usize;
/// A migration load sets `last` this far before the load time.
const LOAD_LAST_BACK_NS: u64 = sys::HPET_LOAD_LAST_BACK_NS as u64;

/// Section 12.2 as data: the same schema as the C model's table, with the
/// offsets from `hpet.h`. Fixed part first, then the comparator record.
const STATE_FIELDS: [sys::PortlabStateField; 13] = [
    field(c"config", sys::HPET_STATE_CONFIG, 8, 1),
    field(c"isr", sys::HPET_STATE_ISR, 8, 1),
    field(c"counter", sys::HPET_STATE_COUNTER, 8, 1),
    field(c"offset", sys::HPET_STATE_OFFSET, 8, 1),
    field(c"num_timers", sys::HPET_STATE_NUM_TIMERS, 4, 1),
    field(c"rtc_irq_level", sys::HPET_STATE_RTC_IRQ_LEVEL, 4, 1),
    record_field(c"config", sys::HPET_STATE_TN_CONFIG, 8),
    record_field(c"cmp", sys::HPET_STATE_TN_CMP, 8),
    record_field(c"fsb", sys::HPET_STATE_TN_FSB, 8),
    record_field(c"period", sys::HPET_STATE_TN_PERIOD, 8),
    record_field(c"deadline", sys::HPET_STATE_TN_DEADLINE, 8),
    record_field(c"armed", sys::HPET_STATE_TN_ARMED, 4),
    record_field(c"wrap_flag", sys::HPET_STATE_TN_WRAP_FLAG, 4),
];

/// The payload schema: the fixed part and up to 32 comparator records,
/// counted by `num_timers`.
pub(crate) const STATE_SCHEMA: sys::PortlabStateSchema = schema_with_records(
    STATE_VERSION,
    sys::HPET_STATE_FIXED_SIZE,
    RecordLayout {
        name: c"timer",
        count_field: c"num_timers",
        size: sys::HPET_STATE_TIMER_SIZE,
        max: sys::HPET_MAX_TIMERS,
    },
    &STATE_FIELDS,
);

// The save path writes whole 4-byte words.
const _: () = assert!(FIXED_SIZE % 4 == 0 && RECORD_SIZE % 4 == 0);

/// The payload length, in bytes, for `num_timers` comparators.
pub(crate) fn payload_len(num_timers: usize) -> u32 {
    (FIXED_SIZE + RECORD_SIZE * num_timers) as u32
}

/// Offset of field `field` of comparator `index`'s record.
fn record_at(index: usize, field: u32) -> usize {
    FIXED_SIZE + RECORD_SIZE * index + field as usize
}

fn put_u64(payload: &mut [u8], at: usize, value: u64) {
    if let Some(slot) = payload.get_mut(at..at + 8) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

fn put_u32(payload: &mut [u8], at: usize, value: u32) {
    if let Some(slot) = payload.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// The little-endian u64 at `at` (the container check guarantees the
/// payload length, so the fallback 0 is never used).
fn get_u64(payload: &[u8], at: usize) -> u64 {
    payload.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes)
}

fn get_u32(payload: &[u8], at: usize) -> u32 {
    payload.get(at..at + 4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes)
}

/// One comparator's saved fields, checked.
#[derive(Debug, Clone, Copy)]
struct SavedComparator {
    config: TimerConfig,
    cmp: u64,
    fsb: u64,
    period: u64,
    pending: Option<u64>,
    wrap_flag: bool,
}

/// A whole payload, checked: what a load installs.
#[derive(Debug, Clone)]
struct Snapshot {
    config: GeneralConfig,
    isr: u64,
    counter: u64,
    offset: u64,
    rtc_irq_level: bool,
    timers: Vec<SavedComparator>,
}

impl Hpet {
    /// The migration blob as saved at virtual time `now_ns` (spec section
    /// 12.2): the running counter is saved as TICKS() at that time.
    ///
    /// [`Device::save`](portlab_device::Device::save) calls it with the
    /// host's clock; tests call it with a time of their choosing.
    pub fn save_at(&self, now_ns: u64, out: &mut SaveBuffer<'_>) {
        let n = self.num_timers;
        let mut payload = vec![0u8; payload_len(n) as usize];
        let counter = if self.enabled() { self.ticks(now_ns) } else { self.counter };
        put_u64(&mut payload, sys::HPET_STATE_CONFIG as usize, self.config.bits());
        put_u64(&mut payload, sys::HPET_STATE_ISR as usize, self.isr);
        put_u64(&mut payload, sys::HPET_STATE_COUNTER as usize, counter);
        put_u64(&mut payload, sys::HPET_STATE_OFFSET as usize, self.offset);
        put_u32(&mut payload, sys::HPET_STATE_NUM_TIMERS as usize, n as u32);
        put_u32(&mut payload, sys::HPET_STATE_RTC_IRQ_LEVEL as usize, u32::from(self.rtc_irq_level));
        for (i, t) in self.timers[..n].iter().enumerate() {
            put_u64(&mut payload, record_at(i, sys::HPET_STATE_TN_CONFIG), t.config.bits());
            put_u64(&mut payload, record_at(i, sys::HPET_STATE_TN_CMP), t.cmp);
            put_u64(&mut payload, record_at(i, sys::HPET_STATE_TN_FSB), t.fsb);
            put_u64(&mut payload, record_at(i, sys::HPET_STATE_TN_PERIOD), t.period);
            put_u64(&mut payload, record_at(i, sys::HPET_STATE_TN_DEADLINE), t.pending.unwrap_or(0));
            put_u32(&mut payload, record_at(i, sys::HPET_STATE_TN_ARMED), u32::from(t.pending.is_some()));
            put_u32(&mut payload, record_at(i, sys::HPET_STATE_TN_WRAP_FLAG), u32::from(t.wrap_flag));
        }
        let mut blob = BlobWriter::new(out, STATE_DEVICE_ID, STATE_VERSION, payload_len(n));
        blob.bytes(&payload);
        blob.finish();
    }

    /// Loads a blob (spec section 12.2): the container and every field are
    /// checked first, in the spec's order, and only then is anything
    /// changed, so an error leaves the device, its timers and its lines as
    /// they were.
    pub(crate) fn load_blob(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        let expected = payload_len(self.num_timers);
        let payload = check_container(blob, STATE_DEVICE_ID, STATE_VERSION, |_| expected)?;
        let snapshot = self.check_payload(payload.bytes())?;
        self.install(host, &snapshot);
        Ok(())
    }

    /// Decodes a payload of the right length, checking every field in
    /// payload order; `out-of-range` at the first value the device could
    /// not have reached.
    fn check_payload(&self, p: &[u8]) -> Result<Snapshot, LoadError> {
        let reject = |bad: bool| if bad { Err(LoadError::OutOfRange) } else { Ok(()) };
        let config = get_u64(p, sys::HPET_STATE_CONFIG as usize);
        reject(config & !GeneralConfig::WRITABLE.bits() != 0)?;
        let config = GeneralConfig::from_bits_retain(config);
        let isr = get_u64(p, sys::HPET_STATE_ISR as usize);
        let counter = get_u64(p, sys::HPET_STATE_COUNTER as usize);
        let offset = get_u64(p, sys::HPET_STATE_OFFSET as usize);
        reject(get_u32(p, sys::HPET_STATE_NUM_TIMERS as usize) as usize != self.num_timers)?;
        let rtc_irq_level = get_u32(p, sys::HPET_STATE_RTC_IRQ_LEVEL as usize);
        reject(rtc_irq_level > 1)?;

        let mut timers = Vec::with_capacity(self.num_timers);
        for i in 0..self.num_timers {
            let t_config = TimerConfig::from_bits_retain(get_u64(p, record_at(i, sys::HPET_STATE_TN_CONFIG)));
            // Read-only and reserved bits: `msi` and `hpet-intcap` must match.
            reject(t_config.difference(TimerConfig::WRITABLE) != self.timer_reset)?;
            let mode32 = t_config.contains(TimerConfig::MODE32);
            let cmp = get_u64(p, record_at(i, sys::HPET_STATE_TN_CMP));
            reject(mode32 && cmp > LOW32)?;
            let fsb = get_u64(p, record_at(i, sys::HPET_STATE_TN_FSB));
            let period = get_u64(p, record_at(i, sys::HPET_STATE_TN_PERIOD));
            reject(mode32 && period > LOW32)?;
            let deadline = get_u64(p, record_at(i, sys::HPET_STATE_TN_DEADLINE));
            let armed = get_u32(p, record_at(i, sys::HPET_STATE_TN_ARMED));
            reject(armed > 1)?;
            let pending = (armed == 1).then_some(deadline);
            match pending {
                Some(deadline) => reject(deadline >= SIGN_BIT || !config.contains(GeneralConfig::ENABLE))?,
                None => reject(deadline != 0)?,
            }
            let wrap_flag = get_u32(p, record_at(i, sys::HPET_STATE_TN_WRAP_FLAG));
            reject(wrap_flag > 1)?;
            timers.push(SavedComparator { config: t_config, cmp, fsb, period, pending, wrap_flag: wrap_flag == 1 });
        }
        Ok(Snapshot { config, isr, counter, offset, rtc_irq_level: rtc_irq_level == 1, timers })
    }

    /// Installs a checked payload, then QEMU's post-load: `cmp64` from the
    /// saved counter, the clamp history pushed 1 s back, the offset
    /// recomputed when it does not travel, and the host timers re-armed or
    /// cancelled in index order. No line changes; the ghost is untouched.
    fn install(&mut self, host: &mut impl Host, s: &Snapshot) {
        let now = self.now(host);
        self.config = s.config;
        self.isr = s.isr;
        self.counter = s.counter;
        self.offset = s.offset;
        self.rtc_irq_level = s.rtc_irq_level;
        for (t, saved) in self.timers.iter_mut().zip(&s.timers) {
            t.config = saved.config;
            t.cmp = saved.cmp;
            t.fsb = saved.fsb;
            t.period = saved.period;
            t.wrap_flag = saved.wrap_flag;
            t.cmp64 = t.match_value(s.counter, t.cmp);
            t.last = now.wrapping_sub(LOAD_LAST_BACK_NS);
        }
        if !self.offset_saved {
            self.offset = self.counter.wrapping_mul(CLK_PERIOD_NS).wrapping_sub(now);
        }
        for (i, saved) in s.timers.iter().enumerate() {
            // A saved deadline 0 is armed normally, not at the queue head.
            match saved.pending {
                Some(deadline) => host.timer_arm(i as u32, deadline),
                None => host.timer_cancel(i as u32),
            }
            self.timers[i].pending = saved.pending;
        }
    }
}
