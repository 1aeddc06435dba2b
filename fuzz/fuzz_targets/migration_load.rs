//! The migration loaders of every implementation of every registered
//! device, on arbitrary bytes: either a clean error that leaves the device
//! exactly as it was, or a state that saves back to what the device's
//! after-load rule says (the bytes loaded, for most devices).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::{Board, BoardConfig, Implementation, Registry};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, blob)) = data.split_first() else { return };
    let registry = Registry::builtin();
    let imp = if selector & 0x80 == 0 { Implementation::C } else { Implementation::Rust };
    let config = BoardConfig::default_board(imp);
    let dev = usize::from(selector & 0x0f) % config.slots.len();
    let Some(kind) = registry.kind(&config.slots[dev].kind) else { return };
    // Bit 4: fix the CRC first, so mutations reach the field checks
    // instead of stopping at `bad-crc`.
    let mut blob = blob.to_vec();
    if selector & 0x10 != 0 {
        portlab_device::migration::reseal(&mut blob);
    }
    let blob = blob.as_slice();
    let mut board = Board::new(&registry, &config).unwrap();
    // Not the creation state, so "unchanged" means something: every
    // device's first register written with a small value.
    let _ = board.write(dev, 0x010, 4, 1);
    let before = board.save(dev).unwrap();
    match board.load(dev, blob) {
        Ok(()) => {
            let expected = kind.expected_after_load(blob, board.clock_ns());
            assert_eq!(board.save(dev).unwrap(), expected, "{imp} {}: load", kind.name);
        }
        Err(_) => assert_eq!(board.save(dev).unwrap(), before, "{imp} {}: a refused blob changed the device", kind.name),
    }
});
