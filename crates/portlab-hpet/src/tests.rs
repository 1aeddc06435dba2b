//! Unit tests of the state machine, natively (no FFI, no board): the edge
//! cases of spec section 15 and the migration vectors of section 12.2.
//!
//! [`Sim`] is a small host around [`Recorder`]: it keeps QEMU's timer
//! queue order (by deadline, then arming order; `timer_arm_first` at the
//! head) and stamps every line change and memory write with the time, so a
//! case reads like the spec's `E:` lists.

use super::*;
use portlab_device::DeviceType;
use portlab_device::migration::reseal;
use portlab_device::testing::Recorder;

/// One canonical event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Irq(u32, bool),
    Mem(u64, u64),
}

/// A host: the recorder, the timer queue and the timed event log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sim {
    rec: Recorder,
    /// Pending timers in firing order: (timer, deadline).
    queue: Vec<(u32, u64)>,
    events: Vec<(u64, Ev)>,
}

impl Host for Sim {
    fn set_irq(&mut self, line: u32, level: bool) {
        if self.rec.level(line) != level {
            self.events.push((self.rec.clock_ns, Ev::Irq(line, level)));
        }
        self.rec.set_irq(line, level);
    }
    fn serial_send(&mut self, bytes: &[u8]) {
        self.rec.serial_send(bytes);
    }
    fn serial_set_break(&mut self, on: bool) {
        self.rec.serial_set_break(on);
    }
    fn clock_ns(&mut self) -> u64 {
        self.rec.clock_ns()
    }
    fn rtc_epoch_s(&mut self) -> u64 {
        self.rec.rtc_epoch_s()
    }
    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.rec.timer_arm(timer, deadline_ns);
        self.queue.retain(|&(t, _)| t != timer);
        let at = self.queue.iter().position(|&(_, d)| d > deadline_ns).unwrap_or(self.queue.len());
        self.queue.insert(at, (timer, deadline_ns));
    }
    fn timer_cancel(&mut self, timer: u32) {
        self.rec.timer_cancel(timer);
        self.queue.retain(|&(t, _)| t != timer);
    }
    fn log(&mut self, kind: portlab_device::LogKind, message: &str) {
        self.rec.log(kind, message);
    }
    fn mem_write(&mut self, addr: u64, size: u32, value: u64) {
        assert_eq!(size, 4);
        self.events.push((self.rec.clock_ns, Ev::Mem(addr, value)));
        self.rec.mem_write(addr, size, value);
    }
    fn timer_arm_first(&mut self, timer: u32) {
        self.rec.timer_arm_first(timer);
        self.queue.retain(|&(t, _)| t != timer);
        self.queue.insert(0, (timer, 0));
    }
}

/// An HPET on a simulated board.
struct Bench {
    dev: Hpet,
    host: Sim,
    props: Vec<(String, u64)>,
}

fn properties(given: &[(String, u64)]) -> Properties {
    Properties::resolve(DeviceType::of::<Hpet>().description(), given).expect("valid properties")
}

impl Bench {
    fn new() -> Bench {
        Bench::with(&[])
    }

    fn with(given: &[(&str, u64)]) -> Bench {
        let props: Vec<(String, u64)> = given.iter().map(|&(n, v)| (n.to_string(), v)).collect();
        let mut host = Sim::default();
        let dev = Hpet::new(&mut host, &properties(&props));
        assert_eq!(host, Sim::default(), "creation calls no host method but clock_ns");
        Bench { dev, host, props }
    }

    fn w(&mut self, offset: u64, value: u64) {
        self.dev.write(&mut self.host, offset, 4, value);
    }

    fn w8(&mut self, offset: u64, value: u64) {
        self.dev.write(&mut self.host, offset, 8, value);
    }

    fn r(&mut self, offset: u64) -> u64 {
        self.dev.read(&mut self.host, offset, 4)
    }

    fn r8(&mut self, offset: u64) -> u64 {
        self.dev.read(&mut self.host, offset, 8)
    }

    fn input(&mut self, line: u32, level: bool) {
        self.dev.set_input(&mut self.host, line, level);
    }

    /// Advances to absolute time `t`, firing every timer due by then in
    /// queue order; a deadline in the past fires with the clock left as is.
    ///
    /// Bounded: a periodic comparator whose next match is so far ahead
    /// that its deadline wraps negative is due again at once, for ever (it
    /// would livelock QEMU too); random traffic can build one.
    fn at(&mut self, t: u64) {
        for _ in 0..100_000 {
            let Some(&(timer, deadline)) = self.host.queue.first() else { break };
            if deadline > t {
                break;
            }
            self.host.queue.remove(0);
            self.host.rec.armed.remove(&timer);
            self.host.rec.clock_ns = self.host.rec.clock_ns.max(deadline);
            self.dev.timer_expired(&mut self.host, timer);
        }
        self.host.rec.clock_ns = self.host.rec.clock_ns.max(t);
    }

    /// `advance 0`.
    fn adv0(&mut self) {
        let now = self.host.rec.clock_ns;
        self.at(now);
    }

    /// The events since the last call.
    fn take(&mut self) -> Vec<(u64, Ev)> {
        std::mem::take(&mut self.host.events)
    }

    fn save(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.dev.save_at(self.host.rec.clock_ns, &mut SaveBuffer::new(&mut out));
        out
    }

    /// `migrate hpet`: save, drop the instance (and its pending timers),
    /// create a new one with the same properties and load the blob.
    fn migrate(&mut self) {
        let blob = self.save();
        self.host.queue.clear();
        self.host.rec.armed.clear();
        self.dev = Hpet::new(&mut self.host, &properties(&self.props));
        self.dev.load(&mut self.host, &blob).expect("a saved blob loads");
    }
}

fn irq(t: u64, line: u32, level: bool) -> (u64, Ev) {
    (t, Ev::Irq(line, level))
}

/// `edge L` at time `t`: the pulse up then down.
fn edge(t: u64, line: u32) -> [(u64, Ev); 2] {
    [irq(t, line, true), irq(t, line, false)]
}

