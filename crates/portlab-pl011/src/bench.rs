//! The PL011's benchmark workloads: the calls a console driver makes in
//! its hot loops, declared here so that `portlab bench` and the criterion
//! benches, which name no device, run them on the floor, the C model, the
//! Rust model behind the ops table and the Rust model called directly.
//!
//! The bring-up and the loops are a guest's (amba-pl011's order of
//! writes); the offsets and bits come from the C header through the
//! bindings, like the model's own.

use std::hint::black_box;

use portlab_device::bench::{Body, Micro, Operation, Tally, Target, Workload, read_loop, save_load_loop, write_loop};
use portlab_device::sys;

use crate::Pl011;

const DR: u64 = sys::PL011_DR as u64;
const FR: u64 = sys::PL011_FR as u64;
const IBRD: u64 = sys::PL011_IBRD as u64;
const FBRD: u64 = sys::PL011_FBRD as u64;
const LCR_H: u64 = sys::PL011_LCR_H as u64;
const CR: u64 = sys::PL011_CR as u64;
const IFLS: u64 = sys::PL011_IFLS as u64;
const IMSC: u64 = sys::PL011_IMSC as u64;
const MIS: u64 = sys::PL011_MIS as u64;
const ICR: u64 = sys::PL011_ICR as u64;
const FR_RXFE: u64 = sys::PL011_FR_RXFE as u64;
const FR_TXFF: u64 = sys::PL011_FR_TXFF as u64;
const INT_RX: u64 = sys::PL011_INT_RX as u64;
const INT_TX: u64 = sys::PL011_INT_TX as u64;
const INT_RT: u64 = sys::PL011_INT_RT as u64;
const CR_ENABLED: u64 = (sys::PL011_CR_UARTEN | sys::PL011_CR_TXE | sys::PL011_CR_RXE) as u64;
/// FEN, 8 data bits.
const LCR_FIFO_8N1: u64 = (sys::PL011_LCR_FEN | sys::PL011_LCR_WLEN) as u64;

/// Bytes per RX burst: one FIFO's worth.
pub const RX_BURST: u64 = sys::PL011_FIFO_SLOTS as u64;
/// A PL011 never reports TXFF to a polling writer, but a poll loop must
/// not spin forever on a device that does.
const POLL_LIMIT: u32 = 1000;

/// The workloads, in report order.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "fr-poll",
        unit: "FR read",
        description: "read FR (4 bytes): decode and return a field",
        properties: &[],
        hot_path: true,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<FrPoll, Pl011>()),
    },
    Workload {
        name: "write-cr",
        unit: "CR write",
        description: "write CR = 0x301: decode and store",
        properties: &[],
        hot_path: true,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<WriteCr, Pl011>()),
    },
    Workload {
        name: "write-imsc",
        unit: "IMSC write",
        description: "write IMSC (alternately RX|RT and 0): store and UPDATE, six set_irq callbacks",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<WriteImsc, Pl011>()),
    },
    Workload {
        name: "tx",
        unit: "byte",
        description: "poll FR for TXFF, write DR: serial_send and UPDATE callbacks",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<Tx, Pl011>()),
    },
    Workload {
        name: "rx",
        unit: "16-byte burst",
        description: "offer 16 bytes (can_receive + receive each), then MIS, ICR, and FR/DR reads until RXFE; \
                      the RX line rises and falls",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<Rx, Pl011>()),
    },
    Workload {
        name: "irq-churn",
        unit: "round",
        description: "IMSC=TX (two lines rise), read MIS, IMSC=0 (they fall), ICR=RX|RT",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<IrqChurn, Pl011>()),
    },
    Workload {
        name: "save-load",
        unit: "save+load",
        description: "save the 132-byte migration blob into a reused buffer and load it back",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<SaveLoad, Pl011>()),
    },
    Workload {
        name: "linux-trace",
        unit: "replay",
        description: "tests/traces/recorded/linux-interactive.pl011.trace (Linux at a serial console) \
                      on a fresh board",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        // Built into the binary so that `portlab bench` runs from any
        // directory.
        body: Body::Replay(include_str!("../../../tests/traces/recorded/linux-interactive.pl011.trace")),
    },
];

