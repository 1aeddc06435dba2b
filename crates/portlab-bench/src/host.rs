//! The host the micro workloads give a device: counters only.

use portlab_device::{Host, LogKind};

/// The most IRQ lines a benchmarked device may drive (the PL011 has six).
const MAX_LINES: usize = 8;

/// A [`Host`] that only counts what the device does, so that the host's
/// own cost is a few adds and the same for every implementation.
///
/// It is used both behind the C ops table (through `Instance`'s callback
/// trampolines) and directly by the natively called Rust PL011.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchHost {
    irq: [bool; MAX_LINES],
    /// `set_irq` calls (the device's UPDATE drives every line each time).
    pub irq_calls: u64,
    /// Line level changes.
    pub irq_edges: u64,
    /// Bytes sent to the serial backend.
    pub tx_bytes: u64,
    /// Wrapping sum of the bytes sent, to compare implementations.
    pub tx_sum: u64,
    /// Break start/stop requests.
    pub breaks: u64,
    /// Diagnostics reported (the workloads should cause none).
    pub logs: u64,
    /// Guest-memory writes (interface v2).
    pub mem_writes: u64,
}

impl BenchHost {
    /// The current level of `line` (false for a line the device lacks).
    pub fn irq_level(&self, line: u32) -> bool {
        self.irq.get(line as usize).copied().unwrap_or(false)
    }

    /// Zeroes the counters but keeps the line levels, so a workload counts
    /// only what its own operations did after its setup.
    pub fn clear_counters(&mut self) {
        *self = BenchHost { irq: self.irq, ..BenchHost::default() };
    }
}

impl Host for BenchHost {
    fn set_irq(&mut self, line: u32, level: bool) {
        if let Some(slot) = self.irq.get_mut(line as usize) {
            self.irq_calls += 1;
            if *slot != level {
                *slot = level;
                self.irq_edges += 1;
            }
        }
    }

    fn serial_send(&mut self, bytes: &[u8]) {
        self.tx_bytes += bytes.len() as u64;
        for &b in bytes {
            self.tx_sum = self.tx_sum.wrapping_add(u64::from(b));
        }
    }

    fn serial_set_break(&mut self, _on: bool) {
        self.breaks += 1;
    }

    fn clock_ns(&mut self) -> u64 {
        0
    }

    fn rtc_epoch_s(&mut self) -> u64 {
        0
    }

    fn timer_arm(&mut self, _timer: u32, _deadline_ns: u64) {}

    fn timer_cancel(&mut self, _timer: u32) {}

    fn log(&mut self, _kind: LogKind, _message: &str) {
        self.logs += 1;
    }

    fn mem_write(&mut self, _addr: u64, _size: u32, value: u64) {
        self.mem_writes += 1;
        self.tx_sum = self.tx_sum.wrapping_add(value);
    }

    fn timer_arm_first(&mut self, _timer: u32) {}
}
