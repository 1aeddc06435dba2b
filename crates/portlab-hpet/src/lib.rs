//! The IA-PC High Precision Event Timer (HPET), as QEMU 10.0 models it,
//! rewritten in safe Rust.
//!
//! # Where this device sits in the port
//!
//! The PL011 showed the basic move (a C device model becomes a plain state
//! machine behind [`portlab_device::Device`]), and the PL031 added the
//! virtual clock and one timer. The HPET is the third device, and the first
//! that needs interface version 2: creation properties, two input lines
//! (the PIT and RTC interrupts it can take over), device-initiated memory
//! writes (FSB, i.e. MSI, delivery), a timer that must go to the head of
//! the host's queue, and a migration payload whose length depends on a
//! property. `portlab-device` exports it through the C ops table as
//! `x-hpet-rust`, next to the C model `hpet`; the board runs traces on both
//! and compares every event.
//!
//! Behaviour is `docs/spec/hpet.md` (QEMU's model, not the Intel
//! specification where the two differ); comments cite its sections.
//! Offsets, masks and payload offsets come from `c-src/include/hpet.h`
//! through the bindings ([`registers`]).
//!
//! # Why it is harder than the PL011
//!
//! **Wide registers in 32-bit halves.** Every register is 64 bits wide,
//! and a guest may access it whole (8 bytes) or as two 4-byte halves. QEMU
//! turns every access into a `(shift, len)` pair and merges writes with
//! `deposit`; here [`registers::Half`] is decoded once per access and
//! carries `deposit` and `extract`. A half write is a real intermediate
//! state: writing the low half of a 64-bit comparator can make it due at
//! once, before the high half arrives (spec case H12).
//!
//! **Virtual time.** The PL011 has no clock; the PL031 counts seconds. The
//! HPET's main counter is not stored while it runs: it is computed from the
//! clock, `TICKS() = (now + offset) / 10`, and a comparator's deadline is
//! the instant that formula reaches its value, `NS(c) = c * 10 - offset`.
//! Both wrap modulo 2^64 in ordinary use (the offset is "negative" most of
//! the time, and the reset comparator value 0xFFFFFFFFFFFFFFFF times 10
//! overflows), so every operation here is a `wrapping_*` one: QEMU's own
//! Rust port used plain operators and panics on these paths with overflow
//! checks on.
//!
//! **The closed-form catch-up.** When a periodic comparator expires late,
//! QEMU adds the period in a loop until the match is no longer behind the
//! counter. That loop can run for 10^8 turns (a 1-tick period after a long
//! pause) or 2^63 (a period of 2^64 - 1, which hangs QEMU). The port
//! computes the loop's result directly in [`catch_up`]; its documentation
//! proves that the closed form gives exactly the loop's value (the signed
//! distance moves monotonically, so the first step count that passes the
//! exit test is a division), and a unit test checks it against the loop on
//! random triples, periods of 2^63 and more included.
//!
//! **Quirks kept on purpose.** A rewrite must reproduce what QEMU does,
//! bugs included, because recorded traces show them. Among those kept (all
//! marked *QEMU quirk* in the spec): the ghost comparator just past the
//! last one, reachable because QEMU's range check is off by one (section
//! 8.7); comparator 31's interrupt-status mask sign-extended to bits 31-63
//! ([`registers::isr_mask`]); interrupt-status bits that survive reset;
//! comparators at their reset value expiring at once when the HPET is
//! enabled; periodic comparators firing twice per period under a
//! deterministic clock because of the 1 us clamp; Tn_VAL_SET_CNF reading
//! back as 1. None of them is "fixed" here.
//!
//! **Properties and variable-length state.** `timers` (clamped to 3..=32,
//! as QEMU 10.0 does), `msi`, `hpet-intcap` and `hpet-offset-saved` are
//! declared in [`Device::INFO`] and read once in [`Device::new`]. The
//! migration payload is a fixed part and one record per comparator, so its
//! length is `40 + 48 * n`; the container check takes the expected length
//! as a closure, which captures the instance's `n`, and the schema
//! describes the records as data so that tools can name `timer[1].cmp`.
//!
//! **The Host as a parameter, not a field.** QEMU's Rust HPET is reached
//! from C callbacks that only hand it a shared reference, so it keeps its
//! mutable state in `BqlRefCell`s and borrows them at run time. Any
//! outgoing call made while a `borrow_mut` is alive (raising an IRQ,
//! flipping the PIT-enable output, modifying a timer) can come straight
//! back into the device, through a GPIO wired back to the HPET or a timer
//! callback, and the second borrow panics: the re-entrancy is caught at run
//! time, as a crash. Here every entry point takes `&mut self` and the
//! [`Host`] as a separate argument. The host holds no handle on the device,
//! so it cannot call back into it during a call: the borrow checker rules
//! the re-entrant path out at compile time, and a host that wants to feed an
//! output back into an input has to queue it until the call returns, a
//! decision made visibly in the host rather than by a runtime flag.
//!
//! # What the port changed in the interface
//!
//! An enabled HPET saves its running counter, TICKS() at the instant of the
//! save, so saving needs the clock: [`Device::save`] takes the [`Host`]
//! (read-only use: the clock). The first draft of this port had no host
//! there and saved with the last clock reading it had seen, which the
//! generic random guest of `portlab fuzz --device hpet` caught at once
//! (`counter differs: c=0x1 rust=0x0` after `write hpet 0x010 0x1`,
//! `advance 10`): a C model reads the clock whenever it likes, a Rust
//! device only through what the trait hands it.

