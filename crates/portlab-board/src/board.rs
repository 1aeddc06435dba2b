//! The board: named device instances at MMIO addresses, their IRQ lines,
//! serial input queues, the virtual clock and timers.
//!
//! Everything here belongs to the board, which both implementations
//! share, so none of it can be a source of difference between C and Rust
//! (trace-format.md, "Board rules"). Every device is driven through its C
//! ops table via [`portlab_device::Instance`], whatever language it is in.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::rc::Rc;

use portlab_device::access::{self, AccessFault};
use portlab_device::{DeviceInfo, DeviceType, Error as DeviceError, Host, Instance, LogKind};

use crate::event::Event;
use crate::registry::{Implementation, Registry};

/// The most timer expiries one `advance` may run while the clock stands
/// still (every one of them due at or before the current time). A device
/// that keeps re-arming due deadlines would otherwise hang the board, as it
/// hangs QEMU: an HPET periodic comparator whose deadline wraps negative
/// re-fires "1000 ns later" at deadlines that are all in the past. Timers
/// that fire at later and later deadlines (a 1 us periodic tick through a
/// long `advance`) move the clock and are never stopped. Both
/// implementations meet the same limit at the same expiry, so it is never
/// a difference between them.
pub const MAX_EXPIRIES_PER_ADVANCE: u64 = 1_000_000;

/// The default wall-clock time at virtual time 0 (trace `epoch`).
pub const DEFAULT_EPOCH: u64 = 1_700_000_000;

/// One device on a board: instance name, kind, address, implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotConfig {
    /// Instance name used in traces (`pl011`).
    pub name: String,
    /// Device kind in the registry (`pl011`).
    pub kind: String,
    /// MMIO base address on the machine.
    pub base: u64,
    /// Which implementation to instantiate.
    pub implementation: Implementation,
    /// Creation properties given by a trace's `config` line (interface
    /// v2); the rest keep the device's defaults. `migrate` re-creates the
    /// device with the same values.
    pub properties: Vec<(String, u64)>,
}

/// A board's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardConfig {
    /// The devices, in order (events refer to them by index).
    pub slots: Vec<SlotConfig>,
    /// Unix seconds at virtual time 0.
    pub epoch: u64,
}

impl BoardConfig {
    /// The default machine: one slot per device of the registry's
    /// [`DEFAULT_LAYOUT`](crate::registry::DEFAULT_LAYOUT), named after
    /// its kind, every device in `implementation`.
    pub fn default_board(implementation: Implementation) -> BoardConfig {
        let slots = crate::registry::DEFAULT_LAYOUT
            .iter()
            .map(|&(name, base)| SlotConfig {
                name: name.into(),
                kind: name.into(),
                base,
                implementation,
                properties: Vec::new(),
            })
            .collect();
        BoardConfig { slots, epoch: DEFAULT_EPOCH }
    }

    /// A short label of the implementations: `c` or `rust` when every
    /// device runs the same one, else the implementation most devices run
    /// and the exceptions, `rust (pl031=c)` (so adding a device to the
    /// board does not change the label of a mix).
    pub fn label(&self) -> String {
        let Some(first) = self.slots.first() else { return String::new() };
        let count = |imp: Implementation| self.slots.iter().filter(|s| s.implementation == imp).count();
        let mut majority = first.implementation;
        for imp in [Implementation::C, Implementation::Rust, Implementation::Shadow] {
            if count(imp) > count(majority) {
                majority = imp;
            }
        }
        let exceptions: Vec<String> = self
            .slots
            .iter()
            .filter(|s| s.implementation != majority)
            .map(|s| format!("{}={}", s.name, s.implementation))
            .collect();
        if exceptions.is_empty() { majority.to_string() } else { format!("{majority} ({})", exceptions.join(",")) }
    }

    /// Sets the implementation of the device instance `name`.
    pub fn set_implementation(&mut self, name: &str, implementation: Implementation) -> Result<(), String> {
        let names: Vec<String> = self.slots.iter().map(|s| s.name.clone()).collect();
        match self.slots.iter_mut().find(|s| s.name == name) {
            Some(slot) => {
                slot.implementation = implementation;
                Ok(())
            }
            None => Err(format!("the board has no device `{name}` (devices: {})", names.join(", "))),
        }
    }
}

/// A diagnostic a device reported (guest error or unimplemented feature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Device index.
    pub dev: usize,
    /// Kind of diagnostic.
    pub kind: LogKind,
    /// The device's message.
    pub message: String,
}

