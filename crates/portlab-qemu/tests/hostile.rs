//! Malformed and hostile streams: every one is an error that says where,
//! none panics, and an import that fails returns nothing.

use std::fs;
use std::path::Path;

use portlab_board::{Implementation, Registry};
use portlab_qemu::convert::{self, layout_of};

fn minimal() -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/qemu-streams/virt-minimal.stream")).unwrap()
}

fn parse(bytes: &[u8]) -> Result<portlab_qemu::Stream, portlab_qemu::StreamError> {
    let registry = Registry::builtin();
    let layouts = |n: &str| layout_of(&registry, n);
    portlab_qemu::parse(bytes, &layouts)
}

#[test]
fn every_truncation_is_an_error_at_or_before_its_end() {
    let good = minimal();
    assert!(parse(&good).is_ok());
    for len in 0..good.len() {
        let e = parse(&good[..len]).expect_err("a truncated stream");
        assert!(e.offset <= len, "error offset {} past the end {len}: {e}", e.offset);
        assert!(convert::import(&Registry::builtin(), &good[..len], Implementation::Rust).is_err());
    }
}

#[test]
fn every_flipped_byte_is_handled() {
    let good = minimal();
    let registry = Registry::builtin();
    for at in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= bit;
            // Either refused with an error inside the stream, or decoded
            // into blobs that load (the import proves each): never a panic.
            match convert::import(&registry, &bad, Implementation::Rust) {
                Err(e) => assert!(e.offset <= bad.len(), "flip at {at}: error past the end: {e}"),
                Ok(imported) => {
                    let config = portlab_board::BoardConfig::default_board(Implementation::C);
                    convert::start_runner(&registry, config, imported.vm_clock_ns, &imported.devices)
                        .unwrap_or_else(|e| panic!("flip at {at}: an accepted state does not load on C: {e}"));
                }
            }
        }
    }
}

fn error_of(bytes: &[u8]) -> String {
    parse(bytes).expect_err("refused").to_string()
}

#[test]
fn errors_name_the_place_and_the_problem() {
    let good = minimal();
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(error_of(&bad).starts_with("byte 0: not a QEMU migration stream"), "{}", error_of(&bad));
    let mut bad = good.clone();
    bad[7] = 2;
    assert!(error_of(&bad).contains("stream format version 2"));
    // The PL011's footer id changed: the section is named.
    let footer = good.windows(5).position(|w| w == [0x7e, 0, 0, 0, 8]).unwrap();
    let mut bad = good.clone();
    bad[footer + 4] = 9;
    let e = error_of(&bad);
    assert!(e.contains(&format!("byte {footer} (section `pl011`)")) && e.contains("footer"), "{e}");
    // A subsection QEMU 10.0's PL011 does not have.
    let sub = good.windows(11).position(|w| w == b"pl011/clock").unwrap();
    let mut bad = good.clone();
    bad[sub + 6] = b'X';
    let e = error_of(&bad);
    assert!(e.contains("unknown subsection `pl011/Xlock`") && e.contains("(section `pl011`)"), "{e}");
    // A section version QEMU 10.0 does not load.
    let version_at = good.windows(5).position(|w| w == b"pl011").unwrap() + 5 + 4 + 3;
    let mut bad = good.clone();
    bad[version_at] = 3;
    let e = error_of(&bad);
    assert!(e.contains("version 3: QEMU 10.0 accepts 2..=2"), "{e}");
    // Bytes after EOF that are no description.
    let mut bad = good.clone();
    bad.extend_from_slice(b"junk");
    assert!(error_of(&bad).contains("after EOF"));
    // A device portlab does not know, without a description to size it.
    let mut bad = good.clone();
    let name = good.windows(5).position(|w| w == b"pl031").unwrap();
    bad[name..name + 5].copy_from_slice(b"pl061");
    assert!(error_of(&bad).contains("cannot size section `pl061`"));
}

#[test]
fn format_changing_capabilities_are_refused() {
    let good = minimal();
    // The configuration section with a capabilities subsection naming
    // x-ignore-shared, as a source with that capability sends it.
    let config_end = 8 + 1 + 4 + 9;
    let mut bad = good[..config_end].to_vec();
    let name = b"configuration/capabilities";
    bad.push(0x05);
    bad.push(name.len() as u8);
    bad.extend_from_slice(name);
    bad.extend_from_slice(&1u32.to_be_bytes());
    bad.extend_from_slice(&1u32.to_be_bytes());
    bad.push(15);
    bad.extend_from_slice(b"x-ignore-shared");
    bad.extend_from_slice(&good[config_end..]);
    let e = error_of(&bad);
    assert!(e.contains("capabilities that change its format (x-ignore-shared)"), "{e}");
}

