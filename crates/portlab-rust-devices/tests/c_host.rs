//! Builds `c-src/tools/chost.c` (a C program that includes only the
//! interface header), links it against this crate's static library, runs
//! it, and checks its event log: a C host driving `x-pl011-rust`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The static library cargo built for this test run: `deps/` next to the
/// test executable holds `libportlab_rust_devices-<hash>.a`.
fn staticlib() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(deps)
        .expect("deps directory is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libportlab_rust_devices") && n.ends_with(".a"))
        })
        .collect();
    candidates.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    candidates.pop().unwrap_or_else(|| panic!("no libportlab_rust_devices*.a in {}", deps.display()))
}

#[test]
fn a_c_host_drives_the_rust_pl011_through_the_ops_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out_dir = std::env::temp_dir().join(format!("portlab-chost-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("chost");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    // Under .ci/sanitize-rust the Rust library is ASan-instrumented: the C
    // host is linked with an ASan runtime too, and is instrumented itself.
    let sanitizer: &[&str] =
        if std::env::var("PORTLAB_SANITIZE").as_deref() == Ok("address") { &["-fsanitize=address"] } else { &[] };
    let status = Command::new(&cc)
        // Under the sanitizer run (.ci/sanitize) the test inherits an
        // LD_PRELOAD of the ASan runtime: the compiler must not.
        .env_remove("LD_PRELOAD")
        .args(sanitizer)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("c-src/include"))
        .arg(root.join("c-src/tools/chost.c"))
        .arg(staticlib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "compiling and linking chost.c failed");

    let output = Command::new(&exe).output().expect("chost runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chost failed:\n{stderr}");
    assert!(stderr.contains("chost: ok"), "{stderr}");
    let expected = std::fs::read_to_string(root.join("tests/traces/pl011/example.events")).unwrap();
    assert_eq!(stdout, expected, "the C host sees the canonical event log of the example");
    std::fs::remove_dir_all(&out_dir).ok();
}
