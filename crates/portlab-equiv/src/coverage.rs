//! The equivalence coverage report: which registers a run read and
//! wrote, which bits of each written register it set and cleared, and
//! which edge cases of the PL011 spec (section 14) it actually exercised.
//! A lockstep run that never reached a state cannot vouch for it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portlab_board::Command;
use portlab_board::state::decode;
use portlab_device::DeviceType;
use portlab_device::schema::Schema;

/// The spec's edge cases that a run can be seen to exercise, with the
/// condition that counts as exercising each.
pub const PL011_EDGE_CASES: [(&str, &str); 24] = [
    ("P2", "serial input left pending with FEN = 0 (one-deep FIFO full)"),
    ("P3", "serial input left pending with FEN = 1 (16-deep FIFO full)"),
    ("P4/P5", "DR read of an empty FIFO (stale slot)"),
    ("P6", "RX interrupt raised by the first byte"),
    ("P6b", "ICR cleared RX with data still queued"),
    ("P7", "TX interrupt line raised by a DR write"),
    ("P8", "DR write with UARTEN or TXE clear"),
    ("P9", "DR write with bits above 7:0"),
    ("P10", "DR write in loopback (TX looped to RX)"),
    ("P11", "serial input dropped in loopback"),
    ("P12", "BRK 0 -> 1 in loopback (break entry queued)"),
    ("P13", "loopback modem reflection set a modem bit"),
    ("P14", "CR write without LBE while modem bits are set"),
    ("P16", "receive FIFO overflowed (read_count > depth)"),
    ("P17", "FEN changed with data queued or RX raised"),
    ("P18", "FEN and BRK changed in one LCR_H write in loopback"),
    ("P19", "IBRD or FBRD written beyond its mask"),
    ("P20", "full-width register written with bits above 15"),
    ("P21", "bad offset accessed"),
    ("P22", "sub-word access"),
    ("P23", "8-byte access"),
    ("P24", "reset with a line high"),
    ("P25", "migration with data queued"),
    ("P26", "migration refused by the loader"),
];

/// The PL031 edge cases (pl031.md section 10) a run can be seen to
/// exercise.
pub const PL031_EDGE_CASES: [(&str, &str); 16] = [
    ("R3", "LR written (count loaded, phase kept)"),
    ("R4", "alarm fired by the timer"),
    ("R5", "alarm fired during an MR write (MR = count)"),
    ("R6", "MR written in the past (deadline ~2^32 s ahead)"),
    ("R7", "alarm fired while masked"),
    ("R9", "ICR written without bit 0 while raised"),
    ("R12", "alarm fired during an LR write"),
    ("R13", "raised interrupt cleared by ICR"),
    ("R14", "counter wrapped past 2^32"),
    ("R15", "write to DR, RIS, MIS or CR ignored"),
    ("R16", "bad offset or misplaced sub-word access"),
    ("R17", "sub-word access"),
    ("R18", "8-byte access"),
    ("R19", "reset with the alarm set"),
    ("R20/R21", "migration (alarm re-armed at load)"),
    ("R22", "epoch beyond 2^32"),
];

/// PL031 state decoded from a blob.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pl031View {
    /// Counter offset.
    pub tick_offset: u32,
    /// Match register.
    pub mr: u32,
    /// Interrupt mask.
    pub im: u32,
    /// Raw interrupt status.
    pub is: u32,
}

impl Pl031View {
    /// Decodes a PL031 blob (None if it is not one).
    pub fn from_blob(blob: &[u8]) -> Option<Pl031View> {
        if blob.get(4..6) != Some(&[0x31, 0x00]) {
            return None;
        }
        let field = |at: usize| blob.get(12 + at..16 + at).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        Some(Pl031View { tick_offset: field(0)?, mr: field(4)?, im: field(12)?, is: field(16)? })
    }

    /// The count at virtual time `now_ns`.
    pub fn count(&self, now_ns: u64) -> u32 {
        self.tick_offset.wrapping_add((now_ns / 1_000_000_000) as u32)
    }
}