#![forbid(unsafe_code)]

pub mod bench;
pub mod registers;
mod state;
mod timer;

use portlab_device::migration::SaveBuffer;
use portlab_device::schema::property;
use portlab_device::{Device, DeviceInfo, Host, LoadError, Properties, sys};

use registers::{GeneralConfig, GlobalRegister, Half, LOW32, Register, TimerConfig, TimerRegister, isr_mask, merge};
pub use timer::catch_up;
use timer::{Comparator, SIGN_BIT, next_wrap};

/// Comparators QEMU allocates, whatever `timers` says.
const MAX_TIMERS: usize = sys::HPET_MAX_TIMERS as usize;
/// Nanoseconds per counter tick (100 MHz).
const CLK_PERIOD_NS: u64 = sys::HPET_CLK_PERIOD_NS as u64;
/// The 1 us minimum between two arms of a periodic comparator.
const MIN_PERIOD_NS: u64 = sys::HPET_MIN_PERIOD_NS as u64;
/// An FSB interrupt message is one 4-byte write.
const FSB_MESSAGE_BYTES: u32 = 4;

/// Section 1.2: the creation properties, in the order of the C model's
/// table (indexes `HPET_PROP_*`).
const PROPERTIES: [sys::PortlabPropertyInfo; sys::HPET_NUM_PROPERTIES as usize] = [
    property(
        c"timers",
        c"number of comparators; QEMU 10.0 clamps it to 3..=32",
        sys::HPET_TIMERS_DEFAULT as u64,
        0,
        sys::HPET_TIMERS_ACCEPTED_MAX as u64,
    ),
    property(c"msi", c"advertise FSB (MSI) delivery in Tn_FSB_INT_DEL_CAP", 0, 0, 1),
    property(
        c"hpet-intcap",
        c"Tn_INT_ROUTE_CAP of every comparator (routes are not checked against it)",
        sys::HPET_INTCAP_DEFAULT as u64,
        0,
        u32::MAX as u64,
    ),
    property(c"hpet-offset-saved", c"migrate the counter offset exactly (0: recompute it at load)", 1, 0, 1),
];

/// The HPET's state (spec section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hpet {
    /// `n`, the number of comparators (3 to 32).
    num_timers: usize,
    /// Tn_CONF at reset (`TN_RESET`), from `msi` and `hpet-intcap`.
    timer_reset: TimerConfig,
    /// The `hpet-offset-saved` property.
    offset_saved: bool,
    /// GCAP_ID, a constant of the instance.
    capability: u64,
    /// GEN_CONF.
    config: GeneralConfig,
    /// GINTR_STA.
    isr: u64,
    /// The main counter while ENABLE is 0.
    counter: u64,
    /// While ENABLE is 1 the counter is `(now + offset) / 10`.
    offset: u64,
    /// The last level of input 1 (the RTC).
    rtc_irq_level: bool,
    /// All 32 comparators, as QEMU allocates them; `n` is the ghost.
    timers: [Comparator; MAX_TIMERS],
}

