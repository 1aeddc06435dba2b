//! The guide's reference page cannot rot: every `console` block in
//! docs/guide/reference.md is a `$ portlab ...` command followed by its
//! exact standard output, and this test runs each one. A block whose last
//! line is `(exit status N)` shows a command that exits N; every other
//! block's command exits 0.
#![cfg(feature = "stage1")]

use std::path::Path;
use std::process::Command;

#[test]
fn every_console_example_in_the_reference_is_real() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let page = std::fs::read_to_string(root.join("docs/guide/reference.md")).unwrap();
    let mut checked = 0;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let command = lines.next().expect("a command after ```console");
        let args: Vec<&str> = command
            .strip_prefix("$ portlab")
            .expect("console blocks start with `$ portlab`")
            .split_whitespace()
            .collect();
        let mut expected: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let status = match expected.last().and_then(|l| l.strip_prefix("(exit status ")) {
            Some(rest) => {
                let code = rest.trim_end_matches(')').parse::<i32>().expect("(exit status N)");
                expected.pop();
                code
            }
            None => 0,
        };
        let output =
            Command::new(env!("CARGO_BIN_EXE_portlab")).args(&args).current_dir(&root).output().expect("portlab runs");
        let actual = String::from_utf8_lossy(&output.stdout);
        let actual: Vec<&str> = actual.lines().collect();
        // Every line the page shows is real output, in order. A workspace
        // with more devices than the page shows (a scaffolded one) prints
        // more lines in `list`, and only that is tolerated: lines the page
        // does not show must name a device the page never mentions.
        let mut shown = expected.iter().peekable();
        for line in &actual {
            if shown.peek() == Some(&line) {
                shown.next();
            } else {
                assert!(
                    !expected.is_empty() && !page_mentions_every_word_device(&page, line),
                    "docs/guide/reference.md: `{command}` prints something else now:\n{}\nexpected:\n{}",
                    actual.join("\n"),
                    expected.join("\n")
                );
            }
        }
        assert!(shown.next().is_none(), "docs/guide/reference.md: `{command}` no longer prints all it shows");
        assert_eq!(output.status.code(), Some(status), "`{command}`");
        checked += 1;
    }
    assert!(checked >= 6, "the reference shows run, compare, demo and list: found {checked} examples");
}

/// Whether every device-like word of `line` (`x-NAME-rust`, a kind name at
/// the start of a `list` row) already appears in the page: a line about a
/// device the page never mentions is an addition, not a change.
fn page_mentions_every_word_device(page: &str, line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    let device = first.strip_prefix("x-").map_or(first, |rest| rest.split('-').next().unwrap_or(rest));
    device.is_empty() || page.contains(device)
}
