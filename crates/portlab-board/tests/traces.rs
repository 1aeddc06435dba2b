//! Runs every trace in `tests/traces/` on every implementation of its
//! devices: each must run with every `= EXPECTED` holding, and where a
//! `.events` file sits beside it, print exactly that event log.
//!
//! `recorded/` holds traces recorded from a real guest on QEMU; their
//! `.events` files have IRQ line 0 only, so lines 1-5 are dropped before
//! comparing (see tests/traces/README.md).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{pl011_implementations, traces_dir};
use portlab_board::{BoardConfig, CollectLog, Implementation, Registry, run_trace};
#[cfg(feature = "c-models")]
use portlab_board::{Lockstep, TraceReader};

fn trace_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        fs::read_dir(dir).expect("tests/traces exists").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            trace_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "trace") {
            out.push(path);
        }
    }
}

fn only_line_zero(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            !(w.first() == Some(&"irq") && w.get(2).is_some_and(|line| *line != "0"))
        })
        .cloned()
        .collect()
}

#[test]
fn every_trace_passes_on_every_implementation() {
    let registry = Registry::builtin();
    let mut files = Vec::new();
    trace_files(&traces_dir(), &mut files);
    assert!(files.len() >= 28, "expected the PL011 edge-case traces, found {}", files.len());
    let mut runs = 0;
    let mut skipped = 0;
    for file in &files {
        // A trace that migrates explicitly to an implementation this build
        // lacks (C, in a stage 3 build) cannot run here.
        let text = fs::read_to_string(file).unwrap();
        let needs_missing = ["c", "rust"].iter().any(|imp| {
            registry.device_type("pl011", imp.parse().unwrap()).is_err()
                && text.lines().any(|l| l.starts_with("migrate") && l.split_whitespace().nth(2) == Some(*imp))
        });
        if needs_missing {
            skipped += 1;
            continue;
        }
        let recorded = file.parent().is_some_and(|p| p.ends_with("recorded"));
        let expected: Option<Vec<String>> =
            fs::read_to_string(file.with_extension("events")).ok().map(|t| t.lines().map(str::to_owned).collect());
        // The shadow device too: it must answer like C and see no divergence.
        let every_kind_has_a_shadow = BoardConfig::default_board(Implementation::Shadow)
            .slots
            .iter()
            .all(|s| registry.device_type(&s.kind, Implementation::Shadow).is_ok());
        let shadow = every_kind_has_a_shadow.then_some(Implementation::Shadow);
        for imp in pl011_implementations(&registry).into_iter().chain(shadow) {
            let mut log = CollectLog::default();
            let reader = std::io::BufReader::new(fs::File::open(file).unwrap());
            let name = file.display().to_string();
            if let Err(e) = run_trace(&name, reader, &registry, BoardConfig::default_board(imp), &mut log) {
                panic!("{name} with --impl {imp}: {e}");
            }
            let divergences: Vec<&String> = log.diagnostics.iter().filter(|d| d.contains("divergence")).collect();
            assert!(divergences.is_empty(), "{name} with --impl {imp}: {divergences:?}");
            if let Some(expected) = &expected {
                let actual = if recorded { only_line_zero(&log.lines) } else { log.lines.clone() };
                if let Some(i) = actual.iter().zip(expected).position(|(a, e)| a != e) {
                    panic!(
                        "{name} with --impl {imp}: event {} differs: expected `{}`, got `{}`",
                        i + 1,
                        expected[i],
                        actual[i]
                    );
                }
                assert_eq!(actual.len(), expected.len(), "{name} with --impl {imp}: event count");
            }
            runs += 1;
        }
    }
    assert!(skipped <= 2, "only the explicit C/Rust migration traces may be skipped, skipped {skipped}");
    assert!(runs >= files.len() - skipped);
}

/// Every trace also runs in lockstep, C against Rust, comparing events
/// and state after every command: what `portlab compare` does.
#[cfg(feature = "c-models")]
#[test]
fn every_trace_compares_identical_in_lockstep() {
    let registry = Registry::builtin();
    let mut files = Vec::new();
    trace_files(&traces_dir(), &mut files);
    for file in &files {
        let mut lockstep = Lockstep::new(
            &registry,
            BoardConfig::default_board(Implementation::C),
            BoardConfig::default_board(Implementation::Rust),
            true,
        );
        let reader = std::io::BufReader::new(fs::File::open(file).unwrap());
        for line in TraceReader::new(reader) {
            let line = line.unwrap();
            if let Err(d) = lockstep.execute(&line.command) {
                panic!("{}:{}: {d}", file.display(), line.number);
            }
        }
    }
}

/// H4 (hpet.md section 15): the HPET accepts 4- and 8-byte accesses only,
/// aligned to their size; anything else is an error of the trace at that
/// line (exit status 2), on every implementation, before the device sees it.
#[test]
fn h4_refused_hpet_accesses_are_trace_errors() {
    let registry = Registry::builtin();
    for imp in [Implementation::C, Implementation::Rust, Implementation::Shadow] {
        if registry.device_type("hpet", imp).is_err() {
            continue;
        }
        for (line, words) in [
            ("read hpet 0x000 1", "does not accept 1-byte accesses"),
            ("read hpet 0x002 2", "does not accept 2-byte accesses"),
            ("write hpet 0x010 0x1 1", "does not accept 1-byte accesses"),
            ("write hpet 0x010 0x1 2", "does not accept 2-byte accesses"),
            ("read hpet 0x004 8", "not a multiple of the access size 8"),
            ("write hpet 0x0f4 0x1 8", "not a multiple of the access size 8"),
        ] {
            let text = format!("read hpet 0x000 = 0x8086a201\n{line}\n");
            let mut log = CollectLog::default();
            let err = run_trace("h4", std::io::Cursor::new(text), &registry, BoardConfig::default_board(imp), &mut log)
                .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{imp}: `{line}`");
            assert_eq!(err.line, 2, "{imp}: `{line}`");
            assert!(err.to_string().contains(words), "{imp}: `{line}`: {err}");
            assert_eq!(log.lines, vec!["read hpet 0x000 4 0x8086a201"], "{imp}: the events before the bad line");
        }
    }
}
