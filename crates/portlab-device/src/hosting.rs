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
use crate::schema::Description;
use portlab_sys as sys;
use sys::{PortlabDevice, PortlabDeviceOps, PortlabHostOps, PortlabStatus};

/// A device type: the ops table of one implementation of one device, and
/// what it declares, checked once when the type is made.
#[derive(Clone, Copy)]
pub struct DeviceType {
    ops: &'static PortlabDeviceOps,
    description: &'static Description,
}

impl std::fmt::Debug for DeviceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceType").field("type_name", &self.description.type_name).finish()
    }
}

/// Takes a validated entry point out of its `Option`.
macro_rules! entry {
    ($ops:expr, $name:ident) => {
        match $ops.$name {
            Some(f) => f,
            // `Description::of_table` refused every table with a missing
            // entry point, so a `DeviceType` never reaches this arm.
            None => unreachable!(concat!("validated ops table without ", stringify!($name))),
        }
    };
}

impl DeviceType {
    /// The Rust device `D`, through the adapter's ops table.
    ///
    /// # Panics
    ///
    /// If `D`'s description is inconsistent (a schema that does not cover
    /// its payload, a property whose default is out of range): a bug in
    /// the device's own declarations, reported with what is wrong.
    pub fn of<D: Device>() -> DeviceType {
        let ops = crate::export::ops::<D>();
        // SAFETY: the adapter's table points only to 'static constants.
        match unsafe { Description::of_table(ops) } {
            Ok(description) => DeviceType { ops, description },
            Err(message) => panic!("invalid device description: {message}"),
        }
    }

    /// A device type from an ops table defined in C (or anywhere else).
    ///
    /// Checks the table once (ABI version, every entry point present, type
    /// name, properties, state schema); the error says what is wrong, and
    /// for a table of another interface version names both versions.
    ///
    /// # Safety
    ///
    /// Every pointer in `ops` must be null or valid for `'static` as the
    /// header describes, and every entry point must implement the contract
    /// of `portlab_device.h`.
    pub unsafe fn from_c_table(ops: &'static PortlabDeviceOps) -> Result<DeviceType, String> {
        // SAFETY: forwarded from the caller.
        let description = unsafe { Description::of_table(ops) }?;
        Ok(DeviceType { ops, description })
    }

    /// The type name, such as `pl011` or `x-pl011-rust`.
    pub fn type_name(&self) -> &'static str {
        self.description.type_name
    }

    /// What the type declares: properties, input lines, state schema.
    pub fn description(&self) -> &'static Description {
        self.description
    }

    /// The description from the table.
    pub fn info(&self) -> DeviceInfo {
        let schema: &'static sys::PortlabStateSchema =
            // SAFETY: checked non-null at construction; 'static per the table's contract.
            unsafe { &*self.ops.state_schema };
        let properties: &'static [sys::PortlabPropertyInfo] = if self.ops.num_properties == 0 {
            &[]
        } else {
            // SAFETY: checked non-null with this many 'static elements at construction.
            unsafe { std::slice::from_raw_parts(self.ops.properties, self.ops.num_properties as usize) }
        };
        DeviceInfo {
            // SAFETY: checked non-null and NUL-terminated at construction.
            type_name: unsafe { CStr::from_ptr(self.ops.type_name) },
            region_size: self.ops.region_size,
            num_irqs: self.ops.num_irqs,
            num_timers: self.ops.num_timers,
            access_sizes: self.ops.access_sizes,
            state_device_id: self.ops.state_device_id,
            num_inputs: self.ops.num_inputs,
            properties,
            state_schema: schema,
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
        std::borrow::Cow::Borrowed("")
    } else {
        // SAFETY: the header requires a NUL-terminated message valid for
        // the duration of the call, which is as long as `text` lives.
        // Borrowed unless it is not UTF-8: no copy per guest error.
        unsafe { CStr::from_ptr(message) }.to_string_lossy()
    };
    host_call::<H, ()>(ctx, |h| h.log(LogKind::from_code(kind), &text));
}

