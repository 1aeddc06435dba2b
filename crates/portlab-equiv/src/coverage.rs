//! The equivalence coverage report: for every device a run drove, which
//! commands it got, which offsets were read and written (and which bits
//! of each written register were set and cleared), which state fields of
//! its schema changed, and, for a device whose registry entry lists its
//! spec's edge cases (a plug-in beside the device), which of them the run
//! actually exercised. A lockstep run that never reached a state cannot
//! vouch for it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portlab_board::Command;
use portlab_board::state::decode;
use portlab_device::explore::{Action, EdgeCases, Snapshot, Step};
use portlab_device::schema::{FieldValue, Schema};

/// One device as coverage sees it around one command (first side).
#[derive(Debug, Clone, Default)]
pub struct DeviceView {
    /// Instance name.
    pub name: String,
    /// Saved state.
    pub blob: Vec<u8>,
    /// Line levels (line 0 .. 5; missing lines are low).
    pub lines: [bool; 6],
    /// Serial bytes pending.
    pub pending: usize,
    /// The device's state schema, to read the blob by field.
    pub schema: Option<&'static Schema>,
    /// The device's edge cases, when its registry entry lists them.
    pub edge_cases: Option<&'static EdgeCases>,
}

/// What one command did, as coverage sees it.
#[derive(Debug)]
pub struct Observation<'a> {
    /// The command.
    pub command: &'a Command,
    /// Every device before the command.
    pub before: &'a [DeviceView],
    /// Every device after it.
    pub after: &'a [DeviceView],
    /// The clock before and after.
    pub clock: (u64, u64),
    /// The epoch of the board.
    pub epoch: u64,
    /// Whether the command failed (the same way on both sides).
    pub failed: bool,
}

/// Accumulated coverage of a run, per device.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    devices: BTreeMap<String, DeviceCoverage>,
}

/// What one device went through, from its description (and its edge-case
/// plug-in, when it has one). Works for every registered device,
/// scaffolded ones too.
#[derive(Debug, Clone, Default)]
pub struct DeviceCoverage {
    commands: BTreeMap<&'static str, u64>,
    reads: BTreeMap<u64, u64>,
    writes: BTreeMap<u64, u64>,
    bits_set: BTreeMap<u64, u64>,
    bits_cleared: BTreeMap<u64, u64>,
    sizes: BTreeMap<u32, u64>,
    fields: BTreeMap<String, u64>,
    edge_cases: Option<&'static EdgeCases>,
    edges: BTreeMap<&'static str, u64>,
}

/// The command as an edge-case plug-in sees it.
fn action(command: &Command) -> Action {
    match command {
        Command::Write { offset, value, size, .. } => Action::Write { offset: *offset, size: *size, value: *value },
        Command::Read { offset, size, .. } => Action::Read { offset: *offset, size: *size },
        Command::Rx { bytes, .. } => Action::Rx { len: bytes.len() },
        Command::Break { .. } => Action::Break,
        Command::Advance { ns } => Action::Advance { ns: *ns },
        Command::Epoch { .. } => Action::Epoch,
        Command::Reset { .. } => Action::Reset,
        Command::Migrate { .. } => Action::Migrate,
        Command::Config { .. } => Action::Config,
        Command::Input { line, level, .. } => Action::Input { line: *line, level: *level },
    }
}

/// The trace-format verb of a command, for the report.
fn verb(action: Action) -> &'static str {
    match action {
        Action::Write { .. } => "write",
        Action::Read { .. } => "read",
        Action::Rx { .. } => "rx",
        Action::Break => "break",
        Action::Advance { .. } => "advance",
        Action::Epoch => "epoch",
        Action::Reset => "reset",
        Action::Migrate => "migrate",
        Action::Config => "config",
        Action::Input { .. } => "input",
    }
}

