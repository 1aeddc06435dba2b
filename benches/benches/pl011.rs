//! The C and the Rust PL011 side by side, against the floor.
//!
//! One criterion group per workload, with the implementations as its
//! members (`floor`, `c`, `rust`, `rust-native`), so the HTML report in
//! `target/criterion/report/index.html` draws them next to each other. The
//! workloads are `portlab_bench`'s, the same code `portlab bench` runs;
//! one criterion iteration is one operation of the workload (one FR read,
//! one transmitted byte, one RX burst, one whole trace replay, ...).
//!
//! Run with `cargo bench -p portlab-benches`; one group with
//! `cargo bench -p portlab-benches -- fr-poll`.

use criterion::Criterion;
use portlab_benches::{Workload, workload_group};

fn all_workloads(c: &mut Criterion) {
    // The HPET's workloads have their own bench target (`benches/hpet.rs`).
    for workload in Workload::ALL.into_iter().filter(|w| w.device() == "pl011") {
        workload_group(c, workload);
    }
}

fn config() -> Criterion {
    // Fewer bootstrap resamples than the default 100 000: the analysis of
    // 34 benchmarks otherwise takes longer than some of the measurements.
    Criterion::default().nresamples(20_000)
}

// What criterion_group!/criterion_main! expand to, written out: the macro
// makes an undocumented `pub fn`, which the workspace lints refuse.
fn main() {
    let mut criterion = config().configure_from_args();
    all_workloads(&mut criterion);
    criterion.final_summary();
}
