//! criterion benchmarks of every registered device, C against Rust
//! against the floor (`benches/devices.rs`).
//!
//! Each workload a device declares (`portlab_device::bench`, listed in
//! its registry entry) is one criterion group whose members are the
//! implementations: the floor (an empty C device through the ops table),
//! the C and the Rust model through the same table, and the Rust model
//! called natively where the device offers it. Run them with
//! `cargo bench -p portlab-benches`; `portlab bench` runs the same
//! workloads interleaved in one process and prints Rust/C ratios.
//! `docs/benchmarks.md` has the method and the figures.
#![forbid(unsafe_code)]

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
    // Named after the device too, so that a filter can pick one device.
    let mut group = c.benchmark_group(format!("{}/{}", workload.device(), workload.name()));
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
