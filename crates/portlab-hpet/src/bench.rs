//! The HPET's benchmark workloads: a clocksource's counter read, a
//! clockevent's comparator write, a periodic tick's expiry, and migration
//! with few and many comparators. `portlab bench` and the criterion
//! benches run them on the floor, the C model and the Rust model behind
//! the same ops table.
//!
//! Set up as Linux does it: comparators configured while the counter is
//! stopped, then GEN_CONF's ENABLE (which arms every comparator, spec
//! section 8.3). The host's clock starts at [`START_NS`] and moves
//! [`CLOCK_STEP_NS`] per reading, except for `hpet-periodic`, whose
//! workload sets it to each deadline as a host does before it calls
//! `timer_expired`.
//!
//! None runs natively: the question here is C against Rust through the
//! same table (the PL011's workloads measure the boundary).
//!
//! Why the periodic workload goes through the host and not the board's
//! `advance`: the board would add its own timer queue and event log to
//! every expiry, the same for every implementation, and that shared cost
//! would hide the device's.

use std::hint::black_box;

use portlab_device::bench::{Body, Micro, Operation, Tally, Target, Workload, read_loop, save_load_loop};
use portlab_device::sys;

const GEN_CONF: u64 = sys::HPET_GEN_CONF as u64;
const MAIN_CNT: u64 = sys::HPET_MAIN_CNT as u64;
const STRIDE: u64 = sys::HPET_TIMER_STRIDE as u64;
/// Comparator 0's configuration and comparator registers.
const TN_CONF: u64 = (sys::HPET_TIMER_BASE + sys::HPET_TN_CONF) as u64;
const TN_CMP: u64 = (sys::HPET_TIMER_BASE + sys::HPET_TN_CMP) as u64;
const ENABLE: u64 = sys::HPET_CFG_ENABLE as u64;
const TN_INT_ENB: u64 = sys::HPET_TN_ENABLE as u64;
const TN_PERIODIC: u64 = sys::HPET_TN_PERIODIC as u64;
const TN_SETVAL: u64 = sys::HPET_TN_SETVAL as u64;
const TN_ROUTE_SHIFT: u64 = sys::HPET_TN_INT_ROUTE_SHIFT as u64;
/// Comparator 0's interrupt goes to line 2 (allowed by the default
/// `hpet-intcap`, 0x00FF0104).
const ROUTE: u64 = 2;
/// Nanoseconds per counter tick.
const TICK_NS: u64 = sys::HPET_CLK_PERIOD_NS as u64;
/// The virtual clock when the guest enables the HPET: one second after
/// boot, the counter still at 0 (so the offset is "negative", as usual).
pub const START_NS: u64 = 1_000_000_000;
/// How far the clock moves per reading where it runs: not a multiple of
/// the 10 ns tick, so the division in TICKS() has a varying remainder.
pub const CLOCK_STEP_NS: u64 = 37;
/// `hpet-periodic`'s period: 100 ticks, 1 us, the shortest one the 1 us
/// clamp of ARM does not stretch (spec section 8.4, "short periods").
const SHORT_PERIOD: u64 = 100;
/// The save-load workloads' periodic comparator: 1 ms, a HZ=1000 tick.
const TICK_PERIOD: u64 = 100_000;
/// How far ahead `hpet-cmp-write` programs the comparator: 10 us, plus a
/// varying part.
const CMP_DELTA: u64 = 1_000;

/// The workloads, in report order.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "hpet-counter-read",
        unit: "MAIN_CNT read",
        description: "HPET enabled: read MAIN_CNT's low half (4 bytes at 0x0F0) while the clock moves: \
                      one clock callback",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::of::<CounterRead>()),
    },
    Workload {
        name: "hpet-cmp-write",
        unit: "CMP write",
        description: "HPET enabled, comparator 0 one-shot with its interrupt on: write Tn_COMPARATOR \
                      (8 bytes at 0x108) with a new deadline: SET-TIMER, a clock callback and a timer_arm",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::of::<CmpWrite>()),
    },
    Workload {
        name: "hpet-periodic",
        unit: "expiry",
        description: "comparator 0 periodic, 100 ticks (1 us), interrupt on: the host sets the clock to the \
                      armed deadline and calls timer_expired(0): catch-up, re-arm (timer_arm) and an edge \
                      pulse (two set_irq)",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::of::<Periodic>()),
    },
    Workload {
        name: "hpet-save-load-3",
        unit: "save+load",
        description: "HPET with 3 comparators, enabled and armed: save the 200-byte blob into a reused \
                      buffer and load it back",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::of::<SaveLoad<3>>()),
    },
    Workload {
        name: "hpet-save-load-32",
        unit: "save+load",
        description: "HPET with 32 comparators, enabled and armed: save the 1592-byte blob into a reused \
                      buffer and load it back",
        properties: &[("timers", 32)],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::of::<SaveLoad<32>>()),
    },
];

