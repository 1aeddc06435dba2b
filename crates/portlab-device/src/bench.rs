//! What a device declares to be benchmarked: its workloads, written once
//! beside the device and run by `portlab bench` and the criterion benches
//! on every implementation (the C null device as the floor, the C model,
//! the Rust model behind the same ops table, the Rust model called
//! directly).
//!
//! # Where this sits in the port
//!
//! A Rust device becomes the default only once it is as good as the C
//! model, speed included; the device's author knows which calls a guest
//! makes in a hot loop, so the device declares them ([`Workload`]) and
//! the benchmark tools, which name no device, time them.
//!
//! A workload's operation is an [`Operation`]: a setup and a loop, both
//! generic over the [`Target`] they drive. [`Micro::of`] monomorphises
//! them for a device behind an ops table ([`TableTarget`], the same code
//! for the floor, C and Rust, only the table differs) and, with
//! [`Micro::with_native`], for the Rust model called directly
//! ([`Native`]). The tools call one function pointer per batch of
//! operations, never per operation, so nothing between the workload's
//! loop and the device adds to the nanoseconds measured.
//!
//! Every operation must make the same calls whatever the device answers
//! (bound a poll loop by what the model would answer), so that the floor,
//! whose reads return 0, makes the calls the models make and its time is
//! the cost of those calls alone.

use std::any::type_name;

use crate::migration::SaveBuffer;
use crate::{Device, DeviceType, Error, Host, Instance, LogKind, Properties};

/// One benchmark workload of a device.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Its name in reports, `portlab bench --workload` and criterion
    /// groups: unique across devices (prefix it with the device's name
    /// unless the device is the one every reader knows, as the PL011's
    /// `fr-poll`).
    pub name: &'static str,
    /// What one operation is (`FR read`, `save+load`).
    pub unit: &'static str,
    /// What one operation does, in calls.
    pub description: &'static str,
    /// The creation properties the models are created with (the floor
    /// takes none: it stands for the calls, whatever the device's size).
    pub properties: &'static [(&'static str, u64)],
    /// A single register access with no callback, which should cost about
    /// as much as the floor; `portlab bench` reports these against it.
    pub hot_path: bool,
    /// Why the two models do different work here, if they do: a ratio that
    /// reflects a choice of algorithm rather than the language.
    pub algorithm_note: Option<&'static str>,
    /// What the workload runs.
    pub body: Body,
}

/// What a workload runs.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// An [`Operation`] on one device, driven directly.
    Micro(Micro),
    /// A whole trace (its text, version 1 or 2) replayed on the board,
    /// the device alone in its default slot; one operation is one replay
    /// on a fresh board. `= EXPECTED` checks are dropped so that the
    /// floor can replay it too (the trace tests check them).
    Replay(&'static str),
}

/// The ops-table target every micro workload runs on for the floor, C and
/// Rust: the same monomorphised code, three tables.
pub type TableTarget = Instance<BenchHost>;

/// An [`Operation`] made into function pointers for each target.
#[derive(Clone, Copy)]
pub struct Micro {
    /// Puts a freshly created device in the state the workload measures.
    pub setup: fn(&mut TableTarget),
    /// Runs `ops` operations.
    pub run: fn(&mut TableTarget, u64, &mut Tally),
    /// Creates the Rust model called directly, set up, if the device
    /// offers that comparison.
    pub native: Option<PrepareNative>,
}

/// Creates a natively called model with creation properties (the rest at
/// their defaults) and runs the workload's setup on it.
pub type PrepareNative = fn(&[(String, u64)]) -> Result<Box<dyn NativeRun>, String>;

impl std::fmt::Debug for Micro {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Micro").field("native", &self.native.is_some()).finish_non_exhaustive()
    }
}

impl Micro {
    /// `O` through an ops table only.
    pub const fn of<O: Operation>() -> Micro {
        Micro { setup: O::setup::<TableTarget>, run: O::run::<TableTarget>, native: None }
    }

    /// `O` through an ops table and on the Rust model `D` called directly:
    /// what the FFI boundary costs.
    pub const fn with_native<O: Operation, D: Device>() -> Micro {
        Micro { setup: O::setup::<TableTarget>, run: O::run::<TableTarget>, native: Some(prepare_native::<O, D>) }
    }
}

/// A workload's operation, generic over what it drives.
pub trait Operation: 'static {
    /// Puts the device in the state the operation measures from (not
    /// timed; the host's counters are cleared after it).
    fn setup<T: Target>(t: &mut T);
    /// Runs `ops` operations, adding what they read to `tally`.
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally);
}

