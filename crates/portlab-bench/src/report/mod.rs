//! The benchmark report: what one `portlab bench` run measured, where, and
//! how it compares with the targets, and its renderers ([`text`],
//! [`json`], [`markdown`], [`svg`]); [`from_json`] reads a saved one back
//! and [`markdown_builds`] puts the reports of several builds side by side.
//!
//! The model lives here, beside the measurement, so that the CLI only
//! parses options and writes files, and any other front end (a CI script,
//! a notebook reading the JSON) sees the same report.

mod builds;
mod columns;
mod json;
mod markdown;
mod svg;
mod text;

use std::fmt::Write as _;
use std::time::Duration;

pub use builds::{check_builds, markdown_builds};
pub use json::{from_json, json};
pub use markdown::{BEGIN_MARK, END_MARK, markdown, relative_link, splice};
pub use svg::svg;
pub use text::text;

use crate::measure::{self, MeasureConfig, WorkloadSummary};
use crate::stats::Estimate;
use crate::{Implementation, Workload};

/// Confidence of every interval in the report.
pub const CONFIDENCE: f64 = 0.95;
/// Target: the register hot paths within this many ns of the floor.
pub const HOT_PATH_BUDGET_NS: f64 = 2.0;
/// Target: Rust/C on every workload.
pub const MAX_RATIO: f64 = 1.0;
/// Target: the geometric mean of Rust/C.
pub const MAX_GEOMEAN: f64 = 0.95;

/// Where the numbers were taken, and by which build.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Cores available to this process.
    pub nproc: usize,
    /// The kernel release.
    pub kernel: String,
    /// The compiler that built this binary (captured at build time).
    pub rustc: String,
    /// The cargo profile folder of this build (`release`, `lto`, `debug`).
    pub profile: String,
    /// The profile's settings that decide the Rust code (`opt-level=3,
    /// codegen-units=16, lto=false, ...`), and RUSTFLAGS if any.
    pub rust_settings: String,
    /// The C compiler found as `cc` (the cc crate's default), its version.
    pub cc: String,
    /// The command the cc crate compiled the C models with, flags included.
    pub c_compiler: String,
    /// Whether this build is optimised (no debug assertions).
    pub optimised: bool,
}

impl Machine {
    /// Reads the machine's facts; the compiler and profile are this
    /// binary's own, recorded by the build script.
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_string();
        // The C models were compiled by the cc crate at build time with
        // `cc` unless CC said otherwise; asking `cc` now is the best
        // available answer.
        let cc = std::process::Command::new("cc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |s| s.trim().to_string()),
            rustc: env!("PORTLAB_BUILD_RUSTC").to_string(),
            profile: env!("PORTLAB_BUILD_PROFILE").to_string(),
            rust_settings: env!("PORTLAB_BUILD_RUST_SETTINGS").to_string(),
            cc,
            c_compiler: portlab_device::sys::C_MODELS_COMPILER.to_string(),
            optimised: !cfg!(debug_assertions),
        }
    }
}

/// A whole run: what `--format`, `--markdown` and `--svg` print.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Quick mode (a few seconds) rather than the full one.
    pub quick: bool,
    /// When the run ended, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// The command line that produced it.
    pub command: String,
    /// How long the measurement took.
    pub elapsed: Duration,
    /// Where it ran.
    pub machine: Machine,
    /// One summary per workload, in the order they ran.
    pub summaries: Vec<WorkloadSummary>,
}

impl Report {
    /// The Rust/C ratio of every workload that has one.
    pub fn ratios(&self) -> impl Iterator<Item = (Workload, Estimate)> + '_ {
        self.summaries.iter().filter_map(|s| s.rust_over_c.map(|r| (s.workload, r)))
    }

    /// The geometric mean of Rust/C over every workload.
    pub fn geomean(&self) -> f64 {
        measure::geomean_rust_over_c(&self.summaries)
    }

    /// The geometric mean over the workloads where both implementations
    /// use the same algorithm, and how many there are.
    pub fn geomean_same_algorithm(&self) -> (f64, usize) {
        let same: Vec<WorkloadSummary> = self
            .summaries
            .iter()
            .filter(|s| s.workload.algorithm_note().is_none() && s.rust_over_c.is_some())
            .cloned()
            .collect();
        (measure::geomean_rust_over_c(&same), same.len())
    }

    /// A sentence on the geometric means.
    pub fn geomean_line(&self) -> String {
        let count = self.ratios().count();
        let mut line = format!("geometric mean of Rust/C over {count} workloads: {:.3}", self.geomean());
        let (same, n) = self.geomean_same_algorithm();
        if n < count && n > 0 {
            let _ = write!(line, " ({same:.3} over the {n} where both do the same work)");
        }
        line
    }

    /// `quick` or `full`.
    pub fn mode(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }

    /// The measurement settings of this mode.
    pub fn config(&self) -> MeasureConfig {
        if self.quick { MeasureConfig::quick() } else { MeasureConfig::full() }
    }

    /// What a reader wants to know about the targets, one line each.
    pub fn target_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some((worst, r)) = self.ratios().max_by(|a, b| a.1.value.total_cmp(&b.1.value)) {
            let met = if r.value <= MAX_RATIO { "met" } else { "missed" };
            lines.push(format!(
                "Rust/C <= {MAX_RATIO:.2} on every workload: {met} (highest: {} {})",
                worst.name(),
                format_ratio(&r)
            ));
            let g = self.geomean();
            let met = if g <= MAX_GEOMEAN { "met" } else { "missed" };
            lines.push(format!("geometric mean of Rust/C <= {MAX_GEOMEAN:.2}: {met} ({g:.3})"));
        }
        let mut hot = Vec::new();
        let mut all_met = true;
        for s in self.summaries.iter().filter(|s| s.workload.is_register_hot_path()) {
            for imp in [Implementation::C, Implementation::Rust] {
                if let Some(d) = s.implementation(imp).and_then(|i| i.over_floor_ns) {
                    all_met &= d.value <= HOT_PATH_BUDGET_NS;
                    hot.push(format!("{} {} {}", s.workload.name(), imp.name(), format_delta(d.value)));
                }
            }
        }
        if !hot.is_empty() {
            let met = if all_met { "met" } else { "missed" };
            lines.push(format!(
                "register hot paths within {HOT_PATH_BUDGET_NS:.0} ns of the floor: {met} ({})",
                hot.join(", ")
            ));
        }
        lines
    }

    /// Workloads whose whole interval is below 1, above 1, or neither.
    pub fn verdicts(&self) -> [Vec<String>; 3] {
        let mut out: [Vec<String>; 3] = Default::default();
        for (w, r) in self.ratios() {
            let slot = if r.high < 1.0 {
                0
            } else if r.low > 1.0 {
                1
            } else {
                2
            };
            out[slot].push(format!("{} ({:.3})", w.name(), r.value));
        }
        out
    }
}

/// The current UTC date and time, `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    utc_date(jiff::Timestamp::now())
}

/// A timestamp as the report prints it.
pub fn utc_date(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Nanoseconds with a unit that keeps three or four significant digits.
pub fn format_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "-".into()
    } else if ns.abs() >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns.abs() >= 100.0 {
        format!("{ns:.0} ns")
    } else {
        format!("{ns:.2} ns")
    }
}

/// A difference to the floor, signed.
fn format_delta(ns: f64) -> String {
    let s = format_ns(ns);
    if ns >= 0.0 { format!("+{s}") } else { s }
}

fn format_ratio(r: &Estimate) -> String {
    format!("{:.3} [{:.3}, {:.3}]", r.value, r.low, r.high)
}

#[cfg(test)]
mod tests;
