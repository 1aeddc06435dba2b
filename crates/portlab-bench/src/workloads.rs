//! The workloads: what one operation of each does, on any [`Target`], and
//! the whole-trace replays on the board.
//!
//! Every workload makes a fixed sequence of calls that does not depend on
//! what the device answers (poll loops are bounded by what a PL011 would
//! answer), so the floor, whose reads return 0, makes exactly the calls
//! the PL011s and the HPETs make and its time is the cost of those calls
//! alone.

use std::hint::black_box;
use std::sync::OnceLock;

use portlab_board::demo::run_demo_on;
use portlab_board::{BoardConfig, Command, DeviceKind, Event, Implementation as BoardImpl, Registry, Runner};
use portlab_device::c_models;

use crate::target::Target;
use crate::{Implementation, Outcome, Workload};

// Register offsets and bits, as a driver hard-codes them (the PL011 TRM's
// numbers; the benchmark is a guest, not part of the port).
pub(crate) const DR: u64 = 0x000;
pub(crate) const FR: u64 = 0x018;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02c;
pub(crate) const CR: u64 = 0x030;
const IFLS: u64 = 0x034;
pub(crate) const IMSC: u64 = 0x038;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;
pub(crate) const FR_RXFE: u64 = 0x10;
const FR_TXFF: u64 = 0x20;
const INT_RX: u64 = 0x10;
const INT_TX: u64 = 0x20;
const INT_RT: u64 = 0x40;
/// UARTEN | TXE | RXE.
pub(crate) const CR_ENABLED: u64 = 0x301;
/// FEN, 8 data bits.
const LCR_FIFO_8N1: u64 = 0x70;

/// Bytes per RX burst: one FIFO's worth.
pub const RX_BURST: u64 = 16;
/// A PL011 never reports TXFF, but a poll loop must not spin forever on a
/// device that does.
const POLL_LIMIT: u32 = 1000;

// HPET offsets and bits (the IA-PC HPET specification's numbers, as
// Linux's hpet.h has them; spec sections 5 and 6).
const HPET_GEN_CONF: u64 = 0x010;
const HPET_MAIN_CNT: u64 = 0x0f0;
/// Comparator `i`'s block is at 0x100 + 0x20 i.
const HPET_TN_STRIDE: u64 = 0x20;
const HPET_TN_CONF: u64 = 0x100;
const HPET_TN_CMP: u64 = 0x108;
const HPET_ENABLE: u64 = 0x1;
const HPET_TN_INT_ENB: u64 = 0x4;
const HPET_TN_PERIODIC: u64 = 0x8;
const HPET_TN_SETVAL: u64 = 0x40;
const HPET_TN_ROUTE_SHIFT: u64 = 9;
/// Comparator 0's interrupt goes to line 2 (allowed by the default
/// `hpet-intcap`, 0x00FF0104).
const HPET_ROUTE: u64 = 2;
/// The virtual clock when the guest enables the HPET: one second after
/// boot, the counter still at 0 (so the offset is "negative", as usual).
const HPET_START_NS: u64 = 1_000_000_000;
/// How far the clock moves per reading where it runs: not a multiple of
/// the 10 ns tick, so the division in TICKS() has a varying remainder.
const HPET_CLOCK_STEP_NS: u64 = 37;
/// `hpet-periodic`'s period: 100 ticks, 1 us, the shortest one the 1 us
/// clamp of ARM does not stretch (spec section 8.4, "short periods").
const HPET_SHORT_PERIOD: u64 = 100;
/// The save-load workloads' periodic comparator: 1 ms, a HZ=1000 tick.
const HPET_TICK_PERIOD: u64 = 100_000;
/// How far ahead `hpet-cmp-write` programs the comparator: 10 us, plus a
/// varying part.
const HPET_CMP_DELTA: u64 = 1_000;

/// What the workloads add up besides the host's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) ops: u64,
    pub(crate) reads_sum: u64,
    pub(crate) rx_delivered: u64,
    pub(crate) rx_drained: u64,
    pub(crate) rx_delivered_sum: u64,
    pub(crate) rx_drained_sum: u64,
    pub(crate) events: u64,
    pub(crate) reads: u64,
    pub(crate) irq_events: u64,
    pub(crate) tx_events: u64,
    pub(crate) tx_sum: u64,
}

