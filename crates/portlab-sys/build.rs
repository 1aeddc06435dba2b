//! Builds the C device models with the cc crate and guards the committed
//! bindings against drift from the C headers.

#[path = "headers_hash.rs"]
mod headers_hash;

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let c_src = manifest_dir.join("../../c-src");
    let include = c_src.join("include");

    check_bindings_are_current(&manifest_dir, &include);
    // Stage 3 of the roadmap builds without the `c-models` feature: no C
    // device model is compiled at all.
    if std::env::var_os("CARGO_FEATURE_C_MODELS").is_some() {
        build_c_models(&c_src, &include);
    } else {
        println!("cargo:rustc-env=PORTLAB_C_COMPILER=");
    }
}

/// Fails the build, with the fix in the message, when a header changed
/// after `src/bindings.rs` was generated.
fn check_bindings_are_current(manifest_dir: &Path, include: &Path) {
    let bindings_path = manifest_dir.join("src/bindings.rs");
    println!("cargo:rerun-if-changed={}", bindings_path.display());
    let bindings = std::fs::read_to_string(&bindings_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", bindings_path.display()));
    let actual = headers_hash::headers_hash(include)
        .unwrap_or_else(|e| panic!("cannot hash the headers in {}: {e}", include.display()));
    match headers_hash::recorded_hash(&bindings) {
        Some(recorded) if recorded == actual => {}
        recorded => panic!(
            "\n\nportlab-sys: the committed bindings are out of date.\n\
             The C headers in c-src/include hash to {actual}, but\n\
             crates/portlab-sys/src/bindings.rs was generated from {}.\n\
             Regenerate them (needs libclang) with:\n\n    cargo xtask bindgen\n\n\
             and commit the result.\n",
            recorded.unwrap_or("(no hash recorded)")
        ),
    }
}

fn build_c_models(c_src: &Path, include: &Path) {
    let mut sources = Vec::new();
    collect_files(c_src, &mut sources);
    for path in &sources {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed={}", c_src.display());
    println!("cargo:rerun-if-env-changed=PORTLAB_SANITIZE");

    // The models only: the C runner and hosts under c-src/tools and the
    // models' selftests under c-src/tests are built by make, not into the
    // library.
    let models: Vec<&PathBuf> = sources
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "tools" || c.as_os_str() == "tests"))
        .collect();

    let mut build = cc::Build::new();
    // cc's own warning flags stay on (`.warnings(false)` would add -w,
    // which silences everything); -Werror makes any warning fail the
    // build, as the C conventions require.
    build.std("c11").include(include).include(c_src).flag("-Wall").flag("-Wextra").flag("-Werror");
    // Instrument the C models; the Rust side links the runtime through
    // RUSTFLAGS. `1`: ASan and UBSan with GCC's runtimes (.ci/sanitize);
    // `address`: ASan alone, for a build whose Rust code is instrumented
    // too and links rustc's ASan runtime, which GCC's UBSan runtime cannot
    // sit beside (.ci/sanitize-rust).
    match std::env::var("PORTLAB_SANITIZE").as_deref() {
        Ok("" | "0") | Err(_) => {}
        Ok("address") => {
            build.flag("-fsanitize=address").flag("-fno-omit-frame-pointer");
        }
        Ok(_) => {
            build
                .flag("-fsanitize=address,undefined")
                .flag("-fno-omit-frame-pointer")
                .flag("-fno-sanitize-recover=all");
        }
    }
    // The compiler and flags, as the benchmark report states them (the
    // include folders left out: they are this checkout's paths).
    let compiler = build.get_compiler();
    let mut command = vec![compiler.path().display().to_string()];
    let mut args = compiler.args().iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // cc gives `-I` and the folder as two arguments.
            "-I" => {
                args.next();
            }
            a if a.starts_with("-I") => {}
            _ => command.push(arg),
        }
    }
    println!("cargo:rustc-env=PORTLAB_C_COMPILER={}", command.join(" "));
    for model in models {
        build.file(model);
    }
    build.compile("portlab_c_models");
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "c" || e == "h") {
            out.push(path);
        }
    }
}
