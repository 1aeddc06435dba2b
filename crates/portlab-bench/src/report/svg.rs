//! The report's Rust/C ratios as an SVG bar chart
//! (`portlab bench --svg docs/benchmarks-ratios.svg`), written by hand:
//! a few rectangles and lines need no plotting library.

use std::fmt::Write as _;

use super::{Report, format_ratio};
use crate::stats::Estimate;

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A horizontal bar per workload and build: the Rust/C ratio, its
/// interval as a whisker, a dashed line at 1 (as fast as C). One report
/// draws one bar a workload; reports of several builds (`--from-json`)
/// draw one bar each, in the order given, labelled with the build.
pub fn svg(reports: &[Report]) -> String {
    let Some(first) = reports.first() else { return String::new() };
    let builds = reports.len();
    let label_build = builds > 1;
    // The workloads in the tables' order (the first report's, then those
    // only later reports have), without those no build has a ratio for.
    let workloads: Vec<crate::Workload> = super::builds::union_of_workloads(reports)
        .into_iter()
        .filter(|w| reports.iter().any(|r| r.ratios().any(|(x, _)| x.name() == w.name())))
        .collect();
    let rows: Vec<(String, Vec<Option<Estimate>>)> = workloads
        .iter()
        .map(|w| {
            let per_build = reports.iter().map(|r| r.ratios().find(|(x, _)| x.name() == w.name()).map(|(_, e)| e));
            (w.name().to_string(), per_build.collect())
        })
        .collect();
    let bar_h = 18.0;
    let (left, plot_w, right, top) = (130.0, 460.0, if label_build { 210.0 } else { 150.0 }, 84.0);
    let row_h = bar_h * builds as f64 + 8.0;
    let height = top + row_h * (rows.len() as f64 + 1.0) + 40.0;
    let width = left + plot_w + right;
    let max_seen = rows
        .iter()
        .flat_map(|(_, e)| e.iter().flatten().map(|r| r.high))
        .filter(|x| x.is_finite())
        .fold(1.0f64, f64::max);
    // The scale goes to the next 0.25 above the largest bound, at least 1.25.
    let x_max = ((max_seen * 1.05) / 0.25).ceil().max(5.0) * 0.25;
    let x = |v: f64| left + plot_w * (v.clamp(0.0, x_max) / x_max);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Rust time / C time, per operation</text>"
    );
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"38\" fill=\"#555\">median of per-round ratios, whiskers: 95% interval; below 1: Rust faster</text>"
    );
    let subtitle = if label_build {
        let names: Vec<String> = reports.iter().map(|r| format!("{} ({})", r.machine.profile, r.date)).collect();
        format!("portlab bench, {} mode; builds, top to bottom in each row: {}", first.mode(), names.join(", "))
    } else {
        format!("portlab bench, {} mode, {}", first.mode(), first.date)
    };
    let _ = writeln!(out, "<text x=\"{left}\" y=\"54\" fill=\"#555\">{}</text>", xml_text(&subtitle));
    let bottom = top + row_h * (rows.len() as f64 + 1.0);
    let mut tick = 0.0;
    while tick <= x_max + 1e-9 {
        let tx = x(tick);
        let _ = writeln!(
            out,
            "<line x1=\"{tx:.1}\" y1=\"{top}\" x2=\"{tx:.1}\" y2=\"{bottom:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{tick:.2}</text>",
            bottom + 16.0
        );
        tick += 0.25;
    }
    let geomeans: Vec<Option<Estimate>> = reports
        .iter()
        .map(|r| Some(r.geomean()).filter(|g| g.is_finite()).map(|g| Estimate { value: g, low: g, high: g }))
        .collect();
    let all_rows = rows.iter().map(|(name, r)| (name.as_str(), r, true)).chain([("geomean", &geomeans, false)]);
    for (i, (name, per_build, whisker)) in all_rows.enumerate() {
        let row_y = top + row_h * i as f64 + 4.0;
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            row_y + (row_h - 8.0) / 2.0 + 4.0,
            xml_text(name)
        );
        for (b, r) in per_build.iter().enumerate() {
            let Some(r) = r else { continue };
            let y = row_y + bar_h * b as f64;
            let h = bar_h - 2.0;
            let mid = y + h / 2.0;
            let color = if !whisker {
                "#34495e"
            } else if r.high < 1.0 {
                "#2e8b57"
            } else if r.low > 1.0 {
                "#c0392b"
            } else {
                "#7f8c8d"
            };
            let _ = writeln!(
                out,
                "<rect x=\"{left}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\" fill-opacity=\"0.8\"/>",
                x(r.value) - left
            );
            if whisker {
                let (lo, hi) = (x(r.low), x(r.high));
                let _ = writeln!(
                    out,
                    "<path d=\"M{lo:.1},{mid:.1} H{hi:.1} M{lo:.1},{:.1} V{:.1} M{hi:.1},{:.1} V{:.1}\" stroke=\"black\" fill=\"none\"/>",
                    mid - 4.0,
                    mid + 4.0,
                    mid - 4.0,
                    mid + 4.0
                );
            }
            let mut label = if whisker { format_ratio(r) } else { format!("{:.3}", r.value) };
            if label_build {
                label = format!("{}: {label}", reports[b].machine.profile);
            }
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                left + plot_w + 8.0,
                mid + 4.0,
                xml_text(&label)
            );
        }
    }
    let one = x(1.0);
    let _ = writeln!(
        out,
        "<line x1=\"{one:.1}\" y1=\"{:.1}\" x2=\"{one:.1}\" y2=\"{bottom:.1}\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{one:.1}\" y=\"{:.1}\" text-anchor=\"middle\">1.0 = C</text>",
        top - 6.0,
        top - 8.0
    );
    out.push_str("</svg>\n");
    out
}
