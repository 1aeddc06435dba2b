//! The report as JSON (`portlab bench --format json`), through serde: the
//! shapes below are the document's schema, and serde_json writes an
//! estimate that could not be made (NaN) as `null`.

use serde::Serialize;

use super::{CONFIDENCE, Report};
use crate::stats::Estimate;

#[derive(Serialize)]
struct Document<'a> {
    mode: &'static str,
    date: &'a str,
    command: &'a str,
    elapsed_s: f64,
    confidence: f64,
    interval: &'static str,
    machine: MachineDoc<'a>,
    workloads: Vec<WorkloadDoc>,
    geomean_rust_over_c: f64,
    geomean_rust_over_c_same_algorithm: f64,
}

#[derive(Serialize)]
struct MachineDoc<'a> {
    cpu: &'a str,
    nproc: usize,
    kernel: &'a str,
    rustc: &'a str,
    profile: &'a str,
    cc: &'a str,
    optimised_build: bool,
}

#[derive(Serialize)]
struct WorkloadDoc {
    name: &'static str,
    device: &'static str,
    unit: &'static str,
    description: &'static str,
    algorithm_note: Option<&'static str>,
    rounds: usize,
    coverage: f64,
    implementations: Vec<ImplementationDoc>,
    rust_over_c: Option<EstimateDoc>,
    rust_native_over_c: Option<EstimateDoc>,
}

#[derive(Serialize)]
struct ImplementationDoc {
    name: &'static str,
    ops_per_batch: u64,
    median_ns: EstimateDoc,
    over_floor_ns: Option<EstimateDoc>,
}

#[derive(Serialize)]
struct EstimateDoc {
    value: f64,
    low: f64,
    high: f64,
}

impl From<&Estimate> for EstimateDoc {
    fn from(e: &Estimate) -> Self {
        EstimateDoc { value: e.value, low: e.low, high: e.high }
    }
}

/// The whole report as one JSON object, with a final newline.
pub fn json(report: &Report) -> String {
    let m = &report.machine;
    let document = Document {
        mode: report.mode(),
        date: &report.date,
        command: &report.command,
        elapsed_s: report.elapsed.as_secs_f64(),
        confidence: CONFIDENCE,
        interval: "median with order-statistic (binomial) interval; ratios and floor overheads paired per round",
        machine: MachineDoc {
            cpu: &m.cpu,
            nproc: m.nproc,
            kernel: &m.kernel,
            rustc: &m.rustc,
            profile: &m.profile,
            cc: &m.cc,
            optimised_build: m.optimised,
        },
        workloads: report
            .summaries
            .iter()
            .map(|s| WorkloadDoc {
                name: s.workload.name(),
                device: s.workload.device(),
                unit: s.workload.unit(),
                description: s.workload.description(),
                algorithm_note: s.workload.algorithm_note(),
                rounds: s.rounds,
                coverage: s.coverage,
                implementations: s
                    .implementations
                    .iter()
                    .map(|i| ImplementationDoc {
                        name: i.implementation.name(),
                        ops_per_batch: i.ops_per_batch,
                        median_ns: (&i.median_ns).into(),
                        over_floor_ns: i.over_floor_ns.as_ref().map(Into::into),
                    })
                    .collect(),
                rust_over_c: s.rust_over_c.as_ref().map(Into::into),
                rust_native_over_c: s.native_over_c.as_ref().map(Into::into),
            })
            .collect(),
        geomean_rust_over_c: report.geomean(),
        geomean_rust_over_c_same_algorithm: report.geomean_same_algorithm().0,
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let mut out = serde_json::to_string(&document).unwrap_or_default();
    out.push('\n');
    out
}