impl Hpet {
    /// The number of comparators, `n`.
    pub fn num_timers(&self) -> usize {
        self.num_timers
    }

    /// The virtual clock.
    fn now(&mut self, host: &mut impl Host) -> u64 {
        host.clock_ns()
    }

    fn enabled(&self) -> bool {
        self.config.contains(GeneralConfig::ENABLE)
    }

    fn legacy(&self) -> bool {
        self.config.contains(GeneralConfig::LEGACY)
    }

    /// TICKS() at `now` (section 7).
    fn ticks(&self, now: u64) -> u64 {
        now.wrapping_add(self.offset) / CLK_PERIOD_NS
    }

    /// NS(tick): the instant TICKS() reaches `tick` (section 7).
    fn ns(&self, tick: u64) -> u64 {
        tick.wrapping_mul(CLK_PERIOD_NS).wrapping_sub(self.offset)
    }

    /// TICKS() now.
    fn current_ticks(&mut self, host: &mut impl Host) -> u64 {
        let now = self.now(host);
        self.ticks(now)
    }

    /// ROUTE (section 9.1): the legacy lines for comparators 0 and 1 in
    /// legacy mode, else Tn_INT_ROUTE_CNF.
    fn route(&self, i: usize) -> u32 {
        match i {
            0 if self.legacy() => sys::HPET_IRQ_LEGACY_PIT,
            1 if self.legacy() => sys::HPET_IRQ_LEGACY_RTC,
            _ => self.timers[i].config.route(),
        }
    }

    /// UPDATE-IRQ (section 9.1). Inlined, so that each caller's constant
    /// `set` folds away half of it (an expiry raises: `hpet-periodic`).
    #[inline]
    fn update_irq(&mut self, host: &mut impl Host, i: usize, set: bool) {
        let mask = isr_mask(i);
        // The configuration alone, not a copy of the whole comparator: this
        // runs on every expiry.
        let config = self.timers[i].config;
        if set && config.contains(TimerConfig::LEVEL) {
            self.isr |= mask;
        } else {
            self.isr &= !mask;
        }
        if set && config.contains(TimerConfig::INT_ENABLE) && self.enabled() {
            if config.contains(TimerConfig::FSB_ENABLE) {
                let fsb = self.timers[i].fsb;
                host.mem_write(fsb >> registers::HALF_BITS, FSB_MESSAGE_BYTES, fsb & LOW32);
            } else if config.contains(TimerConfig::LEVEL) {
                host.set_irq(self.route(i), true);
            } else {
                let line = self.route(i);
                host.set_irq(line, true);
                host.set_irq(line, false);
            }
        } else if !config.contains(TimerConfig::FSB_ENABLE) {
            host.set_irq(self.route(i), false);
        }
    }

    /// ARM (section 8.2): the host timer for counter value `tick`, with the
    /// 1 us periodic clamp; a negative expiry goes to the queue head.
    fn arm(&mut self, host: &mut impl Host, i: usize, tick: u64) {
        let mut ns = self.ns(tick);
        let t = &mut self.timers[i];
        if t.has(TimerConfig::PERIODIC) && ns.wrapping_sub(t.last) < MIN_PERIOD_NS {
            ns = t.last.wrapping_add(MIN_PERIOD_NS);
        }
        t.last = ns;
        if ns < SIGN_BIT {
            host.timer_arm(i as u32, ns);
            t.pending = Some(ns);
        } else {
            host.timer_arm_first(i as u32);
            t.pending = Some(0);
        }
    }

    /// SET-TIMER (section 8.2), only while ENABLE is 1.
    fn set_timer(&mut self, host: &mut impl Host, i: usize) {
        let cur = self.current_ticks(host);
        let t = &mut self.timers[i];
        t.wrap_flag = false;
        t.cmp64 = t.match_value(cur, t.cmp);
        let wrap = next_wrap(cur);
        if t.has(TimerConfig::MODE32) && !t.has(TimerConfig::PERIODIC) && t.cmp64 > wrap {
            t.wrap_flag = true;
            self.arm(host, i, wrap);
        } else {
            let target = t.cmp64;
            self.arm(host, i, target);
        }
    }

    /// DEL-TIMER (section 8.2).
    fn del_timer(&mut self, host: &mut impl Host, i: usize) {
        host.timer_cancel(i as u32);
        self.timers[i].pending = None;
        if self.isr & isr_mask(i) != 0 {
            self.update_irq(host, i, true);
        }
    }

