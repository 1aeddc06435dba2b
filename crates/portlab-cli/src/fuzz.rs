//! `portlab fuzz`: long lockstep property runs of C against Rust, with a
//! progress bar (indicatif; a line every 10 s without a terminal), a
//! summary and the equivalence coverage report, as text or JSON.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use portlab_board::{Allowance, Implementation, Registry};
use portlab_equiv::coverage::DeviceSummary;
use portlab_equiv::{
    DeviceSet, Equivalence, Finding, Progress, RunOptions, Summary, registered_allowances, run_parallel,
};
use serde::Serialize;

use crate::select::plural;

/// Arguments of `portlab fuzz`.
#[derive(Debug, Args)]
pub(crate) struct FuzzArgs {
    /// Number of cases to run (at least 1).
    #[arg(long, conflicts_with = "time", value_parser = parse_cases)]
    cases: Option<u64>,
    /// How long to run: `90s`, `5m`, `1m30s`, `1h`, `500ms` (a bare number
    /// is seconds).
    #[arg(long, value_parser = parse_duration)]
    time: Option<Duration>,
    /// Seed of the case generator (default: from the clock; printed so a
    /// run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Devices the generated guest drives: any registered device kind
    /// (`portlab list`), or `all` (every one at once).
    #[arg(long, default_value = "all")]
    device: DeviceSet,
    /// Pin a device instance to one implementation on both sides, as
    /// NAME=IMPL (repeatable): the other devices are compared.
    #[arg(long = "pin", value_name = "NAME=IMPL", value_parser = crate::select::parse_device_choice)]
    pins: Vec<(String, Implementation)>,
    /// Compare crossed mixes: the UART in C and the RTC in Rust on one
    /// side, the reverse on the other.
    #[arg(long, conflicts_with = "pins")]
    crossed: bool,
    /// Most chunks of guest behaviour per case.
    #[arg(long, default_value_t = 40)]
    max_chunks: usize,
    /// Where to write the shrunk trace of a divergence.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Threads running cases, each with its own seed (job i runs seed
    /// S+i); default: one per core.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// The summary on stdout: text, or JSON for CI (summary, coverage,
    /// findings).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// A case count: a whole number, at least 1.
fn parse_cases(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("run at least 1 case".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a whole number of cases, found `{s}`")),
    }
}

/// Parses a duration as humantime does (`90s`, `5m`, `1m30s`, `1h`,
/// `250ms`), or a bare number of seconds (`60`, `1.5`).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let parsed = match s.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Duration::from_secs_f64(seconds),
        Ok(_) => return Err(format!("the duration must be positive, found `{s}`")),
        Err(_) => humantime::parse_duration(s)
            .map_err(|e| format!("expected a duration such as 60s, 5m or 1m30s, found `{s}` ({e})"))?,
    };
    if parsed.is_zero() {
        return Err(format!("the duration must be positive, found `{s}`"));
    }
    Ok(parsed)
}

/// Progress on stderr: a bar on a terminal, else a line every 10 s so a
/// long run in CI or a log is seen to be alive.
struct Reporter {
    bar: Option<ProgressBar>,
    last_line: Instant,
    by_cases: bool,
}

