//! Helpers shared by the board's integration tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};

use portlab_board::{BoardConfig, CollectLog, Implementation, Registry, TraceError, run_trace};

/// The workspace's `tests/traces` folder.
pub(crate) fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/traces")
}

/// Every implementation the registry has for the PL011.
pub(crate) fn pl011_implementations(registry: &Registry) -> Vec<Implementation> {
    [Implementation::C, Implementation::Rust]
        .into_iter()
        .filter(|i| registry.device_type("pl011", *i).is_ok())
        .collect()
}

/// Runs trace text on the default board with every device in `imp`.
pub(crate) fn run_text(text: &str, imp: Implementation) -> (CollectLog, Result<(), TraceError>) {
    let registry = Registry::builtin();
    let mut log = CollectLog::default();
    let result =
        run_trace("test.trace", text.as_bytes(), &registry, BoardConfig::default_board(imp), &mut log).map(|_| ());
    (log, result)
}

/// Parses a hex dump in the spec's layout (`0000: 44 45 ...`).
pub(crate) fn hex_dump(text: &str) -> Vec<u8> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .flat_map(|(_, bytes)| bytes.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex byte")))
        .collect()
}