unsafe extern "C" fn cb_mem_write<H: Host>(ctx: *mut c_void, addr: u64, size: u32, value: u64) {
    host_call::<H, ()>(ctx, |h| h.mem_write(addr, size, value));
}

unsafe extern "C" fn cb_timer_arm_first<H: Host>(ctx: *mut c_void, timer: u32) {
    host_call::<H, ()>(ctx, |h| h.timer_arm_first(timer));
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
        mem_write: Some(cb_mem_write::<H>),
        timer_arm_first: Some(cb_timer_arm_first::<H>),
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
    /// Creates an instance of `device_type` hosted by `host`, with every
    /// property at its default.
    pub fn new(device_type: DeviceType, host: H) -> Result<Self, Error> {
        Self::with_properties(device_type, host, &[])
    }

    /// Creates an instance with creation properties (interface v2). The
    /// device checks them: an unknown name or a value out of range fails
    /// with [`Error::Invalid`] (and a log message naming the property)
    /// and creates nothing. A name with a NUL byte is refused here.
    pub fn with_properties(device_type: DeviceType, host: H, properties: &[(String, u64)]) -> Result<Self, Error> {
        let names: Vec<std::ffi::CString> = properties
            .iter()
            .map(|(name, _)| std::ffi::CString::new(name.as_str()))
            .collect::<Result<_, _>>()
            .map_err(|_| Error::Invalid)?;
        let list: Vec<sys::PortlabProperty> = names
            .iter()
            .zip(properties)
            .map(|(name, (_, value))| sys::PortlabProperty { name: name.as_ptr(), value: *value })
            .collect();
        let num_props = u32::try_from(list.len()).map_err(|_| Error::Invalid)?;
        let cell = NonNull::from(Box::leak(Box::new(HostCell { host, panic: None })));
        let host_ops: &'static PortlabHostOps = &HostTable::<H>::OPS;
        let mut dev: *mut PortlabDevice = std::ptr::null_mut();
        let create = entry!(device_type.ops, create);
        // SAFETY: `host_ops` is 'static, `cell` stays allocated until the
        // instance is dropped (after destroy), `list` and the names it
        // points to live across the call, and `dev` is a valid place for
        // the out-pointer.
        let status = unsafe { create(host_ops, cell.as_ptr().cast(), list.as_ptr(), num_props, &mut dev) };
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
    /// `#[inline]` for the same reason as `read` and `write`: left to the
    /// heuristics, it was once outlined when code elsewhere in the crate
    /// grew (the slot layouts of the lockstep coverage), which cost every
    /// register workload, floor included, 34 instructions a call.
    #[inline]
    fn call(&mut self, f: impl FnOnce(&PortlabDeviceOps, *mut PortlabDevice) -> PortlabStatus) -> Result<(), Error> {
        let status = f(self.device_type.ops, self.dev.as_ptr());
        // SAFETY: the device call has returned, so no callback holds the
        // cell; `&mut self` excludes every other use.
        let cell = unsafe { self.cell.as_mut() };
        // Tested before it is taken: `take` alone would store `None` back
        // on every call, a store into the host's cell per MMIO access.
        if cell.panic.is_some()
            && let Some(payload) = cell.panic.take()
        {
            resume_unwind(payload);
        }
        Error::check(status)
    }

    /// Device reset.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.call(|ops, dev| {
            let f = entry!(ops, reset);
            // SAFETY: `dev` is this instance's live device pointer.
            unsafe { f(dev) }
        })
    }

    /// MMIO read. `#[inline]`, as `write`: the benchmark host's register
    /// workloads measure this path, and left to the inliner's heuristics
    /// it moved with unrelated code of this crate (a change to the schema
    /// checks once cost every write workload 34 instructions, floor
    /// included).
    #[inline]
    pub fn read(&mut self, offset: u64, size: u32) -> Result<u64, Error> {
        let mut value = 0u64;
        self.call(|ops, dev| {
            let f = entry!(ops, read);
            // SAFETY: live device pointer; `value` is a valid out-pointer.
            unsafe { f(dev, offset, size, &mut value) }
        })?;
        Ok(value)
    }

    /// MMIO write (inlined, see `read`).
    #[inline]
    pub fn write(&mut self, offset: u64, size: u32, value: u64) -> Result<(), Error> {
        self.call(|ops, dev| {
            let f = entry!(ops, write);
            // SAFETY: live device pointer.
            unsafe { f(dev, offset, size, value) }
        })
    }

    /// How many serial bytes the device can take now.
    pub fn can_receive(&mut self) -> Result<u32, Error> {
        let mut room = 0u32;
        self.call(|ops, dev| {
            let f = entry!(ops, can_receive);
            // SAFETY: live device pointer; `room` is a valid out-pointer.
            unsafe { f(dev, &mut room) }
        })?;
        Ok(room)
    }

    /// Delivers one serial byte.
    pub fn receive(&mut self, byte: u8) -> Result<(), Error> {
        self.call(|ops, dev| {
            let f = entry!(ops, receive);
            // SAFETY: live device pointer.
            unsafe { f(dev, byte) }
        })
    }

    /// Delivers a break condition.
    pub fn receive_break(&mut self) -> Result<(), Error> {
        self.call(|ops, dev| {
            let f = entry!(ops, receive_break);
            // SAFETY: live device pointer.
            unsafe { f(dev) }
        })
    }

    /// Tells the device that timer `timer` expired.
    pub fn timer_expired(&mut self, timer: u32) -> Result<(), Error> {
        self.call(|ops, dev| {
            let f = entry!(ops, timer_expired);
            // SAFETY: live device pointer.
            unsafe { f(dev, timer) }
        })
    }

    /// Drives input line `line` to `level` (interface v2). A line the
    /// device does not have is [`Error::Invalid`], and changes nothing.
    pub fn set_input(&mut self, line: u32, level: bool) -> Result<(), Error> {
        self.call(|ops, dev| {
            let f = entry!(ops, set_input);
            // SAFETY: live device pointer.
            unsafe { f(dev, line, u32::from(level)) }
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
            let result = self.call(|ops, dev| {
                let f = entry!(ops, save);
                // SAFETY: live device pointer; `buf` is valid for writes of
                // `cap` bytes (the Vec's spare capacity), `len` is a valid
                // out-pointer.
                unsafe { f(dev, buf, cap, &mut len) }
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

    /// One raw `save` call into `buf` (its length is the capacity; an
    /// empty one is passed as NULL): the status and the length the device
    /// reported. For tests of the "buffer too small" contract.
    #[cfg(test)]
    pub(crate) fn save_raw(&mut self, buf: &mut [u8]) -> (Result<(), Error>, u32) {
        let mut len = u32::MAX;
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let ptr = if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr() };
        let result = self.call(|ops, dev| {
            let f = entry!(ops, save);
            // SAFETY: live device pointer; `ptr` is null or valid for writes
            // of `cap` bytes; `len` is a valid out-pointer.
            unsafe { f(dev, ptr, cap, &mut len) }
        });
        (result, len)
    }

    /// Saves the migration blob, into a buffer of
    /// [`migration::SAVE_CAPACITY`](crate::migration::SAVE_CAPACITY) to
    /// start with.
    pub fn save(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(crate::migration::SAVE_CAPACITY);
        self.save_into(&mut out)?;
        Ok(out)
    }

    /// Loads a migration blob.
    pub fn load(&mut self, blob: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(blob.len()).map_err(|_| Error::Invalid)?;
        self.call(|ops, dev| {
            let f = entry!(ops, load);
            // SAFETY: live device pointer; `blob` is valid for `len` bytes.
            unsafe { f(dev, blob.as_ptr(), len) }
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
        let destroy = entry!(self.device_type.ops, destroy);
        // SAFETY: the device pointer is live and given back exactly once
        // (from Drop or into_host, never both).
        unsafe { destroy(self.dev.as_ptr()) };
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
