//! The report as the generated section of a Markdown page
//! (`portlab bench --markdown docs/benchmarks.md`): the section between
//! two marker lines is replaced and the rest of the page kept.

use std::fmt::Write as _;
use std::path::Path;

use super::{CONFIDENCE, Machine, Report};

/// The line that opens the generated section of the Markdown.
pub const BEGIN_MARK: &str = "<!-- portlab bench: generated section begins; `portlab bench --markdown` rewrites it -->";
/// The line that closes it.
pub const END_MARK: &str = "<!-- portlab bench: generated section ends -->";

/// The generated section, markers included; `svg_link` adds the chart.
pub fn markdown(report: &Report, svg_link: Option<&str>) -> String {
    let m = &report.machine;
    let c = report.config();
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN_MARK}");
    let _ = writeln!(out);
    let _ =
        writeln!(out, "Generated on {} by `{}` ({:.0} s).", report.date, report.command, report.elapsed.as_secs_f64());
    let _ = writeln!(out);
    machine_table(&mut out, m, true);
    let _ = writeln!(
        out,
        "| build | cargo profile `{}`, {} |",
        m.profile,
        if m.optimised { "optimised" } else { "debug (figures mean little)" }
    );
    let _ = writeln!(out, "| Rust settings (cargo profile) | {} |", m.rust_settings);
    let _ = writeln!(out, "| C models compiled with | `{}` |", m.c_compiler);
    let _ = writeln!(
        out,
        "| measurement | {} mode: batches of ~{} µs, {:.1} s per workload, at least {} rounds, implementations interleaved |",
        report.mode(),
        c.batch_time.as_micros(),
        c.workload_time.as_secs_f64(),
        c.min_rounds
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Median time per operation. Rust/C: median of the per-round ratios, with its {:.0}% interval. \
         Over floor: median of the per-round differences to the floor.",
        CONFIDENCE * 100.0
    );
    let _ = writeln!(out);
    out.push_str(&super::columns::markdown_table(&report.summaries));
    let _ = writeln!(out);
    if report.ratios().next().is_some() {
        let _ = writeln!(out, "{}.", capitalised(&report.geomean_line()));
        let _ = writeln!(out);
    }
    for s in &report.summaries {
        if let Some(note) = s.workload.algorithm_note() {
            let _ = writeln!(out, "Note on `{}`: {note}.", s.workload.name());
            let _ = writeln!(out);
        }
    }
    if let Some(link) = svg_link {
        let _ = writeln!(out, "![Rust/C time per operation, per workload, with 95% intervals]({link})");
        let _ = writeln!(out);
    }
    let [faster, slower, same] = report.verdicts();
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let _ = writeln!(out, "- Rust faster (whole interval below 1): {}", list(&faster));
    let _ = writeln!(out, "- Rust slower (whole interval above 1): {}", list(&slower));
    let _ = writeln!(out, "- no difference this run can resolve: {}", list(&same));
    let _ = writeln!(out);
    let _ = writeln!(out, "Targets:");
    let _ = writeln!(out);
    for line in report.target_lines() {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{END_MARK}");
    out
}

/// The machine's rows; `with_rustc` for a single build's report (several
/// builds give their compilers in a table of their own).
pub(super) fn machine_table(out: &mut String, m: &Machine, with_rustc: bool) {
    let _ = writeln!(out, "| machine | |");
    let _ = writeln!(out, "| --- | --- |");
    let _ = writeln!(out, "| CPU (`/proc/cpuinfo`) | {} |", m.cpu);
    let _ = writeln!(out, "| cores (`nproc`) | {} |", m.nproc);
    let _ = writeln!(out, "| kernel | {} |", m.kernel);
    if with_rustc {
        let _ = writeln!(out, "| rustc (that built this binary) | {} |", m.rustc);
    }
    let _ = writeln!(out, "| C compiler | {} |", m.cc);
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// `existing` with its generated section replaced by `generated`; the
/// section is appended when the file has none, and a new file gets a
/// title.
pub fn splice(existing: Option<&str>, generated: &str) -> String {
    match existing {
        Some(text) => match (text.find(BEGIN_MARK), text.find(END_MARK)) {
            (Some(begin), Some(end)) if end > begin => {
                let after = &text[end + END_MARK.len()..];
                let after = after.strip_prefix('\n').unwrap_or(after);
                format!("{}{generated}{after}", &text[..begin])
            }
            _ => {
                let sep = if text.is_empty() || text.ends_with("\n\n") {
                    ""
                } else if text.ends_with('\n') {
                    "\n"
                } else {
                    "\n\n"
                };
                format!("{text}{sep}{generated}")
            }
        },
        None => format!("# Benchmarks\n\n{generated}"),
    }
}

/// How the Markdown file links to the SVG: by file name when they share a
/// folder, else by the path given.
pub fn relative_link(markdown: &Path, svg: &Path) -> String {
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    match svg.file_name() {
        Some(name) if parent(markdown) == parent(svg) => name.to_string_lossy().into_owned(),
        _ => svg.display().to_string(),
    }
}
