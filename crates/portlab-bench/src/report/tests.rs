//! The report's renderers on a real, tiny measurement.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use super::*;

fn estimate(value: f64, low: f64, high: f64) -> Estimate {
    Estimate { value, low, high }
}

/// A registered register hot path where both implementations do the same
/// work, and a copy of it declared with an algorithm note (no registered
/// workload has one today: both sides compute the same CRC).
fn two_workloads() -> (Workload, Workload) {
    let plain = *Workload::all()
        .iter()
        .find(|w| w.is_register_hot_path() && w.algorithm_note().is_none())
        .expect("a register hot path is registered");
    // In a static rather than leaked, so LeakSanitizer (.ci/sanitize) has
    // nothing to report.
    static NOTED: OnceLock<portlab_device::bench::Workload> = OnceLock::new();
    let declared = NOTED.get_or_init(|| portlab_device::bench::Workload {
        name: "noted-copy",
        algorithm_note: Some("the two models use different algorithms here"),
        ..*plain.declared
    });
    (plain, Workload { device: plain.device, declared })
}

/// A report from a real, tiny measurement (no figure is checked).
fn tiny_report() -> Report {
    let config = MeasureConfig {
        batch_time: Duration::from_micros(20),
        workload_time: Duration::ZERO,
        min_rounds: 3,
        max_rounds: 3,
    };
    let (plain, noted) = two_workloads();
    let summaries = [plain, noted]
        .into_iter()
        .map(|w| measure::summarize(&measure::measure(w, &config).unwrap(), CONFIDENCE))
        .collect();
    Report {
        quick: true,
        date: utc_date(jiff::Timestamp::UNIX_EPOCH),
        command: "portlab bench --quick".into(),
        elapsed: Duration::from_millis(1500),
        machine: Machine {
            cpu: "Test \"CPU\"".into(),
            nproc: 2,
            kernel: "6.1".into(),
            rustc: "rustc 1.95.0".into(),
            profile: "release".into(),
            rust_settings: "opt-level=3, codegen-units=16, lto=false, debug=line-tables-only, panic=unwind".into(),
            cc: "cc".into(),
            c_compiler: "cc -O3 -std=c11 -Wall".into(),
            optimised: false,
        },
        summaries,
    }
}

#[test]
fn json_has_every_workload_and_implementation() {
    let report = tiny_report();
    let (plain, noted) = two_workloads();
    let j = json(&report);
    assert!(j.starts_with("{\"mode\":\"quick\""), "{j}");
    assert!(j.ends_with("}\n"));
    assert!(j.contains("\"cpu\":\"Test \\\"CPU\\\"\""), "strings are escaped");
    for name in [plain.name(), noted.name(), "floor", "\"c\"", "rust-native", "rust_over_c", "_same_algorithm\":"] {
        assert!(j.contains(name), "{name} in {j}");
    }
    let parsed: serde_json::Value = serde_json::from_str(&j).expect("valid JSON");
    assert_eq!(parsed["workloads"].as_array().map(Vec::len), Some(2));
    assert_eq!(parsed["machine"]["profile"], "release");
    assert!(!j.contains("NaN") && !j.contains("inf"));
}

#[test]
fn text_table_has_a_row_per_workload_and_the_targets() {
    let t = text(&tiny_report());
    let (plain, noted) = two_workloads();
    assert!(t.lines().any(|l| l.starts_with(&format!("{} ", plain.name()))), "{t}");
    assert!(t.lines().any(|l| l.starts_with(&format!("{} ", noted.name()))), "{t}");
    assert!(t.contains("geometric mean of Rust/C over 2 workloads"), "{t}");
    assert!(t.contains("over the 1 where both do the same work"), "{t}");
    assert!(t.contains(&format!("note: {}: {}", noted.name(), noted.algorithm_note().unwrap())), "{t}");
    assert!(t.contains("target: register hot paths within 2 ns of the floor"));
}

#[test]
fn markdown_section_is_replaced_in_place() {
    let report = tiny_report();
    let (plain, _) = two_workloads();
    let generated = markdown(&report, Some("benchmarks-ratios.svg"));
    assert!(generated.starts_with(BEGIN_MARK) && generated.trim_end().ends_with(END_MARK));
    assert!(generated.contains(&format!("| `{}` | {} |", plain.name(), plain.unit())));
    assert!(generated.contains("| build | cargo profile `release`, debug (figures mean little) |"));
    assert!(generated.contains("![Rust/C"));
    let doc = format!("# Title\n\nprose before\n\n{BEGIN_MARK}\nold figures\n{END_MARK}\n\nprose after\n");
    let new = splice(Some(&doc), &generated);
    assert!(new.starts_with("# Title\n\nprose before\n\n"));
    assert!(new.ends_with("\nprose after\n"));
    assert!(!new.contains("old figures"));
    assert_eq!(splice(Some(&new), &generated), new, "idempotent");
    assert_eq!(splice(None, "X"), "# Benchmarks\n\nX");
    assert_eq!(splice(Some("text"), "X"), "text\n\nX");
}

