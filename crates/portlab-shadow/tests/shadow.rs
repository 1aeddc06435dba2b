//! The shadow device answers like the C model and reports the first
//! divergence of the Rust one, once, on the diagnostic channel.

use portlab_device::migration::SaveBuffer;
use portlab_device::testing::Recorder;
use portlab_device::{Device, DeviceInfo, DeviceType, Error, Host, Instance, LoadError, LogKind, Properties};
use portlab_pl011::Pl011;
use portlab_shadow::{Shadow, ShadowPair};

portlab_shadow::c_answers_rust_shadows!(
    Pl011Pair,
    Pl011Shadow,
    c"x-pl011-shadow",
    "x-pl011-shadow",
    portlab_device::c_models::pl011,
    portlab_pl011::Pl011
);

fn divergences(r: &Recorder) -> Vec<&str> {
    r.messages(LogKind::Divergence)
}

#[test]
fn agreeing_implementations_report_nothing() {
    let mut dev = Instance::new(DeviceType::of::<Pl011Shadow>(), Recorder::default()).unwrap();
    assert_eq!(dev.device_type().type_name(), "x-pl011-shadow");
    dev.write(0x038, 4, 0x30).unwrap();
    dev.write(0x02c, 4, 0x70).unwrap();
    dev.receive(b'a').unwrap();
    assert_eq!(dev.read(0x000, 4).unwrap(), 0x61);
    dev.write(0x000, 4, 0x41).unwrap();
    assert_eq!(dev.read(0x044, 4).unwrap(), 0, "a bad offset: a guest error, not a divergence");
    let blob = dev.save().unwrap();
    dev.load(&blob).unwrap();
    assert_eq!(dev.host().sent, b"A");
    assert_eq!(dev.host().irq_calls.iter().filter(|(line, level)| *line == 1 && *level).count(), 1);
    assert!(divergences(dev.host()).is_empty(), "{:?}", dev.host().logs);
    assert!(dev.host().logs.iter().any(|(k, _)| *k == LogKind::GuestError));
}

/// A Rust PL011 with a planted bug: the ID byte at 0xFE8 is wrong.
struct WrongId(Pl011);

impl Device for WrongId {
    const INFO: DeviceInfo = DeviceInfo { type_name: c"x-pl011-wrong-id", ..Pl011::INFO };
    fn new(host: &mut impl Host, properties: &Properties) -> Self {
        WrongId(Pl011::new(host, properties))
    }
    fn reset(&mut self, host: &mut impl Host) {
        self.0.reset(host);
    }
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        if offset == 0xfe8 { 0x34 } else { self.0.read(host, offset, size) }
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        self.0.write(host, offset, size, value);
    }
    fn can_receive(&self) -> u32 {
        self.0.can_receive()
    }
    fn receive(&mut self, host: &mut impl Host, byte: u8) -> Result<(), Error> {
        self.0.receive(host, byte)
    }
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        self.0.save(host, out);
    }
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        self.0.load(host, blob)
    }
}

struct WrongIdPair;

impl ShadowPair for WrongIdPair {
    const INFO: DeviceInfo = DeviceInfo { type_name: c"x-pl011-wrong-id-shadow", ..Pl011::INFO };
    fn primary() -> DeviceType {
        portlab_device::c_models::pl011()
    }
    fn candidate() -> DeviceType {
        DeviceType::of::<WrongId>()
    }
}

#[test]
fn the_first_divergence_is_reported_once_and_the_guest_sees_c() {
    let mut dev = Instance::new(DeviceType::of::<Shadow<WrongIdPair>>(), Recorder::default()).unwrap();
    assert_eq!(dev.read(0xfe0, 4).unwrap(), 0x11);
    assert_eq!(dev.read(0xfe8, 4).unwrap(), 0x14, "the host gets the C answer");
    assert_eq!(dev.read(0xfe8, 4).unwrap(), 0x14);
    let reports = divergences(dev.host());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("call 2 (read 0xfe8 4)"), "{}", reports[0]);
    assert!(reports[0].contains("c=Ok(20) rust=Ok(52)"), "{}", reports[0]);
}
