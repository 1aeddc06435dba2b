//! QEMU's device sections to portlab blobs and back, for every device of
//! the registry that declares its QEMU migration (`DeviceKind::qemu`).
//!
//! Import decodes a whole section, maps it to the device's portlab
//! payload, and proves the blob by loading it into a fresh device on a
//! board at the save's virtual time: only a blob that loads is returned,
//! and nothing partly decoded ever reaches a device. Export saves each
//! device of the machine from a board and writes QEMU's section, keeping
//! the values portlab does not model from an imported section when there
//! is one.

use std::collections::BTreeMap;

use portlab_board::registry::DEFAULT_LAYOUT;
use portlab_board::{Board, BoardConfig, Implementation, Registry, SlotConfig};
use portlab_device::migration;
use portlab_device::qemu::{QemuContext, QemuDevice, QemuLayout, QemuPlacement, QemuState, QemuValue};

use crate::error::StreamError;
use crate::machine::Machine;
use crate::stream::{self, Record, Stream};
use crate::timer;
use crate::writer::StreamWriter;

/// One device section of a stream, decoded and mapped.
#[derive(Debug, Clone)]
pub struct ImportedDevice {
    /// The registry's device kind (`pl011`).
    pub kind: &'static str,
    /// The section record it came from.
    pub record: Record,
    /// QEMU's values, every one, in stream order.
    pub state: QemuState,
    /// The creation properties the state needs (the HPET's `timers`).
    pub properties: Vec<(String, u64)>,
    /// The portlab blob, proven to load.
    pub blob: Vec<u8>,
}

/// What a stream holds for portlab.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The walked stream.
    pub stream: Stream,
    /// The virtual clock at save time, from the `timer` section (0 when
    /// the stream has none, as QEMU then leaves its clock).
    pub vm_clock_ns: u64,
    /// The `timer` section's values, if there is one.
    pub timer: Option<QemuState>,
    /// The sections portlab has a device for.
    pub devices: Vec<ImportedDevice>,
}

impl Imported {
    /// The full sections of the stream portlab does not model: every
    /// device section but the `timer` section and the imported ones (a
    /// second instance of a modelled device included).
    pub fn unmodelled(&self) -> impl Iterator<Item = &Record> {
        self.stream.records.iter().filter(move |r| {
            r.kind == stream::RecordKind::Full
                && r.name != timer::LAYOUT.name
                && !self.devices.iter().any(|d| d.record.name == r.name && d.record.instance_id == r.instance_id)
        })
    }
}

/// The layout of section `name`: the `timer` section's or a registered
/// device's.
pub fn layout_of<'r>(registry: &'r Registry, name: &str) -> Option<&'r QemuLayout> {
    if name == timer::LAYOUT.name {
        return Some(&timer::LAYOUT);
    }
    registry.kinds().iter().filter_map(|k| k.qemu).find(|q| q.layout.name == name).map(|q| q.layout)
}

/// Decodes a section's whole payload, which must be exactly what the
/// layout describes.
fn decode_exact(layout: &QemuLayout, bytes: &[u8], record: &Record) -> Result<QemuState, StreamError> {
    let payload = &bytes[record.payload.clone()];
    let (state, len) = layout
        .decode(record.version_id, payload)
        .map_err(|e| StreamError::at(record.payload.start + e.offset, e.message).in_section(&record.name))?;
    if len != payload.len() {
        return Err(StreamError::at(
            record.payload.start + len,
            format!("the stream's description gives {} payload bytes, QEMU 10.0's layout {len}", payload.len()),
        )
        .in_section(&record.name));
    }
    Ok(state)
}

/// A one-device board for `kind` with `properties`, at virtual time
/// `clock_ns`.
fn board_for(
    registry: &Registry,
    kind: &str,
    properties: &[(String, u64)],
    implementation: Implementation,
    clock_ns: u64,
) -> Result<Board, String> {
    let base = DEFAULT_LAYOUT.iter().find(|(k, _)| *k == kind).map_or(0, |&(_, b)| b);
    let config = BoardConfig {
        slots: vec![SlotConfig {
            name: kind.to_string(),
            kind: kind.to_string(),
            base,
            implementation,
            properties: properties.to_vec(),
        }],
        epoch: portlab_board::DEFAULT_EPOCH,
    };
    let mut board = Board::new(registry, &config).map_err(|e| e.to_string())?;
    // A fresh device has no timer armed: moving the clock changes nothing
    // but the time the loaded state is measured against.
    board.advance(clock_ns).map_err(|e| e.to_string())?;
    Ok(board)
}

