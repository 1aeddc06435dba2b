//! Benchmark runner for every registered device's workloads, shared by the
//! criterion benches (`benches/`) and `portlab bench`.
//!
//! # Where this sits in the port
//!
//! The traces prove that a Rust device behaves like the C one; this crate
//! measures what the rewrite costs. QEMU's roadmap makes a Rust device the
//! default only once it is as good as the C model, and "as good" includes
//! speed: a guest's console must not get slower because its UART changed
//! language.
//!
//! A device declares its workloads beside its code
//! (`portlab_device::bench::Workload`, listed in its registry entry); this
//! crate names no device. It runs each workload on up to four
//! [`Implementation`]s, always with the same calls:
//!
//! | implementation | what is called | what it shows |
//! | --- | --- | --- |
//! | `floor` | the C null device (`c-src/null_device.c`) through the ops table | the cost of the call alone |
//! | `c` | the device's C model through the ops table, as the board drives it | the "before" |
//! | `rust` | its Rust model through the same table (the `portlab-device` adapter) | the "after" |
//! | `rust-native` | the Rust model's methods with a Rust host, no FFI (if the device offers it) | what the boundary costs |
//!
//! The first three are the same monomorphised code over
//! `Instance<BenchHost>`; only the ops table differs. A replay workload
//! (a whole trace on the board) runs on the first three.
//!
//! The floor is written in C rather than as a Rust device behind the
//! adapter: a Rust null device would put the adapter's own work (pointer
//! and access checks, `catch_unwind`) into the floor and hide it, while
//! that work is part of what a Rust model pays and a C one does not.
//!
//! [`measure`] runs the implementations of a workload interleaved in one
//! process, and [`stats`] turns the batches into medians, ratios and
//! confidence intervals, and [`report`] models a whole run and renders it
//! as a table, JSON, a Markdown section and an SVG chart.
#![forbid(unsafe_code)]

pub mod measure;
pub mod report;
pub mod stats;
mod workloads;

use std::sync::OnceLock;

use portlab_board::{BoardConfig, Command, Event, Registry};
use portlab_device::bench::{BenchHost, Body, NativeRun, TableTarget, Tally};
use portlab_device::{DeviceType, Instance, c_models};

pub use portlab_device::bench;

use workloads::ReplayTally;

/// One implementation a workload runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Implementation {
    /// The C null device through the ops table: the cost of the call.
    Floor,
    /// The C model through the ops table.
    C,
    /// The Rust model through the ops table (the FFI adapter).
    Rust,
    /// The Rust model called directly, with no FFI.
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
            Implementation::C => "the device's C model (c-src/NAME.c) through the ops table",
            Implementation::Rust => "its Rust model (x-NAME-rust) through the same ops table",
            Implementation::RustNative => "its Rust model called directly with a Rust host: no FFI",
        }
    }

    /// The implementation called `name`.
    pub fn from_name(name: &str) -> Option<Implementation> {
        Implementation::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// A benchmark workload: one a registered device declares.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    device: &'static str,
    declared: &'static bench::Workload,
}

// Workload names are unique across devices (a test holds them so), so the
// name is the identity.
impl PartialEq for Workload {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Workload {}

impl std::hash::Hash for Workload {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

/// Every registered device's workloads, in registry order.
fn registered() -> &'static [Workload] {
    static ALL: OnceLock<Vec<Workload>> = OnceLock::new();
    ALL.get_or_init(|| {
        Registry::builtin()
            .kinds()
            .iter()
            .flat_map(|kind| kind.workloads.iter().map(|declared| Workload { device: kind.name, declared }))
            .collect()
    })
}

impl Workload {
    /// Every workload of every registered device, in report order.
    pub fn all() -> &'static [Workload] {
        registered()
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        registered().iter().copied().find(|w| w.name() == name)
    }

