//! `portlab run`: traces in, the canonical event log out.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Args;
use portlab_board::{Diagnostic, Event, Registry, RunSink, Runner, run_trace_on};
use portlab_device::LogKind;

use crate::select::{ImplArgs, board_config, open_trace, plural};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Trace files (`-` reads standard input).
    #[arg(required = true, value_name = "TRACE")]
    traces: Vec<String>,
    #[command(flatten)]
    impls: ImplArgs,
    /// Print the devices' diagnostics (guest errors) on stderr.
    #[arg(short, long)]
    verbose: bool,
    /// Start each trace from the state `portlab qemu import --out DIR`
    /// wrote: the devices' properties and blobs, and the board's clock at
    /// the save's virtual time.
    #[arg(long, value_name = "DIR")]
    start: Option<std::path::PathBuf>,
}

struct StdoutSink<W: Write> {
    out: W,
    verbose: bool,
    file: String,
    error: Option<io::Error>,
    /// Shadow devices' reports that their two implementations disagree.
    divergences: u64,
}

impl<W: Write> RunSink for StdoutSink<W> {
    fn event(&mut self, names: &[String], event: &Event) {
        if self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{}", event.display(&names[event.dev()])) {
                self.error = Some(e);
            }
        }
    }
    fn diagnostic(&mut self, line: u64, names: &[String], d: &Diagnostic) {
        // A shadow's divergence is a finding, not a guest error: always
        // shown, and the run exits 1.
        if d.kind == LogKind::Divergence {
            self.divergences += 1;
            eprintln!("{}:{line}: {}: {}: {}", self.file, names[d.dev], d.kind.label(), d.message);
            if self.divergences == 1 {
                eprintln!("{}:{line}: replay C against Rust with `portlab compare {}`", self.file, self.file);
            }
        } else if self.verbose {
            eprintln!("{}:{line}: {}: {}: {}", self.file, names[d.dev], d.kind.label(), d.message);
        }
    }
}

pub(crate) fn run(args: &RunArgs) -> ExitCode {
    let registry = Registry::builtin();
    let config = match board_config(&registry, &args.impls) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portlab run: {e}");
            return ExitCode::from(2);
        }
    };
    let start = match &args.start {
        Some(dir) => match portlab_qemu::saved::read_dir(&registry, dir) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("portlab run: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let stdout = io::stdout();
    let mut worst = 0u8;
    for path in &args.traces {
        if args.traces.len() > 1 {
            eprintln!("==> {path}");
        }
        let reader = match open_trace(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("portlab run: cannot open {path}: {e}");
                worst = worst.max(2);
                continue;
            }
        };
        let mut sink = StdoutSink {
            out: BufWriter::new(stdout.lock()),
            verbose: args.verbose,
            file: path.clone(),
            error: None,
            divergences: 0,
        };
        let runner = match &start {
            Some(s) => {
                match portlab_qemu::convert::start_runner(&registry, config.clone(), s.vm_clock_ns, &s.devices) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!(
                            "portlab run: cannot start from {}: {e}",
                            args.start.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            None => Runner::new(&registry, config.clone()),
        };
        let result = run_trace_on(path, reader, runner, &mut sink);
        let flushed = sink.out.flush();
        if let Some(e) = sink.error.take().or(flushed.err()) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return ExitCode::from(worst);
            }
            eprintln!("portlab run: cannot write the event log: {e}");
            return ExitCode::from(2);
        }
        if sink.divergences > 0 {
            worst = worst.max(1);
        }
        match result {
            Ok(summary) => {
                let guest_errors = summary.diagnostics - sink.divergences;
                if guest_errors > 0 && !args.verbose {
                    eprintln!(
                        "{path}: {guest_errors} device {} (guest errors); --verbose shows them",
                        plural(guest_errors, "diagnostic")
                    );
                }
            }
            Err(e) => {
                eprintln!("portlab run: {e}");
                worst = worst.max(e.exit_code());
            }
        }
    }
    ExitCode::from(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> StdoutSink<Vec<u8>> {
        StdoutSink { out: Vec::new(), verbose: false, file: "t.trace".into(), error: None, divergences: 0 }
    }

    #[test]
    fn a_shadow_divergence_is_counted_as_a_finding_and_a_guest_error_is_not() {
        let names = vec!["uart".to_string()];
        let mut s = sink();
        let guest_error = Diagnostic { dev: 0, kind: LogKind::GuestError, message: "bad offset".into() };
        s.diagnostic(3, &names, &guest_error);
        assert_eq!(s.divergences, 0);
        let divergence = Diagnostic { dev: 0, kind: LogKind::Divergence, message: "x: first divergence".into() };
        s.diagnostic(4, &names, &divergence);
        s.diagnostic(9, &names, &divergence);
        assert_eq!(s.divergences, 2, "cmd_run exits 1 when this is not 0");
        assert!(s.out.is_empty(), "diagnostics go to stderr, never into the event log");
    }
}
