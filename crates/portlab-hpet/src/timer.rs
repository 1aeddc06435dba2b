//! One comparator's state, and the arithmetic of its match value that needs
//! no host: CMP64, NEXT-WRAP and the closed-form catch-up (spec section 8.2).
//!
//! Everything is modulo 2^64: the functions use `wrapping_*` operations
//! only, and never panic, whatever their arguments.

use crate::registers::{LOW32, TimerConfig};

/// Bit 63: an expiry with it set is negative for QEMU's signed timer API.
pub(crate) const SIGN_BIT: u64 = 1 << 63;

/// A comparator ("timer" in QEMU) and the host timer it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Comparator {
    /// Tn_CONF.
    pub(crate) config: TimerConfig,
    /// Tn_COMPARATOR as the guest reads it.
    pub(crate) cmp: u64,
    /// Tn_FSB_ROUTE.
    pub(crate) fsb: u64,
    /// The periodic increment (hidden).
    pub(crate) period: u64,
    /// The full 64-bit counter value of the next match (hidden).
    pub(crate) cmp64: u64,
    /// The armed deadline is the counter's next 2^32 boundary, not the match.
    pub(crate) wrap_flag: bool,
    /// The `ns` of the last ARM, for the 1 us periodic clamp.
    pub(crate) last: u64,
    /// The host timer as this device last set it: `Some(deadline)` while
    /// armed (0 for a `timer_arm_first`), `None` when cancelled or fired.
    pub(crate) pending: Option<u64>,
}

impl Comparator {
    /// All zeros: comparators `n` to 31 at creation (the ghost among them).
    pub(crate) const ZERO: Comparator = Comparator {
        config: TimerConfig::empty(),
        cmp: 0,
        fsb: 0,
        period: 0,
        cmp64: 0,
        wrap_flag: false,
        last: 0,
        pending: None,
    };

    /// Comparators 0 to `n - 1` at creation: `config` is `TN_RESET`.
    pub(crate) fn at_creation(config: TimerConfig) -> Comparator {
        Comparator { config, cmp: u64::MAX, ..Comparator::ZERO }
    }

    /// Whether `flag` is set in Tn_CONF.
    pub(crate) fn has(&self, flag: TimerConfig) -> bool {
        self.config.contains(flag)
    }

    /// CMP64: the counter value at which this comparator next matches
    /// `target`, seen from counter value `cur`.
    pub(crate) fn match_value(&self, cur: u64, target: u64) -> u64 {
        match_value(self.has(TimerConfig::MODE32), cur, target)
    }
}

/// CMP64 (spec section 8.2). In 32-bit mode: the first counter value at or
/// after `cur` whose low half is `target`'s low half. Otherwise `target`
/// itself, even when it lies behind `cur`.
pub(crate) fn match_value(mode32: bool, cur: u64, target: u64) -> u64 {
    if !mode32 {
        return target;
    }
    let candidate = (cur & !LOW32) | (target & LOW32);
    if candidate < cur { candidate.wrapping_add(LOW32 + 1) } else { candidate }
}

/// NEXT-WRAP: the next multiple of 2^32 above `cur` (mod 2^64).
pub(crate) fn next_wrap(cur: u64) -> u64 {
    (cur | LOW32).wrapping_add(1)
}

