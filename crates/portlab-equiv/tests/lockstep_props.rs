//! The lockstep property test: random guest behaviour on the C and the
//! Rust PL011 must produce the same events and the same state after every
//! command, migrations to the other implementation included.
//!
//! `PORTLAB_PROPTEST_CASES` sets the number of cases (default 256, sized
//! for CI); `PORTLAB_PROPTEST_SEED` picks other cases. `portlab fuzz` runs
//! many more.

use std::path::Path;

use portlab_board::{Command, DeviceKind, Registry};
use portlab_device::migration::SaveBuffer;
use portlab_device::{Device, DeviceInfo, DeviceType, Error, Host, LoadError, Properties};
use portlab_equiv::{DeviceSet, Equivalence, RunOptions, job_seed, registered_allowances, run, run_parallel};
use portlab_pl011::Pl011;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn ci_options() -> RunOptions {
    RunOptions {
        cases: Some(env_u64("PORTLAB_PROPTEST_CASES", 256)),
        seed: env_u64("PORTLAB_PROPTEST_SEED", RunOptions::default().seed),
        ..RunOptions::default()
    }
}

#[test]
fn c_and_rust_pl011_agree_in_lockstep() {
    let allowances = registered_allowances().expect("the register of intentional differences parses");
    let eq = Equivalence::c_against_rust(Registry::builtin(), allowances);
    let options = RunOptions { devices: DeviceSet::One("pl011"), ..ci_options() };
    let summary = run(&eq, &options, |_| {});
    if let Some(finding) = &summary.finding {
        let dir = root().join("target/portlab-divergences");
        std::fs::create_dir_all(&dir).ok();
        let file = dir.join(format!("seed-{}-case-{}.trace", finding.seed, finding.case));
        std::fs::write(&file, finding.to_trace()).ok();
        panic!("the implementations diverge; shrunk trace written to {}:\n{}", file.display(), finding.to_trace());
    }
    eprintln!(
        "lockstep: {} cases, {} commands on each side, {:.0} commands/s, seed {}",
        summary.cases,
        summary.ops,
        summary.ops_per_second(),
        options.seed
    );
    eprintln!("{}", summary.coverage.report());
    assert_eq!(Some(summary.cases), options.cases);
    assert!(summary.ops > summary.cases, "cases ran commands");
    // Migrations to the other implementation happen in the middle of runs.
    assert!(summary.coverage.edge_count("pl011", "P25") > 0, "{}", summary.coverage.report());
    // The guest reaches every writable register and every edge case (the
    // PL011's plug-in lists them; FR, RIS and MIS are read-only).
    let missed = summary.coverage.missed_edge_cases("pl011").expect("the PL011 lists its edge cases");
    assert!(missed.is_empty(), "edge cases never exercised: {missed:?}\n{}", summary.coverage.report());
    let unwritten: Vec<&str> = summary
        .coverage
        .unwritten_registers("pl011")
        .into_iter()
        .filter(|r| !matches!(*r, "FR" | "RIS" | "MIS"))
        .collect();
    assert!(unwritten.is_empty(), "never written: {unwritten:?}\n{}", summary.coverage.report());
}

fn assert_no_divergence(eq: &Equivalence, options: &RunOptions) -> portlab_equiv::Summary {
    let summary = run(eq, options, |_| {});
    if let Some(finding) = &summary.finding {
        panic!("{} diverge:\n{}", eq.label(), finding.to_trace());
    }
    summary
}

#[test]
fn c_and_rust_pl031_agree_in_lockstep() {
    let eq = Equivalence::c_against_rust(Registry::builtin(), registered_allowances().unwrap());
    let options = RunOptions { devices: DeviceSet::One("pl031"), ..ci_options() };
    let summary = assert_no_divergence(&eq, &options);
    eprintln!("{}", summary.coverage.report());
    let missed = summary.coverage.missed_edge_cases("pl031").expect("the PL031 lists its edge cases");
    assert!(missed.is_empty(), "PL031 edge cases never exercised: {missed:?}\n{}", summary.coverage.report());
}