fn mem(t: u64, addr: u64, value: u64) -> (u64, Ev) {
    (t, Ev::Mem(addr, value))
}

const CFG: u64 = 0x010;
const ISR: u64 = 0x020;
const CNT: u64 = 0x0F0;
const T0CFG: u64 = 0x100;
const T0CMP: u64 = 0x108;
const T0FSB: u64 = 0x110;
const T1CFG: u64 = 0x120;
const T1CMP: u64 = 0x128;

/// A hex dump as the spec prints it, back to bytes.
fn unhex(dump: &str) -> Vec<u8> {
    dump.lines()
        .flat_map(|line| line.split_once(':').map_or("", |(_, bytes)| bytes).split_whitespace())
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

use crate::vectors::{ARMED_AT_5000 as VECTOR_H42, FRESH as VECTOR_FRESH};

/// H42's state: comparator 0 armed for 10000, saved at 5000.
fn h42() -> Bench {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    b.adv0();
    b.at(5000);
    b
}

// ---- Description ----------------------------------------------------------

#[test]
fn the_description_is_accepted_and_names_the_payload() {
    let ty = DeviceType::of::<Hpet>();
    assert_eq!(ty.type_name(), "x-hpet-rust");
    let d = ty.description();
    let props: Vec<(&str, u64, u64, u64)> = d.properties.iter().map(|p| (p.name, p.default, p.min, p.max)).collect();
    assert_eq!(
        props,
        [
            ("timers", 3, 0, 255),
            ("msi", 0, 0, 1),
            ("hpet-intcap", 0x00FF_0104, 0, 0xFFFF_FFFF),
            ("hpet-offset-saved", 1, 0, 1)
        ]
    );
    for (index, name) in [
        (sys::HPET_PROP_TIMERS, "timers"),
        (sys::HPET_PROP_MSI, "msi"),
        (sys::HPET_PROP_INTCAP, "hpet-intcap"),
        (sys::HPET_PROP_OFFSET_SAVED, "hpet-offset-saved"),
    ] {
        assert_eq!(d.properties[index as usize].name, name);
        assert!(!d.properties[index as usize].doc.is_empty());
    }
    assert_eq!(d.num_inputs, 2);
    let s = &d.schema;
    assert_eq!((s.version, s.fixed_size), (1, 40));
    let records = s.records.as_ref().expect("records");
    assert_eq!((records.name, records.count_field, records.size, records.max), ("timer", "num_timers", 48, 32));
    let fields: Vec<(&str, u32, u32, bool)> =
        s.fields.iter().map(|f| (f.name, f.offset, f.width, f.in_record)).collect();
    assert_eq!(
        fields,
        [
            ("config", 0, 8, false),
            ("isr", 8, 8, false),
            ("counter", 16, 8, false),
            ("offset", 24, 8, false),
            ("num_timers", 32, 4, false),
            ("rtc_irq_level", 36, 4, false),
            ("config", 0, 8, true),
            ("cmp", 8, 8, true),
            ("fsb", 16, 8, true),
            ("period", 24, 8, true),
            ("deadline", 32, 8, true),
            ("armed", 40, 4, true),
            ("wrap_flag", 44, 4, true),
        ]
    );
    let info = Hpet::INFO;
    assert_eq!((info.region_size, info.num_irqs, info.num_timers, info.access_sizes), (0x400, 33, 32, 0xC));
    assert_eq!(info.state_device_id, 0x00E7);

    // The saved payload decodes field by field.
    let blob = h42().save();
    let values = s.decode(&blob[12..blob.len() - 4]).expect("decodes");
    let get = |name: &str| values.iter().find(|v| *v.name == *name).map(|v| v.value);
    assert_eq!(get("counter"), Some(500));
    assert_eq!(get("timer[0].deadline"), Some(10_000));
    assert_eq!(get("timer[2].cmp"), Some(u64::MAX));
}

#[test]
fn properties_clamp_and_gcap() {
    for (timers, n, gcap_low) in [(0, 3, 0x8086_A201), (3, 3, 0x8086_A201), (5, 5, 0x8086_A401), (200, 32, 0x8086_BF01)]
    {
        let mut b = Bench::with(&[("timers", timers)]);
        assert_eq!(b.dev.num_timers(), n, "timers={timers}");
        assert_eq!(b.r(0x000), gcap_low);
        assert_eq!(b.r(0x004), 0x0098_9680);
        assert_eq!(b.r8(0x000), 0x0098_9680_0000_0000 | gcap_low);
        let mut blob = Vec::new();
        b.dev.save_at(0, &mut SaveBuffer::new(&mut blob));
        assert_eq!(blob.len(), 12 + 40 + 48 * n + 4);
    }
    let b = Bench::with(&[("msi", 1), ("hpet-intcap", 4)]);
    assert_eq!(b.dev.timers[0].config.bits(), 0x0000_0004_0000_8030);
    assert_eq!(b.dev.timers[3].config.bits(), 0, "the ghost has no capability bits");
    let ty = DeviceType::of::<Hpet>();
    assert!(Properties::resolve(ty.description(), &[("timers".into(), 256)]).is_err());
    assert!(Properties::resolve(ty.description(), &[("msi".into(), 2)]).is_err());
}

// ---- Registers and counter ------------------------------------------------

#[test]
fn h1_creation_values() {
    let mut b = Bench::new();
    assert_eq!(b.r8(0x000), 0x0098_9680_8086_A201);
    assert_eq!(b.r(0x004), 0x0098_9680);
    assert_eq!(b.r8(CFG), 0);
    assert_eq!(b.r8(ISR), 0);
    assert_eq!(b.r8(CNT), 0);
    assert_eq!(b.r(T0CFG), 0x30);
    assert_eq!(b.r(0x104), 0x00FF_0104);
    assert_eq!(b.r8(T0CMP), u64::MAX);
    assert_eq!(b.r8(T0FSB), 0);
    assert_eq!(b.r8(0x140), 0x00FF_0104_0000_0030);
    b.at(1_000_000);
    assert_eq!(b.r8(CNT), 0);
    // No serial backend: nothing to receive, bytes refused, breaks ignored.
    assert_eq!(b.dev.can_receive(), 0);
    assert_eq!(b.dev.receive(&mut b.host, 0x41), Err(portlab_device::Error::Invalid));
    b.dev.receive_break(&mut b.host);
    assert!(b.take().is_empty());
    assert!(b.host.queue.is_empty());
}

#[test]
fn h2_h3_reserved_and_read_only() {
    let mut b = Bench::new();
    for offset in [0x008, 0x018, 0x0E8, 0x0F8, 0x118, 0x180, 0x3F8] {
        assert_eq!(b.r8(offset), 0, "{offset:#x}");
    }
    for offset in [0x008, 0x0F8, 0x118, 0x180] {
        b.w(offset, 0xFFFF_FFFF);
    }
    assert_eq!((b.r8(0x180), b.r(0x118)), (0, 0));
    b.w8(0x000, u64::MAX);
    b.w(0x104, 0xFFFF_FFFF);
    b.w(T0CFG, 0xFFFF_FFFF);
    b.w(CFG, 0xFFFF_FFFC);
    b.w(0x014, 0xFFFF_FFFF);
    b.w(0x130, 0x1234_5678);
    b.w(0x134, 0x9ABC_DEF0);
    assert_eq!(b.r8(0x000), 0x0098_9680_8086_A201);
    assert_eq!(b.r8(T0CFG), 0x00FF_0104_0000_7F7E);
    assert_eq!(b.r8(CFG), 0);
    assert_eq!(b.r8(0x130), 0x9ABC_DEF0_1234_5678);
    assert!(b.take().is_empty());
    assert!(b.host.queue.is_empty());
}

#[test]
fn h5_h6_counter_halves_and_phase() {
    let mut b = Bench::new();
    b.w(CNT, 0x89AB_CDEF);
    b.w(0x0F4, 0x0123_4567);
    assert_eq!(b.r8(CNT), 0x0123_4567_89AB_CDEF);
    b.at(1000);
    assert_eq!((b.r(CNT), b.r(0x0F4)), (0x89AB_CDEF, 0x0123_4567));

    let mut b = Bench::new();
    b.at(1005);
    b.w(CNT, 0x100);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.r8(CNT), 0x100);
    b.at(1014);
    assert_eq!(b.r(CNT), 0x100);
    b.at(1015);
    assert_eq!(b.r(CNT), 0x101);
    b.at(1040);
    assert_eq!(b.r(CNT), 0x103);
    b.w(CNT, 0);
    assert_eq!(b.r(CNT), 0x103, "a write while enabled changes nothing");
    b.at(1140);
    b.w(CFG, 0);
    assert_eq!(b.r(CNT), 0x10D);
    b.at(2140);
    assert_eq!(b.r(CNT), 0x10D);
}

