//! `portlab fuzz`: long lockstep property runs of C against Rust, with a
//! progress bar, a summary and the equivalence coverage report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use portlab_board::{Implementation, Registry};
use portlab_equiv::{DeviceSet, Equivalence, Progress, RunOptions, registered_allowances, run};

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

fn draw(p: &Progress, args: &FuzzArgs) {
    let fraction = match (args.cases, args.time) {
        (Some(n), _) if n > 0 => p.cases as f64 / n as f64,
        (_, Some(t)) => p.elapsed.as_secs_f64() / t.as_secs_f64(),
        _ => 0.0,
    }
    .clamp(0.0, 1.0);
    let width = 30;
    let filled = (fraction * width as f64) as usize;
    let rate = p.ops as f64 / p.elapsed.as_secs_f64().max(1e-9);
    eprint!(
        "\r[{}{}] {:>3.0}%  {} cases  {} ops  {:.0} ops/s ",
        "#".repeat(filled),
        ".".repeat(width - filled),
        fraction * 100.0,
        p.cases,
        p.ops,
        rate
    );
    let _ = std::io::stderr().flush();
}

pub(crate) fn run_fuzz(args: &FuzzArgs) -> ExitCode {
    let allowances = match registered_allowances() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("portlab fuzz: {e}");
            return ExitCode::from(2);
        }
    };
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
    let eq = if args.crossed {
        Equivalence::crossed(Registry::builtin(), allowances)
    } else {
        match Equivalence::with_pins(Registry::builtin(), &args.pins, allowances) {
            Ok(eq) if eq.side_a != eq.side_b => eq,
            Ok(_) => {
                eprintln!("portlab fuzz: every device is pinned, so both sides run the same implementations");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("portlab fuzz: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let tty = std::io::stderr().is_terminal();
    eprintln!("portlab fuzz: {} driving {}, seed {seed}", eq.label(), args.device);
    // Without a terminal (CI, a log file) a progress line every 10 s
    // instead of a redrawn bar, so a long run is seen to be alive.
    let mut last_line = std::time::Instant::now();
    let summary = run(&eq, &options, |p| {
        if tty {
            draw(p, args);
        } else if last_line.elapsed() >= Duration::from_secs(10) {
            last_line = std::time::Instant::now();
            eprintln!("portlab fuzz: {:.0} s, {} cases, {} operations", p.elapsed.as_secs_f64(), p.cases, p.ops);
        }
    });
    if tty {
        eprintln!();
    }
    let divergences = u64::from(summary.finding.is_some());
    outln!("seed            {seed}");
    outln!("cases           {}", summary.cases);
    outln!("operations      {} (on each implementation)", summary.ops);
    outln!("elapsed         {:.2} s", summary.elapsed.as_secs_f64());
    outln!("operations/s    {:.0}", summary.ops_per_second());
    outln!("divergences     {divergences}");
    outln!();
    out!("{}", summary.coverage.report());
    if let Some(finding) = summary.finding {
        let file = args.out.join(format!("divergence-seed-{}-case-{}.trace", finding.seed, finding.case));
        let trace = finding.to_trace();
        outln!();
        outln!("The implementations diverge. Shrunk trace ({} commands):", finding.commands.len());
        out!("{trace}");
        match std::fs::write(&file, &trace) {
            Ok(()) => outln!("written to {}; replay with `portlab compare {}`", file.display(), file.display()),
            Err(e) => eprintln!("portlab fuzz: cannot write {}: {e}", file.display()),
        }
        return ExitCode::from(1);
    }
    if summary.interrupted {
        outln!();
        let mut again = format!("portlab fuzz --seed {seed} --device {}", args.device);
        if args.crossed {
            again.push_str(" --crossed");
        }
        for (name, imp) in &args.pins {
            again.push_str(&format!(" --pin {name}={imp}"));
        }
        if args.max_chunks != 40 {
            again.push_str(&format!(" --max-chunks {}", args.max_chunks));
        }
        outln!("Interrupted after {} cases, no divergence. The same cases again, and more: `{again}`", summary.cases);
        return ExitCode::from(130);
    }
    ExitCode::SUCCESS
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
