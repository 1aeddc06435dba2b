//! Hosting a device, C or Rust, through its C ops table, behind safe types.
//!
//! The board never calls a device directly: it holds a [`DeviceType`] (an
//! ops table) and creates [`Instance`]s from it. A C model and a Rust model
//! exported by [`crate::export`] are driven by exactly the same calls.
//!
//! The host side of the table is a [`Host`] implementation `H`. Its
//! callbacks reach `H` through monomorphised trampolines; a panic inside
//! `H` is caught in the trampoline (it must not unwind through C frames),
//! stashed, and resumed once the device call has returned.

use std::any::Any;
use std::ffi::{CStr, c_char, c_void};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;

use crate::api::{Device, DeviceInfo, Host, LogKind};
use crate::error::Error;
use portlab_sys as sys;
use sys::{PortlabDevice, PortlabDeviceOps, PortlabHostOps, PortlabStatus};

/// A device type: the ops table of one implementation of one device.
#[derive(Clone, Copy)]
pub struct DeviceType {
    ops: &'static PortlabDeviceOps,
    type_name: &'static str,
}

impl std::fmt::Debug for DeviceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceType").field("type_name", &self.type_name).finish()
    }
}

impl DeviceType {
    /// The Rust device `D`, through the adapter's ops table.
    pub fn of<D: Device>() -> DeviceType {
        let type_name = D::INFO.type_name.to_str().unwrap_or("(non-UTF-8 type name)");
        DeviceType { ops: crate::export::ops::<D>(), type_name }
    }

    /// A device type from an ops table defined in C (or anywhere else).
    ///
    /// Checks the ABI version, that every entry point is present and that
    /// the type name is UTF-8.
    ///
    /// # Safety
    ///
    /// `ops.type_name` must be null or point to a NUL-terminated string
    /// that lives for `'static`, and every entry point must implement the
    /// contract of `portlab_device.h`.
    pub unsafe fn from_c_table(ops: &'static PortlabDeviceOps) -> Result<DeviceType, Error> {
        let complete = ops.create.is_some()
            && ops.destroy.is_some()
            && ops.reset.is_some()
            && ops.read.is_some()
            && ops.write.is_some()
            && ops.can_receive.is_some()
            && ops.receive.is_some()
            && ops.receive_break.is_some()
            && ops.timer_expired.is_some()
            && ops.save.is_some()
            && ops.load.is_some();
        if ops.abi_version != sys::PORTLAB_ABI_VERSION || !complete || ops.type_name.is_null() {
            return Err(Error::Invalid);
        }
        // SAFETY: non-null, and the caller guarantees a 'static
        // NUL-terminated string.
        let name = unsafe { CStr::from_ptr(ops.type_name) };
        let type_name = name.to_str().map_err(|_| Error::Invalid)?;
        Ok(DeviceType { ops, type_name })
    }

    /// The type name, such as `pl011` or `x-pl011-rust`.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The description from the table.
    pub fn info(&self) -> DeviceInfo {
        DeviceInfo {
            // SAFETY: checked non-null and NUL-terminated at construction.
            type_name: unsafe { CStr::from_ptr(self.ops.type_name) },
            region_size: self.ops.region_size,
            num_irqs: self.ops.num_irqs,
            num_timers: self.ops.num_timers,
            access_sizes: self.ops.access_sizes,
            state_device_id: self.ops.state_device_id,
        }
    }

    /// The raw table, for code that hands it to C.
    pub fn raw_ops(&self) -> &'static PortlabDeviceOps {
        self.ops
    }
}

/// The host object of one instance, and a panic caught in its callbacks.
struct HostCell<H> {
    host: H,
    panic: Option<Box<dyn Any + Send>>,
}

