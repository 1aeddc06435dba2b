//! Timing: every implementation of a workload in one process, interleaved.
//!
//! Each implementation first gets a batch size that takes about
//! [`MeasureConfig::batch_time`]. Then the measurement runs in rounds; a
//! round times one batch of every implementation, and the order rotates
//! from round to round. Frequency changes, a noisy neighbour or a cache
//! flush then hit every implementation alike, and a ratio can be taken per
//! round (Rust's batch against the C batch next to it), which cancels the
//! drift that a ratio of two separate runs would keep.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::stats::{self, Estimate};
use crate::{Implementation, Prepared, Workload};

/// How long to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureConfig {
    /// Target duration of one batch (one implementation, one round).
    pub batch_time: Duration,
    /// Time per workload, after calibration; rounds stop when it is used up
    /// and at least `min_rounds` ran.
    pub workload_time: Duration,
    /// Fewest rounds, whatever the time.
    pub min_rounds: usize,
    /// Most rounds, whatever the time.
    pub max_rounds: usize,
}

impl MeasureConfig {
    /// A few seconds for every workload together.
    pub fn quick() -> MeasureConfig {
        MeasureConfig {
            batch_time: Duration::from_micros(500),
            workload_time: Duration::from_millis(300),
            min_rounds: 20,
            max_rounds: 100_000,
        }
    }

    /// About half a minute for every workload together.
    pub fn full() -> MeasureConfig {
        MeasureConfig {
            batch_time: Duration::from_millis(2),
            workload_time: Duration::from_secs(3),
            min_rounds: 50,
            max_rounds: 100_000,
        }
    }
}

/// The batches of one implementation.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The implementation.
    pub implementation: Implementation,
    /// Operations per batch.
    pub ops_per_batch: u64,
    /// Nanoseconds per operation, one value per round.
    pub ns_per_op: Vec<f64>,
}

/// Every implementation's batches of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The workload.
    pub workload: Workload,
    /// Rounds timed (each has one batch of every implementation).
    pub rounds: usize,
    /// One series per implementation, in [`Workload::implementations`] order.
    pub series: Vec<Series>,
}

fn time_batch(p: &mut Prepared, ops: u64) -> Duration {
    let start = Instant::now();
    p.run(black_box(ops));
    let elapsed = start.elapsed();
    black_box(&p);
    elapsed
}

/// Operations per batch so that one batch takes about `target`.
fn calibrate(p: &mut Prepared, target: Duration) -> u64 {
    let mut ops = 1u64;
    loop {
        let t = time_batch(p, ops);
        if t >= target / 4 || ops >= 1 << 40 {
            let scaled = ops as f64 * target.as_secs_f64() / t.as_secs_f64().max(1e-9);
            return (scaled.ceil() as u64).max(1);
        }
        ops *= 2;
    }
}

/// Measures `workload` on every implementation it runs on.
pub fn measure(workload: Workload, config: &MeasureConfig) -> Result<Measurement, String> {
    let mut prepared: Vec<Prepared> =
        workload.implementations().iter().map(|&imp| Prepared::new(workload, imp)).collect::<Result<_, _>>()?;
    let ops: Vec<u64> = prepared.iter_mut().map(|p| calibrate(p, config.batch_time)).collect();
    // One untimed round warms caches and branch predictors for all.
    for (p, &n) in prepared.iter_mut().zip(&ops) {
        time_batch(p, n);
    }
    let count = prepared.len();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); count];
    let deadline = Instant::now() + config.workload_time;
    let mut rounds = 0;
    while rounds < config.min_rounds || (rounds < config.max_rounds && Instant::now() < deadline) {
        for k in 0..count {
            let i = (rounds + k) % count;
            let t = time_batch(&mut prepared[i], ops[i]);
            samples[i].push(t.as_nanos() as f64 / ops[i] as f64);
        }
        rounds += 1;
    }
    let series = prepared
        .iter()
        .zip(ops)
        .zip(samples)
        .map(|((p, ops_per_batch), ns_per_op)| Series { implementation: p.implementation(), ops_per_batch, ns_per_op })
        .collect();
    Ok(Measurement { workload, rounds, series })
}

