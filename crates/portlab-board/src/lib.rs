//! The board that runs traces, the same way for every implementation.
//!
//! In the port, the board plays QEMU's part: it owns the machine (devices
//! at addresses, IRQ lines, serial backends, the virtual clock) and drives
//! each device through its C ops table, so a Rust rewrite exported through
//! that table is driven exactly like the C model it replaces. The trace
//! runner on top of it turns a trace file (trace-format.md) into the
//! canonical event log that both implementations must produce.

pub mod board;
pub mod event;
pub mod lockstep;
pub mod registry;
pub mod state;
pub mod trace;

pub use board::{Board, BoardConfig, BoardError, DEFAULT_EPOCH, Diagnostic, MAX_EXPIRIES_PER_ADVANCE, SlotConfig};
pub use event::Event;
pub use lockstep::{Allowance, Divergence, Lockstep, StepReport, parse_allowances};
pub use registry::{AfterLoad, DeviceKind, EdgeCases, GuestChunk, Implementation, Registry, Stage};
pub use trace::parse::{Command, ParseError, TraceLine, TraceReader, parse_line};
pub use trace::run::{CollectLog, RunSink, RunSummary, Runner, StepError, TraceError, run_trace};
