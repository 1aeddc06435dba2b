//! The report as the terminal table `portlab bench` prints.

use std::fmt::Write as _;

use super::{CONFIDENCE, Report};

/// One row per workload, then the geometric means, notes and targets.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let c = report.config();
    let _ = writeln!(
        out,
        "portlab bench ({}): median time per operation; Rust/C is the median of per-round ratios with its {:.0}% interval",
        report.mode(),
        CONFIDENCE * 100.0
    );
    let _ = writeln!(
        out,
        "{} workloads in {:.1} s; batches of ~{} µs, every implementation interleaved round-robin",
        report.summaries.len(),
        report.elapsed.as_secs_f64(),
        c.batch_time.as_micros()
    );
    let _ = writeln!(out);
    out.push_str(&super::columns::text_table(&report.summaries));
    let _ = writeln!(out);
    if report.ratios().next().is_some() {
        let _ = writeln!(out, "{}", report.geomean_line());
    }
    for s in &report.summaries {
        if let Some(note) = s.workload.algorithm_note() {
            let _ = writeln!(out, "note: {}: {note}", s.workload.name());
        }
    }
    for line in report.target_lines() {
        let _ = writeln!(out, "target: {line}");
    }
    out
}
