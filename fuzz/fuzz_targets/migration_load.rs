//! The migration loaders of every implementation of both devices, on
//! arbitrary bytes: either a clean error that leaves the device exactly as
//! it was, or a state that saves back to exactly the bytes loaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::{Board, BoardConfig, Implementation, Registry};

/// What a device saves right after loading `blob`: the same bytes, except
/// that a PL031 whose count equals MR at load time fires during the load
/// (pl031.md section 9.2, R21), so its `is` reads 1.
fn expected_after_load(dev: usize, blob: &[u8], now_ns: u64) -> Vec<u8> {
    let mut expected = blob.to_vec();
    if dev == 1 {
        let field = |at: usize| u32::from_le_bytes(blob[12 + at..16 + at].try_into().unwrap());
        let count = field(0).wrapping_add((now_ns / 1_000_000_000) as u32);
        if count == field(4) {
            expected[12 + 16..12 + 20].copy_from_slice(&1u32.to_le_bytes());
            portlab_device::migration::fix_crc(&mut expected);
        }
    }
    expected
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, blob)) = data.split_first() else { return };
    let dev = usize::from(selector & 1);
    let imp = if selector & 2 == 0 { Implementation::C } else { Implementation::Rust };
    // Bit 2: fix the CRC first, so mutations reach the field checks
    // instead of stopping at `bad-crc`.
    let mut blob = blob.to_vec();
    if selector & 4 != 0 {
        portlab_device::migration::fix_crc(&mut blob);
    }
    let blob = blob.as_slice();
    let mut board = Board::new(&Registry::builtin(), &BoardConfig::default_board(imp)).unwrap();
    // A state that is not the creation state, so "unchanged" means something.
    board.write(0, 0x02c, 4, 0x70).unwrap();
    board.write(1, 0x010, 4, 1).unwrap();
    let before = board.save(dev).unwrap();
    match board.load(dev, blob) {
        Ok(()) => {
            assert_eq!(board.save(dev).unwrap(), expected_after_load(dev, blob, board.clock_ns()), "{imp}: load");
        }
        Err(_) => assert_eq!(board.save(dev).unwrap(), before, "{imp}: a refused blob changed the device"),
    }
});