/// Runs a host callback on the `HostCell<H>` behind `ctx`, catching panics.
fn host_call<H: Host, R: Default>(ctx: *mut c_void, f: impl FnOnce(&mut H) -> R) -> R {
    // SAFETY: `ctx` is the `HostCell<H>` that `Instance::new` allocated and
    // passed to `create`; it is freed only after `destroy`. Devices call
    // back only while an `Instance` method (holding `&mut self`) is inside
    // a device call, and that method holds no reference to the cell.
    let cell = unsafe { &mut *ctx.cast::<HostCell<H>>() };
    if cell.panic.is_some() {
        return R::default();
    }
    match catch_unwind(AssertUnwindSafe(|| f(&mut cell.host))) {
        Ok(r) => r,
        Err(payload) => {
            cell.panic = Some(payload);
            R::default()
        }
    }
}

unsafe extern "C" fn cb_set_irq<H: Host>(ctx: *mut c_void, line: u32, level: u32) {
    host_call::<H, ()>(ctx, |h| h.set_irq(line, level != 0));
}

unsafe extern "C" fn cb_serial_send<H: Host>(ctx: *mut c_void, bytes: *const u8, len: u32) {
    let bytes: &[u8] = if bytes.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the header requires `bytes` to be valid for `len` bytes
        // during the call.
        unsafe { std::slice::from_raw_parts(bytes, len as usize) }
    };
    host_call::<H, ()>(ctx, |h| h.serial_send(bytes));
}

unsafe extern "C" fn cb_serial_set_break<H: Host>(ctx: *mut c_void, on: u32) {
    host_call::<H, ()>(ctx, |h| h.serial_set_break(on != 0));
}

unsafe extern "C" fn cb_clock_ns<H: Host>(ctx: *mut c_void) -> u64 {
    host_call::<H, u64>(ctx, |h| h.clock_ns())
}

unsafe extern "C" fn cb_rtc_epoch_s<H: Host>(ctx: *mut c_void) -> u64 {
    host_call::<H, u64>(ctx, |h| h.rtc_epoch_s())
}

unsafe extern "C" fn cb_timer_arm<H: Host>(ctx: *mut c_void, timer: u32, deadline_ns: u64) {
    host_call::<H, ()>(ctx, |h| h.timer_arm(timer, deadline_ns));
}

unsafe extern "C" fn cb_timer_cancel<H: Host>(ctx: *mut c_void, timer: u32) {
    host_call::<H, ()>(ctx, |h| h.timer_cancel(timer));
}

unsafe extern "C" fn cb_log<H: Host>(ctx: *mut c_void, kind: u32, message: *const c_char) {
    let text = if message.is_null() {
        String::new()
    } else {
        // SAFETY: the header requires a NUL-terminated message valid for
        // the duration of the call.
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    };
    host_call::<H, ()>(ctx, |h| h.log(LogKind::from_code(kind), &text));
}

struct HostTable<H>(PhantomData<H>);

impl<H: Host> HostTable<H> {
    const OPS: PortlabHostOps = PortlabHostOps {
        set_irq: Some(cb_set_irq::<H>),
        serial_send: Some(cb_serial_send::<H>),
        serial_set_break: Some(cb_serial_set_break::<H>),
        clock_ns: Some(cb_clock_ns::<H>),
        rtc_epoch_s: Some(cb_rtc_epoch_s::<H>),
        timer_arm: Some(cb_timer_arm::<H>),
        timer_cancel: Some(cb_timer_cancel::<H>),
        log: Some(cb_log::<H>),
    };
}

/// One live device instance, driven through its ops table, with its host.
pub struct Instance<H: Host> {
    device_type: DeviceType,
    dev: NonNull<PortlabDevice>,
    cell: NonNull<HostCell<H>>,
}

impl<H: Host> std::fmt::Debug for Instance<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("device_type", &self.device_type).finish()
    }
}

