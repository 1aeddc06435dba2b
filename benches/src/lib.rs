//! criterion benchmarks of the C and the Rust PL011 (`benches/pl011.rs`),
//! PL031 (`benches/pl031.rs`) and HPET (`benches/hpet.rs`).
//!
//! Each workload of [`portlab_bench`] is one criterion group whose members
//! are the implementations: the floor (an empty C device through the ops
//! table), the C PL011 and the Rust PL011 through the same table, and the
//! Rust PL011 called natively (the HPET's groups have the first three, with
//! the C and Rust HPETs). Run them with `cargo bench -p portlab-benches`;
//! `portlab bench` runs the same workloads interleaved in one process and
//! prints Rust/C ratios.
//! `docs/benchmarks.md` has the method and the figures.

pub use portlab_bench::{Implementation, Workload};

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use portlab_bench::Prepared;

/// One criterion group for `workload`, its implementations as members.
/// Sized so that the whole suite stays within a few minutes on two cores:
/// the micro workloads are nanoseconds and settle quickly; a replay is
/// milliseconds, so it gets few, flat samples.
pub fn workload_group(c: &mut Criterion, workload: Workload) {
    let mut group = c.benchmark_group(workload.name());
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
