//! The `portlab` binary's commands, output and exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn portlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portlab")).args(args).output().expect("portlab runs")
}

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/traces")
}

/// A fresh folder for one test's files, named after the test and the
/// process so that parallel tests and runs do not meet.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portlab-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_prints_the_canonical_log_of_the_format_example() {
    let trace = traces().join("pl011/example.trace");
    let o = portlab(&["run", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = std::fs::read_to_string(traces().join("pl011/example.events")).unwrap();
    assert_eq!(stdout(&o), expected);
}

#[test]
fn failed_expectation_exits_1_naming_file_line_expected_and_actual() {
    // Any stage: the default implementation reads the same values.
    let dir = scratch("expect");
    let trace = dir.join("bad-expect.trace");
    std::fs::write(&trace, "write pl011 0x0 0x41\nread pl011 0x018 = 0x91\n").unwrap();
    let o = portlab(&["run", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bad-expect.trace:2:") && err.contains("expected 0x91, actual 0x90"), "{err}");
    assert_eq!(stdout(&o), "tx pl011 0x41\nread pl011 0x018 4 0x00000090\n");

    std::fs::write(&trace, "read pl011 0x018\nwrite pl011 0x0 0x1 5\n").unwrap();
    let o = portlab(&["run", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(":2: access size must be 1, 2, 4 or 8"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "read pl011 0x018 4 0x00000090\n");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_errors_exit_2() {
    let trace = traces().join("pl011/example.trace");
    let t = trace.to_str().unwrap();
    let o = portlab(&["run", "/nonexistent/x.trace"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot open"), "{}", stderr(&o));
    let o = portlab(&["run", t, "--impl", "go"]);
    assert_eq!(o.status.code(), Some(2));
    let o = portlab(&["run", t, "--device", "uart9=c"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no device `uart9`"), "{}", stderr(&o));
    // A bare name is a type name: `pl011` is the C model's, which a stage 3
    // build does not have.
    let o = portlab(&["run", t, "--device", "pl011"]);
    let with_c = if cfg!(feature = "c-compare") { 0 } else { 2 };
    assert_eq!(o.status.code(), Some(with_c), "{}", stderr(&o));
    let o = portlab(&["run", t, "--device", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no device `nosuch`"), "{}", stderr(&o));
    let o = portlab(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn verbose_shows_guest_errors_on_stderr_only() {
    let trace = traces().join("pl011/p21-bad-offsets.trace");
    let o = portlab(&["run", "--verbose", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("pl011_read: Bad offset 0x8"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("Bad offset"));
}

#[test]
fn list_shows_the_registered_types() {
    let o = portlab(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l.starts_with("pl011") && l.contains("ARM PrimeCell PL011 UART")), "{out}");
    #[cfg(feature = "stage1")]
    assert!(out.lines().any(|l| l.trim_start().starts_with("x-pl031-rust") && l.contains("rust")), "{out}");
    #[cfg(not(feature = "stage1"))]
    assert!(out.lines().any(|l| l.trim_start().starts_with("pl031") && l.contains("rust (default)")), "{out}");
}

#[cfg(feature = "c-compare")]
#[test]
fn demo_shows_the_guest_console() {
    let o = portlab(&["demo"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("PL011 console up"), "{out}");
    assert!(out.contains("you typed: hello, portlab"), "{out}");
}

#[cfg(feature = "c-compare")]
#[test]
fn the_rust_pl011_runs_every_trace_like_the_c_one() {
    let example = traces().join("pl011/example.trace");
    let e = example.to_str().unwrap();
    for args in [vec!["run", "--impl", "rust", e], vec!["run", "--device", "pl011=rust", e]] {
        let o = portlab(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), std::fs::read_to_string(traces().join("pl011/example.events")).unwrap());
    }
    let mut all: Vec<String> = std::fs::read_dir(traces().join("pl011"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .map(|p| p.display().to_string())
        .collect();
    all.sort();
    let mut args = vec!["compare"];
    args.extend(all.iter().map(String::as_str));
    let o = portlab(&args);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).lines().filter(|l| l.contains(": identical (")).count(), all.len());
}

#[cfg(feature = "c-compare")]
#[test]
fn compare_reports_identical_with_the_event_count() {
    let trace = traces().join("pl011/example.trace");
    let o = portlab(&["compare", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("identical (7 events, 7 commands, c vs rust)"), "{}", stdout(&o));
    // Every device of the board pinned: nothing left to compare.
    let mut args = vec!["compare".to_string()];
    for kind in portlab_board::Registry::builtin().kinds() {
        args.extend(["--device".to_string(), format!("{}=c", kind.name)]);
    }
    args.push(trace.to_str().unwrap().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = portlab(&args);
    assert_eq!(o.status.code(), Some(2), "everything pinned: nothing to compare");
    // A mix: the RTC pinned to C, the UART compared.
    let o = portlab(&["compare", "--device", "pl031=c", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("c vs rust (pl031=c)"), "{}", stdout(&o));
}

#[cfg(feature = "c-compare")]
#[test]
fn demo_runs_both_implementations_and_a_mid_run_migration() {
    let o = portlab(&["demo"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("the reference (3603 events)"), "{out}");
    assert_eq!(out.matches("identical to run 1\n").count(), 3, "{out}");
    assert!(out.contains("All four event logs are identical."), "{out}");
    assert!(out.contains("rtc-pl031: alarm at 2023-11-14 22:13:22 UTC"), "{out}");
    // The table's header and rows share their column widths.
    let table: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("run ")).take(5).collect();
    let log_column = |l: &str| l.find("event log").or_else(|| l.find("the reference")).or_else(|| l.find("identical"));
    assert!(table.iter().all(|l| log_column(l) == log_column(table[0])), "{table:#?}");
    assert!(out.contains("columns: guest commands"), "{out}");
}

#[cfg(feature = "c-compare")]
#[test]
fn the_misported_demo_shows_the_first_difference_and_exits_1() {
    let o = portlab(&["demo", "--misported"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("planted bug"), "{out}");
    assert!(out.contains("DIFFERS from run 1"), "{out}");
    assert!(out.contains("first differs from run 1 at event"), "{out}");
    assert!(out.contains("  run 1: irq pl031 0 1"), "{out}");
    assert!(out.contains("portlab demo --save-trace demo.trace && portlab compare demo.trace"), "{out}");
    assert!(out.contains("The event logs differ"), "{out}");
    assert!(!out.contains("All four event logs are identical"), "{out}");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    // `portlab demo | head -1`: the reader goes away after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_portlab"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portlab runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut first).expect("one line");
    // The reader is dropped here, closing the pipe.
    let o = child.wait_with_output().expect("portlab ends");
    assert!(first.starts_with("portlab demo:"), "{first}");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[cfg(feature = "c-compare")]
#[test]
fn compare_exits_1_when_both_sides_fail_an_expectation() {
    let dir = scratch("cmp");
    let trace = dir.join("both-wrong.trace");
    std::fs::write(&trace, "read pl011 0x018 = 0x91\n").unwrap();
    let o = portlab(&["compare", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("1 expectation of the trace failed on both"), "{}", stdout(&o));
    assert!(stdout(&o).contains("(1 event, 1 command)"), "{}", stdout(&o));
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "c-compare")]
#[test]
fn fuzz_refuses_zero_cases_and_takes_compound_durations() {
    let o = portlab(&["fuzz", "--cases", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at least 1 case"), "{}", stderr(&o));
    let o = portlab(&["fuzz", "--time", "1m30x"]);
    assert_eq!(o.status.code(), Some(2));
    let o = portlab(&["fuzz", "--time", "0m1s", "--device", "pl031", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("seed            1"), "{}", stdout(&o));
}

#[cfg(feature = "c-compare")]
#[test]
fn bench_lists_workloads_and_refuses_unknown_ones_before_working() {
    let o = portlab(&["bench", "--list"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).lines().any(|l| l.contains("fr-poll") && l.contains("rust-native")), "{}", stdout(&o));
    let o = portlab(&["bench", "--device", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no workload of a device `nosuch`"), "{}", stderr(&o));
    let o = portlab(&["bench", "--quick", "--markdown", "/nonexistent-dir/b.md"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no folder /nonexistent-dir"), "{}", stderr(&o));
}

/// A saved report of no workloads, as `portlab bench --format json` writes
/// one, for the build `profile`.
#[cfg(feature = "c-compare")]
fn saved_report(dir: &Path, profile: &str) -> PathBuf {
    let path = dir.join(format!("{profile}.json"));
    let json = format!(
        r#"{{"mode":"quick","date":"2026-11-26 10:00 UTC","command":"portlab bench --quick --format json","elapsed_s":1.0,"confidence":0.95,"interval":"-","machine":{{"cpu":"CPU","nproc":2,"kernel":"6.1","rustc":"rustc 1.95.0","profile":"{profile}","rust_settings":"opt-level=3","cc":"cc 12","c_compiler":"cc -O3","optimised_build":true}},"workloads":[]}}"#
    );
    std::fs::write(&path, json).unwrap();
    path
}

#[cfg(feature = "c-compare")]
#[test]
fn bench_puts_saved_reports_of_two_builds_side_by_side() {
    let dir = scratch("from-json");
    let (release, lto) = (saved_report(&dir, "release"), saved_report(&dir, "lto"));
    let (release, lto) = (release.to_str().unwrap(), lto.to_str().unwrap());
    let page = dir.join("b.md");
    std::fs::write(&page, "# Benchmarks\n\nprose\n").unwrap();
    let o = portlab(&["bench", "--from-json", release, "--from-json", lto, "--markdown", page.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("build `release`") && stdout(&o).contains("build `lto`"), "{}", stdout(&o));
    let written = std::fs::read_to_string(&page).unwrap();
    assert!(written.starts_with("# Benchmarks\n\nprose\n"), "{written}");
    assert!(written.contains("| build | `release` | `lto` |"), "{written}");
    assert!(written.contains("| C models compiled with | `cc -O3` | `cc -O3` |"), "{written}");

    let o = portlab(&["bench", "--from-json", release, "--from-json", release]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("two reports of the same build `release`"), "{}", stderr(&o));
    std::fs::write(dir.join("bad.json"), "{}").unwrap();
    let o = portlab(&["bench", "--from-json", dir.join("bad.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a `portlab bench --format json` report"), "{}", stderr(&o));
    let o = portlab(&["bench", "--from-json", release, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_folder_given_as_a_trace_is_a_usage_error_naming_it() {
    let o = portlab(&["run", traces().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("it is a folder, not a trace file"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(":1:"), "{}", stderr(&o));
}

#[cfg(feature = "c-compare")]
#[test]
fn compare_and_run_report_a_bad_line_the_same_way() {
    let dir = scratch("bad");
    let trace = dir.join("bad.trace");
    std::fs::write(&trace, "read pl011 0x018\nfrobnicate\n").unwrap();
    let t = trace.to_str().unwrap();
    for command in ["run", "compare"] {
        let o = portlab(&[command, t]);
        assert_eq!(o.status.code(), Some(2), "{command}");
        assert!(stderr(&o).contains(&format!("{t}:2: ")), "{command}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_demo_guest_saves_a_trace_that_replays() {
    let dir = scratch("demo");
    let trace = dir.join("demo.trace");
    let t = trace.to_str().unwrap();
    let o = portlab(&["demo", "--save-trace", t]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.lines().filter(|l| !l.starts_with('#')).count() > 1000, "{text}");
    let run = portlab(&["run", t]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stdout(&run).lines().any(|l| l.starts_with("tx pl011")), "the replay prints the console");
    let o = portlab(&["demo", "--save-trace", "/nonexistent-dir/demo.trace"]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// Starts `portlab ARGS`, waits `after`, sends SIGINT (as Ctrl-C does) and
/// returns what it printed and how it ended.
#[cfg(feature = "c-compare")]
fn interrupted(args: &[&str], after: std::time::Duration) -> Output {
    use std::process::Stdio;
    let child = Command::new(env!("CARGO_BIN_EXE_portlab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portlab starts");
    std::thread::sleep(after);
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(sent.success());
    child.wait_with_output().expect("portlab ends")
}

#[cfg(feature = "c-compare")]
#[test]
fn ctrl_c_stops_fuzz_with_a_report_and_status_130() {
    let o =
        interrupted(&["fuzz", "--time", "10m", "--device", "pl031", "--seed", "9"], std::time::Duration::from_secs(2));
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("seed            9"), "{out}");
    assert!(out.contains("equivalence coverage"), "{out}");
    assert!(out.contains("Interrupted after") && out.contains("`portlab fuzz --seed 9 --jobs "), "{out}");
    assert!(out.contains(" --device pl031`"), "{out}");
}

#[cfg(feature = "c-compare")]
#[test]
fn ctrl_c_stops_bench_with_the_workloads_finished_and_status_130() {
    let dir = scratch("bench-int");
    let md = dir.join("b.md");
    let o = interrupted(&["bench", "--quick", "--markdown", md.to_str().unwrap()], std::time::Duration::from_secs(3));
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted after"), "{}", stderr(&o));
    assert!(stderr(&o).contains("no file was written"), "{}", stderr(&o));
    assert!(!md.exists(), "a partial run writes no file");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "c-compare")]
#[test]
fn fuzz_json_is_one_object_with_summary_coverage_and_findings() {
    let o = portlab(&["fuzz", "--cases", "5", "--device", "pl031", "--seed", "3", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    assert_eq!(v["seed"], 3);
    assert_eq!(v["cases"], 5);
    assert_eq!(v["divergences"], 0);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["coverage"][0]["device"], "pl031");
    assert!(v["coverage"][0]["edge_cases"].as_array().is_some_and(|e| !e.is_empty()));
    // Only the device the guest drives is reported, and each command made
    // at least one call into it on average (an MMIO access, an input...).
    assert_eq!(v["coverage"].as_array().map(Vec::len), Some(1), "{}", stdout(&o));
    let (ops, calls) = (v["operations"].as_u64().unwrap(), v["device_calls"].as_u64().unwrap());
    assert!(ops > 0 && calls > ops / 2, "{ops} commands, {calls} device calls");
    assert!(v["device_calls_per_s_per_job"].as_f64().is_some_and(|r| r > 0.0));
}

/// The documented statuses, subcommand by subcommand: 0 success, 1 a
/// finding, 2 a usage error or bad input.
#[cfg(feature = "c-compare")]
#[test]
fn every_subcommand_exits_as_documented() {
    let dir = scratch("status");
    let failing = dir.join("failing.trace");
    std::fs::write(&failing, "read pl031 0x00c = 0x0\n").unwrap();
    let failing = failing.to_str().unwrap();
    let example = traces().join("pl011/example.trace");
    let example = example.to_str().unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["list"], 0),
        (&["run", example], 0),
        (&["run", failing], 1),
        (&["run", "--impl", "shadow", failing], 1),
        (&["run", "/nonexistent.trace"], 2),
        (&["run", "--impl", "go", example], 2),
        (&["compare", example], 0),
        (&["compare", failing], 1),
        (&["compare", "/nonexistent.trace"], 2),
        (&["fuzz", "--cases", "3", "--device", "pl031", "--seed", "1"], 0),
        (&["fuzz", "--device", "nosuch"], 2),
        (&["fuzz", "--cases", "3", "--out", "/nonexistent-dir"], 2),
        (&["demo"], 0),
        (&["demo", "--misported"], 1),
        (&["demo", "--save-trace", "/nonexistent-dir/t.trace"], 2),
        (&["bench", "--list"], 0),
        (&["bench", "--workload", "nosuch"], 2),
        (&["nosuch"], 2),
    ];
    for (args, status) in cases {
        let o = portlab(args);
        assert_eq!(o.status.code(), Some(*status), "portlab {}: {}", args.join(" "), stderr(&o));
    }
    std::fs::remove_dir_all(&dir).ok();
}
