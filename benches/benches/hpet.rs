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

use criterion::Criterion;
use portlab_benches::{Workload, workload_group};

// What criterion_group!/criterion_main! expand to, written out: the macro
// makes an undocumented `pub fn`, which the workspace lints refuse.
fn main() {
    let mut criterion = Criterion::default().nresamples(20_000).configure_from_args();
    for workload in Workload::ALL.into_iter().filter(|w| w.device() == "hpet") {
        workload_group(&mut criterion, workload);
    }
    criterion.final_summary();
}