/// What can go wrong when the board is asked to do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardError {
    /// No device of that name on the board.
    UnknownDevice(String),
    /// The access does not fit the device's rules.
    BadAccess(String),
    /// No such implementation is registered.
    NoImplementation(String),
    /// The virtual clock would overflow.
    ClockOverflow,
    /// One `advance` fired more than [`MAX_EXPIRIES_PER_ADVANCE`] timers in
    /// a row without the clock moving: a device re-arms due timers for ever
    /// (an HPET can, as QEMU's does, hpet.md section 8.4).
    TimerStorm {
        /// Device index of the last expiry.
        dev: usize,
        /// Its timer.
        timer: u32,
    },
    /// A creation property the device does not accept.
    BadProperty(String),
    /// The device returned an error.
    Device {
        /// What the board was doing.
        operation: &'static str,
        /// The device's error.
        error: DeviceError,
    },
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardError::UnknownDevice(msg)
            | BoardError::BadAccess(msg)
            | BoardError::NoImplementation(msg)
            | BoardError::BadProperty(msg) => f.write_str(msg),
            BoardError::ClockOverflow => f.write_str("the virtual clock would pass 2^64 - 1 ns"),
            BoardError::TimerStorm { dev, timer } => write!(
                f,
                "timer storm: more than {MAX_EXPIRIES_PER_ADVANCE} expiries without the clock moving (device {dev}, \
                 timer {timer} keeps re-arming a due deadline; QEMU would hang here)"
            ),
            BoardError::Device { operation, error } => write!(f, "{operation} failed: {error}"),
        }
    }
}

impl std::error::Error for BoardError {}

/// Board state that devices reach through their host callbacks.
#[derive(Debug)]
struct Shared {
    clock_ns: u64,
    epoch: u64,
    events: Vec<Event>,
    diagnostics: Vec<Diagnostic>,
    /// Whether diagnostics are kept (a lockstep run, which never reads
    /// them, does not keep them: each would be an allocation).
    keep_diagnostics: bool,
    irq_levels: Vec<Vec<bool>>,
    /// Armed timers by (deadline, arming sequence): fires in deadline
    /// order, and in arming order for equal deadlines. A min-heap with
    /// lazy deletion: a cancelled or re-armed timer's old entry stays
    /// until it reaches the top, where it is seen to be stale (its key is
    /// no longer the one in `armed`) and dropped. The top is always live
    /// ([`Shared::settle`]). A periodic timer costs a pop and a push per
    /// expiry, where an ordered map allocated and freed a node.
    timers: BinaryHeap<Reverse<TimerEntry>>,
    /// The queue key of each armed timer, by device and timer number (a
    /// timer expiry looks its timer up here: an index, not a hash).
    armed: Vec<Vec<Option<(u64, u64)>>>,
    /// Sequence numbers: ordinary arms count up from 2^63, arm-first arms
    /// count down from below it, so an arm-first timer (deadline 0) sorts
    /// ahead of every timer pending when it is armed, and a later
    /// arm-first ahead of an earlier one (trace-format.md, `advance`).
    timer_seq: u64,
    first_seq: u64,
    breaks_sent: u64,
}

impl Shared {
    /// Keeps diagnostic `d`, unless diagnostics are off.
    fn report(&mut self, d: impl FnOnce() -> Diagnostic) {
        if self.keep_diagnostics {
            self.diagnostics.push(d());
        }
    }

    fn new(epoch: u64) -> Shared {
        Shared {
            clock_ns: 0,
            epoch,
            events: Vec::new(),
            diagnostics: Vec::new(),
            keep_diagnostics: true,
            irq_levels: Vec::new(),
            timers: BinaryHeap::new(),
            armed: Vec::new(),
            timer_seq: 1 << 63,
            first_seq: (1 << 63) - 1,
            breaks_sent: 0,
        }
    }

    /// The queue key of `dev`'s timer `timer`, if armed (a place for one).
    fn armed(&mut self, dev: usize, timer: u32) -> &mut Option<(u64, u64)> {
        if self.armed.len() <= dev {
            self.armed.resize_with(dev + 1, Vec::new);
        }
        let timers = &mut self.armed[dev];
        if timers.len() <= timer as usize {
            timers.resize(timer as usize + 1, None);
        }
        &mut timers[timer as usize]
    }

