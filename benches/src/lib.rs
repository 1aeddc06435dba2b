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