/// PL011 state decoded from a blob (the fields coverage looks at).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pl011View {
    /// UARTFR.
    pub flags: u32,
    /// UARTLCR_H.
    pub lcr: u32,
    /// UARTCR.
    pub cr: u32,
    /// UARTIMSC.
    pub int_enabled: u32,
    /// UARTRIS.
    pub int_level: u32,
    /// Entries queued.
    pub read_count: u32,
}

impl Pl011View {
    /// Decodes a PL011 blob (None if it is not one).
    pub fn from_blob(blob: &[u8]) -> Option<Pl011View> {
        if blob.get(4..6) != Some(&[0x11, 0x00]) {
            return None;
        }
        // Fields by name, from the device's own schema.
        let fields = decode(&DeviceType::of::<portlab_pl011::Pl011>().description().schema, blob).ok()?;
        let field = |name: &str| fields.iter().find(|f| f.name == name).map(|f| f.value as u32);
        Some(Pl011View {
            flags: field("flags")?,
            lcr: field("lcr")?,
            cr: field("cr")?,
            int_enabled: field("int_enabled")?,
            int_level: field("int_level")?,
            read_count: field("read_count")?,
        })
    }

    fn depth(&self) -> u32 {
        if self.lcr & 0x10 != 0 { 16 } else { 1 }
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

/// Accumulated coverage of a run.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    reads: BTreeMap<u64, u64>,
    writes: BTreeMap<u64, u64>,
    bits_set: BTreeMap<u64, u32>,
    bits_cleared: BTreeMap<u64, u32>,
    edges: BTreeMap<&'static str, u64>,
    sizes: BTreeMap<u32, u64>,
    rtc_reads: BTreeMap<u64, u64>,
    rtc_writes: BTreeMap<u64, u64>,
    rtc_edges: BTreeMap<&'static str, u64>,
    pl011_seen: bool,
    pl031_seen: bool,
    devices: BTreeMap<String, DeviceCoverage>,
}

/// What any device went through, from its description alone: commands by
/// kind, registers read and written, and how often each state field of its
/// schema changed. Works for every registered device, scaffolded ones too.
#[derive(Debug, Clone, Default)]
pub struct DeviceCoverage {
    commands: BTreeMap<&'static str, u64>,
    reads: BTreeMap<u64, u64>,
    writes: BTreeMap<u64, u64>,
    fields: BTreeMap<String, u64>,
}

impl DeviceCoverage {
    fn observe(&mut self, o: &Observation<'_>, before: &DeviceView, after: &DeviceView) {
        let verb = match o.command {
            Command::Write { offset, .. } => {
                *self.writes.entry(*offset).or_default() += 1;
                "write"
            }
            Command::Read { offset, .. } => {
                *self.reads.entry(*offset).or_default() += 1;
                "read"
            }
            Command::Rx { .. } => "rx",
            Command::Break { .. } => "break",
            Command::Advance { .. } => "advance",
            Command::Epoch { .. } => "epoch",
            Command::Reset { .. } => "reset",
            Command::Migrate { .. } => "migrate",
            Command::Config { .. } => "config",
            Command::Input { .. } => "input",
        };
        *self.commands.entry(verb).or_default() += 1;
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
    }

    /// The report lines for device `name`.
    fn report(&self, name: &str) -> String {
        let mut out = String::new();
        let commands: Vec<String> = self.commands.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "  {name}: commands: {}", commands.join(", "));
        let _ = writeln!(out, "  {name}: offsets read: {}, written: {}", self.reads.len(), self.writes.len());
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
        out
    }
}

const REGISTER_NAMES: [(u64, &str); 14] = [
    (0x000, "DR"),
    (0x004, "RSR/ECR"),
    (0x018, "FR"),
    (0x020, "ILPR"),
    (0x024, "IBRD"),
    (0x028, "FBRD"),
    (0x02c, "LCR_H"),
    (0x030, "CR"),
    (0x034, "IFLS"),
    (0x038, "IMSC"),
    (0x03c, "RIS"),
    (0x040, "MIS"),
    (0x044, "ICR"),
    (0x048, "DMACR"),
];