#[test]
fn h7_counter_wraps_at_2_64_div_10() {
    let mut b = Bench::new();
    b.w8(CNT, u64::MAX);
    assert_eq!(b.r8(CNT), u64::MAX);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.r8(CNT), 0x1999_9999_9999_9998);
    b.at(9);
    assert_eq!(b.r8(CNT), 0x1999_9999_9999_9999);
    b.at(10);
    assert_eq!(b.r8(CNT), 0);
    assert!(b.take().is_empty());
}

// ---- Comparators ----------------------------------------------------------

#[test]
fn h8_one_shot_edge() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    b.adv0();
    b.at(9999);
    assert!(b.take().is_empty());
    b.at(10_000);
    assert_eq!(b.take(), edge(10_000, 2));
    assert_eq!(b.r(ISR), 0);
    b.at(10_000 + 10_000_000_000);
    assert!(b.take().is_empty());
    assert_eq!(b.r8(T0CMP), 1000);
}

#[test]
fn h9_h43_isr_clears_only_set_bits() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x406);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.take(), [irq(10_000, 2, true)]);
    assert_eq!(b.r(ISR), 1);
    b.w(ISR, 0);
    b.w(ISR, 0xFFFF_FFFE);
    b.w(0x024, 1);
    b.w(0x024, 0xFFFF_FFFF);
    assert_eq!(b.r(ISR), 1);
    assert!(b.take().is_empty());
    b.w8(ISR, 0xFFFF_FFFF_0000_0001);
    assert_eq!(b.take(), [irq(10_000, 2, false)]);
    assert_eq!(b.r(ISR), 0);
}

#[test]
fn h11_reset_comparators_fire_at_enable_and_lower_line_0() {
    let mut b = Bench::new();
    b.input(0, true);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.take(), [irq(0, 0, true), irq(0, 0, false)]);
    assert_eq!(b.r(ISR), 0);
}

#[test]
fn h12_half_written_comparator_fires_spuriously() {
    let mut b = Bench::new();
    b.w(T0CMP, 0x3000);
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    assert_eq!(b.host.rec.armed_first, [0, 1, 2], "NS has bit 63 set");
    b.adv0();
    assert_eq!(b.take(), edge(0, 2));
    assert_eq!(b.r8(T0CMP), 0xFFFF_FFFF_0000_3000);
    b.w(0x10C, 0);
    assert_eq!(b.host.rec.armed.get(&0), Some(&122_880));
    b.at(122_879);
    assert!(b.take().is_empty());
    b.at(122_880);
    assert_eq!(b.take(), edge(122_880, 2));
}

#[test]
fn h13_32_bit_mode_truncates_and_ignores_the_high_half() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x100);
    assert_eq!(b.r8(T0CMP), 0x0000_0000_FFFF_FFFF);
    b.w(0x10C, 0x1234_5678);
    assert_eq!(b.r8(T0CMP), 0x0000_0000_FFFF_FFFF);
    b.w8(T0CMP, 0xAAAA_AAAA_BBBB_BBBB);
    assert_eq!(b.r8(T0CMP), 0x0000_0000_BBBB_BBBB);
    b.w(T0CFG, 0);
    assert_eq!(b.r8(T0CMP), 0x0000_0000_BBBB_BBBB);
    b.w(0x10C, 0x1234_5678);
    assert_eq!(b.r8(T0CMP), 0x1234_5678_BBBB_BBBB);
}

