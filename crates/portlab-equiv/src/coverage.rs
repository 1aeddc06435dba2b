//! The equivalence coverage report: for every device a run drove, which
//! commands it got, which offsets were read and written (and which bits
//! of each written register were set and cleared), which state fields of
//! its schema changed, and, for a device whose registry entry lists its
//! spec's edge cases (a plug-in beside the device), which of them the run
//! actually exercised. A lockstep run that never reached a state cannot
//! vouch for it.

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use serde::Serialize;

use portlab_board::Command;
use portlab_device::explore::{Action, EdgeCases, Snapshot, Step};
use portlab_device::schema::FieldLayout;

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
#[derive(Debug, Clone)]
pub struct DeviceView {
    /// Instance name.
    pub name: Rc<str>,
    /// Its saved state, shared by the views of the commands that did not
    /// run the device (a state is decoded once, not once per command).
    pub state: Rc<SavedState>,
    /// Line levels (line 0 .. 5; missing lines are low).
    pub lines: [bool; 6],
    /// Serial bytes pending.
    pub pending: usize,
    /// The device's edge cases, when its registry entry lists them.
    pub edge_cases: Option<&'static EdgeCases>,
    /// Whether the run's guest drives this device: coverage records only
    /// those (a `--device pl011` run's RTC and HPET see only `advance`s).
    pub watched: bool,
}

/// A device's saved state: the blob, and where its schema puts each value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedState {
    /// The migration blob.
    pub blob: Vec<u8>,
    /// The places of the payload's values (None when the blob does not
    /// fit the device's schema); shared by every state of the same
    /// length.
    pub slots: Option<Arc<FieldLayout>>,
}

impl SavedState {
    /// The blob's payload (empty if the blob is too short).
    pub fn payload(&self) -> &[u8] {
        portlab_board::state::payload(&self.blob).unwrap_or(&[])
    }
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
    /// Commands by verb, counted by [`verb`] index.
    commands: [u64; VERBS.len()],
    /// Accesses by offset (one map, so an access is one lookup).
    words: BTreeMap<u64, WordStats>,
    sizes: BTreeMap<u32, u64>,
    /// Each field list seen (one per payload length), with how often each
    /// of its fields changed: counted by position, named for the report.
    layouts: Vec<(Arc<FieldLayout>, Vec<u64>)>,
    edge_cases: Option<&'static EdgeCases>,
    edges: BTreeMap<&'static str, u64>,
}

/// What was done at one offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct WordStats {
    reads: u64,
    writes: u64,
    /// Bits written as 1 at least once.
    bits_set: u64,
    /// Bits written as 0 at least once.
    bits_cleared: u64,
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

/// The trace-format verbs, in the order of [`verb`]'s indices.
const VERBS: [&str; 10] = ["write", "read", "rx", "break", "advance", "epoch", "reset", "migrate", "config", "input"];

/// The index in [`VERBS`] of a command's trace-format verb.
fn verb(action: Action) -> usize {
    match action {
        Action::Write { .. } => 0,
        Action::Read { .. } => 1,
        Action::Rx { .. } => 2,
        Action::Break => 3,
        Action::Advance { .. } => 4,
        Action::Epoch => 5,
        Action::Reset => 6,
        Action::Migrate => 7,
        Action::Config => 8,
        Action::Input { .. } => 9,
    }
}

impl DeviceCoverage {
    fn observe(&mut self, o: &Observation<'_>, before: &DeviceView, after: &DeviceView) {
        let action = action(o.command);
        self.commands[verb(action)] += 1;
        match action {
            Action::Write { offset, size, value } => {
                *self.sizes.entry(size).or_default() += 1;
                for (word, v, width) in Self::words(self.edge_cases, offset, size, value) {
                    let stats = self.words.entry(word).or_default();
                    let mask = if width == 8 { u64::MAX } else { (1u64 << (width * 8)) - 1 };
                    stats.writes += 1;
                    stats.bits_set |= v & mask;
                    stats.bits_cleared |= !v & mask;
                }
            }
            Action::Read { offset, size } => {
                *self.sizes.entry(size).or_default() += 1;
                for (word, _, _) in Self::words(self.edge_cases, offset, size, 0) {
                    self.words.entry(word).or_default().reads += 1;
                }
            }
            _ => {}
        }
        let (Some(xs), Some(ys)) = (before.state.slots.as_ref(), after.state.slots.as_ref()) else { return };
        let (x, y) = (xs.slots(), ys.slots());
        // A schema's field names are the same for the same number of
        // fields (an array's length is all that varies).
        let layout = match self.layouts.iter().position(|(slots, _)| slots.slots().len() == x.len()) {
            Some(i) => i,
            None => {
                self.layouts.push((Arc::clone(xs), vec![0; x.len()]));
                self.layouts.len() - 1
            }
        };
        let (p, q) = (before.state.payload(), after.state.payload());
        if !Rc::ptr_eq(&before.state, &after.state) && p != q && x.len() == y.len() {
            let counts = &mut self.layouts[layout].1;
            for (i, (slot, other)) in x.iter().zip(y).enumerate() {
                // Values of at most 8 bytes: compared as integers, not
                // with a memcmp call per field.
                if slot.value(p) != other.value(q) {
                    counts[i] += 1;
                }
            }
        }
        if let Some(edge_cases) = self.edge_cases {
            self.observe_edges(edge_cases, action, o, (before, xs), (after, ys));
        }
    }

