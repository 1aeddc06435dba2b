//! Reports of several builds side by side: the generated section of
//! docs/benchmarks.md holds the build users run (`cargo build --release`)
//! beside the LTO one, each measured by its own `portlab bench --format
//! json` run (C and Rust interleaved inside each run) and put together by
//! `portlab bench --from-json` (crates/portlab-bench/scripts/report.sh runs
//! the whole thing).

use std::fmt::Write as _;

use super::{BEGIN_MARK, END_MARK, Report, format_delta, format_ns};
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
                "the `{}` and `{}` reports were measured on different machines ({}, {} cores, {}; {}, {} cores, {})",
                a.profile, b.profile, a.cpu, a.nproc, a.kernel, b.cpu, b.nproc, b.kernel
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
    let _ = writeln!(out, "| machine | |");
    let _ = writeln!(out, "| --- | --- |");
    let _ = writeln!(out, "| CPU (`/proc/cpuinfo`) | {} |", m.cpu);
    let _ = writeln!(out, "| cores (`nproc`) | {} |", m.nproc);
    let _ = writeln!(out, "| kernel | {} |", m.kernel);
    let _ = writeln!(out, "| C compiler | {} |", m.cc);
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
    let mut heading = String::from("| workload | one op |");
    let mut rule = String::from("| --- | --- |");
    for b in &builds {
        let _ = write!(heading, " C {b} | Rust {b} | Rust/C {b} |");
        rule.push_str(" ---: | ---: | --- |");
    }
    let _ = writeln!(out, "{heading}\n{rule}");
    for w in &workloads {
        let _ = write!(out, "| `{}` | {} |", w.name(), w.unit());
        for r in reports {
            let s = r.summaries.iter().find(|s| s.workload.name() == w.name());
            let median =
                |imp| s.and_then(|s| s.implementation(imp)).map_or("-".into(), |i| format_ns(i.median_ns.value));
            let ratio = s
                .and_then(|s| s.rust_over_c)
                .map_or("-".into(), |e| format!("**{:.3}** [{:.3}, {:.3}]", e.value, e.low, e.high));
            let _ = write!(out, " {} | {} | {ratio} |", median(Implementation::C), median(Implementation::Rust));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Time above the floor (the C null device through the same ops table), paired per round:");
    let _ = writeln!(out);
    let mut heading = String::from("| workload |");
    let mut rule = String::from("| --- |");
    for b in &builds {
        let _ = write!(heading, " C over floor {b} | Rust over floor {b} |");
        rule.push_str(" ---: | ---: |");
    }
    let _ = writeln!(out, "{heading}\n{rule}");
    for w in &workloads {
        let _ = write!(out, "| `{}` |", w.name());
        for r in reports {
            let s = r.summaries.iter().find(|s| s.workload.name() == w.name());
            let over = |imp| {
                s.and_then(|s| s.implementation(imp))
                    .and_then(|i| i.over_floor_ns)
                    .map_or("-".into(), |d| format_delta(d.value))
            };
            let _ = write!(out, " {} | {} |", over(Implementation::C), over(Implementation::Rust));
        }
        let _ = writeln!(out);
    }
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

/// Every workload of any report, in the order the first report ran them,
/// then the ones only later reports have.
fn union_of_workloads(reports: &[Report]) -> Vec<Workload> {
    let mut out: Vec<Workload> = Vec::new();
    for s in reports.iter().flat_map(|r| &r.summaries) {
        if !out.iter().any(|w| w.name() == s.workload.name()) {
            out.push(s.workload);
        }
    }
    out
}
