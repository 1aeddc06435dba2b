//! `portlab bench`: the C and the Rust devices timed side by side, through
//! the same ops table, against the floor (an empty device), in one process.
//!
//! The workloads are `portlab_bench`'s, the ones the criterion benches run.
//! Here every implementation of a workload runs interleaved (round-robin
//! batches, the order rotating each round), and the report gives the
//! median ns per operation, the Rust/C ratio as the median of the
//! per-round ratios with a distribution-free 95% interval (order
//! statistics of the batch distribution, no resampling), and each
//! implementation's time above the floor, also paired per round.
//!
//! `--markdown FILE` rewrites the generated section of `docs/benchmarks.md`
//! and `--svg FILE` draws the ratios; see that page for the method.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use portlab_bench::measure::{self, MeasureConfig, WorkloadSummary};
use portlab_bench::stats::Estimate;
use portlab_bench::{Implementation, Workload};

/// Confidence of every interval in the report.
const CONFIDENCE: f64 = 0.95;
/// Target: the register hot paths within this many ns of the floor.
const HOT_PATH_BUDGET_NS: f64 = 2.0;
/// Target: Rust/C on every workload.
const MAX_RATIO: f64 = 1.0;
/// Target: the geometric mean of Rust/C.
const MAX_GEOMEAN: f64 = 0.95;

/// Arguments of `portlab bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// A few seconds instead of about half a minute.
    #[arg(long)]
    quick: bool,
    /// Output on stdout: a table, or JSON for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Run only this workload (repeatable; default: every one).
    #[arg(long = "workload", value_name = "NAME")]
    workloads: Vec<String>,
    /// Run only this device's workloads (repeatable; with `--workload`,
    /// both sets).
    #[arg(long = "device", value_name = "NAME")]
    devices: Vec<String>,
    /// List every workload (device, name, implementations, what one
    /// operation is) and exit.
    #[arg(long)]
    list: bool,
    /// Also write the report as Markdown into FILE: its generated section
    /// is replaced and the rest kept (docs/benchmarks.md).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Also write an SVG bar chart of the Rust/C ratios to FILE
    /// (docs/benchmarks-ratios.svg).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Where the numbers were taken.
#[derive(Debug, Clone, PartialEq)]
struct Machine {
    cpu: String,
    nproc: usize,
    kernel: String,
    rustc: String,
    cc: String,
    optimised: bool,
}

/// A whole run: what `--format`, `--markdown` and `--svg` print.
#[derive(Debug, Clone, PartialEq)]
struct Report {
    quick: bool,
    date: String,
    command: String,
    elapsed: Duration,
    machine: Machine,
    summaries: Vec<WorkloadSummary>,
}