/// The bring-up every micro workload starts from, as amba-pl011 does it:
/// interrupts masked and cleared, 115200 baud from 24 MHz, FIFOs on.
fn bring_up(t: &mut impl Target) {
    t.write(IMSC, 0);
    t.write(ICR, 0x7ff);
    t.write(CR, 0);
    t.write(IBRD, 13);
    t.write(FBRD, 1);
    t.write(LCR_H, LCR_FIFO_8N1);
    t.write(IFLS, 0x12);
    t.write(CR, CR_ENABLED);
}

/// Puts the device in the state `workload` measures from.
pub(crate) fn setup(workload: Workload, t: &mut impl Target) {
    if workload.device() == "hpet" {
        hpet_setup(workload, t);
        t.host_mut().clear_counters();
        return;
    }
    bring_up(t);
    match workload {
        Workload::Rx => t.write(IMSC, INT_RX | INT_RT),
        // One transmitted byte leaves TXRIS set, so unmasking TX raises
        // the line.
        Workload::IrqChurn => t.write(DR, u64::from(b'!')),
        Workload::SaveLoad => {
            // A state worth migrating: RX interrupt on, a few bytes queued.
            t.write(IMSC, INT_RX | INT_RT);
            for &b in b"mig" {
                t.receive(b);
            }
        }
        _ => {}
    }
    t.host_mut().clear_counters();
}

/// Runs `ops` operations of a micro workload, adding what they read to
/// `tally` (which keeps the results alive) and saving into `blob`.
pub(crate) fn run_micro(workload: Workload, t: &mut impl Target, ops: u64, tally: &mut Tally, blob: &mut Vec<u8>) {
    match workload {
        Workload::FrPoll => fr_poll(t, ops, tally),
        Workload::WriteCr => write_cr(t, ops),
        Workload::WriteImsc => write_imsc(t, ops),
        Workload::Tx => tx(t, ops, tally),
        Workload::Rx => rx(t, ops, tally),
        Workload::IrqChurn => irq_churn(t, ops, tally),
        Workload::SaveLoad => save_load(t, ops, blob),
        Workload::DemoTrace | Workload::LinuxTrace => unreachable!("trace replays run on the board"),
        Workload::HpetCounterRead => hpet_counter_read(t, ops, tally),
        Workload::HpetCmpWrite => hpet_cmp_write(t, ops),
        Workload::HpetPeriodic => hpet_periodic(t, ops),
        Workload::HpetSaveLoad3 | Workload::HpetSaveLoad32 => save_load(t, ops, blob),
    }
    tally.ops += ops;
}

/// Tn_CONF of comparator 0 with its interrupt on, routed to line 2, edge.
fn hpet_tn_conf(extra: u64) -> u64 {
    HPET_TN_INT_ENB | extra | (HPET_ROUTE << HPET_TN_ROUTE_SHIFT)
}

/// The HPET states the workloads start from, set up as Linux does it:
/// comparators configured while the counter is stopped, then GEN_CONF's
/// ENABLE (which arms every comparator, spec section 8.3). The clock
/// starts at [`HPET_START_NS`]; it runs ([`HPET_CLOCK_STEP_NS`] per
/// reading) except for `hpet-periodic`, whose host sets it to each
/// deadline.
fn hpet_setup(workload: Workload, t: &mut impl Target) {
    let host = t.host_mut();
    host.clock = HPET_START_NS;
    host.clock_step = if workload == Workload::HpetPeriodic { 0 } else { HPET_CLOCK_STEP_NS };
    match workload {
        Workload::HpetCounterRead => {}
        Workload::HpetCmpWrite => t.write(HPET_TN_CONF, hpet_tn_conf(0)),
        Workload::HpetPeriodic => {
            // SETVAL: the 8-byte write sets both the comparator and the
            // period (spec section 8.5).
            t.write(HPET_TN_CONF, hpet_tn_conf(HPET_TN_PERIODIC | HPET_TN_SETVAL));
            t.write64(HPET_TN_CMP, HPET_SHORT_PERIOD);
        }
        Workload::HpetSaveLoad3 | Workload::HpetSaveLoad32 => {
            // A state worth migrating: comparator 0 a 1 ms periodic tick,
            // comparator 1 a one-shot 10 ms ahead, both armed.
            t.write(HPET_TN_CONF, hpet_tn_conf(HPET_TN_PERIODIC | HPET_TN_SETVAL));
            t.write64(HPET_TN_CMP, HPET_TICK_PERIOD);
            t.write(HPET_TN_CONF + HPET_TN_STRIDE, hpet_tn_conf(0));
            t.write64(HPET_TN_CMP + HPET_TN_STRIDE, 10 * HPET_TICK_PERIOD);
        }
        _ => unreachable!("not an HPET workload"),
    }
    t.write(HPET_GEN_CONF, HPET_ENABLE);
    if matches!(workload, Workload::HpetSaveLoad3 | Workload::HpetSaveLoad32) {
        // The other comparators are at their reset value, which expires
        // at once on enable (spec section 8.4); deliver those expiries, as
        // a host would have long before a migration, so that they are
        // saved disarmed. The count comes from the workload, not from the
        // device, so the floor gets the same calls.
        let timers = workload.properties().iter().find(|(name, _)| name == "timers").map_or(3, |&(_, n)| n);
        for i in 2..timers as u32 {
            t.timer_expired(i);
        }
    }
}