/// The instance's properties by name: its description's defaults,
/// overridden by `given`.
fn property_map(board: &Board, dev: usize) -> BTreeMap<String, u64> {
    let mut map: BTreeMap<String, u64> =
        board.description(dev).properties.iter().map(|p| (p.name.to_string(), p.default)).collect();
    map.extend(board.slot_config(dev).properties.iter().cloned());
    map
}

/// Imports every section of `bytes` that a registered device declares,
/// checking each blob by loading it into `implementation`.
pub fn import(registry: &Registry, bytes: &[u8], implementation: Implementation) -> Result<Imported, StreamError> {
    let layouts = |name: &str| layout_of(registry, name);
    let stream = stream::parse(bytes, &layouts)?;
    let (timer, vm_clock_ns) = match stream.full_section(timer::LAYOUT.name, 0) {
        Some(r) => {
            let state = decode_exact(&timer::LAYOUT, bytes, r)?;
            let clock = match state.get("cpu_clock_offset") {
                Some(QemuValue::Int(v)) if *v >= 0 => *v as u64,
                other => {
                    return Err(StreamError::at(r.payload.start + 16, format!("virtual clock {other:?} is negative"))
                        .in_section("timer"));
                }
            };
            (Some(state), clock)
        }
        None => (None, 0),
    };
    let mut devices = Vec::new();
    for kind in registry.kinds() {
        let Some(qemu) = kind.qemu else { continue };
        // One instance, id 0, as the device's placement says; a second
        // instance (another machine's) is listed as not modelled rather
        // than loaded over the first.
        for record in stream
            .records
            .iter()
            .filter(|r| r.kind == stream::RecordKind::Full && r.name == qemu.layout.name && r.instance_id == 0)
        {
            let fail = |message: String| StreamError::at(record.offset, message).in_section(&record.name);
            let state = decode_exact(qemu.layout, bytes, record)?;
            let properties: Vec<(String, u64)> =
                (qemu.properties)(&state).map_err(&fail)?.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let mut board = board_for(registry, kind.name, &properties, implementation, vm_clock_ns)
                .map_err(|e| fail(format!("no portlab {} with the properties this state needs: {e}", kind.name)))?;
            let template = board.save(0).map_err(|e| fail(e.to_string()))?;
            let ctx = QemuContext { vm_clock_ns, properties: property_map(&board, 0) };
            let schema = board.description(0).schema.clone();
            let payload = qemu.to_payload(&state, &ctx, &schema).map_err(&fail)?;
            let blob = blob_like(&template, &payload).map_err(&fail)?;
            if let Err(e) = board.load(0, &blob) {
                let culprits = refused_fields(&mut board, 0, &template, &blob);
                return Err(fail(format!(
                    "QEMU's state does not load into portlab's {} ({implementation}): {e}{culprits}",
                    kind.name
                )));
            }
            devices.push(ImportedDevice { kind: kind.name, record: record.clone(), state, properties, blob });
        }
    }
    Ok(Imported { stream, vm_clock_ns, timer, devices })
}

/// Which fields made device `dev` of `board` refuse `blob`: each field whose
/// value differs from `template`'s (a new device's state) is put back to
/// the template's value, alone, and the blob loaded again; the fields
/// whose reset makes it load are named with their values, as `; it loads
/// with any one of these as a new device has them: read_pos = 0x11`.
/// Empty when no single field explains it (a rule across fields, or an
/// error that is not about values). Only for an error message: a load
/// that succeeds here changes the device, so the board must not be used
/// afterwards.
fn refused_fields(board: &mut Board, dev: usize, template: &[u8], blob: &[u8]) -> String {
    let (Some(old), Some(new)) = (migration::payload(template), migration::payload(blob)) else { return String::new() };
    // Resetting one field at a time means the same fields at the same
    // places: a payload of another length (another record count) has none.
    if old.len() != new.len() {
        return String::new();
    }
    let Ok(values) = board.description(dev).schema.decode(new) else { return String::new() };
    let header = portlab_device::sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let mut culprits = Vec::new();
    for field in values {
        let place = field.offset..field.offset + field.width as usize;
        if old[place.clone()] == new[place.clone()] {
            continue;
        }
        let mut trial = blob.to_vec();
        trial[header + place.start..header + place.end].copy_from_slice(&old[place]);
        migration::reseal(&mut trial);
        if board.load(dev, &trial).is_ok() {
            culprits.push(format!("{} = {:#x}", field.name, field.value));
        }
    }
    if culprits.is_empty() {
        String::new()
    } else {
        format!("; it loads with any one of these as a new device has them: {}", culprits.join(", "))
    }
}

