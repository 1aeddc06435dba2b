//! The safe Rust device API, and the one place where Rust meets the C
//! device interface.
//!
//! # Where this sits in the port
//!
//! ```text
//!  portlab-cli ── portlab-board ──┐
//!                                 ├── portlab-device (this crate: every hand-written `unsafe`)
//!  portlab-pl011 (forbid unsafe) ─┘        │
//!                                     portlab-sys (bindgen output + the C models)
//! ```
//!
//! A device is ported in three moves:
//!
//! 1. Write the device as a plain state machine that implements [`Device`]:
//!    registers in, effects out through a [`Host`]. It needs no `unsafe`,
//!    so its crate says `#![forbid(unsafe_code)]`.
//! 2. Export it through the C interface with [`export::ops`] (for a Rust
//!    host such as the board, via [`DeviceType::of`]) or under a C symbol
//!    with [`export_device!`] (for a C host). The table's type is the one
//!    bindgen generated from `c-src/include/portlab_device.h`, so the Rust
//!    device and the header cannot disagree silently.
//! 3. Host it like any C model: [`Instance`] drives any ops table, C or
//!    Rust, through the same calls. That is what lets the board run one
//!    trace on both implementations and compare the event logs.
//!
//! No panic crosses the C boundary: the adapter catches it, the host gets
//! [`Error::Poisoned`] (`PORTLAB_ERR_POISONED`), and the instance refuses
//! every further call with the same error instead of running on a broken
//! state.
//!
//! # Example
//!
//! A one-register device, exported and driven through its C ops table:
//!
//! ```
//! use portlab_device::{Device, DeviceInfo, DeviceType, Host, Instance, LoadError, LogKind, Properties, sys};
//! use portlab_device::migration::{check_container, BlobWriter, SaveBuffer};
//! use portlab_device::schema::{field, property, schema};
//!
//! /// A scratch register at offset 0 that raises IRQ 0 while non-zero.
//! struct Scratch { value: u32 }
//!
//! // What the device declares (interface v2): one creation property and
//! // its migration payload as data.
//! const PROPERTIES: [sys::PortlabPropertyInfo; 1] = [property(c"start", c"the value at creation", 0, 0, 99)];
//! const FIELDS: [sys::PortlabStateField; 1] = [field(c"value", 0, 4, 1)];
//! const SCHEMA: sys::PortlabStateSchema = schema(1, 4, &FIELDS);
//!
//! impl Device for Scratch {
//!     const INFO: DeviceInfo = DeviceInfo {
//!         type_name: c"x-scratch-rust",
//!         region_size: 0x10,
//!         num_irqs: 1,
//!         num_timers: 0,
//!         access_sizes: 4,
//!         state_device_id: 0x7f00,
//!         num_inputs: 0,
//!         properties: &PROPERTIES,
//!         state_schema: &SCHEMA,
//!     };
//!     fn new(_host: &mut impl Host, properties: &Properties) -> Self {
//!         Scratch { value: properties.get("start") as u32 }
//!     }
//!     fn reset(&mut self, _host: &mut impl Host) { self.value = 0; }
//!     fn read(&mut self, host: &mut impl Host, offset: u64, _size: u32) -> u64 {
//!         if offset != 0 { host.log(LogKind::GuestError, "bad offset"); return 0; }
//!         u64::from(self.value)
//!     }
//!     fn write(&mut self, host: &mut impl Host, offset: u64, _size: u32, value: u64) {
//!         if offset == 0 {
//!             self.value = value as u32;
//!             host.set_irq(0, self.value != 0);
//!         }
//!     }
//!     fn save(&self, _host: &mut impl Host, out: &mut SaveBuffer<'_>) {
//!         let mut blob = BlobWriter::new(out, 0x7f00, 1, 4);
//!         blob.u32(self.value);
//!         blob.finish();
//!     }
//!     fn load(&mut self, _host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
//!         let payload = check_container(blob, 0x7f00, 1, |_| 4)?;
//!         self.value = payload.u32(0);
//!         Ok(())
//!     }
//! }
//!
//! /// A host that records IRQ levels.
//! #[derive(Default)]
//! struct Recorder { irq: bool }
//! impl Host for Recorder {
//!     fn set_irq(&mut self, _line: u32, level: bool) { self.irq = level; }
//!     fn serial_send(&mut self, _bytes: &[u8]) {}
//!     fn serial_set_break(&mut self, _on: bool) {}
//!     fn clock_ns(&mut self) -> u64 { 0 }
//!     fn rtc_epoch_s(&mut self) -> u64 { 0 }
//!     fn timer_arm(&mut self, _timer: u32, _deadline_ns: u64) {}
//!     fn timer_cancel(&mut self, _timer: u32) {}
//!     fn log(&mut self, _kind: LogKind, _message: &str) {}
//!     fn mem_write(&mut self, _addr: u64, _size: u32, _value: u64) {}
//!     fn timer_arm_first(&mut self, _timer: u32) {}
//! }
//!
//! let scratch = DeviceType::of::<Scratch>();
//! assert_eq!(scratch.type_name(), "x-scratch-rust");
//! let mut dev = Instance::new(scratch, Recorder::default()).unwrap();
//! // A property out of range creates nothing.
//! assert!(Instance::with_properties(scratch, Recorder::default(), &[("start".into(), 100)]).is_err());
//! dev.write(0, 4, 7).unwrap();
//! assert!(dev.host().irq);
//! assert_eq!(dev.read(0, 4).unwrap(), 7);
//! // The adapter rejects what the description does not allow.
//! assert!(dev.read(2, 4).is_err());
//! let blob = dev.save().unwrap();
//! let mut copy = Instance::new(scratch, Recorder::default()).unwrap();
//! copy.load(&blob).unwrap();
//! assert_eq!(copy.read(0, 4).unwrap(), 7);
//! ```

pub mod access;
pub mod api;
pub mod bench;
#[cfg(feature = "c-models")]
pub mod c_models;
pub mod error;
pub mod explore;
pub mod export;
pub mod hosting;
pub mod migration;
pub mod qemu;
pub mod schema;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use api::{Device, DeviceInfo, Host, LogKind, Properties};
pub use error::{Error, LoadError};
pub use hosting::{DeviceType, Instance};
pub use portlab_sys as sys;

#[cfg(test)]
mod tests;