/// One op: one 4-byte read of MAIN_CNT's low half, as Linux's HPET
/// clocksource reads it; the clock has moved since the previous read, so
/// the device computes TICKS() from a clock callback every time.
fn hpet_counter_read(t: &mut impl Target, ops: u64, tally: &mut Tally) {
    for _ in 0..ops {
        let v = t.read(black_box(HPET_MAIN_CNT));
        tally.reads_sum = tally.reads_sum.wrapping_add(black_box(v));
    }
}

/// One op: one 8-byte write of comparator 0 (one-shot, interrupt on), as a
/// clockevent driver programs its next event: "now" plus a delta that
/// changes from write to write. "Now" is taken from the host's clock (the
/// counter is its ticks since the enable), not read from the device, so
/// that the floor makes the same calls. Each write runs SET-TIMER: a clock
/// callback and a `timer_arm`.
fn hpet_cmp_write(t: &mut impl Target, ops: u64) {
    for i in 0..ops {
        let now_ticks = t.host().clock.wrapping_sub(HPET_START_NS) / 10;
        let value = now_ticks + HPET_CMP_DELTA + (i & 0xff);
        t.write64(black_box(HPET_TN_CMP), black_box(value));
    }
}

/// One op: comparator 0's periodic expiry. The host moves its clock to the
/// deadline the device last armed and calls `timer_expired(0)`; the device
/// catches up by one period, re-arms (`timer_arm`, the next deadline) and
/// pulses line 2 (two `set_irq`).
///
/// Why through the host and not the board's `advance`: every micro
/// workload drives an `Instance` directly with [`BenchHost`](crate::BenchHost),
/// and only the replays go through the board. The board's `advance` would
/// add its own timer queue and event log to every expiry, the same for
/// every implementation, and that shared cost would hide the device's. What
/// the board does before `timer_expired` (set the clock to the deadline) is
/// done here by the workload from the host's record of the last arm. On
/// the floor, which arms nothing, the recorded deadline stays 0: same
/// calls, no work.
fn hpet_periodic(t: &mut impl Target, ops: u64) {
    for _ in 0..ops {
        let deadline = t.host().deadline(0);
        t.host_mut().clock = deadline;
        t.timer_expired(black_box(0));
    }
}

// `black_box` on offsets and values: a guest's accesses are not known at
// compile time, so the natively called device must decode every one, as
// the devices behind the ops table do.

/// One op: one FR read (a driver's poll).
fn fr_poll(t: &mut impl Target, ops: u64, tally: &mut Tally) {
    for _ in 0..ops {
        let v = t.read(black_box(FR));
        tally.reads_sum = tally.reads_sum.wrapping_add(black_box(v));
    }
}

/// One op: one CR write (a store, no side effect in either model).
fn write_cr(t: &mut impl Target, ops: u64) {
    for _ in 0..ops {
        t.write(black_box(CR), black_box(CR_ENABLED));
    }
}

