//! The PL011 migration format (pl011.md section 12.2) on every
//! implementation: the spec's test vectors byte for byte, every load
//! error (P26), and the overflow case of P16.

mod common;

use common::{hex_dump, pl011_implementations};
use portlab_board::{Board, BoardConfig, BoardError, Implementation, Registry};
use portlab_device::migration::reseal;
use portlab_device::{Error, LoadError};

const RESET_VECTOR: &str = "
0000: 44 45 56 53 11 00 01 00 74 00 00 00 90 00 00 00
0010: 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00
0020: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0030: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0040: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0050: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0060: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0070: 00 00 00 00 12 00 00 00 00 00 00 00 00 00 00 00
0080: bd 88 66 5f
";

const EXAMPLE_VECTOR: &str = "
0000: 44 45 56 53 11 00 01 00 74 00 00 00 90 00 00 00
0010: 70 00 00 00 00 00 00 00 01 03 00 00 00 00 00 00
0020: 10 00 00 00 20 00 00 00 61 00 00 00 00 00 00 00
0030: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0040: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0050: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0060: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0070: 00 00 00 00 12 00 00 00 01 00 00 00 00 00 00 00
0080: f1 c5 df 00
";

fn board(imp: Implementation) -> Board {
    Board::new(&Registry::builtin(), &BoardConfig::default_board(imp)).unwrap()
}

/// The section 15 example, on a board this test owns.
fn run_example(imp: Implementation) -> Board {
    let mut b = board(imp);
    b.write(0, 0x02c, 4, 0x70).unwrap();
    b.write(0, 0x038, 4, 0x10).unwrap();
    b.write(0, 0x030, 4, 0x301).unwrap();
    b.rx(0, b"a").unwrap();
    assert_eq!(b.read(0, 0x018, 4).unwrap(), 0x80);
    assert_eq!(b.read(0, 0x000, 4).unwrap(), 0x61);
    b.write(0, 0x000, 4, 0x61).unwrap();
    b
}

#[test]
fn test_vectors_byte_for_byte() {
    let registry = Registry::builtin();
    for imp in pl011_implementations(&registry) {
        assert_eq!(board(imp).save(0).unwrap(), hex_dump(RESET_VECTOR), "{imp}: fresh instance");
        assert_eq!(run_example(imp).save(0).unwrap(), hex_dump(EXAMPLE_VECTOR), "{imp}: after section 15");
    }
}

#[test]
fn vectors_load_and_save_back_unchanged() {
    let registry = Registry::builtin();
    for imp in pl011_implementations(&registry) {
        let mut b = board(imp);
        let blob = hex_dump(EXAMPLE_VECTOR);
        b.load(0, &blob).unwrap();
        assert_eq!(b.save(0).unwrap(), blob);
        assert_eq!(b.read(0, 0x02c, 4).unwrap(), 0x70);
        assert_eq!(b.read(0, 0x03c, 4).unwrap(), 0x20);
        assert!(b.take_events().iter().all(|e| matches!(e, portlab_board::Event::Read { .. })), "no events at load");
    }
}

fn with_field(blob: &[u8], payload_offset: usize, value: u32) -> Vec<u8> {
    let mut b = blob.to_vec();
    b[12 + payload_offset..16 + payload_offset].copy_from_slice(&value.to_le_bytes());
    reseal(&mut b);
    b
}

