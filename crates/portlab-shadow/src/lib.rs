//! Shadow devices: how a project can run a new Rust device in production
//! beside the trusted C one.
//!
//! A shadow device is itself a device (`x-pl011-shadow`). Every call the
//! host makes goes to both implementations, each hosted by a recorder
//! that captures its effects (IRQ levels, bytes sent, timers,
//! diagnostics). The host sees only the *primary* (C) result and effects,
//! so the guest runs on the trusted model. The candidate's result, effects
//! and saved state are compared with the primary's after every call, and
//! the first difference is reported once on the diagnostic channel
//! (`PORTLAB_LOG_DIVERGENCE`), with the call that caused it.
//!
//! Nothing here is unsafe: the two inner devices are driven through their
//! C ops tables by `portlab_device::Instance`, like the board drives any
//! device.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::fmt::Debug;
use std::marker::PhantomData;

use portlab_device::migration::SaveBuffer;
use portlab_device::{Device, DeviceInfo, DeviceType, Error, Host, Instance, LoadError, LogKind, Properties};

/// Re-exported for [`c_answers_rust_shadows!`], so that the macro works in
/// any crate.
pub use portlab_device;

/// The two implementations a shadow device runs.
pub trait ShadowPair: 'static {
    /// The shadow's description (its own type name; the rest must match
    /// both implementations).
    const INFO: DeviceInfo;
    /// The trusted implementation whose results the host sees.
    fn primary() -> DeviceType;
    /// The implementation under evaluation.
    fn candidate() -> DeviceType;
    /// Labels for reports, such as `("c", "rust")`.
    const LABELS: (&'static str, &'static str) = ("c", "rust");
}

/// One effect an inner device had on its host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Irq(u32, bool),
    Send(Vec<u8>),
    Break(bool),
    TimerArm(u32, u64),
    TimerCancel(u32),
    Log(LogKind, String),
    MemWrite(u64, u32, u64),
    TimerArmFirst(u32),
}

/// The host of an inner device: answers the clock from the outer host's
/// reading and records every effect.
#[derive(Debug, Default)]
struct Recorder {
    clock_ns: u64,
    epoch_s: u64,
    effects: Vec<Effect>,
}

impl Host for Recorder {
    fn set_irq(&mut self, line: u32, level: bool) {
        self.effects.push(Effect::Irq(line, level));
    }
    fn serial_send(&mut self, bytes: &[u8]) {
        self.effects.push(Effect::Send(bytes.to_vec()));
    }
    fn serial_set_break(&mut self, on: bool) {
        self.effects.push(Effect::Break(on));
    }
    fn clock_ns(&mut self) -> u64 {
        self.clock_ns
    }
    fn rtc_epoch_s(&mut self) -> u64 {
        self.epoch_s
    }
    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        self.effects.push(Effect::TimerArm(timer, deadline_ns));
    }
    fn timer_cancel(&mut self, timer: u32) {
        self.effects.push(Effect::TimerCancel(timer));
    }
    fn log(&mut self, kind: LogKind, message: &str) {
        self.effects.push(Effect::Log(kind, message.to_owned()));
    }
    fn mem_write(&mut self, addr: u64, size: u32, value: u64) {
        self.effects.push(Effect::MemWrite(addr, size, value));
    }
    fn timer_arm_first(&mut self, timer: u32) {
        self.effects.push(Effect::TimerArmFirst(timer));
    }
}

fn replay(effects: Vec<Effect>, host: &mut impl Host) {
    for effect in effects {
        match effect {
            Effect::Irq(line, level) => host.set_irq(line, level),
            Effect::Send(bytes) => host.serial_send(&bytes),
            Effect::Break(on) => host.serial_set_break(on),
            Effect::TimerArm(timer, deadline) => host.timer_arm(timer, deadline),
            Effect::TimerCancel(timer) => host.timer_cancel(timer),
            Effect::Log(kind, message) => host.log(kind, &message),
            Effect::MemWrite(addr, size, value) => host.mem_write(addr, size, value),
            Effect::TimerArmFirst(timer) => host.timer_arm_first(timer),
        }
    }
}

