//! The report's table, defined once: each column's headings and how a
//! workload's cell is written. The terminal table and the Markdown table
//! are two layouts of these columns.

use super::{format_delta, format_ns, format_ratio};
use crate::Implementation;
use crate::measure::WorkloadSummary;

/// The two layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Text,
    Markdown,
}

/// One column of the table.
pub(crate) struct Column {
    /// Heading in the terminal table.
    pub(crate) text: &'static str,
    /// Heading in the Markdown table.
    pub(crate) markdown: &'static str,
    /// Numbers are right-aligned.
    pub(crate) numeric: bool,
    /// The cell of one workload.
    pub(crate) cell: fn(&WorkloadSummary, Style) -> String,
}

fn median(s: &WorkloadSummary, imp: Implementation) -> String {
    s.implementation(imp).map_or("-".into(), |i| format_ns(i.median_ns.value))
}

fn over_floor(s: &WorkloadSummary, imp: Implementation) -> String {
    s.implementation(imp).and_then(|i| i.over_floor_ns).map_or("-".into(), |d| format_delta(d.value))
}

/// Every column, in order.
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        text: "workload",
        markdown: "workload",
        numeric: false,
        cell: |s, style| match style {
            Style::Text => s.workload.name().to_string(),
            Style::Markdown => format!("`{}`", s.workload.name()),
        },
    },
    Column { text: "one op", markdown: "one op", numeric: false, cell: |s, _| s.workload.unit().to_string() },
    Column { text: "rounds", markdown: "rounds", numeric: true, cell: |s, _| s.rounds.to_string() },
    Column { text: "floor", markdown: "floor", numeric: true, cell: |s, _| median(s, Implementation::Floor) },
    Column { text: "c", markdown: "C", numeric: true, cell: |s, _| median(s, Implementation::C) },
    Column { text: "rust", markdown: "Rust", numeric: true, cell: |s, _| median(s, Implementation::Rust) },
    Column {
        text: "rust-native",
        markdown: "Rust native",
        numeric: true,
        cell: |s, _| median(s, Implementation::RustNative),
    },
    Column {
        text: "rust/c [95% CI]",
        markdown: "Rust/C [95% CI]",
        numeric: false,
        cell: |s, style| {
            s.rust_over_c.as_ref().map_or("-".into(), |r| match style {
                Style::Text => format_ratio(r),
                Style::Markdown => format!("**{:.3}** [{:.3}, {:.3}]", r.value, r.low, r.high),
            })
        },
    },
    Column { text: "c-floor", markdown: "C over floor", numeric: true, cell: |s, _| over_floor(s, Implementation::C) },
    Column {
        text: "rust-floor",
        markdown: "Rust over floor",
        numeric: true,
        cell: |s, _| over_floor(s, Implementation::Rust),
    },
];

/// The terminal table: every column as wide as its widest entry.
pub(crate) fn text_table(summaries: &[WorkloadSummary]) -> String {
    let rows: Vec<Vec<String>> =
        summaries.iter().map(|s| COLUMNS.iter().map(|c| (c.cell)(s, Style::Text)).collect()).collect();
    let widths: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| rows.iter().map(|r| r[i].chars().count()).chain([c.text.len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(COLUMNS)
            .zip(&widths)
            .map(|((cell, c), &w)| if c.numeric { format!("{cell:>w$}") } else { format!("{cell:<w$}") })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(COLUMNS.iter().map(|c| c.text).collect());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The Markdown table.
pub(crate) fn markdown_table(summaries: &[WorkloadSummary]) -> String {
    let headings: Vec<&str> = COLUMNS.iter().map(|c| c.markdown).collect();
    let rules: Vec<&str> = COLUMNS.iter().map(|c| if c.numeric { "---:" } else { "---" }).collect();
    let mut out = format!("| {} |\n| {} |\n", headings.join(" | "), rules.join(" | "));
    for s in summaries {
        let cells: Vec<String> = COLUMNS.iter().map(|c| (c.cell)(s, Style::Markdown)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
