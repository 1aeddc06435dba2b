//! The C and the Rust HPET side by side, against the floor.
//!
//! One criterion group per HPET workload of `portlab_bench` (the same code
//! `portlab bench` runs), with the implementations as its members:
//! `floor` (the C null device), `c` (`c-src/hpet.c`) and `rust`
//! (`x-hpet-rust`), all through the ops table. One criterion iteration is
//! one operation: a MAIN_CNT read, a comparator write, a periodic expiry,
//! a save+load.
//!
//! | group | one operation |
//! | --- | --- |
//! | `hpet-counter-read` | a 4-byte read of MAIN_CNT (0x0F0), the clock moving between reads |
//! | `hpet-cmp-write` | an 8-byte write of comparator 0 (0x108, one-shot, interrupt on) with a new deadline |
//! | `hpet-periodic` | comparator 0's expiry (periodic, 1 us): the host sets the clock to the deadline and calls `timer_expired` |
//! | `hpet-save-load-3` | save and load with 3 comparators (200-byte blob) |
//! | `hpet-save-load-32` | save and load with 32 comparators (1592-byte blob) |
//!
//! Run with `cargo bench -p portlab-benches --bench hpet`; one group with
//! `cargo bench -p portlab-benches --bench hpet -- hpet-periodic`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use portlab_bench::{Prepared, Workload};

fn workload_group(c: &mut Criterion, workload: Workload) {
    let mut group = c.benchmark_group(workload.name());
    // As the PL011's micro benchmarks: 0.5 s warm-up, 2 s, 50 samples.
    group.sample_size(50).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
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

// What criterion_group!/criterion_main! expand to, written out: the macro
// makes an undocumented `pub fn`, which the workspace lints refuse.
fn main() {
    let mut criterion = Criterion::default().nresamples(20_000).configure_from_args();
    for workload in Workload::ALL.into_iter().filter(|w| w.device() == "hpet") {
        workload_group(&mut criterion, workload);
    }
    criterion.final_summary();
}