/// A shadow device over the pair `P`.
pub struct Shadow<P: ShadowPair> {
    primary: RefCell<Instance<Recorder>>,
    candidate: RefCell<Instance<Recorder>>,
    calls: u64,
    /// A difference seen where no host was at hand (`can_receive`), to be
    /// reported on the next call.
    pending_report: RefCell<Option<String>>,
    reported: bool,
    _pair: PhantomData<P>,
}

impl<P: ShadowPair> Debug for Shadow<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow").field("type", &P::INFO.type_name).field("calls", &self.calls).finish()
    }
}

impl<P: ShadowPair> Shadow<P> {
    /// Runs `call` on both implementations, replays the primary's effects
    /// to `host`, compares everything and returns the primary's result.
    fn forward<R: PartialEq + Debug>(
        &mut self,
        host: &mut impl Host,
        what: &str,
        call: impl Fn(&mut Instance<Recorder>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.calls += 1;
        let (clock_ns, epoch_s) = (host.clock_ns(), host.rtc_epoch_s());
        let mut primary = self.primary.borrow_mut();
        let mut candidate = self.candidate.borrow_mut();
        for inner in [&mut *primary, &mut *candidate] {
            let r = inner.host_mut();
            r.clock_ns = clock_ns;
            r.epoch_s = epoch_s;
            r.effects.clear();
        }
        let rp = call(&mut primary);
        let rc = call(&mut candidate);
        let ep = std::mem::take(&mut primary.host_mut().effects);
        let ec = std::mem::take(&mut candidate.host_mut().effects);
        let state = match (primary.save(), candidate.save()) {
            (Ok(a), Ok(b)) if a == b => None,
            (a, b) => Some(describe_state(P::primary(), P::LABELS, &a, &b)),
        };
        drop((primary, candidate));
        replay(ep.clone(), host);
        if !self.reported {
            let (lp, lc) = P::LABELS;
            let mut found = self.pending_report.borrow_mut().take();
            if found.is_none() && rp != rc {
                found = Some(format!("result differs: {lp}={rp:?} {lc}={rc:?}"));
            }
            if found.is_none() && ep != ec {
                found = Some(format!("effects differ: {lp}={ep:?} {lc}={ec:?}"));
            }
            if found.is_none() {
                found = state;
            }
            if let Some(why) = found {
                self.reported = true;
                let name = P::INFO.type_name.to_string_lossy();
                host.log(
                    LogKind::Divergence,
                    &format!("{name}: first divergence at call {} ({what}): {why}", self.calls),
                );
            }
        }
        rp
    }
}

/// Names the first field whose saved value differs, from the device's
/// state schema (`ibrd differs: c=0x1 rust=0x2`), or the byte when the
/// blobs do not decode.
fn describe_state(
    device_type: DeviceType,
    labels: (&str, &str),
    a: &Result<Vec<u8>, Error>,
    b: &Result<Vec<u8>, Error>,
) -> String {
    match (a, b) {
        (Ok(x), Ok(y)) => {
            let schema = &device_type.description().schema;
            let decode = |blob: &[u8]| portlab_device::migration::payload(blob).map(|p| schema.decode(p));
            if let (Some(Ok(fx)), Some(Ok(fy))) = (decode(x), decode(y)) {
                if let Some((p, q)) = fx.iter().zip(&fy).find(|(p, q)| p.value != q.value) {
                    let (la, lb) = labels;
                    return format!(
                        "saved state differs: {} differs: {la}=0x{:x} {lb}=0x{:x}",
                        p.name, p.value, q.value
                    );
                }
            }
            let first = x.iter().zip(y).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
            format!("saved state differs from byte {first} (lengths {} and {})", x.len(), y.len())
        }
        _ => format!("saving failed: {a:?} vs {b:?}"),
    }
}

fn create(device_type: DeviceType, host: &mut impl Host, properties: &Properties) -> Instance<Recorder> {
    let recorder = Recorder { clock_ns: host.clock_ns(), epoch_s: host.rtc_epoch_s(), effects: Vec::new() };
    // Both inner devices get the shadow's resolved values, by name.
    let given: Vec<(String, u64)> = device_type
        .description()
        .properties
        .iter()
        .zip(properties.values())
        .map(|(p, v)| (p.name.to_string(), *v))
        .collect();
    match Instance::with_properties(device_type, recorder, &given) {
        Ok(instance) => instance,
        // Caught by the FFI adapter: the host sees PORTLAB_ERR_POISONED.
        Err(e) => panic!("shadow: cannot create {}: {e}", device_type.type_name()),
    }
}

impl<P: ShadowPair> Device for Shadow<P> {
    const INFO: DeviceInfo = P::INFO;

