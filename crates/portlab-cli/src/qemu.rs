//! `portlab qemu`: device state to and from QEMU 10.0's own migration
//! stream (crate `portlab-qemu`).
//!
//! - `import STREAM[.xz]`: the devices found, every field with its value,
//!   the virtual time of the save, and (`--out DIR`) the portlab blobs
//!   with a `state.json` that `portlab run --start DIR` starts from.
//! - `export --machine virt-10.0|pc-i440fx-10.0`: a minimal stream QEMU
//!   10.0 loads with `-incoming file:PATH`, from a trace run on portlab's
//!   models, an imported folder, or both (the trace runs from the import).
//! - `trace QTEST`: a qtest log (as the vectors record it) as a trace.
//!
//! Exit status: 0 done, 2 bad input (a malformed or unsupported stream, an
//! unknown machine, a device the machine does not have), as everywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use portlab_board::Registry;
use portlab_qemu::convert::{self, Imported};
use portlab_qemu::{Machine, saved};

use crate::output::missing_folder;
use crate::select::{ImplArgs, board_config, open_trace};

#[derive(Debug, Args)]
pub(crate) struct QemuArgs {
    #[command(subcommand)]
    command: QemuCommand,
}

#[derive(Debug, Subcommand)]
enum QemuCommand {
    /// Read a stream QEMU 10.0 saved: list the devices portlab models,
    /// print each field with its value, state the virtual time of the
    /// save, and with --out write the portlab blobs.
    Import(ImportArgs),
    /// Write a minimal stream of a machine's devices that QEMU 10.0 loads
    /// with `-incoming file:PATH`.
    Export(ExportArgs),
    /// Turn a qtest log (writel/readl, `#! rx`, `#! run`) into a trace.
    Trace(TraceArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The stream (`.xz` is decompressed).
    #[arg(value_name = "STREAM")]
    stream: PathBuf,
    /// Write each device's portlab blob and a state.json here (created if
    /// missing), for `portlab run --start DIR` and `qemu export --from DIR`.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The implementation each imported blob is proven on (loaded into a
    /// fresh device): `c` or `rust`.
    #[arg(long = "impl", value_name = "IMPL", default_value = "rust", value_parser = crate::select::parse_impl)]
    implementation: portlab_board::Implementation,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// The QEMU 10.0 machine type: `virt-10.0` or `pc-i440fx-10.0`.
    #[arg(long, value_name = "MACHINE")]
    machine: String,
    /// Run this trace on portlab's models first (after --from's state).
    #[arg(long, value_name = "TRACE")]
    trace: Option<String>,
    /// Start from a folder `portlab qemu import --out` wrote; the values
    /// portlab does not model are written back as QEMU saved them.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// Export only this device instance (repeatable; default: every
    /// device of the machine on the board).
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// The stream to write.
    #[arg(short, long, value_name = "PATH")]
    output: PathBuf,
    #[command(flatten)]
    impls: ImplArgs,
}

#[derive(Debug, Args)]
struct TraceArgs {
    /// The qtest log (`-` reads standard input).
    #[arg(value_name = "QTEST")]
    qtest: String,
    /// The machine type, when the log's `# machine:` line is missing.
    #[arg(long, value_name = "MACHINE")]
    machine: Option<String>,
    /// Leave out the reads' `= VALUE` expectations.
    #[arg(long)]
    no_expect: bool,
}

pub(crate) fn run(args: &QemuArgs) -> ExitCode {
    let result = match &args.command {
        QemuCommand::Import(a) => import(a),
        QemuCommand::Export(a) => export(a),
        QemuCommand::Trace(a) => trace(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portlab qemu: {e}");
            ExitCode::from(2)
        }
    }
}

/// The most a stream may decompress to: far above a minimal stream (a few
/// hundred bytes) or the vectors' (385 KB), and a bound for a hostile file.
const MAX_STREAM: usize = 1 << 30;

fn read_stream(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "xz") {
        portlab_qemu::unxz(&bytes, MAX_STREAM).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        Ok(bytes)
    }
}

