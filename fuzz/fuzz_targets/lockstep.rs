//! Differential fuzzing: bytes become commands for every device of the
//! default board (decoded from what each device declares) that run on the
//! C and the Rust models in lockstep; any divergence (events, outcome or
//! state) is a crash whose panic message holds the trace to replay with
//! `portlab compare`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::Registry;
use portlab_equiv::{Equivalence, bytes::described_commands, run_case};

fuzz_target!(|data: &[u8]| {
    let commands = described_commands(data, 512);
    let eq = Equivalence::c_against_rust(Registry::builtin(), portlab_equiv::registered_allowances().unwrap());
    if let (_, Some(failure)) = run_case(&eq, &commands, None) {
        let trace: Vec<String> = commands[..=failure.step].iter().map(ToString::to_string).collect();
        panic!("divergence at command {}: {}\n{}", failure.step + 1, failure.divergence, trace.join("\n"));
    }
});
