//! `portlab`: run traces on the C and Rust device models, list devices,
//! and show the whole port in one command (`portlab demo`).
//!
//! Exit status: 0 success, 1 a finding (a failed expectation), 2 a usage
//! error or a bad trace. Results go to stdout, diagnostics to stderr.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use portlab_board::demo::{DEMO_INPUT, run_demo};
use portlab_board::{BoardConfig, Diagnostic, Event, Implementation, Registry, RunSink, run_trace};

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
    /// The whole story in a few seconds: a guest drives the UART.
    Demo,
    /// List the registered device types and their implementations.
    List,
}

/// Which implementation each device of the board runs.
#[derive(Debug, Args)]
struct ImplArgs {
    /// Implementation of every device: `c` or `rust`.
    #[arg(long = "impl", value_name = "IMPL", default_value = "c", value_parser = parse_impl)]
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

fn parse_impl(s: &str) -> Result<Implementation, String> {
    s.parse()
}

fn parse_device_choice(s: &str) -> Result<(String, Implementation), String> {
    let (name, imp) =
        s.split_once('=').ok_or_else(|| format!("expected NAME=IMPL (for example pl011=rust), found `{s}`"))?;
    if name.is_empty() {
        return Err(format!("expected NAME=IMPL, found `{s}`"));
    }
    Ok((name.to_string(), imp.parse()?))
}

/// Builds the board layout the user asked for and checks that every
/// chosen implementation exists, so a missing one is a usage error before
/// any trace runs.
fn board_config(registry: &Registry, impls: &ImplArgs) -> Result<BoardConfig, String> {
    let mut config = BoardConfig::default_board(impls.implementation);
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
        if self.verbose {
            eprintln!("{}:{line}: {}: {}: {}", self.file, names[d.dev], d.kind.label(), d.message);
        }
    }
}

fn open_trace(path: &str) -> io::Result<Box<dyn BufRead>> {
    if path == "-" {
        Ok(Box::new(BufReader::new(io::stdin())))
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
        let mut sink =
            StdoutSink { out: BufWriter::new(stdout.lock()), verbose: args.verbose, file: path.clone(), error: None };
        let result = run_trace(path, reader, &registry, config.clone(), &mut sink);
        let flushed = sink.out.flush();
        if let Some(e) = sink.error.take().or(flushed.err()) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return ExitCode::from(worst);
            }
            eprintln!("portlab run: cannot write the event log: {e}");
            return ExitCode::from(2);
        }
        match result {
            Ok(summary) => {
                if summary.diagnostics > 0 && !args.verbose {
                    eprintln!(
                        "{path}: {} device diagnostic(s) (guest errors); --verbose shows them",
                        summary.diagnostics
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

fn cmd_list() -> ExitCode {
    let registry = Registry::builtin();
    println!("{:<10} {:<16} {:<14} description", "device", "C model", "Rust model");
    for kind in registry.kinds() {
        let c = kind.c.map_or("-", |t| t.type_name());
        let rust = kind.rust.map_or("- (not ported)", |t| t.type_name());
        println!("{:<10} {:<16} {:<14} {}", kind.name, c, rust, kind.description);
    }
    println!();
    println!("Select an implementation with --impl c|rust, or per device with --device NAME=IMPL.");
    ExitCode::SUCCESS
}

fn cmd_demo() -> ExitCode {
    let registry = Registry::builtin();
    println!("portlab demo: a guest driver brings up the PL011, prints a banner with");
    println!("interrupts on, and echoes what the user types ({:?}).", DEMO_INPUT);
    println!();
    let run = match run_demo(&registry, Implementation::C, None) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("portlab demo: the guest failed: {e}");
            return ExitCode::from(1);
        }
    };
    println!("--- guest console (C PL011, `pl011`) ---");
    println!("{}", run.console.replace("\r\n", "\n").replace('\r', "\n"));
    println!("---");
    println!(
        "{} trace commands, {} events: {} reads, {} irq changes, {} bytes sent; {} interrupts handled",
        run.trace.len(),
        run.log.len(),
        run.reads,
        run.irqs,
        run.tx,
        run.interrupts_handled
    );
    match registry.device_type("pl011", Implementation::Rust) {
        Ok(_) => {}
        Err(e) => println!("Rust implementation: {e}."),
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Commands::Run(args) => cmd_run(args),
        Commands::Demo => cmd_demo(),
        Commands::List => cmd_list(),
    }
}
