//! Every registered device's workloads, the C and the Rust model side by
//! side against the floor.
//!
//! One criterion group per workload (the devices declare them; the same
//! code `portlab bench` runs), with the implementations as its members
//! (`floor`, `c`, `rust`, and `rust-native` where the device offers it),
//! so the HTML report in `target/criterion/report/index.html` draws them
//! next to each other. One criterion iteration is one operation of the
//! workload (one register read, one transmitted byte, one expiry, one
//! whole trace replay, ...).
//!
//! Groups are named `DEVICE/WORKLOAD`. Run with `cargo bench -p
//! portlab-benches`; one device's or one workload's groups with a filter,
//! as `cargo bench -p portlab-benches -- pl031/` or `-- fr-poll`.
//! `portlab bench --list` lists the workloads.

use criterion::Criterion;
use portlab_benches::{Workload, workload_group};

// What criterion_group!/criterion_main! expand to, written out: the macro
// makes an undocumented `pub fn`, which the workspace lints refuse.
fn main() {
    // Fewer bootstrap resamples than the default 100 000: the analysis of
    // some 60 benchmarks otherwise takes longer than their measurements.
    let mut criterion = Criterion::default().nresamples(20_000).configure_from_args();
    for &workload in Workload::all() {
        workload_group(&mut criterion, workload);
    }
    criterion.final_summary();
}