    /// EXPIRE (section 8.2): periodic reload with the closed-form catch-up,
    /// or the match after a 32-bit wrap; then the interrupt. Inlined into
    /// the timer callback, which does nothing else.
    #[inline]
    fn expire(&mut self, host: &mut impl Host, i: usize) {
        let cur = self.current_ticks(host);
        let t = &mut self.timers[i];
        if t.has(TimerConfig::PERIODIC) && t.period != 0 {
            t.cmp64 = catch_up(t.cmp64, cur, t.period);
            t.cmp = if t.has(TimerConfig::MODE32) { t.cmp64 & LOW32 } else { t.cmp64 };
            let target = t.cmp64;
            self.arm(host, i, target);
        } else if t.wrap_flag {
            t.wrap_flag = false;
            let target = t.cmp64;
            self.arm(host, i, target);
        }
        self.update_irq(host, i, true);
    }

    /// GEN_CONF write (section 9.2).
    fn write_general_config(&mut self, host: &mut impl Host, half: Half, value: u64) {
        let old = self.config;
        let new = merge(old.bits(), half.deposit(old.bits(), value), GeneralConfig::WRITABLE.bits());
        self.config = GeneralConfig::from_bits_retain(new);
        let now_enabled = self.enabled();
        if !old.contains(GeneralConfig::ENABLE) && now_enabled {
            let now = self.now(host);
            self.offset = self.counter.wrapping_mul(CLK_PERIOD_NS).wrapping_sub(now);
            for i in 0..self.num_timers {
                if self.timers[i].has(TimerConfig::INT_ENABLE) && self.isr & isr_mask(i) != 0 {
                    self.update_irq(host, i, true);
                }
                self.set_timer(host, i);
            }
        } else if old.contains(GeneralConfig::ENABLE) && !now_enabled {
            self.counter = self.current_ticks(host);
            for i in 0..self.num_timers {
                self.del_timer(host, i);
            }
        }
        let now_legacy = self.legacy();
        if !old.contains(GeneralConfig::LEGACY) && now_legacy {
            host.set_irq(sys::HPET_IRQ_PIT_DISABLE, true);
            host.set_irq(sys::HPET_IRQ_LEGACY_PIT, false);
            host.set_irq(sys::HPET_IRQ_LEGACY_RTC, false);
        } else if old.contains(GeneralConfig::LEGACY) && !now_legacy {
            host.set_irq(sys::HPET_IRQ_LEGACY_PIT, false);
            host.set_irq(sys::HPET_IRQ_PIT_DISABLE, false);
            host.set_irq(sys::HPET_IRQ_LEGACY_RTC, self.rtc_irq_level);
        }
    }

    /// GINTR_STA write (section 9.3): write 1 to clear, comparators 0 to
    /// n-1 only.
    fn write_interrupt_status(&mut self, host: &mut impl Host, half: Half, value: u64) {
        let cleared = half.deposit(0, value) & self.isr;
        for i in 0..self.num_timers {
            if cleared & isr_mask(i) != 0 {
                self.update_irq(host, i, false);
            }
        }
    }

    /// Tn_CONF write (section 8.5).
    fn write_timer_config(&mut self, host: &mut impl Host, i: usize, half: Half, value: u64) {
        let old = self.timers[i].config;
        let new = merge(old.bits(), half.deposit(old.bits(), value), TimerConfig::WRITABLE.bits());
        let new = TimerConfig::from_bits_retain(new);
        if old.contains(TimerConfig::LEVEL) && !new.contains(TimerConfig::LEVEL) {
            // With the old configuration still in place.
            self.update_irq(host, i, false);
        }
        self.timers[i].config = new;
        if !old.contains(TimerConfig::INT_ENABLE)
            && new.contains(TimerConfig::INT_ENABLE)
            && self.isr & isr_mask(i) != 0
        {
            self.update_irq(host, i, true);
        }
        if new.contains(TimerConfig::MODE32) {
            let t = &mut self.timers[i];
            t.cmp &= LOW32;
            t.period &= LOW32;
        }
        if self.enabled() {
            self.set_timer(host, i);
        }
    }