#[test]
fn h14_32_bit_one_shot_wrap_interrupt() {
    let mut b = Bench::new();
    b.w(CNT, 0xFFFF_FF00);
    b.w(T0CMP, 0x10);
    b.w(T0CFG, 0x504);
    b.w(CFG, 1);
    b.adv0();
    b.at(2559);
    assert!(b.take().is_empty());
    b.at(2560);
    assert_eq!(b.take(), edge(2560, 2));
    b.at(2719);
    assert!(b.take().is_empty());
    b.at(2720);
    assert_eq!(b.take(), edge(2720, 2));
    assert_eq!(b.r8(CNT), 0x0000_0001_0000_0010);
    b.at(2720 + 100_000_000_000);
    assert!(b.take().is_empty());
    assert_eq!(b.r(ISR), 0);
}

#[test]
fn h15_periodic_fires_twice_per_period() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x44C);
    assert_eq!(b.r(T0CFG), 0x47C);
    b.w8(T0CMP, 1000);
    assert_eq!(b.r(T0CFG), 0x43C);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.take(), edge(10_000, 2));
    assert_eq!(b.r8(T0CMP), 1000);
    b.at(11_000);
    assert_eq!(b.take(), edge(11_000, 2));
    assert_eq!(b.r8(T0CMP), 2000);
    b.at(20_000);
    b.at(21_000);
    assert_eq!(b.take(), [edge(20_000, 2), edge(21_000, 2)].concat());
    assert_eq!(b.r8(T0CMP), 3000);
}

#[test]
fn h16_h17_periodic_writes_without_setval_set_the_period_only() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x44C);
    b.w8(T0CMP, 1000);
    b.w8(T0CMP, 500);
    assert_eq!(b.r8(T0CMP), 1000);
    b.w(CFG, 1);
    b.adv0();
    b.at(11_000);
    assert_eq!(b.take(), [edge(10_000, 2), edge(11_000, 2)].concat());
    assert_eq!(b.r8(T0CMP), 1500);
    b.at(16_000);
    assert_eq!(b.take(), [edge(15_000, 2), edge(16_000, 2)].concat());
    assert_eq!(b.r8(T0CMP), 2000);

    let mut b = Bench::new();
    b.w(T0CFG, 0x48);
    b.w(T0CMP, 0x1000);
    assert_eq!(b.r(T0CFG), 0x38);
    b.w(0x10C, 0);
    assert_eq!(b.r8(T0CMP), 0xFFFF_FFFF_0000_1000);
    assert_eq!(b.dev.timers[0].period, 0x1000);
    assert!(b.take().is_empty());
}

#[test]
fn h18_short_period_is_paced_by_the_clamp() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x44C);
    b.w8(T0CMP, 30);
    b.w(CFG, 1);
    b.adv0();
    b.at(999);
    assert!(b.take().is_empty());
    for (t, cmp) in [(1000, 120), (2000, 210), (3000, 300)] {
        b.at(t);
        assert_eq!(b.take(), edge(t, 2));
        assert_eq!(b.r(T0CMP), cmp);
    }
}

#[test]
fn h19_catch_up_far_behind() {
    let mut b = Bench::new();
    b.w(CNT, 1_000_000);
    b.w(T0CFG, 0x44C);
    b.w8(T0CMP, 1000);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.take(), [edge(0, 2), edge(0, 2)].concat());
    assert_eq!(b.r8(T0CMP), 0xF4240);
    b.at(999);
    assert!(b.take().is_empty());
    b.at(1000);
    assert_eq!(b.take(), edge(1000, 2));
    assert_eq!(b.r8(T0CMP), 0xF4628);
    b.at(10_000);
    assert_eq!(b.take(), edge(10_000, 2));
    assert_eq!(b.r8(CNT), 0xF4628);
}

#[test]
fn h20_disable_cancels_and_freezes() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    b.adv0();
    b.at(5000);
    b.w(CFG, 0);
    assert_eq!(b.r8(CNT), 0x1F4);
    b.at(105_000);
    assert_eq!(b.r8(CNT), 0x1F4);
    b.w(CFG, 1);
    b.adv0();
    b.at(109_999);
    assert!(b.take().is_empty());
    b.at(110_000);
    assert_eq!(b.take(), edge(110_000, 2));
}

#[test]
fn h22_pending_level_delivered_when_enabled() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x402);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert!(b.take().is_empty());
    assert_eq!(b.r(ISR), 1);
    b.w(T0CFG, 0x406);
    assert_eq!(b.take(), [irq(10_000, 2, true)]);
    b.adv0();
    b.w(T0CFG, 0x402);
    assert!(b.take().is_empty());
    b.adv0();
    assert_eq!(b.take(), [irq(10_000, 2, false)]);
    assert_eq!(b.r(ISR), 1);
}

#[test]
fn h23_h24_clearing_lowers_the_current_route() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w8(T1CMP, 2000);
    b.w(T0CFG, 0x406);
    b.w(T1CFG, 0x406);
    b.w(CFG, 1);
    b.adv0();
    b.at(20_000);
    assert_eq!(b.take(), [irq(10_000, 2, true)]);
    assert_eq!(b.r(ISR), 3);
    b.w(ISR, 1);
    assert_eq!(b.take(), [irq(20_000, 2, false)]);
    assert_eq!(b.r(ISR), 2);
    b.w(ISR, 2);
    assert!(b.take().is_empty());
    assert_eq!(b.r(ISR), 0);

    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x406);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    b.w8(T0CMP, 0x1_0000_0000);
    b.w(T0CFG, 0x606);
    b.adv0();
    assert_eq!(b.take(), [irq(10_000, 2, true)]);
    assert_eq!(b.r(ISR), 1);
    b.w(ISR, 1);
    assert!(b.take().is_empty());
    assert!(b.host.rec.level(2), "line 2 stays up for good");
    assert_eq!(b.r(ISR), 0);
}