    fn cancel_timer(&mut self, dev: usize, timer: u32) {
        if self.armed(dev, timer).take().is_some() {
            self.settle();
        }
    }

    /// Whether `entry` is its timer's current arming.
    fn is_live(&self, entry: &TimerEntry) -> bool {
        let TimerEntry { deadline, seq, dev, timer } = *entry;
        self.armed.get(dev).and_then(|t| t.get(timer as usize)).copied().flatten() == Some((deadline, seq))
    }

    /// Drops stale entries from the top of the queue, so that the top is
    /// the soonest armed timer; rebuilds the queue when stale entries
    /// outnumber the live ones (a timer re-armed again and again far
    /// ahead would otherwise grow it without bound).
    fn settle(&mut self) {
        while let Some(Reverse(top)) = self.timers.peek() {
            if self.is_live(top) {
                break;
            }
            self.timers.pop();
        }
        // Counted only past 64 entries: a board's few timers never get there.
        if self.timers.len() > 64 && self.timers.len() > 2 * self.armed.iter().flatten().flatten().count() + 64 {
            let entries = self.armed.iter().enumerate().flat_map(|(dev, timers)| {
                timers.iter().enumerate().filter_map(move |(timer, key)| {
                    key.map(|(deadline, seq)| Reverse(TimerEntry { deadline, seq, dev, timer: timer as u32 }))
                })
            });
            self.timers = entries.collect();
        }
    }

    /// The soonest armed timer, if one is.
    fn soonest(&self) -> Option<TimerEntry> {
        self.timers.peek().map(|Reverse(top)| *top)
    }

    /// Queues `dev`'s timer `timer` under `key`.
    fn queue(&mut self, dev: usize, timer: u32, key: (u64, u64)) {
        *self.armed(dev, timer) = Some(key);
        self.timers.push(Reverse(TimerEntry { deadline: key.0, seq: key.1, dev, timer }));
        self.settle();
    }

    fn arm_timer(&mut self, dev: usize, timer: u32, deadline_ns: u64) {
        let key = (deadline_ns, self.timer_seq);
        self.timer_seq += 1;
        self.queue(dev, timer, key);
    }

    fn arm_timer_first(&mut self, dev: usize, timer: u32) {
        let key = (0, self.first_seq);
        self.first_seq -= 1;
        self.queue(dev, timer, key);
    }

    /// Disarms every timer of `dev` and returns them with their queue keys.
    fn take_timers(&mut self, dev: usize) -> Vec<(u32, (u64, u64))> {
        let taken: Vec<(u32, (u64, u64))> = match self.armed.get(dev) {
            Some(timers) => timers.iter().enumerate().filter_map(|(t, key)| Some((t as u32, (*key)?))).collect(),
            None => Vec::new(),
        };
        for (timer, _) in &taken {
            self.cancel_timer(dev, *timer);
        }
        taken
    }

    /// Puts back timers from [`Shared::take_timers`], in their old places
    /// in the queue. (A stale copy of an entry may still be queued: with
    /// the key live again both are, and the first to fire disarms the
    /// timer, which makes the other stale.)
    fn restore_timers(&mut self, dev: usize, timers: Vec<(u32, (u64, u64))>) {
        for (timer, key) in timers {
            self.queue(dev, timer, key);
        }
    }
}

/// One queued timer: ordered by deadline, then arming sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TimerEntry {
    deadline: u64,
    seq: u64,
    dev: usize,
    timer: u32,
}

/// The host side of one device slot: implements the device's callbacks
/// on the board's shared state.
#[derive(Debug)]
pub struct BoardHost {
    dev: usize,
    num_irqs: u32,
    num_timers: u32,
    shared: Rc<RefCell<Shared>>,
}

impl BoardHost {
    /// Whether the device has timer `timer`; if not, the arm is refused
    /// with a diagnostic (a device bug, never an event).
    fn owns_timer(&mut self, timer: u32) -> bool {
        if timer < self.num_timers {
            return true;
        }
        let dev = self.dev;
        self.shared.borrow_mut().report(|| Diagnostic {
            dev,
            kind: LogKind::GuestError,
            message: format!("device armed timer {timer}, which it does not have"),
        });
        false
    }
}