/// A blob with `template`'s header (device id, version) around `payload`.
fn blob_like(template: &[u8], payload: &[u8]) -> Result<Vec<u8>, String> {
    let header = portlab_device::sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let old = migration::payload(template).ok_or("the device saved a malformed blob")?;
    if old.len() != payload.len() {
        return Err(format!(
            "the mapped payload is {} bytes, portlab's device {} (the section holds a state the device cannot have, \
             such as an HPET with fewer than 3 comparators)",
            payload.len(),
            old.len()
        ));
    }
    let mut blob = Vec::with_capacity(template.len());
    blob.extend_from_slice(&template[..header]);
    blob.extend_from_slice(payload);
    blob.extend_from_slice(&[0; 4]);
    migration::reseal(&mut blob);
    Ok(blob)
}

/// One section an export wrote.
#[derive(Debug, Clone)]
pub struct ExportedSection {
    /// The board's device instance.
    pub device: String,
    /// QEMU's section name.
    pub section: &'static str,
    /// QEMU's section state written.
    pub state: QemuState,
    /// The section's payload bytes.
    pub payload: Vec<u8>,
    /// The device's creation properties (QEMU must be started with the
    /// same, `-global hpet.timers=5`).
    pub properties: BTreeMap<String, u64>,
}

/// A board device on a machine: its index, its QEMU declaration, and
/// where the machine has it.
pub type MachineDevice = (usize, &'static QemuDevice, &'static QemuPlacement);

/// The devices of `machine` on `board`: its instances whose kind QEMU
/// 10.0 has on that machine, each with its declaration and its placement
/// there. With `only`, exactly those instances, and an
/// error for one the machine would not have.
pub fn machine_devices(
    registry: &Registry,
    machine: Machine,
    board: &Board,
    only: Option<&[String]>,
) -> Result<Vec<MachineDevice>, String> {
    let on_machine = |dev: usize| -> Option<MachineDevice> {
        let qemu = registry.kind(&board.slot_config(dev).kind)?.qemu?;
        let placement = qemu.machines.iter().find(|p| p.machine == machine.name())?;
        Some((dev, qemu, placement))
    };
    let mut out = Vec::new();
    match only {
        Some(names) => {
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    return Err(format!("{name} is named twice"));
                }
                let dev = board.device_index(name).map_err(|e| e.to_string())?;
                let found = on_machine(dev).ok_or_else(|| {
                    let kind = &board.slot_config(dev).kind;
                    let known = registry
                        .kind(kind)
                        .and_then(|k| k.qemu)
                        .map(|q| q.machines.iter().map(|p| p.machine).collect::<Vec<_>>().join(", "));
                    match known {
                        Some(m) => format!("QEMU 10.0's {machine} has no {kind} (portlab knows it on {m})"),
                        None => format!("portlab knows no QEMU migration layout for {kind}"),
                    }
                })?;
                out.push(found);
            }
        }
        None => out.extend((0..board.device_names().len()).filter_map(on_machine)),
    }
    if out.is_empty() {
        return Err(format!("the board has none of the devices QEMU 10.0's {machine} has"));
    }
    Ok(out)
}

/// Writes the stream of `machine` from `board`'s devices (all of the
/// machine's, or `only`), at the board's virtual time. `bases` are
/// imported sections whose unmodelled values are kept.
pub fn export(
    registry: &Registry,
    machine: Machine,
    board: &mut Board,
    only: Option<&[String]>,
    bases: &[ImportedDevice],
) -> Result<(Vec<u8>, Vec<ExportedSection>), String> {
    let devices = machine_devices(registry, machine, board, only)?;
    let mut writer = StreamWriter::new(machine, board.clock_ns());
    let mut sections = Vec::new();
    for (dev, qemu, placement) in devices {
        let name = board.device_names()[dev].clone();
        let properties = property_map(board, dev);
        // QEMU creates the device with the machine's properties; a state
        // made with others is one that machine's device can never have.
        for (prop, value) in placement.properties {
            if properties.get(*prop) != Some(value) {
                return Err(format!(
                    "{name} has {prop}={}, but QEMU 10.0's {machine} creates it with {prop}={value:#x}: \
                     add `config {name} {prop}={value:#x}` to the trace (`portlab qemu trace` writes it)",
                    properties.get(*prop).map_or("?".to_string(), |v| format!("{v:#x}"))
                ));
            }
        }
        let blob = board.save(dev).map_err(|e| e.to_string())?;
        let payload = migration::payload(&blob).ok_or("the device saved a malformed blob")?;
        let ctx = QemuContext { vm_clock_ns: board.clock_ns(), properties: properties.clone() };
        let base = bases.iter().find(|b| b.kind == board.slot_config(dev).kind).map(|b| &b.state);
        let schema = &board.description(dev).schema;
        let state = qemu.from_payload(payload, &ctx, schema, base).map_err(|e| format!("{name}: {e}"))?;
        let bytes = qemu.layout.encode(&state).map_err(|e| format!("{name}: {e}"))?;
        writer.full_section(placement.section_id, qemu.layout.name, 0, qemu.layout.version, &bytes);
        sections.push(ExportedSection { device: name, section: qemu.layout.name, state, payload: bytes, properties });
    }
    Ok((writer.finish(), sections))
}