/// The calls a workload makes, the same for every implementation. MMIO
/// accesses are 4 bytes wide, as a driver's `readl`/`writel`, except
/// [`Target::write64`] (`writeq`).
///
/// A device error here is a bug in the workload (every access it makes is
/// valid), so the implementations panic instead of timing an error path.
pub trait Target {
    /// 32-bit MMIO read.
    fn read(&mut self, offset: u64) -> u64;
    /// 32-bit MMIO write.
    fn write(&mut self, offset: u64, value: u64);
    /// 64-bit MMIO write.
    fn write64(&mut self, offset: u64, value: u64);
    /// The host reports that timer `timer` expired.
    fn timer_expired(&mut self, timer: u32);
    /// The host drives input line `line`.
    fn set_input(&mut self, line: u32, level: bool);
    /// Room for serial input.
    fn can_receive(&mut self) -> u32;
    /// One byte of serial input.
    fn receive(&mut self, byte: u8);
    /// Saves the migration blob into `out`, reusing its allocation.
    fn save_into(&mut self, out: &mut Vec<u8>);
    /// Loads a migration blob.
    fn load(&mut self, blob: &[u8]);
    /// The host.
    fn host(&self) -> &BenchHost;
    /// The host, mutably.
    fn host_mut(&mut self) -> &mut BenchHost;
}

fn expect<T>(result: Result<T, Error>, call: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("benchmark {call} failed: {e}"),
    }
}

impl Target for TableTarget {
    fn read(&mut self, offset: u64) -> u64 {
        expect(Instance::read(self, offset, 4), "read")
    }

    fn write(&mut self, offset: u64, value: u64) {
        expect(Instance::write(self, offset, 4, value), "write");
    }

    fn write64(&mut self, offset: u64, value: u64) {
        expect(Instance::write(self, offset, 8, value), "write");
    }

    fn timer_expired(&mut self, timer: u32) {
        expect(Instance::timer_expired(self, timer), "timer_expired");
    }

    fn set_input(&mut self, line: u32, level: bool) {
        expect(Instance::set_input(self, line, level), "set_input");
    }

    fn can_receive(&mut self) -> u32 {
        expect(Instance::can_receive(self), "can_receive")
    }

    fn receive(&mut self, byte: u8) {
        expect(Instance::receive(self, byte), "receive");
    }

    fn save_into(&mut self, out: &mut Vec<u8>) {
        expect(Instance::save_into(self, out), "save");
    }

    fn load(&mut self, blob: &[u8]) {
        expect(Instance::load(self, blob), "load");
    }

    fn host(&self) -> &BenchHost {
        Instance::host(self)
    }

    fn host_mut(&mut self) -> &mut BenchHost {
        Instance::host_mut(self)
    }
}

/// A Rust model with its host, called directly: no ops table, no adapter,
/// no trampolines. What the device costs without the boundary.
///
/// It makes the calls the adapter would let through; the adapter's own
/// checks (access size and alignment, value width) are what it leaves out.
#[derive(Debug, Clone)]
pub struct Native<D> {
    device: D,
    host: BenchHost,
}

impl<D: Device> Native<D> {
    /// `D` created with `properties` (the rest at their defaults).
    pub fn new(properties: &[(String, u64)]) -> Result<Native<D>, String> {
        let resolved = Properties::resolve(DeviceType::of::<D>().description(), properties)?;
        let mut host = BenchHost::default();
        let device = D::new(&mut host, &resolved);
        Ok(Native { device, host })
    }
}

impl<D: Device> Target for Native<D> {
    fn read(&mut self, offset: u64) -> u64 {
        self.device.read(&mut self.host, offset, 4)
    }

    fn write(&mut self, offset: u64, value: u64) {
        self.device.write(&mut self.host, offset, 4, value);
    }

    fn write64(&mut self, offset: u64, value: u64) {
        self.device.write(&mut self.host, offset, 8, value);
    }

    fn timer_expired(&mut self, timer: u32) {
        self.device.timer_expired(&mut self.host, timer);
    }

    fn set_input(&mut self, line: u32, level: bool) {
        self.device.set_input(&mut self.host, line, level);
    }

    fn can_receive(&mut self) -> u32 {
        self.device.can_receive()
    }

    fn receive(&mut self, byte: u8) {
        expect(self.device.receive(&mut self.host, byte), "receive");
    }

    fn save_into(&mut self, out: &mut Vec<u8>) {
        out.clear();
        self.device.save(&mut self.host, &mut SaveBuffer::new(out));
    }

    fn load(&mut self, blob: &[u8]) {
        if let Err(e) = self.device.load(&mut self.host, blob) {
            panic!("benchmark load failed: {e}");
        }
    }

    fn host(&self) -> &BenchHost {
        &self.host
    }

    fn host_mut(&mut self) -> &mut BenchHost {
        &mut self.host
    }
}

/// A natively called model, set up for one workload: what
/// [`Micro::native`] returns, so that the tools hold any device's native
/// run behind one type (one dynamic call per batch).
pub trait NativeRun {
    /// Runs `ops` operations.
    fn run(&mut self, ops: u64, tally: &mut Tally);
    /// The host.
    fn host(&self) -> &BenchHost;
}