/// P26: every load error, each leaving the device byte-identical.
#[test]
fn every_load_error_leaves_the_device_unchanged() {
    let registry = Registry::builtin();
    let good = hex_dump(EXAMPLE_VECTOR);
    let mut cases: Vec<(&str, Vec<u8>, LoadError)> = Vec::new();
    cases.push(("first 20 bytes", good[..20].to_vec(), LoadError::Truncated));
    cases.push(("10 bytes", good[..10].to_vec(), LoadError::Truncated));
    let mut b = good.clone();
    b[3] = b'Z';
    reseal(&mut b);
    cases.push(("magic DEVZ", b, LoadError::BadMagic));
    let mut b = good.clone();
    b[4] = 0x31;
    reseal(&mut b);
    cases.push(("device id 0x0031", b, LoadError::WrongDevice));
    let mut b = good.clone();
    b[6] = 2;
    reseal(&mut b);
    cases.push(("version 2", b, LoadError::FutureVersion));
    let mut b = good.clone();
    b[6] = 0;
    reseal(&mut b);
    cases.push(("version 0", b, LoadError::BadVersion));
    let mut b = good.clone();
    b[8] = 120;
    reseal(&mut b);
    cases.push(("payload length 120", b, LoadError::BadLength));
    let mut b = good.clone();
    b[40] ^= 0x01;
    cases.push(("a payload byte flipped", b, LoadError::BadCrc));
    cases.push(("read_pos 16", with_field(&good, 108, 16), LoadError::OutOfRange));
    cases.push(("read_count 17", with_field(&good, 112, 17), LoadError::OutOfRange));
    let fen_off = with_field(&good, 4, 0x60);
    cases.push(("FEN 0 with read_pos 3", with_field(&fen_off, 108, 3), LoadError::OutOfRange));
    cases.push(("flags 0x200", with_field(&good, 0, 0x200), LoadError::OutOfRange));
    cases.push(("rsr 0x10", with_field(&good, 8, 0x10), LoadError::OutOfRange));
    cases.push(("int_level 0x800", with_field(&good, 24, 0x800), LoadError::OutOfRange));
    cases.push(("fifo slot 0x1000", with_field(&good, 28 + 4 * 5, 0x1000), LoadError::OutOfRange));
    cases.push(("ibrd 0x10000", with_field(&good, 96, 0x10000), LoadError::OutOfRange));
    cases.push(("fbrd 0x40", with_field(&good, 100, 0x40), LoadError::OutOfRange));
    let mut b = good.clone();
    b.push(0);
    cases.push(("a trailing byte", b, LoadError::BadLength));

    for imp in pl011_implementations(&registry) {
        for (what, blob, expected) in &cases {
            let mut b = run_example(imp);
            let before = b.save(0).unwrap();
            let err = b.load(0, blob).unwrap_err();
            assert_eq!(err, BoardError::Device { operation: "load", error: Error::Load(*expected) }, "{imp}: {what}");
            assert_eq!(b.save(0).unwrap(), before, "{imp}: {what}: device changed");
        }
        // Every field at the largest value the spec allows loads, and
        // saves back unchanged.
        let mut edge = good.clone();
        for (offset, max) in [(0, 0x1ff), (8, 0xf), (24, 0x7ff), (96, 0xffff), (100, 0x3f), (108, 15), (112, 16)] {
            edge = with_field(&edge, offset, max);
        }
        for slot in 0..16 {
            edge = with_field(&edge, 28 + 4 * slot, 0xfff);
        }
        let mut b = board(imp);
        b.load(0, &edge).unwrap_or_else(|e| panic!("{imp}: the largest allowed values load: {e}"));
        assert_eq!(b.save(0).unwrap(), edge, "{imp}");
    }
}

/// P16: an overflowed FIFO (17 entries) saves faithfully, but the blob is
/// refused on load, and a migration keeps the old instance.
#[test]
fn overflow_state_saves_but_does_not_load() {
    let registry = Registry::builtin();
    for imp in pl011_implementations(&registry) {
        let mut b = board(imp);
        b.write(0, 0x030, 4, 0x381).unwrap();
        b.write(0, 0x02c, 4, 0x10).unwrap();
        for byte in 0x30..=0x3f {
            b.write(0, 0, 4, byte).unwrap();
        }
        b.write(0, 0, 4, 0x5a).unwrap();
        let blob = b.save(0).unwrap();
        assert_eq!(u32::from_le_bytes(blob[124..128].try_into().unwrap()), 17, "read_count saved as is");
        let mut other = board(imp);
        assert_eq!(
            other.load(0, &blob),
            Err(BoardError::Device { operation: "load", error: Error::Load(LoadError::OutOfRange) })
        );
        let err = b.migrate(0, Some(imp)).unwrap_err();
        assert!(err.to_string().contains("out-of-range"), "{err}");
        assert_eq!(b.read(0, 0, 4).unwrap(), 0x5a, "the old instance stays in place");
    }
}

/// A blob saved by either implementation loads in the other, and saves
/// back byte for byte, from states that exercise every field.
#[cfg(feature = "c-models")]
#[test]
fn blobs_cross_between_implementations() {
    let registry = Registry::builtin();
    let imps = pl011_implementations(&registry);
    assert_eq!(imps.len(), 2, "both PL011s are registered");
    let scenarios: [&[(u64, u64)]; 3] = [
        &[(0x02c, 0x70), (0x038, 0x50), (0x030, 0x301)],
        &[(0x030, 0x3f81), (0x038, 0x0f), (0x024, 0x1234), (0x028, 0x21), (0x020, 0x9), (0x048, 0x4), (0x034, 0x3f)],
        &[(0x030, 0x381), (0x02c, 0x11), (0x000, 0x41)],
    ];
    for from in &imps {
        for (i, writes) in scenarios.iter().enumerate() {
            let mut src = board(*from);
            for &(offset, value) in *writes {
                src.write(0, offset, 4, value).unwrap();
            }
            src.rx(0, b"xyz").unwrap();
            let blob = src.save(0).unwrap();
            let next_byte = src.read(0, 0, 4).unwrap();
            for to in &imps {
                let mut dst = board(*to);
                dst.load(0, &blob).unwrap_or_else(|e| panic!("scenario {i}: {from} -> {to}: {e}"));
                assert_eq!(dst.save(0).unwrap(), blob, "scenario {i}: {from} -> {to}");
                assert_eq!(dst.read(0, 0, 4).unwrap(), next_byte, "scenario {i}: same next byte");
            }
        }
    }
}
