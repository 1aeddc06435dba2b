//! `portlab`: run traces on the C and Rust device models, list devices,
//! and show the whole port in one command (`portlab demo`).
//!
//! Exit status: 0 success, 1 a finding (a failed expectation), 2 a usage
//! error or a bad trace. Results go to stdout, diagnostics to stderr.

// One roadmap stage per build (docs/roadmap.md); portlab-board refuses two.
#[cfg(not(any(feature = "stage1", feature = "stage2", feature = "stage3")))]
compile_error!(
    "choose a roadmap stage: `--features stage1` (the default), `--no-default-features --features stage2` \
     or `--no-default-features --features stage3`"
);

// First, so that its `outln!` and `out!` are in scope in every module.
#[macro_use]
mod output;

#[cfg(feature = "c-compare")]
mod bench;
#[cfg(feature = "c-compare")]
mod fuzz;

#[cfg(feature = "c-compare")]
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
#[cfg(feature = "c-compare")]
use portlab_board::{Allowance, Divergence, Lockstep, StepError, TraceReader};
use portlab_board::{BoardConfig, Diagnostic, Event, Implementation, Registry, RunSink, Stage, run_trace};
use portlab_demo::{MIGRATION_NOTE, introduction, run_demo_on, scenario};
use portlab_device::LogKind;

#[derive(Debug, Parser)]
#[command(
    name = "portlab",
    version,
    about = "Port a C device model to Rust, one device at a time, and prove the two behave the same."
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run traces and print the canonical event log on stdout.
    Run(RunArgs),
    /// Run traces on the C and the Rust implementation side by side and
    /// report the first divergence.
    #[cfg(feature = "c-compare")]
    Compare(CompareArgs),
    /// Lockstep property runs of C against Rust: random guest behaviour,
    /// shrunk traces for divergences, and a coverage report.
    #[cfg(feature = "c-compare")]
    Fuzz(fuzz::FuzzArgs),
    /// The whole story in a few seconds: a guest drives the UART.
    Demo(DemoArgs),
    /// Measure C against Rust, per operation, through the same interface.
    #[cfg(feature = "c-compare")]
    Bench(bench::BenchArgs),
    /// List the registered device types and their implementations.
    List,
}

/// Which implementation each device of the board runs.
#[derive(Debug, Args)]
struct ImplArgs {
    /// Implementation of every device: `c`, `rust` or `shadow` (default:
    /// this build's roadmap stage decides; `portlab list` says which).
    #[arg(long = "impl", value_name = "IMPL", default_value_t = Stage::CURRENT.default_implementation(), value_parser = parse_impl)]
    implementation: Implementation,
    /// Implementation of one device instance, as NAME=IMPL (for example
    /// `pl011=rust`); repeatable, overrides --impl.
    #[arg(long = "device", value_name = "NAME=IMPL", value_parser = parse_device_choice)]
    devices: Vec<(String, Implementation)>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Trace files (`-` reads standard input).
    #[arg(required = true, value_name = "TRACE")]
    traces: Vec<String>,
    #[command(flatten)]
    impls: ImplArgs,
    /// Print the devices' diagnostics (guest errors) on stderr.
    #[arg(short, long)]
    verbose: bool,
}

#[cfg(feature = "c-compare")]
#[derive(Debug, Args)]
struct CompareArgs {
    /// Trace files (`-` reads standard input).
    #[arg(required = true, value_name = "TRACE")]
    traces: Vec<String>,
    /// Pin one device instance to one implementation on both sides, as
    /// NAME=IMPL; repeatable. Every other device runs C on one side and
    /// Rust on the other.
    #[arg(long = "device", value_name = "NAME=IMPL", value_parser = parse_device_choice)]
    devices: Vec<(String, Implementation)>,
    /// How many trace lines to show before a divergence.
    #[arg(long, default_value_t = 5)]
    context: usize,
    /// Ignore the register of intentional differences
    /// (tests/equivalence/intentional-differences.txt): report every
    /// difference.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Also write the guest's commands of the first run as a trace FILE,
    /// to replay with `portlab run FILE` or `portlab compare FILE`.
    #[arg(long, value_name = "FILE")]
    save_trace: Option<std::path::PathBuf>,
}

