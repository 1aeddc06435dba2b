//! The report as the terminal table `portlab bench` prints.

use std::fmt::Write as _;

use super::{CONFIDENCE, Report, format_ratio, median_of, over_floor_of};
use crate::Implementation;

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
    // The first two columns as wide as their longest entry: workload names
    // come from the devices.
    let name_width = report.summaries.iter().map(|s| s.workload.name().len()).chain([17]).max().unwrap_or(17);
    let unit_width = report.summaries.iter().map(|s| s.workload.unit().len()).chain([14]).max().unwrap_or(14);
    let _ = writeln!(
        out,
        "{:<name_width$} {:<unit_width$} {:>6} {:>10} {:>10} {:>10} {:>11}  {:<23} {:>10} {:>10}",
        "workload", "one op", "rounds", "floor", "c", "rust", "rust-native", "rust/c [95% CI]", "c-floor", "rust-floor"
    );
    for s in &report.summaries {
        let _ = writeln!(
            out,
            "{:<name_width$} {:<unit_width$} {:>6} {:>10} {:>10} {:>10} {:>11}  {:<23} {:>10} {:>10}",
            s.workload.name(),
            s.workload.unit(),
            s.rounds,
            median_of(s, Implementation::Floor),
            median_of(s, Implementation::C),
            median_of(s, Implementation::Rust),
            median_of(s, Implementation::RustNative),
            s.rust_over_c.as_ref().map_or("-".into(), format_ratio),
            over_floor_of(s, Implementation::C),
            over_floor_of(s, Implementation::Rust),
        );
    }
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