impl Host for BoardHost {
    fn set_irq(&mut self, line: u32, level: bool) {
        let mut shared = self.shared.borrow_mut();
        let dev = self.dev;
        if line >= self.num_irqs {
            shared.report(|| Diagnostic {
                dev,
                kind: LogKind::GuestError,
                message: format!("device set IRQ line {line}, which it does not have"),
            });
            return;
        }
        let slot = &mut shared.irq_levels[dev][line as usize];
        if *slot != level {
            *slot = level;
            shared.events.push(Event::Irq { dev, line, level });
        }
    }

    fn serial_send(&mut self, bytes: &[u8]) {
        let mut shared = self.shared.borrow_mut();
        let dev = self.dev;
        shared.events.extend(bytes.iter().map(|&byte| Event::Tx { dev, byte }));
    }

    fn serial_set_break(&mut self, _on: bool) {
        // The trace backend has no line to hold in break; count it only.
        self.shared.borrow_mut().breaks_sent += 1;
    }

    fn clock_ns(&mut self) -> u64 {
        self.shared.borrow().clock_ns
    }

    fn rtc_epoch_s(&mut self) -> u64 {
        self.shared.borrow().epoch
    }

    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        if self.owns_timer(timer) {
            self.shared.borrow_mut().arm_timer(self.dev, timer, deadline_ns);
        }
    }

    fn timer_cancel(&mut self, timer: u32) {
        self.shared.borrow_mut().cancel_timer(self.dev, timer);
    }

    fn mem_write(&mut self, addr: u64, size: u32, value: u64) {
        let mut shared = self.shared.borrow_mut();
        let dev = self.dev;
        if !matches!(size, 1 | 2 | 4 | 8) || (size < 8 && value >> (size * 8) != 0) {
            shared.report(|| Diagnostic {
                dev,
                kind: LogKind::GuestError,
                message: format!("device wrote {size} bytes of 0x{value:x} to guest memory: not a valid memory write"),
            });
            return;
        }
        shared.events.push(Event::Mem { dev, addr, size, value });
    }

    fn timer_arm_first(&mut self, timer: u32) {
        if self.owns_timer(timer) {
            self.shared.borrow_mut().arm_timer_first(self.dev, timer);
        }
    }

    fn log(&mut self, kind: LogKind, message: &str) {
        let dev = self.dev;
        self.shared.borrow_mut().report(|| Diagnostic { dev, kind, message: message.to_owned() });
    }
}

struct Slot {
    config: SlotConfig,
    info: DeviceInfo,
    instance: Instance<BoardHost>,
    /// Serial input not yet taken by the device.
    pending: VecDeque<u8>,
    /// How many times the board has called into the device other than to
    /// save it: see [`Board::activity`].
    activity: u64,
}

impl Slot {
    /// The device, for a call that may change its state: counted, so a
    /// device whose count has not moved is known to hold the state it
    /// last saved (nothing in a device runs unless the board calls it).
    fn enter(&mut self) -> &mut Instance<BoardHost> {
        self.activity += 1;
        &mut self.instance
    }
}

/// A machine: devices, lines, input queues, clock, timers.
pub struct Board {
    registry: Registry,
    shared: Rc<RefCell<Shared>>,
    slots: Vec<Slot>,
    names: Vec<String>,
    /// The timer that stormed, once one has: the clock cannot move past
    /// it (QEMU would hang there), so every later advance fails at once
    /// with the same error instead of firing another million expiries.
    stormed: Option<(usize, u32)>,
}

impl fmt::Debug for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Board").field("devices", &self.names).finish()
    }
}

impl Board {
    /// Builds the board `config` from the devices in `registry`.
    pub fn new(registry: &Registry, config: &BoardConfig) -> Result<Board, BoardError> {
        let shared = Rc::new(RefCell::new(Shared::new(config.epoch)));
        let mut board =
            Board { registry: registry.clone(), shared, slots: Vec::new(), names: Vec::new(), stormed: None };
        for (dev, slot) in config.slots.iter().enumerate() {
            let device_type = board.device_type(&slot.kind, slot.implementation)?;
            let info = device_type.info();
            board.shared.borrow_mut().irq_levels.push(vec![false; info.num_irqs as usize]);
            let instance = board.create(dev, device_type, &slot.properties)?;
            board.slots.push(Slot { config: slot.clone(), info, instance, pending: VecDeque::new(), activity: 0 });
            board.names.push(slot.name.clone());
        }
        Ok(board)
    }

    fn device_type(&self, kind: &str, implementation: Implementation) -> Result<DeviceType, BoardError> {
        self.registry.device_type(kind, implementation).map_err(BoardError::NoImplementation)
    }

