//! The migration test vectors of hpet.md section 12.2, as hex dumps
//! (`OFFSET: BYTES`), for every test that holds an implementation to them:
//! this crate's unit tests and the board's tests of every implementation.

/// A fresh instance with the project defaults (3 comparators, `msi` 0,
/// `hpet-intcap` 0x00FF0104), saved at any time.
pub const FRESH: &str = "
0000: 44 45 56 53 e7 00 01 00 b8 00 00 00 00 00 00 00
0010: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0020: 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00
0030: 00 00 00 00 30 00 00 00 04 01 ff 00 ff ff ff ff
0040: ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
0050: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0060: 00 00 00 00 30 00 00 00 04 01 ff 00 ff ff ff ff
0070: ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
0080: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0090: 00 00 00 00 30 00 00 00 04 01 ff 00 ff ff ff ff
00a0: ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
00b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00c0: 00 00 00 00 04 75 82 9f
";

/// Case H42: comparator 0 at 1000 ticks, `0x404`, the HPET enabled at 0 ns,
/// saved at 5000 ns (counter 500, comparator 0 armed for 10000 ns).
pub const ARMED_AT_5000: &str = "
0000: 44 45 56 53 e7 00 01 00 b8 00 00 00 01 00 00 00
0010: 00 00 00 00 00 00 00 00 00 00 00 00 f4 01 00 00
0020: 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00
0030: 00 00 00 00 34 04 00 00 04 01 ff 00 e8 03 00 00
0040: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0050: 00 00 00 00 10 27 00 00 00 00 00 00 01 00 00 00
0060: 00 00 00 00 30 00 00 00 04 01 ff 00 ff ff ff ff
0070: ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
0080: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0090: 00 00 00 00 30 00 00 00 04 01 ff 00 ff ff ff ff
00a0: ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
00b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00c0: 00 00 00 00 e9 51 cb 55
";
