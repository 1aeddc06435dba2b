//! What a device hands the equivalence tools beside its implementations:
//! a deep-state guest and the edge cases of its spec.
//!
//! The equivalence tools (`portlab-equiv`) drive any device from what it
//! declares: random accesses over its region, its input lines, clock
//! advances aimed at its armed deadlines. That finds a lot, but a random
//! guest rarely builds the states a spec's edge cases are about (a PL011
//! receive FIFO overflowing in loopback, an HPET comparator in periodic
//! mode reached to the nanosecond). Only the device knows what those are,
//! so two optional plug-ins live in the device's own crate, and the
//! registry entry hands them to the tools:
//!
//! - a **guest chunk** (`fn(seed) -> Vec<GuestStep>`): driver-like
//!   behaviour that reaches deep states, as trace commands in plain data
//!   ([`GuestStep`], each with its trace line), so the device crate needs
//!   nothing of the tools; [`Rng`] makes it replayable;
//! - its spec's **edge cases** ([`EdgeCases`]): the list, and a function
//!   that sees one [`Step`] of a run (the command, the device's decoded
//!   state before and after, its lines) and names the cases it exercised.
//!   The coverage report then says which edge cases a run actually reached:
//!   a lockstep run that never reached a state cannot vouch for it.
//!
//! Nothing here is needed to host a device; it is test tooling that must
//! not depend on the tools themselves.

use crate::schema::FieldLayout;
#[cfg(test)]
use crate::schema::FieldSlot;

/// SplitMix64: a small deterministic generator. A guest chunk built from a
/// seed is the same every time, so a finding replays.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True once in `one_in` times.
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, chosen in proportion to them.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut roll = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// Any combination of `bits` (each set with even odds), or once in
    /// eight times any 32-bit value at all.
    pub fn bits(&mut self, bits: &[u32]) -> u32 {
        if self.chance(8) {
            return self.next_u64() as u32;
        }
        bits.iter().filter(|_| self.chance(2)).fold(0, |acc, b| acc | b)
    }
}

/// One step of a guest chunk: a trace command for the plug-in's device
/// instance (or, for [`GuestStep::ResetBoard`] and [`GuestStep::Advance`],
/// the board). Plain data, so the device crate needs nothing of the
/// tools and the tools need not format and parse text a million times a
/// second; [`GuestStep::line`] is its trace-format line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestStep {
    /// `write DEV OFFSET VALUE SIZE`.
    Write {
        /// Offset in the device's region.
        offset: u64,
        /// Value written (fits the size).
        value: u64,
        /// Access size in bytes.
        size: u32,
    },
    /// `read DEV OFFSET SIZE`.
    Read {
        /// Offset in the device's region.
        offset: u64,
        /// Access size in bytes.
        size: u32,
    },
    /// `rx DEV hex:...`.
    Rx(Vec<u8>),
    /// `break DEV`.
    Break,
    /// `reset DEV`.
    Reset,
    /// `reset` (every device).
    ResetBoard,
    /// `advance NS`.
    Advance(u64),
    /// `migrate DEV [c|rust]`.
    Migrate(MigrateTo),
}

/// Where a [`GuestStep::Migrate`] moves the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateTo {
    /// The other implementation.
    Other,
    /// The C implementation.
    C,
    /// The Rust implementation.
    Rust,
}

impl GuestStep {
    /// The step as a trace-format line for instance `dev`.
    pub fn line(&self, dev: &str) -> String {
        match self {
            GuestStep::Write { offset, value, size } => format!("write {dev} 0x{offset:03x} 0x{value:x} {size}"),
            GuestStep::Read { offset, size } => format!("read {dev} 0x{offset:03x} {size}"),
            GuestStep::Rx(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("rx {dev} hex:{hex}")
            }
            GuestStep::Break => format!("break {dev}"),
            GuestStep::Reset => format!("reset {dev}"),
            GuestStep::ResetBoard => "reset".to_string(),
            GuestStep::Advance(ns) => format!("advance {ns}"),
            GuestStep::Migrate(MigrateTo::Other) => format!("migrate {dev}"),
            GuestStep::Migrate(MigrateTo::C) => format!("migrate {dev} c"),
            GuestStep::Migrate(MigrateTo::Rust) => format!("migrate {dev} rust"),
        }
    }
}

