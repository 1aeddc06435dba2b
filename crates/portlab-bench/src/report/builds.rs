//! Reports of several builds side by side: the generated section of
//! docs/benchmarks.md holds the build users run (`cargo build --release`)
//! beside the LTO one, each measured by its own `portlab bench --format
//! json` run (C and Rust interleaved inside each run) and put together by
//! `portlab bench --from-json` (crates/portlab-bench/scripts/report.sh runs
//! the whole thing).

use std::fmt::Write as _;

use super::{BEGIN_MARK, END_MARK, Report, format_delta, format_ns};
use crate::measure::WorkloadSummary;
use crate::{Implementation, Workload};

/// Refuses reports that cannot share a table: none, a build twice, or
/// runs on different machines (their times would not compare).
pub fn check_builds(reports: &[Report]) -> Result<(), String> {
    let Some(first) = reports.first() else { return Err("no report to render".into()) };
    for (i, r) in reports.iter().enumerate() {
        if reports[..i].iter().any(|o| o.machine.profile == r.machine.profile) {
            return Err(format!("two reports of the same build `{}`: give one per build", r.machine.profile));
        }
        let (a, b) = (&first.machine, &r.machine);
        if (&a.cpu, a.nproc, &a.kernel, &a.cc) != (&b.cpu, b.nproc, &b.kernel, &b.cc) {
            return Err(format!(
                "the `{}` and `{}` reports were measured on different machines ({}, {} cores, {}, {}; {}, {} cores, {}, {})",
                a.profile, b.profile, a.cpu, a.nproc, a.kernel, a.cc, b.cpu, b.nproc, b.kernel, b.cc
            ));
        }
    }
    Ok(())
}

/// The generated Markdown section for several builds: the machine once,
/// each build's compiler settings, one table of times and ratios with a
/// column group per build, the time above the floor, and each build's
/// targets. `command` is what rendered it; `svg_link` adds the chart.
pub fn markdown_builds(reports: &[Report], command: &str, svg_link: Option<&str>) -> Result<String, String> {
    check_builds(reports)?;
    let first = &reports[0];
    let m = &first.machine;
    let builds: Vec<String> = reports.iter().map(|r| format!("`{}`", r.machine.profile)).collect();
    let row = |label: &str, cell: &dyn Fn(&Report) -> String| {
        let cells: Vec<String> = reports.iter().map(cell).collect();
        format!("| {label} | {} |\n", cells.join(" | "))
    };
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN_MARK}");
    let _ = writeln!(out);
    let _ =
        writeln!(out, "Rendered on {} by `{command}` from {} runs, one per build.", super::utc_now(), reports.len());
    let _ = writeln!(out);
    super::markdown::machine_table(&mut out, m, false);
    let _ = writeln!(out);
    let _ = writeln!(out, "| build | {} |", builds.join(" | "));
    let _ = writeln!(out, "| --- |{}", " --- |".repeat(reports.len()));
    out.push_str(&row("measured", &|r| {
        format!("{}, `{}`, {} mode, {:.0} s", r.date, r.command, r.mode(), r.elapsed.as_secs_f64())
    }));
    out.push_str(&row("rustc", &|r| r.machine.rustc.clone()));
    out.push_str(&row("Rust settings (cargo profile)", &|r| r.machine.rust_settings.clone()));
    out.push_str(&row("C models compiled with", &|r| format!("`{}`", r.machine.c_compiler)));
    out.push_str(&row("optimised", &|r| if r.machine.optimised { "yes".into() } else { "no: debug build".into() }));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Median time per operation. Rust/C: median of the per-round ratios, with its 95% interval; \
         C and Rust interleaved within each build's run."
    );
    let _ = writeln!(out);
    let workloads = union_of_workloads(reports);
    let median = |imp| {
        move |s: Option<&WorkloadSummary>| {
            s.and_then(|s| s.implementation(imp)).map_or("-".into(), |i| format_ns(i.median_ns.value))
        }
    };
    let over_floor = |imp| {
        move |s: Option<&WorkloadSummary>| {
            s.and_then(|s| s.implementation(imp))
                .and_then(|i| i.over_floor_ns)
                .map_or("-".into(), |d| format_delta(d.value))
        }
    };
    let ratio = |s: Option<&WorkloadSummary>| {
        s.and_then(|s| s.rust_over_c)
            .map_or("-".into(), |e| format!("**{:.3}** [{:.3}, {:.3}]", e.value, e.low, e.high))
    };
    grouped_table(
        &mut out,
        reports,
        &workloads,
        &["workload", "one op"],
        |w| vec![format!("`{}`", w.name()), w.unit().to_string()],
        &[
            ("C", true, &median(Implementation::C)),
            ("Rust", true, &median(Implementation::Rust)),
            ("Rust/C", false, &ratio),
        ],
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Time above the floor (the C null device through the same ops table), paired per round:");
    let _ = writeln!(out);
    grouped_table(
        &mut out,
        reports,
        &workloads,
        &["workload"],
        |w| vec![format!("`{}`", w.name())],
        &[
            ("C over floor", true, &over_floor(Implementation::C)),
            ("Rust over floor", true, &over_floor(Implementation::Rust)),
        ],
    );
    let _ = writeln!(out);
    for w in &workloads {
        if let Some(note) = w.algorithm_note() {
            let _ = writeln!(out, "Note on `{}`: {note}.", w.name());
            let _ = writeln!(out);
        }
    }
    if let Some(link) = svg_link {
        let _ = writeln!(out, "![Rust/C time per operation, per workload and build, with 95% intervals]({link})");
        let _ = writeln!(out);
    }
    for r in reports {
        let _ = writeln!(out, "Build `{}`: {}.", r.machine.profile, r.geomean_line());
        let _ = writeln!(out);
        for line in r.target_lines() {
            let _ = writeln!(out, "- {line}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{END_MARK}");
    Ok(out)
}

/// A cell of one build's column group, from its summary of the workload
/// (`None`: that build did not run it).
type Cell<'a> = &'a dyn Fn(Option<&WorkloadSummary>) -> String;

/// A Markdown table with a row per workload: the `lead` columns, then for
/// every build a column group (heading, right-aligned, cell).
fn grouped_table(
    out: &mut String,
    reports: &[Report],
    workloads: &[Workload],
    lead: &[&str],
    lead_cells: impl Fn(&Workload) -> Vec<String>,
    group: &[(&str, bool, Cell<'_>)],
) {
    let mut heading: Vec<String> = lead.iter().map(|h| h.to_string()).collect();
    let mut rule: Vec<&str> = lead.iter().map(|_| "---").collect();
    for r in reports {
        for (name, numeric, _) in group {
            heading.push(format!("{name} `{}`", r.machine.profile));
            rule.push(if *numeric { "---:" } else { "---" });
        }
    }
    let _ = writeln!(out, "| {} |\n| {} |", heading.join(" | "), rule.join(" | "));
    for w in workloads {
        let mut cells = lead_cells(w);
        for r in reports {
            let summary = r.summaries.iter().find(|s| s.workload.name() == w.name());
            cells.extend(group.iter().map(|(_, _, cell)| cell(summary)));
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// Every workload of any report, in the order the first report ran them,
/// then the ones only later reports have.
pub(super) fn union_of_workloads(reports: &[Report]) -> Vec<Workload> {
    let mut out: Vec<Workload> = Vec::new();
    for s in reports.iter().flat_map(|r| &r.summaries) {
        if !out.iter().any(|w| w.name() == s.workload.name()) {
            out.push(s.workload);
        }
    }
    out
}
