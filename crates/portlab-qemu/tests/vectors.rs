//! The streams QEMU 10.0 saved (`tests/qemu-streams/`, see its README):
//! every record walked where QEMU's own tools put it, every field imported
//! with QEMU's value, the same register writes replayed on the C and the
//! Rust model exported to QEMU's section byte for byte, and export, import
//! and export again unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use portlab_board::{BoardConfig, Implementation, Registry};
use portlab_device::qemu::QemuValue;
use portlab_qemu::convert::{self, layout_of};
use portlab_qemu::{Machine, RecordKind};
use serde_json::Value;

/// `tests/qemu-streams`, or the folder `PORTLAB_QEMU_STREAMS` names (other
/// vectors in the same format, such as your own device's).
fn dir() -> PathBuf {
    match std::env::var_os("PORTLAB_QEMU_STREAMS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/qemu-streams"),
    }
}

struct Vector {
    name: String,
    expect: Value,
    stream: Vec<u8>,
}

impl Vector {
    fn device(&self) -> &str {
        self.expect["device"].as_str().unwrap_or("")
    }
    fn machine(&self) -> Machine {
        self.expect["machine"].as_str().unwrap().parse().unwrap()
    }
    fn qtest(&self) -> String {
        fs::read_to_string(dir().join(format!("{}.qtest", self.name))).unwrap()
    }
    fn has_run(&self) -> bool {
        self.qtest().lines().any(|l| l.starts_with("#! run"))
    }
}

fn vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    let mut names: Vec<String> = fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".expect.json").map(str::to_string))
        .collect();
    names.sort();
    for name in names {
        let expect: Value =
            serde_json::from_str(&fs::read_to_string(dir().join(format!("{name}.expect.json"))).unwrap()).unwrap();
        let plain = dir().join(format!("{name}.stream"));
        let stream = if plain.exists() {
            fs::read(plain).unwrap()
        } else {
            portlab_qemu::unxz(&fs::read(dir().join(format!("{name}.stream.xz"))).unwrap(), 64 << 20).unwrap()
        };
        out.push(Vector { name, expect, stream });
    }
    assert!(!out.is_empty(), "no vectors in {}", dir().display());
    if std::env::var_os("PORTLAB_QEMU_STREAMS").is_none() {
        assert!(out.len() >= 11, "the vectors are in tests/qemu-streams");
    }
    out
}

fn kind_name(kind: &RecordKind) -> String {
    match kind {
        RecordKind::Start => "START".into(),
        RecordKind::Part => "PART".into(),
        RecordKind::End => "END".into(),
        RecordKind::Full => "FULL".into(),
        RecordKind::Command(_) => "COMMAND".into(),
    }
}