/// The minimal stream with the 4-byte field at `offset` in its PL011
/// section's payload set to `value` (big-endian, as QEMU writes it).
fn minimal_with_pl011_field(offset: usize, value: u32) -> Vec<u8> {
    let mut stream = minimal();
    let imported = convert::import(&Registry::builtin(), &stream, Implementation::Rust).unwrap();
    let pl011 = imported.devices.iter().find(|d| d.kind == "pl011").unwrap();
    let at = pl011.record.payload.start + offset;
    stream[at..at + 4].copy_from_slice(&value.to_be_bytes());
    stream
}

#[test]
fn a_state_portlab_cannot_hold_is_refused_whole() {
    // read_count 17 in the PL011 section: QEMU 10.0 refuses it too.
    let registry = Registry::builtin();
    let bad = minimal_with_pl011_field(116, 17);
    let e = convert::import(&registry, &bad, Implementation::Rust).expect_err("refused").to_string();
    assert!(e.contains("(section `pl011`)") && e.contains("QEMU 10.0 refuses the load"), "{e}");
}

#[test]
fn a_state_the_device_refuses_names_the_field() {
    // rsr 0x10 in the PL011 section: QEMU 10.0 takes any value there, but
    // the receive status register has four bits, and portlab's PL011
    // refuses the state; the error says which field.
    let registry = Registry::builtin();
    let bad = minimal_with_pl011_field(12, 0x10);
    for implementation in [Implementation::Rust, Implementation::C] {
        let e = convert::import(&registry, &bad, implementation).expect_err("refused").to_string();
        assert!(e.contains("out-of-range"), "{e}");
        assert!(e.ends_with("; it loads with any one of these as a new device has them: rsr = 0x10"), "{e}");
    }
}

#[test]
fn a_saved_state_the_device_refuses_names_the_field_when_a_run_starts_from_it() {
    // `portlab run --start` loads the blobs an import wrote; one edited
    // afterwards (rsr, payload byte 8, to 0x10) is refused, and the error
    // names the field.
    let registry = Registry::builtin();
    let imported = convert::import(&registry, &minimal(), Implementation::Rust).unwrap();
    let mut devices = imported.devices.clone();
    let pl011 = devices.iter_mut().find(|d| d.kind == "pl011").unwrap();
    let header = portlab_device::sys::PORTLAB_STATE_HEADER_SIZE as usize;
    pl011.blob[header + 8..header + 12].copy_from_slice(&0x10u32.to_le_bytes());
    portlab_device::migration::reseal(&mut pl011.blob);
    let config = portlab_board::BoardConfig::default_board(Implementation::C);
    let e = convert::start_runner(&registry, config, imported.vm_clock_ns, &devices).expect_err("refused");
    assert!(e.starts_with("pl011: load failed: migration load failed: out-of-range"), "{e}");
    assert!(e.ends_with("; it loads with any one of these as a new device has them: rsr = 0x10"), "{e}");
}

#[test]
fn a_second_instance_is_not_loaded_over_the_first() {
    // The minimal stream with a copy of its PL011 section as instance 1
    // (section id 10), its state cleared: instance 0 is the one imported.
    let good = minimal();
    let registry = Registry::builtin();
    let imported = convert::import(&registry, &good, Implementation::Rust).unwrap();
    let pl011 = imported.devices.iter().find(|d| d.kind == "pl011").unwrap().clone();
    let mut copy = good[pl011.record.offset..pl011.record.offset + pl011.record.length].to_vec();
    copy[1..5].copy_from_slice(&10u32.to_be_bytes());
    copy[11..15].copy_from_slice(&1u32.to_be_bytes());
    let payload_start = pl011.record.payload.start - pl011.record.offset;
    for b in &mut copy[payload_start + 4..payload_start + 124] {
        *b = 0;
    }
    let footer = copy.len() - 4;
    copy[footer..].copy_from_slice(&10u32.to_be_bytes());
    let mut stream = good[..good.len() - 1].to_vec();
    stream.extend_from_slice(&copy);
    stream.push(0);
    let again = convert::import(&registry, &stream, Implementation::Rust).unwrap();
    let pl011s: Vec<_> = again.devices.iter().filter(|d| d.kind == "pl011").collect();
    assert_eq!(pl011s.len(), 1, "one PL011 imported");
    assert_eq!(pl011s[0].record.instance_id, 0);
    assert_eq!(pl011s[0].blob, pl011.blob, "instance 0's state, not the copy's");
}