/// One op: one IMSC write (a store and UPDATE: six `set_irq` calls; no
/// interrupt is pending, so no line changes).
fn write_imsc(t: &mut impl Target, ops: u64) {
    for i in 0..ops {
        let mask = if i & 1 == 0 { INT_RX | INT_RT } else { 0 };
        t.write(black_box(IMSC), black_box(mask));
    }
}

/// One op: one byte transmitted as a polling driver does: wait for room
/// (FR.TXFF clear), then write DR.
fn tx(t: &mut impl Target, ops: u64, tally: &mut Tally) {
    for i in 0..ops {
        for _ in 0..POLL_LIMIT {
            let fr = t.read(black_box(FR));
            tally.reads_sum = tally.reads_sum.wrapping_add(fr);
            if fr & FR_TXFF == 0 {
                break;
            }
        }
        t.write(black_box(DR), u64::from(b'a' + (i % 26) as u8));
    }
}

/// One op: a burst of [`RX_BURST`] bytes offered the way the board offers
/// input (one byte at a time while `can_receive` says there is room), then
/// the driver's interrupt handler: read MIS, acknowledge RX in ICR, and
/// read DR until FR says RXFE. The first byte raises the RX line and the
/// last read lowers it; every DR read runs UPDATE.
fn rx(t: &mut impl Target, ops: u64, tally: &mut Tally) {
    for burst in 0..ops {
        let mut delivered = 0;
        for i in 0..RX_BURST {
            if t.can_receive() == 0 {
                break;
            }
            let byte = (burst.wrapping_mul(RX_BURST) + i) as u8;
            t.receive(byte);
            delivered += 1;
            tally.rx_delivered_sum = tally.rx_delivered_sum.wrapping_add(u64::from(byte));
        }
        tally.rx_delivered += delivered;
        let mis = t.read(black_box(MIS));
        tally.reads_sum = tally.reads_sum.wrapping_add(mis);
        t.write(black_box(ICR), INT_RX | INT_RT);
        // The driver loops on RXFE; bounded by what was delivered so that
        // the floor, whose FR reads 0, makes the same calls.
        for n in 0..=delivered {
            let fr = t.read(black_box(FR));
            tally.reads_sum = tally.reads_sum.wrapping_add(fr);
            if fr & FR_RXFE != 0 || n == delivered {
                break;
            }
            let c = t.read(black_box(DR));
            tally.rx_drained += 1;
            tally.rx_drained_sum = tally.rx_drained_sum.wrapping_add(c & 0xff);
        }
    }
}

/// One op: unmask TX (lines 0 and 2 rise, TXRIS being set), read MIS, mask
/// it again (they fall), and acknowledge RX/RT in ICR (UPDATE, no change).
fn irq_churn(t: &mut impl Target, ops: u64, tally: &mut Tally) {
    for _ in 0..ops {
        t.write(black_box(IMSC), INT_TX);
        let mis = t.read(black_box(MIS));
        tally.reads_sum = tally.reads_sum.wrapping_add(mis);
        t.write(black_box(IMSC), 0);
        t.write(black_box(ICR), INT_RX | INT_RT);
    }
}

/// One op: save the migration blob into a reused buffer and load it back.
fn save_load(t: &mut impl Target, ops: u64, blob: &mut Vec<u8>) {
    for _ in 0..ops {
        t.save_into(blob);
        t.load(black_box(&blob[..]));
    }
}

/// Parses the trace once; `= EXPECTED` checks are dropped so that the
/// floor can replay it too (the trace tests check them).
fn parse_trace(text: &str) -> Vec<Command> {
    portlab_board::TraceReader::new(text.as_bytes())
        .map(|line| match line.expect("the benchmark traces parse").command {
            Command::Read { dev, offset, size, .. } => Command::Read { dev, offset, size, expected: None },
            other => other,
        })
        .collect()
}

/// The commands of the demo guest's run (`portlab demo`), as a trace.
pub fn demo_trace() -> &'static [Command] {
    static TRACE: OnceLock<Vec<Command>> = OnceLock::new();
    TRACE.get_or_init(|| {
        // The UART-only board: the demo's RTC part is not a PL011 workload.
        let (registry, config) = board_for(Implementation::C);
        run_demo_on(&registry, config, None).expect("the demo guest runs on the C PL011").trace
    })
}