fn import(args: &ImportArgs) -> Result<(), String> {
    let registry = Registry::builtin();
    let bytes = read_stream(&args.stream)?;
    let imported = convert::import(&registry, &bytes, args.implementation)
        .map_err(|e| format!("{}: {e}", args.stream.display()))?;
    let files = match &args.out {
        Some(dir) => {
            saved::write_dir(&imported, dir)?.into_iter().map(|f| Some(dir.join(f).display().to_string())).collect()
        }
        None => vec![None; imported.devices.len()],
    };
    match args.format {
        Format::Json => {
            let json = saved::import_json(&imported, &files);
            outln!("{}", serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?);
        }
        Format::Text => print_import(&args.stream, bytes.len(), &imported, &files),
    }
    Ok(())
}

fn print_import(path: &Path, size: usize, imported: &Imported, files: &[Option<String>]) {
    let s = &imported.stream;
    outln!("stream        {} ({size} bytes, QEMU format version 3)", path.display());
    outln!("machine       {}", s.machine);
    let time_source = if imported.timer.is_some() {
        "the `timer` section's cpu_clock_offset"
    } else {
        "no `timer` section: QEMU leaves its clock at 0"
    };
    outln!("virtual time  {} ns ({time_source})", imported.vm_clock_ns);
    let ram = if s.ram_blocks.is_empty() {
        "none".to_string()
    } else {
        format!("{} blocks, {} page records walked", s.ram_blocks.len(), s.ram_pages)
    };
    outln!(
        "records       {} (RAM: {ram}); JSON description: {}",
        s.records.len(),
        if s.vmdesc.is_some() { "yes" } else { "no" }
    );
    let others: Vec<String> = imported
        .unmodelled()
        .map(|r| if r.instance_id == 0 { r.name.clone() } else { format!("{} (instance {})", r.name, r.instance_id) })
        .collect();
    if imported.devices.is_empty() {
        outln!("devices       none that portlab models");
    } else {
        let list: Vec<String> = imported.devices.iter().map(|d| d.kind.to_string()).collect();
        outln!("devices       {}", list.join(", "));
    }
    if !others.is_empty() {
        outln!("not modelled  {}", others.join(", "));
    }
    for (d, file) in imported.devices.iter().zip(files) {
        let r = &d.record;
        outln!();
        outln!(
            "{}: section `{}` id {} instance {} version {}, {} payload bytes at byte {}",
            d.kind,
            r.name,
            r.section_id,
            r.instance_id,
            r.version_id,
            r.payload.len(),
            r.payload.start
        );
        let width = d.state.values.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (name, value) in &d.state.values {
            outln!("  {name:<width$}  {value}");
        }
        if !d.state.subsections.is_empty() {
            outln!("  subsections: {}", d.state.subsections.join(", "));
        }
        if !d.properties.is_empty() {
            let props: Vec<String> = d.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
            outln!("  portlab properties: {}", props.join(" "));
        }
        match file {
            Some(f) => outln!("  portlab blob: {f} ({} bytes)", d.blob.len()),
            None => outln!("  portlab blob: {} bytes (--out DIR writes it)", d.blob.len()),
        }
    }
}