fn parse_impl(s: &str) -> Result<Implementation, String> {
    s.parse()
}

/// Parses `NAME=IMPL`, where IMPL is `c`, `rust`, `shadow` or a type name
/// as `portlab list` shows it (`pl011=x-pl011-rust`), or a type name alone
/// (`x-pl011-rust`: the device `pl011` in Rust).
pub(crate) fn parse_device_choice(s: &str) -> Result<(String, Implementation), String> {
    let Some((name, imp)) = s.split_once('=') else {
        return implementation_of_type_name(s).map(|(name, imp)| (name.to_string(), imp)).ok_or_else(|| {
            format!("expected NAME=IMPL (for example pl011=rust) or a type name (x-pl011-rust), found `{s}`")
        });
    };
    if name.is_empty() {
        return Err(format!("expected NAME=IMPL, found `{s}`"));
    }
    let imp = match implementation_of_type_name(imp) {
        Some((of, imp)) if of == name => imp,
        Some((of, _)) => return Err(format!("`{imp}` is an implementation of {of}, not of {name}")),
        None => imp.parse()?,
    };
    Ok((name.to_string(), imp))
}

/// The device and implementation of an `x-NAME-IMPL` type name.
fn implementation_of_type_name(s: &str) -> Option<(&str, Implementation)> {
    let (name, imp) = s.strip_prefix("x-")?.rsplit_once('-')?;
    if name.is_empty() {
        return None;
    }
    Some((name, imp.parse().ok()?))
}

