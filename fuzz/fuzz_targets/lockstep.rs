//! Differential fuzzing: bytes become PL011 commands that run on the C and
//! the Rust model in lockstep; any divergence (events or state) is a crash
//! whose input `portlab compare` can replay once decoded (the panic message
//! holds the trace).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::Registry;
use portlab_equiv::{Equivalence, bytes::pl011_commands, run_case};

fuzz_target!(|data: &[u8]| {
    let commands = pl011_commands(data, 512);
    let eq = Equivalence::c_against_rust(Registry::builtin(), portlab_equiv::registered_allowances().unwrap());
    if let (_, Some(failure)) = run_case(&eq, &commands, None) {
        let trace: Vec<String> = commands[..=failure.step].iter().map(ToString::to_string).collect();
        panic!("divergence at command {}: {}\n{}", failure.step + 1, failure.divergence, trace.join("\n"));
    }
});