/// The whole board in lockstep, both devices driven at once, in every
/// mix: all C against all Rust, and the crossed mix (UART in C and RTC in
/// Rust against the reverse).
#[test]
fn whole_board_mixes_agree_in_lockstep() {
    let options = RunOptions { devices: DeviceSet::All, ..ci_options() };
    let all = Equivalence::c_against_rust(Registry::builtin(), registered_allowances().unwrap());
    let crossed = Equivalence::crossed(Registry::builtin(), registered_allowances().unwrap());
    // Neighbouring devices run different languages on each side.
    let (a, b) = (&crossed.side_a.slots, &crossed.side_b.slots);
    assert!(a.iter().zip(b).all(|(x, y)| x.implementation != y.implementation), "{}", crossed.label());
    assert!(a.windows(2).all(|w| w[0].implementation != w[1].implementation), "{}", crossed.label());
    for eq in [all, crossed] {
        let summary = assert_no_divergence(&eq, &options);
        // Every device of the board was driven, and reached deep states.
        for name in DeviceSet::All.names() {
            assert!(summary.coverage.device_commands(name, "write") > 0, "{name}\n{}", summary.coverage.report());
        }
        assert!(summary.coverage.edge_count("pl011", "P25") > 0, "{}", summary.coverage.report());
        assert!(summary.coverage.edge_count("pl031", "R20/R21") > 0, "{}", summary.coverage.report());
    }
}

/// The Rust PL011 with a bug planted: IBRD masked with FBRD's mask, the
/// kind of mix-up QEMU's own port had.
struct SwappedMasks(Pl011);

impl Device for SwappedMasks {
    const INFO: DeviceInfo = DeviceInfo { type_name: c"x-pl011-swapped-masks", ..Pl011::INFO };
    fn new(host: &mut impl Host, properties: &Properties) -> Self {
        SwappedMasks(Pl011::new(host, properties))
    }
    fn reset(&mut self, host: &mut impl Host) {
        self.0.reset(host);
    }
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        self.0.read(host, offset, size)
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        let value = if offset & !3 == 0x024 && size == 4 { value & 0x3f } else { value };
        self.0.write(host, offset, size, value);
    }
    fn can_receive(&self) -> u32 {
        self.0.can_receive()
    }
    fn receive(&mut self, host: &mut impl Host, byte: u8) -> Result<(), Error> {
        self.0.receive(host, byte)
    }
    fn receive_break(&mut self, host: &mut impl Host) {
        self.0.receive_break(host);
    }
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        self.0.save(host, out);
    }
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        self.0.load(host, blob)
    }
}

#[test]
fn a_planted_difference_is_found_and_shrunk_to_a_few_lines() {
    let mut registry = Registry::builtin();
    let pl011 = registry.kind("pl011").unwrap().clone();
    registry.register(DeviceKind { rust: Some(DeviceType::of::<SwappedMasks>()), ..pl011 });
    let eq = Equivalence::c_against_rust(registry, Vec::new());
    let summary = run(&eq, &RunOptions { cases: Some(500), ..ci_options() }, |_| {});
    let finding = summary.finding.expect("the planted bug is found");
    let trace = finding.to_trace();
    assert!(finding.commands.len() <= 2, "shrunk to a few lines:\n{trace}");
    assert!(trace.contains("the state of pl011 differs after step 1: ibrd: c=0x"), "{trace}");
    assert!(trace.contains("c=0x") && trace.contains("rust=0x"), "{trace}");
    // The trace parses back to the same commands.
    let parsed: Vec<Command> = trace.lines().filter_map(|l| portlab_board::parse_line(l).unwrap()).collect();
    assert_eq!(parsed, finding.commands);
}

/// Every registered intentional difference is real and is the only
/// difference its trace shows: without the register the trace diverges,
/// with it the trace compares identical. When the C side is fixed too,
/// the first check fails and says to delete the entry (a ratchet).
#[test]
fn every_registered_difference_is_shown_by_its_trace() {
    let allowances = registered_allowances().unwrap();
    for allowance in &allowances {
        let text = std::fs::read_to_string(root().join(&allowance.trace))
            .unwrap_or_else(|e| panic!("difference `{}`: cannot read {}: {e}", allowance.id, allowance.trace));
        let commands: Vec<Command> = text.lines().filter_map(|l| portlab_board::parse_line(l).unwrap()).collect();
        let strict = Equivalence::c_against_rust(Registry::builtin(), Vec::new());
        assert!(
            portlab_equiv::run_case(&strict, &commands, None).1.is_some(),
            "difference `{}` no longer shows in {}: the implementations agree now, delete the entry",
            allowance.id,
            allowance.trace
        );
        let lenient = Equivalence::c_against_rust(Registry::builtin(), allowances.clone());
        let failure = portlab_equiv::run_case(&lenient, &commands, None).1;
        assert!(
            failure.is_none(),
            "difference `{}`: {} shows more than it registers: {failure:?}",
            allowance.id,
            allowance.trace
        );
    }
}