/// The largest recorded trace, `tests/traces/recorded/linux-interactive.pl011.trace`
/// (Linux at a serial console), built into the binary so that
/// `portlab bench` runs from any directory.
pub fn linux_trace() -> &'static [Command] {
    static TRACE: OnceLock<Vec<Command>> = OnceLock::new();
    TRACE.get_or_init(|| parse_trace(include_str!("../../../tests/traces/recorded/linux-interactive.pl011.trace")))
}

/// The trace a replay workload runs.
pub(crate) fn trace_of(workload: Workload) -> &'static [Command] {
    match workload {
        Workload::DemoTrace => demo_trace(),
        Workload::LinuxTrace => linux_trace(),
        _ => unreachable!("only the replay workloads have a trace"),
    }
}

/// The registry and board layout that put `implementation` in the
/// PL011's slot of the default board. The board keeps only the PL011
/// slot, so the replays measure the UART alone, whatever other devices
/// the default board gains.
pub(crate) fn board_for(implementation: Implementation) -> (Registry, BoardConfig) {
    let (registry, mut config) = board_with_every_slot(implementation);
    config.slots.retain(|slot| slot.name == "pl011");
    (registry, config)
}

fn board_with_every_slot(implementation: Implementation) -> (Registry, BoardConfig) {
    match implementation {
        Implementation::Floor => {
            let mut registry = Registry::empty();
            registry.register(DeviceKind {
                name: "pl011",
                description: "the null device (benchmark floor) in the PL011's slot",
                c: Some(c_models::null()),
                rust: Some(c_models::null()),
                shadow: None,
                guest: None,
                edge_cases: None,
                saved_after_load: None,
            });
            (registry, BoardConfig::default_board(BoardImpl::C))
        }
        Implementation::C => (Registry::builtin(), BoardConfig::default_board(BoardImpl::C)),
        Implementation::Rust => (Registry::builtin(), BoardConfig::default_board(BoardImpl::Rust)),
        Implementation::RustNative => unreachable!("the board drives devices through their ops tables only"),
    }
}

/// One op: the whole trace on a fresh board (board creation included).
pub(crate) fn replay(
    registry: &Registry,
    config: &BoardConfig,
    commands: &[Command],
    ops: u64,
    events: &mut Vec<Event>,
    tally: &mut Tally,
) {
    for _ in 0..ops {
        let mut runner = Runner::new(registry, config.clone());
        for command in commands {
            runner.execute(command, events).expect("the benchmark traces run");
            for e in events.drain(..) {
                tally.events += 1;
                match e {
                    Event::Read { value, .. } => {
                        tally.reads += 1;
                        tally.reads_sum = tally.reads_sum.wrapping_add(value);
                    }
                    Event::Irq { .. } | Event::Mem { .. } => tally.irq_events += 1,
                    Event::Tx { byte, .. } => {
                        tally.tx_events += 1;
                        tally.tx_sum = tally.tx_sum.wrapping_add(u64::from(byte));
                    }
                }
            }
        }
        black_box(&runner);
    }
    tally.ops += ops;
}

/// Outcome of a micro workload from its tally and its host.
pub(crate) fn micro_outcome(tally: &Tally, t: &impl Target, blob: &[u8]) -> Outcome {
    let h = t.host();
    Outcome {
        ops: tally.ops,
        reads_sum: tally.reads_sum,
        tx_bytes: h.tx_bytes,
        tx_sum: h.tx_sum,
        irq_calls: h.irq_calls,
        irq_edges: h.irq_edges,
        logs: h.logs,
        rx_delivered: tally.rx_delivered,
        rx_drained: tally.rx_drained,
        rx_delivered_sum: tally.rx_delivered_sum,
        rx_drained_sum: tally.rx_drained_sum,
        blob: blob.to_vec(),
        events: 0,
        clock_reads: h.clock_reads,
        timer_arms: h.timer_arms,
        deadline_sum: h.deadline_sum,
        timer_cancels: h.timer_cancels,
    }
}

/// Outcome of a replay workload from its tally.
pub(crate) fn replay_outcome(tally: &Tally) -> Outcome {
    Outcome {
        ops: tally.ops,
        reads_sum: tally.reads_sum,
        tx_bytes: tally.tx_events,
        tx_sum: tally.tx_sum,
        irq_edges: tally.irq_events,
        events: tally.events,
        ..Outcome::default()
    }
}