/// Builds the board layout the user asked for and checks that every
/// chosen implementation exists, so a missing one is a usage error before
/// any trace runs.
fn board_config(registry: &Registry, impls: &ImplArgs) -> Result<BoardConfig, String> {
    let mut config = BoardConfig::default_board(impls.implementation);
    // `--impl shadow` shadows every device that has a shadow; the others
    // run as the stage's default, and the user is told which.
    if impls.implementation == Implementation::Shadow {
        let fallback = Stage::CURRENT.default_implementation();
        for slot in &mut config.slots {
            if registry.device_type(&slot.kind, Implementation::Shadow).is_err() {
                slot.implementation = fallback;
                eprintln!("portlab: {} has no shadow device; it runs as {fallback}", slot.name);
            }
        }
    }
    for (name, imp) in &impls.devices {
        config.set_implementation(name, *imp)?;
    }
    for slot in &config.slots {
        registry.device_type(&slot.kind, slot.implementation).map_err(|e| format!("{}: {e}", slot.name))?;
    }
    Ok(config)
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

fn open_trace(path: &str) -> io::Result<Box<dyn BufRead>> {
    if path == "-" {
        Ok(Box::new(BufReader::new(io::stdin())))
    } else if std::path::Path::new(path).is_dir() {
        // Opening a folder succeeds on Unix and fails at the first read,
        // which would be reported as a bad line 1.
        Err(io::Error::other("it is a folder, not a trace file"))
    } else {
        Ok(Box::new(BufReader::with_capacity(64 * 1024, File::open(path)?)))
    }
}

fn cmd_run(args: &RunArgs) -> ExitCode {
    let registry = Registry::builtin();
    let config = match board_config(&registry, &args.impls) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portlab run: {e}");
            return ExitCode::from(2);
        }
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
        let result = run_trace(path, reader, &registry, config.clone(), &mut sink);
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
                    eprintln!("{path}: {guest_errors} device diagnostic(s) (guest errors); --verbose shows them");
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

/// `word`, or `words` for a count other than one.
#[cfg(feature = "c-compare")]
fn plural(count: u64, word: &str) -> String {
    if count == 1 { word.to_string() } else { format!("{word}s") }
}

/// Compares one trace; returns its exit status (0, 1 or 2).
#[cfg(feature = "c-compare")]
fn compare_one(
    path: &str,
    registry: &Registry,
    sides: (&BoardConfig, &BoardConfig),
    allowances: &[Allowance],
    context: usize,
) -> u8 {
    let (side_a, side_b) = sides;
    let reader = match open_trace(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portlab compare: cannot open {path}: {e}");
            return 2;
        }
    };
    let (label_a, label_b) = (side_a.label(), side_b.label());
    let width = label_a.len().max(label_b.len()) + 1;
    let mut lockstep =
        Lockstep::new(registry, side_a.clone(), side_b.clone(), true).with_allowances(allowances.to_vec());
    let mut accepted: Vec<String> = Vec::new();
    let mut recent: VecDeque<(u64, String)> = VecDeque::with_capacity(context + 1);
    let (mut events, mut commands, mut expectation_failures) = (0u64, 0u64, 0u64);
    for item in TraceReader::new(reader) {
        let line = match item {
            Ok(line) => line,
            Err(e) => {
                // The same `FILE:LINE: message` form as `run`.
                eprintln!("portlab compare: {path}:{}: {}", e.line, e.message);
                return 2;
            }
        };
        match lockstep.execute(&line.command) {
            Ok(report) => {
                commands += 1;
                events += report.events.len() as u64;
                for id in report.accepted {
                    if !accepted.contains(&id) {
                        eprintln!("{path}:{}: intentional difference `{id}` (registered)", line.number);
                        accepted.push(id);
                    }
                }
                match report.error {
                    None => {}
                    Some(StepError::Invalid(msg)) => {
                        eprintln!("portlab compare: {path}:{}: {msg}", line.number);
                        return 2;
                    }
                    Some(e @ StepError::Expectation { .. }) => {
                        expectation_failures += 1;
                        eprintln!("{path}:{}: both implementations agree, but not with the trace: {e}", line.number);
                    }
                }
            }
            Err(divergence) => {
                outln!("{path}:{}: divergence after {commands} identical commands", line.number);
                if !recent.is_empty() {
                    outln!("  trace before it:");
                    for (n, text) in &recent {
                        outln!("    {n:>6}  {text}");
                    }
                }
                outln!("  > {:>4}  {}", line.number, line.command);
                match &divergence {
                    Divergence::Event { a, b, .. } => {
                        outln!("  {:<width$} {}", format!("{label_a}:"), a.as_deref().unwrap_or("(no event)"));
                        outln!("  {:<width$} {}", format!("{label_b}:"), b.as_deref().unwrap_or("(no event)"));
                    }
                    Divergence::Outcome { a, b } => {
                        outln!("  {:<width$} {}", format!("{label_a}:"), a.as_deref().unwrap_or("ok"));
                        outln!("  {:<width$} {}", format!("{label_b}:"), b.as_deref().unwrap_or("ok"));
                    }
                    Divergence::State { dev, fields } => {
                        outln!("  the events agree, but the state of {dev} differs:");
                        for f in fields {
                            outln!("    {} differs: {label_a}=0x{:x} {label_b}=0x{:x}", f.name, f.a, f.b);
                        }
                    }
                }
                return 1;
            }
        }
        if recent.len() == context {
            recent.pop_front();
        }
        if context > 0 {
            recent.push_back((line.number, line.command.to_string()));
        }
    }
    let mut note = String::new();
    if !accepted.is_empty() {
        note.push_str(&format!(" (registered intentional differences: {})", accepted.join(", ")));
    }
    let counts = format!("{} {}, {} {}", events, plural(events, "event"), commands, plural(commands, "command"));
    if expectation_failures > 0 {
        // Both sides agree, but the trace says otherwise: a finding, as in
        // `run`.
        outln!(
            "{path}: {label_a} and {label_b} agree ({counts}){note}, but {expectation_failures} {} of the \
             trace failed on both",
            plural(expectation_failures, "expectation")
        );
    } else {
        outln!("{path}: identical ({counts}, {label_a} vs {label_b}){note}");
    }
    u8::from(expectation_failures > 0)
}