/// The bring-up every micro workload starts from, as amba-pl011 does it:
/// interrupts masked and cleared, 115200 baud from 24 MHz, FIFOs on.
fn bring_up<T: Target>(t: &mut T) {
    t.write(IMSC, 0);
    t.write(ICR, 0x7ff);
    t.write(CR, 0);
    t.write(IBRD, 13);
    t.write(FBRD, 1);
    t.write(LCR_H, LCR_FIFO_8N1);
    t.write(IFLS, 0x12);
    t.write(CR, CR_ENABLED);
}

/// One op: one FR read (a driver's poll).
struct FrPoll;

impl Operation for FrPoll {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        read_loop(t, FR, ops, tally);
    }
}

/// One op: one CR write (a store, no side effect in either model).
struct WriteCr;

impl Operation for WriteCr {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
    }
    fn run<T: Target>(t: &mut T, ops: u64, _tally: &mut Tally) {
        write_loop(t, CR, CR_ENABLED, ops);
    }
}

/// One op: one IMSC write (a store and UPDATE: six `set_irq` calls; no
/// interrupt is pending, so no line changes).
struct WriteImsc;

impl Operation for WriteImsc {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
    }
    fn run<T: Target>(t: &mut T, ops: u64, _tally: &mut Tally) {
        for i in 0..ops {
            let mask = if i & 1 == 0 { INT_RX | INT_RT } else { 0 };
            t.write(black_box(IMSC), black_box(mask));
        }
    }
}

/// One op: one byte transmitted as a polling driver does: wait for room
/// (FR.TXFF clear), then write DR.
struct Tx;

impl Operation for Tx {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        for i in 0..ops {
            for _ in 0..POLL_LIMIT {
                let fr = t.read(black_box(FR));
                tally.read(fr);
                if fr & FR_TXFF == 0 {
                    break;
                }
            }
            t.write(black_box(DR), u64::from(b'a' + (i % 26) as u8));
        }
    }
}

/// One op: a burst of [`RX_BURST`] bytes offered the way the board offers
/// input (one byte at a time while `can_receive` says there is room), then
/// the driver's interrupt handler: read MIS, acknowledge RX in ICR, and
/// read DR until FR says RXFE. The first byte raises the RX line and the
/// last read lowers it; every DR read runs UPDATE.
struct Rx;

impl Operation for Rx {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
        t.write(IMSC, INT_RX | INT_RT);
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
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
            tally.read(t.read(black_box(MIS)));
            t.write(black_box(ICR), INT_RX | INT_RT);
            // The driver loops on RXFE; bounded by what was delivered so
            // that the floor, whose FR reads 0, makes the same calls.
            for n in 0..=delivered {
                let fr = t.read(black_box(FR));
                tally.read(fr);
                if fr & FR_RXFE != 0 || n == delivered {
                    break;
                }
                let c = t.read(black_box(DR));
                tally.rx_drained += 1;
                tally.rx_drained_sum = tally.rx_drained_sum.wrapping_add(c & 0xff);
            }
        }
    }
}

/// One op: unmask TX (lines 0 and 2 rise, TXRIS being set), read MIS, mask
/// it again (they fall), and acknowledge RX/RT in ICR (UPDATE, no change).
struct IrqChurn;

impl Operation for IrqChurn {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
        // One transmitted byte leaves TXRIS set, so unmasking TX raises
        // the line.
        t.write(DR, u64::from(b'!'));
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        for _ in 0..ops {
            t.write(black_box(IMSC), INT_TX);
            tally.read(t.read(black_box(MIS)));
            t.write(black_box(IMSC), 0);
            t.write(black_box(ICR), INT_RX | INT_RT);
        }
    }
}

/// One op: save the migration blob into a reused buffer and load it back,
/// from a state worth migrating: RX interrupt on, a few bytes queued.
struct SaveLoad;

impl Operation for SaveLoad {
    fn setup<T: Target>(t: &mut T) {
        bring_up(t);
        t.write(IMSC, INT_RX | INT_RT);
        for &b in b"mig" {
            t.receive(b);
        }
    }
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        save_load_loop(t, ops, tally);
    }
}

