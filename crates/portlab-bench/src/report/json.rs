//! The report as JSON (`portlab bench --format json`), through serde: the
//! shapes below are the document's schema, and serde_json writes an
//! estimate that could not be made (NaN) as `null`. The same shapes read a
//! saved report back ([`from_json`]), which is how reports of two builds
//! (`--from-json`) are put side by side.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::{CONFIDENCE, Machine, Report};
use crate::measure::{ImplementationSummary, WorkloadSummary};
use crate::stats::Estimate;
use crate::{Implementation, Workload};

#[derive(Serialize, Deserialize)]
struct Document {
    mode: String,
    date: String,
    command: String,
    elapsed_s: f64,
    confidence: f64,
    interval: String,
    machine: MachineDoc,
    workloads: Vec<WorkloadDoc>,
    // Derived from the workloads: written for readers, recomputed on read.
    #[serde(skip_deserializing)]
    geomean_rust_over_c: f64,
    #[serde(skip_deserializing)]
    geomean_rust_over_c_same_algorithm: f64,
}

#[derive(Serialize, Deserialize)]
struct MachineDoc {
    cpu: String,
    nproc: usize,
    kernel: String,
    rustc: String,
    profile: String,
    // Not in reports saved before 2026-11-26: read as empty.
    #[serde(default)]
    rust_settings: String,
    cc: String,
    #[serde(default)]
    c_compiler: String,
    optimised_build: bool,
}

#[derive(Serialize, Deserialize)]
struct WorkloadDoc {
    name: String,
    device: String,
    unit: String,
    description: String,
    algorithm_note: Option<String>,
    rounds: usize,
    coverage: f64,
    implementations: Vec<ImplementationDoc>,
    rust_over_c: Option<EstimateDoc>,
    rust_native_over_c: Option<EstimateDoc>,
}

#[derive(Serialize, Deserialize)]
struct ImplementationDoc {
    name: String,
    ops_per_batch: u64,
    median_ns: EstimateDoc,
    over_floor_ns: Option<EstimateDoc>,
}

#[derive(Serialize, Deserialize)]
struct EstimateDoc {
    #[serde(deserialize_with = "null_as_nan")]
    value: f64,
    #[serde(deserialize_with = "null_as_nan")]
    low: f64,
    #[serde(deserialize_with = "null_as_nan")]
    high: f64,
}

/// serde_json writes NaN as `null`; read it back as NaN.
fn null_as_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl From<&Estimate> for EstimateDoc {
    fn from(e: &Estimate) -> Self {
        EstimateDoc { value: e.value, low: e.low, high: e.high }
    }
}

impl From<&EstimateDoc> for Estimate {
    fn from(e: &EstimateDoc) -> Self {
        Estimate { value: e.value, low: e.low, high: e.high }
    }
}

/// The whole report as one JSON object, with a final newline.
pub fn json(report: &Report) -> String {
    let m = &report.machine;
    let document = Document {
        mode: report.mode().into(),
        date: report.date.clone(),
        command: report.command.clone(),
        elapsed_s: report.elapsed.as_secs_f64(),
        confidence: CONFIDENCE,
        interval: "median with order-statistic (binomial) interval; ratios and floor overheads paired per round".into(),
        machine: MachineDoc {
            cpu: m.cpu.clone(),
            nproc: m.nproc,
            kernel: m.kernel.clone(),
            rustc: m.rustc.clone(),
            profile: m.profile.clone(),
            rust_settings: m.rust_settings.clone(),
            cc: m.cc.clone(),
            c_compiler: m.c_compiler.clone(),
            optimised_build: m.optimised,
        },
        workloads: report
            .summaries
            .iter()
            .map(|s| WorkloadDoc {
                name: s.workload.name().into(),
                device: s.workload.device().into(),
                unit: s.workload.unit().into(),
                description: s.workload.description().into(),
                algorithm_note: s.workload.algorithm_note().map(Into::into),
                rounds: s.rounds,
                coverage: s.coverage,
                implementations: s
                    .implementations
                    .iter()
                    .map(|i| ImplementationDoc {
                        name: i.implementation.name().into(),
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

/// A report that [`json`] wrote, read back. Workloads and implementations
/// are looked up by name, so a report of a build that has a workload this
/// one does not know is refused, with the name.
pub fn from_json(text: &str) -> Result<Report, String> {
    let d: Document =
        serde_json::from_str(text).map_err(|e| format!("not a `portlab bench --format json` report: {e}"))?;
    let quick = match d.mode.as_str() {
        "quick" => true,
        "full" => false,
        other => return Err(format!("unknown mode `{other}` (expected quick or full)")),
    };
    let mut summaries = Vec::with_capacity(d.workloads.len());
    for w in &d.workloads {
        let workload = Workload::from_name(&w.name)
            .ok_or_else(|| format!("unknown workload `{}` (`portlab bench --list` lists this build's)", w.name))?;
        let mut implementations = Vec::with_capacity(w.implementations.len());
        for i in &w.implementations {
            let implementation = Implementation::from_name(&i.name)
                .ok_or_else(|| format!("workload `{}`: unknown implementation `{}`", w.name, i.name))?;
            implementations.push(ImplementationSummary {
                implementation,
                ops_per_batch: i.ops_per_batch,
                median_ns: (&i.median_ns).into(),
                over_floor_ns: i.over_floor_ns.as_ref().map(Into::into),
            });
        }
        summaries.push(WorkloadSummary {
            workload,
            rounds: w.rounds,
            coverage: w.coverage,
            implementations,
            rust_over_c: w.rust_over_c.as_ref().map(Into::into),
            native_over_c: w.rust_native_over_c.as_ref().map(Into::into),
        });
    }
    let m = d.machine;
    Ok(Report {
        quick,
        date: d.date,
        command: d.command,
        elapsed: Duration::try_from_secs_f64(d.elapsed_s).map_err(|e| format!("elapsed_s: {e}"))?,
        machine: Machine {
            cpu: m.cpu,
            nproc: m.nproc,
            kernel: m.kernel,
            rustc: m.rustc,
            profile: m.profile,
            rust_settings: m.rust_settings,
            cc: m.cc,
            c_compiler: m.c_compiler,
            optimised: m.optimised_build,
        },
        summaries,
    })
}
