//! The safe device API: what a host gives a device ([`Host`]) and what a
//! device gives a host ([`Device`]), the header's two tables as traits.

use std::ffi::CStr;

use crate::migration::SaveBuffer;
use crate::schema::{Description, Property};
use crate::{Error, LoadError};
use portlab_sys as sys;

/// The kind of a diagnostic a device reports through [`Host::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// The guest did something the device does not support (a bad offset,
    /// a write to a read-only register): QEMU's `LOG_GUEST_ERROR`.
    GuestError,
    /// The guest used a feature the model leaves out: QEMU's `LOG_UNIMP`.
    Unimplemented,
    /// A shadow device saw its two implementations disagree.
    Divergence,
}

impl LogKind {
    /// The `PORTLAB_LOG_*` code.
    pub fn code(self) -> u32 {
        match self {
            LogKind::GuestError => sys::PORTLAB_LOG_GUEST_ERROR,
            LogKind::Unimplemented => sys::PORTLAB_LOG_UNIMPLEMENTED,
            LogKind::Divergence => sys::PORTLAB_LOG_DIVERGENCE,
        }
    }

    /// The kind for a `PORTLAB_LOG_*` code (unknown codes count as guest
    /// errors: a diagnostic is never dropped).
    pub fn from_code(code: u32) -> LogKind {
        match code {
            sys::PORTLAB_LOG_UNIMPLEMENTED => LogKind::Unimplemented,
            sys::PORTLAB_LOG_DIVERGENCE => LogKind::Divergence,
            _ => LogKind::GuestError,
        }
    }

    /// A short label for printing.
    pub fn label(self) -> &'static str {
        match self {
            LogKind::GuestError => "guest error",
            LogKind::Unimplemented => "unimplemented",
            LogKind::Divergence => "divergence",
        }
    }
}

/// What a host gives a device: `PortlabHostOps` as safe methods.
///
/// A device calls these while it handles one of its own operations. The
/// board implements it for every device it hosts; the FFI adapter
/// implements it over the C callbacks for a Rust device hosted by C; tests
/// implement it with a recorder.
pub trait Host {
    /// Sets output line `line` to `level`; setting the current level again
    /// is allowed (the host logs only changes).
    fn set_irq(&mut self, line: u32, level: bool);
    /// Sends bytes to the serial backend.
    fn serial_send(&mut self, bytes: &[u8]);
    /// Starts or stops sending a break condition on the serial backend.
    fn serial_set_break(&mut self, on: bool);
    /// The virtual clock in nanoseconds.
    fn clock_ns(&mut self) -> u64;
    /// Unix seconds of the wall clock at virtual time 0.
    fn rtc_epoch_s(&mut self) -> u64;
    /// Arms timer `timer` for `deadline_ns`, replacing a pending deadline.
    fn timer_arm(&mut self, timer: u32, deadline_ns: u64);
    /// Cancels timer `timer` (no-op when not armed).
    fn timer_cancel(&mut self, timer: u32);
    /// Reports a diagnostic. Never part of the canonical event log.
    fn log(&mut self, kind: LogKind, message: &str);
    /// Writes `size` bytes (1, 2, 4 or 8) of `value` into guest memory at
    /// `addr` (interface v2: DMA, the HPET's FSB/MSI messages).
    fn mem_write(&mut self, addr: u64, size: u32, value: u64);
    /// Arms `timer` to fire at once, ahead of every timer pending now
    /// (interface v2: QEMU's timer list given a negative expiry).
    fn timer_arm_first(&mut self, timer: u32);
}

/// The description of a device type, the data half of `PortlabDeviceOps`.
#[derive(Debug, Clone, Copy)]
pub struct DeviceInfo {
    /// Type name, such as `x-pl011-rust`.
    pub type_name: &'static CStr,
    /// Size of the MMIO region in bytes.
    pub region_size: u64,
    /// Number of output IRQ lines.
    pub num_irqs: u32,
    /// Number of timers (ids `0..num_timers`).
    pub num_timers: u32,
    /// Accepted access sizes, a mask of `PORTLAB_ACCESS_*`.
    pub access_sizes: u32,
    /// Device id in the migration container.
    pub state_device_id: u16,
    /// Number of input lines (interface v2).
    pub num_inputs: u32,
    /// Creation properties (interface v2), built with
    /// [`schema::property`](crate::schema::property).
    pub properties: &'static [sys::PortlabPropertyInfo],
    /// The migration payload as data (interface v2), built with
    /// [`schema::schema`](crate::schema::schema).
    pub state_schema: &'static sys::PortlabStateSchema,
}

