//! `portlab`: run traces on the C and Rust device models, list devices,
//! and show the whole port in one command (`portlab demo`).
//!
//! Exit status, in every subcommand: 0 success, 1 a finding (a divergence
//! or a failed expectation), 2 a usage error or bad input, 130 interrupted
//! (Ctrl-C). Results go to stdout, diagnostics to stderr. Each subcommand
//! is a module of its own; `select` holds what they share.
#![forbid(unsafe_code)]

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
mod compare;
mod demo;
#[cfg(feature = "c-compare")]
mod fuzz;
mod list;
mod qemu;
mod run;
mod select;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Run(run::RunArgs),
    /// Run traces on the C and the Rust implementation side by side and
    /// report the first divergence.
    #[cfg(feature = "c-compare")]
    Compare(compare::CompareArgs),
    /// Lockstep property runs of C against Rust: random guest behaviour,
    /// shrunk traces for divergences, and a coverage report.
    #[cfg(feature = "c-compare")]
    Fuzz(fuzz::FuzzArgs),
    /// The whole story in a few seconds: a guest drives the UART.
    Demo(demo::DemoArgs),
    /// Measure C against Rust, per operation, through the same interface.
    #[cfg(feature = "c-compare")]
    Bench(bench::BenchArgs),
    /// List the registered device types and their implementations.
    List,
    /// Device state to and from QEMU 10.0's own migration stream: import
    /// what QEMU saved, export what QEMU loads.
    Qemu(qemu::QemuArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Commands::Run(args) => run::run(args),
        #[cfg(feature = "c-compare")]
        Commands::Compare(args) => compare::run(args),
        #[cfg(feature = "c-compare")]
        Commands::Fuzz(args) => fuzz::run_fuzz(args),
        Commands::Demo(args) => demo::run(args),
        #[cfg(feature = "c-compare")]
        Commands::Bench(args) => bench::run(args),
        Commands::List => list::run(),
        Commands::Qemu(args) => qemu::run(args),
    }
}
