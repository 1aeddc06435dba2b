//! The board side of the workloads: whole-trace replays, and the outcome
//! of a run from its counters. The micro workloads' code is the devices'
//! own (`portlab_device::bench`).

use std::hint::black_box;

use portlab_board::{BoardConfig, Command, DeviceKind, Event, Implementation as BoardImpl, Registry, Runner};
use portlab_device::bench::{BenchHost, Tally};
use portlab_device::c_models;

use crate::{Implementation, Outcome};

/// What a replay adds up from the board's events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReplayTally {
    pub(crate) ops: u64,
    pub(crate) reads_sum: u64,
    pub(crate) events: u64,
    pub(crate) reads: u64,
    pub(crate) irq_events: u64,
    pub(crate) tx_events: u64,
    pub(crate) tx_sum: u64,
}

/// Parses a replay's trace; `= EXPECTED` checks are dropped so that the
/// floor can replay it too (the trace tests check them).
pub(crate) fn parse_trace(workload: &str, text: &str) -> Result<Vec<Command>, String> {
    portlab_board::TraceReader::new(text.as_bytes())
        .map(|line| match line {
            Ok(line) => Ok(match line.command {
                Command::Read { dev, offset, size, .. } => Command::Read { dev, offset, size, expected: None },
                other => other,
            }),
            Err(e) => Err(format!("{workload}: its trace does not parse: {e}")),
        })
        .collect()
}

/// The registry and board layout that put `implementation` in `device`'s
/// slots of the default board, and keep only those: a replay measures the
/// device alone, whatever other devices the default board has.
pub(crate) fn board_for(device: &'static str, implementation: Implementation) -> (Registry, BoardConfig) {
    let (registry, mut config) = match implementation {
        Implementation::Floor => {
            let mut registry = Registry::empty();
            registry.register(DeviceKind {
                name: device,
                description: "the null device (benchmark floor) in the device's slot",
                c: Some(c_models::null()),
                rust: Some(c_models::null()),
                shadow: None,
                guest: None,
                edge_cases: None,
                workloads: &[],
                saved_after_load: None,
                qemu: None,
            });
            (registry, BoardConfig::default_board(BoardImpl::C))
        }
        Implementation::C => (Registry::builtin(), BoardConfig::default_board(BoardImpl::C)),
        Implementation::Rust | Implementation::RustNative => {
            (Registry::builtin(), BoardConfig::default_board(BoardImpl::Rust))
        }
    };
    config.slots.retain(|slot| slot.kind == device);
    (registry, config)
}

/// One op: the whole trace on a fresh board (board creation included).
pub(crate) fn replay(
    registry: &Registry,
    config: &BoardConfig,
    commands: &[Command],
    ops: u64,
    events: &mut Vec<Event>,
    tally: &mut ReplayTally,
) {
    for _ in 0..ops {
        let mut runner = Runner::new(registry, config.clone());
        for command in commands {
            if let Err(e) = runner.execute(command, events) {
                // Every benchmark trace runs on every implementation (the
                // tests replay each once), so this is a bug, not a result.
                panic!("benchmark replay failed: {e}");
            }
            for e in events.drain(..) {
                tally.events += 1;
                match e {
                    Event::Read { value, .. } => {
                        tally.reads += 1;
                        tally.reads_sum = tally.reads_sum.wrapping_add(value);
                    }
                    Event::Irq { .. } | Event::Mem { .. } => tally.irq_events += 1,
                    Event::Tx { byte, .. } => {
                        tally.tx_events += 1;
                        tally.tx_sum = tally.tx_sum.wrapping_add(u64::from(byte));
                    }
                }
            }
        }
        black_box(&runner);
    }
    tally.ops += ops;
}

/// Outcome of a micro workload from its tally and its host.
pub(crate) fn micro_outcome(tally: &Tally, h: &BenchHost) -> Outcome {
    Outcome {
        ops: tally.ops,
        reads_sum: tally.reads_sum,
        tx_bytes: h.tx_bytes,
        tx_sum: h.tx_sum,
        irq_calls: h.irq_calls,
        irq_edges: h.irq_edges,
        logs: h.logs,
        rx_delivered: tally.rx_delivered,
        rx_drained: tally.rx_drained,
        rx_delivered_sum: tally.rx_delivered_sum,
        rx_drained_sum: tally.rx_drained_sum,
        blob: tally.blob.clone(),
        events: 0,
        clock_reads: h.clock_reads,
        timer_arms: h.timer_arms,
        deadline_sum: h.deadline_sum,
        timer_cancels: h.timer_cancels,
        mem_writes: h.mem_writes,
    }
}

/// Outcome of a replay workload from its tally.
pub(crate) fn replay_outcome(tally: &ReplayTally) -> Outcome {
    Outcome {
        ops: tally.ops,
        reads_sum: tally.reads_sum,
        tx_bytes: tally.tx_events,
        tx_sum: tally.tx_sum,
        irq_edges: tally.irq_events,
        events: tally.events,
        ..Outcome::default()
    }
}
