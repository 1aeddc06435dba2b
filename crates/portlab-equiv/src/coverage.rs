//! The equivalence coverage report: for every device a run drove, which
//! commands it got, which offsets were read and written (and which bits
//! of each written register were set and cleared), which state fields of
//! its schema changed, and, for a device whose registry entry lists its
//! spec's edge cases (a plug-in beside the device), which of them the run
//! actually exercised. A lockstep run that never reached a state cannot
//! vouch for it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use portlab_board::Command;
use portlab_device::explore::{Action, EdgeCases, Snapshot, Step};
use portlab_device::schema::{FieldValue, Schema};

/// What a run did to one device: the report's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSummary {
    /// The device instance.
    pub device: String,
    /// Commands addressed to it, by verb.
    pub commands: BTreeMap<&'static str, u64>,
    /// Distinct offsets read.
    pub offsets_read: usize,
    /// Distinct offsets written.
    pub offsets_written: usize,
    /// Accesses by size in bytes.
    pub access_sizes: BTreeMap<u32, u64>,
    /// State fields of its schema seen.
    pub fields: usize,
    /// Of those, the ones that changed at least once.
    pub fields_changed: usize,
    /// The ones that never changed.
    pub never_changed: Vec<String>,
    /// Its named registers (from its edge-case plug-in), if it has one.
    pub registers: Option<Vec<RegisterSummary>>,
    /// Accesses to offsets outside those registers (ID registers,
    /// unmapped), if it has a plug-in.
    pub other_accesses: Option<u64>,
    /// Where its edge cases come from (the spec).
    pub edge_case_source: Option<&'static str>,
    /// Its spec's edge cases and how often each was exercised.
    pub edge_cases: Vec<EdgeCaseSummary>,
}

/// One named register's accesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterSummary {
    /// Its offset.
    pub offset: u64,
    /// Its name in the spec.
    pub name: &'static str,
    /// Reads.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// The bits written as 1 at least once.
    pub bits_set: u64,
    /// The bits written as 0 at least once.
    pub bits_cleared: u64,
}

/// One edge case of the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeCaseSummary {
    /// Its id in the spec (`H17`).
    pub id: &'static str,
    /// What it is.
    pub what: &'static str,
    /// How often a run exercised it.
    pub hits: u64,
}

