//! The HPET migration format (hpet.md section 12.2) on every
//! implementation: the two test vectors (H42), every load error class of
//! H41 leaving fields, timers and lines unchanged, a blob whose comparator
//! count differs from the instance's `timers` property, H36's comparator 31
//! ISR mask through a loaded blob, and blobs crossing languages with a
//! pending timer.

mod common;

use common::hex_dump;
use portlab_board::{Board, BoardConfig, Event, Implementation, Registry};
use portlab_device::migration::reseal;
use portlab_device::{Error, LoadError};

use portlab_hpet::vectors::{ARMED_AT_5000 as ARMED_VECTOR, FRESH as FRESH_VECTOR};

fn implementations() -> Vec<Implementation> {
    let registry = Registry::builtin();
    [Implementation::C, Implementation::Rust, Implementation::Shadow]
        .into_iter()
        .filter(|i| registry.device_type("hpet", *i).is_ok())
        .collect()
}

fn board_with(imp: Implementation, properties: &[(&str, u64)]) -> (Board, usize) {
    let mut config = BoardConfig::default_board(portlab_board::Stage::CURRENT.default_implementation());
    config.set_implementation("hpet", imp).unwrap();
    let slot = config.slots.iter_mut().find(|s| s.name == "hpet").unwrap();
    slot.properties = properties.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let board = Board::new(&Registry::builtin(), &config).unwrap();
    let dev = board.device_index("hpet").unwrap();
    (board, dev)
}

/// H42's register writes, up to the save at 5000 ns.
fn arm_comparator_0(board: &mut Board, dev: usize) {
    board.write(dev, 0x108, 8, 1000).unwrap();
    board.write(dev, 0x100, 4, 0x404).unwrap();
    board.write(dev, 0x010, 4, 1).unwrap();
    board.advance(0).unwrap();
    board.advance(5000).unwrap();
}

#[test]
fn h42_both_test_vectors_byte_for_byte() {
    for imp in implementations() {
        let (mut board, dev) = board_with(imp, &[]);
        assert_eq!(board.save(dev).unwrap(), hex_dump(FRESH_VECTOR), "{imp}: fresh");
        arm_comparator_0(&mut board, dev);
        assert_eq!(board.save(dev).unwrap(), hex_dump(ARMED_VECTOR), "{imp}: armed at 5000");
    }
}

fn with_u32(blob: &[u8], at: usize, value: u32) -> Vec<u8> {
    let mut b = blob.to_vec();
    b[at..at + 4].copy_from_slice(&value.to_le_bytes());
    reseal(&mut b);
    b
}

fn with_u64(blob: &[u8], at: usize, value: u64) -> Vec<u8> {
    let mut b = blob.to_vec();
    b[at..at + 8].copy_from_slice(&value.to_le_bytes());
    reseal(&mut b);
    b
}