struct NativeOperation<O, D> {
    target: Native<D>,
    operation: std::marker::PhantomData<O>,
}

impl<O: Operation, D: Device> NativeRun for NativeOperation<O, D> {
    fn run(&mut self, ops: u64, tally: &mut Tally) {
        O::run(&mut self.target, ops, tally);
    }

    fn host(&self) -> &BenchHost {
        &self.target.host
    }
}

fn prepare_native<O: Operation, D: Device>(properties: &[(String, u64)]) -> Result<Box<dyn NativeRun>, String> {
    let mut target = Native::<D>::new(properties).map_err(|e| format!("{}: {e}", type_name::<D>()))?;
    O::setup(&mut target);
    target.host.clear_counters();
    Ok(Box::new(NativeOperation::<O, D> { target, operation: std::marker::PhantomData }))
}

/// The save buffer's initial capacity ([`migration::SAVE_CAPACITY`]), so
/// that no save a workload makes is a "buffer too small" retry. The retry
/// is not the same call sequence on both sides: the Rust adapter runs the
/// device's save, which may read the clock, before it finds the buffer too
/// small, while C's container check refuses first.
///
/// [`migration::SAVE_CAPACITY`]: crate::migration::SAVE_CAPACITY
pub const SAVE_CAPACITY: usize = crate::migration::SAVE_CAPACITY;

/// What a workload's operations add up besides the host's counters: it
/// keeps the results alive (so the compiler cannot drop the reads) and
/// lets the tools check that two implementations did the same work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Operations run.
    pub ops: u64,
    /// Wrapping sum of every value read.
    pub reads_sum: u64,
    /// Serial bytes delivered to the device.
    pub rx_delivered: u64,
    /// Serial bytes read back by the guest.
    pub rx_drained: u64,
    /// Wrapping sum of the bytes delivered.
    pub rx_delivered_sum: u64,
    /// Wrapping sum of the bytes read back.
    pub rx_drained_sum: u64,
    /// The last migration blob saved.
    pub blob: Vec<u8>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            ops: 0,
            reads_sum: 0,
            rx_delivered: 0,
            rx_drained: 0,
            rx_delivered_sum: 0,
            rx_drained_sum: 0,
            blob: Vec::with_capacity(SAVE_CAPACITY),
        }
    }
}

impl Tally {
    /// Adds a value read.
    #[inline]
    pub fn read(&mut self, value: u64) {
        self.reads_sum = self.reads_sum.wrapping_add(value);
    }
}

// Building blocks for operations. `black_box` on offsets and values: a
// guest's accesses are not known at compile time, so the natively called
// device must decode every one, as the devices behind the ops table do.

/// `ops` 4-byte reads of `offset` (a driver's poll).
#[inline]
pub fn read_loop<T: Target>(t: &mut T, offset: u64, ops: u64, tally: &mut Tally) {
    for _ in 0..ops {
        let v = t.read(std::hint::black_box(offset));
        tally.read(std::hint::black_box(v));
    }
}

/// `ops` 4-byte writes of `value` at `offset`.
#[inline]
pub fn write_loop<T: Target>(t: &mut T, offset: u64, value: u64, ops: u64) {
    for _ in 0..ops {
        t.write(std::hint::black_box(offset), std::hint::black_box(value));
    }
}

/// `ops` saves into the tally's reused buffer, each loaded back.
#[inline]
pub fn save_load_loop<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
    for _ in 0..ops {
        t.save_into(&mut tally.blob);
        t.load(std::hint::black_box(&tally.blob[..]));
    }
}

/// A ready-made operation: reads of the register at `OFFSET` from the
/// power-on state.
#[derive(Debug)]
pub struct ReadRegister<const OFFSET: u64>;

impl<const OFFSET: u64> Operation for ReadRegister<OFFSET> {
    fn setup<T: Target>(_t: &mut T) {}
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        read_loop(t, OFFSET, ops, tally);
    }
}

/// A ready-made operation: writes of `VALUE` to the register at `OFFSET`
/// from the power-on state.
#[derive(Debug)]
pub struct WriteRegister<const OFFSET: u64, const VALUE: u64>;

impl<const OFFSET: u64, const VALUE: u64> Operation for WriteRegister<OFFSET, VALUE> {
    fn setup<T: Target>(_t: &mut T) {}
    fn run<T: Target>(t: &mut T, ops: u64, _tally: &mut Tally) {
        write_loop(t, OFFSET, VALUE, ops);
    }
}

/// A ready-made operation: save and load of the power-on state.
#[derive(Debug)]
pub struct SaveLoad;

