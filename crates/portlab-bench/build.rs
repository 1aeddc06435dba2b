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
}
