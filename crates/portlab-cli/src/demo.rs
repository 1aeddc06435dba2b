//! `portlab demo`: the whole port in one command: the same guest on the
//! C models, the Rust rewrites, a mix, and a mid-run migration from C to
//! Rust, with the event logs compared. `--misported` swaps in a rewrite
//! with a planted bug, to show what a divergence looks like.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use portlab_board::Registry;
use portlab_demo::misport::{MISPORTED_KIND, misported};
use portlab_demo::{DemoRun, MIGRATION_NOTE, introduction, run_demo_on, scenario};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Also write the guest's commands of the first run as a trace FILE,
    /// to replay with `portlab run FILE` or `portlab compare FILE`.
    #[arg(long, value_name = "FILE")]
    save_trace: Option<PathBuf>,
    /// Run the Rust PL031 with a planted off-by-one (an alarm one second
    /// late), to see what the tools report when a port is wrong. Only the
    /// demo can select it; the demo then exits 1.
    #[arg(long)]
    misported: bool,
}

/// What the table's columns count, in one line under it.
const LEGEND: &str = "columns: guest commands (MMIO, clock and input), register reads, IRQ line changes, \
                      bytes sent, interrupts the guest handled";

pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    // Checked before the runs, so a bad path costs nothing.
    if let Some(dir) = args.save_trace.as_deref().and_then(crate::output::missing_folder) {
        eprintln!("portlab demo: cannot write the trace: no folder {}", dir.display());
        return ExitCode::from(2);
    }
    let registry = if args.misported {
        match misported(&Registry::builtin()) {
            Some(r) => r,
            None => {
                eprintln!(
                    "portlab demo: --misported compares the planted bug with the C model of {MISPORTED_KIND}, \
                     which this build does not have (a stage 3 build)"
                );
                return ExitCode::from(2);
            }
        }
    } else {
        Registry::builtin()
    };
    outln!("{}", introduction());
    if args.misported {
        outln!(
            "--misported: this demo's Rust {MISPORTED_KIND} has a planted bug (crates/portlab-demo/src/misport.rs):"
        );
        outln!("it stores the alarm one second late.");
        outln!();
    }
    let mut results = Vec::new();
    for run in scenario(&registry) {
        let label = run.label;
        match run_demo_on(&registry, run.config, run.migrate_after) {
            Ok(run) => results.push((label, run)),
            Err(e) => {
                eprintln!("portlab demo: the guest failed on {label}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let (first_label, reference) = &results[0];
    if let Some(path) = &args.save_trace {
        if let Err(e) = save_trace(path, first_label, reference) {
            eprintln!("portlab demo: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("portlab demo: wrote the guest's {} commands to {}", reference.trace.len(), path.display());
    }
    outln!("--- guest console ({first_label}) ---");
    outln!("{}", reference.console.replace("\r\n", "\n").replace('\r', "\n"));
    outln!("---");
    outln!();
    table(&results);
    outln!();
    let differing = differences(&results, args.misported);
    let (_, migrated) = &results[results.len() - 1];
    if let Some((after, to)) = migrated.migrations.first() {
        outln!("The last run saved every device's state after keystroke {after}, destroyed those instances");
        outln!("and loaded the state into new {to} instances. The guest went on typing.");
        if migrated.log == reference.log {
            outln!("Its event log is identical to run 1's: the guest did not notice.");
            outln!("{MIGRATION_NOTE}");
        }
    }
    if differing == 0 {
        outln!("All {} event logs are identical.", if results.len() == 4 { "four" } else { "the" });
        outln!("Next: `portlab run TRACE`, `portlab compare TRACE`, `portlab list`; see README.md.");
        ExitCode::SUCCESS
    } else {
        outln!("The event logs differ: the implementations do not behave the same.");
        ExitCode::from(1)
    }
}

/// The guest's commands of one run as a trace file.
fn save_trace(path: &std::path::Path, label: &str, run: &DemoRun) -> std::io::Result<()> {
    let mut text = format!(
        "# The demo guest's commands (`portlab demo`, run 1: {label}); replay with\n\
         # `portlab run {}` or `portlab compare {}`.\n",
        path.display(),
        path.display()
    );
    for command in &run.trace {
        text.push_str(&command.to_string());
        text.push('\n');
    }
    std::fs::write(path, text)
}

/// One row per run, the columns as wide as their widest entry.
fn table(results: &[(&str, DemoRun)]) {
    let reference = &results[0].1;
    let label_width = results.iter().map(|(l, _)| l.len() + 3).max().unwrap_or(0).max(3);
    outln!(
        "{:<label_width$}  {:>8}  {:>6}  {:>5}  {:>4}  {:>10}  event log",
        "run",
        "commands",
        "reads",
        "irqs",
        "tx",
        "interrupts"
    );
    for (i, (label, run)) in results.iter().enumerate() {
        let log = if i == 0 {
            format!("the reference ({} events)", run.log.len())
        } else if run.log == reference.log {
            "identical to run 1".to_string()
        } else {
            "DIFFERS from run 1".to_string()
        };
        outln!(
            "{:<label_width$}  {:>8}  {:>6}  {:>5}  {:>4}  {:>10}  {log}",
            format!("{}. {label}", i + 1),
            run.trace.len(),
            run.reads,
            run.irqs,
            run.tx,
            run.interrupts_handled,
        );
    }
    outln!("{LEGEND}");
}

/// Shows, for every run whose log differs from run 1's, the first event
/// that differs on each side and how to replay it. Returns how many differ.
fn differences(results: &[(&str, DemoRun)], misported: bool) -> usize {
    let reference = &results[0].1;
    let mut differing = 0;
    for (i, (label, run)) in results.iter().enumerate().skip(1) {
        if run.log == reference.log {
            continue;
        }
        differing += 1;
        let at = run
            .log
            .iter()
            .zip(&reference.log)
            .position(|(a, b)| a != b)
            .unwrap_or(run.log.len().min(reference.log.len()));
        let event = |log: &[String]| log.get(at).map_or_else(|| "(no event: the log ends)".to_string(), Clone::clone);
        outln!("Run {} ({label}) first differs from run 1 at event {} of {}:", i + 1, at + 1, reference.log.len());
        outln!("  run 1: {}", event(&reference.log));
        outln!("  run {}: {}", i + 1, event(&run.log));
        if at > 0 {
            outln!("  (the event before, on both: {})", reference.log[at - 1]);
        }
        outln!();
    }
    if differing > 0 {
        outln!("To replay the guest command by command, C against Rust, and stop at the first difference:");
        outln!("  portlab demo --save-trace demo.trace && portlab compare demo.trace");
        if misported {
            outln!("(The planted bug is only in this demo's Rust {MISPORTED_KIND}: `compare` runs the real one");
            outln!("and finds none. With your own port, this is the command that shows the divergence.)");
        }
        outln!();
    }
    differing
}