    fn new(host: &mut impl Host, properties: &Properties) -> Self {
        Shadow {
            primary: RefCell::new(create(P::primary(), host, properties)),
            candidate: RefCell::new(create(P::candidate(), host, properties)),
            calls: 0,
            pending_report: RefCell::new(None),
            reported: false,
            _pair: PhantomData,
        }
    }

    fn reset(&mut self, host: &mut impl Host) {
        let _ = self.forward(host, "reset", |d| d.reset());
    }

    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        self.forward(host, &format!("read 0x{offset:03x} {size}"), |d| d.read(offset, size)).unwrap_or(0)
    }

    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        let _ =
            self.forward(host, &format!("write 0x{offset:03x} 0x{value:x} {size}"), |d| d.write(offset, size, value));
    }

    fn can_receive(&self) -> u32 {
        let p = self.primary.borrow_mut().can_receive();
        let c = self.candidate.borrow_mut().can_receive();
        if p != c && !self.reported {
            let (lp, lc) = P::LABELS;
            self.pending_report.borrow_mut().get_or_insert(format!("can_receive differs: {lp}={p:?} {lc}={c:?}"));
        }
        p.unwrap_or(0)
    }

    fn receive(&mut self, host: &mut impl Host, byte: u8) -> Result<(), Error> {
        self.forward(host, &format!("receive 0x{byte:02x}"), |d| d.receive(byte))
    }

    fn set_input(&mut self, host: &mut impl Host, line: u32, level: bool) {
        let _ = self.forward(host, &format!("input {line} {}", u8::from(level)), |d| d.set_input(line, level));
    }

    fn receive_break(&mut self, host: &mut impl Host) {
        let _ = self.forward(host, "break", |d| d.receive_break());
    }

    fn timer_expired(&mut self, host: &mut impl Host, timer: u32) {
        let _ = self.forward(host, &format!("timer {timer}"), |d| d.timer_expired(timer));
    }

    /// The primary's state: a shadow migrates as the trusted model would.
    /// The inner device reads the clock as the outer host has it now (an
    /// HPET saves its running counter).
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        let mut primary = self.primary.borrow_mut();
        primary.host_mut().clock_ns = host.clock_ns();
        if let Ok(blob) = primary.save() {
            out.blob(&blob);
        }
    }

    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        let result = self.forward(host, "load", |d| d.load(blob));
        match result {
            Ok(()) => Ok(()),
            Err(Error::Load(e)) => Err(e),
            Err(_) => Err(LoadError::OutOfRange),
        }
    }
}

/// Defines a pair in which the C model answers and the Rust rewrite
/// shadows it, and its shadow device type. The registry invokes it once
/// per device that has both implementations (the scaffold adds the line).
///
/// ```ignore
/// portlab_shadow::c_answers_rust_shadows!(
///     Pl011Pair, Pl011Shadow, c"x-pl011-shadow", "x-pl011-shadow",
///     portlab_device::c_models::pl011, portlab_pl011::Pl011
/// );
/// ```
#[macro_export]
macro_rules! c_answers_rust_shadows {
    ($pair:ident, $shadow:ident, $type_name:literal, $name:literal, $c_model:path, $rust:ty) => {
        #[doc = concat!("The pair behind `", $name, "`: the C model answers, the Rust rewrite shadows it.")]
        #[derive(Debug)]
        pub struct $pair;

        impl $crate::ShadowPair for $pair {
            const INFO: $crate::portlab_device::DeviceInfo = $crate::portlab_device::DeviceInfo {
                type_name: $type_name,
                ..<$rust as $crate::portlab_device::Device>::INFO
            };
            fn primary() -> $crate::portlab_device::DeviceType {
                $c_model()
            }
            fn candidate() -> $crate::portlab_device::DeviceType {
                $crate::portlab_device::DeviceType::of::<$rust>()
            }
        }

        #[doc = concat!("`", $name, "`.")]
        pub type $shadow = $crate::Shadow<$pair>;
    };
}
