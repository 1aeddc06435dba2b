//! Benchmark workloads for the C and the Rust PL011 and HPET, shared by
//! the criterion benches (`benches/`) and `portlab bench`.
//!
//! # Where this sits in the port
//!
//! The traces prove that the Rust PL011 behaves like the C one; this crate
//! measures what the rewrite costs. QEMU's roadmap makes a Rust device the
//! default only once it is as good as the C model, and "as good" includes
//! speed: a guest's console must not get slower because its UART changed
//! language. So each workload runs on four [`Implementation`]s, always
//! with the same calls:
//!
//! | implementation | what is called | what it shows |
//! | --- | --- | --- |
//! | `floor` | the C null device (`c-src/null_device.c`) through the ops table | the cost of the call alone |
//! | `c` | the C PL011 through the ops table, as the board drives it | the "before" |
//! | `rust` | the Rust PL011 through the same table (the `portlab-device` adapter) | the "after" |
//! | `rust-native` | the Rust PL011's methods with a Rust host, no FFI | what the boundary costs |
//!
//! The first three are the same monomorphised code over
//! `portlab_device::Instance<BenchHost>`; only the ops table differs.
//!
//! The HPET workloads (`hpet-*`, [`Workload::device`]) run on the first
//! three: the C HPET (`c-src/hpet.c`), the Rust one (`x-hpet-rust`) and
//! the same floor, through the ops table.
//!
//! The floor is written in C rather than as a Rust device behind the
//! adapter: a Rust null device would put the adapter's own work (pointer
//! and access checks, `catch_unwind`) into the floor and hide it, while
//! that work is part of what the Rust PL011 pays and the C one does not.
//!
//! [`measure`] runs the implementations of a workload interleaved in one
//! process, and [`stats`] turns the batches into medians, ratios and
//! confidence intervals.

mod host;
pub mod measure;
pub mod stats;
mod target;
mod workloads;

use portlab_board::{BoardConfig, Command, Event, Registry};
use portlab_device::{DeviceType, Instance, c_models};

pub use host::BenchHost;
pub use target::{Native, Target};
pub use workloads::{RX_BURST, demo_trace, linux_trace};

use workloads::Tally;

/// One implementation a workload runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Implementation {
    /// The C null device through the ops table: the cost of the call.
    Floor,
    /// The C model through the ops table.
    C,
    /// The Rust model through the ops table (the FFI adapter).
    Rust,
    /// The Rust PL011 called directly, with no FFI.
    RustNative,
}

impl Implementation {
    /// Every implementation, in table order.
    pub const ALL: [Implementation; 4] =
        [Implementation::Floor, Implementation::C, Implementation::Rust, Implementation::RustNative];

