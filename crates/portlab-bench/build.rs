//! Records, at build time, the compiler and the cargo profile that built
//! this crate, for the benchmark report: asking `rustc --version` when the
//! report is written could name a different compiler than the one whose
//! code is being measured.

use std::path::Path;
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PORTLAB_BUILD_RUSTC={version}");
    // Cargo names the profile only as "debug" or "release"; the folder
    // under the target directory names custom ones too (target/lto/build/...).
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let profile = Path::new(&out_dir)
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map_or_else(|| std::env::var("PROFILE").unwrap_or_default(), |n| n.to_string_lossy().into_owned());
    println!("cargo:rustc-env=PORTLAB_BUILD_PROFILE={profile}");
    println!("cargo:rerun-if-env-changed=RUSTC");

    // The settings that decide the Rust code: cargo's defaults for the
    // profile, overlaid with the workspace manifest's [profile.*] sections
    // (following `inherits`), and any RUSTFLAGS.
    let manifest = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../../Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let mut settings = profile_settings(&text, &profile);
    let rustflags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default().replace('\x1f', " ");
    if !rustflags.trim().is_empty() {
        settings.push_str(&format!(", RUSTFLAGS {}", rustflags.trim()));
    }
    println!("cargo:rustc-env=PORTLAB_BUILD_RUST_SETTINGS={settings}");
    println!("cargo:rerun-if-env-changed=RUSTFLAGS");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}

/// `opt-level=3, debug=false, ...` for a profile folder name (`debug` is
/// the `dev` profile).
fn profile_settings(manifest: &str, folder: &str) -> String {
    const KEYS: [&str; 5] = ["opt-level", "codegen-units", "lto", "debug", "panic"];
    let name = if folder == "debug" { "dev" } else { folder };
    // The chain of profiles, leaf first, up to a root (`dev`, `release`,
    // or a profile that inherits nothing).
    let mut chain = vec![name.to_string()];
    while chain.len() < 8 {
        let last = chain.last().cloned().unwrap_or_default();
        match section(manifest, &last).into_iter().find(|(k, _)| k == "inherits") {
            Some((_, parent)) => chain.push(parent.trim_matches('"').to_string()),
            None => break,
        }
    }
    // Cargo's built-in defaults, of the root the chain ends in (`test`
    // builds on `dev`).
    let root = chain.last().map_or("release", String::as_str);
    let defaults: [&str; 5] = if matches!(root, "dev" | "test") {
        ["0", "256", "false", "true", "\"unwind\""]
    } else {
        ["3", "16", "false", "false", "\"unwind\""]
    };
    let mut values: Vec<String> = defaults.iter().map(|v| v.to_string()).collect();
    for profile in chain.iter().rev() {
        for (key, value) in section(manifest, profile) {
            if let Some(i) = KEYS.iter().position(|k| *k == key) {
                values[i] = value;
            }
        }
    }
    KEYS.iter().zip(values).map(|(k, v)| format!("{k}={}", v.trim_matches('"'))).collect::<Vec<_>>().join(", ")
}

/// The `key = value` lines of `[profile.NAME]`, comments dropped.
fn section(manifest: &str, name: &str) -> Vec<(String, String)> {
    let header = format!("[profile.{name}]");
    let mut inside = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            inside = line == header;
        } else if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}
