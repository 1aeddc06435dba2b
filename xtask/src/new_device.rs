//! `cargo xtask new-device NAME`: the scaffold that starts the next
//! device's port.
//!
//! It creates, for a device NAME: a C model skeleton and its header in
//! `c-src/`, a Rust device crate `crates/portlab-NAME` (state machine,
//! lockstep property test, benchmark workloads), a traces folder with one
//! trace, registers both implementations (`NAME`, `x-NAME-rust`) on the
//! default board, and regenerates the bindings. The two skeletons behave
//! the same, so everything passes at once; then the port begins.

use std::fs;
use std::path::Path;

const DEVICE_H: &str = include_str!("templates/device.h");
const DEVICE_C: &str = include_str!("templates/device.c");
const CARGO_TOML: &str = include_str!("templates/Cargo.toml.in");
const LIB_RS: &str = include_str!("templates/lib.rs.in");
const REGISTERS_RS: &str = include_str!("templates/registers.rs.in");
const LOCKSTEP_RS: &str = include_str!("templates/lockstep.rs.in");
const BENCH_RS: &str = include_str!("templates/bench.rs.in");
const TRACE: &str = include_str!("templates/basics.trace.in");

/// The marker line each insertion goes above.
const MARKER: &str = "`cargo xtask new-device` adds";

struct Names {
    name: String,
    upper: String,
    camel: String,
    id: u16,
}

impl Names {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{name}", &self.name)
            .replace("{NAME}", &self.upper)
            .replace("{Name}", &self.camel)
            .replace("{ID_HEX}", &format!("{:08x}", 0x5000_0000u32 | u32::from(self.id)))
            .replace("{ID}", &format!("0x{:04X}", self.id))
    }
}

fn validate(name: &str) -> Result<(), String> {
    let ok = name.len() >= 2
        && name.len() <= 24
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        return Err(format!(
            "`{name}` is not a usable device name: use 2 to 24 lower-case letters and digits, starting with a letter (for example sp804)"
        ));
    }
    if ["pl011", "pl031", "null", "sys", "device", "board", "cli", "equiv", "bench", "shadow"].contains(&name) {
        return Err(format!("`{name}` is taken"));
    }
    Ok(())
}

/// A container id in 0x1000..0x7000 from the name (FNV-1a), away from
/// the built-in devices' ids.
fn state_id(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    0x1000 + (h % 0x6000) as u16
}

/// Inserts `line` above the marker line in `path` (keeping its indent).
fn insert_above_marker(path: &Path, line: &str) -> Result<(), String> {
    insert_above(path, MARKER, line)
}

/// Inserts `line` above the first line of `path` that contains `marker`,
/// at its indentation (a file with two markers names the one it means).
fn insert_above(path: &Path, marker: &str, line: &str) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = String::with_capacity(text.len() + line.len());
    let mut done = false;
    for l in text.split_inclusive('\n') {
        if !done && l.contains(marker) {
            let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
            out.push_str(&indent);
            out.push_str(line);
            out.push('\n');
            done = true;
        }
        out.push_str(l);
    }
    if !done {
        return Err(format!("{} has no `{marker}` marker line", path.display()));
    }
    fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The next free MMIO base on the default board.
fn next_base(registry_rs: &str) -> u64 {
    let mut highest = 0x0901_0000u64;
    for line in registry_rs.lines() {
        if let Some(rest) = line.trim().strip_prefix("(\"") {
            if let Some(hex) = rest.split("0x").nth(1) {
                let digits: String = hex.chars().take_while(|c| c.is_ascii_hexdigit() || *c == '_').collect();
                if let Ok(v) = u64::from_str_radix(&digits.replace('_', ""), 16) {
                    highest = highest.max(v);
                }
            }
        }
    }
    highest + 0x1_0000
}

/// What a scaffold changed, so that a failure can put the tree back: the
/// files it created (and directories), and the old text of files it edited.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    created: Vec<std::path::PathBuf>,
    created_dirs: Vec<std::path::PathBuf>,
    edited: Vec<(std::path::PathBuf, String)>,
}

impl Journal {
    fn note_edit(&mut self, path: &Path) -> Result<(), String> {
        if !self.edited.iter().any(|(p, _)| p == path) {
            let old = fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            self.edited.push((path.to_path_buf(), old));
        }
        Ok(())
    }