/// The steps a guest plug-in builds, in order.
#[derive(Debug, Default)]
pub struct GuestSteps {
    steps: Vec<GuestStep>,
}

impl GuestSteps {
    /// No steps yet.
    pub fn new() -> GuestSteps {
        GuestSteps::default()
    }

    /// `write DEV OFFSET VALUE SIZE`.
    pub fn write(&mut self, offset: u64, value: u64, size: u32) {
        self.steps.push(GuestStep::Write { offset, value, size });
    }

    /// `read DEV OFFSET SIZE`.
    pub fn read(&mut self, offset: u64, size: u32) {
        self.steps.push(GuestStep::Read { offset, size });
    }

    /// `rx DEV hex:...` with 1 to `max` random bytes.
    pub fn rx(&mut self, rng: &mut Rng, max: u64) {
        let bytes = (0..1 + rng.below(max)).map(|_| rng.next_u64() as u8).collect();
        self.steps.push(GuestStep::Rx(bytes));
    }

    /// `break DEV`.
    pub fn brk(&mut self) {
        self.steps.push(GuestStep::Break);
    }

    /// `reset DEV`.
    pub fn reset(&mut self) {
        self.steps.push(GuestStep::Reset);
    }

    /// `reset`: every device of the board.
    pub fn reset_board(&mut self) {
        self.steps.push(GuestStep::ResetBoard);
    }

    /// `advance NS`.
    pub fn advance(&mut self, ns: u64) {
        self.steps.push(GuestStep::Advance(ns));
    }

    /// `migrate DEV` to the other implementation, or now and then
    /// explicitly to C or to Rust (each once in `one_in` times).
    pub fn migrate(&mut self, rng: &mut Rng, one_in: u64) {
        let to = match rng.below(one_in) {
            0 => MigrateTo::C,
            1 => MigrateTo::Rust,
            _ => MigrateTo::Other,
        };
        self.steps.push(GuestStep::Migrate(to));
    }

    /// One access at register word `word` of a device of 32-bit registers:
    /// mostly 4 bytes, else 1 or 2 bytes at any lane of the word, or 8
    /// bytes at the 8-aligned offset; half reads, half writes of
    /// `value(rng, word)` masked to the size.
    pub fn word_access(&mut self, rng: &mut Rng, word: u64, value: impl FnOnce(&mut Rng, u64) -> u32) {
        let size = [4u32, 1, 2, 8][rng.weighted(&[12, 2, 2, 2])];
        let lane = rng.below(4);
        let offset = match size {
            8 => word & !7,
            1 => word + lane,
            2 => word + (lane & 2),
            _ => word,
        };
        if rng.chance(2) {
            let v = u64::from(value(rng, offset & !3));
            let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
            self.write(offset, v & mask, size);
        } else {
            self.read(offset, size);
        }
    }

    /// The steps.
    pub fn into_steps(self) -> Vec<GuestStep> {
        self.steps
    }
}

/// A device's deep-state guest: for a seed, one chunk of driver-like
/// behaviour (the same seed, the same steps).
pub type GuestChunk = fn(seed: u64) -> Vec<GuestStep>;

/// What one command of a run was, as an edge-case plug-in sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An MMIO read.
    Read {
        /// Offset in the device's region.
        offset: u64,
        /// Access size in bytes.
        size: u32,
    },
    /// An MMIO write.
    Write {
        /// Offset in the device's region.
        offset: u64,
        /// Access size in bytes.
        size: u32,
        /// The value written.
        value: u64,
    },
    /// Serial input of `len` bytes.
    Rx {
        /// How many bytes arrived.
        len: usize,
    },
    /// A break on the serial line.
    Break,
    /// The clock moved by `ns`.
    Advance {
        /// Nanoseconds.
        ns: u64,
    },
    /// The board's wall-clock epoch was set.
    Epoch,
    /// A device reset.
    Reset,
    /// Save, destroy, create and load (a migration).
    Migrate,
    /// Creation properties given.
    Config,
    /// An input line driven.
    Input {
        /// Line number.
        line: u32,
        /// New level.
        level: bool,
    },
}