impl Reporter {
    fn new(args: &FuzzArgs, cases: Option<u64>) -> Reporter {
        let by_cases = args.time.is_none();
        let bar = std::io::stderr().is_terminal().then(|| {
            // The bar counts cases, or milliseconds of a timed run.
            let length = if by_cases { cases.unwrap_or(0) } else { args.time.map_or(0, |t| t.as_millis() as u64) };
            let bar = ProgressBar::new(length);
            let template = "[{bar:30}] {percent:>3}%  {msg}  ({elapsed} elapsed)";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("#>."));
            }
            bar
        });
        Reporter { bar, last_line: Instant::now(), by_cases }
    }

    fn update(&mut self, p: &Progress) {
        let rate = p.ops as f64 / p.elapsed.as_secs_f64().max(1e-9);
        match &self.bar {
            Some(bar) => {
                bar.set_position(if self.by_cases { p.cases } else { p.elapsed.as_millis() as u64 });
                bar.set_message(format!("{} cases  {} ops  {rate:.0} ops/s", p.cases, p.ops));
            }
            None if self.last_line.elapsed() >= Duration::from_secs(10) => {
                self.last_line = Instant::now();
                eprintln!("portlab fuzz: {:.0} s, {} cases, {} operations", p.elapsed.as_secs_f64(), p.cases, p.ops);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// The command that runs the same cases again (and more).
fn rerun_command(args: &FuzzArgs, seed: u64, jobs: usize) -> String {
    let mut again = format!("portlab fuzz --seed {seed} --jobs {jobs} --device {}", args.device);
    if args.crossed {
        again.push_str(" --crossed");
    }
    for (name, imp) in &args.pins {
        again.push_str(&format!(" --pin {name}={imp}"));
    }
    if args.max_chunks != 40 {
        again.push_str(&format!(" --max-chunks {}", args.max_chunks));
    }
    again
}

/// `portlab fuzz --format json`: one object on stdout.
#[derive(Serialize)]
struct JsonReport {
    sides: String,
    devices: String,
    seed: u64,
    cases: u64,
    operations: u64,
    elapsed_s: f64,
    operations_per_s: f64,
    interrupted: bool,
    rerun: String,
    jobs: usize,
    operations_per_s_per_job: f64,
    /// Calls into the first side's devices (MMIO, timer expiries, input,
    /// resets, loads), and per second per job.
    device_calls: u64,
    device_calls_per_s_per_job: f64,
    divergences: usize,
    findings: Vec<JsonFinding>,
    coverage: Vec<DeviceSummary>,
}

#[derive(Serialize)]
struct JsonFinding {
    seed: u64,
    case: u64,
    divergence: String,
    commands: usize,
    shrunk_from: usize,
    trace_file: Option<String>,
    replay: Option<String>,
    trace: String,
}

/// Writes the shrunk trace of a finding; the file's path, or None (with
/// the reason on stderr) when it cannot be written.
fn write_finding(out: &Path, finding: &Finding) -> Option<PathBuf> {
    let file = out.join(format!("divergence-seed-{}-case-{}.trace", finding.seed, finding.case));
    match std::fs::write(&file, finding.to_trace()) {
        Ok(()) => Some(file),
        Err(e) => {
            eprintln!("portlab fuzz: cannot write {}: {e}", file.display());
            None
        }
    }
}

fn print_text(args: &FuzzArgs, seed: u64, summary: &Summary, written: Option<&Path>) {
    outln!("seed            {seed}");
    outln!("cases           {}", summary.cases);
    outln!("operations      {} (on each implementation)", summary.ops);
    outln!("elapsed         {:.2} s", summary.elapsed.as_secs_f64());
    outln!("jobs            {} (seeds {seed}..={})", summary.jobs, portlab_equiv::job_seed(seed, summary.jobs - 1));
    outln!("operations/s    {:.0} ({:.0} per job)", summary.ops_per_second(), summary.ops_per_second_per_job());
    outln!(
        "device calls    {} ({:.0}/s per job: MMIO, timer expiries, input, resets, loads)",
        summary.device_calls,
        summary.device_calls_per_second_per_job()
    );
    outln!("divergences     {}", usize::from(summary.finding.is_some()));
    outln!();
    out!("{}", summary.coverage.report());
    if let Some(finding) = &summary.finding {
        outln!();
        outln!("The implementations diverge. Shrunk trace ({} commands):", finding.commands.len());
        out!("{}", finding.to_trace());
        if let Some(file) = written {
            outln!("written to {}; replay with `portlab compare {}`", file.display(), file.display());
        }
    } else if summary.interrupted {
        outln!();
        outln!(
            "Interrupted after {} cases, no divergence. The same cases again, and more: `{}`",
            summary.cases,
            rerun_command(args, seed, summary.jobs)
        );
    }
}

fn print_json(args: &FuzzArgs, eq: &Equivalence, seed: u64, summary: &Summary, written: Option<&Path>) {
    let findings = summary
        .finding
        .iter()
        .map(|f| JsonFinding {
            seed: f.seed,
            case: f.case,
            divergence: f.description(),
            commands: f.commands.len(),
            shrunk_from: f.original_len,
            trace_file: written.map(|p| p.display().to_string()),
            replay: written.map(|p| format!("portlab compare {}", p.display())),
            trace: f.to_trace(),
        })
        .collect();
    let report = JsonReport {
        sides: eq.label(),
        devices: args.device.to_string(),
        seed,
        cases: summary.cases,
        operations: summary.ops,
        elapsed_s: summary.elapsed.as_secs_f64(),
        operations_per_s: summary.ops_per_second(),
        interrupted: summary.interrupted,
        rerun: rerun_command(args, seed, summary.jobs),
        jobs: summary.jobs,
        operations_per_s_per_job: summary.ops_per_second_per_job(),
        device_calls: summary.device_calls,
        device_calls_per_s_per_job: summary.device_calls_per_second_per_job(),
        divergences: usize::from(summary.finding.is_some()),
        findings,
        coverage: summary.coverage.summary(),
    };
    match serde_json::to_string(&report) {
        Ok(text) => outln!("{text}"),
        Err(e) => eprintln!("portlab fuzz: cannot write the JSON report: {e}"),
    }
}

pub(crate) fn run_fuzz(args: &FuzzArgs) -> ExitCode {
    let allowances = match registered_allowances() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("portlab fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    // Checked before the run: a finding must have somewhere to go.
    if !args.out.is_dir() {
        eprintln!("portlab fuzz: --out {}: no such folder", args.out.display());
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let options = RunOptions {
        cases: args.cases.or(if args.time.is_none() { Some(1000) } else { None }),
        time: args.time,
        seed,
        max_chunks: args.max_chunks,
        devices: args.device,
        stop: Some(crate::output::interrupt_flag()),
    };
    let make_eq = |allowances: Vec<Allowance>| -> Result<Equivalence, String> {
        if args.crossed {
            return Ok(Equivalence::crossed(Registry::builtin(), allowances));
        }
        let eq = Equivalence::with_pins(Registry::builtin(), &args.pins, allowances)?;
        if eq.side_a == eq.side_b {
            return Err("every device is pinned, so both sides run the same implementations".into());
        }
        Ok(eq)
    };
    // Checked once here; each job then builds its own (the device tables
    // are per thread).
    let eq = match make_eq(allowances.clone()) {
        Ok(eq) => eq,
        Err(e) => {
            eprintln!("portlab fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let jobs = args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
    eprintln!(
        "portlab fuzz: {} driving {}, seed {seed}, {jobs} {}",
        eq.label(),
        args.device,
        plural(jobs as u64, "job")
    );
    let mut reporter = Reporter::new(args, options.cases);
    // The same inputs as the check above, so each job's build succeeds too.
    let build = || make_eq(allowances.clone()).expect("the board layouts were checked above");
    let summary = run_parallel(&build, &options, jobs, |p| reporter.update(p));
    reporter.finish();
    let written = summary.finding.as_ref().and_then(|f| write_finding(&args.out, f));
    match args.format {
        Format::Text => print_text(args, seed, &summary, written.as_deref()),
        Format::Json => print_json(args, &eq, seed, &summary, written.as_deref()),
    }
    if summary.finding.is_some() {
        ExitCode::from(1)
    } else if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("60").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2min").unwrap(), Duration::from_secs(120));
        for bad in ["", "s", "5x", "-1s", "-1", "0s", "0", "abc", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
