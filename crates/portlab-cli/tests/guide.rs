//! The guide's reference page cannot rot: every `console` block in
//! docs/guide/reference.md is a `$ portlab ...` command followed by its
//! exact standard output, and this test runs each one.
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
        let expected: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let output =
            Command::new(env!("CARGO_BIN_EXE_portlab")).args(&args).current_dir(&root).output().expect("portlab runs");
        let actual = String::from_utf8_lossy(&output.stdout);
        let actual: Vec<&str> = actual.lines().collect();
        assert_eq!(actual, expected, "docs/guide/reference.md: `{command}` prints something else now");
        assert_eq!(output.status.code(), Some(0), "`{command}`");
        checked += 1;
    }
    assert!(checked >= 6, "the reference shows run, compare, demo and list: found {checked} examples");
}