/// Runs a trace's commands on `runner`'s board (created on the first
/// command if it does not exist yet).
pub fn feed(runner: &mut portlab_board::Runner, file: &str, reader: impl std::io::BufRead) -> Result<(), String> {
    let mut events = Vec::new();
    for item in portlab_board::TraceReader::new(reader) {
        let line = item.map_err(|e| format!("{file}:{}: {}", e.line, e.message))?;
        runner.execute(&line.command, &mut events).map_err(|e| format!("{file}:{}: {e}", line.number))?;
        events.clear();
    }
    runner.board_mut().map_err(|e| format!("{file}: {e}"))?;
    Ok(())
}

/// Runs a trace on a fresh board laid out as `config` and returns the
/// runner, whose board then holds the state to export.
pub fn replay(
    registry: &Registry,
    config: BoardConfig,
    file: &str,
    reader: impl std::io::BufRead,
) -> Result<portlab_board::Runner, String> {
    let mut runner = portlab_board::Runner::new(registry, config);
    feed(&mut runner, file, reader)?;
    Ok(runner)
}

/// A runner whose board starts from imported devices: created with their
/// properties (on `config`'s layout), its clock moved to the save's
/// virtual time (nothing is armed yet, so nothing fires), and each blob
/// loaded into the board's device of that kind. A trace then runs from
/// that state; what a load itself causes (a PL031 alarm due at load time
/// fires) shows with the trace's first command.
pub fn start_runner(
    registry: &Registry,
    mut config: BoardConfig,
    vm_clock_ns: u64,
    devices: &[ImportedDevice],
) -> Result<portlab_board::Runner, String> {
    for d in devices {
        let slot = config
            .slots
            .iter_mut()
            .find(|s| s.kind == d.kind)
            .ok_or_else(|| format!("the board has no {} for the imported state", d.kind))?;
        slot.properties = d.properties.clone();
    }
    let mut runner = portlab_board::Runner::new(registry, config);
    let board = runner.board_mut().map_err(|e| e.to_string())?;
    board.advance(vm_clock_ns).map_err(|e| e.to_string())?;
    for d in devices {
        let dev = (0..board.device_names().len())
            .find(|&i| board.slot_config(i).kind == d.kind)
            .ok_or_else(|| format!("the board has no {}", d.kind))?;
        if let Err(e) = board.load(dev, &d.blob) {
            // A refused load leaves the device as it was (the header's
            // contract), so it still saves a new device's state: the
            // template the refused fields are explained against, taken
            // only when there is something to explain.
            let culprits = match board.save(dev) {
                Ok(template) => refused_fields(board, dev, &template, &d.blob),
                Err(_) => String::new(),
            };
            return Err(format!("{}: {e}{culprits}", d.kind));
        }
    }
    Ok(runner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob whose payload is longer than a new device's (an HPET blob
    /// that declares one comparator more than the board's HPET has, edited
    /// into a state folder) is refused, and explaining it neither panics
    /// nor names a field: a field-by-field reset needs the same layout.
    #[test]
    fn a_blob_of_another_layout_is_not_explained_field_by_field() {
        let registry = Registry::builtin();
        let mut board = Board::new(&registry, &BoardConfig::default_board(Implementation::C)).unwrap();
        let dev = (0..board.device_names().len()).find(|&i| board.slot_config(i).kind == "hpet").unwrap();
        let template = board.save(dev).unwrap();
        let schema = board.description(dev).schema.clone();
        let records = schema.records.clone().unwrap();
        let count = schema.fixed_field(records.count_field).unwrap();
        let header = portlab_device::sys::PORTLAB_STATE_HEADER_SIZE as usize;
        // One record more, and the count and the header's length to match.
        let mut blob = template[..template.len() - 4].to_vec();
        blob.extend(std::iter::repeat_n(0, records.size as usize));
        blob.extend_from_slice(&[0; 4]);
        let at = header + count.offset as usize;
        let n = u32::from_le_bytes(blob[at..at + 4].try_into().unwrap());
        blob[at..at + 4].copy_from_slice(&(n + 1).to_le_bytes());
        let payload_len = u32::try_from(blob.len() - header - 4).unwrap();
        blob[8..12].copy_from_slice(&payload_len.to_le_bytes());
        migration::reseal(&mut blob);
        assert!(board.load(dev, &blob).is_err(), "the board's HPET has fewer comparators");
        assert_eq!(refused_fields(&mut board, dev, &template, &blob), "");
    }
}