pub(crate) fn run(args: &BenchArgs) -> ExitCode {
    if args.list {
        let all = Workload::all();
        let device_width = all.iter().map(|w| w.device().len()).max().unwrap_or(0);
        let name_width = all.iter().map(|w| w.name().len()).max().unwrap_or(0);
        for w in all {
            let implementations: Vec<&str> = w.implementations().iter().map(|i| i.name()).collect();
            let implementations = implementations.join(",");
            outln!("{:<device_width$}  {:<name_width$}  {implementations:<28}  {}", w.device(), w.name(), w.unit());
        }
        return ExitCode::SUCCESS;
    }
    let mut workloads = Vec::new();
    for name in &args.workloads {
        match Workload::from_name(name) {
            Some(w) if !workloads.contains(&w) => workloads.push(w),
            Some(_) => {}
            None => {
                eprintln!("portlab bench: unknown workload `{name}` (`portlab bench --list` lists them)");
                return ExitCode::from(2);
            }
        }
    }
    for device in &args.devices {
        let of_device: Vec<Workload> = Workload::all().iter().copied().filter(|w| w.device() == device).collect();
        if of_device.is_empty() {
            let mut devices: Vec<&str> = Workload::all().iter().map(|w| w.device()).collect();
            devices.dedup();
            eprintln!(
                "portlab bench: no workload of a device `{device}` (devices with workloads: {})",
                devices.join(", ")
            );
            return ExitCode::from(2);
        }
        for w in of_device {
            if !workloads.contains(&w) {
                workloads.push(w);
            }
        }
    }
    if workloads.is_empty() {
        workloads = Workload::all().to_vec();
    }
    // The output files' folders are checked before the minutes of work,
    // not after.
    for path in args.markdown.iter().chain(&args.svg) {
        if let Some(dir) = crate::output::missing_folder(path) {
            eprintln!("portlab bench: cannot write {}: no folder {}", path.display(), dir.display());
            return ExitCode::from(2);
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("portlab bench: this is a debug build; build with --release or --profile lto for real figures");
    }
    let config = if args.quick { MeasureConfig::quick() } else { MeasureConfig::full() };
    let start = Instant::now();
    let mut summaries = Vec::new();
    let interrupted = crate::output::interrupt_flag();
    for workload in workloads {
        if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        eprintln!("portlab bench: {} ...", workload.name());
        match measure::measure(workload, &config) {
            Ok(m) => summaries.push(measure::summarize(&m, CONFIDENCE)),
            Err(e) => {
                eprintln!("portlab bench: {}: {e}", workload.name());
                return ExitCode::from(2);
            }
        }
    }
    let command = std::iter::once("portlab".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>();
    let report = Report {
        quick: args.quick,
        date: utc_now(),
        command: command.join(" "),
        elapsed: start.elapsed(),
        machine: Machine::probe(),
        summaries,
    };
    match args.format {
        Format::Text => out!("{}", text(&report)),
        Format::Json => out!("{}", json(&report)),
    }
    if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
        // A partial run must not replace the figures of a whole one.
        eprintln!(
            "portlab bench: interrupted after {} of the workloads; the report above covers those{}",
            report.summaries.len(),
            if args.markdown.is_some() || args.svg.is_some() { ", and no file was written" } else { "" }
        );
        return ExitCode::from(130);
    }
    if let Some(path) = &args.markdown {
        let svg_link = args.svg.as_deref().map(|svg| relative_link(path, svg));
        let existing = std::fs::read_to_string(path).ok();
        let content = splice(existing.as_deref(), &markdown(&report, svg_link.as_deref()));
        if let Err(e) = std::fs::write(path, content) {
            eprintln!("portlab bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.svg {
        if let Err(e) = std::fs::write(path, svg(&report)) {
            eprintln!("portlab bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

impl Machine {
    fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_string();
        let first_line = |program: &str, arg: &str| {
            std::process::Command::new(program)
                .arg(arg)
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| s.lines().next().map(str::to_string))
                .unwrap_or_else(|| "unknown".into())
        };
        Machine {
            cpu,
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |s| s.trim().to_string()),
            rustc: first_line("rustc", "--version"),
            cc: first_line("cc", "--version"),
            optimised: !cfg!(debug_assertions),
        }
    }
}

impl Report {
    fn ratios(&self) -> impl Iterator<Item = (Workload, Estimate)> + '_ {
        self.summaries.iter().filter_map(|s| s.rust_over_c.map(|r| (s.workload, r)))
    }

    fn geomean(&self) -> f64 {
        measure::geomean_rust_over_c(&self.summaries)
    }

    /// The geometric mean over the workloads where both PL011s use the
    /// same algorithm, and how many there are.
    fn geomean_same_algorithm(&self) -> (f64, usize) {
        let same: Vec<WorkloadSummary> = self
            .summaries
            .iter()
            .filter(|s| s.workload.algorithm_note().is_none() && s.rust_over_c.is_some())
            .cloned()
            .collect();
        (measure::geomean_rust_over_c(&same), same.len())
    }

    /// A sentence on the geometric means.
    fn geomean_line(&self) -> String {
        let count = self.ratios().count();
        let mut line = format!("geometric mean of Rust/C over {count} workloads: {:.3}", self.geomean());
        let (same, n) = self.geomean_same_algorithm();
        if n < count && n > 0 {
            let _ = write!(line, " ({same:.3} over the {n} where both do the same work)");
        }
        line
    }

    fn mode(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }

    fn config(&self) -> MeasureConfig {
        if self.quick { MeasureConfig::quick() } else { MeasureConfig::full() }
    }
}

/// Nanoseconds with a unit that keeps three or four significant digits.
fn format_ns(ns: f64) -> String {
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

fn median_of(s: &WorkloadSummary, imp: Implementation) -> String {
    s.implementation(imp).map_or("-".into(), |i| format_ns(i.median_ns.value))
}

fn over_floor_of(s: &WorkloadSummary, imp: Implementation) -> String {
    s.implementation(imp).and_then(|i| i.over_floor_ns).map_or("-".into(), |d| format_delta(d.value))
}

/// What a reader wants to know about the targets, one line each.
fn target_lines(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((worst, r)) = report.ratios().max_by(|a, b| a.1.value.total_cmp(&b.1.value)) {
        let met = if r.value <= MAX_RATIO { "met" } else { "missed" };
        lines.push(format!(
            "Rust/C <= {MAX_RATIO:.2} on every workload: {met} (highest: {} {})",
            worst.name(),
            format_ratio(&r)
        ));
        let g = report.geomean();
        let met = if g <= MAX_GEOMEAN { "met" } else { "missed" };
        lines.push(format!("geometric mean of Rust/C <= {MAX_GEOMEAN:.2}: {met} ({g:.3})"));
    }
    let mut hot = Vec::new();
    let mut all_met = true;
    for s in report.summaries.iter().filter(|s| s.workload.is_register_hot_path()) {
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
fn verdicts(report: &Report) -> [Vec<String>; 3] {
    let mut out: [Vec<String>; 3] = Default::default();
    for (w, r) in report.ratios() {
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

fn text(report: &Report) -> String {
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
    for line in target_lines(report) {
        let _ = writeln!(out, "target: {line}");
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// JSON has no NaN: an estimate that could not be made is `null`.
fn json_number(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { "null".into() }
}

fn json_estimate(e: &Estimate) -> String {
    format!("{{\"value\":{},\"low\":{},\"high\":{}}}", json_number(e.value), json_number(e.low), json_number(e.high))
}

fn json_option(e: Option<&Estimate>) -> String {
    e.map_or("null".into(), json_estimate)
}

fn json(report: &Report) -> String {
    let m = &report.machine;
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"mode\":{},\"date\":{},\"command\":{},\"elapsed_s\":{},\"confidence\":{CONFIDENCE},\
         \"interval\":\"median with order-statistic (binomial) interval; ratios and floor overheads paired per round\",",
        json_string(report.mode()),
        json_string(&report.date),
        json_string(&report.command),
        json_number(report.elapsed.as_secs_f64()),
    );
    let _ = write!(
        out,
        "\"machine\":{{\"cpu\":{},\"nproc\":{},\"kernel\":{},\"rustc\":{},\"cc\":{},\"optimised_build\":{}}},",
        json_string(&m.cpu),
        m.nproc,
        json_string(&m.kernel),
        json_string(&m.rustc),
        json_string(&m.cc),
        m.optimised
    );
    out.push_str("\"workloads\":[");
    for (i, s) in report.summaries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"name\":{},\"device\":{},\"unit\":{},\"description\":{},\"algorithm_note\":{},\"rounds\":{},\"coverage\":{},\"implementations\":[",
            json_string(s.workload.name()),
            json_string(s.workload.device()),
            json_string(s.workload.unit()),
            json_string(s.workload.description()),
            s.workload.algorithm_note().map_or("null".into(), json_string),
            s.rounds,
            json_number(s.coverage)
        );
        for (j, imp) in s.implementations.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":{},\"ops_per_batch\":{},\"median_ns\":{},\"over_floor_ns\":{}}}",
                json_string(imp.implementation.name()),
                imp.ops_per_batch,
                json_estimate(&imp.median_ns),
                json_option(imp.over_floor_ns.as_ref())
            );
        }
        let _ = write!(
            out,
            "],\"rust_over_c\":{},\"rust_native_over_c\":{}}}",
            json_option(s.rust_over_c.as_ref()),
            json_option(s.native_over_c.as_ref())
        );
    }
    let (same, _) = report.geomean_same_algorithm();
    let _ = writeln!(
        out,
        "],\"geomean_rust_over_c\":{},\"geomean_rust_over_c_same_algorithm\":{}}}",
        json_number(report.geomean()),
        json_number(same)
    );
    out
}

/// The lines that open and close the generated section of the Markdown.
const BEGIN_MARK: &str = "<!-- portlab bench: generated section begins; `portlab bench --markdown` rewrites it -->";
const END_MARK: &str = "<!-- portlab bench: generated section ends -->";

fn markdown(report: &Report, svg_link: Option<&str>) -> String {
    let m = &report.machine;
    let c = report.config();
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN_MARK}");
    let _ = writeln!(out);
    let _ =
        writeln!(out, "Generated on {} by `{}` ({:.0} s).", report.date, report.command, report.elapsed.as_secs_f64());
    let _ = writeln!(out);
    let _ = writeln!(out, "| machine | |");
    let _ = writeln!(out, "| --- | --- |");
    let _ = writeln!(out, "| CPU (`/proc/cpuinfo`) | {} |", m.cpu);
    let _ = writeln!(out, "| cores (`nproc`) | {} |", m.nproc);
    let _ = writeln!(out, "| kernel | {} |", m.kernel);
    let _ = writeln!(out, "| rustc | {} |", m.rustc);
    let _ = writeln!(out, "| C compiler | {} |", m.cc);
    let _ = writeln!(out, "| build | {} |", if m.optimised { "optimised" } else { "debug (figures mean little)" });
    let _ = writeln!(
        out,
        "| measurement | {} mode: batches of ~{} µs, {:.1} s per workload, at least {} rounds, implementations interleaved |",
        report.mode(),
        c.batch_time.as_micros(),
        c.workload_time.as_secs_f64(),
        c.min_rounds
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Median time per operation. Rust/C: median of the per-round ratios, with its {:.0}% interval. \
         Over floor: median of the per-round differences to the floor.",
        CONFIDENCE * 100.0
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| workload | one op | rounds | floor | C | Rust | Rust native | Rust/C [95% CI] | C over floor | Rust over floor |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
    for s in &report.summaries {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.workload.name(),
            s.workload.unit(),
            s.rounds,
            median_of(s, Implementation::Floor),
            median_of(s, Implementation::C),
            median_of(s, Implementation::Rust),
            median_of(s, Implementation::RustNative),
            s.rust_over_c.as_ref().map_or("-".into(), |r| format!("**{:.3}** [{:.3}, {:.3}]", r.value, r.low, r.high)),
            over_floor_of(s, Implementation::C),
            over_floor_of(s, Implementation::Rust),
        );
    }
    let _ = writeln!(out);
    if report.ratios().next().is_some() {
        let _ = writeln!(out, "{}.", capitalised(&report.geomean_line()));
        let _ = writeln!(out);
    }
    for s in &report.summaries {
        if let Some(note) = s.workload.algorithm_note() {
            let _ = writeln!(out, "Note on `{}`: {note}.", s.workload.name());
            let _ = writeln!(out);
        }
    }
    if let Some(link) = svg_link {
        let _ = writeln!(out, "![Rust/C time per operation, per workload, with 95% intervals]({link})");
        let _ = writeln!(out);
    }
    let [faster, slower, same] = verdicts(report);
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let _ = writeln!(out, "- Rust faster (whole interval below 1): {}", list(&faster));
    let _ = writeln!(out, "- Rust slower (whole interval above 1): {}", list(&slower));
    let _ = writeln!(out, "- no difference this run can resolve: {}", list(&same));
    let _ = writeln!(out);
    let _ = writeln!(out, "Targets:");
    let _ = writeln!(out);
    for line in target_lines(report) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{END_MARK}");
    out
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// `existing` with its generated section replaced by `generated`; the
/// section is appended when the file has none, and a new file gets a
/// title.
fn splice(existing: Option<&str>, generated: &str) -> String {
    match existing {
        Some(text) => match (text.find(BEGIN_MARK), text.find(END_MARK)) {
            (Some(begin), Some(end)) if end > begin => {
                let after = &text[end + END_MARK.len()..];
                let after = after.strip_prefix('\n').unwrap_or(after);
                format!("{}{generated}{after}", &text[..begin])
            }
            _ => {
                let sep = if text.is_empty() || text.ends_with("\n\n") {
                    ""
                } else if text.ends_with('\n') {
                    "\n"
                } else {
                    "\n\n"
                };
                format!("{text}{sep}{generated}")
            }
        },
        None => format!("# Benchmarks\n\n{generated}"),
    }
}

/// How the Markdown file links to the SVG: by file name when they share a
/// folder, else by the path given.
fn relative_link(markdown: &Path, svg: &Path) -> String {
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    match svg.file_name() {
        Some(name) if parent(markdown) == parent(svg) => name.to_string_lossy().into_owned(),
        _ => svg.display().to_string(),
    }
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A horizontal bar per workload: the Rust/C ratio, its interval as a
/// whisker, a dashed line at 1 (as fast as C).
fn svg(report: &Report) -> String {
    let rows: Vec<(String, Estimate)> = report.ratios().map(|(w, r)| (w.name().to_string(), r)).collect();
    let (left, plot_w, right, top, row_h) = (130.0, 460.0, 150.0, 84.0, 26.0);
    let height = top + row_h * (rows.len() as f64 + 1.0) + 40.0;
    let width = left + plot_w + right;
    let max_seen = rows.iter().map(|(_, r)| r.high).filter(|x| x.is_finite()).fold(1.0f64, f64::max);
    // The scale goes to the next 0.25 above the largest bound, at least 1.25.
    let x_max = ((max_seen * 1.05) / 0.25).ceil().max(5.0) * 0.25;
    let x = |v: f64| left + plot_w * (v.clamp(0.0, x_max) / x_max);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Rust time / C time, per operation</text>"
    );
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"38\" fill=\"#555\">median of per-round ratios, whiskers: 95% interval; below 1: Rust faster</text>"
    );
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"54\" fill=\"#555\">portlab bench, {} mode, {}</text>",
        report.mode(),
        xml_text(&report.date)
    );
    let bottom = top + row_h * (rows.len() as f64 + 1.0);
    let mut tick = 0.0;
    while tick <= x_max + 1e-9 {
        let tx = x(tick);
        let _ = writeln!(
            out,
            "<line x1=\"{tx:.1}\" y1=\"{top}\" x2=\"{tx:.1}\" y2=\"{bottom:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{tick:.2}</text>",
            bottom + 16.0
        );
        tick += 0.25;
    }
    let geomean = report.geomean();
    let all_rows = rows.iter().map(|(name, r)| (name.as_str(), *r, true)).chain(geomean.is_finite().then_some((
        "geomean",
        Estimate { value: geomean, low: geomean, high: geomean },
        false,
    )));
    for (i, (name, r, whisker)) in all_rows.enumerate() {
        let y = top + row_h * i as f64 + 4.0;
        let bar_h = row_h - 8.0;
        let mid = y + bar_h / 2.0;
        let color = if !whisker {
            "#34495e"
        } else if r.high < 1.0 {
            "#2e8b57"
        } else if r.low > 1.0 {
            "#c0392b"
        } else {
            "#7f8c8d"
        };
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            mid + 4.0,
            xml_text(name)
        );
        let _ = writeln!(
            out,
            "<rect x=\"{left}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"{color}\" fill-opacity=\"0.8\"/>",
            x(r.value) - left
        );
        if whisker {
            let (lo, hi) = (x(r.low), x(r.high));
            let _ = writeln!(
                out,
                "<path d=\"M{lo:.1},{mid:.1} H{hi:.1} M{lo:.1},{:.1} V{:.1} M{hi:.1},{:.1} V{:.1}\" stroke=\"black\" fill=\"none\"/>",
                mid - 5.0,
                mid + 5.0,
                mid - 5.0,
                mid + 5.0
            );
        }
        let label = if whisker { format_ratio(&r) } else { format!("{:.3}", r.value) };
        let _ = writeln!(out, "<text x=\"{:.1}\" y=\"{:.1}\">{label}</text>", left + plot_w + 8.0, mid + 4.0);
    }
    let one = x(1.0);
    let _ = writeln!(
        out,
        "<line x1=\"{one:.1}\" y1=\"{:.1}\" x2=\"{one:.1}\" y2=\"{bottom:.1}\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{one:.1}\" y=\"{:.1}\" text-anchor=\"middle\">1.0 = C</text>",
        top - 6.0,
        top - 8.0
    );
    out.push_str("</svg>\n");
    out
}

/// The current UTC date and time, `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    utc_date(secs)
}

fn utc_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01, by
/// counting 400-year eras (146 097 days each) from 0000-03-01, so that
/// the leap day falls at the end of each counted year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(value: f64, low: f64, high: f64) -> Estimate {
        Estimate { value, low, high }
    }

    /// A report from a real, tiny measurement (no figure is checked).
    fn tiny_report() -> Report {
        let config = MeasureConfig {
            batch_time: Duration::from_micros(20),
            workload_time: Duration::ZERO,
            min_rounds: 3,
            max_rounds: 3,
        };
        let summaries = ["fr-poll", "save-load"]
            .into_iter()
            .map(|name| Workload::from_name(name).expect("the PL011 declares it"))
            .map(|w| measure::summarize(&measure::measure(w, &config).unwrap(), CONFIDENCE))
            .collect();
        Report {
            quick: true,
            date: utc_date(0),
            command: "portlab bench --quick".into(),
            elapsed: Duration::from_millis(1500),
            machine: Machine {
                cpu: "Test \"CPU\"".into(),
                nproc: 2,
                kernel: "6.1".into(),
                rustc: "rustc 1.95.0".into(),
                cc: "cc".into(),
                optimised: false,
            },
            summaries,
        }
    }

    #[test]
    fn json_has_every_workload_and_implementation() {
        let report = tiny_report();
        let j = json(&report);
        assert!(j.starts_with("{\"mode\":\"quick\""), "{j}");
        assert!(j.ends_with("}\n"));
        assert!(j.contains("\"cpu\":\"Test \\\"CPU\\\"\""), "strings are escaped");
        for name in ["fr-poll", "save-load", "floor", "\"c\"", "rust-native", "rust_over_c", "_same_algorithm\":"] {
            assert!(j.contains(name), "{name} in {j}");
        }
        assert_eq!(j.matches('{').count(), j.matches('}').count());
        assert_eq!(j.matches('[').count(), j.matches(']').count());
        assert!(!j.contains("NaN") && !j.contains("inf"));
    }

    #[test]
    fn text_table_has_a_row_per_workload_and_the_targets() {
        let t = text(&tiny_report());
        assert!(t.lines().any(|l| l.starts_with("fr-poll ")), "{t}");
        assert!(t.lines().any(|l| l.starts_with("save-load ")), "{t}");
        assert!(t.contains("geometric mean of Rust/C over 2 workloads"), "{t}");
        assert!(t.contains("over the 1 where both do the same work"), "{t}");
        assert!(t.contains("note: save-load: the C model computes"), "{t}");
        assert!(t.contains("target: register hot paths within 2 ns of the floor"));
    }

    #[test]
    fn markdown_section_is_replaced_in_place() {
        let report = tiny_report();
        let generated = markdown(&report, Some("benchmarks-ratios.svg"));
        assert!(generated.starts_with(BEGIN_MARK) && generated.trim_end().ends_with(END_MARK));
        assert!(generated.contains("| `fr-poll` | FR read |"));
        assert!(generated.contains("![Rust/C"));
        let doc = format!("# Title\n\nprose before\n\n{BEGIN_MARK}\nold figures\n{END_MARK}\n\nprose after\n");
        let new = splice(Some(&doc), &generated);
        assert!(new.starts_with("# Title\n\nprose before\n\n"));
        assert!(new.ends_with("\nprose after\n"));
        assert!(!new.contains("old figures"));
        assert_eq!(splice(Some(&new), &generated), new, "idempotent");
        assert_eq!(splice(None, "X"), "# Benchmarks\n\nX");
        assert_eq!(splice(Some("text"), "X"), "text\n\nX");
    }

    #[test]
    fn svg_draws_a_bar_per_ratio_and_the_line_at_one() {
        let mut report = tiny_report();
        report.summaries[0].rust_over_c = Some(estimate(0.9, 0.85, 0.95));
        report.summaries[1].rust_over_c = Some(estimate(1.1, 1.05, 1.3));
        let s = svg(&report);
        assert!(s.starts_with("<svg ") && s.ends_with("</svg>\n"));
        assert_eq!(s.matches("<rect ").count(), 1 + 2 + 1, "background, two workloads, geomean");
        assert!(s.contains("1.0 = C") && s.contains("stroke-dasharray"));
        assert!(s.contains("#2e8b57") && s.contains("#c0392b"), "faster green, slower red");
        assert!(s.contains("0.900 [0.850, 0.950]"));
    }

    #[test]
    fn targets_report_met_and_missed() {
        let mut report = tiny_report();
        report.summaries[0].rust_over_c = Some(estimate(0.9, 0.85, 0.95));
        report.summaries[1].rust_over_c = Some(estimate(0.8, 0.7, 0.9));
        let lines = target_lines(&report);
        assert!(lines[0].contains(": met (highest: fr-poll"), "{lines:?}");
        assert!(lines[1].contains(": met (0.849)"), "{lines:?}");
        report.summaries[1].rust_over_c = Some(estimate(1.2, 1.1, 1.3));
        let lines = target_lines(&report);
        assert!(lines[0].contains("missed (highest: save-load"), "{lines:?}");
        let [faster, slower, same] = verdicts(&report);
        assert_eq!((faster.len(), slower.len(), same.len()), (1, 1, 0));
    }

    #[test]
    fn formats() {
        assert_eq!(format_ns(2.345), "2.35 ns");
        assert_eq!(format_ns(123.4), "123 ns");
        assert_eq!(format_ns(12_345.0), "12.35 µs");
        assert_eq!(format_ns(2_500_000.0), "2.500 ms");
        assert_eq!(format_delta(1.5), "+1.50 ns");
        assert_eq!(format_delta(-0.5), "-0.50 ns");
        assert_eq!(json_number(f64::NAN), "null");
        assert_eq!(relative_link(Path::new("docs/b.md"), Path::new("docs/c.svg")), "c.svg");
        assert_eq!(relative_link(Path::new("b.md"), Path::new("out/c.svg")), "out/c.svg");
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_date(4_107_542_399), "2100-02-28 23:59 UTC");
    }
}