#[cfg(feature = "c-compare")]
fn cmd_compare(args: &CompareArgs) -> ExitCode {
    let registry = Registry::builtin();
    let sides = [Implementation::C, Implementation::Rust].map(|imp| {
        let impls = ImplArgs { implementation: imp, devices: args.devices.clone() };
        board_config(&registry, &impls)
    });
    let [side_a, side_b] = match sides {
        [Ok(a), Ok(b)] => [a, b],
        [Err(e), _] | [_, Err(e)] => {
            eprintln!("portlab compare: {e}");
            return ExitCode::from(2);
        }
    };
    if side_a == side_b {
        eprintln!("portlab compare: every device is pinned, so both sides run the same implementations");
        return ExitCode::from(2);
    }
    let allowances = if args.strict {
        Vec::new()
    } else {
        match portlab_equiv::registered_allowances() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("portlab compare: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let worst =
        args.traces.iter().map(|p| compare_one(p, &registry, (&side_a, &side_b), &allowances, args.context)).max();
    ExitCode::from(worst.unwrap_or(0))
}

fn cmd_list() -> ExitCode {
    let registry = Registry::builtin();
    let stage = Stage::CURRENT;
    let default = stage.default_implementation();
    outln!("roadmap stage {} build (docs/roadmap.md); default implementation: {default}", stage.number());
    outln!();
    for kind in registry.kinds() {
        outln!("{:<8} {}", kind.name, kind.description);
        for (name, imp) in registry.public_names(kind.name) {
            let note = if imp == default { " (default)" } else { "" };
            outln!("         {name:<18} {imp}{note}");
        }
        // What the device declares (interface v2): its creation properties
        // (`config NAME PROP=VALUE` in a trace) and input lines.
        let Some(device_type) = kind.c.or(kind.rust) else { continue };
        let description = device_type.description();
        for p in &description.properties {
            // Wide ranges (masks, addresses) read better in hex.
            let show = |v: u64| if p.max > 0xffff { format!("0x{v:x}") } else { v.to_string() };
            outln!("         property {}={} ({}..={}): {}", p.name, show(p.default), show(p.min), show(p.max), p.doc);
        }
        if description.num_inputs > 0 {
            outln!("         input lines 0-{}", description.num_inputs - 1);
        }
    }
    outln!();
    match stage {
        Stage::OptIn => {
            outln!("Stage 1: C models under the device's name, Rust rewrites opt-in under x-NAME-rust;");
        }
        Stage::RustDefault => {
            outln!("Stage 2: the plain names resolve to the Rust rewrites; C is still built (x-NAME-c);");
        }
        Stage::RustOnly => outln!("Stage 3: Rust only; no C device model is compiled;"),
    }
    outln!("x-NAME-shadow runs both, answers with C and reports the first divergence.");
    outln!("Select with --impl c|rust|shadow, or per device with --device NAME=IMPL.");
    ExitCode::SUCCESS
}

fn cmd_demo(args: &DemoArgs) -> ExitCode {
    let registry = Registry::builtin();
    // Checked before the runs, so a bad path costs nothing.
    if let Some(dir) = args.save_trace.as_deref().and_then(output::missing_folder) {
        eprintln!("portlab demo: cannot write the trace: no folder {}", dir.display());
        return ExitCode::from(2);
    }
    outln!("{}", introduction());
    let runs = scenario(&registry);
    let mut results = Vec::new();
    for run in runs {
        let label = run.label;
        match run_demo_on(&registry, run.config, run.migrate_after) {
            Ok(run) => results.push((label, run)),
            Err(e) => {
                eprintln!("portlab demo: the guest failed on {label}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let (_, reference) = &results[0];
    if let Some(path) = &args.save_trace {
        let mut text = format!(
            "# The demo guest's commands (`portlab demo`, run 1: {}); replay with\n\
             # `portlab run {}` or `portlab compare {}`.\n",
            results[0].0,
            path.display(),
            path.display()
        );
        for command in &reference.trace {
            text.push_str(&command.to_string());
            text.push('\n');
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("portlab demo: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("portlab demo: wrote the guest's {} commands to {}", reference.trace.len(), path.display());
    }
    outln!("--- guest console ({}) ---", results[0].0);
    outln!("{}", reference.console.replace("\r\n", "\n").replace('\r', "\n"));
    outln!("---");
    outln!();
    outln!("{:<34} {:>8} {:>7} {:>5} {:>4} {:>10}  event log", "run", "commands", "reads", "irqs", "tx", "interrupts");
    let mut all_same = true;
    for (label, run) in &results {
        let same = run.log == reference.log;
        all_same &= same;
        outln!(
            "{:<34} {:>8} {:>7} {:>5} {:>4} {:>10}  {}",
            label,
            run.trace.len(),
            run.reads,
            run.irqs,
            run.tx,
            run.interrupts_handled,
            if same { format!("identical to run 1 ({} events)", run.log.len()) } else { "DIFFERS from run 1".into() }
        );
    }
    outln!();
    for (label, run) in &results[1..] {
        if let Some(i) = run.log.iter().zip(&reference.log).position(|(a, b)| a != b) {
            outln!(
                "{label}: first difference at event {}: `{}` where run 1 has `{}`",
                i + 1,
                run.log[i],
                reference.log[i]
            );
        } else if run.log.len() != reference.log.len() {
            outln!("{label}: {} events where run 1 has {}", run.log.len(), reference.log.len());
        }
    }
    let (_, migrated) = &results[results.len() - 1];
    if let Some((after, to)) = migrated.migrations.first() {
        outln!("The last run saved every device's state after keystroke {after}, destroyed those instances");
        outln!("and loaded the state into new {to} instances. The guest went on typing.");
        if migrated.log == reference.log {
            outln!("Its event log is identical to run 1's: the guest did not notice.");
            outln!("{MIGRATION_NOTE}");
        }
    }
    if all_same {
        outln!("All {} event logs are identical.", if results.len() == 4 { "four" } else { "the" });
        outln!("Next: `portlab run TRACE`, `portlab compare TRACE`, `portlab list`; see README.md.");
        ExitCode::SUCCESS
    } else {
        outln!("The event logs differ: the implementations do not behave the same.");
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Commands::Run(args) => cmd_run(args),
        #[cfg(feature = "c-compare")]
        Commands::Compare(args) => cmd_compare(args),
        #[cfg(feature = "c-compare")]
        Commands::Fuzz(args) => fuzz::run_fuzz(args),
        Commands::Demo(args) => cmd_demo(args),
        #[cfg(feature = "c-compare")]
        Commands::Bench(args) => bench::run(args),
        Commands::List => cmd_list(),
    }
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

    #[test]
    fn device_choices_take_implementations_and_type_names() {
        let rust = Ok(("pl011".to_string(), Implementation::Rust));
        assert_eq!(parse_device_choice("pl011=rust"), rust);
        assert_eq!(parse_device_choice("pl011=x-pl011-rust"), rust);
        assert_eq!(parse_device_choice("x-pl011-rust"), rust);
        assert_eq!(parse_device_choice("x-my-dev-shadow"), Ok(("my-dev".to_string(), Implementation::Shadow)));
        assert!(parse_device_choice("pl031=x-pl011-rust").unwrap_err().contains("not of pl031"));
        for bad in ["pl011", "=rust", "pl011=go", "x--rust", "x-pl011-go"] {
            assert!(parse_device_choice(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "c-compare")]
    #[test]
    fn counts_are_spelled_out() {
        assert_eq!(plural(1, "event"), "event");
        assert_eq!(plural(0, "event"), "events");
        assert_eq!(plural(2, "command"), "commands");
    }
}
