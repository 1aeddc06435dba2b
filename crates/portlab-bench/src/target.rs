//! What a micro workload drives: a device behind the C ops table, or the
//! Rust PL011 called directly.

use portlab_device::{Device, Instance};
use portlab_pl011::Pl011;

use crate::host::BenchHost;

/// The calls a workload makes, the same for every implementation. MMIO
/// accesses are 4 bytes wide, as a driver's `readl`/`writel`, except
/// [`Target::write64`] (the HPET's 64-bit comparator, `writeq`).
///
/// The workloads are generic over this trait, so the floor, the C PL011
/// and the Rust PL011 behind the ops table run one monomorphised copy of
/// the workload code (`Instance<BenchHost>`) that differs only in the
/// table it calls through.
pub trait Target {
    /// 32-bit MMIO read.
    fn read(&mut self, offset: u64) -> u64;
    /// 32-bit MMIO write.
    fn write(&mut self, offset: u64, value: u64);
    /// 64-bit MMIO write.
    fn write64(&mut self, offset: u64, value: u64);
    /// The host reports that timer `timer` expired.
    fn timer_expired(&mut self, timer: u32);
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

// A device error here is a bug in the workload (every access is valid), so
// it ends the benchmark loudly instead of being timed as an error path.
impl Target for Instance<BenchHost> {
    fn read(&mut self, offset: u64) -> u64 {
        Instance::read(self, offset, 4).expect("benchmark read")
    }

    fn write(&mut self, offset: u64, value: u64) {
        Instance::write(self, offset, 4, value).expect("benchmark write");
    }

    fn write64(&mut self, offset: u64, value: u64) {
        Instance::write(self, offset, 8, value).expect("benchmark write");
    }

    fn timer_expired(&mut self, timer: u32) {
        Instance::timer_expired(self, timer).expect("benchmark timer_expired");
    }

    fn can_receive(&mut self) -> u32 {
        Instance::can_receive(self).expect("benchmark can_receive")
    }

    fn receive(&mut self, byte: u8) {
        Instance::receive(self, byte).expect("benchmark receive");
    }

    fn save_into(&mut self, out: &mut Vec<u8>) {
        Instance::save_into(self, out).expect("benchmark save");
    }

    fn load(&mut self, blob: &[u8]) {
        Instance::load(self, blob).expect("benchmark load");
    }

    fn host(&self) -> &BenchHost {
        Instance::host(self)
    }

    fn host_mut(&mut self) -> &mut BenchHost {
        Instance::host_mut(self)
    }
}

/// The Rust PL011 with its host, called directly: no ops table, no
/// adapter, no trampolines. What the device costs without the boundary.
#[derive(Debug, Clone)]
pub struct Native {
    device: Pl011,
    host: BenchHost,
}

impl Native {
    /// A PL011 in its power-on state.
    pub fn new() -> Native {
        let mut host = BenchHost::default();
        let device = Pl011::new(&mut host, &portlab_device::Properties::defaults_of::<Pl011>());
        Native { device, host }
    }
}

impl Default for Native {
    fn default() -> Self {
        Native::new()
    }
}

impl Target for Native {
    fn read(&mut self, offset: u64) -> u64 {
        self.device.read(&mut self.host, offset, 4)
    }

    fn write(&mut self, offset: u64, value: u64) {
        self.device.write(&mut self.host, offset, 4, value);
    }

    // The PL011 takes no 8-byte access and has no timer: no PL011
    // workload makes these calls (the HPET workloads do not run natively).
    fn write64(&mut self, offset: u64, value: u64) {
        self.device.write(&mut self.host, offset, 8, value);
    }

    fn timer_expired(&mut self, timer: u32) {
        self.device.timer_expired(&mut self.host, timer);
    }

    fn can_receive(&mut self) -> u32 {
        self.device.can_receive()
    }

    fn receive(&mut self, byte: u8) {
        let _accepted = self.device.receive(&mut self.host, byte);
    }

    fn save_into(&mut self, out: &mut Vec<u8>) {
        out.clear();
        self.device.save(&mut self.host, out);
    }

    fn load(&mut self, blob: &[u8]) {
        self.device.load(&mut self.host, blob).expect("benchmark load");
    }

    fn host(&self) -> &BenchHost {
        &self.host
    }

    fn host_mut(&mut self) -> &mut BenchHost {
        &mut self.host
    }
}