/// A device as a plug-in sees it on one side of a step.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// Where its schema puts each value in `payload`.
    pub layout: &'a FieldLayout,
    /// Its migration payload, read by field with [`Snapshot::field`].
    pub payload: &'a [u8],
    /// Its output line levels (line 0 first).
    pub lines: &'a [bool],
    /// Serial bytes the board holds for it, not yet accepted.
    pub pending: usize,
}

impl Snapshot<'_> {
    /// The value of field `name` (`cr`, `read_fifo[3]`, `timer[1].cmp`);
    /// 0 when the schema has no such field.
    pub fn field(&self, name: &str) -> u64 {
        self.layout.find(name).map_or(0, |f| f.value(self.payload))
    }

    /// The level of output line `line` (low when it does not exist).
    pub fn line(&self, line: usize) -> bool {
        self.lines.get(line).copied().unwrap_or(false)
    }
}

/// One command of a run, aimed at the device, with the device before and
/// after it.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The command.
    pub action: Action,
    /// The device before.
    pub before: Snapshot<'a>,
    /// The device after.
    pub after: Snapshot<'a>,
    /// Board time before and after, in ns.
    pub clock: (u64, u64),
    /// The board's epoch (seconds).
    pub epoch: u64,
    /// Whether the command failed (the same way on both sides).
    pub failed: bool,
}

/// The edge cases of a device's spec that a run can be seen to exercise.
#[derive(Debug, Clone, Copy)]
pub struct EdgeCases {
    /// Where the cases are listed (`pl011.md section 14`).
    pub source: &'static str,
    /// Each case's id and the condition that counts as exercising it.
    pub cases: &'static [(&'static str, &'static str)],
    /// The device's registers by offset, for the coverage report.
    pub registers: &'static [(u64, &'static str)],
    /// Calls `hit` with the id of every case `step` exercised.
    pub observe: fn(step: &Step<'_>, hit: &mut dyn FnMut(&'static str)),
}

impl EdgeCases {
    /// The name of the register at `offset`, if it is one.
    pub fn register_name(&self, offset: u64) -> Option<&'static str> {
        self.registers.iter().find(|(o, _)| *o == offset).map(|(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_spread() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let xs: Vec<u64> = (0..64).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..64).map(|_| b.next_u64()).collect::<Vec<_>>());
        let mut r = Rng(1);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[r.weighted(&[1, 2, 0])] += 1;
        }
        assert_eq!(seen[2], 0, "a zero weight is never chosen");
        assert!(seen[1] > seen[0] && seen[0] > 700, "{seen:?}");
        assert!((0..100).all(|_| r.below(5) < 5));
    }

    #[test]
    fn a_snapshot_reads_fields_by_name() {
        let slot = |name: &str, width, offset| FieldSlot { name: name.into(), width, offset };
        let layout = FieldLayout::new(vec![
            slot("cr", 4, 0),
            slot("lcr", 2, 4),
            slot("beyond", 4, 6),
            // Two names with the same length, first and last two bytes.
            slot("timer[1].cmp", 1, 1),
            slot("timer[2].cmp", 1, 4),
        ]);
        let payload = [0x01, 0x03, 0, 0, 0x70, 0x00, 0xff];
        let s = Snapshot { layout: &layout, payload: &payload, lines: &[false, true], pending: 0 };
        assert_eq!((s.field("cr"), s.field("lcr"), s.field("nope")), (0x301, 0x70, 0));
        assert_eq!((s.field("timer[1].cmp"), s.field("timer[2].cmp")), (0x03, 0x70));
        assert_eq!((s.field("timer[3].cmp"), s.field("c"), s.field("")), (0, 0, 0));
        // A payload too short for a slot reads 0.
        assert_eq!(s.field("beyond"), 0);
        assert!(s.line(1) && !s.line(0) && !s.line(9));
    }
}