    /// The registers an access touches: an 8-byte access whose upper half
    /// is a register of its own (a device of 32-bit registers, such as the
    /// PL011) counts as the two words, each with its half of the value.
    fn words(
        edge_cases: Option<&EdgeCases>,
        offset: u64,
        size: u32,
        value: u64,
    ) -> impl Iterator<Item = (u64, u64, u32)> {
        let split = size == 8 && edge_cases.is_some_and(|e| e.register_name(offset + 4).is_some());
        let words = if split {
            [(offset, value & 0xffff_ffff, 4), (offset + 4, value >> 32, 4)]
        } else {
            [(offset, value, size), (0, 0, 0)]
        };
        words.into_iter().take(if split { 2 } else { 1 })
    }

    fn observe_edges(
        &mut self,
        edge_cases: &EdgeCases,
        action: Action,
        o: &Observation<'_>,
        before: (&DeviceView, &FieldLayout),
        after: (&DeviceView, &FieldLayout),
    ) {
        let step = Step {
            action,
            before: Snapshot {
                layout: before.1,
                payload: before.0.state.payload(),
                lines: &before.0.lines,
                pending: before.0.pending,
            },
            after: Snapshot {
                layout: after.1,
                payload: after.0.state.payload(),
                lines: &after.0.lines,
                pending: after.0.pending,
            },
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
        let word = |offset: &u64| self.words.get(offset).copied().unwrap_or_default();
        let registers = self.edge_cases.map(|edge_cases| {
            edge_cases
                .registers
                .iter()
                .map(|(offset, register)| {
                    let w = word(offset);
                    RegisterSummary {
                        offset: *offset,
                        name: register,
                        reads: w.reads,
                        writes: w.writes,
                        bits_set: w.bits_set,
                        bits_cleared: w.bits_cleared,
                    }
                })
                .collect()
        });
        let other_accesses = self.edge_cases.map(|edge_cases| {
            self.words
                .iter()
                .filter(|(offset, _)| edge_cases.register_name(**offset).is_none())
                .map(|(_, w)| w.reads + w.writes)
                .sum()
        });
        let fields = self.field_changes();
        DeviceSummary {
            device: name.to_string(),
            commands: self.commands_by_verb(),
            offsets_read: self.words.values().filter(|w| w.reads > 0).count(),
            offsets_written: self.words.values().filter(|w| w.writes > 0).count(),
            access_sizes: self.sizes.clone(),
            fields: fields.len(),
            fields_changed: fields.values().filter(|n| **n > 0).count(),
            never_changed: fields.iter().filter(|(_, n)| **n == 0).map(|(f, _)| f.to_string()).collect(),
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

    /// The verbs of the commands it got, with their counts.
    fn commands_by_verb(&self) -> BTreeMap<&'static str, u64> {
        VERBS.iter().zip(self.commands).filter(|(_, n)| *n > 0).map(|(v, n)| (*v, n)).collect()
    }

    /// How often each field (by name) changed, over every field list.
    fn field_changes(&self) -> BTreeMap<Arc<str>, u64> {
        let mut fields = BTreeMap::new();
        for (slots, counts) in &self.layouts {
            for (slot, n) in slots.slots().iter().zip(counts) {
                *fields.entry(Arc::clone(&slot.name)).or_default() += n;
            }
        }
        fields
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
        self.commands.iter_mut().zip(other.commands).for_each(|(n, m)| *n += m);
        for (offset, w) in &other.words {
            let into = self.words.entry(*offset).or_default();
            into.reads += w.reads;
            into.writes += w.writes;
            into.bits_set |= w.bits_set;
            into.bits_cleared |= w.bits_cleared;
        }
        add(&mut self.sizes, &other.sizes);
        for (slots, counts) in &other.layouts {
            match self.layouts.iter_mut().find(|(mine, _)| mine.slots().len() == slots.slots().len()) {
                Some((_, mine)) => mine.iter_mut().zip(counts).for_each(|(m, n)| *m += n),
                None => self.layouts.push((Arc::clone(slots), counts.clone())),
            }
        }
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
            if b.watched && o.command.device().is_none_or(|d| d == &*b.name) {
                let device = match self.devices.get_mut(&*b.name) {
                    Some(device) => device,
                    None => {
                        let fresh = DeviceCoverage { edge_cases: b.edge_cases, ..DeviceCoverage::default() };
                        self.devices.entry(b.name.to_string()).or_insert(fresh)
                    }
                };
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
        let written = |o: &u64| device.words.get(o).is_some_and(|w| w.writes > 0);
        edge_cases.registers.iter().filter(|(o, _)| !written(o)).map(|(_, n)| *n).collect()
    }

    /// How many `verb` commands (`write`, `migrate`, ...) device `name` got.
    pub fn device_commands(&self, name: &str, verb: &str) -> u64 {
        let index = VERBS.iter().position(|v| *v == verb);
        self.devices.get(name).zip(index).map_or(0, |(d, i)| d.commands[i])
    }

    /// The state fields of device `name` that changed at least once, and
    /// every field seen.
    pub fn fields_changed(&self, name: &str) -> (usize, usize) {
        self.devices.get(name).map_or((0, 0), |d| {
            let fields = d.field_changes();
            (fields.values().filter(|n| **n > 0).count(), fields.len())
        })
    }

    /// The distinct offsets of device `name` written.
    pub fn offsets_written(&self, name: &str) -> usize {
        self.devices.get(name).map_or(0, |d| d.words.values().filter(|w| w.writes > 0).count())
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
            .filter(|(_, d)| {
                VERBS.iter().zip(d.commands).any(|(v, n)| n > 0 && !matches!(*v, "advance" | "epoch" | "reset"))
            })
            .map(|(name, d)| d.summary(name))
            .collect()
    }
}