#[cfg(test)]
mod tests {
    //! What each workload does on the Rust model, behind the ops table and
    //! called directly. That the C model and the floor make the same calls
    //! is `portlab-bench`'s test, for every device's workloads.

    use portlab_device::bench::{BenchHost, Body, TableTarget, Tally, Workload};
    use portlab_device::{DeviceType, Instance};

    use super::{RX_BURST, WORKLOADS};
    use crate::Pl011;

    fn workload(name: &str) -> &'static Workload {
        WORKLOADS.iter().find(|w| w.name == name).expect("declared")
    }

    /// Runs `name` for `ops` operations behind the table and natively, and
    /// returns the host and tally of each.
    fn run(name: &str, ops: u64) -> [(BenchHost, Tally); 2] {
        let Body::Micro(micro) = workload(name).body else { panic!("{name} is a micro workload") };
        let mut table: TableTarget = Instance::new(DeviceType::of::<Pl011>(), BenchHost::default()).unwrap();
        (micro.setup)(&mut table);
        table.host_mut().clear_counters();
        let mut tally = Tally::default();
        (micro.run)(&mut table, ops, &mut tally);
        let mut native = (micro.native.expect("native"))(&[]).unwrap();
        let mut native_tally = Tally::default();
        native.run(ops, &mut native_tally);
        let both = [(table.host().clone(), tally), (native.host().clone(), native_tally)];
        assert_eq!(both[0], both[1], "{name}: table and native do the same work");
        both
    }

    #[test]
    fn fr_poll_reads_the_idle_flags() {
        let [(host, tally), _] = run("fr-poll", 100);
        assert_eq!(tally.reads_sum, 100 * 0x90, "TXFE | RXFE");
        assert_eq!(host.irq_calls, 0);
    }

    #[test]
    fn register_writes_store_and_update() {
        let [(cr, _), _] = run("write-cr", 50);
        assert_eq!((cr.irq_calls, cr.tx_bytes), (0, 0), "a CR write without LBE has no side effect");
        let [(imsc, _), _] = run("write-imsc", 50);
        assert_eq!(imsc.irq_calls, 50 * 6, "UPDATE drives all six lines");
        assert_eq!(imsc.irq_edges, 0, "nothing is pending");
    }

    #[test]
    fn tx_sends_n_bytes() {
        let [(host, tally), _] = run("tx", 1000);
        assert_eq!(host.tx_bytes, 1000);
        let expected: u64 = (0..1000u64).map(|i| u64::from(b'a') + i % 26).sum();
        assert_eq!(host.tx_sum, expected);
        assert_eq!(tally.reads_sum, 1000 * 0x90, "one FR poll per byte");
        assert_eq!(host.irq_calls, 1000 * 6);
    }

    #[test]
    fn rx_drains_exactly_the_bytes_delivered() {
        let [(host, tally), _] = run("rx", 20);
        assert_eq!(tally.rx_delivered, 20 * RX_BURST, "a 16-deep FIFO takes a whole burst");
        assert_eq!(tally.rx_drained, tally.rx_delivered);
        assert_eq!(tally.rx_drained_sum, tally.rx_delivered_sum);
        assert_eq!(host.irq_edges, 20 * 4, "lines 0 and 1 rise on the first byte and fall on the last read");
    }

    #[test]
    fn irq_churn_raises_and_lowers_two_lines_per_round() {
        let [(host, tally), _] = run("irq-churn", 10);
        assert_eq!(host.irq_edges, 10 * 4);
        assert_eq!(tally.reads_sum, 10 * 0x20, "MIS shows TX");
    }

    #[test]
    fn save_load_round_trips_the_same_blob() {
        let [(_, one), _] = run("save-load", 1);
        assert_eq!(one.blob.len(), 132);
        assert_eq!(&one.blob[..4], b"DEVS");
        let [(_, six), _] = run("save-load", 6);
        assert_eq!(six.blob, one.blob, "loading a blob and saving again gives the same blob");
    }
}
