//! The PL031 migration format (pl031.md section 9.2) on every
//! implementation: the test vector (R24), every load error leaving
//! fields, timer and line unchanged (R23), and blobs crossing languages.

mod common;

use common::hex_dump;
use portlab_board::{Board, BoardConfig, BoardError, Event, Implementation, Registry};
use portlab_device::migration::reseal;
use portlab_device::{Error, LoadError};

const FRESH_VECTOR: &str = "
0000: 44 45 56 53 31 00 01 00 14 00 00 00 00 f1 53 65
0010: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0020: 8f a4 60 82
";

const RTC: usize = 1;

fn implementations() -> Vec<Implementation> {
    let registry = Registry::builtin();
    [Implementation::C, Implementation::Rust, Implementation::Shadow]
        .into_iter()
        .filter(|i| registry.device_type("pl031", *i).is_ok())
        .collect()
}

fn board(imp: Implementation) -> Board {
    let mut config = BoardConfig::default_board(portlab_board::Stage::CURRENT.default_implementation());
    config.set_implementation("pl031", imp).unwrap();
    Board::new(&Registry::builtin(), &config).unwrap()
}

#[test]
fn r24_fresh_instance_saves_the_test_vector() {
    for imp in implementations() {
        assert_eq!(board(imp).save(RTC).unwrap(), hex_dump(FRESH_VECTOR), "{imp}");
    }
}

fn with_field(blob: &[u8], payload_offset: usize, value: u32) -> Vec<u8> {
    let mut b = blob.to_vec();
    b[12 + payload_offset..16 + payload_offset].copy_from_slice(&value.to_le_bytes());
    reseal(&mut b);
    b
}

/// R23: every load error, each leaving fields, timer and line unchanged.
#[test]
fn r23_every_load_error_leaves_the_device_unchanged() {
    let good = hex_dump(FRESH_VECTOR);
    let mut cases: Vec<(&str, Vec<u8>, LoadError)> = vec![("10 bytes", good[..10].to_vec(), LoadError::Truncated)];
    let edit = |at: usize, byte: u8| {
        let mut b = good.clone();
        b[at] = byte;
        reseal(&mut b);
        b
    };
    cases.push(("magic DEVZ", edit(3, b'Z'), LoadError::BadMagic));
    cases.push(("device id 0x0011", edit(4, 0x11), LoadError::WrongDevice));
    cases.push(("version 2", edit(6, 2), LoadError::FutureVersion));
    cases.push(("version 0", edit(6, 0), LoadError::BadVersion));
    cases.push(("N = 24", edit(8, 24), LoadError::BadLength));
    let mut flipped = good.clone();
    flipped[14] ^= 0x01;
    cases.push(("flipped payload byte", flipped, LoadError::BadCrc));
    cases.push(("im = 2", with_field(&good, 12, 2), LoadError::OutOfRange));
    cases.push(("is = 7", with_field(&good, 16, 7), LoadError::OutOfRange));
    let mut trailing = good.clone();
    trailing.push(0);
    cases.push(("trailing byte", trailing, LoadError::BadLength));
    cases.push(("first 20 bytes", good[..20].to_vec(), LoadError::Truncated));

    for imp in implementations() {
        for (what, blob, expected) in &cases {
            // An armed alarm (MR = E+2, IMSC 1) and a raised line? Raise
            // the line first with a match now, clear RIS, then arm ahead.
            let mut b = board(imp);
            b.write(RTC, 0x010, 4, 1).unwrap();
            b.write(RTC, 0x004, 4, 0x6553_f102).unwrap();
            b.advance(500_000_000).unwrap();
            let before = b.save(RTC).unwrap();
            let line_before = b.irq_level(RTC, 0);
            let err = b.load(RTC, blob).unwrap_err();
            assert_eq!(err, BoardError::Device { operation: "load", error: Error::Load(*expected) }, "{imp}: {what}");
            assert_eq!(b.save(RTC).unwrap(), before, "{imp}: {what}: fields changed");
            assert_eq!(b.irq_level(RTC, 0), line_before, "{imp}: {what}: line changed");
            // The timer is unchanged: the alarm still fires at 2 s.
            b.take_events();
            b.advance(1_499_999_999).unwrap();
            assert!(b.take_events().is_empty(), "{imp}: {what}: fired early");
            b.advance(1).unwrap();
            assert_eq!(b.take_events(), vec![Event::Irq { dev: RTC, line: 0, level: true }], "{imp}: {what}");
        }
    }
}

/// Blobs cross between implementations in both directions, and a load
/// re-arms the alarm relative to the load time (R20) whichever side saved.
#[cfg(feature = "c-models")]
#[test]
fn blobs_cross_between_implementations() {
    for from in [Implementation::C, Implementation::Rust] {
        for to in [Implementation::C, Implementation::Rust] {
            let mut src = board(from);
            src.advance(500_000_000).unwrap();
            src.write(RTC, 0x008, 4, 0x1000).unwrap();
            src.write(RTC, 0x010, 4, 1).unwrap();
            src.write(RTC, 0x004, 4, 0x1003).unwrap();
            let blob = src.save(RTC).unwrap();
            let mut dst = board(to);
            dst.advance(1_200_000_000).unwrap();
            dst.load(RTC, &blob).unwrap();
            assert_eq!(dst.save(RTC).unwrap(), blob, "{from} -> {to}");
            assert_eq!(dst.read(RTC, 0, 4).unwrap(), 0x1001, "{from} -> {to}: count from tick_offset");
            dst.take_events();
            dst.advance(1_999_999_999).unwrap();
            assert!(dst.take_events().is_empty());
            dst.advance(1).unwrap();
            assert_eq!(dst.take_events(), vec![Event::Irq { dev: RTC, line: 0, level: true }], "{from} -> {to}");
        }
    }
}
