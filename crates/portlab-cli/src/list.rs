//! `portlab list`: the registered devices, their implementations and
//! what each declares, in this build's roadmap stage.

use std::process::ExitCode;

use portlab_board::{Registry, Stage};

pub(crate) fn run() -> ExitCode {
    let registry = Registry::builtin();
    let stage = Stage::CURRENT;
    let default = stage.default_implementation();
    outln!("roadmap stage {} build (docs/roadmap.md); default implementation: {default}", stage.number());
    outln!();
    for kind in registry.kinds() {
        outln!("{:<8} {}", kind.name, kind.description);
        for (name, imp) in registry.public_names(kind.name) {
            let note = if imp == default { " (default)" } else { "" };
            outln!("         {name:<18} {imp}{note}");
        }
        // How QEMU 10.0 migrates it, when the device declares that
        // (`portlab qemu import` and `export`).
        if let Some(q) = kind.qemu {
            let machines: Vec<&str> = q.machines.iter().map(|m| m.machine).collect();
            outln!(
                "         qemu 10.0 section `{}` version {} on {}",
                q.layout.name,
                q.layout.version,
                machines.join(", ")
            );
        }
        // What the device declares (interface v2): its creation properties
        // (`config NAME PROP=VALUE` in a trace) and input lines.
        let Some(device_type) = kind.c.or(kind.rust) else { continue };
        let description = device_type.description();
        for p in &description.properties {
            // Wide ranges (masks, addresses) read better in hex.
            let show = |v: u64| if p.max > 0xffff { format!("0x{v:x}") } else { v.to_string() };
            outln!("         property {}={} ({}..={}): {}", p.name, show(p.default), show(p.min), show(p.max), p.doc);
        }
        if description.num_inputs > 0 {
            outln!("         input lines 0-{}", description.num_inputs - 1);
        }
    }
    outln!();
    match stage {
        Stage::OptIn => {
            outln!("Stage 1: C models under the device's name, Rust rewrites opt-in under x-NAME-rust;");
        }
        Stage::RustDefault => {
            outln!("Stage 2: the plain names resolve to the Rust rewrites; C is still built (x-NAME-c);");
        }
        Stage::RustOnly => outln!("Stage 3: Rust only; no C device model is compiled;"),
    }
    outln!("x-NAME-shadow runs both, answers with C and reports the first divergence.");
    outln!("Select with --impl c|rust|shadow, or per device with --device NAME=IMPL.");
    ExitCode::SUCCESS
}