    /// The name used by criterion groups, the CLI and the reports.
    pub fn name(self) -> &'static str {
        self.declared.name
    }

    /// The device (registry kind) it measures.
    pub fn device(self) -> &'static str {
        self.device
    }

    /// What one operation is.
    pub fn unit(self) -> &'static str {
        self.declared.unit
    }

    /// What one operation does, in calls.
    pub fn description(self) -> &'static str {
        self.declared.description
    }

    /// The creation properties the models are created with.
    pub fn properties(self) -> Vec<(String, u64)> {
        self.declared.properties.iter().map(|&(name, value)| (name.to_string(), value)).collect()
    }

    /// The implementations this workload runs on: the floor, C and Rust,
    /// and the Rust model called natively if the device offers it. The
    /// trace replays run on the board, which drives devices only through
    /// their ops tables.
    pub fn implementations(self) -> &'static [Implementation] {
        match self.declared.body {
            Body::Micro(micro) if micro.native.is_some() => &Implementation::ALL,
            _ => &Implementation::ALL[..3],
        }
    }

    /// Whether this is a whole-trace replay on the board.
    pub fn is_replay(self) -> bool {
        matches!(self.declared.body, Body::Replay(_))
    }

    /// Whether this is a register hot path (a single access with no
    /// callback), which should cost about as much as the floor.
    pub fn is_register_hot_path(self) -> bool {
        self.declared.hot_path
    }

    /// Why the two models do different work here, if they do.
    pub fn algorithm_note(self) -> Option<&'static str> {
        self.declared.algorithm_note
    }

    /// Commands in one replay (0 for the micro workloads).
    pub fn trace_len(self) -> usize {
        match self.declared.body {
            Body::Replay(text) => workloads::parse_trace(self.name(), text).map_or(0, |c| c.len()),
            Body::Micro(_) => 0,
        }
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
    /// Wrapping sum of the bytes transmitted (and of guest-memory writes'
    /// values in a micro workload).
    pub tx_sum: u64,
    /// `set_irq` calls (micro workloads only).
    pub irq_calls: u64,
    /// IRQ line changes (`irq` and `mem` events in a replay).
    pub irq_edges: u64,
    /// Diagnostics the device reported (micro workloads only).
    pub logs: u64,
    /// Serial bytes delivered to the device.
    pub rx_delivered: u64,
    /// Serial bytes read back by the guest.
    pub rx_drained: u64,
    /// Wrapping sum of the bytes delivered.
    pub rx_delivered_sum: u64,
    /// Wrapping sum of the bytes read back.
    pub rx_drained_sum: u64,
    /// The last migration blob saved (empty if none was).
    pub blob: Vec<u8>,
    /// `clock_ns` callbacks (micro workloads only).
    pub clock_reads: u64,
    /// `timer_arm` and `timer_arm_first` callbacks (micro workloads only).
    pub timer_arms: u64,
    /// Wrapping sum of the deadlines armed.
    pub deadline_sum: u64,
    /// `timer_cancel` callbacks (micro workloads only).
    pub timer_cancels: u64,
    /// Guest-memory writes (micro workloads only).
    pub mem_writes: u64,
    /// Canonical events produced (replays only).
    pub events: u64,
}

enum Runner {
    Table { target: TableTarget, run: fn(&mut TableTarget, u64, &mut Tally), tally: Tally },
    Native { target: Box<dyn NativeRun>, tally: Tally },
    Replay { registry: Registry, config: BoardConfig, commands: Vec<Command>, events: Vec<Event>, tally: ReplayTally },
}

/// One workload on one implementation, set up and ready to run.
pub struct Prepared {
    workload: Workload,
    implementation: Implementation,
    runner: Runner,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("workload", &self.workload.name())
            .field("implementation", &self.implementation)
            .finish()
    }
}

/// The ops table `implementation` of `device` is driven through.
fn device_type(device: &str, implementation: Implementation) -> Result<DeviceType, String> {
    if implementation == Implementation::Floor {
        return Ok(c_models::null());
    }
    let registry = Registry::builtin();
    let kind = registry.kind(device).ok_or_else(|| format!("no device `{device}` is registered"))?;
    let table = match implementation {
        Implementation::C => kind.c,
        _ => kind.rust,
    };
    table.ok_or_else(|| format!("`{device}` has no {} implementation", implementation.name()))
}

impl Prepared {
    /// Creates the device (or, for a replay, the board's registry) and
    /// runs the workload's setup.
    pub fn new(workload: Workload, implementation: Implementation) -> Result<Prepared, String> {
        if !workload.implementations().contains(&implementation) {
            return Err(format!("{} does not run on {}", workload.name(), implementation.name()));
        }
        let runner = match workload.declared.body {
            Body::Replay(text) => {
                let (registry, config) = workloads::board_for(workload.device(), implementation);
                Runner::Replay {
                    registry,
                    config,
                    commands: workloads::parse_trace(workload.name(), text)?,
                    events: Vec::new(),
                    tally: ReplayTally::default(),
                }
            }
            Body::Micro(micro) if implementation == Implementation::RustNative => {
                let native = micro.native.ok_or_else(|| format!("{} has no native run", workload.name()))?;
                Runner::Native { target: native(&workload.properties())?, tally: Tally::default() }
            }
            Body::Micro(micro) => {
                // The floor takes no properties (its `create` refuses any):
                // it stands for the cost of the calls, whatever the
                // device's size.
                let properties =
                    if implementation == Implementation::Floor { Vec::new() } else { workload.properties() };
                let table = device_type(workload.device(), implementation)?;
                let mut target = Instance::with_properties(table, BenchHost::default(), &properties)
                    .map_err(|e| format!("cannot create {}: {e}", implementation.name()))?;
                (micro.setup)(&mut target);
                target.host_mut().clear_counters();
                Runner::Table { target, run: micro.run, tally: Tally::default() }
            }
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
        match &mut self.runner {
            Runner::Table { target, run, tally } => {
                run(target, ops, tally);
                tally.ops += ops;
            }
            Runner::Native { target, tally } => {
                target.run(ops, tally);
                tally.ops += ops;
            }
            Runner::Replay { registry, config, commands, events, tally } => {
                workloads::replay(registry, config, commands, ops, events, tally);
            }
        }
    }

    /// What the operations run so far did.
    pub fn outcome(&self) -> Outcome {
        match &self.runner {
            Runner::Table { target, tally, .. } => workloads::micro_outcome(tally, target.host()),
            Runner::Native { target, tally } => workloads::micro_outcome(tally, target.host()),
            Runner::Replay { tally, .. } => workloads::replay_outcome(tally),
        }
    }
}

#[cfg(test)]
mod tests;