#[test]
fn every_record_is_where_qemu_put_it() {
    let registry = Registry::builtin();
    for v in vectors() {
        let layouts = |name: &str| layout_of(&registry, name);
        let with_layouts = portlab_qemu::parse(&v.stream, &layouts).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        // Sized by the stream's own description alone, when it has one.
        let none = |_: &str| None;
        let streams = if with_layouts.vmdesc.is_some() {
            vec![with_layouts.clone(), portlab_qemu::parse(&v.stream, &none).unwrap()]
        } else {
            vec![with_layouts]
        };
        let expected: Vec<&Value> =
            v.expect["stream"]["sections"].as_array().map(|a| a.iter().collect()).unwrap_or_else(|| {
                v.expect["load"]["stream_sections"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
            });
        for s in &streams {
            assert_eq!(s.machine, v.expect["machine"].as_str().unwrap(), "{}", v.name);
            let mut records = s.records.iter();
            for e in &expected {
                match e["kind"].as_str().unwrap() {
                    "CONFIGURATION" => {
                        let subs: Vec<&str> =
                            e["subsections"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
                        assert_eq!(s.config_subsections, subs, "{}", v.name);
                    }
                    "EOF" => assert_eq!(s.eof_offset as u64, e["offset"].as_u64().unwrap(), "{}", v.name),
                    "VMDESCRIPTION" => assert!(s.vmdesc.is_some(), "{}", v.name),
                    kind => {
                        let r = records.next().unwrap_or_else(|| panic!("{}: fewer records than QEMU's", v.name));
                        let what = format!("{} record at {}", v.name, r.offset);
                        assert_eq!(kind_name(&r.kind), kind, "{what}");
                        assert_eq!(r.offset as u64, e["offset"].as_u64().unwrap(), "{what}");
                        assert_eq!(r.length as u64, e["length"].as_u64().unwrap(), "{what}");
                        if let RecordKind::Command(c) = r.kind {
                            assert_eq!(u64::from(c), e["command"].as_u64().unwrap(), "{what}");
                        } else {
                            assert_eq!(r.name, e["name"].as_str().unwrap(), "{what}");
                            assert_eq!(u64::from(r.section_id), e["section_id"].as_u64().unwrap(), "{what}");
                            assert_eq!(u64::from(r.version_id), e["version_id"].as_u64().unwrap(), "{what}");
                        }
                    }
                }
            }
            if !expected.is_empty() {
                assert!(records.next().is_none(), "{}: more records than QEMU's", v.name);
            }
        }
    }
}

/// QEMU's value of a field as ours prints it.
fn expected_value(field: &Value) -> QemuValue {
    match field["type"].as_str().unwrap() {
        "unused_buffer" => {
            let hex = field["value"].as_str().unwrap();
            QemuValue::Bytes(
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect(),
            )
        }
        "int32" | "int64" | "timer" => QemuValue::Int(field["value"].as_i64().unwrap()),
        _ => QemuValue::Uint(field["value"].as_u64().unwrap()),
    }
}

#[test]
fn import_gives_every_field_qemu_saved() {
    let registry = Registry::builtin();
    for v in vectors() {
        for implementation in [Implementation::C, Implementation::Rust] {
            let imported =
                convert::import(&registry, &v.stream, implementation).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            let sections = v.expect["sections"].as_object().cloned().unwrap_or_default();
            if let Some(clock) = v.expect["vm_clock_ns"].as_u64() {
                assert_eq!(imported.vm_clock_ns, clock, "{}", v.name);
            }
            let mut checked = 0;
            for (section, desc) in &sections {
                if section == "timer" {
                    continue;
                }
                let dev = imported
                    .devices
                    .iter()
                    .find(|d| d.record.name == *section)
                    .unwrap_or_else(|| panic!("{}: no {section} imported", v.name));
                let mut ours = dev.state.values.iter();
                for f in desc["fields"].as_array().unwrap() {
                    let name = f["name"].as_str().unwrap();
                    if f["type"] == "subsection" {
                        assert!(dev.state.has_subsection(name), "{}: subsection {name}", v.name);
                        continue;
                    }
                    let (our_name, our_value) = ours.next().unwrap_or_else(|| panic!("{}: no {name}", v.name));
                    assert_eq!(our_name, name, "{}", v.name);
                    assert_eq!(*our_value, expected_value(f), "{}: {name}", v.name);
                    checked += 1;
                }
                assert!(ours.next().is_none(), "{}: more fields than QEMU's", v.name);
            }
            // The vectors' minimal stream describes its fields in `load`.
            assert!(checked > 0 || sections.is_empty(), "{}", v.name);
        }
    }
}

/// The device's section record from a stream we wrote.
fn section_record(stream: &[u8], registry: &Registry, name: &str) -> Vec<u8> {
    let layouts = |n: &str| layout_of(registry, n);
    let parsed = portlab_qemu::parse(stream, &layouts).unwrap();
    let r = parsed.full_section(name, 0).unwrap();
    stream[r.offset..r.offset + r.length].to_vec()
}

#[test]
fn replayed_writes_export_to_qemus_section_byte_for_byte() {
    let registry = Registry::builtin();
    let mut compared = 0;
    let mut with_section = 0;
    for v in vectors() {
        let section_file = dir().join(format!("{}.section.bin", v.name));
        if !section_file.exists() {
            continue;
        }
        with_section += 1;
        let qemu_section = fs::read(section_file).unwrap();
        let trace = portlab_qemu::qtest::to_trace(&registry, &v.qtest(), None, !v.has_run()).unwrap();
        for implementation in [Implementation::C, Implementation::Rust] {
            let config = BoardConfig::default_board(implementation);
            let mut runner = convert::replay(&registry, config, &v.name, trace.as_bytes())
                .unwrap_or_else(|e| panic!("{} ({implementation}): {e}\n{trace}", v.name));
            let board = runner.board_mut().unwrap();
            let only = [v.device().to_string()];
            let (stream, _) = convert::export(&registry, v.machine(), board, Some(&only), &[]).unwrap();
            let ours = section_record(&stream, &registry, v.device());
            assert_eq!(ours, qemu_section, "{} ({implementation}): the exported section differs from QEMU's", v.name);
            let timer_file = dir().join(format!("{}.timer.bin", v.name));
            if timer_file.exists() {
                // cpu_ticks_offset is the host's: only the virtual clock is state.
                let theirs = fs::read(timer_file).unwrap();
                let mine = section_record(&stream, &registry, "timer");
                assert_eq!(mine.len(), theirs.len());
                assert_eq!(mine[mine.len() - 13..], theirs[theirs.len() - 13..], "{}: timer", v.name);
            }
            compared += 1;
        }
    }
    if std::env::var_os("PORTLAB_QEMU_STREAMS").is_none() {
        assert!(with_section >= 10, "the vectors with a section file are in tests/qemu-streams");
    }
    assert_eq!(compared, 2 * with_section, "every vector with a section file, on C and on Rust");
}

#[test]
fn export_of_an_import_is_qemus_section_again() {
    let registry = Registry::builtin();
    for v in vectors() {
        let imported = convert::import(&registry, &v.stream, Implementation::Rust).unwrap();
        let config = BoardConfig::default_board(Implementation::C);
        let mut runner = convert::start_runner(&registry, config, imported.vm_clock_ns, &imported.devices).unwrap();
        let board = runner.board_mut().unwrap();
        let (stream, _) = convert::export(&registry, v.machine(), board, None, &imported.devices).unwrap();
        for d in &imported.devices {
            let theirs = &v.stream[d.record.offset..d.record.offset + d.record.length];
            let ours = section_record(&stream, &registry, &d.record.name);
            // Our section ids are QEMU's for the machine, so the records
            // match whole; the minimal stream QEMU accepted used them too.
            assert_eq!(ours, theirs, "{}: {} exported after import differs", v.name, d.record.name);
        }
        let again = convert::import(&registry, &stream, Implementation::C).unwrap();
        assert_eq!(again.vm_clock_ns, imported.vm_clock_ns, "{}", v.name);
        assert_eq!(again.devices.len(), imported.devices.len(), "{}: devices re-imported", v.name);
        for (a, b) in again.devices.iter().zip(&imported.devices) {
            assert_eq!(a.state, b.state, "{}: re-import", v.name);
            assert_eq!(a.blob, b.blob, "{}: re-import blob", v.name);
        }
    }
}

/// The registers QEMU read back (before saving, or after loading the
/// hand-made stream), and the PL011's RX drain after loading: read from
/// portlab's models started from the imported state.
#[test]
fn the_imported_state_reads_back_as_qemu_read_it() {
    let registry = Registry::builtin();
    let mut checked = 0;
    for v in vectors() {
        let (registers, drain) = match v.expect.get("load") {
            Some(load) => (load["registers_after_load"].clone(), load["rx_drain_after_load"].clone()),
            None => (v.expect["registers"].clone(), v.expect["roundtrip"]["rx_drain_after_load"].clone()),
        };
        for implementation in [Implementation::C, Implementation::Rust] {
            let imported = convert::import(&registry, &v.stream, Implementation::Rust).unwrap();
            let config = BoardConfig::default_board(implementation);
            let mut runner = convert::start_runner(&registry, config, imported.vm_clock_ns, &imported.devices).unwrap();
            let board = runner.board_mut().unwrap();
            let default_device = v.device().to_string();
            for r in registers.as_array().unwrap() {
                let device = r.get("device").and_then(Value::as_str).unwrap_or(&default_device);
                let offset = u64::from_str_radix(r["offset"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
                let size = match r["access"].as_str().unwrap() {
                    "readb" => 1,
                    "readw" => 2,
                    "readl" => 4,
                    _ => 8,
                };
                if r["reg"] == "DR" {
                    continue; // the drain below reads DR
                }
                let dev = board.device_index(device).unwrap();
                let value = board.read(dev, offset, size).unwrap();
                assert_eq!(
                    value,
                    r["value"].as_u64().unwrap(),
                    "{} ({implementation}): {} {}",
                    v.name,
                    device,
                    r["reg"]
                );
                checked += 1;
            }
            if let Some(bytes) = drain.as_array() {
                if v.machine() == Machine::Virt {
                    let dev = board.device_index("pl011").unwrap();
                    let mut got = Vec::new();
                    while board.read(dev, 0x18, 4).unwrap() & 0x10 == 0 && got.len() < 32 {
                        got.push(board.read(dev, 0, 4).unwrap() & 0xff);
                    }
                    let want: Vec<u64> = bytes.iter().map(|b| b.as_u64().unwrap()).collect();
                    assert_eq!(got, want, "{} ({implementation}): RX drain", v.name);
                }
            }
        }
    }
    if std::env::var_os("PORTLAB_QEMU_STREAMS").is_none() {
        assert!(checked > 150, "{checked} register reads compared");
    }
}

/// A source with `hpet-offset-saved` off sends no `hpet/offset`: the
/// import asks for a device that recomputes the offset from the saved
/// counter (as QEMU's destination with the same setting does), so the
/// counter goes on from where it was, and the export sends no offset
/// again.
#[test]
fn an_hpet_saved_without_its_offset_goes_on_counting() {
    let registry = Registry::builtin();
    let trace =
        "config hpet hpet-intcap=4 hpet-offset-saved=0\nwrite hpet 0x0f0 0x1234\nwrite hpet 0x010 0x1\nadvance 5000\n";
    let mut runner =
        convert::replay(&registry, BoardConfig::default_board(Implementation::C), "t", trace.as_bytes()).unwrap();
    let board = runner.board_mut().unwrap();
    let hpet = board.device_index("hpet").unwrap();
    let counter = board.read(hpet, 0xf0, 8).unwrap();
    assert_eq!(counter, 0x1234 + 500);
    let only = ["hpet".to_string()];
    let (stream, sections) = convert::export(&registry, Machine::PcI440fx, board, Some(&only), &[]).unwrap();
    assert!(!sections[0].state.has_subsection("hpet/offset"), "no offset from a source that does not save it");
    let imported = convert::import(&registry, &stream, Implementation::Rust).unwrap();
    let hpet_state = &imported.devices[0];
    assert!(hpet_state.properties.contains(&("hpet-offset-saved".to_string(), 0)));
    for implementation in [Implementation::C, Implementation::Rust] {
        let config = BoardConfig::default_board(implementation);
        let mut runner = convert::start_runner(&registry, config, imported.vm_clock_ns, &imported.devices).unwrap();
        let board = runner.board_mut().unwrap();
        assert_eq!(board.read(hpet, 0xf0, 8).unwrap(), counter, "{implementation}: the counter as saved");
        board.advance(1000).unwrap();
        assert_eq!(board.read(hpet, 0xf0, 8).unwrap(), counter + 100, "{implementation}: and counting");
        let mut runner = convert::start_runner(
            &registry,
            BoardConfig::default_board(implementation),
            imported.vm_clock_ns,
            &imported.devices,
        )
        .unwrap();
        let (again, _) =
            convert::export(&registry, Machine::PcI440fx, runner.board_mut().unwrap(), Some(&only), &imported.devices)
                .unwrap();
        assert_eq!(again, stream, "{implementation}: exported again, the same stream");
    }
}
