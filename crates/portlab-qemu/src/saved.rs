//! An import written to a folder, and read back: what `portlab qemu
//! import --out DIR` leaves for `portlab run --start DIR` and `portlab
//! qemu export --from DIR`.
//!
//! `DIR/state.json` holds the machine, the virtual time of the save and,
//! per device, its kind, creation properties, QEMU's section (every value,
//! which subsections came) and the file name of its portlab blob, which
//! sits beside it (`DIR/pl011.bin`). QEMU's values are kept so that an
//! export writes back the ones portlab does not model unchanged.

use std::fs;
use std::path::Path;

use portlab_board::Registry;
use portlab_device::qemu::{QemuState, QemuValue};
use serde_json::{Value, json};

use crate::convert::{Imported, ImportedDevice};
use crate::stream::{Record, RecordKind};

/// The `format` of `state.json`.
pub const FORMAT: &str = "portlab-qemu-import 1";

/// The most a `state.json` or a blob may take (they are a few KB).
const MAX_FILE: u64 = 16 << 20;

/// A value as JSON: a number, or a hex string for bytes.
fn value_json(v: &QemuValue) -> Value {
    match v {
        QemuValue::Uint(u) => json!(u),
        QemuValue::Int(i) => json!(i),
        QemuValue::Bytes(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// One device's JSON, as `import --format json` prints it.
pub fn device_json(d: &ImportedDevice, blob_file: Option<&str>) -> Value {
    let fields: Vec<Value> = d
        .state
        .values
        .iter()
        .map(|(name, v)| {
            let ty = match v {
                QemuValue::Uint(_) => "uint",
                QemuValue::Int(_) => "int",
                QemuValue::Bytes(_) => "bytes",
            };
            json!({"name": name, "type": ty, "value": value_json(v)})
        })
        .collect();
    let properties: serde_json::Map<String, Value> = d.properties.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "kind": d.kind,
        "section": d.record.name,
        "section_id": d.record.section_id,
        "instance_id": d.record.instance_id,
        "version_id": d.record.version_id,
        "stream_offset": d.record.offset,
        "length": d.record.length,
        "fields": fields,
        "subsections": d.state.subsections,
        "properties": properties,
        "blob": blob_file,
    })
}

/// The whole import as JSON (`blob_files[i]` names device i's blob file).
pub fn import_json(imported: &Imported, blob_files: &[Option<String>]) -> Value {
    let devices: Vec<Value> = imported
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| device_json(d, blob_files.get(i).cloned().flatten().as_deref()))
        .collect();
    let others: Vec<Value> = imported
        .unmodelled()
        .map(|r| json!({"section": r.name, "instance_id": r.instance_id, "version_id": r.version_id}))
        .collect();
    json!({
        "format": FORMAT,
        "machine": imported.stream.machine,
        "vm_clock_ns": imported.vm_clock_ns,
        "timer_section": imported.timer.is_some(),
        "devices": devices,
        "other_sections": others,
    })
}

/// Writes `state.json` and the blobs into `dir` (created if missing).
pub fn write_dir(imported: &Imported, dir: &Path) -> Result<Vec<String>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for d in &imported.devices {
        let name = if d.record.instance_id == 0 {
            format!("{}.bin", d.kind)
        } else {
            format!("{}-{}.bin", d.kind, d.record.instance_id)
        };
        let path = dir.join(&name);
        fs::write(&path, &d.blob).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        names.push(name);
    }
    let files: Vec<Option<String>> = names.iter().cloned().map(Some).collect();
    let text = serde_json::to_string_pretty(&import_json(imported, &files)).map_err(|e| e.to_string())?;
    let path = dir.join("state.json");
    fs::write(&path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(names)
}

fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_FILE {
        return Err(format!("{} is {} bytes, more than an import writes", path.display(), meta.len()));
    }
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// What a saved import folder holds: the machine, the virtual time, the
/// devices.
#[derive(Debug, Clone)]
pub struct SavedImport {
    /// The machine type of the stream.
    pub machine: String,
    /// The virtual clock at save time.
    pub vm_clock_ns: u64,
    /// The devices, with their QEMU values and blobs.
    pub devices: Vec<ImportedDevice>,
}