impl DeviceCoverage {
    fn observe(&mut self, o: &Observation<'_>, before: &DeviceView, after: &DeviceView) {
        let action = action(o.command);
        *self.commands.entry(verb(action)).or_default() += 1;
        match action {
            Action::Write { offset, size, value } => {
                *self.sizes.entry(size).or_default() += 1;
                for (word, v, width) in self.words(offset, size, value) {
                    *self.writes.entry(word).or_default() += 1;
                    let mask = if width == 8 { u64::MAX } else { (1u64 << (width * 8)) - 1 };
                    *self.bits_set.entry(word).or_default() |= v & mask;
                    *self.bits_cleared.entry(word).or_default() |= !v & mask;
                }
            }
            Action::Read { offset, size } => {
                *self.sizes.entry(size).or_default() += 1;
                for (word, _, _) in self.words(offset, size, 0) {
                    *self.reads.entry(word).or_default() += 1;
                }
            }
            _ => {}
        }
        let Some(schema) = before.schema else { return };
        let (Ok(x), Ok(y)) = (decode(schema, &before.blob), decode(schema, &after.blob)) else { return };
        for f in &x {
            self.fields.entry(f.name.clone()).or_default();
        }
        for (p, q) in x.iter().zip(&y) {
            if p.name == q.name && p.value != q.value {
                *self.fields.entry(p.name.clone()).or_default() += 1;
            }
        }
        if let Some(edge_cases) = self.edge_cases {
            self.observe_edges(edge_cases, action, o, (before, &x), (after, &y));
        }
    }

    /// The registers an access touches: an 8-byte access whose upper half
    /// is a register of its own (a device of 32-bit registers, such as the
    /// PL011) counts as the two words, each with its half of the value.
    fn words(&self, offset: u64, size: u32, value: u64) -> Vec<(u64, u64, u32)> {
        let split = size == 8 && self.edge_cases.is_some_and(|e| e.register_name(offset + 4).is_some());
        if split {
            vec![(offset, value & 0xffff_ffff, 4), (offset + 4, value >> 32, 4)]
        } else {
            vec![(offset, value, size)]
        }
    }

    fn observe_edges(
        &mut self,
        edge_cases: &EdgeCases,
        action: Action,
        o: &Observation<'_>,
        before: (&DeviceView, &[FieldValue]),
        after: (&DeviceView, &[FieldValue]),
    ) {
        let step = Step {
            action,
            before: Snapshot { fields: before.1, lines: &before.0.lines, pending: before.0.pending },
            after: Snapshot { fields: after.1, lines: &after.0.lines, pending: after.0.pending },
            clock: o.clock,
            epoch: o.epoch,
            failed: o.failed,
        };
        let edges = &mut self.edges;
        (edge_cases.observe)(&step, &mut |id| *edges.entry(id).or_default() += 1);
    }

    /// The report lines for device `name`.
    fn report(&self, name: &str) -> String {
        let mut out = String::new();
        let commands: Vec<String> = self.commands.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "  {name}: commands: {}", commands.join(", "));
        let _ = writeln!(out, "  {name}: offsets read: {}, written: {}", self.reads.len(), self.writes.len());
        let sizes: Vec<String> = self.sizes.iter().map(|(s, n)| format!("{s}-byte {n}")).collect();
        if !sizes.is_empty() {
            let _ = writeln!(out, "  {name}: access sizes: {}", sizes.join(", "));
        }
        let changed = self.fields.values().filter(|n| **n > 0).count();
        let _ = writeln!(out, "  {name}: state fields changed: {changed}/{}", self.fields.len());
        let never: Vec<&str> = self.fields.iter().filter(|(_, n)| **n == 0).map(|(f, _)| f.as_str()).collect();
        if !never.is_empty() {
            let shown: Vec<&str> = never.iter().take(12).copied().collect();
            let more = if never.len() > shown.len() {
                format!(" (+{} more)", never.len() - shown.len())
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {name}: never changed: {}{more}", shown.join(", "));
        }
        if let Some(edge_cases) = self.edge_cases {
            out.push_str(&self.edge_report(name, edge_cases));
        }
        out
    }