/// Comparator 0's Tn_CONF with its interrupt on, routed to line 2, edge.
fn tn_conf(extra: u64) -> u64 {
    TN_INT_ENB | extra | (ROUTE << TN_ROUTE_SHIFT)
}

/// Starts the clock at [`START_NS`], moving `step` per reading.
fn start_clock<T: Target>(t: &mut T, step: u64) {
    let host = t.host_mut();
    host.clock = START_NS;
    host.clock_step = step;
}

/// One op: one 4-byte read of MAIN_CNT's low half, as Linux's HPET
/// clocksource reads it; the clock has moved since the previous read, so
/// the device computes TICKS() from a clock callback every time.
struct CounterRead;

impl Operation for CounterRead {
    fn setup<T: Target>(t: &mut T) {
        start_clock(t, CLOCK_STEP_NS);
        t.write(GEN_CONF, ENABLE);
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        read_loop(t, MAIN_CNT, ops, tally);
    }
}

/// One op: one 8-byte write of comparator 0 (one-shot, interrupt on), as a
/// clockevent driver programs its next event: "now" plus a delta that
/// changes from write to write. "Now" is taken from the host's clock (the
/// counter is its ticks since the enable), not read from the device, so
/// that the floor makes the same calls. Each write runs SET-TIMER: a clock
/// callback and a `timer_arm`.
struct CmpWrite;

impl Operation for CmpWrite {
    fn setup<T: Target>(t: &mut T) {
        start_clock(t, CLOCK_STEP_NS);
        t.write(TN_CONF, tn_conf(0));
        t.write(GEN_CONF, ENABLE);
    }
    fn run<T: Target>(t: &mut T, ops: u64, _tally: &mut Tally) {
        for i in 0..ops {
            let now_ticks = t.host().clock.wrapping_sub(START_NS) / TICK_NS;
            let value = now_ticks + CMP_DELTA + (i & 0xff);
            t.write64(black_box(TN_CMP), black_box(value));
        }
    }
}

/// One op: comparator 0's periodic expiry. The host moves its clock to the
/// deadline the device last armed and calls `timer_expired(0)`; the device
/// catches up by one period, re-arms (`timer_arm`, the next deadline) and
/// pulses line 2 (two `set_irq`). On the floor, which arms nothing, the
/// recorded deadline stays 0: same calls, no work.
struct Periodic;

impl Operation for Periodic {
    fn setup<T: Target>(t: &mut T) {
        start_clock(t, 0);
        // SETVAL: the 8-byte write sets both the comparator and the
        // period (spec section 8.5).
        t.write(TN_CONF, tn_conf(TN_PERIODIC | TN_SETVAL));
        t.write64(TN_CMP, SHORT_PERIOD);
        t.write(GEN_CONF, ENABLE);
    }
    fn run<T: Target>(t: &mut T, ops: u64, _tally: &mut Tally) {
        for _ in 0..ops {
            let deadline = t.host().deadline(0);
            t.host_mut().clock = deadline;
            t.timer_expired(black_box(0));
        }
    }
}

/// One op: save and load of an HPET with `TIMERS` comparators (the
/// workload creates it with that many), from a state worth migrating:
/// comparator 0 a 1 ms periodic tick, comparator 1 a one-shot 10 ms
/// ahead, both armed.
struct SaveLoad<const TIMERS: u32>;