/// Every registered device with both implementations, driven by the
/// generic random guest derived from its description (plus its own
/// deep-state plug-in, if it has one), with its creation properties varied
/// across cases: no divergence, and the guest reached every register.
#[test]
fn every_registered_device_agrees_in_lockstep_with_the_described_guest() {
    let registry = Registry::builtin();
    let allowances = registered_allowances().unwrap();
    for kind in registry.kinds().iter().filter(|k| k.c.is_some() && k.rust.is_some()) {
        let eq = Equivalence::c_against_rust(registry.clone(), allowances.clone());
        let options = RunOptions { devices: DeviceSet::One(kind.name), ..ci_options() };
        let summary = assert_no_divergence(&eq, &options);
        assert_eq!(Some(summary.cases), options.cases, "{}", kind.name);
        let migrations = summary.coverage.device_commands(kind.name, "migrate");
        assert!(migrations > 0, "{}: migrations mid-run", kind.name);
        eprintln!("{}: {} cases, {} commands on each side", kind.name, summary.cases, summary.ops);
    }
}

#[test]
fn a_stop_flag_ends_the_run_between_cases_and_says_so() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let eq = Equivalence::c_against_rust(Registry::builtin(), Vec::new());
    let stop = Arc::new(AtomicBool::new(false));
    // A time limit far away, so that only the flag can end the run early.
    let options = RunOptions {
        cases: None,
        time: Some(std::time::Duration::from_secs(600)),
        stop: Some(Arc::clone(&stop)),
        ..RunOptions::default()
    };
    // Set from the progress callback, as a Ctrl-C handler would between two
    // reports: the run ends before the next case.
    let summary = run(&eq, &options, |p| {
        if p.cases >= 3 {
            stop.store(true, Ordering::Relaxed);
        }
    });
    assert!(summary.interrupted);
    assert!(summary.cases >= 3, "{} cases", summary.cases);
    assert!(summary.elapsed < std::time::Duration::from_secs(600));
    assert!(summary.finding.is_none());
    let unstopped = run(&eq, &RunOptions { cases: Some(2), ..RunOptions::default() }, |_| {});
    assert!(!unstopped.interrupted);
}

/// `portlab fuzz --jobs N`: the jobs run their own seeds, the first
/// finding stops them all and names its job's seed, and the coverage is
/// every job's.
#[test]
fn parallel_jobs_merge_coverage_and_stop_at_the_first_finding() {
    let planted = || {
        let mut registry = Registry::builtin();
        let pl011 = registry.kind("pl011").unwrap().clone();
        registry.register(DeviceKind { rust: Some(DeviceType::of::<SwappedMasks>()), ..pl011 });
        Equivalence::c_against_rust(registry, Vec::new())
    };
    let options = RunOptions { cases: Some(500), seed: 11, ..ci_options() };
    let summary = run_parallel(&planted, &options, 2, |_| {});
    assert_eq!(summary.jobs, 2);
    let finding = summary.finding.expect("the planted bug is found by one of the jobs");
    assert!([job_seed(11, 0), job_seed(11, 1)].contains(&finding.seed), "{}", finding.seed);
    // The finding replays on its own seed with one job.
    let again =
        run(&planted(), &RunOptions { seed: finding.seed, cases: Some(finding.case), ..options.clone() }, |_| {});
    assert!(again.finding.is_some(), "seed {} case {} reproduces", finding.seed, finding.case);

    // Without a bug: the case limit is split, and the coverage merged.
    let clean = || Equivalence::c_against_rust(Registry::builtin(), Vec::new());
    let options = RunOptions { cases: Some(21), seed: 3, devices: DeviceSet::One("pl031"), ..ci_options() };
    let both = run_parallel(&clean, &options, 2, |_| {});
    assert!(both.finding.is_none() && !both.interrupted);
    assert_eq!(both.cases, 21);
    let one = run(&clean(), &RunOptions { cases: Some(11), ..options.clone() }, |_| {});
    let other = run(&clean(), &RunOptions { cases: Some(10), seed: job_seed(3, 1), ..options }, |_| {});
    assert_eq!(both.ops, one.ops + other.ops);
    assert_eq!(
        both.coverage.device_commands("pl031", "write"),
        one.coverage.device_commands("pl031", "write") + other.coverage.device_commands("pl031", "write")
    );
}
