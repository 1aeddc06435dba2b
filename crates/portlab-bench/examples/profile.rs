//! Runs one workload on one implementation, for a profiler.
//!
//! ```sh
//! cargo build --profile lto -p portlab-bench --example profile
//! valgrind --tool=callgrind target/lto/examples/profile fr-poll rust 1000000
//! ```
//!
//! Instruction counts from callgrind are repeatable, so the difference
//! between two op counts divided by the difference in ops is the exact
//! instruction cost of one operation (see docs/benchmarks.md).
//!
//! `profile --list` prints every registered workload, one per line: its
//! name, `replay` or `micro`, and the implementations it runs on
//! (`scripts/instructions.sh` reads it).

use std::process::ExitCode;

use portlab_bench::{Implementation, Prepared, Workload};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--list"] {
        for w in Workload::all() {
            let kind = if w.is_replay() { "replay" } else { "micro" };
            let implementations: Vec<&str> = w.implementations().iter().map(|i| i.name()).collect();
            println!("{} {kind} {}", w.name(), implementations.join(","));
        }
        return ExitCode::SUCCESS;
    }
    let parsed = match args.as_slice() {
        [w, i, n] => Workload::from_name(w).zip(Implementation::from_name(i)).zip(n.parse::<u64>().ok()),
        _ => None,
    };
    let Some(((workload, implementation), ops)) = parsed else {
        eprintln!(
            "usage: profile WORKLOAD IMPLEMENTATION OPS (for example: profile fr-poll rust 1000000), or profile --list"
        );
        return ExitCode::from(2);
    };
    let mut prepared = match Prepared::new(workload, implementation) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("profile: {e}");
            return ExitCode::from(2);
        }
    };
    prepared.run(ops);
    let outcome = prepared.outcome();
    println!(
        "{} on {}: {} ops, {} events, {} tx bytes",
        workload.name(),
        implementation.name(),
        ops,
        outcome.events,
        outcome.tx_bytes
    );
    ExitCode::SUCCESS
}