impl<H: Host> Instance<H> {
    /// Creates an instance of `device_type` hosted by `host`.
    pub fn new(device_type: DeviceType, host: H) -> Result<Self, Error> {
        let cell = NonNull::from(Box::leak(Box::new(HostCell { host, panic: None })));
        let host_ops: &'static PortlabHostOps = &HostTable::<H>::OPS;
        let mut dev: *mut PortlabDevice = std::ptr::null_mut();
        let status = match device_type.ops.create {
            // SAFETY: `host_ops` is 'static, `cell` stays allocated until
            // the instance is dropped (after destroy), and `dev` is a valid
            // place for the out-pointer.
            Some(create) => unsafe { create(host_ops, cell.as_ptr().cast(), &mut dev) },
            None => sys::PORTLAB_ERR_INVALID,
        };
        // SAFETY: `cell` is live (from Box::leak above) and `create` has
        // returned, so no callback holds a reference to it.
        let panic = unsafe { &mut (*cell.as_ptr()).panic }.take();
        let result = Error::check(status).and_then(|()| NonNull::new(dev).ok_or(Error::Invalid));
        match result {
            Ok(dev) => {
                let instance = Instance { device_type, dev, cell };
                if let Some(payload) = panic {
                    drop(instance);
                    resume_unwind(payload);
                }
                Ok(instance)
            }
            Err(e) => {
                // SAFETY: creation failed, so no device refers to the cell;
                // it came from Box::leak and is freed exactly once here.
                drop(unsafe { Box::from_raw(cell.as_ptr()) });
                if let Some(payload) = panic {
                    resume_unwind(payload);
                }
                Err(e)
            }
        }
    }

    /// The type this instance was created from.
    pub fn device_type(&self) -> DeviceType {
        self.device_type
    }

    /// The host object.
    pub fn host(&self) -> &H {
        // SAFETY: `&self` means no device call is in progress (those need
        // `&mut self`), so nothing else references the cell.
        unsafe { &self.cell.as_ref().host }
    }

    /// The host object, mutably.
    pub fn host_mut(&mut self) -> &mut H {
        // SAFETY: as in `host`, with `&mut self` excluding every other use.
        unsafe { &mut self.cell.as_mut().host }
    }

    /// Calls one entry point, then resumes a panic caught in a callback.
    fn call(&mut self, f: impl FnOnce(&PortlabDeviceOps, *mut PortlabDevice) -> PortlabStatus) -> Result<(), Error> {
        let status = f(self.device_type.ops, self.dev.as_ptr());
        // SAFETY: the device call has returned, so no callback holds the
        // cell; `&mut self` excludes every other use.
        if let Some(payload) = unsafe { self.cell.as_mut() }.panic.take() {
            resume_unwind(payload);
        }
        Error::check(status)
    }

