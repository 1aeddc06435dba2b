//! The board that runs traces, the same way for every implementation.
//!
//! In the port, the board plays QEMU's part: it owns the machine (devices
//! at addresses, IRQ lines, serial backends, the virtual clock) and drives
//! each device through its C ops table, so a Rust rewrite exported through
//! that table is driven exactly like the C model it replaces. The trace
//! runner on top of it turns a trace file (trace-format.md) into the
//! canonical event log that both implementations must produce.
#![forbid(unsafe_code)]

// The stages exclude each other: `--features stage3` on top of the
// default `stage1` would silently build stage 1.
#[cfg(any(
    all(feature = "stage1", feature = "stage2"),
    all(feature = "stage1", feature = "stage3"),
    all(feature = "stage2", feature = "stage3")
))]
compile_error!(
    "enable one roadmap stage: `--no-default-features --features stage2` (or stage3); \
     `--features stage2` alone adds it to the default stage1"
);
#[cfg(all(feature = "stage3", feature = "c-models"))]
compile_error!(
    "stage 3 compiles no C model, but another crate of this build enables portlab-board's c-models \
     (build only portlab-cli: `cargo build -p portlab-cli --no-default-features --features stage3`)"
);

pub mod board;
pub mod event;
pub mod lockstep;
pub mod registry;
pub mod state;
pub mod trace;

pub use board::{Board, BoardConfig, BoardError, DEFAULT_EPOCH, Diagnostic, MAX_EXPIRIES_PER_ADVANCE, SlotConfig};
pub use event::Event;
pub use lockstep::{Allowance, Divergence, Lockstep, Rendered, StepReport, parse_allowances};
pub use registry::{AfterLoad, DeviceKind, EdgeCases, GuestChunk, Implementation, Registry, Stage};
pub use trace::parse::{Command, ParseError, TraceLine, TraceReader, parse_line};
pub use trace::run::{CollectLog, RunSink, RunSummary, Runner, StepError, TraceError, run_trace, run_trace_on};
