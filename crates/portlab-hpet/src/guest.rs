//! The HPET's deep-state guest: a plug-in for the equivalence tests.
//!
//! The generic random guest (`portlab-equiv`) writes random values at
//! random offsets; it almost never programs a periodic comparator, enables
//! the counter and then waits for the right instant, which is where the
//! HPET's hard arithmetic lives (the 1 us clamp, the catch-up, the 32-bit
//! wrap). This plug-in writes what a driver would: it picks a comparator,
//! a mode and small values, enables the HPET, and advances to just before,
//! exactly at and just after the deadlines it programmed. It lives beside
//! the device because only the device knows what a deep state is; the
//! registry hands it to the tools. It builds trace commands as plain data
//! (`GuestStep`), so it needs no dependency on the tools.

use portlab_device::sys;

use portlab_device::explore::{GuestStep, GuestSteps, Rng};

const CONF: u64 = sys::HPET_TN_CONF as u64;
const CMP: u64 = sys::HPET_TN_CMP as u64;
const FSB: u64 = sys::HPET_TN_FSB as u64;

fn block(i: u64) -> u64 {
    u64::from(sys::HPET_TIMER_BASE) + u64::from(sys::HPET_TIMER_STRIDE) * i
}

/// One chunk of driver-like behaviour for an HPET with `timers`
/// comparators.
pub fn chunk(timers: u32, seed: u64) -> Vec<GuestStep> {
    let mut rng = Rng(seed);
    let mut out = GuestSteps::new();
    // Mostly the first comparators, sometimes the ghost (index n).
    let n = u64::from(timers.clamp(sys::HPET_MIN_TIMERS, sys::HPET_MAX_TIMERS));
    let i = if rng.chance(8) && n <= 23 { n } else { rng.below(n.min(3)) };
    let b = block(i);
    // A mode a driver would choose, sometimes with odd bits.
    let mut conf = u64::from(sys::HPET_TN_ENABLE);
    for (bit, one_in) in
        [(sys::HPET_TN_PERIODIC, 2), (sys::HPET_TN_LEVEL, 3), (sys::HPET_TN_32BIT, 4), (sys::HPET_TN_FSB_ENABLE, 6)]
    {
        if rng.chance(one_in) {
            conf |= u64::from(bit);
        }
    }
    if rng.chance(10) {
        conf &= !u64::from(sys::HPET_TN_ENABLE);
    }
    let route = rng.pick(&[0u64, 2, 3, 8, 31]);
    conf |= route << sys::HPET_TN_INT_ROUTE_SHIFT;
    let periodic = conf & u64::from(sys::HPET_TN_PERIODIC) != 0;
    // Small values make deadlines the advances below can reach; now and
    // then one near the 32-bit boundary or huge. (A huge periodic
    // comparator wraps NS() negative and re-fires for ever, as in QEMU:
    // the board stops that as a timer storm, so it is kept rare.)
    let huge = if periodic && !rng.chance(16) { 50 + rng.below(1500) } else { rng.next_u64() };
    let value = match rng.below(8) {
        0 => 0xFFFF_FF00 + rng.below(0x200),
        1 => huge,
        2 => rng.below(30),
        _ => 50 + rng.below(1500),
    };
    if conf & u64::from(sys::HPET_TN_FSB_ENABLE) != 0 {
        out.write(b + FSB, 0xFEE0_0000_0000_0041 + rng.below(4), 8);
    }
    if rng.chance(4) {
        // The counter may be set only while disabled: first disable.
        out.write(u64::from(sys::HPET_GEN_CONF), 0, 4);
        out.write(u64::from(sys::HPET_MAIN_CNT), rng.pick(&[0, 0xFFFF_FE00, 0xFFFF_FFF0, 1_000_000]), 8);
    }
    if periodic {
        out.write(b + CONF, conf | u64::from(sys::HPET_TN_SETVAL), 4);
        out.write(b + CMP, value, 8);
        if rng.chance(2) {
            // A second write without SETVAL sets the period only.
            out.write(b + CMP, 50 + rng.below(400), if rng.chance(2) { 8 } else { 4 });
        }
    } else {
        out.write(b + CONF, conf, 4);
        if rng.chance(3) {
            // Two halves, as a 32-bit driver writes a 64-bit comparator.
            out.write(b + CMP, value & 0xFFFF_FFFF, 4);
            out.write(b + CMP + 4, value >> 32, 4);
        } else {
            out.write(b + CMP, value, 8);
        }
    }
    let legacy = if rng.chance(5) { u64::from(sys::HPET_CFG_LEGACY) } else { 0 };
    out.write(u64::from(sys::HPET_GEN_CONF), u64::from(sys::HPET_CFG_ENABLE) | legacy, 4);
    out.advance(0);
    // Wait around the deadlines: one tick is 10 ns.
    let ticks = value.clamp(1, 2000) * u64::from(sys::HPET_CLK_PERIOD_NS);
    for _ in 0..1 + rng.below(4) {
        let step = match rng.below(6) {
            0 => ticks.saturating_sub(1),
            1 => ticks,
            2 => 1,
            3 => u64::from(sys::HPET_MIN_PERIOD_NS),
            4 => 10 * rng.below(200),
            _ => ticks + 1,
        };
        out.advance(step);
        match rng.below(5) {
            0 => out.read(u64::from(sys::HPET_MAIN_CNT), 8),
            1 => out.read(b + CMP, 8),
            2 => out.write(u64::from(sys::HPET_GINTR_STA), 1u64 << i, 4),
            3 => out.write(b + CONF, conf, 4),
            _ => {}
        }
    }
    out.into_steps()
}

/// [`chunk`] for an instance with the default properties: the plug-in the
/// registry hands to the equivalence tests.
pub fn default_chunk(seed: u64) -> Vec<GuestStep> {
    chunk(sys::HPET_TIMERS_DEFAULT, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_deterministic_and_enable_the_hpet() {
        for seed in 0..200 {
            let steps = chunk(3, seed);
            assert_eq!(steps, chunk(3, seed));
            let a: Vec<String> = steps.iter().map(|s| s.line("hpet")).collect();
            assert!(a.iter().any(|l| l == "write hpet 0x010 0x1 4" || l == "write hpet 0x010 0x3 4"), "{a:?}");
            assert!(a.iter().any(|l| l.starts_with("advance")));
        }
    }
}