fn register_name(word: u64) -> Option<&'static str> {
    REGISTER_NAMES.iter().find(|(o, _)| *o == word).map(|(_, n)| *n)
}

impl Coverage {
    fn hit(&mut self, edge: &'static str) {
        *self.edges.entry(edge).or_default() += 1;
    }

    /// Records one command.
    pub fn observe(&mut self, o: &Observation<'_>) {
        for (b, a) in o.before.iter().zip(o.after) {
            if o.command.device().is_none_or(|d| d == b.name) {
                self.devices.entry(b.name.clone()).or_default().observe(o, b, a);
            }
            if let (Some(before), Some(after)) = (Pl011View::from_blob(&b.blob), Pl011View::from_blob(&a.blob)) {
                self.pl011_seen = true;
                let aimed = o.command.device().is_none_or(|d| d == b.name);
                if aimed {
                    self.observe_pl011(o, b, a, before, after);
                }
            }
            if let (Some(before), Some(after)) = (Pl031View::from_blob(&b.blob), Pl031View::from_blob(&a.blob)) {
                self.pl031_seen = true;
                let aimed = o.command.device().is_none_or(|d| d == b.name);
                if aimed {
                    self.observe_pl031(o, before, after);
                }
            }
        }
    }

    fn rtc_hit(&mut self, edge: &'static str) {
        *self.rtc_edges.entry(edge).or_default() += 1;
    }

    fn observe_pl031(&mut self, o: &Observation<'_>, before: Pl031View, after: Pl031View) {
        let fired = before.is == 0 && after.is == 1;
        match o.command {
            Command::Read { offset, size, .. } | Command::Write { offset, size, .. } => {
                let is_write = matches!(o.command, Command::Write { .. });
                let map = if is_write { &mut self.rtc_writes } else { &mut self.rtc_reads };
                *map.entry(*offset).or_default() += 1;
                if *size < 4 {
                    self.rtc_hit("R17");
                }
                if *size == 8 {
                    self.rtc_hit("R18");
                }
                let known = *offset < 0x20 && offset % 4 == 0 || (0xfe0..0x1000).contains(offset);
                if !known {
                    self.rtc_hit("R16");
                }
                if let Command::Write { value, .. } = o.command {
                    let value = *value as u32;
                    match offset {
                        0x004 if fired => self.rtc_hit("R5"),
                        0x004 if after.mr.wrapping_sub(after.count(o.clock.1)) > 1 << 31 => self.rtc_hit("R6"),
                        0x008 => {
                            self.rtc_hit("R3");
                            if fired {
                                self.rtc_hit("R12");
                            }
                        }
                        0x01c if before.is == 1 && value & 1 == 0 => self.rtc_hit("R9"),
                        0x01c if before.is == 1 && after.is == 0 => self.rtc_hit("R13"),
                        0x000 | 0x00c | 0x014 | 0x018 => self.rtc_hit("R15"),
                        _ => {}
                    }
                }
            }
            Command::Advance { .. } => {
                if fired {
                    self.rtc_hit("R4");
                    if after.im == 0 {
                        self.rtc_hit("R7");
                    }
                }
                if after.count(o.clock.1) < before.count(o.clock.0) {
                    self.rtc_hit("R14");
                }
            }
            Command::Reset { .. } if after.mr != after.count(o.clock.1) => self.rtc_hit("R19"),
            Command::Migrate { .. } if !o.failed => self.rtc_hit("R20/R21"),
            _ => {}
        }
        if o.epoch > u64::from(u32::MAX) {
            self.rtc_hit("R22");
        }
    }