/// Reads a folder `write_dir` wrote. Every device kind must be one the
/// registry knows, every blob must be there.
pub fn read_dir(registry: &Registry, dir: &Path) -> Result<SavedImport, String> {
    let path = dir.join("state.json");
    let text = read_capped(&path)?;
    let root: Value = serde_json::from_slice(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
    let bad = |what: &str| format!("{}: {what}", path.display());
    if root["format"] != FORMAT {
        return Err(bad(&format!("not a portlab import (format is not \"{FORMAT}\")")));
    }
    let machine = root["machine"].as_str().ok_or_else(|| bad("no machine"))?.to_string();
    let vm_clock_ns = root["vm_clock_ns"].as_u64().ok_or_else(|| bad("no vm_clock_ns"))?;
    let mut devices = Vec::new();
    for d in root["devices"].as_array().ok_or_else(|| bad("no devices"))? {
        let kind_name = d["kind"].as_str().ok_or_else(|| bad("a device without kind"))?;
        let kind = registry.kind(kind_name).ok_or_else(|| bad(&format!("unknown device kind `{kind_name}`")))?;
        let u32_of = |key: &str| -> Result<u32, String> {
            d[key].as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| bad(&format!("{kind_name}: no {key}")))
        };
        let mut values = Vec::new();
        for f in d["fields"].as_array().ok_or_else(|| bad(&format!("{kind_name}: no fields")))? {
            let name = f["name"].as_str().ok_or_else(|| bad("a field without name"))?.to_string();
            let value = match (f["type"].as_str(), &f["value"]) {
                (Some("uint"), v) => v.as_u64().map(QemuValue::Uint),
                (Some("int"), v) => v.as_i64().map(QemuValue::Int),
                (Some("bytes"), Value::String(hex)) if hex.len() % 2 == 0 => (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .map(QemuValue::Bytes),
                _ => None,
            }
            .ok_or_else(|| bad(&format!("{kind_name}: field `{name}` has no value of its type")))?;
            values.push((name, value));
        }
        let subsections = d["subsections"]
            .as_array()
            .ok_or_else(|| bad(&format!("{kind_name}: no subsections")))?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(&format!("{kind_name}: a subsection is not a name")))?;
        let properties = d["properties"]
            .as_object()
            .ok_or_else(|| bad(&format!("{kind_name}: no properties")))?
            .iter()
            .map(|(k, v)| v.as_u64().map(|v| (k.clone(), v)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(&format!("{kind_name}: a property is not a number")))?;
        let blob_name = d["blob"].as_str().ok_or_else(|| bad(&format!("{kind_name}: no blob file")))?;
        if blob_name.contains('/') || blob_name.contains('\\') || blob_name.starts_with('.') {
            return Err(bad(&format!("{kind_name}: blob file `{blob_name}` is not a name in the folder")));
        }
        let blob = read_capped(&dir.join(blob_name))?;
        let version_id = u32_of("version_id")?;
        let state = QemuState { version: version_id, values, subsections };
        // The section must still be one QEMU 10.0 loads.
        if let Some(qemu) = kind.qemu {
            if !qemu.layout.accepts(version_id) {
                return Err(bad(&format!(
                    "{kind_name}: section version {version_id}; QEMU 10.0 accepts {}..={}",
                    qemu.layout.min_version, qemu.layout.version
                )));
            }
            qemu.layout.encode(&state).map_err(|e| bad(&format!("{kind_name}: {e}")))?;
        } else {
            return Err(bad(&format!("{kind_name}: portlab knows no QEMU layout for it")));
        }
        let record = Record {
            offset: d["stream_offset"].as_u64().unwrap_or(0) as usize,
            kind: RecordKind::Full,
            section_id: u32_of("section_id")?,
            name: d["section"].as_str().ok_or_else(|| bad(&format!("{kind_name}: no section")))?.to_string(),
            instance_id: u32_of("instance_id")?,
            version_id,
            payload: 0..0,
            length: d["length"].as_u64().unwrap_or(0) as usize,
        };
        devices.push(ImportedDevice { kind: kind.name, record, state, properties, blob });
    }
    Ok(SavedImport { machine, vm_clock_ns, devices })
}
