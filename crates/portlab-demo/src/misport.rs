//! A deliberately wrong port, so that a learner sees what the tools say
//! when a rewrite is wrong, without editing any code:
//! `portlab demo --misported` runs the demo with this in place of the
//! Rust PL031. Nothing else can select it: it is not in the registry.
//!
//! The planted bug is the kind a port really gets wrong: an off-by-one in
//! the alarm. This "rewrite" stores the match register one second late,
//! as if the C model's `>=` had been ported as `>`. The guest's wake alarm
//! fires a second later, and the first event that differs from the C run
//! is where a lockstep comparison would stop.

use portlab_board::{Implementation, Registry};
use portlab_device::migration::SaveBuffer;
use portlab_device::{Device, DeviceInfo, DeviceType, Error, Host, LoadError, Properties, sys};
use portlab_pl031::Pl031;

/// The Rust PL031 with the planted bug (see the module documentation).
#[derive(Debug)]
pub struct MisportedPl031(Pl031);

impl Device for MisportedPl031 {
    const INFO: DeviceInfo = DeviceInfo { type_name: c"x-pl031-misported", ..Pl031::INFO };

    fn new(host: &mut impl Host, properties: &Properties) -> Self {
        MisportedPl031(Pl031::new(host, properties))
    }
    fn reset(&mut self, host: &mut impl Host) {
        self.0.reset(host);
    }
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        self.0.read(host, offset, size)
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        // The bug: the match register one second late (wrapping as the
        // 32-bit register does, so the value still fits the access).
        let value = if offset == u64::from(sys::PL031_MR) && size == 4 {
            u64::from((value as u32).wrapping_add(1))
        } else {
            value
        };
        self.0.write(host, offset, size, value);
    }
    fn can_receive(&self) -> u32 {
        self.0.can_receive()
    }
    fn receive(&mut self, host: &mut impl Host, byte: u8) -> Result<(), Error> {
        self.0.receive(host, byte)
    }
    fn timer_expired(&mut self, host: &mut impl Host, timer: u32) {
        self.0.timer_expired(host, timer);
    }
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        self.0.save(host, out);
    }
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        self.0.load(host, blob)
    }
}

/// The device kind whose Rust implementation the misported one replaces.
pub const MISPORTED_KIND: &str = "pl031";

/// `registry` with the misported PL031 as the PL031's Rust implementation;
/// `None` when the registry has no PL031 or no C model to compare with
/// (a stage 3 build: Rust against Rust would show nothing).
pub fn misported(registry: &Registry) -> Option<Registry> {
    let mut kind = registry.kind(MISPORTED_KIND)?.clone();
    kind.implementation(Implementation::C)?;
    kind.rust = Some(DeviceType::of::<MisportedPl031>());
    let mut out = registry.clone();
    out.register(kind);
    Some(out)
}
