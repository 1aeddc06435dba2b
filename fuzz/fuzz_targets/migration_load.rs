//! The migration loaders of every implementation of both devices, on
//! arbitrary bytes: either a clean error that leaves the device exactly as
//! it was, or a state that saves back to exactly the bytes loaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::state::saved_after_load;
use portlab_board::{Board, BoardConfig, Implementation, Registry};

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
            assert_eq!(board.save(dev).unwrap(), saved_after_load(blob, board.clock_ns()), "{imp}: load");
        }
        Err(_) => assert_eq!(board.save(dev).unwrap(), before, "{imp}: a refused blob changed the device"),
    }
});
