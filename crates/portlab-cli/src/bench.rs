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
//! and `--svg FILE` draws the ratios; see that page for the method. The
//! report and its renderers are `portlab_bench::report`'s: this module
//! reads options, runs the workloads and writes the files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use portlab_bench::Workload;
use portlab_bench::measure::{self, MeasureConfig};
use portlab_bench::report::{self, CONFIDENCE, Machine, Report};

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
    /// Measure nothing: render reports saved with `--format json`, one per
    /// build, side by side (repeatable; the text tables, `--markdown`,
    /// `--svg`). crates/portlab-bench/scripts/report.sh uses it to put the
    /// release and the LTO build into docs/benchmarks.md.
    #[arg(long = "from-json", value_name = "FILE", conflicts_with_all = ["quick", "workloads", "devices", "list"])]
    from_json: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
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
    if !args.from_json.is_empty() {
        return render_saved(args);
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
    let report = Report {
        quick: args.quick,
        date: report::utc_now(),
        command: command_line(),
        elapsed: start.elapsed(),
        machine: Machine::probe(),
        summaries,
    };
    match args.format {
        Format::Text => out!("{}", report::text(&report)),
        Format::Json => out!("{}", report::json(&report)),
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
    let svg_link = args.markdown.as_deref().zip(args.svg.as_deref()).map(|(md, svg)| report::relative_link(md, svg));
    write_files(args, &report::markdown(&report, svg_link.as_deref()), std::slice::from_ref(&report))
}

/// This run's command line, as the reports print it (`portlab bench ...`).
fn command_line() -> String {
    std::iter::once("portlab".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}

/// `--markdown` and `--svg`: the generated section spliced into its page,
/// the chart written whole.
fn write_files(args: &BenchArgs, section: &str, reports: &[Report]) -> ExitCode {
    if let Some(path) = &args.markdown {
        let existing = std::fs::read_to_string(path).ok();
        let content = report::splice(existing.as_deref(), section);
        if let Err(e) = std::fs::write(path, content) {
            eprintln!("portlab bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.svg {
        if let Err(e) = std::fs::write(path, report::svg(reports)) {
            eprintln!("portlab bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// `--from-json`: saved reports, one per build, rendered side by side.
fn render_saved(args: &BenchArgs) -> ExitCode {
    if args.format == Format::Json {
        eprintln!("portlab bench: --format json with --from-json: the files given are the JSON already");
        return ExitCode::from(2);
    }
    let mut reports = Vec::new();
    for path in &args.from_json {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("portlab bench: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        match report::from_json(&text) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("portlab bench: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = report::check_builds(&reports) {
        eprintln!("portlab bench: {e}");
        return ExitCode::from(2);
    }
    for path in args.markdown.iter().chain(&args.svg) {
        if let Some(dir) = crate::output::missing_folder(path) {
            eprintln!("portlab bench: cannot write {}: no folder {}", path.display(), dir.display());
            return ExitCode::from(2);
        }
    }
    for (path, r) in args.from_json.iter().zip(&reports) {
        outln!("build `{}` ({}), measured {}:", r.machine.profile, path.display(), r.date);
        out!("{}", report::text(r));
        outln!();
    }
    let svg_link = args.markdown.as_deref().zip(args.svg.as_deref()).map(|(md, svg)| report::relative_link(md, svg));
    let section = if reports.len() == 1 {
        report::markdown(&reports[0], svg_link.as_deref())
    } else {
        match report::markdown_builds(&reports, &command_line(), svg_link.as_deref()) {
            Ok(section) => section,
            Err(e) => {
                eprintln!("portlab bench: {e}");
                return ExitCode::from(2);
            }
        }
    };
    write_files(args, &section, &reports)
}
