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

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use portlab_bench::{Prepared, Workload};

fn workload_group(c: &mut Criterion, workload: Workload) {
    let mut group = c.benchmark_group(workload.name());
    // Sized so that the whole suite (34 benchmarks) stays within a few
    // minutes on two cores: the micro workloads are nanoseconds and settle
    // quickly; a replay is milliseconds, so it gets few, flat samples.
    if workload.is_replay() {
        group.sampling_mode(SamplingMode::Flat).sample_size(20).warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
    } else {
        group.sample_size(50).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    }
    for &implementation in workload.implementations() {
        let mut prepared = Prepared::new(workload, implementation).expect("the workload sets up");
        group.bench_function(implementation.name(), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                prepared.run(black_box(iters));
                start.elapsed()
            });
        });
    }
    group.finish();
}

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