#[test]
fn svg_draws_a_bar_per_ratio_and_the_line_at_one() {
    let mut report = tiny_report();
    report.summaries[0].rust_over_c = Some(estimate(0.9, 0.85, 0.95));
    report.summaries[1].rust_over_c = Some(estimate(1.1, 1.05, 1.3));
    let s = svg(std::slice::from_ref(&report));
    assert!(s.starts_with("<svg ") && s.ends_with("</svg>\n"));
    assert_eq!(s.matches("<rect ").count(), 1 + 2 + 1, "background, two workloads, geomean");
    assert!(s.contains("1.0 = C") && s.contains("stroke-dasharray"));
    assert!(s.contains("#2e8b57") && s.contains("#c0392b"), "faster green, slower red");
    assert!(s.contains("0.900 [0.850, 0.950]"));
}

/// The tiny report with only the registered workload (a saved report names
/// workloads the reading build must know) as another build.
fn saved_as(profile: &str) -> Report {
    let mut report = tiny_report();
    report.summaries.truncate(1);
    report.machine.profile = profile.into();
    report
}

#[test]
fn json_reads_back_to_the_same_report() {
    let mut report = saved_as("release");
    // NaN is written as null and read back as NaN: compare as text.
    report.summaries[0].rust_over_c = Some(estimate(f64::NAN, 0.5, 1.5));
    let text = json(&report);
    let back = from_json(&text).expect("reads back");
    assert_eq!(json(&back), text);
    assert!(back.summaries[0].rust_over_c.unwrap().value.is_nan());
    assert_eq!(back.machine, report.machine);
    let renamed = text.replace(&format!("\"name\":\"{}\"", report.summaries[0].workload.name()), "\"name\":\"gone\"");
    assert_eq!(from_json(&renamed).unwrap_err(), "unknown workload `gone` (`portlab bench --list` lists this build's)");
    assert!(from_json("{}").unwrap_err().starts_with("not a `portlab bench --format json` report: missing field"));
}

#[test]
fn builds_side_by_side() {
    let (release, mut lto) = (saved_as("release"), saved_as("lto"));
    lto.summaries[0].rust_over_c = Some(estimate(0.5, 0.4, 0.6));
    let name = release.summaries[0].workload.name();
    let reports = [release, lto];
    let section = markdown_builds(&reports, "portlab bench --from-json a --from-json b", Some("c.svg")).unwrap();
    assert!(section.starts_with(BEGIN_MARK) && section.trim_end().ends_with(END_MARK));
    assert!(section.contains("| build | `release` | `lto` |"), "{section}");
    assert!(section.contains("| C models compiled with | `cc -O3 -std=c11 -Wall` | `cc -O3 -std=c11 -Wall` |"));
    assert!(section.contains("| Rust/C `release` |") && section.contains("| Rust/C `lto` |"));
    let row = section.lines().find(|l| l.starts_with(&format!("| `{name}` | "))).unwrap();
    assert!(row.ends_with("| **0.500** [0.400, 0.600] |"), "{row}");
    assert!(section.contains("Build `release`: geometric mean") && section.contains("Build `lto`: geometric mean"));
    let chart = svg(&reports);
    assert_eq!(chart.matches("<rect ").count(), 1 + 2 + 2, "background, a bar per build for the workload and geomean");
    assert!(chart.contains("lto: 0.500 [0.400, 0.600]"));

    let twice = [saved_as("release"), saved_as("release")];
    assert_eq!(check_builds(&twice).unwrap_err(), "two reports of the same build `release`: give one per build");
    let mut elsewhere = saved_as("lto");
    elsewhere.machine.cpu = "Other CPU".into();
    let err = check_builds(&[saved_as("release"), elsewhere]).unwrap_err();
    assert!(err.starts_with("the `release` and `lto` reports were measured on different machines"), "{err}");
}

#[test]
fn targets_report_met_and_missed() {
    let mut report = tiny_report();
    let (plain, noted) = two_workloads();
    report.summaries[0].rust_over_c = Some(estimate(0.9, 0.85, 0.95));
    report.summaries[1].rust_over_c = Some(estimate(0.8, 0.7, 0.9));
    let lines = report.target_lines();
    assert!(lines[0].contains(&format!(": met (highest: {}", plain.name())), "{lines:?}");
    assert!(lines[1].contains(": met (0.849)"), "{lines:?}");
    report.summaries[1].rust_over_c = Some(estimate(1.2, 1.1, 1.3));
    let lines = report.target_lines();
    assert!(lines[0].contains(&format!("missed (highest: {}", noted.name())), "{lines:?}");
    let [faster, slower, same] = report.verdicts();
    assert_eq!((faster.len(), slower.len(), same.len()), (1, 1, 0));
}

#[test]
fn formats() {
    assert_eq!(format_ns(2.345), "2.35 ns");
    assert_eq!(format_ns(123.4), "123 ns");
    assert_eq!(format_ns(12_345.0), "12.35 µs");
    assert_eq!(format_ns(2_500_000.0), "2.500 ms");
    assert_eq!(format_delta(1.5), "+1.50 ns");
    assert_eq!(format_delta(-0.5), "-0.50 ns");
    assert_eq!(relative_link(Path::new("docs/b.md"), Path::new("docs/c.svg")), "c.svg");
    assert_eq!(relative_link(Path::new("b.md"), Path::new("out/c.svg")), "out/c.svg");
}

#[test]
fn dates() {
    let at = |s: i64| utc_date(jiff::Timestamp::from_second(s).unwrap());
    assert_eq!(at(0), "1970-01-01 00:00 UTC");
    assert_eq!(at(951_782_400), "2000-02-29 00:00 UTC");
    assert_eq!(at(1_700_000_000), "2023-11-14 22:13 UTC");
    assert_eq!(at(4_107_542_399), "2100-02-28 23:59 UTC");
}
