//! The PL011's plug-ins for the equivalence tools: a deep-state guest and
//! the spec's edge cases (pl011.md section 14).
//!
//! The generic random guest (`portlab-equiv`) writes random values over
//! the whole 4 KiB region; it seldom turns loopback on and then fills the
//! receive FIFO past its depth, or toggles FEN with data queued. This
//! guest does what a driver (or a hostile guest) does on purpose: it picks
//! registers, biases values toward the bits that matter in each, and runs
//! short sequences that reach the states of section 14. [`EDGE_CASES`]
//! then lets the coverage report say which of them a run reached. Both
//! live here, beside the device, because only the device knows what its
//! deep states are; the registry hands them to the tools.

use portlab_device::explore::{Action, EdgeCases, GuestStep, GuestSteps, Rng, Snapshot, Step};
use portlab_device::sys;

/// The registers by offset, named as in the spec.
pub const REGISTERS: [(u64, &str); 14] = [
    (sys::PL011_DR as u64, "DR"),
    (sys::PL011_RSR as u64, "RSR/ECR"),
    (sys::PL011_FR as u64, "FR"),
    (sys::PL011_ILPR as u64, "ILPR"),
    (sys::PL011_IBRD as u64, "IBRD"),
    (sys::PL011_FBRD as u64, "FBRD"),
    (sys::PL011_LCR_H as u64, "LCR_H"),
    (sys::PL011_CR as u64, "CR"),
    (sys::PL011_IFLS as u64, "IFLS"),
    (sys::PL011_IMSC as u64, "IMSC"),
    (sys::PL011_RIS as u64, "RIS"),
    (sys::PL011_MIS as u64, "MIS"),
    (sys::PL011_ICR as u64, "ICR"),
    (sys::PL011_DMACR as u64, "DMACR"),
];

/// Unmapped offsets worth hitting (reserved words, the TRM's test
/// registers).
const UNMAPPED: [u64; 10] = [0x008, 0x00c, 0x010, 0x014, 0x01c, 0x04c, 0x080, 0x084, 0x08c, 0xfdc];

const DR: u64 = sys::PL011_DR as u64;
const RSR: u64 = sys::PL011_RSR as u64;
const FR: u64 = sys::PL011_FR as u64;
const IBRD: u64 = sys::PL011_IBRD as u64;
const FBRD: u64 = sys::PL011_FBRD as u64;
const LCR_H: u64 = sys::PL011_LCR_H as u64;
const CR: u64 = sys::PL011_CR as u64;
const IMSC: u64 = sys::PL011_IMSC as u64;
const ICR: u64 = sys::PL011_ICR as u64;
const DMACR: u64 = sys::PL011_DMACR as u64;
const ID_FIRST: u64 = sys::PL011_PERIPH_ID0 as u64;
const ID_LAST: u64 = sys::PL011_PCELL_ID3 as u64;

const CR_BITS: &[u32] = &[
    sys::PL011_CR_UARTEN,
    sys::PL011_CR_LBE,
    sys::PL011_CR_TXE,
    sys::PL011_CR_RXE,
    sys::PL011_CR_DTR,
    sys::PL011_CR_RTS,
    sys::PL011_CR_OUT1,
    sys::PL011_CR_OUT2,
    sys::PL011_CR_RTSEN,
    sys::PL011_CR_CTSEN,
];
const MODEM_OUT_BITS: &[u32] = &[sys::PL011_CR_DTR, sys::PL011_CR_RTS, sys::PL011_CR_OUT1, sys::PL011_CR_OUT2];
const LCR_BITS: &[u32] = &[
    sys::PL011_LCR_BRK,
    sys::PL011_LCR_PEN,
    sys::PL011_LCR_FEN,
    0x20, // WLEN's two bits, each on its own
    0x40,
    sys::PL011_LCR_SPS,
];
const INT_BITS: &[u32] = &[
    sys::PL011_INT_RI,
    sys::PL011_INT_CTS,
    sys::PL011_INT_DCD,
    sys::PL011_INT_DSR,
    sys::PL011_INT_RX,
    sys::PL011_INT_TX,
    sys::PL011_INT_RT,
    sys::PL011_INT_FE,
    sys::PL011_INT_PE,
    sys::PL011_INT_BE,
    sys::PL011_INT_OE,
];
const DMA_BITS: &[u32] = &[sys::PL011_DMACR_RXDMAE, sys::PL011_DMACR_TXDMAE, sys::PL011_DMACR_DMAONERR];

/// CR for loopback with the UART, TX and RX enabled.
const LOOPBACK_ON: u64 = (sys::PL011_CR_UARTEN | sys::PL011_CR_LBE | sys::PL011_CR_TXE | sys::PL011_CR_RXE) as u64;