#[test]
fn h25_h26_level_to_edge_and_disable() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x406);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    b.w(T0CFG, 0x404);
    assert_eq!(b.take(), [irq(10_000, 2, true), irq(10_000, 2, false)]);
    assert_eq!(b.r(ISR), 0);
    b.adv0();
    assert_eq!(b.take(), edge(10_000, 2));

    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x406);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    b.w(CFG, 0);
    assert_eq!(b.r(ISR), 1);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.take(), [irq(10_000, 2, true), irq(10_000, 2, false), irq(10_000, 2, true)]);
    assert_eq!(b.r(ISR), 1);
}

// ---- Legacy, inputs, FSB ---------------------------------------------------

#[test]
fn h27_inputs_and_legacy() {
    let mut b = Bench::new();
    b.input(0, true);
    b.input(1, true);
    b.w(CFG, 2);
    b.input(0, false);
    b.input(0, true);
    b.input(1, false);
    b.input(1, true);
    b.w(CFG, 0);
    b.input(0, false);
    b.input(1, false);
    assert_eq!(
        b.take(),
        [
            irq(0, 0, true),
            irq(0, 8, true),
            irq(0, 32, true),
            irq(0, 0, false),
            irq(0, 8, false),
            irq(0, 32, false),
            irq(0, 8, true),
            irq(0, 8, false),
        ]
    );
}

#[test]
fn h28_h29_legacy_routes() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w8(T1CMP, 1000);
    b.w(T0CFG, 0xA06);
    b.w(T1CFG, 0xC06);
    b.w(CFG, 3);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.r(ISR), 3);
    b.w(CFG, 1);
    assert_eq!(b.r(ISR), 3);
    b.w(ISR, 3);
    assert_eq!(b.r(ISR), 0);
    assert_eq!(
        b.take(),
        [
            irq(0, 32, true),
            irq(10_000, 0, true),
            irq(10_000, 8, true),
            irq(10_000, 0, false),
            irq(10_000, 32, false),
            irq(10_000, 8, false),
        ]
    );

    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0xA06);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    b.w(CFG, 0);
    b.w(CFG, 3);
    b.adv0();
    assert_eq!(
        b.take(),
        [
            irq(10_000, 5, true),
            irq(10_000, 5, false),
            irq(10_000, 0, true),
            irq(10_000, 32, true),
            irq(10_000, 0, false),
            irq(10_000, 0, true),
        ]
    );
}

#[test]
fn h30_the_ghost_comparator() {
    let mut b = Bench::new();
    assert_eq!((b.r8(0x160), b.r8(0x168), b.r8(0x180)), (0, 0, 0));
    b.w(CFG, 1);
    b.adv0();
    b.w8(0x168, 1000);
    b.w(0x160, 0x806);
    b.at(10_000);
    assert_eq!(b.take(), [irq(10_000, 4, true)]);
    assert_eq!(b.r(ISR), 8);
    b.w(ISR, 8);
    assert_eq!(b.r(ISR), 8);
    b.w(CFG, 0);
    assert_eq!(b.r(ISR), 8);
    assert!(b.take().is_empty());
    b.w(0x160, 0x804);
    assert_eq!(b.take(), [irq(10_000, 4, false)]);
    assert_eq!(b.r(ISR), 0);
}

#[test]
fn h31_reset_keeps_isr_and_lines() {
    let mut b = Bench::new();
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x406);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.r(ISR), 1);
    b.dev.reset(&mut b.host);
    assert_eq!(b.take(), [irq(10_000, 2, true)]);
    assert_eq!(b.r(ISR), 1);
    assert_eq!(b.r(CFG), 0);
    assert_eq!(b.r8(T0CFG), 0x00FF_0104_0000_0030);
    assert_eq!(b.r8(T0CMP), u64::MAX);
    assert_eq!(b.r8(CNT), 0);
    b.w(ISR, 1);
    assert!(b.take().is_empty());
    assert!(b.host.rec.level(2));
    assert_eq!(b.r(ISR), 0);
    assert!(b.host.queue.is_empty());
}

#[test]
fn h32_h33_fsb_delivery() {
    let mut b = Bench::new();
    b.w8(T0FSB, 0xFEE0_0000_0000_0041);
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x4004);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.take(), [mem(10_000, 0xFEE0_0000, 0x41)]);
    assert_eq!(b.r(ISR), 0);
    assert_eq!(b.r8(T0CFG), 0x00FF_0104_0000_4034);

    let mut b = Bench::new();
    b.w8(T0FSB, 0xFEE0_0000_0000_0077);
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x4606);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.take(), [mem(10_000, 0xFEE0_0000, 0x77)]);
    assert_eq!(b.r(ISR), 1);
    b.w(ISR, 1);
    assert!(b.take().is_empty());
    assert_eq!(b.r(ISR), 0);
    assert_eq!(b.host.rec.mem_writes, [(0xFEE0_0000, 4, 0x77)]);
}

#[test]
fn h45_fsb_with_msi_and_five_comparators() {
    let mut b = Bench::with(&[("timers", 5), ("msi", 1)]);
    assert_eq!(b.r8(0x000), 0x0098_9680_8086_A401);
    assert_eq!(b.r8(0x160), 0x00FF_0104_0000_8030);
    assert_eq!(b.r8(0x1A0), 0);
    b.at(1000);
    b.w(CFG, 1);
    b.adv0();
    b.w(0x170, 0x41);
    b.w(0x174, 0xFEE0_0000);
    b.input(0, true);
    b.w(0x160, 0x4004);
    assert_eq!(b.r8(0x160), 0x00FF_0104_0000_C034);
    b.adv0();
    b.w(0x160, 0x4000);
    b.adv0();
    assert_eq!(b.r(ISR), 0);
    assert_eq!(b.take(), [irq(1000, 0, true), mem(1000, 0xFEE0_0000, 0x41)]);
    b.w(0x160, 0);
    b.adv0();
    assert_eq!(b.take(), [irq(1000, 0, false)]);
    assert_eq!(b.r(0x160), 0x8030);
}