    fn edge_report(&self, name: &str, edge_cases: &EdgeCases) -> String {
        let mut out = String::new();
        let _ =
            writeln!(out, "  {name} registers (reads / writes / bits set at least once / bits cleared at least once):");
        for (offset, register) in edge_cases.registers {
            let r = self.reads.get(offset).copied().unwrap_or(0);
            let w = self.writes.get(offset).copied().unwrap_or(0);
            let set = self.bits_set.get(offset).copied().unwrap_or(0);
            let cleared = self.bits_cleared.get(offset).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "    0x{offset:03x} {register:<8} {r:>9} / {w:>9}   set {:>2} (0x{set:08x})   cleared {:>2}",
                set.count_ones(),
                cleared.count_ones()
            );
        }
        let other: u64 = self
            .reads
            .iter()
            .chain(&self.writes)
            .filter(|(offset, _)| edge_cases.register_name(**offset).is_none())
            .map(|(_, n)| n)
            .sum();
        let _ = writeln!(out, "    other offsets (ID registers, unmapped) accessed {other} times");
        let missed = self.missed_edge_cases().len();
        let total = edge_cases.cases.len();
        let _ = writeln!(out, "  {name} edge cases ({}) exercised: {}/{total}", edge_cases.source, total - missed);
        for (id, what) in edge_cases.cases {
            let n = self.edges.get(id).copied().unwrap_or(0);
            let mark = if n > 0 { "x" } else { " " };
            let _ = writeln!(out, "    [{mark}] {id:<7} {n:>8}  {what}");
        }
        out
    }

    fn missed_edge_cases(&self) -> Vec<&'static str> {
        self.edge_cases.map_or_else(Vec::new, |e| {
            e.cases.iter().filter(|(id, _)| !self.edges.contains_key(id)).map(|(id, _)| *id).collect()
        })
    }
}

impl Coverage {
    /// Records one command.
    pub fn observe(&mut self, o: &Observation<'_>) {
        for (b, a) in o.before.iter().zip(o.after) {
            if o.command.device().is_none_or(|d| d == b.name) {
                let device = self
                    .devices
                    .entry(b.name.clone())
                    .or_insert_with(|| DeviceCoverage { edge_cases: b.edge_cases, ..DeviceCoverage::default() });
                device.observe(o, b, a);
            }
        }
    }

    /// The edge cases of device `name` never exercised; None when the run
    /// never drove that device or the device lists no edge cases.
    pub fn missed_edge_cases(&self, name: &str) -> Option<Vec<&'static str>> {
        let device = self.devices.get(name)?;
        device.edge_cases.map(|_| device.missed_edge_cases())
    }

    /// How many times edge case `id` of device `name` was exercised.
    pub fn edge_count(&self, name: &str, id: &str) -> u64 {
        self.devices.get(name).and_then(|d| d.edges.get(id)).copied().unwrap_or(0)
    }

    /// The registers (by name) of device `name`'s edge-case list never
    /// written.
    pub fn unwritten_registers(&self, name: &str) -> Vec<&'static str> {
        let Some(device) = self.devices.get(name) else { return Vec::new() };
        let Some(edge_cases) = device.edge_cases else { return Vec::new() };
        edge_cases.registers.iter().filter(|(o, _)| !device.writes.contains_key(o)).map(|(_, n)| *n).collect()
    }

    /// How many `verb` commands (`write`, `migrate`, ...) device `name` got.
    pub fn device_commands(&self, name: &str, verb: &str) -> u64 {
        self.devices.get(name).and_then(|d| d.commands.get(verb)).copied().unwrap_or(0)
    }

    /// The state fields of device `name` that changed at least once, and
    /// every field seen.
    pub fn fields_changed(&self, name: &str) -> (usize, usize) {
        self.devices.get(name).map_or((0, 0), |d| (d.fields.values().filter(|n| **n > 0).count(), d.fields.len()))
    }

    /// The distinct offsets of device `name` written.
    pub fn offsets_written(&self, name: &str) -> usize {
        self.devices.get(name).map_or(0, |d| d.writes.len())
    }

    /// The coverage report as text, for every device the run addressed
    /// (not only advanced the clock around).
    pub fn report(&self) -> String {
        let mut out = String::from("equivalence coverage\n");
        for (name, device) in &self.devices {
            if device.commands.keys().any(|k| !matches!(*k, "advance" | "epoch" | "reset")) {
                out.push_str(&device.report(name));
            }
        }
        out
    }
}