/// H41: every load error class, in the spec's order, each leaving the
/// device, its timers and its lines as they were.
#[test]
fn h41_every_load_error_is_atomic() {
    let fresh = hex_dump(FRESH_VECTOR);
    let armed = hex_dump(ARMED_VECTOR);
    let p = 12; // payload start
    let t0 = p + 40; // comparator 0's record
    let mut cases: Vec<(&str, Vec<u8>, LoadError)> = vec![
        ("the first 20 bytes", fresh[..20].to_vec(), LoadError::Truncated),
        (
            "magic DEVZ",
            {
                let mut b = fresh.clone();
                b[3] = b'Z';
                reseal(&mut b);
                b
            },
            LoadError::BadMagic,
        ),
        (
            "device id 0x0031",
            {
                let mut b = fresh.clone();
                b[4] = 0x31;
                b[5] = 0;
                reseal(&mut b);
                b
            },
            LoadError::WrongDevice,
        ),
        (
            "version 2",
            {
                let mut b = fresh.clone();
                b[6] = 2;
                reseal(&mut b);
                b
            },
            LoadError::FutureVersion,
        ),
        (
            "version 0",
            {
                let mut b = fresh.clone();
                b[6] = 0;
                reseal(&mut b);
                b
            },
            LoadError::BadVersion,
        ),
        ("N = 232", with_u32(&fresh, 8, 232), LoadError::BadLength),
    ];
    // A valid blob of a 4-comparator instance.
    let (mut four, dev4) = board_with(implementations()[0], &[("timers", 4)]);
    cases.push(("a 4-comparator blob", four.save(dev4).unwrap(), LoadError::BadLength));
    let mut flipped = fresh.clone();
    flipped[p + 50] ^= 1;
    cases.push(("a flipped payload byte", flipped, LoadError::BadCrc));
    cases.push(("GEN_CONF 4", with_u64(&fresh, p, 4), LoadError::OutOfRange));
    cases.push(("n field 4", with_u32(&fresh, p + 32, 4), LoadError::OutOfRange));
    cases.push(("rtc_irq_level 2", with_u32(&fresh, p + 36, 2), LoadError::OutOfRange));
    cases.push(("T0 config bit 0", with_u64(&fresh, t0, 0x31 | 0x00ff_0104 << 32), LoadError::OutOfRange));
    cases.push(("T0 intcap 0x4", with_u64(&fresh, t0, 0x30 | 0x4 << 32), LoadError::OutOfRange));
    let mode32 = with_u64(&fresh, t0, 0x130 | 0x00ff_0104 << 32);
    cases.push(("MODE32 with cmp 2^32", with_u64(&mode32, t0 + 8, 1 << 32), LoadError::OutOfRange));
    cases.push(("armed with GEN_CONF 0", with_u64(&with_u32(&armed, t0 + 40, 1), p, 0), LoadError::OutOfRange));
    cases.push(("disarmed with deadline 5", with_u64(&fresh, t0 + 32, 5), LoadError::OutOfRange));
    cases.push(("wrap_flag 2", with_u32(&fresh, t0 + 44, 2), LoadError::OutOfRange));
    let mut trailing = fresh.clone();
    trailing.push(0);
    cases.push(("a trailing byte", trailing, LoadError::BadLength));
    for imp in implementations() {
        for (what, blob, expected) in &cases {
            let (mut board, dev) = board_with(imp, &[]);
            arm_comparator_0(&mut board, dev);
            let before = board.save(dev).unwrap();
            let deadlines = board.armed_deadlines();
            let _ = board.take_events();
            let err = board.load(dev, blob).unwrap_err();
            assert!(
                matches!(err, portlab_board::BoardError::Device { error: Error::Load(e), .. } if e == *expected),
                "{imp}, {what}: {err}"
            );
            assert_eq!(board.save(dev).unwrap(), before, "{imp}, {what}: state changed");
            assert_eq!(board.armed_deadlines(), deadlines, "{imp}, {what}: timers changed");
            assert!(board.take_events().is_empty(), "{imp}, {what}: lines changed");
            // The pending expiry still comes at 10000.
            board.advance(5000).unwrap();
            let pulses = board.take_events().iter().filter(|e| matches!(e, Event::Irq { line: 2, .. })).count();
            assert_eq!(pulses, 2, "{imp}, {what}: the pending edge at 10000");
        }
    }
}

/// H36 (the part a trace cannot express): with 32 comparators a loaded
/// ISR bit 32 is cleared by comparator 31's sign-extended mask.
#[test]
fn h36_comparator_31_owns_bits_31_to_63() {
    for imp in implementations() {
        let (mut board, dev) = board_with(imp, &[("timers", 32)]);
        let blob = board.save(dev).unwrap();
        assert_eq!(blob.len(), 12 + 40 + 48 * 32 + 4, "{imp}");
        board.load(dev, &with_u64(&blob, 12 + 8, 1 << 32)).unwrap();
        assert_eq!(board.read(dev, 0x020, 8).unwrap(), 1 << 32, "{imp}");
        board.write(dev, 0x020, 8, 1 << 32).unwrap();
        assert_eq!(board.read(dev, 0x020, 8).unwrap(), 0, "{imp}: cleared through MASK(31)");
        assert!(board.take_events().iter().all(|e| !matches!(e, Event::Irq { .. })), "{imp}: no line events");
    }
}

/// Blobs cross languages both ways with a pending timer, and the deadline
/// is kept to the nanosecond.
#[test]
fn migration_between_languages_keeps_the_pending_deadline() {
    let registry = Registry::builtin();
    if registry.device_type("hpet", Implementation::C).is_err() {
        return;
    }
    for (from, to) in [(Implementation::C, Implementation::Rust), (Implementation::Rust, Implementation::C)] {
        let (mut board, dev) = board_with(from, &[]);
        arm_comparator_0(&mut board, dev);
        let before = board.save(dev).unwrap();
        board.migrate(dev, Some(to)).unwrap();
        assert_eq!(board.save(dev).unwrap(), before, "{from} -> {to}: same blob");
        board.advance(4999).unwrap();
        let _ = board.take_events();
        board.advance(1).unwrap();
        assert_eq!(board.take_events().len(), 2, "{from} -> {to}: the edge at exactly 10000");
    }
}

/// A `timers` property out of range fails creation, naming the property.
#[test]
fn bad_properties_are_refused_with_their_name() {
    let mut config = BoardConfig::default_board(portlab_board::Stage::CURRENT.default_implementation());
    for imp in implementations() {
        config.set_implementation("hpet", imp).unwrap();
        for (name, value) in [("timers", 256u64), ("msi", 2), ("hpet-offset-saved", 2), ("hpet-intcap", 1 << 32)] {
            let slot = config.slots.iter_mut().find(|s| s.name == "hpet").unwrap();
            slot.properties = vec![(name.to_string(), value)];
            let err = Board::new(&Registry::builtin(), &config).unwrap_err().to_string();
            assert!(err.contains(name), "{imp}: {err}");
        }
    }
}