impl Operation for SaveLoad {
    fn setup<T: Target>(_t: &mut T) {}
    fn run<T: Target>(t: &mut T, ops: u64, tally: &mut Tally) {
        save_load_loop(t, ops, tally);
    }
}

/// The most IRQ lines a benchmarked device may drive (a line above is
/// ignored: no workload may depend on it).
const MAX_LINES: usize = 8;
/// Host timers recorded (the HPET has 32).
pub const MAX_TIMERS: usize = 32;

/// A [`Host`] that only counts what the device does, so that the host's
/// own cost is a few adds and the same for every implementation.
///
/// It is used both behind the C ops table (through `Instance`'s callback
/// trampolines) and directly by a natively called Rust model.
///
/// The clock reads `clock` and then moves it on by `clock_step`, so a
/// workload that reads a counter derived from the clock (the HPET's main
/// counter) sees it move between reads and the device computes it every
/// time. A workload that fires timers sets the clock itself (step 0) to
/// the deadline the device last armed, as a host does before it calls
/// `timer_expired`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchHost {
    irq: [bool; MAX_LINES],
    /// The virtual clock in ns: what the next `clock_ns` returns.
    pub clock: u64,
    /// How far the clock moves after each reading (0: it stands still).
    pub clock_step: u64,
    /// The last deadline armed for each host timer (0 for a
    /// `timer_arm_first`); a cancel leaves it as it was.
    pub deadlines: [u64; MAX_TIMERS],
    /// `set_irq` calls (the device's UPDATE drives every line each time).
    pub irq_calls: u64,
    /// Line level changes.
    pub irq_edges: u64,
    /// Bytes sent to the serial backend.
    pub tx_bytes: u64,
    /// Wrapping sum of the bytes sent, to compare implementations.
    pub tx_sum: u64,
    /// Break start/stop requests.
    pub breaks: u64,
    /// Diagnostics reported (the workloads should cause none).
    pub logs: u64,
    /// Guest-memory writes (interface v2).
    pub mem_writes: u64,
    /// `clock_ns` calls.
    pub clock_reads: u64,
    /// `timer_arm` and `timer_arm_first` calls.
    pub timer_arms: u64,
    /// Wrapping sum of the deadlines armed, to compare implementations.
    pub deadline_sum: u64,
    /// `timer_cancel` calls.
    pub timer_cancels: u64,
}

impl BenchHost {
    /// The current level of `line` (false for a line the device lacks).
    pub fn irq_level(&self, line: u32) -> bool {
        self.irq.get(line as usize).copied().unwrap_or(false)
    }

    /// The last deadline armed for `timer` (0 if none was).
    pub fn deadline(&self, timer: u32) -> u64 {
        self.deadlines.get(timer as usize).copied().unwrap_or(0)
    }

    /// Zeroes the counters but keeps the line levels, the clock and the
    /// armed deadlines, so a workload counts only what its own operations
    /// did after its setup, from the state the setup left.
    pub fn clear_counters(&mut self) {
        *self = BenchHost {
            irq: self.irq,
            clock: self.clock,
            clock_step: self.clock_step,
            deadlines: self.deadlines,
            ..BenchHost::default()
        };
    }

    fn record_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.timer_arms += 1;
        self.deadline_sum = self.deadline_sum.wrapping_add(deadline_ns);
        if let Some(slot) = self.deadlines.get_mut(timer as usize) {
            *slot = deadline_ns;
        }
    }
}

impl Host for BenchHost {
    fn set_irq(&mut self, line: u32, level: bool) {
        if let Some(slot) = self.irq.get_mut(line as usize) {
            self.irq_calls += 1;
            if *slot != level {
                *slot = level;
                self.irq_edges += 1;
            }
        }
    }

    fn serial_send(&mut self, bytes: &[u8]) {
        self.tx_bytes += bytes.len() as u64;
        for &b in bytes {
            self.tx_sum = self.tx_sum.wrapping_add(u64::from(b));
        }
    }

    fn serial_set_break(&mut self, _on: bool) {
        self.breaks += 1;
    }

    fn clock_ns(&mut self) -> u64 {
        let now = self.clock;
        self.clock = now.wrapping_add(self.clock_step);
        self.clock_reads += 1;
        now
    }

    fn rtc_epoch_s(&mut self) -> u64 {
        0
    }

    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.record_arm(timer, deadline_ns);
    }

    fn timer_cancel(&mut self, _timer: u32) {
        self.timer_cancels += 1;
    }

    fn log(&mut self, _kind: LogKind, _message: &str) {
        self.logs += 1;
    }

    fn mem_write(&mut self, _addr: u64, _size: u32, value: u64) {
        self.mem_writes += 1;
        self.tx_sum = self.tx_sum.wrapping_add(value);
    }

    fn timer_arm_first(&mut self, timer: u32) {
        self.record_arm(timer, 0);
    }
}
