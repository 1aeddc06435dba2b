//! Trace text as a user hands it over, run on the C board and on the Rust
//! board side by side: the input paths of interface version 2 that the
//! lockstep target's decoded commands do not reach. `config` lines carry
//! any property list (names, values, repeats) to device creation, `input`
//! any line and level, and every other command any device, offset, size
//! and value.
//!
//! What must hold for every line:
//! - C and Rust accept it or refuse it alike;
//! - a refused line changes nothing: no event, the same clock, every
//!   device's saved state byte for byte the same, and before the board
//!   exists, a refused `config` leaves the next creation as it was (the
//!   board created afterwards is checked like any other);
//! - nothing panics (a panic is a crash).
//!
//! Two failures are not refusals, and only have to agree: a `read ... =
//! EXPECTED` that gets another value (the read ran, with its side
//! effects), and a command the board stopped part-way (a timer storm: the
//! expiries before the stop happened).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::{BoardConfig, Command, Implementation, Registry, Runner, StepError, TraceReader};

/// Lines run per input: enough for a `config`, the creation and a few
/// accesses, few enough to keep each run short.
const MAX_LINES: usize = 64;

/// The longest `advance` run, in ns. A periodic comparator at the 1 us
/// clamp fires a thousand times per ms, and each expiry is an event: an
/// `advance` of seconds is millions of events, which is the lockstep
/// target's ground, not this one's. Longer ones are skipped, except those
/// that pass the end of time, which must be refused (and are kept).
const MAX_ADVANCE_NS: u64 = 10_000_000;

/// What a refused line must leave as it was.
/// Before the board exists: the layout and properties it will be created
/// with; after, every device's saved state and the clock.
#[derive(Debug, PartialEq)]
enum Snapshot {
    Pending(BoardConfig),
    Created { clock_ns: u64, saved: Vec<Vec<u8>> },
}

fn snapshot(runner: &mut Runner) -> Snapshot {
    let pending = runner.pending_config().cloned();
    let Some(board) = runner.created_board_mut() else {
        return Snapshot::Pending(pending.expect("a runner without a board has a pending layout"));
    };
    let saved = (0..board.device_names().len()).map(|dev| board.save(dev).expect("a created device saves")).collect();
    Snapshot::Created { clock_ns: board.clock_ns(), saved }
}

fuzz_target!(|data: &[u8]| {
    let registry = Registry::builtin();
    let mut runners = [Implementation::C, Implementation::Rust]
        .map(|imp| Runner::new(&registry, BoardConfig::default_board(imp)));
    for item in TraceReader::new(data).take(MAX_LINES) {
        let Ok(line) = item else { break };
        let command = &line.command;
        if let Command::Advance { ns } = *command {
            let clock = runners[0].board().map_or(0, |b| b.clock_ns());
            if ns > MAX_ADVANCE_NS && clock.checked_add(ns).is_some() {
                continue;
            }
        }
        let mut outcomes = Vec::with_capacity(2);
        for runner in &mut runners {
            let before = snapshot(runner);
            let mut events = Vec::new();
            let result = runner.execute(command, &mut events);
            if let Err(StepError::Invalid(reason)) = &result {
                // Not the events themselves: a runaway could be millions.
                assert!(events.is_empty(), "`{command}` was refused ({reason}) after causing {} events", events.len());
                // A refused line that would have created the board (its first
                // command other than `epoch` and `config`) may leave it
                // created: creation is not the line's effect. Otherwise the
                // board, or the layout it will be created with, is as it was.
                let after = snapshot(runner);
                let created_now = matches!((&before, &after), (Snapshot::Pending(_), Snapshot::Created { .. }));
                assert!(created_now || after == before, "`{command}` was refused ({reason}) but changed the board");
            }
            outcomes.push(match result {
                Ok(()) => "ok",
                Err(StepError::Invalid(_)) => "refused",
                Err(StepError::Expectation { .. }) => "read another value",
                Err(StepError::Stopped(_)) => "stopped part-way",
            });
        }
        assert_eq!(outcomes[0], outcomes[1], "`{command}`: C {} but Rust {}", outcomes[0], outcomes[1]);
    }
});