// ---- Clamp, ordering, 32-bit periodic ---------------------------------------

#[test]
fn h34_rewrites_alternate_with_the_clamp() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x44C);
    b.w8(T0CMP, 1000);
    b.w(CFG, 1);
    b.adv0();
    b.at(5000);
    b.w(T0CFG, 0x40C);
    b.at(10_999);
    assert!(b.take().is_empty());
    b.at(11_000);
    assert_eq!(b.take(), edge(11_000, 2));

    let mut b = Bench::new();
    b.w(T0CFG, 0x44C);
    b.w8(T0CMP, 1000);
    b.w(CFG, 1);
    b.adv0();
    b.at(5000);
    b.w(T0CFG, 0x40C);
    b.w(T0CFG, 0x40C);
    b.at(11_000);
    assert_eq!(b.take(), [edge(10_000, 2), edge(11_000, 2)].concat());
}

#[test]
fn h35_migration_resets_the_clamp_and_keeps_deadlines() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x44C);
    b.w8(T0CMP, 1000);
    b.w(CFG, 1);
    b.adv0();
    b.at(5000);
    b.migrate();
    b.w(T0CFG, 0x40C);
    b.at(11_000);
    assert_eq!(b.take(), [edge(10_000, 2), edge(11_000, 2)].concat());

    let mut b = Bench::new();
    b.at(5);
    b.w8(T0CMP, 1000);
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    b.adv0();
    b.at(7005);
    assert_eq!(b.r8(CNT), 0x2BC);
    b.migrate();
    assert_eq!(b.r8(CNT), 0x2BC);
    b.at(10_004);
    assert!(b.take().is_empty());
    b.at(10_005);
    assert_eq!(b.take(), edge(10_005, 2));
    assert_eq!(b.r8(CNT), 0x3E8);
}

#[test]
fn h38_clearing_enb_leaves_the_line_up() {
    let mut b = Bench::new();
    b.w8(T0CMP, 0x1_0000_0000);
    b.w(T0CFG, 0x506);
    b.w(T0CMP, 1000);
    b.w(CFG, 1);
    b.adv0();
    b.at(10_000);
    assert_eq!(b.take(), [irq(10_000, 2, true)]);
    b.at(10_010);
    b.w(T0CFG, 0x502);
    b.adv0();
    assert!(b.take().is_empty());
    assert_eq!(b.r(ISR), 1);
    b.w(ISR, 1);
    assert_eq!(b.take(), [irq(10_010, 2, false)]);
    assert_eq!(b.r(ISR), 0);
}

#[test]
fn h39_h40_setval_reads_back_and_one_arm_per_8_byte_write() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x40);
    assert_eq!(b.r(T0CFG), 0x70);
    b.w(T0CMP, 5);
    assert_eq!(b.r(T0CFG), 0x30);
    assert_eq!(b.r8(T0CMP), 0xFFFF_FFFF_0000_0005);

    let mut b = Bench::new();
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.take(), edge(0, 2));
    b.w8(T0CMP, 0x3000);
    b.adv0();
    assert!(b.take().is_empty());
    b.at(122_880);
    assert_eq!(b.take(), edge(122_880, 2));
    assert_eq!(b.r8(CNT), 0x3000);
}

#[test]
fn h44_negative_expiries_go_to_the_head() {
    let mut b = Bench::new();
    b.w8(T0CMP, 0xFFFF_FFFF_0000_0000);
    b.w8(T1CMP, 0xFFFF_FFFF_0000_0000);
    b.w(T0CFG, 0x404);
    b.w(T1CFG, 0x604);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.take(), [edge(0, 3), edge(0, 2)].concat());

    let mut b = Bench::new();
    b.at(100);
    b.w(CNT, 5);
    b.w8(T0CMP, 1);
    b.w8(T1CMP, 1);
    b.w(T0CFG, 0x404);
    b.w(T1CFG, 0x604);
    b.w(CFG, 1);
    assert_eq!(b.host.queue, [(2, 40), (0, 60), (1, 60)]);
    b.adv0();
    assert_eq!(b.take(), [edge(100, 2), edge(100, 3)].concat());
}

#[test]
fn h46_32_bit_periodic_across_the_boundary() {
    let mut b = Bench::new();
    b.w(CNT, 0xFFFF_FE00);
    b.w(T0CFG, 0x54C);
    assert_eq!(b.r(T0CFG), 0x57C);
    b.w(T0CMP, 0xFFFF_FF00);
    b.w(T0CMP, 0x100);
    assert_eq!(b.r(T0CFG), 0x53C);
    assert_eq!(b.r8(T0CMP), 0xFFFF_FF00);
    b.w(CFG, 1);
    b.adv0();
    b.at(2559);
    assert!(b.take().is_empty());
    b.at(2560);
    assert_eq!(b.take(), edge(2560, 2));
    assert_eq!(b.r8(T0CMP), 0xFFFF_FF00);
    b.at(3560);
    assert_eq!(b.take(), edge(3560, 2));
    assert_eq!(b.r8(T0CMP), 0);
    b.at(6120);
    assert_eq!(b.take(), [edge(5120, 2), edge(6120, 2)].concat());
    assert_eq!(b.r8(T0CMP), 0x100);
    b.at(6500);
    b.w(T0CFG, 0x508);
    b.at(8679);
    assert_eq!(b.r8(T0CMP), 0x100);
    b.at(8680);
    assert_eq!(b.r8(T0CMP), 0x200);
    assert_eq!(b.r8(CNT), 0x0000_0001_0000_0164);
    assert!(b.take().is_empty());
}