/// A value to write at word offset `reg`, biased toward the bits that
/// matter there, and toward values beyond IBRD/FBRD's masks.
fn value_for(rng: &mut Rng, reg: u64) -> u32 {
    match reg {
        DR if rng.chance(5) => rng.next_u64() as u32,
        DR => u32::from(rng.next_u64() as u8),
        CR => rng.bits(CR_BITS),
        LCR_H => rng.bits(LCR_BITS),
        IMSC | ICR => match rng.below(6) {
            0 => u32::MAX,
            1 => sys::PL011_INT_MASK,
            _ => rng.bits(INT_BITS),
        },
        DMACR => rng.bits(DMA_BITS),
        IBRD => match rng.below(3) {
            0 => 0x1_2345,
            1 => rng.next_u64() as u32,
            _ => rng.below(0x1_0000) as u32,
        },
        FBRD => match rng.below(3) {
            0 => 0xff,
            1 => rng.next_u64() as u32,
            _ => rng.below(0x40) as u32,
        },
        _ => rng.next_u64() as u32,
    }
}

/// One MMIO access: mostly registers, sometimes the ID block and unmapped
/// offsets, at any size.
fn access(rng: &mut Rng, lines: &mut GuestSteps) {
    let word = match rng.weighted(&[14, 2, 2, 1]) {
        0 => rng.pick(&REGISTERS).0,
        1 => ID_FIRST + 4 * rng.below(8),
        2 => rng.pick(&UNMAPPED),
        _ => 4 * (0x014 + rng.below(0x3f7 - 0x014)),
    };
    lines.word_access(rng, word, value_for);
}

/// One chunk of guest behaviour against the PL011: the registry's guest
/// plug-in.
pub fn chunk(seed: u64) -> Vec<GuestStep> {
    let mut rng = Rng(seed);
    let mut lines = GuestSteps::new();
    match rng.weighted(&[40, 8, 6, 2, 2, 2, 4, 3, 3, 3, 3]) {
        0 => access(&mut rng, &mut lines),
        1 => lines.rx(&mut rng, 40),
        2 => {
            // A driver draining the receive FIFO.
            for _ in 0..1 + rng.below(20) {
                lines.read(DR, 4);
                lines.read(FR, 4);
            }
        }
        3 => lines.brk(),
        4 if rng.chance(2) => lines.reset(),
        4 => lines.reset_board(),
        5 => lines.advance(rng.below(2_000_000_000)),
        6 => lines.migrate(&mut rng, 5),
        7 => {
            // Loopback with FIFOs on or off, then enough DR writes to fill
            // and overflow the receive FIFO.
            let modem = u64::from(rng.bits(MODEM_OUT_BITS) & 0x3c00);
            let fen = rng.chance(2);
            lines.write(CR, LOOPBACK_ON | modem, 4);
            lines.write(LCR_H, if fen { 0x70 } else { 0x60 }, 4);
            for _ in 0..1 + rng.below(20) {
                lines.write(DR, u64::from(rng.next_u64() as u8), 4);
            }
        }
        8 => {
            // Loopback with interrupts unmasked: modem reflection raises lines.
            let imsc = u64::from(rng.bits(INT_BITS));
            let cr = u64::from(rng.bits(CR_BITS) | sys::PL011_CR_LBE);
            lines.write(IMSC, imsc, 4);
            lines.write(CR, cr, 4);
            lines.write(DR, 0x55, 4);
        }
        9 => {
            // FEN toggled (with or without BRK) while data is queued.
            if rng.chance(2) {
                lines.write(CR, LOOPBACK_ON, 4);
            }
            lines.rx(&mut rng, 40);
            lines.write(LCR_H, rng.pick(&[0x00, 0x10, 0x01, 0x11, 0x70]), 4);
            lines.read(FR, 4);
            lines.read(DR, 4);
        }
        _ => {
            // Breaks from the backend and BRK toggles in loopback.
            if rng.chance(2) {
                lines.write(CR, LOOPBACK_ON, 4);
            }
            let lcr = if rng.chance(2) { u64::from(sys::PL011_LCR_FEN) } else { 0 };
            lines.brk();
            lines.write(LCR_H, lcr | u64::from(sys::PL011_LCR_BRK), 4);
            lines.write(LCR_H, lcr, 4);
            lines.read(DR, 4);
            lines.read(RSR, 4);
        }
    }
    lines.into_steps()
}

