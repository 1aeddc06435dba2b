//! Each workload does real work, and the same work on every implementation.

use super::*;
use crate::measure::{MeasureConfig, measure, summarize};

fn run(workload: Workload, implementation: Implementation, ops: u64) -> Outcome {
    let mut p = Prepared::new(workload, implementation).expect("prepared");
    p.run(ops);
    p.outcome()
}

#[test]
fn the_models_do_identical_work_on_every_workload() {
    for workload in Workload::ALL {
        let ops = if workload.is_replay() { 1 } else { 37 };
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
fn fr_poll_reads_the_idle_flags() {
    let o = run(Workload::FrPoll, Implementation::Rust, 100);
    assert_eq!(o.reads_sum, 100 * 0x90, "TXFE | RXFE");
    assert_eq!(o.irq_calls, 0);
}

#[test]
fn register_writes_store_and_update() {
    let cr = run(Workload::WriteCr, Implementation::C, 50);
    assert_eq!((cr.irq_calls, cr.tx_bytes), (0, 0), "a CR write without LBE has no side effect");
    let imsc = run(Workload::WriteImsc, Implementation::C, 50);
    assert_eq!(imsc.irq_calls, 50 * 6, "UPDATE drives all six lines");
    assert_eq!(imsc.irq_edges, 0, "nothing is pending");
}

#[test]
fn tx_sends_n_bytes() {
    for imp in [Implementation::C, Implementation::Rust, Implementation::RustNative] {
        let o = run(Workload::Tx, imp, 1000);
        assert_eq!(o.tx_bytes, 1000, "{}", imp.name());
        let expected: u64 = (0..1000u64).map(|i| u64::from(b'a') + i % 26).sum();
        assert_eq!(o.tx_sum, expected);
        assert_eq!(o.reads_sum, 1000 * 0x90, "one FR poll per byte");
        assert_eq!(o.irq_calls, 1000 * 6);
    }
}

#[test]
fn rx_drains_exactly_the_bytes_delivered() {
    for imp in [Implementation::C, Implementation::Rust, Implementation::RustNative] {
        let o = run(Workload::Rx, imp, 20);
        assert_eq!(o.rx_delivered, 20 * RX_BURST, "{}: a 16-deep FIFO takes a whole burst", imp.name());
        assert_eq!(o.rx_drained, o.rx_delivered);
        assert_eq!(o.rx_drained_sum, o.rx_delivered_sum);
        assert_eq!(o.irq_edges, 20 * 4, "lines 0 and 1 rise on the first byte and fall on the last read");
    }
}

#[test]
fn irq_churn_raises_and_lowers_two_lines_per_round() {
    let o = run(Workload::IrqChurn, Implementation::Rust, 10);
    assert_eq!(o.irq_edges, 10 * 4);
    assert_eq!(o.reads_sum, 10 * 0x20, "MIS shows TX");
}

#[test]
fn save_load_round_trips_the_same_blob() {
    let mut p = Prepared::new(Workload::SaveLoad, Implementation::Rust).unwrap();
    p.run(1);
    let first = p.outcome().blob;
    assert_eq!(first.len(), 132);
    assert_eq!(&first[..4], b"DEVS");
    p.run(5);
    assert_eq!(p.outcome().blob, first, "loading a blob and saving again gives the same blob");
    let c = run(Workload::SaveLoad, Implementation::C, 1);
    assert_eq!(c.blob, first, "C and Rust save the same bytes");
    assert_eq!(run(Workload::SaveLoad, Implementation::Floor, 3).blob, Vec::<u8>::new());
}

#[test]
fn the_floor_makes_the_calls_and_does_nothing() {
    for workload in Workload::ALL {
        let ops = if workload.is_replay() { 1 } else { 10 };
        let o = run(workload, Implementation::Floor, ops);
        assert_eq!(o.ops, ops);
        assert_eq!((o.irq_calls, o.irq_edges, o.tx_bytes, o.reads_sum), (0, 0, 0, 0), "{}", workload.name());
    }
    let rx = run(Workload::Rx, Implementation::Floor, 3);
    assert_eq!((rx.rx_delivered, rx.rx_drained), (3 * RX_BURST, 3 * RX_BURST), "same calls as the PL011");
}

#[test]
fn replays_produce_the_recorded_output() {
    let events = include_str!("../../../tests/traces/recorded/linux-interactive.pl011.events");
    let tx_lines = events.lines().filter(|l| l.starts_with("tx ")).count() as u64;
    let read_commands =
        linux_trace().iter().filter(|c| matches!(c, portlab_board::Command::Read { .. })).count() as u64;
    for imp in [Implementation::C, Implementation::Rust] {
        let o = run(Workload::LinuxTrace, imp, 2);
        assert_eq!(o.tx_bytes, 2 * tx_lines, "{}", imp.name());
        assert_eq!(o.events, 2 * (read_commands + tx_lines) + o.irq_edges);
    }
    let demo = run(Workload::DemoTrace, Implementation::Rust, 1);
    assert!(demo.tx_bytes > 100 && demo.irq_edges > 0, "{demo:?}");
    assert_eq!(Workload::DemoTrace.trace_len(), demo_trace().len());
    assert!(Workload::LinuxTrace.trace_len() > 10_000 - 100);
}

#[test]
fn names_round_trip() {
    for w in Workload::ALL {
        assert_eq!(Workload::from_name(w.name()), Some(w));
    }
    for i in Implementation::ALL {
        assert_eq!(Implementation::from_name(i.name()), Some(i));
    }
    assert!(Prepared::new(Workload::LinuxTrace, Implementation::RustNative).is_err());
}

#[test]
fn measure_interleaves_every_implementation() {
    let config = MeasureConfig {
        batch_time: std::time::Duration::from_micros(50),
        workload_time: std::time::Duration::ZERO,
        min_rounds: 5,
        max_rounds: 5,
    };
    let m = measure(Workload::FrPoll, &config).unwrap();
    assert_eq!(m.rounds, 5);
    assert_eq!(m.series.len(), 4);
    assert!(m.series.iter().all(|s| s.ns_per_op.len() == 5 && s.ops_per_batch >= 1));
    let s = summarize(&m, 0.95);
    let ratio = s.rust_over_c.expect("rust and c both ran");
    assert!(ratio.low <= ratio.value && ratio.value <= ratio.high);
    assert!(s.implementation(Implementation::Floor).unwrap().over_floor_ns.is_none());
    assert!(s.implementation(Implementation::C).unwrap().over_floor_ns.is_some());
}

#[test]
fn hpet_workloads_run_on_the_hpets_and_the_floor() {
    for workload in Workload::ALL.into_iter().filter(|w| w.device() == "hpet") {
        assert_eq!(workload.implementations(), &Implementation::ALL[..3], "{}", workload.name());
        assert!(Prepared::new(workload, Implementation::RustNative).is_err());
    }
    assert_eq!(Workload::ALL.iter().filter(|w| w.device() == "hpet").count(), 5);
}

#[test]
fn hpet_counter_read_computes_a_moving_counter() {
    for imp in [Implementation::C, Implementation::Rust] {
        let mut p = Prepared::new(Workload::HpetCounterRead, imp).unwrap();
        p.run(1);
        let first = p.outcome().reads_sum;
        p.run(1);
        let second = p.outcome().reads_sum - first;
        assert!(second > first, "{}: the counter moved ({first} then {second})", imp.name());
        let o = run(Workload::HpetCounterRead, imp, 1000);
        assert_eq!(o.clock_reads, 1000, "{}: one clock callback per read", imp.name());
        assert_eq!((o.timer_arms, o.irq_calls), (0, 0));
    }
}

#[test]
fn hpet_cmp_write_rearms_once_per_write() {
    for imp in [Implementation::C, Implementation::Rust] {
        let o = run(Workload::HpetCmpWrite, imp, 500);
        assert_eq!((o.clock_reads, o.timer_arms, o.timer_cancels), (500, 500, 0), "{}", imp.name());
        assert_eq!(o.irq_calls, 0, "a deadline ahead of the counter: no interrupt");
    }
}

#[test]
fn hpet_periodic_fires_rearms_and_pulses_every_expiry() {
    for imp in [Implementation::C, Implementation::Rust] {
        let o = run(Workload::HpetPeriodic, imp, 100);
        assert_eq!(o.timer_arms, 100, "{}: one re-arm per expiry", imp.name());
        assert_eq!((o.irq_calls, o.irq_edges), (200, 200), "{}: an edge pulse per expiry", imp.name());
        // Deadlines 1 us apart: the enable (at 1 s, counter 0) armed the
        // match at 100 ticks, 1 s + 1 us; each expiry re-arms 1 us later.
        let first = 1_000_000_000 + 1000;
        let expected: u64 = (1..=100u64).map(|k| first + 1000 * k).sum();
        assert_eq!(o.deadline_sum, expected, "{}", imp.name());
    }
}

#[test]
fn hpet_save_load_round_trips_3_and_32_comparators() {
    for (workload, n) in [(Workload::HpetSaveLoad3, 3u64), (Workload::HpetSaveLoad32, 32)] {
        let c = run(workload, Implementation::C, 4);
        let header = 12;
        assert_eq!(c.blob.len() as u64, header + 40 + 48 * n + 4, "{}", workload.name());
        assert_eq!(&c.blob[..4], b"DEVS");
        // Per save+load: the save and the load each read the clock once;
        // the load re-arms comparators 0 and 1 and cancels the others.
        assert_eq!((c.clock_reads, c.timer_arms, c.timer_cancels), (8, 8, 4 * (n - 2)), "{}", workload.name());
        assert_eq!(run(workload, Implementation::Rust, 4), c, "{}: C and Rust save the same bytes", workload.name());
        assert!(run(workload, Implementation::Floor, 2).blob.is_empty());
    }
}