    /// `floor`, `c`, `rust` or `rust-native`.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Floor => "floor",
            Implementation::C => "c",
            Implementation::Rust => "rust",
            Implementation::RustNative => "rust-native",
        }
    }

    /// One line on what it is.
    pub fn description(self) -> &'static str {
        match self {
            Implementation::Floor => "C null device through the ops table: the cost of the call alone",
            Implementation::C => "C model (c-src/pl011.c, c-src/hpet.c) through the ops table",
            Implementation::Rust => "Rust model (x-pl011-rust, x-hpet-rust) through the same ops table",
            Implementation::RustNative => "Rust PL011 called directly with a Rust host: no FFI",
        }
    }

    /// The implementation called `name`.
    pub fn from_name(name: &str) -> Option<Implementation> {
        Implementation::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// A benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Register read hot path: FR polling.
    FrPoll,
    /// Register write hot path: CR (a plain store).
    WriteCr,
    /// Register write with UPDATE: IMSC.
    WriteImsc,
    /// Transmit with FR polling, as a polling console driver does.
    Tx,
    /// Receive bursts delivered like the board does, drained by DR reads.
    Rx,
    /// Interrupt churn: IMSC unmask/mask, MIS, ICR.
    IrqChurn,
    /// Migration: save and load.
    SaveLoad,
    /// The demo guest's whole run, replayed on the board.
    DemoTrace,
    /// The recorded Linux console trace, replayed on the board.
    LinuxTrace,
    /// HPET: the main counter read, a clocksource's hot path.
    HpetCounterRead,
    /// HPET: a comparator write that re-arms a one-shot timer.
    HpetCmpWrite,
    /// HPET: a periodic comparator's expiry, re-armed every time.
    HpetPeriodic,
    /// HPET: migration with the default 3 comparators.
    HpetSaveLoad3,
    /// HPET: migration with 32 comparators.
    HpetSaveLoad32,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 14] = [
        Workload::FrPoll,
        Workload::WriteCr,
        Workload::WriteImsc,
        Workload::Tx,
        Workload::Rx,
        Workload::IrqChurn,
        Workload::SaveLoad,
        Workload::DemoTrace,
        Workload::LinuxTrace,
        Workload::HpetCounterRead,
        Workload::HpetCmpWrite,
        Workload::HpetPeriodic,
        Workload::HpetSaveLoad3,
        Workload::HpetSaveLoad32,
    ];

    /// The name used by criterion groups, the CLI and the reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FrPoll => "fr-poll",
            Workload::WriteCr => "write-cr",
            Workload::WriteImsc => "write-imsc",
            Workload::Tx => "tx",
            Workload::Rx => "rx",
            Workload::IrqChurn => "irq-churn",
            Workload::SaveLoad => "save-load",
            Workload::DemoTrace => "demo-trace",
            Workload::LinuxTrace => "linux-trace",
            Workload::HpetCounterRead => "hpet-counter-read",
            Workload::HpetCmpWrite => "hpet-cmp-write",
            Workload::HpetPeriodic => "hpet-periodic",
            Workload::HpetSaveLoad3 => "hpet-save-load-3",
            Workload::HpetSaveLoad32 => "hpet-save-load-32",
        }
    }

    /// What one operation is.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::FrPoll => "FR read",
            Workload::WriteCr => "CR write",
            Workload::WriteImsc => "IMSC write",
            Workload::Tx => "byte",
            Workload::Rx => "16-byte burst",
            Workload::IrqChurn => "round",
            Workload::SaveLoad | Workload::HpetSaveLoad3 | Workload::HpetSaveLoad32 => "save+load",
            Workload::DemoTrace | Workload::LinuxTrace => "replay",
            Workload::HpetCounterRead => "MAIN_CNT read",
            Workload::HpetCmpWrite => "CMP write",
            Workload::HpetPeriodic => "expiry",
        }
    }

    /// What one operation does, in calls.
    pub fn description(self) -> &'static str {
        match self {
            Workload::FrPoll => "read FR (4 bytes): decode and return a field",
            Workload::WriteCr => "write CR = 0x301: decode and store",
            Workload::WriteImsc => "write IMSC (alternately RX|RT and 0): store and UPDATE, six set_irq callbacks",
            Workload::Tx => "poll FR for TXFF, write DR: serial_send and UPDATE callbacks",
            Workload::Rx => {
                "offer 16 bytes (can_receive + receive each), then MIS, ICR, and FR/DR reads until RXFE; \
                 the RX line rises and falls"
            }
            Workload::IrqChurn => "IMSC=TX (two lines rise), read MIS, IMSC=0 (they fall), ICR=RX|RT",
            Workload::SaveLoad => "save the 132-byte migration blob into a reused buffer and load it back",
            Workload::DemoTrace => "the demo guest's commands (`portlab demo`) on a fresh board",
            Workload::LinuxTrace => "tests/traces/recorded/linux-interactive.pl011.trace on a fresh board",
            Workload::HpetCounterRead => {
                "HPET enabled: read MAIN_CNT's low half (4 bytes at 0x0F0) while the clock moves: one clock callback"
            }
            Workload::HpetCmpWrite => {
                "HPET enabled, comparator 0 one-shot with its interrupt on: write Tn_COMPARATOR (8 bytes at 0x108) \
                 with a new deadline: SET-TIMER, a clock callback and a timer_arm"
            }
            Workload::HpetPeriodic => {
                "comparator 0 periodic, 100 ticks (1 us), interrupt on: the host sets the clock to the armed deadline \
                 and calls timer_expired(0): catch-up, re-arm (timer_arm) and an edge pulse (two set_irq)"
            }
            Workload::HpetSaveLoad3 => {
                "HPET with 3 comparators, enabled and armed: save the 200-byte blob into a reused buffer and load it back"
            }
            Workload::HpetSaveLoad32 => {
                "HPET with 32 comparators, enabled and armed: save the 1592-byte blob into a reused buffer and load it back"
            }
        }
    }

    /// The device the workload measures: `pl011` or `hpet`.
    pub fn device(self) -> &'static str {
        match self {
            Workload::HpetCounterRead
            | Workload::HpetCmpWrite
            | Workload::HpetPeriodic
            | Workload::HpetSaveLoad3
            | Workload::HpetSaveLoad32 => "hpet",
            _ => "pl011",
        }
    }

    /// The creation properties of the device (none for the PL011).
    pub fn properties(self) -> Vec<(String, u64)> {
        match self {
            Workload::HpetSaveLoad32 => vec![("timers".into(), 32)],
            _ => Vec::new(),
        }
    }

    /// The implementations this workload runs on. The trace replays run on
    /// the board, which drives devices only through their ops tables, so
    /// they have no native variant; nor have the HPET workloads, whose
    /// question is C against Rust through the same table ([`Native`] is
    /// the PL011).
    pub fn implementations(self) -> &'static [Implementation] {
        if self.is_replay() || self.device() != "pl011" { &Implementation::ALL[..3] } else { &Implementation::ALL }
    }

    /// Whether this is a whole-trace replay on the board.
    pub fn is_replay(self) -> bool {
        matches!(self, Workload::DemoTrace | Workload::LinuxTrace)
    }

    /// Whether this is one of the register hot paths (a single access
    /// with no callback), which should cost about as much as the floor.
    pub fn is_register_hot_path(self) -> bool {
        matches!(self, Workload::FrPoll | Workload::WriteCr)
    }

    /// Why the two PL011s do different work here, if they do: a ratio
    /// that reflects a choice of algorithm rather than the language.
    pub fn algorithm_note(self) -> Option<&'static str> {
        match self {
            Workload::SaveLoad | Workload::HpetSaveLoad3 | Workload::HpetSaveLoad32 => Some(
                "the C model computes the container's CRC-32 with a 16-entry table, two lookups per byte \
                 (c-src/common/devstate.c), the Rust one with a 256-entry table, one lookup per byte \
                 (portlab_device::migration::crc32)",
            ),
            _ => None,
        }
    }

    /// Commands in one replay (0 for the micro workloads).
    pub fn trace_len(self) -> usize {
        if self.is_replay() { workloads::trace_of(self).len() } else { 0 }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// What a workload did, to check that it did real work and that two
/// implementations did the same work. Counts cover only the operations
/// run since [`Prepared::new`], not the setup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Operations run.
    pub ops: u64,
    /// Wrapping sum of every value read.
    pub reads_sum: u64,
    /// Bytes transmitted (`tx` events in a replay).
    pub tx_bytes: u64,
    /// Wrapping sum of the bytes transmitted.
    pub tx_sum: u64,
    /// `set_irq` calls (micro workloads only).
    pub irq_calls: u64,
    /// IRQ line changes (`irq` events in a replay).
    pub irq_edges: u64,
    /// Diagnostics the device reported (micro workloads only).
    pub logs: u64,
    /// Serial bytes delivered to the device.
    pub rx_delivered: u64,
    /// Bytes read back from DR.
    pub rx_drained: u64,
    /// Wrapping sum of the bytes delivered.
    pub rx_delivered_sum: u64,
    /// Wrapping sum of the data bytes read back from DR.
    pub rx_drained_sum: u64,
    /// The last migration blob saved (save-load only).
    pub blob: Vec<u8>,
    /// `clock_ns` callbacks (micro workloads only).
    pub clock_reads: u64,
    /// `timer_arm` and `timer_arm_first` callbacks (micro workloads only).
    pub timer_arms: u64,
    /// Wrapping sum of the deadlines armed.
    pub deadline_sum: u64,
    /// `timer_cancel` callbacks (micro workloads only).
    pub timer_cancels: u64,
    /// Canonical events produced (replays only).
    pub events: u64,
}

