//! The trace runner: executes commands on a [`Board`] and produces the
//! canonical event log.

use std::fmt;
use std::io::BufRead;

use crate::board::{Board, BoardConfig, BoardError, Diagnostic};
use crate::event::Event;
use crate::registry::Registry;
use crate::trace::parse::{Command, TraceReader};

/// Why one command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// The command cannot run (unknown device, bad access, no such
    /// implementation, device error): a bad trace, exit status 2. It was
    /// refused as a whole: nothing changed.
    Invalid(String),
    /// The command ran and the board stopped it part-way, because a device
    /// would have kept it running for ever (a timer storm): a bad trace,
    /// exit status 2. Unlike a refusal, what it did before the stop stays,
    /// events included. A board that stopped a storm stays stopped: every
    /// later `advance` gets this error at once.
    Stopped(String),
    /// A `read ... = EXPECTED` got another value: exit status 1.
    Expectation {
        /// Device instance name.
        dev: String,
        /// Offset read.
        offset: u64,
        /// Expected value.
        expected: u64,
        /// Value read.
        actual: u64,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Invalid(msg) | StepError::Stopped(msg) => f.write_str(msg),
            StepError::Expectation { dev, offset, expected, actual } => {
                write!(f, "read {dev} 0x{offset:03x}: expected 0x{expected:x}, actual 0x{actual:x}")
            }
        }
    }
}

impl From<BoardError> for StepError {
    fn from(e: BoardError) -> Self {
        match e {
            BoardError::TimerStorm { .. } => StepError::Stopped(e.to_string()),
            _ => StepError::Invalid(e.to_string()),
        }
    }
}

/// Executes trace commands one at a time. The board is created on the
/// first command other than `epoch`, so `epoch` can still set the clock
/// that devices read when they are created.
#[derive(Debug)]
pub struct Runner {
    registry: Registry,
    config: BoardConfig,
    board: Option<Board>,
    /// Slots a `config` line has named (also with an empty list).
    configured: Vec<usize>,
    /// Whether the board keeps the diagnostics devices log.
    keep_diagnostics: bool,
    /// Whether a command other than `epoch` and `config` has run: a board
    /// that exists while this is false was created by the caller before
    /// the trace began (a run from a saved state), which `epoch` and
    /// `config` errors say.
    ran_a_command: bool,
}

impl Runner {
    /// A runner for a board laid out as `config`.
    pub fn new(registry: &Registry, config: BoardConfig) -> Self {
        Runner {
            registry: registry.clone(),
            config,
            board: None,
            configured: Vec::new(),
            keep_diagnostics: true,
            ran_a_command: false,
        }
    }

    /// The same runner, whose board drops the diagnostics devices log
    /// instead of keeping them for [`Runner::take_diagnostics`] (for a
    /// caller that never reads them).
    pub fn without_diagnostics(mut self) -> Self {
        self.keep_diagnostics = false;
        self
    }

    /// The board, once the first non-`epoch` command created it.
    pub fn board(&self) -> Option<&Board> {
        self.board.as_ref()
    }

    /// The layout and properties the board will be created with, until it
    /// is (what `epoch` and `config` lines change); `None` after.
    pub fn pending_config(&self) -> Option<&BoardConfig> {
        self.board.is_none().then_some(&self.config)
    }

    /// The board, mutably, once created; `None` before (unlike
    /// [`Runner::board_mut`], this never creates it).
    pub fn created_board_mut(&mut self) -> Option<&mut Board> {
        self.board.as_mut()
    }

    /// The board, created now if it does not exist yet.
    pub fn board_mut(&mut self) -> Result<&mut Board, StepError> {
        if self.board.is_none() {
            let mut board = Board::new(&self.registry, &self.config)?;
            board.keep_diagnostics(self.keep_diagnostics);
            self.board = Some(board);
        }
        Ok(self.board.as_mut().expect("created above"))
    }

    /// Runs one command, appending the events it caused to `events`.
    pub fn execute(&mut self, command: &Command, events: &mut Vec<Event>) -> Result<(), StepError> {
        if let Command::Epoch { seconds } = command {
            // `config` is one of the "other commands": it may follow
            // `epoch`, not come before it.
            if self.board.is_some() || !self.configured.is_empty() {
                return Err(StepError::Invalid(self.too_late("epoch", "the first other command")));
            }
            self.config.epoch = *seconds;
            return Ok(());
        }
        if let Command::Config { dev, properties } = command {
            return self.configure(dev, properties);
        }
        self.ran_a_command = true;
        let board = self.board_mut()?;
        let dev = match command.device() {
            Some(name) => Some(board.device_index(name)?),
            None => None,
        };
        let result = Self::apply(board, command, dev);
        board.drain_events(events);
        result
    }

    /// `config DEV NAME=VALUE ...`: before the board exists, at most once
    /// per device, every property known to the device and in its range.
    fn configure(&mut self, dev: &str, properties: &[(String, u64)]) -> Result<(), StepError> {
        if self.board.is_some() {
            return Err(StepError::Invalid(
                self.too_late("config", "the first command other than `epoch` and `config`"),
            ));
        }
        let names: Vec<&str> = self.config.slots.iter().map(|s| s.name.as_str()).collect();
        let Some(slot) = self.config.slots.iter().position(|s| s.name == dev) else {
            return Err(StepError::Invalid(format!("unknown device `{dev}` (this board has: {})", names.join(", "))));
        };
        if !self.config.slots[slot].properties.is_empty() || self.configured.contains(&slot) {
            return Err(StepError::Invalid(format!("`config {dev}` is allowed once per device")));
        }
        let (kind, implementation) = (&self.config.slots[slot].kind, self.config.slots[slot].implementation);
        let device_type = self.registry.device_type(kind, implementation).map_err(StepError::Invalid)?;
        device_type.description().resolve_properties(properties).map_err(StepError::Invalid)?;
        self.config.slots[slot].properties = properties.to_vec();
        self.configured.push(slot);
        Ok(())
    }