    /// Restores every edited file and removes every created one; returns
    /// how many paths it put back.
    pub(crate) fn roll_back(self) -> usize {
        let mut n = 0;
        for (path, old) in self.edited.iter().rev() {
            n += usize::from(fs::write(path, old).is_ok());
        }
        for path in self.created.iter().rev() {
            n += usize::from(fs::remove_file(path).is_ok());
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        n
    }
}

fn write_new(journal: &mut Journal, path: &Path, text: &str) -> Result<(), String> {
    if path.exists() {
        return Err(format!("{} exists already", path.display()));
    }
    if let Some(dir) = path.parent() {
        let mut missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        missing.reverse();
        journal.created_dirs.extend(missing.into_iter().map(Path::to_path_buf));
    }
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    journal.created.push(path.to_path_buf());
    println!("  created {}", path.display());
    Ok(())
}

/// Scaffolds device `name` in the workspace at `root`.
pub(crate) fn new_device(root: &Path, name: &str, journal: &mut Journal) -> Result<(), String> {
    validate(name)?;
    let crate_dir = root.join(format!("crates/portlab-{name}"));
    if crate_dir.exists() || root.join(format!("c-src/{name}.c")).exists() {
        return Err(format!("a device called `{name}` exists already"));
    }
    let names = Names {
        name: name.to_string(),
        upper: name.to_ascii_uppercase(),
        camel: name[..1].to_ascii_uppercase() + &name[1..],
        id: state_id(name),
    };
    println!("scaffolding device `{name}` (state id 0x{:04x})", names.id);
    write_new(journal, &root.join(format!("c-src/include/{name}.h")), &names.fill(DEVICE_H))?;
    write_new(journal, &root.join(format!("c-src/{name}.c")), &names.fill(DEVICE_C))?;
    write_new(journal, &crate_dir.join("Cargo.toml"), &names.fill(CARGO_TOML))?;
    write_new(journal, &crate_dir.join("src/lib.rs"), &names.fill(LIB_RS))?;
    write_new(journal, &crate_dir.join("src/registers.rs"), &names.fill(REGISTERS_RS))?;
    write_new(journal, &crate_dir.join("tests/lockstep.rs"), &names.fill(LOCKSTEP_RS))?;
    write_new(journal, &crate_dir.join("src/bench.rs"), &names.fill(BENCH_RS))?;
    write_new(journal, &root.join(format!("tests/traces/{name}/basics.trace")), &names.fill(TRACE))?;

    let layout_rs = root.join("crates/portlab-board/src/registry.rs");
    let base = next_base(&fs::read_to_string(&layout_rs).unwrap_or_default());
    for edited in [
        "Cargo.toml",
        "crates/portlab-board/Cargo.toml",
        "crates/portlab-device/src/c_models.rs",
        "crates/portlab-board/src/registry.rs",
        "crates/portlab-sys/src/bindings.rs",
        "c-src/tools/board_devices.h",
        "crates/portlab-rust-devices/Cargo.toml",
        "crates/portlab-rust-devices/src/lib.rs",
    ] {
        let path = root.join(edited);
        if path.exists() {
            journal.note_edit(&path)?;
        }
    }
    add_to_workspace_manifest(&root.join("Cargo.toml"), name)?;
    insert_above_marker(&root.join("crates/portlab-board/Cargo.toml"), &format!("portlab-{name}.workspace = true"))?;
    insert_above_marker(
        &root.join("crates/portlab-device/src/c_models.rs"),
        &format!(
            "c_model!(\n    /// The C {name} (`c-src/{name}.c`), type name `{name}`.\n    {name},\n    portlab_{name}_c_ops\n);\n"
        ),
    )?;
    let camel = &names.camel;
    insert_above(
        &root.join("crates/portlab-board/src/registry.rs"),
        "adds device kinds above",
        &format!(
            "DeviceKind {{\n    name: \"{name}\",\n    description: \"{name} (scaffolded by cargo xtask new-device)\",\n    \
             c: c_model_{name}(),\n    \
             rust: Some(DeviceType::of::<portlab_{name}::{camel}>()),\n    shadow: shadow_{name}(),\n    guest: None,\n    edge_cases: None,\n    workloads: portlab_{name}::bench::WORKLOADS,\n    saved_after_load: None,\n    qemu: None,\n}},"
        ),
    )?;
    append_c_model_fn(&root.join("crates/portlab-board/src/registry.rs"), name)?;
    // Its shadow device: the C model answers, the Rust rewrite is compared.
    let registry_rs = root.join("crates/portlab-board/src/registry.rs");
    let text = fs::read_to_string(&registry_rs).map_err(|e| format!("cannot read {}: {e}", registry_rs.display()))?;
    let marker = "    // The scaffold (xtask new-device) puts shadow pairs above this line.";
    let pair = format!(
        "    portlab_shadow::c_answers_rust_shadows!(\n        {camel}Pair,\n        {camel}Shadow,\n        \
         c\"x-{name}-shadow\",\n        \"x-{name}-shadow\",\n        portlab_device::c_models::{name},\n        \
         portlab_{name}::{camel}\n    );\n"
    );
    if !text.contains(marker) {
        return Err(format!("{} has no shadow-pair marker line", registry_rs.display()));
    }
    fs::write(&registry_rs, text.replacen(marker, &format!("{pair}{marker}"), 1))
        .map_err(|e| format!("cannot write {}: {e}", registry_rs.display()))?;
    insert_above(
        &layout_rs,
        "adds board slots above",
        &format!("(\"{name}\", 0x{:04x}_{:04x}),", base >> 16, base & 0xffff),
    )?;
    // The Rust device library C hosts link, and the C-only runner's board.
    insert_above_marker(
        &root.join("crates/portlab-rust-devices/Cargo.toml"),
        &format!("portlab-{name}.workspace = true"),
    )?;
    insert_above_marker(
        &root.join("crates/portlab-rust-devices/src/lib.rs"),
        &format!("portlab_device::export_device!(portlab_x_{name}_rust_ops, portlab_{name}::{camel});"),
    )?;
    insert_above_marker(
        &root.join("c-src/tools/board_devices.h"),
        &format!("PORTLAB_BOARD_DEVICE({name}, portlab_{name}_c_ops, portlab_x_{name}_rust_ops)"),
    )?;
    println!("  registered `{name}` and `x-{name}-rust`; board slot at 0x{base:08x}");
    Ok(())
}

/// Adds the crate above the three marker lines of the workspace manifest:
/// the two member lists (indented) and the dependency table (not).
fn add_to_workspace_manifest(path: &Path, name: &str) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = String::new();
    let mut found = 0;
    for l in text.split_inclusive('\n') {
        if l.contains(MARKER) {
            found += 1;
            let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
            if indent.is_empty() {
                out.push_str(&format!("portlab-{name} = {{ path = \"crates/portlab-{name}\" }}\n"));
            } else {
                out.push_str(&format!("{indent}\"crates/portlab-{name}\",\n"));
            }
        }
        out.push_str(l);
    }
    if found != 3 {
        return Err(format!("{} should have 3 `{MARKER}` lines, found {found}", path.display()));
    }
    fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A helper the registry entry calls, so the C model's name resolves only
/// in builds that compile C.
fn append_c_model_fn(path: &Path, name: &str) -> Result<(), String> {
    let camel = name[..1].to_ascii_uppercase() + &name[1..];
    let mut text = fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.push_str(&format!(
        "\n/// The C {name}, where C models are compiled.\n#[cfg(feature = \"c-models\")]\nfn c_model_{name}() -> Option<DeviceType> {{\n    Some(c_models::{name}())\n}}\n\n/// No C models in this build.\n#[cfg(not(feature = \"c-models\"))]\nfn c_model_{name}() -> Option<DeviceType> {{\n    None\n}}\n\n/// The {name} shadow device, where C models are compiled.\n#[cfg(feature = \"c-models\")]\nfn shadow_{name}() -> Option<DeviceType> {{\n    Some(DeviceType::of::<shadows::{camel}Shadow>())\n}}\n\n/// No shadow devices in this build.\n#[cfg(not(feature = \"c-models\"))]\nfn shadow_{name}() -> Option<DeviceType> {{\n    None\n}}\n"
    ));
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate("sp804").is_ok());
        assert!(validate("hpet").is_ok());
        for bad in ["", "a", "Sp804", "sp-804", "9p", "pl011", "x".repeat(30).as_str()] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_stay_clear_of_the_built_in_devices() {
        for name in ["sp804", "hpet", "gicv3", "zz"] {
            let id = state_id(name);
            assert!((0x1000..0x7000).contains(&id), "{name}: {id:#x}");
        }
    }

    #[test]
    fn templates_fill_every_placeholder() {
        let names = Names { name: "sp804".into(), upper: "SP804".into(), camel: "Sp804".into(), id: 0x1234 };
        for t in [DEVICE_H, DEVICE_C, CARGO_TOML, LIB_RS, REGISTERS_RS, LOCKSTEP_RS, BENCH_RS, TRACE] {
            let filled = names.fill(t);
            for p in ["{name}", "{NAME}", "{Name}", "{ID}", "{ID_HEX}"] {
                assert!(!filled.contains(p), "{p} left in a template");
            }
        }
        assert!(names.fill(DEVICE_H).contains("#define SP804_STATE_DEVICE_ID 0x1234"));
    }

    #[test]
    fn the_next_base_follows_the_highest_slot() {
        let board = "    (\"pl011\", 0x0900_0000),\n    (\"pl031\", 0x0901_0000),\n";
        assert_eq!(next_base(board), 0x0902_0000);
    }
}