enum Runner {
    Table { target: Instance<BenchHost>, tally: Tally, blob: Vec<u8> },
    Native { target: Box<Native>, tally: Tally, blob: Vec<u8> },
    Replay { registry: Registry, config: BoardConfig, commands: &'static [Command], events: Vec<Event>, tally: Tally },
}

/// The save buffer's initial capacity, above every blob saved here (the
/// HPET's with 32 comparators is 1592 bytes), so that no save is a
/// "buffer too small" retry. The retry is not the same call sequence on
/// both sides: the Rust adapter's `save` runs the device's save, which
/// reads the clock, before it finds the buffer too small, while C's
/// container check refuses first. With the clock moving per reading, as in
/// the HPET workloads, the Rust HPET would then save a later counter.
const SAVE_CAPACITY: usize = 4096;

/// One workload on one implementation, set up and ready to run.
pub struct Prepared {
    workload: Workload,
    implementation: Implementation,
    runner: Runner,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("workload", &self.workload)
            .field("implementation", &self.implementation)
            .finish()
    }
}

/// The ops table an implementation of `workload`'s device is driven
/// through.
fn device_type(workload: Workload, implementation: Implementation) -> DeviceType {
    let hpet = workload.device() == "hpet";
    match implementation {
        Implementation::Floor => c_models::null(),
        Implementation::C if hpet => c_models::hpet(),
        Implementation::C => c_models::pl011(),
        Implementation::Rust if hpet => DeviceType::of::<portlab_hpet::Hpet>(),
        Implementation::Rust => DeviceType::of::<portlab_pl011::Pl011>(),
        Implementation::RustNative => unreachable!("called without a table"),
    }
}