    fn create(
        &self,
        dev: usize,
        device_type: DeviceType,
        properties: &[(String, u64)],
    ) -> Result<Instance<BoardHost>, BoardError> {
        // The board checks the properties itself first, so that a bad one
        // is reported with the device's own words rather than as a bare
        // "invalid argument" from create.
        device_type.description().resolve_properties(properties).map_err(BoardError::BadProperty)?;
        let info = device_type.info();
        let host =
            BoardHost { dev, num_irqs: info.num_irqs, num_timers: info.num_timers, shared: Rc::clone(&self.shared) };
        Instance::with_properties(device_type, host, properties)
            .map_err(|error| BoardError::Device { operation: "create", error })
    }

    /// The index of the device called `name`.
    pub fn device_index(&self, name: &str) -> Result<usize, BoardError> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            BoardError::UnknownDevice(format!("unknown device `{name}` (this board has: {})", self.names.join(", ")))
        })
    }

    /// Instance names, indexed like events' `dev`.
    pub fn device_names(&self) -> &[String] {
        &self.names
    }

    /// The configuration of device `dev`.
    pub fn slot_config(&self, dev: usize) -> &SlotConfig {
        &self.slots[dev].config
    }

    /// What device `dev`'s current implementation declares (properties,
    /// input lines, state schema).
    pub fn description(&self, dev: usize) -> &'static portlab_device::schema::Description {
        self.slots[dev].instance.device_type().description()
    }

    /// The type name of device `dev`'s current implementation.
    pub fn type_name(&self, dev: usize) -> &'static str {
        self.slots[dev].instance.device_type().type_name()
    }

    /// Unix seconds at virtual time 0.
    pub fn epoch(&self) -> u64 {
        self.shared.borrow().epoch
    }

    /// The virtual clock in ns.
    pub fn clock_ns(&self) -> u64 {
        self.shared.borrow().clock_ns
    }

    /// The current level of an output line.
    pub fn irq_level(&self, dev: usize, line: u32) -> bool {
        self.shared.borrow().irq_levels[dev].get(line as usize).copied().unwrap_or(false)
    }

    /// The levels of `dev`'s IRQ lines 0, 1, ... into `out` (a line the
    /// device does not have reads low), in one look at the board.
    pub fn irq_levels(&self, dev: usize, out: &mut [bool]) {
        let shared = self.shared.borrow();
        let levels = shared.irq_levels.get(dev).map_or(&[][..], Vec::as_slice);
        for (i, level) in out.iter_mut().enumerate() {
            *level = levels.get(i).copied().unwrap_or(false);
        }
    }

    /// Bytes waiting in device `dev`'s serial input queue.
    pub fn pending_input(&self, dev: usize) -> usize {
        self.slots[dev].pending.len()
    }

    /// How many times devices told their backend to start or stop a break.
    pub fn breaks_sent(&self) -> u64 {
        self.shared.borrow().breaks_sent
    }

    /// Moves the events produced so far to `out`.
    pub fn drain_events(&mut self, out: &mut Vec<Event>) {
        out.append(&mut self.shared.borrow_mut().events);
    }

    /// Takes the events produced so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.shared.borrow_mut().events)
    }

    /// Whether the guest errors and unimplemented accesses devices log are
    /// kept for [`Board::take_diagnostics`] (the default) or dropped.
    pub fn keep_diagnostics(&mut self, keep: bool) {
        self.shared.borrow_mut().keep_diagnostics = keep;
    }

    /// Takes the diagnostics reported so far.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.shared.borrow_mut().diagnostics)
    }

    fn check_access(&self, dev: usize, offset: u64, size: u32) -> Result<(), BoardError> {
        let slot = &self.slots[dev];
        let info = &slot.info;
        let name = &slot.config.name;
        // The rule is portlab_device::access::check, the adapter's own;
        // the board only explains a refusal.
        match access::check(info.access_sizes, info.region_size, offset, size) {
            Ok(()) => Ok(()),
            Err(AccessFault::Size) => {
                let accepted: Vec<String> =
                    [1u32, 2, 4, 8].iter().filter(|s| info.access_sizes & **s != 0).map(u32::to_string).collect();
                Err(BoardError::BadAccess(format!(
                    "{name} does not accept {size}-byte accesses (accepted sizes: {})",
                    accepted.join(", ")
                )))
            }
            Err(AccessFault::OutsideRegion) => Err(BoardError::BadAccess(format!(
                "offset 0x{offset:x} ({size} bytes) is outside {name}'s region of 0x{:x} bytes",
                info.region_size
            ))),
            Err(AccessFault::Misaligned) => {
                Err(BoardError::BadAccess(format!("offset 0x{offset:x} is not a multiple of the access size {size}")))
            }
        }
    }

    /// MMIO read; logs the `read` event, then offers pending input.
    pub fn read(&mut self, dev: usize, offset: u64, size: u32) -> Result<u64, BoardError> {
        self.check_access(dev, offset, size)?;
        let value = self.slots[dev]
            .enter()
            .read(offset, size)
            .map_err(|error| BoardError::Device { operation: "read", error })?;
        self.shared.borrow_mut().events.push(Event::Read { dev, offset, size, value });
        self.deliver(dev)?;
        Ok(value)
    }

    /// MMIO write; then offers pending input.
    pub fn write(&mut self, dev: usize, offset: u64, size: u32, value: u64) -> Result<(), BoardError> {
        self.check_access(dev, offset, size)?;
        if size < 8 && value >> (size * 8) != 0 {
            return Err(BoardError::BadAccess(format!("value 0x{value:x} does not fit in {size} bytes")));
        }
        self.slots[dev]
            .enter()
            .write(offset, size, value)
            .map_err(|error| BoardError::Device { operation: "write", error })?;
        self.deliver(dev)
    }

    /// Serial input arrives: queued, then offered to the device.
    pub fn rx(&mut self, dev: usize, bytes: &[u8]) -> Result<(), BoardError> {
        self.slots[dev].pending.extend(bytes);
        self.deliver(dev)
    }

    /// Drives input line `line` of `dev` to `level` (trace format v2). The
    /// device sees every drive, also one that repeats the current level.
    pub fn input(&mut self, dev: usize, line: u32, level: bool) -> Result<(), BoardError> {
        let slot = &mut self.slots[dev];
        if line >= slot.info.num_inputs {
            let name = &slot.config.name;
            return Err(BoardError::BadAccess(match slot.info.num_inputs {
                0 => format!("{name} has no input lines"),
                1 => format!("{name} has one input line (0), not {line}"),
                n => format!("{name} has {n} input lines (0-{}), not {line}", n - 1),
            }));
        }
        slot.enter().set_input(line, level).map_err(|error| BoardError::Device { operation: "input", error })
    }

    /// The soonest deadline of an armed timer, if one is armed.
    pub fn next_deadline(&self) -> Option<u64> {
        self.shared.borrow().soonest().map(|t| t.deadline)
    }

    /// The deadlines of every armed timer, soonest first (the
    /// timer-aware random guest aims its `advance`s at them).
    pub fn armed_deadlines(&self) -> Vec<u64> {
        let shared = self.shared.borrow();
        let mut deadlines: Vec<u64> = shared.armed.iter().flatten().flatten().map(|(deadline, _)| *deadline).collect();
        deadlines.sort_unstable();
        deadlines
    }

    /// A break arrives, ahead of any pending input bytes.
    pub fn serial_break(&mut self, dev: usize) -> Result<(), BoardError> {
        self.slots[dev].enter().receive_break().map_err(|error| BoardError::Device { operation: "break", error })
    }

    /// Hands pending bytes to the device one at a time while it can take one.
    fn deliver(&mut self, dev: usize) -> Result<(), BoardError> {
        let slot = &mut self.slots[dev];
        while !slot.pending.is_empty() {
            let room =
                slot.enter().can_receive().map_err(|error| BoardError::Device { operation: "can_receive", error })?;
            if room == 0 {
                break;
            }
            if let Some(byte) = slot.pending.pop_front() {
                slot.enter().receive(byte).map_err(|error| BoardError::Device { operation: "receive", error })?;
            }
        }
        Ok(())
    }

    /// Moves the clock forward; due timers fire in deadline order, each
    /// with the clock at its own deadline.
    pub fn advance(&mut self, ns: u64) -> Result<(), BoardError> {
        if let Some((dev, timer)) = self.stormed {
            return Err(BoardError::TimerStorm { dev, timer });
        }
        let target = self.clock_ns().checked_add(ns).ok_or(BoardError::ClockOverflow)?;
        // Expiries since the clock last moved.
        let mut fired_here = 0u64;
        loop {
            let due = {
                let mut shared = self.shared.borrow_mut();
                match shared.soonest() {
                    Some(TimerEntry { deadline, dev, timer, .. }) if deadline <= target => {
                        shared.timers.pop();
                        *shared.armed(dev, timer) = None;
                        shared.settle();
                        if deadline > shared.clock_ns {
                            shared.clock_ns = deadline;
                            fired_here = 0;
                        }
                        Some((dev, timer))
                    }
                    _ => None,
                }
            };
            let Some((dev, timer)) = due else { break };
            fired_here += 1;
            if fired_here > MAX_EXPIRIES_PER_ADVANCE {
                self.stormed = Some((dev, timer));
                return Err(BoardError::TimerStorm { dev, timer });
            }
            self.slots[dev]
                .enter()
                .timer_expired(timer)
                .map_err(|error| BoardError::Device { operation: "timer expiry", error })?;
        }
        self.shared.borrow_mut().clock_ns = target;
        Ok(())
    }

    /// Device reset of `dev`, or of every device.
    pub fn reset(&mut self, dev: Option<usize>) -> Result<(), BoardError> {
        let range = match dev {
            Some(d) => d..d + 1,
            None => 0..self.slots.len(),
        };
        for d in range {
            self.slots[d].enter().reset().map_err(|error| BoardError::Device { operation: "reset", error })?;
        }
        Ok(())
    }

    /// How many times the board has called into device `dev` (MMIO,
    /// input, timer expiries, reset, load, migration) since it was made;
    /// saves do not count. Between two saves with the same count the
    /// device was not run, so its state is the one saved first: the
    /// lockstep runner compares after each command only the devices that
    /// ran.
    pub fn activity(&self, dev: usize) -> u64 {
        self.slots[dev].activity
    }

    /// Saves device `dev`'s migration blob.
    pub fn save(&mut self, dev: usize) -> Result<Vec<u8>, BoardError> {
        self.slots[dev].instance.save().map_err(|error| BoardError::Device { operation: "save", error })
    }

    /// Saves device `dev` into `out` (replacing its contents), reusing its
    /// allocation.
    pub fn save_into(&mut self, dev: usize, out: &mut Vec<u8>) -> Result<(), BoardError> {
        self.slots[dev].instance.save_into(out).map_err(|error| BoardError::Device { operation: "save", error })
    }

    /// Loads a migration blob into device `dev` (a test hook: the device
    /// checks it like any incoming migration).
    pub fn load(&mut self, dev: usize, blob: &[u8]) -> Result<(), BoardError> {
        self.slots[dev].enter().load(blob).map_err(|error| BoardError::Device { operation: "load", error })
    }

    /// The implementation device `dev` currently runs.
    pub fn implementation(&self, dev: usize) -> Implementation {
        self.slots[dev].config.implementation
    }

    /// Saves `dev`, creates a new instance of `to` (default: the other
    /// implementation) from that state and drops the old one. Pending
    /// input, line levels and the clock stay with the board. If the new
    /// instance refuses the state, the old one stays in place.
    pub fn migrate(&mut self, dev: usize, to: Option<Implementation>) -> Result<Implementation, BoardError> {
        let current = self.slots[dev].config.implementation;
        let kind = &self.slots[dev].config.kind;
        // The default target is the other implementation; a build that has
        // only one (stage 3) migrates onto a fresh instance of the same.
        let to = to.unwrap_or_else(|| {
            let other = current.other();
            if self.registry.device_type(kind, other).is_ok() { other } else { current }
        });
        let device_type = self.device_type(&self.slots[dev].config.kind, to)?;
        let blob = self.save(dev)?;
        // The old instance's timers go; the new one re-arms what it needs
        // while loading. Keep them to restore if the load fails.
        let old_timers = self.shared.borrow_mut().take_timers(dev);
        let properties = self.slots[dev].config.properties.clone();
        let loaded = self.create(dev, device_type, &properties).and_then(|mut fresh| {
            fresh.load(&blob).map_err(|error| BoardError::Device { operation: "migration load", error })?;
            Ok(fresh)
        });
        match loaded {
            Ok(fresh) => {
                let slot = &mut self.slots[dev];
                *slot.enter() = fresh;
                slot.info = device_type.info();
                slot.config.implementation = to;
                Ok(to)
            }
            Err(e) => {
                self.shared.borrow_mut().restore_timers(dev, old_timers);
                Err(e)
            }
        }
    }
}