    fn observe_pl011(
        &mut self,
        o: &Observation<'_>,
        b: &DeviceView,
        a: &DeviceView,
        before: Pl011View,
        after: Pl011View,
    ) {
        match o.command {
            Command::Read { offset, size, .. } | Command::Write { offset, size, .. } => {
                let is_write = matches!(o.command, Command::Write { .. });
                *self.sizes.entry(*size).or_default() += 1;
                let words: Vec<u64> =
                    if *size == 8 { vec![*offset & !3, (*offset & !3) + 4] } else { vec![*offset & !3] };
                for word in &words {
                    let map = if is_write { &mut self.writes } else { &mut self.reads };
                    *map.entry(*word).or_default() += 1;
                    if register_name(*word).is_none() && !(0xfe0..=0xffc).contains(word) {
                        self.hit("P21");
                    }
                }
                if *size < 4 {
                    self.hit("P22");
                }
                if *size == 8 {
                    self.hit("P23");
                }
                if let Command::Write { value, .. } = o.command {
                    for (i, word) in words.iter().enumerate() {
                        let v = (value >> (32 * i)) as u32;
                        *self.bits_set.entry(*word).or_default() |= v;
                        *self.bits_cleared.entry(*word).or_default() |= !v;
                    }
                    self.observe_write(words[0], *value as u32, before, after);
                } else if words[0] == 0 && before.read_count == 0 {
                    self.hit("P4/P5");
                }
            }
            Command::Rx { .. } => {
                if a.pending > 0 {
                    self.hit(if after.lcr & 0x10 != 0 { "P3" } else { "P2" });
                }
                if before.cr & 0x80 != 0 {
                    self.hit("P11");
                }
            }
            Command::Reset { .. } if b.lines.iter().any(|l| *l) => self.hit("P24"),
            Command::Migrate { .. } if o.failed => self.hit("P26"),
            Command::Migrate { .. } if before.read_count > 0 => self.hit("P25"),
            _ => {}
        }
        if before.int_level & 0x10 == 0 && after.int_level & 0x10 != 0 && after.int_enabled & 0x10 != 0 {
            self.hit("P6");
        }
        if !b.lines[2] && a.lines[2] {
            self.hit("P7");
        }
        if after.read_count > after.depth() {
            self.hit("P16");
        }
        if before.flags & 0x10f == 0 && after.flags & 0x10f != 0 {
            self.hit("P13");
        }
    }

    fn observe_write(&mut self, word: u64, value: u32, before: Pl011View, after: Pl011View) {
        let loopback = before.cr & 0x80 != 0;
        match word {
            0x000 => {
                if before.cr & 0x101 != 0x101 {
                    self.hit("P8");
                }
                if value > 0xff {
                    self.hit("P9");
                }
                if loopback {
                    self.hit("P10");
                }
            }
            0x02c => {
                let changed = before.lcr ^ value;
                if changed & 0x10 != 0 && (before.read_count > 0 || before.int_level & 0x10 != 0) {
                    self.hit("P17");
                }
                if changed & 0x01 != 0 && value & 0x01 != 0 && loopback {
                    self.hit("P12");
                }
                if changed & 0x11 == 0x11 && loopback {
                    self.hit("P18");
                }
                if value > 0xffff {
                    self.hit("P20");
                }
            }
            0x030 if value & 0x80 == 0 && before.flags & 0x107 != 0 => self.hit("P14"),
            0x024 if value > 0xffff => self.hit("P19"),
            0x028 if value > 0x3f => self.hit("P19"),
            0x020 | 0x034 | 0x038 | 0x048 if value > 0xffff => self.hit("P20"),
            0x044 if value & 0x10 != 0 && before.int_level & 0x10 != 0 && after.read_count > 0 => {
                self.hit("P6b");
            }
            _ => {}
        }
    }