#[test]
fn h47_equal_deadlines_fire_in_latest_arm_order() {
    let setup = |rewrite: bool| {
        let mut b = Bench::new();
        b.w(CFG, 1);
        b.adv0();
        b.w8(T1CMP, 1000);
        b.w(T1CFG, 0x604);
        b.w8(T0CMP, 1000);
        b.w(T0CFG, 0x404);
        b.at(5000);
        if rewrite {
            b.w(T1CFG, 0x604);
        }
        b.at(9999);
        assert!(b.take().is_empty());
        b.at(10_000);
        b.take()
    };
    assert_eq!(setup(true), [edge(10_000, 2), edge(10_000, 3)].concat());
    assert_eq!(setup(false), [edge(10_000, 3), edge(10_000, 2)].concat());
}

#[test]
fn h48_32_bit_one_shot_rewrites() {
    let mut b = Bench::new();
    b.w(CNT, 0xFFFF_F000);
    b.w(T0CFG, 0x504);
    b.w(CFG, 1);
    b.adv0();
    b.w(T0CMP, 0x100);
    b.at(20_000);
    b.w(T0CMP, 0x200);
    b.at(40_959);
    assert!(b.take().is_empty());
    b.at(40_960);
    assert_eq!(b.take(), edge(40_960, 2));
    b.at(41_000);
    b.w(T0CMP, 0x180);
    assert_eq!(b.r8(T0CMP), 0x180);
    b.at(44_799);
    assert!(b.take().is_empty());
    b.at(44_800);
    b.at(46_080);
    assert_eq!(b.take(), edge(44_800, 2));
    assert_eq!(b.r8(CNT), 0x0000_0001_0000_0200);
}

#[test]
fn h49_legacy_kept_across_disable_and_legacy_route_in_32_bit_mode() {
    let mut b = Bench::new();
    b.at(1000);
    b.w(CFG, 1);
    b.adv0();
    b.w(CFG, 3);
    b.w(CFG, 2);
    b.w(CFG, 3);
    b.adv0();
    assert_eq!(b.take(), [irq(1000, 32, true)]);
    b.at(2000);
    b.w(0x128, 1000);
    assert_eq!(b.r8(T1CMP), 0xFFFF_FFFF_0000_03E8);
    b.adv0();
    b.w(T1CFG, 0x104);
    assert_eq!(b.r8(T1CMP), 0x3E8);
    b.at(10_999);
    assert!(b.take().is_empty());
    b.at(11_000);
    b.w(CFG, 0);
    assert_eq!(b.take(), [edge(11_000, 8).to_vec(), vec![irq(11_000, 32, false)]].concat());
}

#[test]
fn h50_comparator_at_or_behind_the_counter_is_due() {
    let mut b = Bench::new();
    b.w(T0CFG, 0x404);
    b.w(CFG, 1);
    b.adv0();
    assert_eq!(b.take(), edge(0, 2));
    b.at(5000);
    for value in [499, 500] {
        b.w8(T0CMP, value);
        b.adv0();
        assert_eq!(b.take(), edge(5000, 2), "comparator {value}");
    }
    b.w8(T0CMP, 501);
    b.adv0();
    b.at(5009);
    assert!(b.take().is_empty());
    b.at(5010);
    assert_eq!(b.take(), edge(5010, 2));
}

// ---- Migration ---------------------------------------------------------------

#[test]
fn migration_vector_of_a_fresh_instance() {
    let expected = unhex(VECTOR_FRESH);
    assert_eq!(expected.len(), 200);
    let b = Bench::new();
    assert_eq!(b.save(), expected);
    let mut out = Vec::new();
    b.dev.save(&mut Recorder::default(), &mut SaveBuffer::new(&mut out));
    assert_eq!(out, expected, "Device::save, at any time");
}

#[test]
fn migration_vector_h42() {
    let expected = unhex(VECTOR_H42);
    let mut b = h42();
    assert_eq!(b.save(), expected);
    // Device::save reads the clock from its host.
    let mut out = Vec::new();
    b.dev.save(&mut b.host.rec, &mut SaveBuffer::new(&mut out));
    assert_eq!(out, expected);

    // Loading it into a fresh instance at 5000 arms comparator 0 for 10000
    // and cancels the others, with no line change.
    let mut c = Bench::new();
    c.at(5000);
    c.dev.load(&mut c.host, &expected).expect("loads");
    assert_eq!(c.host.queue, [(0, 10_000)]);
    assert!(c.take().is_empty());
    assert_eq!(c.save(), expected);
    assert_eq!(c.r8(CNT), 500);
    c.at(10_000);
    assert_eq!(c.take(), edge(10_000, 2));
}