    /// Tn_COMPARATOR write (section 8.5). Inlined into `write`: a
    /// periodic driver writes it on every tick, and out of line it cost a
    /// prologue and a call in the plain release build.
    #[inline(always)]
    fn write_comparator(&mut self, host: &mut impl Host, i: usize, half: Half, value: u64) {
        let t = &mut self.timers[i];
        let (half, value) = if t.has(TimerConfig::MODE32) {
            if half.is_high() {
                return;
            }
            (Half::WHOLE, value & LOW32)
        } else {
            (half, value)
        };
        if !t.has(TimerConfig::PERIODIC) || t.has(TimerConfig::SETVAL) {
            t.cmp = half.deposit(t.cmp, value);
        }
        if t.has(TimerConfig::PERIODIC) {
            t.period = half.deposit(t.period, value);
        }
        t.config.remove(TimerConfig::SETVAL);
        if self.enabled() {
            self.set_timer(host, i);
        }
    }
}

impl Device for Hpet {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-hpet-rust",
        region_size: sys::HPET_REGION_SIZE as u64,
        num_irqs: sys::HPET_NUM_IRQS,
        num_timers: sys::HPET_NUM_TIMERS,
        access_sizes: sys::PORTLAB_ACCESS_4 | sys::PORTLAB_ACCESS_8,
        state_device_id: state::STATE_DEVICE_ID,
        num_inputs: sys::HPET_NUM_INPUTS,
        properties: &PROPERTIES,
        state_schema: &state::STATE_SCHEMA,
    };

    /// Section 11: the state after QEMU's realize and first reset, without
    /// the reset's host calls. Calls no host method.
    fn new(_host: &mut impl Host, properties: &Properties) -> Self {
        let num_timers =
            properties.get("timers").clamp(u64::from(sys::HPET_MIN_TIMERS), u64::from(sys::HPET_MAX_TIMERS)) as usize;
        let timer_reset = TimerConfig::reset_value(properties.get("msi") != 0, properties.get("hpet-intcap") as u32);
        let capability = (u64::from(sys::HPET_CAP_CLK_PERIOD) << registers::HALF_BITS)
            | u64::from(sys::HPET_CAP_ID)
            | ((num_timers as u64 - 1) << sys::HPET_CAP_NUM_TIM_SHIFT);
        let mut timers = [Comparator::ZERO; MAX_TIMERS];
        for t in &mut timers[..num_timers] {
            *t = Comparator::at_creation(timer_reset);
        }
        Hpet {
            num_timers,
            timer_reset,
            offset_saved: properties.get("hpet-offset-saved") != 0,
            capability,
            config: GeneralConfig::empty(),
            isr: 0,
            counter: 0,
            offset: 0,
            rtc_irq_level: false,
            timers,
        }
    }

    /// Section 11. The interrupt status, `fsb`, `cmp64`, `last` and the
    /// whole ghost comparator survive (QEMU quirks).
    fn reset(&mut self, host: &mut impl Host) {
        for i in 0..self.num_timers {
            self.del_timer(host, i);
            let t = &mut self.timers[i];
            t.cmp = u64::MAX;
            t.config = self.timer_reset;
            t.period = 0;
            t.wrap_flag = false;
        }
        host.set_irq(sys::HPET_IRQ_PIT_DISABLE, false);
        self.counter = 0;
        self.offset = 0;
        self.config = GeneralConfig::empty();
        self.rtc_irq_level = false;
    }

    /// Sections 6 and 10: the addressed register, shifted to the half and
    /// truncated to the size. No side effects.
    #[inline]
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        // The main counter is what drivers poll (clock sources, delay
        // loops): it is tested for before the general decode.
        if offset & !7 == u64::from(sys::HPET_MAIN_CNT) {
            let value = if self.enabled() { self.current_ticks(host) } else { self.counter };
            return Half::of(offset, size).extract(value, size);
        }
        let value = match Register::decode(offset, self.num_timers) {
            Register::Global(GlobalRegister::Capabilities) => self.capability,
            Register::Global(GlobalRegister::Config) => self.config.bits(),
            Register::Global(GlobalRegister::InterruptStatus) => self.isr,
            Register::Global(GlobalRegister::MainCounter) => {
                if self.enabled() {
                    self.current_ticks(host)
                } else {
                    self.counter
                }
            }
            Register::Timer(i, TimerRegister::Config) => self.timers[i].config.bits(),
            Register::Timer(i, TimerRegister::Comparator) => self.timers[i].cmp,
            Register::Timer(i, TimerRegister::FsbRoute) => self.timers[i].fsb,
            Register::Reserved | Register::OutOfRange(_) => 0,
        };
        Half::of(offset, size).extract(value, size)
    }

    /// Sections 6 and 10: one write procedure per register, handed the
    /// half; an 8-byte write is one access with one side effect.
    #[inline]
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        let half = Half::of(offset, size);
        match Register::decode(offset, self.num_timers) {
            // Read-only.
            Register::Global(GlobalRegister::Capabilities) => {}
            Register::Global(GlobalRegister::Config) => self.write_general_config(host, half, value),
            Register::Global(GlobalRegister::InterruptStatus) => self.write_interrupt_status(host, half, value),
            // Stored whatever ENABLE is; while enabled, nobody sees it.
            Register::Global(GlobalRegister::MainCounter) => self.counter = half.deposit(self.counter, value),
            Register::Timer(i, TimerRegister::Config) => self.write_timer_config(host, i, half, value),
            Register::Timer(i, TimerRegister::Comparator) => self.write_comparator(host, i, half, value),
            Register::Timer(i, TimerRegister::FsbRoute) => {
                let t = &mut self.timers[i];
                t.fsb = half.deposit(t.fsb, value);
            }
            Register::Reserved | Register::OutOfRange(_) => {}
        }
    }

    /// Section 8.1: record the comparator as disarmed, then EXPIRE.
    /// Inlined into the adapter's entry point, like `read` and `write`.
    #[inline]
    fn timer_expired(&mut self, host: &mut impl Host, timer: u32) {
        let i = timer as usize;
        if i >= MAX_TIMERS {
            return;
        }
        self.timers[i].pending = None;
        self.expire(host, i);
    }

    /// Section 9.7: the PIT and RTC inputs pass through to lines 0 and 8
    /// unless legacy mode owns those lines; the RTC level is remembered.
    fn set_input(&mut self, host: &mut impl Host, line: u32, level: bool) {
        let passed_through = match line {
            sys::HPET_INPUT_PIT => sys::HPET_IRQ_LEGACY_PIT,
            sys::HPET_INPUT_RTC => {
                self.rtc_irq_level = level;
                sys::HPET_IRQ_LEGACY_RTC
            }
            _ => return,
        };
        // The PIT level is not remembered: leaving legacy mode lowers line 0.
        if !self.legacy() {
            host.set_irq(passed_through, level);
        }
    }

    /// Section 12.2, with the counter as of now.
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        self.save_at(host.clock_ns(), out);
    }

    /// Section 12.2: every check first, then the state, then the timers.
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        self.load_blob(host, blob)
    }
}

