//! A recording [`Host`] for tests and examples: what a device did, kept in
//! plain fields to assert on. Device crates, the shadow device and the
//! adapter's own tests all use it instead of writing their own.

use std::collections::BTreeMap;

use crate::api::{Host, LogKind};

/// Records every host call; answers the clock from its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorder {
    /// What `clock_ns` answers.
    pub clock_ns: u64,
    /// What `rtc_epoch_s` answers.
    pub epoch_s: u64,
    /// Every `set_irq` call, in order.
    pub irq_calls: Vec<(u32, bool)>,
    /// Only the calls that changed a line's level, in order.
    pub irq_changes: Vec<(u32, bool)>,
    /// Current line levels.
    pub levels: BTreeMap<u32, bool>,
    /// Bytes sent to the serial backend.
    pub sent: Vec<u8>,
    /// Break on/off requests.
    pub breaks: Vec<bool>,
    /// Armed timers and their deadlines.
    pub armed: BTreeMap<u32, u64>,
    /// Diagnostics.
    pub logs: Vec<(LogKind, String)>,
    /// Guest-memory writes: address, size, value.
    pub mem_writes: Vec<(u64, u32, u64)>,
    /// Timers armed with `timer_arm_first`, in order.
    pub armed_first: Vec<u32>,
}

impl Recorder {
    /// The level of `line` (low unless set).
    pub fn level(&self, line: u32) -> bool {
        self.levels.get(&line).copied().unwrap_or(false)
    }

    /// The messages logged with `kind`.
    pub fn messages(&self, kind: LogKind) -> Vec<&str> {
        self.logs.iter().filter(|(k, _)| *k == kind).map(|(_, m)| m.as_str()).collect()
    }
}

impl Host for Recorder {
    fn set_irq(&mut self, line: u32, level: bool) {
        self.irq_calls.push((line, level));
        if self.level(line) != level {
            self.irq_changes.push((line, level));
        }
        self.levels.insert(line, level);
    }
    fn serial_send(&mut self, bytes: &[u8]) {
        self.sent.extend_from_slice(bytes);
    }
    fn serial_set_break(&mut self, on: bool) {
        self.breaks.push(on);
    }
    fn clock_ns(&mut self) -> u64 {
        self.clock_ns
    }
    fn rtc_epoch_s(&mut self) -> u64 {
        self.epoch_s
    }
    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.armed.insert(timer, deadline_ns);
    }
    fn timer_cancel(&mut self, timer: u32) {
        self.armed.remove(&timer);
    }
    fn log(&mut self, kind: LogKind, message: &str) {
        self.logs.push((kind, message.to_owned()));
    }
    fn mem_write(&mut self, addr: u64, size: u32, value: u64) {
        self.mem_writes.push((addr, size, value));
    }
    fn timer_arm_first(&mut self, timer: u32) {
        self.armed.insert(timer, 0);
        self.armed_first.push(timer);
    }
}