#[test]
fn h41_every_load_error_leaves_the_device_unchanged() {
    let mut b = h42();
    // Something for a failed load to disturb: a line raised by the ghost,
    // its ISR bit, and comparator 0 still pending.
    b.w8(0x168, 600);
    b.w(0x160, 0x806);
    b.at(6000);
    assert!(b.host.rec.level(4));
    assert_eq!(b.host.queue, [(0, 10_000)]);
    let good = b.save();

    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut blob = good.clone();
        f(&mut blob);
        reseal(&mut blob);
        blob
    };
    let put64 = |blob: &mut Vec<u8>, at: usize, v: u64| blob[12 + at..12 + at + 8].copy_from_slice(&v.to_le_bytes());
    let put32 = |blob: &mut Vec<u8>, at: usize, v: u32| blob[12 + at..12 + at + 4].copy_from_slice(&v.to_le_bytes());
    let four = {
        let mut out = Vec::new();
        Bench::with(&[("timers", 4)]).dev.save_at(0, &mut SaveBuffer::new(&mut out));
        out
    };
    let mut flipped = good.clone();
    flipped[12 + 17] ^= 1;

    let cases: Vec<(&str, Vec<u8>, LoadError)> = vec![
        ("first 20 bytes", good[..20].to_vec(), LoadError::Truncated),
        ("magic DEVZ", edit(&|b| b[3] = b'Z'), LoadError::BadMagic),
        ("device 0x0031", edit(&|b| b[4..6].copy_from_slice(&0x31u16.to_le_bytes())), LoadError::WrongDevice),
        ("version 2", edit(&|b| b[6] = 2), LoadError::FutureVersion),
        ("version 0", edit(&|b| b[6] = 0), LoadError::BadVersion),
        ("N = 232", edit(&|b| b[8..12].copy_from_slice(&232u32.to_le_bytes())), LoadError::BadLength),
        ("a 4-comparator blob", four, LoadError::BadLength),
        ("flipped payload byte", flipped, LoadError::BadCrc),
        ("GEN_CONF 4", edit(&|b| put64(b, 0, 4)), LoadError::OutOfRange),
        ("n field 4", edit(&|b| put32(b, 32, 4)), LoadError::OutOfRange),
        ("rtc_irq_level 2", edit(&|b| put32(b, 36, 2)), LoadError::OutOfRange),
        ("config bit 0", edit(&|b| put64(b, 40, 0x00FF_0104_0000_0435)), LoadError::OutOfRange),
        ("intcap 0x4", edit(&|b| put64(b, 40, 0x0000_0004_0000_0434)), LoadError::OutOfRange),
        (
            "MODE32 with a 33-bit cmp",
            edit(&|b| {
                put64(b, 40, 0x00FF_0104_0000_0534);
                put64(b, 48, 0x1_0000_0000);
            }),
            LoadError::OutOfRange,
        ),
        ("armed with GEN_CONF 0", edit(&|b| put64(b, 0, 0)), LoadError::OutOfRange),
        (
            "disarmed with deadline 5",
            edit(&|b| {
                put32(b, 40 + 40, 0);
                put64(b, 40 + 32, 5);
            }),
            LoadError::OutOfRange,
        ),
        ("wrap_flag 2", edit(&|b| put32(b, 40 + 44, 2)), LoadError::OutOfRange),
        (
            "trailing byte",
            {
                let mut blob = good.clone();
                blob.push(0);
                reseal(&mut blob);
                blob
            },
            LoadError::BadLength,
        ),
    ];
    assert_eq!(cases.iter().filter(|c| c.2 == LoadError::OutOfRange).count(), 9);
    let before_dev = b.dev.clone();
    let before_host = b.host.clone();
    for (name, blob, error) in cases {
        assert_eq!(b.dev.load(&mut b.host, &blob), Err(error), "{name}");
        assert_eq!(b.dev, before_dev, "{name}: device changed");
        assert_eq!(b.host, before_host, "{name}: timers or lines changed");
    }
    // And the good blob still loads.
    b.dev.load(&mut b.host, &good).expect("loads");
}

#[test]
fn load_keeps_the_ghost_and_recomputes_without_the_offset() {
    // With hpet-offset-saved 0 the offset is recomputed from the counter:
    // the phase is lost, the value kept.
    let mut b = Bench::new();
    b.at(5);
    b.w(CFG, 1);
    b.adv0();
    b.at(7008);
    let blob = b.save();
    let mut c = Bench::with(&[("hpet-offset-saved", 0)]);
    c.at(7008);
    c.w8(0x168, 5000);
    c.w(0x160, 0x4);
    c.dev.load(&mut c.host, &blob).expect("loads");
    assert_eq!(c.r8(CNT), 700);
    c.at(7010);
    assert_eq!(c.r8(CNT), 700, "a fresh phase: the step comes at 7018");
    c.at(7018);
    assert_eq!(c.r8(CNT), 701);
    assert_eq!(c.r8(0x168), 5000, "the ghost is not part of the payload");
}

#[test]
fn h36_thirty_two_comparators_and_mask_31() {
    let mut b = Bench::with(&[("timers", 32)]);
    assert_eq!(b.r(0x000), 0x8086_BF01);
    assert_eq!(b.r8(0x3E0), 0x00FF_0104_0000_0030);
    assert_eq!(b.r8(0x3E8), u64::MAX);
    let mut blob = b.save();
    blob[12 + 8..12 + 16].copy_from_slice(&0x0000_0001_0000_0000u64.to_le_bytes());
    reseal(&mut blob);
    b.dev.load(&mut b.host, &blob).expect("loads");
    assert_eq!(b.r8(ISR), 0x0000_0001_0000_0000);
    b.w8(ISR, 0x0000_0001_0000_0000);
    assert_eq!(b.r8(ISR), 0);
    assert!(b.take().is_empty());
}

// ---- Robustness ---------------------------------------------------------------

/// Random register traffic, inputs, resets, expiries and migrations with
/// overflow checks on: nothing panics, and every reachable state saves a
/// blob that loads back to the same blob.
#[test]
fn random_traffic_never_panics_and_always_reloads() {
    let mut seed = 0x1234_5678_9ABC_DEF0u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        let timers = [3, 4, 23, 24, 32][round % 5];
        let mut b = Bench::with(&[("timers", timers), ("msi", (round % 2) as u64)]);
        for _ in 0..400 {
            let r = next();
            let value = match r % 7 {
                0 => next() & 0x7F4F,
                1 => next() % 4,
                2 => next() % 100_000,
                3 => u64::MAX - next() % 100,
                _ => next(),
            };
            let offset = (next() % 0x400) & !3;
            match (r >> 8) % 16 {
                0..=5 => b.w(offset, value & LOW32),
                6 => b.w8(offset & !7, value),
                7 | 8 => {
                    b.r(offset);
                    b.r8(offset & !7);
                }
                9 => b.input((next() % 2) as u32, next() % 2 == 0),
                10 => b.dev.reset(&mut b.host),
                11 => b.migrate(),
                12 => b.adv0(),
                _ => {
                    let t = b.host.rec.clock_ns + next() % 50_000;
                    b.at(t);
                }
            }
            let blob = b.save();
            let mut copy = Hpet::new(&mut Sim::default(), &properties(&b.props));
            let mut host =
                Sim { rec: Recorder { clock_ns: b.host.rec.clock_ns, ..Recorder::default() }, ..Sim::default() };
            copy.load(&mut host, &blob).expect("every reachable state reloads");
            let mut again = Vec::new();
            copy.save_at(b.host.rec.clock_ns, &mut SaveBuffer::new(&mut again));
            assert_eq!(again, blob);
        }
    }
}