impl Measurement {
    /// The series of `implementation`, if the workload runs on it.
    pub fn series(&self, implementation: Implementation) -> Option<&Series> {
        self.series.iter().find(|s| s.implementation == implementation)
    }

    /// Median ns per operation of `implementation`, with its interval.
    pub fn median(&self, implementation: Implementation, confidence: f64) -> Option<Estimate> {
        self.series(implementation).map(|s| stats::median_ci(&s.ns_per_op, confidence))
    }

    /// Median of the per-round ratios `a / b`, with its interval.
    pub fn ratio(&self, a: Implementation, b: Implementation, confidence: f64) -> Option<Estimate> {
        let (a, b) = (self.series(a)?, self.series(b)?);
        let ratios: Vec<f64> = a.ns_per_op.iter().zip(&b.ns_per_op).map(|(x, y)| x / y).collect();
        Some(stats::median_ci(&ratios, confidence))
    }

    /// Median of the per-round differences `a - b` in ns per operation,
    /// with its interval.
    pub fn difference(&self, a: Implementation, b: Implementation, confidence: f64) -> Option<Estimate> {
        let (a, b) = (self.series(a)?, self.series(b)?);
        let diffs: Vec<f64> = a.ns_per_op.iter().zip(&b.ns_per_op).map(|(x, y)| x - y).collect();
        Some(stats::median_ci(&diffs, confidence))
    }
}

/// One implementation's figures in a [`WorkloadSummary`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImplementationSummary {
    /// The implementation.
    pub implementation: Implementation,
    /// Operations per batch.
    pub ops_per_batch: u64,
    /// Median ns per operation.
    pub median_ns: Estimate,
    /// ns per operation above the floor (paired per round); `None` for
    /// the floor itself.
    pub over_floor_ns: Option<Estimate>,
}

/// The figures of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSummary {
    /// The workload.
    pub workload: Workload,
    /// Rounds timed.
    pub rounds: usize,
    /// The intervals' actual coverage for this many rounds (at least the
    /// confidence asked for once there are enough rounds).
    pub coverage: f64,
    /// Per implementation, in [`Workload::implementations`] order.
    pub implementations: Vec<ImplementationSummary>,
    /// Rust through the ops table over C through the ops table.
    pub rust_over_c: Option<Estimate>,
    /// Rust called natively over C through the ops table.
    pub native_over_c: Option<Estimate>,
}

impl WorkloadSummary {
    /// The figures of `implementation`.
    pub fn implementation(&self, implementation: Implementation) -> Option<&ImplementationSummary> {
        self.implementations.iter().find(|s| s.implementation == implementation)
    }
}

/// Medians, ratios and floor overheads of a measurement.
pub fn summarize(m: &Measurement, confidence: f64) -> WorkloadSummary {
    let implementations = m
        .series
        .iter()
        .map(|s| ImplementationSummary {
            implementation: s.implementation,
            ops_per_batch: s.ops_per_batch,
            median_ns: stats::median_ci(&s.ns_per_op, confidence),
            over_floor_ns: (s.implementation != Implementation::Floor)
                .then(|| m.difference(s.implementation, Implementation::Floor, confidence))
                .flatten(),
        })
        .collect();
    WorkloadSummary {
        workload: m.workload,
        rounds: m.rounds,
        coverage: stats::coverage(m.rounds, confidence),
        implementations,
        rust_over_c: m.ratio(Implementation::Rust, Implementation::C, confidence),
        native_over_c: m.ratio(Implementation::RustNative, Implementation::C, confidence),
    }
}

/// The geometric mean of the Rust/C ratios of `summaries`.
pub fn geomean_rust_over_c(summaries: &[WorkloadSummary]) -> f64 {
    let ratios: Vec<f64> = summaries.iter().filter_map(|s| s.rust_over_c.map(|r| r.value)).collect();
    stats::geometric_mean(&ratios)
}
