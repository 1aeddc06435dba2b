//! `portlab compare`: the C and the Rust implementation side by side on
//! the same traces, stopping at the first divergence.

use std::collections::VecDeque;
use std::process::ExitCode;

use clap::Args;
use portlab_board::{Allowance, BoardConfig, Implementation, Lockstep, Registry, StepError, TraceReader};

use crate::select::{ImplArgs, board_config, open_trace, parse_device_choice, plural};

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
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

/// Compares one trace; returns its exit status (0, 1 or 2).
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
                events += report.events as u64;
                for id in report.accepted {
                    if !accepted.contains(&id) {
                        eprintln!("{path}:{}: intentional difference `{id}` (registered)", line.number);
                        accepted.push(id);
                    }
                }
                match report.error {
                    None => {}
                    Some(StepError::Invalid(msg) | StepError::Stopped(msg)) => {
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
                out!("{}", divergence.render((&label_a, &label_b), Some(commands as usize + 1)).block("  "));
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

pub(crate) fn run(args: &CompareArgs) -> ExitCode {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace written to a fresh file, for `compare_one`.
    fn trace_file(test: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("portlab-compare-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.trace");
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn sides(registry: &Registry) -> (BoardConfig, BoardConfig) {
        let side = |implementation| board_config(registry, &ImplArgs { implementation, devices: Vec::new() }).unwrap();
        (side(Implementation::C), side(Implementation::Rust))
    }

    #[test]
    fn a_divergence_exits_1_and_agreement_0() {
        // The demo's planted bug (the alarm a second late) is a real
        // divergence between C and "Rust": the same trace, both ways.
        let text = "write pl031 0x004 0x100\nread pl031 0x004\n";
        let path = trace_file("divergence", text);
        let builtin = Registry::builtin();
        let (a, b) = sides(&builtin);
        assert_eq!(compare_one(&path, &builtin, (&a, &b), &[], 5), 0);
        let wrong = portlab_demo::misport::misported(&builtin).expect("stage 1 has the C PL031");
        let (a, b) = sides(&wrong);
        assert_eq!(compare_one(&path, &wrong, (&a, &b), &[], 5), 1);
    }

    #[test]
    fn expectations_failed_on_both_sides_exit_1_and_bad_input_2() {
        let registry = Registry::builtin();
        let (a, b) = sides(&registry);
        let failing = trace_file("expectation", "read pl031 0x00c = 0x0\n");
        assert_eq!(compare_one(&failing, &registry, (&a, &b), &[], 5), 1);
        let bad = trace_file("bad", "frobnicate pl031\n");
        assert_eq!(compare_one(&bad, &registry, (&a, &b), &[], 5), 2);
        assert_eq!(compare_one("/nonexistent/portlab.trace", &registry, (&a, &b), &[], 5), 2);
    }
}
