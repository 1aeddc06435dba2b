//! The host the micro workloads give a device: counters, a clock the
//! workload controls, and a record of the timers the device arms.

use portlab_device::{Host, LogKind};

/// The most IRQ lines a benchmarked device may drive (the PL011 has six;
/// the HPET workloads route comparator 0 to line 2).
const MAX_LINES: usize = 8;
/// Host timers recorded (the HPET has 32).
pub(crate) const MAX_TIMERS: usize = 32;

/// A [`Host`] that only counts what the device does, so that the host's
/// own cost is a few adds and the same for every implementation.
///
/// It is used both behind the C ops table (through `Instance`'s callback
/// trampolines) and directly by the natively called Rust PL011.
///
/// The clock reads `clock` and then moves it on by `clock_step`, so a
/// workload that reads a counter derived from the clock (the HPET's main
/// counter) sees it move between reads and the device computes it every
/// time. A workload that fires timers sets the clock itself (step 0) to
/// the deadline the device last armed, as a host does before it calls
/// `timer_expired`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchHost {
    irq: [bool; MAX_LINES],
    /// The virtual clock in ns: what the next `clock_ns` returns.
    pub clock: u64,
    /// How far the clock moves after each reading (0: it stands still).
    pub clock_step: u64,
    /// The last deadline armed for each host timer (0 for a
    /// `timer_arm_first`); a cancel leaves it as it was.
    pub deadlines: [u64; MAX_TIMERS],
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
    /// `clock_ns` calls.
    pub clock_reads: u64,
    /// `timer_arm` and `timer_arm_first` calls.
    pub timer_arms: u64,
    /// Wrapping sum of the deadlines armed, to compare implementations.
    pub deadline_sum: u64,
    /// `timer_cancel` calls.
    pub timer_cancels: u64,
}

impl BenchHost {
    /// The current level of `line` (false for a line the device lacks).
    pub fn irq_level(&self, line: u32) -> bool {
        self.irq.get(line as usize).copied().unwrap_or(false)
    }

    /// The last deadline armed for `timer` (0 if none was).
    pub fn deadline(&self, timer: u32) -> u64 {
        self.deadlines.get(timer as usize).copied().unwrap_or(0)
    }

    /// Zeroes the counters but keeps the line levels, the clock and the
    /// armed deadlines, so a workload counts only what its own operations
    /// did after its setup, from the state the setup left.
    pub fn clear_counters(&mut self) {
        *self = BenchHost {
            irq: self.irq,
            clock: self.clock,
            clock_step: self.clock_step,
            deadlines: self.deadlines,
            ..BenchHost::default()
        };
    }

    fn record_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.timer_arms += 1;
        self.deadline_sum = self.deadline_sum.wrapping_add(deadline_ns);
        if let Some(slot) = self.deadlines.get_mut(timer as usize) {
            *slot = deadline_ns;
        }
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
        let now = self.clock;
        self.clock = now.wrapping_add(self.clock_step);
        self.clock_reads += 1;
        now
    }

    fn rtc_epoch_s(&mut self) -> u64 {
        0
    }

    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.record_arm(timer, deadline_ns);
    }

    fn timer_cancel(&mut self, _timer: u32) {
        self.timer_cancels += 1;
    }

    fn log(&mut self, _kind: LogKind, _message: &str) {
        self.logs += 1;
    }

    fn mem_write(&mut self, _addr: u64, _size: u32, value: u64) {
        self.mem_writes += 1;
        self.tx_sum = self.tx_sum.wrapping_add(value);
    }

    fn timer_arm_first(&mut self, timer: u32) {
        self.record_arm(timer, 0);
    }
}