impl Prepared {
    /// Creates the device (or, for a replay, the board's registry) and
    /// runs the workload's setup.
    pub fn new(workload: Workload, implementation: Implementation) -> Result<Prepared, String> {
        if !workload.implementations().contains(&implementation) {
            return Err(format!("{} does not run on {}", workload.name(), implementation.name()));
        }
        let runner = if workload.is_replay() {
            let (registry, config) = workloads::board_for(implementation);
            Runner::Replay {
                registry,
                config,
                commands: workloads::trace_of(workload),
                events: Vec::new(),
                tally: Tally::default(),
            }
        } else if implementation == Implementation::RustNative {
            let mut target = Box::new(Native::new());
            workloads::setup(workload, target.as_mut());
            Runner::Native { target, tally: Tally::default(), blob: Vec::with_capacity(SAVE_CAPACITY) }
        } else {
            // The floor takes no properties (its `create` refuses any): it
            // stands for the cost of the calls, whatever the device's size.
            let properties = if implementation == Implementation::Floor { Vec::new() } else { workload.properties() };
            let mut target =
                Instance::with_properties(device_type(workload, implementation), BenchHost::default(), &properties)
                    .map_err(|e| format!("cannot create {}: {e}", implementation.name()))?;
            workloads::setup(workload, &mut target);
            Runner::Table { target, tally: Tally::default(), blob: Vec::with_capacity(SAVE_CAPACITY) }
        };
        Ok(Prepared { workload, implementation, runner })
    }

    /// The workload.
    pub fn workload(&self) -> Workload {
        self.workload
    }

    /// The implementation.
    pub fn implementation(&self) -> Implementation {
        self.implementation
    }

    /// Runs `ops` operations of the workload.
    pub fn run(&mut self, ops: u64) {
        let workload = self.workload;
        match &mut self.runner {
            Runner::Table { target, tally, blob } => workloads::run_micro(workload, target, ops, tally, blob),
            Runner::Native { target, tally, blob } => workloads::run_micro(workload, target.as_mut(), ops, tally, blob),
            Runner::Replay { registry, config, commands, events, tally } => {
                workloads::replay(registry, config, commands, ops, events, tally);
            }
        }
    }

    /// What the operations run so far did.
    pub fn outcome(&self) -> Outcome {
        match &self.runner {
            Runner::Table { target, tally, blob } => workloads::micro_outcome(tally, target, blob),
            Runner::Native { target, tally, blob } => workloads::micro_outcome(tally, target.as_ref(), blob),
            Runner::Replay { tally, .. } => workloads::replay_outcome(tally),
        }
    }
}

#[cfg(test)]
mod tests;