impl<const TIMERS: u32> Operation for SaveLoad<TIMERS> {
    fn setup<T: Target>(t: &mut T) {
        start_clock(t, CLOCK_STEP_NS);
        t.write(TN_CONF, tn_conf(TN_PERIODIC | TN_SETVAL));
        t.write64(TN_CMP, TICK_PERIOD);
        t.write(TN_CONF + STRIDE, tn_conf(0));
        t.write64(TN_CMP + STRIDE, 10 * TICK_PERIOD);
        t.write(GEN_CONF, ENABLE);
        // The other comparators are at their reset value, which expires at
        // once on enable (spec section 8.4); deliver those expiries, as a
        // host would have long before a migration, so that they are saved
        // disarmed. The count is the workload's, not the device's, so the
        // floor gets the same calls.
        for i in 2..TIMERS {
            t.timer_expired(i);
        }
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        save_load_loop(t, ops, tally);
    }
}

#[cfg(test)]
mod tests {
    //! What each workload does on the Rust HPET behind the ops table. That
    //! the C model and the floor make the same calls is `portlab-bench`'s
    //! test, for every device's workloads.

    use portlab_device::bench::{BenchHost, Body, TableTarget, Tally};
    use portlab_device::{DeviceType, Instance};

    use super::{START_NS, WORKLOADS};
    use crate::Hpet;

    /// A fresh Rust HPET set up for `name`, its counters cleared.
    fn prepared(name: &str) -> (TableTarget, fn(&mut TableTarget, u64, &mut Tally)) {
        let workload = WORKLOADS.iter().find(|w| w.name == name).expect("declared");
        let Body::Micro(micro) = workload.body else { panic!("{name} is a micro workload") };
        let properties: Vec<(String, u64)> = workload.properties.iter().map(|&(n, v)| (n.into(), v)).collect();
        let mut t = Instance::with_properties(DeviceType::of::<Hpet>(), BenchHost::default(), &properties).unwrap();
        (micro.setup)(&mut t);
        t.host_mut().clear_counters();
        (t, micro.run)
    }

    fn run(name: &str, ops: u64) -> (BenchHost, Tally) {
        let (mut t, run) = prepared(name);
        let mut tally = Tally::default();
        run(&mut t, ops, &mut tally);
        (t.host().clone(), tally)
    }

    #[test]
    fn counter_read_computes_a_moving_counter() {
        let (mut t, run) = prepared("hpet-counter-read");
        let mut tally = Tally::default();
        run(&mut t, 1, &mut tally);
        let first = tally.reads_sum;
        run(&mut t, 1, &mut tally);
        let second = tally.reads_sum - first;
        assert!(second > first, "the counter moved ({first} then {second})");
        let (host, _) = super::tests::run("hpet-counter-read", 1000);
        assert_eq!(host.clock_reads, 1000, "one clock callback per read");
        assert_eq!((host.timer_arms, host.irq_calls), (0, 0));
    }

    #[test]
    fn cmp_write_rearms_once_per_write() {
        let (host, _) = run("hpet-cmp-write", 500);
        assert_eq!((host.clock_reads, host.timer_arms, host.timer_cancels), (500, 500, 0));
        assert_eq!(host.irq_calls, 0, "a deadline ahead of the counter: no interrupt");
    }

    #[test]
    fn periodic_fires_rearms_and_pulses_every_expiry() {
        let (host, _) = run("hpet-periodic", 100);
        assert_eq!(host.timer_arms, 100, "one re-arm per expiry");
        assert_eq!((host.irq_calls, host.irq_edges), (200, 200), "an edge pulse per expiry");
        // Deadlines 1 us apart: the enable (at 1 s, counter 0) armed the
        // match at 100 ticks, 1 s + 1 us; each expiry re-arms 1 us later.
        let first = START_NS + 1000;
        let expected: u64 = (1..=100u64).map(|k| first + 1000 * k).sum();
        assert_eq!(host.deadline_sum, expected);
    }

    #[test]
    fn save_load_round_trips_3_and_32_comparators() {
        for (name, n) in [("hpet-save-load-3", 3u64), ("hpet-save-load-32", 32)] {
            let (host, tally) = run(name, 4);
            let header = 12;
            assert_eq!(tally.blob.len() as u64, header + 40 + 48 * n + 4, "{name}");
            assert_eq!(&tally.blob[..4], b"DEVS");
            // Per save+load: the save and the load each read the clock
            // once; the load re-arms comparators 0 and 1 and cancels the
            // others.
            assert_eq!((host.clock_reads, host.timer_arms, host.timer_cancels), (8, 8, 4 * (n - 2)), "{name}");
        }
    }
}
