//! Proving the C and the Rust device equivalent, beyond the traces
//! someone thought of.
//!
//! Random guest behaviour ([`strategy`]) drives both implementations in
//! lockstep ([`check::run_case`], on top of `portlab_board::Lockstep`):
//! after every command the events *and* the migration state of every
//! device it ran are compared, so a hidden difference shows at the
//! command that made it. A divergence is shrunk to a minimal trace file
//! ([`check::Finding::to_trace`]) that `portlab compare` replays; fixed
//! ones stay in `tests/traces/regressions/`. [`coverage`] reports what a
//! run actually exercised, so a green run can be weighed.
//!
//! `cargo test` runs a CI-sized number of cases (`PORTLAB_PROPTEST_CASES`,
//! default 256, and `PORTLAB_PROPTEST_SEED` to vary them); `portlab fuzz`
//! runs as many as you like.
#![forbid(unsafe_code)]

pub mod bytes;
pub mod check;
pub mod coverage;
pub mod strategy;

pub use check::{
    CaseOutcome, Equivalence, Failure, Finding, Progress, RunOptions, Summary, job_seed, minimise, run, run_case,
    run_case_counted, run_parallel, shrink,
};
pub use coverage::Coverage;
pub use strategy::DeviceSet;

/// Where the register of intentional differences lives, from the
/// workspace root.
pub const DIFFERENCES_FILE: &str = "tests/equivalence/intentional-differences.txt";

/// The register of intentional differences, as built into this crate.
pub const DIFFERENCES: &str = include_str!("../../../tests/equivalence/intentional-differences.txt");

/// The registered intentional differences.
pub fn registered_allowances() -> Result<Vec<portlab_board::Allowance>, String> {
    portlab_board::parse_allowances(DIFFERENCES).map_err(|e| format!("{DIFFERENCES_FILE}: {e}"))
}