impl fmt::Display for DeviceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.device;
        let commands: Vec<String> = self.commands.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "  {name}: commands: {}", commands.join(", "))?;
        writeln!(f, "  {name}: offsets read: {}, written: {}", self.offsets_read, self.offsets_written)?;
        let sizes: Vec<String> = self.access_sizes.iter().map(|(s, n)| format!("{s}-byte {n}")).collect();
        if !sizes.is_empty() {
            writeln!(f, "  {name}: access sizes: {}", sizes.join(", "))?;
        }
        writeln!(f, "  {name}: state fields changed: {}/{}", self.fields_changed, self.fields)?;
        if !self.never_changed.is_empty() {
            let shown: Vec<&str> = self.never_changed.iter().take(12).map(String::as_str).collect();
            let more = if self.never_changed.len() > shown.len() {
                format!(" (+{} more)", self.never_changed.len() - shown.len())
            } else {
                String::new()
            };
            writeln!(f, "  {name}: never changed: {}{more}", shown.join(", "))?;
        }
        if let Some(registers) = &self.registers {
            writeln!(f, "  {name} registers (reads / writes / bits set at least once / bits cleared at least once):")?;
            for r in registers {
                writeln!(
                    f,
                    "    0x{:03x} {:<8} {:>9} / {:>9}   set {:>2} (0x{:08x})   cleared {:>2}",
                    r.offset,
                    r.name,
                    r.reads,
                    r.writes,
                    r.bits_set.count_ones(),
                    r.bits_set,
                    r.bits_cleared.count_ones()
                )?;
            }
            writeln!(
                f,
                "    other offsets (ID registers, unmapped) accessed {} times",
                self.other_accesses.unwrap_or(0)
            )?;
        }
        if let Some(source) = self.edge_case_source {
            let total = self.edge_cases.len();
            let exercised = self.edge_cases.iter().filter(|e| e.hits > 0).count();
            writeln!(f, "  {name} edge cases ({source}) exercised: {exercised}/{total}")?;
            for e in &self.edge_cases {
                let mark = if e.hits > 0 { "x" } else { " " };
                writeln!(f, "    [{mark}] {:<7} {:>8}  {}", e.id, e.hits, e.what)?;
            }
        }
        Ok(())
    }
}

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
    /// The blob decoded by the schema (None without a schema, or when the
    /// blob does not decode): made once per view, and a view after one
    /// command is the view before the next.
    pub fields: Option<Vec<FieldValue>>,
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
    fields: BTreeMap<Arc<str>, u64>,
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
        let (Some(x), Some(y)) = (before.fields.as_deref(), after.fields.as_deref()) else { return };
        for f in x {
            if !self.fields.contains_key(&f.name) {
                self.fields.insert(Arc::clone(&f.name), 0);
            }
        }
        if before.blob != after.blob {
            for (p, q) in x.iter().zip(y) {
                if p.name == q.name && p.value != q.value {
                    *self.fields.entry(Arc::clone(&p.name)).or_default() += 1;
                }
            }
        }
        if let Some(edge_cases) = self.edge_cases {
            self.observe_edges(edge_cases, action, o, (before, x), (after, y));
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
    /// What this device went through, as the report shows it.
    fn summary(&self, name: &str) -> DeviceSummary {
        let registers = self.edge_cases.map(|edge_cases| {
            edge_cases
                .registers
                .iter()
                .map(|(offset, register)| RegisterSummary {
                    offset: *offset,
                    name: register,
                    reads: self.reads.get(offset).copied().unwrap_or(0),
                    writes: self.writes.get(offset).copied().unwrap_or(0),
                    bits_set: self.bits_set.get(offset).copied().unwrap_or(0),
                    bits_cleared: self.bits_cleared.get(offset).copied().unwrap_or(0),
                })
                .collect()
        });
        let other_accesses = self.edge_cases.map(|edge_cases| {
            self.reads
                .iter()
                .chain(&self.writes)
                .filter(|(offset, _)| edge_cases.register_name(**offset).is_none())
                .map(|(_, n)| n)
                .sum()
        });
        DeviceSummary {
            device: name.to_string(),
            commands: self.commands.clone(),
            offsets_read: self.reads.len(),
            offsets_written: self.writes.len(),
            access_sizes: self.sizes.clone(),
            fields: self.fields.len(),
            fields_changed: self.fields.values().filter(|n| **n > 0).count(),
            never_changed: self.fields.iter().filter(|(_, n)| **n == 0).map(|(f, _)| f.to_string()).collect(),
            registers,
            other_accesses,
            edge_case_source: self.edge_cases.map(|e| e.source),
            edge_cases: self
                .edge_cases
                .map(|e| {
                    e.cases
                        .iter()
                        .map(|(id, what)| EdgeCaseSummary { id, what, hits: self.edges.get(id).copied().unwrap_or(0) })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn missed_edge_cases(&self) -> Vec<&'static str> {
        self.edge_cases.map_or_else(Vec::new, |e| {
            e.cases.iter().filter(|(id, _)| !self.edges.contains_key(id)).map(|(id, _)| *id).collect()
        })
    }
}

impl DeviceCoverage {
    /// Adds what another run did to the same device: counts add up, the
    /// bits seen set or cleared are the union.
    fn merge(&mut self, other: &DeviceCoverage) {
        fn add<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
            for (k, n) in from {
                *into.entry(k.clone()).or_default() += n;
            }
        }
        fn union(into: &mut BTreeMap<u64, u64>, from: &BTreeMap<u64, u64>) {
            for (k, bits) in from {
                *into.entry(*k).or_default() |= bits;
            }
        }
        add(&mut self.commands, &other.commands);
        add(&mut self.reads, &other.reads);
        add(&mut self.writes, &other.writes);
        union(&mut self.bits_set, &other.bits_set);
        union(&mut self.bits_cleared, &other.bits_cleared);
        add(&mut self.sizes, &other.sizes);
        add(&mut self.fields, &other.fields);
        add(&mut self.edges, &other.edges);
        self.edge_cases = self.edge_cases.or(other.edge_cases);
    }
}

impl Coverage {
    /// Adds another run's coverage (`portlab fuzz --jobs N` merges its
    /// jobs' with this).
    pub fn merge(&mut self, other: &Coverage) {
        for (name, device) in &other.devices {
            self.devices.entry(name.clone()).or_default().merge(device);
        }
    }

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
        for device in self.summary() {
            out.push_str(&device.to_string());
        }
        out
    }

    /// The same, as data (`portlab fuzz --format json`): one entry per
    /// device the run addressed.
    pub fn summary(&self) -> Vec<DeviceSummary> {
        self.devices
            .iter()
            .filter(|(_, d)| d.commands.keys().any(|k| !matches!(*k, "advance" | "epoch" | "reset")))
            .map(|(name, d)| d.summary(name))
            .collect()
    }
}
