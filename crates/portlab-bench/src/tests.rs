//! Each registered workload does real work, and the same work on every
//! implementation. What a particular workload does is tested beside the
//! device that declares it (`crates/portlab-*/src/bench.rs`).

use std::collections::HashSet;

use super::*;
use crate::measure::{MeasureConfig, measure, summarize};

fn run(workload: Workload, implementation: Implementation, ops: u64) -> Outcome {
    let mut p = Prepared::new(workload, implementation).expect("prepared");
    p.run(ops);
    p.outcome()
}

fn ops_for(workload: Workload) -> u64 {
    if workload.is_replay() { 1 } else { 37 }
}

#[test]
fn the_models_do_identical_work_on_every_workload() {
    assert!(!Workload::all().is_empty());
    for &workload in Workload::all() {
        let ops = ops_for(workload);
        let c = run(workload, Implementation::C, ops);
        assert_eq!(c.ops, ops);
        for imp in workload.implementations() {
            if *imp == Implementation::Floor {
                continue;
            }
            assert_eq!(run(workload, *imp, ops), c, "{} on {}", workload.name(), imp.name());
        }
        assert_eq!(c.logs, 0, "{}: no guest errors", workload.name());
    }
}

#[test]
fn every_workload_does_observable_work() {
    // A register hot path may be a plain store of the value already held
    // (the PL011's `write-cr`): nothing to see, and the point of it.
    for &workload in Workload::all().iter().filter(|w| !w.is_register_hot_path()) {
        let o = run(workload, Implementation::Rust, ops_for(workload));
        let work = o.reads_sum
            + o.tx_bytes
            + o.irq_calls
            + o.rx_delivered
            + o.blob.len() as u64
            + o.clock_reads
            + o.timer_arms
            + o.timer_cancels
            + o.mem_writes
            + o.events;
        assert!(work > 0, "{}: the Rust model did nothing anyone can see: {o:?}", workload.name());
    }
}

#[test]
fn the_floor_makes_the_calls_and_does_nothing() {
    for &workload in Workload::all() {
        let ops = ops_for(workload);
        let floor = run(workload, Implementation::Floor, ops);
        assert_eq!(floor.ops, ops);
        assert_eq!(
            (floor.irq_calls, floor.irq_edges, floor.tx_bytes, floor.reads_sum, floor.blob.len()),
            (0, 0, 0, 0, 0),
            "{}",
            workload.name()
        );
        if !workload.is_replay() {
            // The serial input a workload offers does not depend on what
            // the device answers, so the floor gets it all.
            let c = run(workload, Implementation::C, ops);
            assert_eq!(floor.rx_delivered, c.rx_delivered, "{}: same calls as the models", workload.name());
        }
    }
}

#[test]
fn names_are_unique_and_round_trip() {
    let mut seen = HashSet::new();
    for &w in Workload::all() {
        assert!(seen.insert(w.name()), "two devices declare `{}`", w.name());
        assert_eq!(Workload::from_name(w.name()), Some(w));
    }
    for i in Implementation::ALL {
        assert_eq!(Implementation::from_name(i.name()), Some(i));
    }
    for &w in Workload::all().iter().filter(|w| w.is_replay()) {
        assert!(Prepared::new(w, Implementation::RustNative).is_err(), "{}", w.name());
        assert!(w.trace_len() > 0, "{}", w.name());
    }
}

#[test]
fn every_ported_device_declares_a_workload() {
    let registry = Registry::builtin();
    for kind in registry.kinds().iter().filter(|k| k.c.is_some() && k.rust.is_some()) {
        assert!(
            Workload::all().iter().any(|w| w.device() == kind.name),
            "`{}` has both implementations and no benchmark workload",
            kind.name
        );
    }
}

#[test]
fn replays_produce_the_recorded_output() {
    let events = include_str!("../../../tests/traces/recorded/linux-interactive.pl011.events");
    let tx_lines = events.lines().filter(|l| l.starts_with("tx ")).count() as u64;
    let trace = include_str!("../../../tests/traces/recorded/linux-interactive.pl011.trace");
    let read_commands = trace.lines().filter(|l| l.starts_with("read ")).count() as u64;
    let linux = Workload::from_name("linux-trace").expect("the PL011 declares it");
    for imp in [Implementation::C, Implementation::Rust] {
        let o = run(linux, imp, 2);
        assert_eq!(o.tx_bytes, 2 * tx_lines, "{}", imp.name());
        assert_eq!(o.events, 2 * (read_commands + tx_lines) + o.irq_edges);
    }
    assert!(linux.trace_len() > 10_000 - 100);
}

#[test]
fn measure_interleaves_every_implementation() {
    let config = MeasureConfig {
        batch_time: std::time::Duration::from_micros(50),
        workload_time: std::time::Duration::ZERO,
        min_rounds: 5,
        max_rounds: 5,
    };
    let workload = Workload::all().iter().copied().find(|w| w.implementations().len() == 4).expect("a native run");
    let m = measure(workload, &config).unwrap();
    assert_eq!(m.rounds, 5);
    assert_eq!(m.series.len(), 4);
    assert!(m.series.iter().all(|s| s.ns_per_op.len() == 5 && s.ops_per_batch >= 1));
    let s = summarize(&m, 0.95);
    let ratio = s.rust_over_c.expect("rust and c both ran");
    assert!(ratio.low <= ratio.value && ratio.value <= ratio.high);
    assert!(s.implementation(Implementation::Floor).unwrap().over_floor_ns.is_none());
    assert!(s.implementation(Implementation::C).unwrap().over_floor_ns.is_some());
}