fn export(args: &ExportArgs) -> Result<(), String> {
    let registry = Registry::builtin();
    let machine: Machine = args.machine.parse()?;
    if args.trace.is_none() && args.from.is_none() {
        return Err("give the state to export: --trace TRACE, --from DIR, or both".into());
    }
    if let Some(dir) = missing_folder(&args.output) {
        return Err(format!("the folder {} does not exist", dir.display()));
    }
    let config = board_config(&registry, &args.impls)?;
    let saved = match &args.from {
        Some(dir) => Some(saved::read_dir(&registry, dir)?),
        None => None,
    };
    if let Some(s) = &saved {
        if s.machine != machine.name() {
            return Err(format!(
                "{} holds a {} state; exporting it as {machine} would give QEMU devices that machine does not have",
                args.from.as_deref().unwrap_or(Path::new("")).display(),
                s.machine
            ));
        }
    }
    let mut runner = match &saved {
        Some(s) => convert::start_runner(&registry, config, s.vm_clock_ns, &s.devices)?,
        None => portlab_board::Runner::new(&registry, config),
    };
    if let Some(path) = &args.trace {
        let reader = open_trace(path).map_err(|e| format!("cannot open {path}: {e}"))?;
        convert::feed(&mut runner, path, reader)?;
    }
    let board = runner.board_mut().map_err(|e| e.to_string())?;
    let only = (!args.only.is_empty()).then_some(args.only.as_slice());
    let bases = saved.as_ref().map_or(&[][..], |s| s.devices.as_slice());
    let (stream, sections) = convert::export(&registry, machine, board, only, bases)?;
    std::fs::write(&args.output, &stream).map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    outln!("wrote {} ({} bytes): {machine}, virtual time {} ns", args.output.display(), stream.len(), board.clock_ns());
    let mut globals = Vec::new();
    for s in &sections {
        outln!("  {}: section `{}`, {} payload bytes", s.device, s.section, s.payload.len());
        globals.extend(global_options(&registry, board, &s.device, &s.properties));
    }
    let mut command = vec![machine.qemu_binary().to_string(), "-M".into(), machine.name().into()];
    command.extend(globals);
    command.extend([
        "-accel".into(),
        "tcg".into(),
        "-S".into(),
        "-incoming".into(),
        format!("file:{}", args.output.display()),
    ]);
    outln!("load it with: {} (plus the machine's usual options)", command.join(" "));
    Ok(())
}

/// The `-global` options QEMU needs to create the device as exported (a
/// property the device declares as QEMU's, with a value other than its
/// default).
fn global_options(
    registry: &Registry,
    board: &portlab_board::Board,
    device: &str,
    properties: &std::collections::BTreeMap<String, u64>,
) -> Vec<String> {
    let Ok(dev) = board.device_index(device) else { return Vec::new() };
    let kind = &board.slot_config(dev).kind;
    let Some(qemu) = registry.kind(kind).and_then(|k| k.qemu) else { return Vec::new() };
    let description = board.description(dev);
    let mut out = Vec::new();
    for (qemu_name, portlab_name) in qemu.qemu_properties {
        let default = description.properties.iter().find(|p| p.name == *portlab_name).map(|p| p.default);
        if let (Some(&value), Some(default)) = (properties.get(*portlab_name), default) {
            if value != default {
                // QEMU's boolean properties take on/off.
                let is_flag =
                    description.properties.iter().any(|p| p.name == *portlab_name && p.min == 0 && p.max == 1);
                let shown = match (is_flag, value) {
                    (true, 0) => "off".to_string(),
                    (true, _) => "on".to_string(),
                    (false, v) => v.to_string(),
                };
                out.push("-global".into());
                out.push(format!("{}.{qemu_name}={shown}", qemu.layout.name));
            }
        }
    }
    out
}

fn trace(args: &TraceArgs) -> Result<(), String> {
    let registry = Registry::builtin();
    let machine = args.machine.as_deref().map(str::parse::<Machine>).transpose()?;
    let mut text = String::new();
    let mut reader = open_trace(&args.qtest).map_err(|e| format!("cannot open {}: {e}", args.qtest))?;
    std::io::Read::read_to_string(&mut reader, &mut text).map_err(|e| format!("cannot read {}: {e}", args.qtest))?;
    let trace = portlab_qemu::qtest::to_trace(&registry, &text, machine, !args.no_expect)
        .map_err(|e| format!("{}: {e}", args.qtest))?;
    out!("{trace}");
    Ok(())
}