impl DeviceInfo {
    /// Whether an access of `size` bytes at `offset` is one this device
    /// accepts: a size in the mask, aligned to itself, inside the region.
    /// Inlined into each adapter entry point, where the device's
    /// `DeviceInfo` is a constant and the test folds with it.
    #[inline(always)]
    pub fn access_ok(&self, offset: u64, size: u32) -> bool {
        crate::access::ok(self.access_sizes, self.region_size, offset, size)
    }
}

/// The creation property values of one instance, resolved against the
/// device's declared properties (defaults filled in, ranges checked).
#[derive(Debug, Clone)]
pub struct Properties {
    declared: &'static [Property],
    values: Vec<u64>,
}

impl Properties {
    /// Resolves `given` against what `description` declares.
    pub fn resolve(description: &'static Description, given: &[(String, u64)]) -> Result<Properties, String> {
        let values = description.resolve_properties(given)?;
        Ok(Properties { declared: &description.properties, values })
    }

    /// Every property `description` declares at its default: what
    /// [`Properties::resolve`] gives for an empty list, without its checks.
    #[inline]
    pub fn defaults(description: &'static Description) -> Properties {
        let declared = &description.properties;
        // Most devices declare none: no iterator to set up on a creation.
        let values = if declared.is_empty() { Vec::new() } else { declared.iter().map(|p| p.default).collect() };
        Properties { declared, values }
    }

    /// Every property of `D` at its default: what a host that gives no
    /// `config` (a test, a benchmark) creates the device with.
    pub fn defaults_of<D: Device>() -> Properties {
        Properties::defaults(crate::DeviceType::of::<D>().description())
    }

    /// The value of the declared property `name`.
    ///
    /// # Panics
    ///
    /// If the device does not declare `name`: a programming error of the
    /// device, which the adapter turns into a refused creation.
    pub fn get(&self, name: &str) -> u64 {
        match self.declared.iter().position(|p| p.name == name) {
            Some(i) => self.values[i],
            None => panic!("property `{name}` is not declared in the device's INFO.properties"),
        }
    }

    /// Every value, in declaration order.
    pub fn values(&self) -> &[u64] {
        &self.values
    }
}

/// What a device gives a host: `PortlabDeviceOps` as a safe trait.
///
/// Implement it with a plain state machine: registers in, effects out
/// through the [`Host`]. Nothing here knows about FFI; the adapter in
/// [`crate::export`] turns any implementation into a C ops table.
///
/// The adapter checks every access against [`DeviceInfo::access_ok`] and
/// that a written value fits its size before calling [`Device::read`] or
/// [`Device::write`], so those never see an invalid access.
pub trait Device: Sized + 'static {
    /// The device's description.
    const INFO: DeviceInfo;

    /// A new instance in its power-on state, with its creation properties
    /// (already checked against `INFO.properties`). May read the clock and
    /// the RTC epoch; must not call other host methods.
    fn new(host: &mut impl Host, properties: &Properties) -> Self;
    /// Device reset.
    fn reset(&mut self, host: &mut impl Host);
    /// MMIO read of `size` bytes at `offset` (already validated).
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64;
    /// MMIO write of `size` bytes at `offset` (already validated; `value`
    /// fits in `size`).
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64);
    /// How many serial input bytes the device can take now (0: none).
    fn can_receive(&self) -> u32 {
        0
    }
    /// One byte of serial input. A device without a serial backend keeps
    /// the default, which refuses it (`PORTLAB_ERR_INVALID`), as its C
    /// model does: both must return the same status.
    fn receive(&mut self, _host: &mut impl Host, _byte: u8) -> Result<(), Error> {
        Err(Error::Invalid)
    }
    /// A break condition on the serial input.
    fn receive_break(&mut self, _host: &mut impl Host) {}
    /// Timer `timer` expired; the clock reads its deadline.
    fn timer_expired(&mut self, _host: &mut impl Host, _timer: u32) {}
    /// Input line `line` (below `INFO.num_inputs`, already checked) was
    /// driven to `level`; called for every drive, also a repeated level.
    fn set_input(&mut self, _host: &mut impl Host, _line: u32, _level: bool) {}
    /// Saves the migration blob into `out`, with a
    /// [`BlobWriter`](crate::migration::BlobWriter). Through the C
    /// interface `out` is the host's own buffer, as for a C model. Never
    /// changes the device; may read the clock (an HPET saves its running
    /// counter as of now).
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>);
    /// Replaces the state with a blob's; on error leaves it untouched.
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError>;
}