    /// Why `what` (a line that sets up the board) comes too late: after
    /// `first`, or in a run whose board existed before its first line.
    fn too_late(&self, what: &str, first: &str) -> String {
        if self.ran_a_command || self.board.is_none() {
            format!("`{what}` is allowed only before {first}")
        } else {
            format!(
                "`{what}` cannot be used in a run that starts from a saved state: its board, clock and device \
                 properties come from that state"
            )
        }
    }

    fn apply(board: &mut Board, command: &Command, dev: Option<usize>) -> Result<(), StepError> {
        let d = || dev.expect("commands that name a device have an index");
        match command {
            Command::Write { offset, value, size, .. } => board.write(d(), *offset, *size, *value)?,
            Command::Read { dev: name, offset, size, expected } => {
                let actual = board.read(d(), *offset, *size)?;
                if let Some(expected) = *expected {
                    if expected != actual {
                        return Err(StepError::Expectation { dev: name.clone(), offset: *offset, expected, actual });
                    }
                }
            }
            Command::Rx { bytes, .. } => board.rx(d(), bytes)?,
            Command::Break { .. } => board.serial_break(d())?,
            Command::Advance { ns } => board.advance(*ns)?,
            Command::Reset { .. } => board.reset(dev)?,
            Command::Migrate { to, .. } => {
                board.migrate(d(), *to)?;
            }
            Command::Input { line, level, .. } => board.input(d(), *line, *level)?,
            Command::Epoch { .. } | Command::Config { .. } => unreachable!("handled in execute"),
        }
        Ok(())
    }

    /// Takes the diagnostics devices reported so far.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        self.board.as_mut().map(Board::take_diagnostics).unwrap_or_default()
    }

    /// The device names, for formatting events.
    pub fn device_names(&self) -> Vec<String> {
        match &self.board {
            Some(b) => b.device_names().to_vec(),
            None => self.config.slots.iter().map(|s| s.name.clone()).collect(),
        }
    }
}

/// A failed trace: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// The trace's file name (as given).
    pub file: String,
    /// Line number, from 1.
    pub line: u64,
    /// What went wrong.
    pub error: StepError,
}

impl TraceError {
    /// The CLI exit status: 1 for a failed expectation, 2 for a bad trace.
    pub fn exit_code(&self) -> u8 {
        match self.error {
            StepError::Expectation { .. } => 1,
            StepError::Invalid(_) | StepError::Stopped(_) => 2,
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.error)
    }
}

impl std::error::Error for TraceError {}

/// Counts of a completed run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Commands executed.
    pub commands: u64,
    /// Canonical events produced.
    pub events: u64,
    /// Diagnostics (guest errors, unimplemented) reported.
    pub diagnostics: u64,
}

/// Receives what a run produces, as it happens.
pub trait RunSink {
    /// One canonical event; `names` are the board's device names.
    fn event(&mut self, names: &[String], event: &Event);
    /// One diagnostic, reported while running trace line `line`.
    fn diagnostic(&mut self, _line: u64, _names: &[String], _diagnostic: &Diagnostic) {}
}

/// A sink that collects the canonical log as lines.
#[derive(Debug, Default)]
pub struct CollectLog {
    /// The canonical lines.
    pub lines: Vec<String>,
    /// Diagnostics as `line N: device: message`.
    pub diagnostics: Vec<String>,
}

impl RunSink for CollectLog {
    fn event(&mut self, names: &[String], event: &Event) {
        self.lines.push(event.display(&names[event.dev()]).to_string());
    }
    fn diagnostic(&mut self, line: u64, names: &[String], d: &Diagnostic) {
        self.diagnostics.push(format!("line {line}: {}: {}: {}", names[d.dev], d.kind.label(), d.message));
    }
}

/// Runs a whole trace, streaming, on a fresh board laid out as `config`.
pub fn run_trace<R: BufRead>(
    file: &str,
    reader: R,
    registry: &Registry,
    config: BoardConfig,
    sink: &mut dyn RunSink,
) -> Result<RunSummary, TraceError> {
    run_trace_on(file, reader, Runner::new(registry, config), sink)
}

/// Runs a whole trace, streaming, on `runner`'s board as it stands (one
/// started from an imported state, `portlab run --start`).
pub fn run_trace_on<R: BufRead>(
    file: &str,
    reader: R,
    mut runner: Runner,
    sink: &mut dyn RunSink,
) -> Result<RunSummary, TraceError> {
    let names = runner.device_names();
    let mut summary = RunSummary::default();
    let mut events = Vec::new();
    for item in TraceReader::new(reader) {
        let line =
            item.map_err(|e| TraceError { file: file.into(), line: e.line, error: StepError::Invalid(e.message) })?;
        let result = runner.execute(&line.command, &mut events);
        summary.commands += 1;
        summary.events += events.len() as u64;
        for e in events.drain(..) {
            sink.event(&names, &e);
        }
        for d in runner.take_diagnostics() {
            summary.diagnostics += 1;
            sink.diagnostic(line.number, &names, &d);
        }
        result.map_err(|error| TraceError { file: file.into(), line: line.number, error })?;
    }
    Ok(summary)
}