    /// The PL031 edge cases never exercised.
    pub fn missed_pl031_edge_cases(&self) -> Vec<&'static str> {
        PL031_EDGE_CASES.iter().filter(|(id, _)| !self.rtc_edges.contains_key(id)).map(|(id, _)| *id).collect()
    }

    /// The spec edge cases that were never exercised.
    pub fn missed_edge_cases(&self) -> Vec<&'static str> {
        PL011_EDGE_CASES.iter().filter(|(id, _)| !self.edges.contains_key(id)).map(|(id, _)| *id).collect()
    }

    /// How many times edge case `id` was exercised.
    pub fn edge_count(&self, id: &str) -> u64 {
        self.edges.get(id).copied().unwrap_or(0)
    }

    /// Registers (by name) never written, among the writable ones.
    pub fn unwritten_registers(&self) -> Vec<&'static str> {
        REGISTER_NAMES
            .iter()
            .filter(|(o, _)| !matches!(o, 0x018 | 0x03c | 0x040))
            .filter(|(o, _)| !self.writes.contains_key(o))
            .map(|(_, n)| *n)
            .collect()
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

    /// The coverage report as text: every device's generic coverage, then
    /// the PL011's and PL031's edge cases.
    pub fn report(&self) -> String {
        let mut out = String::from("equivalence coverage\n");
        // Devices the run addressed (not only advanced the clock around).
        for (name, device) in &self.devices {
            if device.commands.keys().any(|k| !matches!(*k, "advance" | "epoch")) {
                out.push_str(&device.report(name));
            }
        }
        if !self.reads.is_empty() || !self.writes.is_empty() {
            out.push_str(&self.pl011_report());
        }
        if !self.rtc_reads.is_empty() || !self.rtc_writes.is_empty() {
            out.push_str(&self.pl031_report());
        }
        out
    }

    fn pl031_report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "  pl031 registers (reads / writes):");
        for (offset, name) in [
            (0x000, "DR"),
            (0x004, "MR"),
            (0x008, "LR"),
            (0x00c, "CR"),
            (0x010, "IMSC"),
            (0x014, "RIS"),
            (0x018, "MIS"),
            (0x01c, "ICR"),
        ] {
            let r = self.rtc_reads.get(&offset).copied().unwrap_or(0);
            let w = self.rtc_writes.get(&offset).copied().unwrap_or(0);
            let _ = writeln!(out, "    0x{offset:03x} {name:<8} {r:>9} / {w:>9}");
        }
        let hit = PL031_EDGE_CASES.len() - self.missed_pl031_edge_cases().len();
        let _ = writeln!(out, "  pl031 edge cases (pl031.md section 10) exercised: {hit}/{}", PL031_EDGE_CASES.len());
        for (id, what) in PL031_EDGE_CASES {
            let n = self.rtc_edges.get(id).copied().unwrap_or(0);
            let mark = if n > 0 { "x" } else { " " };
            let _ = writeln!(out, "    [{mark}] {id:<7} {n:>8}  {what}");
        }
        out
    }

    fn pl011_report(&self) -> String {
        let mut out = String::new();
        let _ =
            writeln!(out, "  pl011 registers (reads / writes / bits set at least once / bits cleared at least once):");
        for (word, name) in REGISTER_NAMES {
            let r = self.reads.get(&word).copied().unwrap_or(0);
            let w = self.writes.get(&word).copied().unwrap_or(0);
            let set = self.bits_set.get(&word).copied().unwrap_or(0);
            let cleared = self.bits_cleared.get(&word).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "    0x{word:03x} {name:<8} {r:>9} / {w:>9}   set {:>2}/32 (0x{set:08x})   cleared {:>2}/32",
                set.count_ones(),
                cleared.count_ones()
            );
        }
        let ids: u64 = (0xfe0..=0xffc).step_by(4).map(|w| self.reads.get(&w).copied().unwrap_or(0)).sum();
        let other: u64 = self
            .reads
            .iter()
            .chain(&self.writes)
            .filter(|(w, _)| register_name(**w).is_none() && !(0xfe0..=0xffc).contains(*w))
            .map(|(_, n)| n)
            .sum();
        let _ = writeln!(out, "    ID registers read {ids} times; unmapped offsets accessed {other} times");
        let sizes: Vec<String> = self.sizes.iter().map(|(s, n)| format!("{s}-byte {n}")).collect();
        let _ = writeln!(out, "  access sizes: {}", sizes.join(", "));
        let hit = PL011_EDGE_CASES.len() - self.missed_edge_cases().len();
        let _ = writeln!(out, "  pl011 edge cases (pl011.md section 14) exercised: {hit}/{}", PL011_EDGE_CASES.len());
        for (id, what) in PL011_EDGE_CASES {
            let n = self.edge_count(id);
            let mark = if n > 0 { "x" } else { " " };
            let _ = writeln!(out, "    [{mark}] {id:<6} {n:>8}  {what}");
        }
        out
    }
}