/// The periodic catch-up of EXPIRE (spec section 8.2, step 2a), in closed
/// form: the value QEMU's loop
///
/// ```text
/// while (int64_t)(cmp64 - cur) < 0 { cmp64 += period; }
/// ```
///
/// ends with, computed in a bounded number of operations.
///
/// # Why this equals the loop
///
/// Write `x = cmp64 - cur` (mod 2^64). The loop runs while `x`, read as
/// signed, is negative, i.e. while `x >= 2^63`, and each turn adds
/// `period` to `x`. So the loop stops after the smallest `k >= 0` such that
/// `x + k * period` (mod 2^64) is below 2^63, provided every earlier step
/// was still at or above 2^63; its result is `cmp64 + k * period`.
///
/// - `x < 2^63`: `k = 0`, no change.
/// - `period < 2^63`: with `d = x - 2^64` (the signed distance, in
///   `[-2^63, -1]`), adding `period` never overflows the signed range, so
///   the signed distance grows by exactly `period` per turn, monotonically;
///   the first `k` with `d + k * period >= 0` is `ceil(-d / period)`.
///   `-d = cur - cmp64` (mod 2^64) is at most 2^63, so it fits.
/// - `period >= 2^63`: adding `period` is subtracting `q = 2^64 - period`
///   (with `1 <= q <= 2^63`). As an unsigned number `x` starts in
///   `[2^63, 2^64)` and `x - k * q` cannot go below zero before it drops
///   under 2^63 (a step is at most 2^63), so it decreases monotonically, and
///   the first `k` with `x - k * q < 2^63` is `floor((x - 2^63) / q) + 1`.
///   This is the case that hangs QEMU: `period = 2^64 - 1` takes 2^63 turns.
///
/// In both cases the intermediate values are monotonic, so the first `k`
/// that satisfies the exit test is the one the loop stops at; and
/// `cmp64 + k * period` modulo 2^64 is what `k` wrapping additions give.
/// A unit test holds this against the loop itself for random triples.
///
/// With `period == 0` QEMU does not run the loop (EXPIRE checks it first);
/// this function returns `cmp64` unchanged rather than loop for ever.
pub fn catch_up(cmp64: u64, cur: u64, period: u64) -> u64 {
    let distance = cmp64.wrapping_sub(cur);
    if distance < SIGN_BIT || period == 0 {
        return cmp64;
    }
    let steps = if period < SIGN_BIT {
        let behind = cur.wrapping_sub(cmp64);
        behind.div_ceil(period)
    } else {
        let shrink = period.wrapping_neg();
        (distance.wrapping_sub(SIGN_BIT) / shrink).wrapping_add(1)
    };
    cmp64.wrapping_add(steps.wrapping_mul(period))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portlab_device::explore::Rng;

    /// A value of a random bit length, so small and huge values both come
    /// up often.
    fn spread(rng: &mut Rng) -> u64 {
        let shift = (rng.next_u64() % 64) as u32;
        rng.next_u64() >> shift
    }

    /// QEMU's loop, bounded: `None` when it would take more than `limit`
    /// turns.
    fn naive(mut cmp64: u64, cur: u64, period: u64, limit: u64) -> Option<u64> {
        let mut turns = 0;
        while (cmp64.wrapping_sub(cur) as i64) < 0 {
            if turns == limit {
                return None;
            }
            cmp64 = cmp64.wrapping_add(period);
            turns += 1;
        }
        Some(cmp64)
    }

    #[test]
    fn closed_form_equals_the_loop_on_random_triples() {
        const LIMIT: u64 = 1 << 16;
        let mut rng = Rng(0x4850_4554);
        let mut compared = 0;
        let mut compared_huge_period = 0;
        for round in 0..200_000u32 {
            let cmp64 = rng.next_u64();
            let period = match round % 4 {
                0 => spread(&mut rng),
                1 => rng.next_u64() | SIGN_BIT,
                2 => spread(&mut rng).wrapping_neg(),
                _ => 1 + rng.next_u64() % 1000,
            };
            if period == 0 {
                continue;
            }
            // Half the time, put `cur` a few periods past the match, so
            // that the loop runs a bounded but non-trivial number of turns.
            let cur = if round % 2 == 0 {
                rng.next_u64()
            } else {
                cmp64.wrapping_add(period.wrapping_mul(rng.next_u64() % 1000)).wrapping_add(spread(&mut rng) % period)
            };
            let fast = catch_up(cmp64, cur, period);
            // Whatever the loop length: the result is a fixed point of the
            // loop, and one period earlier it was not (for a moved match).
            assert!((fast.wrapping_sub(cur) as i64) >= 0, "{cmp64:#x} {cur:#x} {period:#x}");
            if fast != cmp64 {
                assert!((fast.wrapping_sub(period).wrapping_sub(cur) as i64) < 0);
            }
            if let Some(slow) = naive(cmp64, cur, period, LIMIT) {
                assert_eq!(fast, slow, "cmp64 {cmp64:#x} cur {cur:#x} period {period:#x}");
                compared += 1;
                if period >= SIGN_BIT && slow != cmp64 {
                    compared_huge_period += 1;
                }
            }
        }
        assert!(compared > 100_000, "only {compared} triples ran the loop to its end");
        assert!(compared_huge_period > 10_000, "only {compared_huge_period} moved with a period >= 2^63");
    }

    #[test]
    fn closed_form_edge_cases() {
        // On time: nothing added (the cause of the periodic double firing).
        assert_eq!(catch_up(1000, 1000, 1000), 1000);
        assert_eq!(catch_up(1000, 1001, 1000), 2000);
        assert_eq!(catch_up(1000, 2000, 1000), 2000);
        // Maximal distance 2^63 with period 1.
        assert_eq!(catch_up(0, SIGN_BIT, 1), SIGN_BIT);
        // Period 2^64 - 1 (one step back each turn): 2^63 turns in QEMU.
        assert_eq!(catch_up(0, 1, u64::MAX), SIGN_BIT);
        assert_eq!(naive(0, 1, u64::MAX, 10), None);
        // Period 2^63: one turn flips the sign.
        assert_eq!(catch_up(0, 1, SIGN_BIT), SIGN_BIT);
        assert_eq!(naive(0, 1, SIGN_BIT, 10), Some(SIGN_BIT));
        // Period 0 is never reloaded.
        assert_eq!(catch_up(5, 10, 0), 5);
    }

    #[test]
    fn match_value_and_wrap() {
        assert_eq!(match_value(false, 500, 100), 100);
        assert_eq!(match_value(true, 0x1_0000_0010, 0x20), 0x1_0000_0020);
        assert_eq!(match_value(true, 0x1_0000_0010, 0x10), 0x1_0000_0010);
        assert_eq!(match_value(true, 0x1_0000_0010, 0x8), 0x2_0000_0008);
        assert_eq!(match_value(true, u64::MAX, 0), 0);
        assert_eq!(next_wrap(0xFFFF_FF00), 0x1_0000_0000);
        assert_eq!(next_wrap(0x1_0000_0000), 0x2_0000_0000);
        assert_eq!(next_wrap(u64::MAX), 0);
    }
}