pub mod guest;
pub mod qemu;
pub mod vectors;

#[cfg(test)]
mod tests;

/// What an HPET with the default properties saves right after loading
/// `blob` at virtual time `now_ns`: the same bytes, except that an enabled
/// HPET saves its counter as of now, `(now + offset) / 10` with the loaded
/// offset (section 12.2: `hpet-offset-saved` 1 keeps the offset, and the
/// saved counter is TICKS() at save time). The migration property tests
/// and the `migration_load` fuzz target hold both implementations to it.
pub fn saved_after_load(blob: &[u8], now_ns: u64) -> Vec<u8> {
    let mut expected = blob.to_vec();
    let header = sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let u64_at = |at: usize| blob.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let is_hpet = blob.get(4..6) == Some(&(sys::HPET_STATE_DEVICE_ID as u16).to_le_bytes()[..]);
    let config = u64_at(header + sys::HPET_STATE_CONFIG as usize);
    let offset = u64_at(header + sys::HPET_STATE_OFFSET as usize);
    if let (true, Some(config), Some(offset)) = (is_hpet, config, offset) {
        if config & u64::from(sys::HPET_CFG_ENABLE) != 0 {
            let ticks = now_ns.wrapping_add(offset) / u64::from(sys::HPET_CLK_PERIOD_NS);
            let at = header + sys::HPET_STATE_COUNTER as usize;
            expected[at..at + 8].copy_from_slice(&ticks.to_le_bytes());
            portlab_device::migration::reseal(&mut expected);
        }
    }
    expected
}