    /// Device reset.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.call(|ops, dev| match ops.reset {
            // SAFETY: `dev` is this instance's live device pointer.
            Some(f) => unsafe { f(dev) },
            None => sys::PORTLAB_ERR_INVALID,
        })
    }

    /// MMIO read.
    pub fn read(&mut self, offset: u64, size: u32) -> Result<u64, Error> {
        let mut value = 0u64;
        self.call(|ops, dev| match ops.read {
            // SAFETY: live device pointer; `value` is a valid out-pointer.
            Some(f) => unsafe { f(dev, offset, size, &mut value) },
            None => sys::PORTLAB_ERR_INVALID,
        })?;
        Ok(value)
    }

    /// MMIO write.
    pub fn write(&mut self, offset: u64, size: u32, value: u64) -> Result<(), Error> {
        self.call(|ops, dev| match ops.write {
            // SAFETY: live device pointer.
            Some(f) => unsafe { f(dev, offset, size, value) },
            None => sys::PORTLAB_ERR_INVALID,
        })
    }

    /// How many serial bytes the device can take now.
    pub fn can_receive(&mut self) -> Result<u32, Error> {
        let mut room = 0u32;
        self.call(|ops, dev| match ops.can_receive {
            // SAFETY: live device pointer; `room` is a valid out-pointer.
            Some(f) => unsafe { f(dev, &mut room) },
            None => sys::PORTLAB_ERR_INVALID,
        })?;
        Ok(room)
    }

    /// Delivers one serial byte.
    pub fn receive(&mut self, byte: u8) -> Result<(), Error> {
        self.call(|ops, dev| match ops.receive {
            // SAFETY: live device pointer.
            Some(f) => unsafe { f(dev, byte) },
            None => sys::PORTLAB_ERR_INVALID,
        })
    }

    /// Delivers a break condition.
    pub fn receive_break(&mut self) -> Result<(), Error> {
        self.call(|ops, dev| match ops.receive_break {
            // SAFETY: live device pointer.
            Some(f) => unsafe { f(dev) },
            None => sys::PORTLAB_ERR_INVALID,
        })
    }

    /// Tells the device that timer `timer` expired.
    pub fn timer_expired(&mut self, timer: u32) -> Result<(), Error> {
        self.call(|ops, dev| match ops.timer_expired {
            // SAFETY: live device pointer.
            Some(f) => unsafe { f(dev, timer) },
            None => sys::PORTLAB_ERR_INVALID,
        })
    }

    /// Saves the migration blob into `out` (replacing its contents),
    /// reusing its allocation.
    pub fn save_into(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.clear();
        loop {
            let cap = u32::try_from(out.capacity()).unwrap_or(u32::MAX);
            let mut len = 0u32;
            let buf = out.as_mut_ptr();
            let result = self.call(|ops, dev| match ops.save {
                // SAFETY: live device pointer; `buf` is valid for writes of
                // `cap` bytes (the Vec's spare capacity), `len` is a valid
                // out-pointer.
                Some(f) => unsafe { f(dev, buf, cap, &mut len) },
                None => sys::PORTLAB_ERR_INVALID,
            });
            match result {
                Ok(()) if len <= cap => {
                    // SAFETY: the device initialised the first `len <= cap`
                    // bytes of the buffer.
                    unsafe { out.set_len(len as usize) };
                    return Ok(());
                }
                Err(Error::BufferTooSmall) if len > cap => out.reserve_exact(len as usize),
                Ok(()) | Err(Error::BufferTooSmall) => return Err(Error::Invalid),
                Err(e) => return Err(e),
            }
        }
    }

    /// Saves the migration blob.
    pub fn save(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.save_into(&mut out)?;
        Ok(out)
    }

    /// Loads a migration blob.
    pub fn load(&mut self, blob: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(blob.len()).map_err(|_| Error::Invalid)?;
        self.call(|ops, dev| match ops.load {
            // SAFETY: live device pointer; `blob` is valid for `len` bytes.
            Some(f) => unsafe { f(dev, blob.as_ptr(), len) },
            None => sys::PORTLAB_ERR_INVALID,
        })
    }

    /// Destroys the device and returns its host object.
    pub fn into_host(self) -> H {
        let this = std::mem::ManuallyDrop::new(self);
        this.destroy_device();
        // SAFETY: the device is destroyed, so nothing refers to the cell;
        // it came from Box::leak and, with `self` not dropped, is freed
        // exactly once here.
        let cell = unsafe { Box::from_raw(this.cell.as_ptr()) };
        cell.host
    }

    fn destroy_device(&self) {
        if let Some(destroy) = self.device_type.ops.destroy {
            // SAFETY: the device pointer is live and given back exactly once
            // (from Drop or into_host, never both).
            unsafe { destroy(self.dev.as_ptr()) };
        }
    }
}

impl<H: Host> Drop for Instance<H> {
    fn drop(&mut self) {
        self.destroy_device();
        // SAFETY: the device is destroyed, so nothing refers to the cell;
        // it came from Box::leak and is freed exactly once here.
        drop(unsafe { Box::from_raw(self.cell.as_ptr()) });
    }
}
