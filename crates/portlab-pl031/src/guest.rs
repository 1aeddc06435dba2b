//! The PL031's plug-ins for the equivalence tools: a deep-state guest and
//! the spec's edge cases (pl031.md section 10).
//!
//! A random value in MR is almost never the count or one second ahead of
//! it, so a generic guest rarely sees the alarm fire, fire during a write,
//! or fire while masked. This guest writes counter values near the count
//! (the board's default epoch, which the count starts from), sets alarms
//! the way a driver does (unmask, set MR, let time pass), and advances by
//! sub-second steps, whole seconds and long jumps. [`EDGE_CASES`] lets the
//! coverage report say which of section 10's cases a run reached.

use portlab_device::explore::{Action, EdgeCases, GuestStep, GuestSteps, Rng, Snapshot, Step};
use portlab_device::sys;

const NS_PER_SECOND: u64 = sys::PL031_NS_PER_SECOND as u64;
const DR: u64 = sys::PL031_DR as u64;
const MR: u64 = sys::PL031_MR as u64;
const LR: u64 = sys::PL031_LR as u64;
const CR: u64 = sys::PL031_CR as u64;
const IMSC: u64 = sys::PL031_IMSC as u64;
const RIS: u64 = sys::PL031_RIS as u64;
const MIS: u64 = sys::PL031_MIS as u64;
const ICR: u64 = sys::PL031_ICR as u64;
const ID_FIRST: u64 = sys::PL031_PERIPH_ID0 as u64;
const ID_END: u64 = sys::PL031_ID_END as u64;
const MATCH: u64 = sys::PL031_INT_MATCH as u64;

/// The registers by offset, named as in the spec.
pub const REGISTERS: [(u64, &str); 8] =
    [(DR, "DR"), (MR, "MR"), (LR, "LR"), (CR, "CR"), (IMSC, "IMSC"), (RIS, "RIS"), (MIS, "MIS"), (ICR, "ICR")];

/// The board's default epoch, which the count starts from.
const EPOCH: u32 = 1_700_000_000;

/// A value for the register at `offset`: counter values near the count
/// (so MR matches, lies just ahead or just behind), wrap-around values,
/// and anything.
fn value_for(rng: &mut Rng, offset: u64) -> u32 {
    match offset {
        MR | LR => match rng.weighted(&[5, 1, 1, 1, 2]) {
            0 => EPOCH.wrapping_add(rng.below(15) as u32).wrapping_sub(3),
            1 => u32::MAX,
            2 => 0,
            3 => rng.below(16) as u32,
            _ => rng.next_u64() as u32,
        },
        IMSC | ICR if !rng.chance(5) => rng.below(2) as u32,
        _ => rng.next_u64() as u32,
    }
}

/// One MMIO access: mostly registers, sometimes the ID block and
/// unmapped offsets, at any size.
fn access(rng: &mut Rng, lines: &mut GuestSteps) {
    let word = match rng.weighted(&[12, 2, 2]) {
        0 => rng.pick(&REGISTERS).0,
        1 => ID_FIRST + 4 * rng.below(8),
        _ => rng.pick(&[0x020, 0x024, 0x080, 0x08c, 0xfdc]),
    };
    lines.word_access(rng, word, value_for);
}

/// Clock advances: sub-second steps (the phase of the second matters),
/// whole seconds, and long jumps.
fn advance(rng: &mut Rng) -> u64 {
    match rng.weighted(&[3, 2, 1]) {
        0 => rng.below(NS_PER_SECOND),
        1 => (1 + rng.below(5)) * NS_PER_SECOND,
        _ => rng.below(20 * NS_PER_SECOND),
    }
}

/// One chunk of guest behaviour against the PL031: the registry's guest
/// plug-in.
pub fn chunk(seed: u64) -> Vec<GuestStep> {
    let mut rng = Rng(seed);
    let mut lines = GuestSteps::new();
    match rng.weighted(&[30, 10, 8, 3, 2]) {
        0 => access(&mut rng, &mut lines),
        1 => lines.advance(advance(&mut rng)),
        2 => {
            // An alarm set up the way a driver does it.
            lines.write(IMSC, rng.below(2), 4);
            lines.write(MR, u64::from(value_for(&mut rng, MR)), 4);
            lines.advance(advance(&mut rng));
        }
        3 => lines.migrate(&mut rng, 3),
        _ => lines.reset(),
    }
    lines.into_steps()
}

/// The PL031 edge cases (pl031.md section 10) a run can be seen to
/// exercise.
pub const EDGE_CASE_LIST: [(&str, &str); 16] = [
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

/// The registry's edge-case plug-in.
pub const EDGE_CASES: EdgeCases =
    EdgeCases { source: "pl031.md section 10", cases: &EDGE_CASE_LIST, registers: &REGISTERS, observe };

/// The state fields the conditions look at.
#[derive(Clone, Copy)]
struct View {
    tick_offset: u32,
    mr: u32,
    im: u64,
    is: u64,
}

impl View {
    fn of(s: &Snapshot<'_>) -> View {
        View {
            tick_offset: s.field("tick_offset") as u32,
            mr: s.field("mr") as u32,
            im: s.field("im"),
            is: s.field("is"),
        }
    }

    fn count(&self, now_ns: u64) -> u32 {
        self.tick_offset.wrapping_add((now_ns / NS_PER_SECOND) as u32)
    }
}

fn observe(step: &Step<'_>, hit: &mut dyn FnMut(&'static str)) {
    let (before, after) = (View::of(&step.before), View::of(&step.after));
    let fired = before.is == 0 && after.is == MATCH;
    match step.action {
        Action::Read { offset, size } | Action::Write { offset, size, .. } => {
            if size < 4 {
                hit("R17");
            }
            if size == 8 {
                hit("R18");
            }
            let known = offset < 0x20 && offset % 4 == 0 || (ID_FIRST..ID_END).contains(&offset);
            if !known {
                hit("R16");
            }
            if let Action::Write { value, .. } = step.action {
                match offset {
                    MR if fired => hit("R5"),
                    MR if after.mr.wrapping_sub(after.count(step.clock.1)) > 1 << 31 => hit("R6"),
                    LR => {
                        hit("R3");
                        if fired {
                            hit("R12");
                        }
                    }
                    ICR if before.is == MATCH && value & MATCH == 0 => hit("R9"),
                    ICR if before.is == MATCH && after.is == 0 => hit("R13"),
                    DR | CR | RIS | MIS => hit("R15"),
                    _ => {}
                }
            }
        }
        Action::Advance { .. } => {
            if fired {
                hit("R4");
                if after.im == 0 {
                    hit("R7");
                }
            }
            if after.count(step.clock.1) < before.count(step.clock.0) {
                hit("R14");
            }
        }
        Action::Reset if after.mr != after.count(step.clock.1) => hit("R19"),
        Action::Migrate if !step.failed => hit("R20/R21"),
        _ => {}
    }
    if step.epoch > u64::from(u32::MAX) {
        hit("R22");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_deterministic_and_set_alarms() {
        let mut alarms = 0;
        for seed in 0..1000 {
            let steps = chunk(seed);
            assert_eq!(steps, chunk(seed));
            let lines: Vec<String> = steps.iter().map(|s| s.line("pl031")).collect();
            alarms += usize::from(lines.len() == 3 && lines[1].starts_with("write pl031 0x004"));
        }
        assert!(alarms > 50, "{alarms} alarms in 1000 chunks");
    }
}