/// The spec's edge cases that a run can be seen to exercise, with the
/// condition that counts as exercising each.
pub const EDGE_CASE_LIST: [(&str, &str); 24] = [
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

/// The registry's edge-case plug-in.
pub const EDGE_CASES: EdgeCases =
    EdgeCases { source: "pl011.md section 14", cases: &EDGE_CASE_LIST, registers: &REGISTERS, observe };

/// The state fields the conditions look at.
#[derive(Clone, Copy)]
struct View {
    flags: u32,
    lcr: u32,
    cr: u32,
    int_enabled: u32,
    int_level: u32,
    read_count: u32,
}

impl View {
    fn of(s: &Snapshot<'_>) -> View {
        let f = |name| s.field(name) as u32;
        View {
            flags: f("flags"),
            lcr: f("lcr"),
            cr: f("cr"),
            int_enabled: f("int_enabled"),
            int_level: f("int_level"),
            read_count: f("read_count"),
        }
    }

    fn depth(&self) -> u32 {
        if self.lcr & sys::PL011_LCR_FEN != 0 { sys::PL011_FIFO_SLOTS } else { 1 }
    }

    fn loopback(&self) -> bool {
        self.cr & sys::PL011_CR_LBE != 0
    }
}

const RX: u32 = sys::PL011_INT_RX;
/// FR's modem status bits (CTS, DSR, DCD, RI), which loopback reflects.
const FR_MODEM: u32 = sys::PL011_FR_CTS | sys::PL011_FR_DSR | sys::PL011_FR_DCD | sys::PL011_FR_RI;

fn observe(step: &Step<'_>, hit: &mut dyn FnMut(&'static str)) {
    let (before, after) = (View::of(&step.before), View::of(&step.after));
    match step.action {
        Action::Read { offset, size } | Action::Write { offset, size, .. } => {
            let first = offset & !3;
            let words: &[u64] = if size == 8 { &[first, first + 4] } else { &[first] };
            if words.iter().any(|w| REGISTERS.iter().all(|(o, _)| o != w) && !(ID_FIRST..=ID_LAST).contains(w)) {
                hit("P21");
            }
            if size < 4 {
                hit("P22");
            }
            if size == 8 {
                hit("P23");
            }
            match step.action {
                Action::Write { value, .. } => observe_write(first, value as u32, before, after, hit),
                _ if first == DR && before.read_count == 0 => hit("P4/P5"),
                _ => {}
            }
        }
        Action::Rx { .. } => {
            if step.after.pending > 0 {
                hit(if after.lcr & sys::PL011_LCR_FEN != 0 { "P3" } else { "P2" });
            }
            if before.loopback() {
                hit("P11");
            }
        }
        Action::Reset if step.before.lines.iter().any(|l| *l) => hit("P24"),
        Action::Migrate if step.failed => hit("P26"),
        Action::Migrate if before.read_count > 0 => hit("P25"),
        _ => {}
    }
    if before.int_level & RX == 0 && after.int_level & RX != 0 && after.int_enabled & RX != 0 {
        hit("P6");
    }
    let tx_line = sys::PL011_IRQ_TXINTR as usize;
    if !step.before.line(tx_line) && step.after.line(tx_line) {
        hit("P7");
    }
    if after.read_count > after.depth() {
        hit("P16");
    }
    let reflected = FR_MODEM | sys::PL011_FR_BUSY;
    if before.flags & reflected == 0 && after.flags & reflected != 0 {
        hit("P13");
    }
}

fn observe_write(word: u64, value: u32, before: View, after: View, hit: &mut dyn FnMut(&'static str)) {
    let loopback = before.loopback();
    let enabled = sys::PL011_CR_UARTEN | sys::PL011_CR_TXE;
    match word {
        DR => {
            if before.cr & enabled != enabled {
                hit("P8");
            }
            if value > 0xff {
                hit("P9");
            }
            if loopback {
                hit("P10");
            }
        }
        LCR_H => {
            let changed = before.lcr ^ value;
            let (fen, brk) = (sys::PL011_LCR_FEN, sys::PL011_LCR_BRK);
            if changed & fen != 0 && (before.read_count > 0 || before.int_level & RX != 0) {
                hit("P17");
            }
            if changed & brk != 0 && value & brk != 0 && loopback {
                hit("P12");
            }
            if changed & (fen | brk) == fen | brk && loopback {
                hit("P18");
            }
            if value > 0xffff {
                hit("P20");
            }
        }
        CR if value & sys::PL011_CR_LBE == 0 && before.flags & FR_MODEM != 0 => hit("P14"),
        IBRD if value > sys::PL011_IBRD_MASK => hit("P19"),
        FBRD if value > sys::PL011_FBRD_MASK => hit("P19"),
        w if [sys::PL011_ILPR, sys::PL011_IFLS, sys::PL011_IMSC, sys::PL011_DMACR].contains(&(w as u32))
            && value > 0xffff =>
        {
            hit("P20")
        }
        ICR if value & RX != 0 && before.int_level & RX != 0 && after.read_count > 0 => hit("P6b"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_deterministic_and_use_every_kind_of_command() {
        let mut verbs = std::collections::BTreeSet::new();
        for seed in 0..2000 {
            let steps = chunk(seed);
            assert_eq!(steps, chunk(seed));
            let lines: Vec<String> = steps.iter().map(|s| s.line("pl011")).collect();
            assert!(!lines.is_empty());
            verbs.extend(lines.iter().map(|l| l.split(' ').next().unwrap_or_default().to_string()));
        }
        let all: Vec<&str> = verbs.iter().map(String::as_str).collect();
        assert_eq!(all, ["advance", "break", "migrate", "read", "reset", "rx", "write"]);
    }

    #[test]
    fn every_edge_case_id_is_listed_once() {
        let mut ids: Vec<&str> = EDGE_CASE_LIST.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), EDGE_CASE_LIST.len());
    }
}
