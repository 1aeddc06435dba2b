//! Exporting a Rust [`Device`] through the C ops table.
//!
//! [`ops::<D>()`](ops) builds a `PortlabDeviceOps` (the type bindgen
//! generated from the header) whose entry points are monomorphised
//! `extern "C"` functions for `D`. Because the table is the generated type,
//! a signature that drifts from the header does not compile.
//!
//! Each entry point:
//! - checks its pointers and the access (size, alignment, region);
//! - runs the device inside `catch_unwind`, so no panic crosses the C
//!   boundary: a panic becomes `PORTLAB_ERR_POISONED` and marks the
//!   instance poisoned, after which every operation but `destroy` fails
//!   with the same code instead of running on a broken state.

use std::ffi::{CStr, CString, c_char, c_void};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::api::{Device, Host, LogKind, Properties};
use crate::migration::SaveBuffer;
use crate::schema::Description;
use portlab_sys as sys;
use sys::{PortlabDevice, PortlabDeviceOps, PortlabHostOps, PortlabStatus};

const OK: PortlabStatus = sys::PORTLAB_OK as PortlabStatus;

/// The C host's callbacks, seen by a Rust device as a [`Host`].
///
/// The callbacks are taken out of their `Option`s once, in `create`, which
/// refuses a host table with a missing one; every call afterwards is a
/// plain indirect call. The field types are written out, so a callback
/// signature that drifts in the header fails to compile here.
#[derive(Debug)]
pub struct CHost {
    set_irq: unsafe extern "C" fn(*mut c_void, u32, u32),
    serial_send: unsafe extern "C" fn(*mut c_void, *const u8, u32),
    serial_set_break: unsafe extern "C" fn(*mut c_void, u32),
    clock_ns: unsafe extern "C" fn(*mut c_void) -> u64,
    rtc_epoch_s: unsafe extern "C" fn(*mut c_void) -> u64,
    timer_arm: unsafe extern "C" fn(*mut c_void, u32, u64),
    timer_cancel: unsafe extern "C" fn(*mut c_void, u32),
    log: unsafe extern "C" fn(*mut c_void, u32, *const c_char),
    mem_write: unsafe extern "C" fn(*mut c_void, u64, u32, u64),
    timer_arm_first: unsafe extern "C" fn(*mut c_void, u32),
    ctx: *mut c_void,
}

impl CHost {
    /// The callbacks of `ops` with their context, or `None` if one is
    /// missing.
    fn new(ops: &PortlabHostOps, ctx: *mut c_void) -> Option<CHost> {
        Some(CHost {
            set_irq: ops.set_irq?,
            serial_send: ops.serial_send?,
            serial_set_break: ops.serial_set_break?,
            clock_ns: ops.clock_ns?,
            rtc_epoch_s: ops.rtc_epoch_s?,
            timer_arm: ops.timer_arm?,
            timer_cancel: ops.timer_cancel?,
            log: ops.log?,
            mem_write: ops.mem_write?,
            timer_arm_first: ops.timer_arm_first?,
            ctx,
        })
    }
}

// Every call below relies on the same two facts, established in `create`:
// each callback pointer came from the host's table (present, checked by
// `CHost::new`), and the header requires `host_ctx` to stay valid for the
// whole life of the instance.
impl Host for CHost {
    #[inline]
    fn set_irq(&mut self, line: u32, level: bool) {
        // SAFETY: the host's callback and its context, both valid for the
        // instance's lifetime (see above).
        unsafe { (self.set_irq)(self.ctx, line, u32::from(level)) }
    }

    #[inline]
    fn serial_send(&mut self, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        // SAFETY: as above; `bytes` is valid for `len` bytes for the
        // duration of the call.
        unsafe { (self.serial_send)(self.ctx, bytes.as_ptr(), len) }
    }

    #[inline]
    fn serial_set_break(&mut self, on: bool) {
        // SAFETY: as above.
        unsafe { (self.serial_set_break)(self.ctx, u32::from(on)) }
    }

    #[inline]
    fn clock_ns(&mut self) -> u64 {
        // SAFETY: as above.
        unsafe { (self.clock_ns)(self.ctx) }
    }

    #[inline]
    fn rtc_epoch_s(&mut self) -> u64 {
        // SAFETY: as above.
        unsafe { (self.rtc_epoch_s)(self.ctx) }
    }

    #[inline]
    fn timer_arm(&mut self, timer: u32, deadline_ns: u64) {
        // SAFETY: as above.
        unsafe { (self.timer_arm)(self.ctx, timer, deadline_ns) }
    }

    #[inline]
    fn timer_cancel(&mut self, timer: u32) {
        // SAFETY: as above.
        unsafe { (self.timer_cancel)(self.ctx, timer) }
    }

    fn log(&mut self, kind: LogKind, message: &str) {
        // A guest can make a device log on every access (Linux's early
        // console writes DR with the UART disabled), so the usual short
        // message is made NUL-terminated on the stack; a long one, or one
        // with a NUL to escape, on the heap.
        let mut stack = [0u8; 128];
        let heap;
        let text: &CStr = if message.len() < stack.len() && !message.contains('\0') {
            stack[..message.len()].copy_from_slice(message.as_bytes());
            CStr::from_bytes_until_nul(&stack).unwrap_or_default()
        } else {
            heap = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
            &heap
        };
        // SAFETY: as above; `text` is NUL-terminated and outlives the call.
        unsafe { (self.log)(self.ctx, kind.code(), text.as_ptr()) }
    }

    #[inline]
    fn mem_write(&mut self, addr: u64, size: u32, value: u64) {
        // SAFETY: as above.
        unsafe { (self.mem_write)(self.ctx, addr, size, value) }
    }

    #[inline]
    fn timer_arm_first(&mut self, timer: u32) {
        // SAFETY: as above.
        unsafe { (self.timer_arm_first)(self.ctx, timer) }
    }
}

/// What a `PortlabDevice` pointer handed out by this adapter points to.
struct Exported<D> {
    device: D,
    host: CHost,
    poisoned: bool,
}

// The error returns of the entry points that run on every MMIO access are
// cold calls, so that the compiler lays the valid access out as one
// straight path.

/// `PORTLAB_ERR_INVALID`, on a path a valid call never takes.
#[cold]
fn invalid() -> PortlabStatus {
    sys::PORTLAB_ERR_INVALID
}

/// `PORTLAB_ERR_POISONED`, on a path a healthy instance never takes.
#[cold]
fn poisoned() -> PortlabStatus {
    sys::PORTLAB_ERR_POISONED
}

/// Runs `f` on the instance behind `dev`, catching panics. Inlined into
/// each entry point, so that the device's code is too (plain release
/// builds do no cross-crate LTO).
#[inline(always)]
fn with_instance<D: Device>(
    dev: *mut PortlabDevice,
    f: impl FnOnce(&mut D, &mut CHost) -> PortlabStatus,
) -> PortlabStatus {
    if dev.is_null() {
        return invalid();
    }
    // SAFETY: a non-null `dev` given to this table's entry points was made
    // by `create::<D>` from `Box::into_raw` of an `Exported<D>`, and the
    // header forbids using it after `destroy` or re-entering the device
    // from its own callbacks, so this is the only reference to it.
    let instance = unsafe { &mut *dev.cast::<Exported<D>>() };
    if instance.poisoned {
        return poisoned();
    }
    let Exported { device, host, .. } = instance;
    // A panic leaves `device` possibly half-updated; it is never used again
    // because the instance is poisoned, which is what makes the
    // AssertUnwindSafe sound in spirit as well as in letter.
    match catch_unwind(AssertUnwindSafe(|| f(device, host))) {
        Ok(status) => status,
        Err(_) => {
            instance.poisoned = true;
            sys::PORTLAB_ERR_POISONED
        }
    }
}

/// The property list a C host handed to `create`, as names and values.
///
/// # Safety
///
/// When `num_props` > 0, `props` must point to `num_props` elements whose
/// names are null or NUL-terminated strings, valid during the call.
unsafe fn given_properties(props: *const sys::PortlabProperty, num_props: u32) -> Result<Vec<(String, u64)>, String> {
    if num_props == 0 {
        return Ok(Vec::new());
    }
    if props.is_null() {
        return Err("create: property list is NULL".into());
    }
    // SAFETY: non-null with `num_props` elements, per the caller.
    let list = unsafe { std::slice::from_raw_parts(props, num_props as usize) };
    list.iter()
        .map(|p| {
            if p.name.is_null() {
                return Err("create: property without a name".to_string());
            }
            // SAFETY: non-null and NUL-terminated, per the caller.
            let name = unsafe { CStr::from_ptr(p.name) }.to_string_lossy().into_owned();
            Ok((name, p.value))
        })
        .collect()
}

unsafe extern "C" fn create<D: Device>(
    host: *const PortlabHostOps,
    host_ctx: *mut c_void,
    props: *const sys::PortlabProperty,
    num_props: u32,
    out: *mut *mut PortlabDevice,
) -> PortlabStatus {
    if host.is_null() || out.is_null() {
        return sys::PORTLAB_ERR_INVALID;
    }
    // SAFETY: `host` is non-null and the header requires it to point to a
    // valid host table; its callbacks are copied, so only ctx must outlive us.
    let ops = unsafe { &*host };
    let Some(mut chost) = CHost::new(ops, host_ctx) else {
        return sys::PORTLAB_ERR_INVALID;
    };
    // SAFETY: the table of `D` is built from 'static constants.
    let description = unsafe { Description::of_table(&Table::<D>::OPS) };
    let resolved = match description {
        // No property given (most creations): every default, nothing to check.
        Ok(description) if num_props == 0 => Ok(Properties::defaults(description)),
        Ok(description) => {
            // SAFETY: the header requires the property list to be valid for the call.
            let given = unsafe { given_properties(props, num_props) };
            given.and_then(|given| Properties::resolve(description, &given))
        }
        Err(e) => Err(e),
    };
    let properties = match resolved {
        Ok(p) => p,
        Err(message) => {
            chost.log(LogKind::GuestError, &message);
            return sys::PORTLAB_ERR_INVALID;
        }
    };
    let Ok(device) = catch_unwind(AssertUnwindSafe(|| D::new(&mut chost, &properties))) else {
        return sys::PORTLAB_ERR_POISONED;
    };
    let instance = Box::new(Exported { device, host: chost, poisoned: false });
    // SAFETY: `out` is non-null and, per the header, valid for a write.
    unsafe { out.write(Box::into_raw(instance).cast::<PortlabDevice>()) };
    OK
}

unsafe extern "C" fn destroy<D: Device>(dev: *mut PortlabDevice) {
    if dev.is_null() {
        return;
    }
    // SAFETY: `dev` came from `create::<D>` (Box::into_raw) and the host
    // gives it back exactly once.
    let instance = unsafe { Box::from_raw(dev.cast::<Exported<D>>()) };
    // A panicking Drop must not unwind into C either.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(instance)));
}

unsafe extern "C" fn reset<D: Device>(dev: *mut PortlabDevice) -> PortlabStatus {
    with_instance::<D>(dev, |d, host| {
        d.reset(host);
        OK
    })
}

unsafe extern "C" fn read<D: Device>(
    dev: *mut PortlabDevice,
    offset: u64,
    size: u32,
    value: *mut u64,
) -> PortlabStatus {
    // As in `write`: the common sizes with their constants.
    let valid = match size {
        4 => sized_access_ok::<D, 4>(offset),
        8 => sized_access_ok::<D, 8>(offset),
        _ => D::INFO.access_ok(offset, size),
    };
    if value.is_null() || !valid {
        return invalid();
    }
    with_instance::<D>(dev, |d, host| {
        let v = d.read(host, offset, size);
        // SAFETY: `value` is non-null and, per the header, valid for a write.
        unsafe { value.write(v) };
        OK
    })
}

fn value_fits(value: u64, size: u32) -> bool {
    size >= 8 || value >> (size * 8) == 0
}

/// [`access::ok_sized`](crate::access::ok_sized) for `D`: with its
/// constant size mask and region, a compare or two.
#[inline(always)]
fn sized_access_ok<D: Device, const SIZE: u32>(offset: u64) -> bool {
    crate::access::ok_sized::<SIZE>(D::INFO.access_sizes, D::INFO.region_size, offset)
}

unsafe extern "C" fn write<D: Device>(dev: *mut PortlabDevice, offset: u64, size: u32, value: u64) -> PortlabStatus {
    // The sizes guests use, 4 and 8 bytes, first: the general test takes a
    // bit test for the size and a shift by a variable amount for the
    // value, which a known size does not need (`write-cr`,
    // `hpet-cmp-write`, docs/benchmarks.md).
    let valid = match size {
        4 => sized_access_ok::<D, 4>(offset) && value_fits(value, 4),
        8 => sized_access_ok::<D, 8>(offset),
        _ => D::INFO.access_ok(offset, size) && value_fits(value, size),
    };
    if !valid {
        return invalid();
    }
    with_instance::<D>(dev, |d, host| {
        d.write(host, offset, size, value);
        OK
    })
}

unsafe extern "C" fn can_receive<D: Device>(dev: *mut PortlabDevice, room: *mut u32) -> PortlabStatus {
    if room.is_null() {
        return sys::PORTLAB_ERR_INVALID;
    }
    with_instance::<D>(dev, |d, _| {
        let n = d.can_receive();
        // SAFETY: `room` is non-null and, per the header, valid for a write.
        unsafe { room.write(n) };
        OK
    })
}

unsafe extern "C" fn receive<D: Device>(dev: *mut PortlabDevice, byte: u8) -> PortlabStatus {
    with_instance::<D>(dev, |d, host| match d.receive(host, byte) {
        Ok(()) => OK,
        Err(e) => e.code(),
    })
}

unsafe extern "C" fn set_input<D: Device>(dev: *mut PortlabDevice, line: u32, level: u32) -> PortlabStatus {
    if line >= D::INFO.num_inputs || level > 1 {
        return sys::PORTLAB_ERR_INVALID;
    }
    with_instance::<D>(dev, |d, host| {
        d.set_input(host, line, level == 1);
        OK
    })
}

unsafe extern "C" fn receive_break<D: Device>(dev: *mut PortlabDevice) -> PortlabStatus {
    with_instance::<D>(dev, |d, host| {
        d.receive_break(host);
        OK
    })
}

unsafe extern "C" fn timer_expired<D: Device>(dev: *mut PortlabDevice, timer: u32) -> PortlabStatus {
    if timer >= D::INFO.num_timers {
        return sys::PORTLAB_ERR_INVALID;
    }
    with_instance::<D>(dev, |d, host| {
        d.timer_expired(host, timer);
        OK
    })
}

unsafe extern "C" fn save<D: Device>(dev: *mut PortlabDevice, buf: *mut u8, cap: u32, len: *mut u32) -> PortlabStatus {
    if len.is_null() {
        return sys::PORTLAB_ERR_INVALID;
    }
    // The device writes straight into the host's buffer, as a C model
    // does: no buffer of the adapter's own and no copy. Seen as
    // `MaybeUninit` bytes, because the host need not initialise it.
    let place: &mut [MaybeUninit<u8>] = if buf.is_null() {
        &mut []
    } else {
        // SAFETY: per the header, a non-null `buf` is valid for writes of
        // `cap` bytes during the call, and the host does not touch it
        // until the call returns (no re-entry); it is host memory, so it
        // overlaps nothing the device owns.
        unsafe { std::slice::from_raw_parts_mut(buf.cast::<MaybeUninit<u8>>(), cap as usize) }
    };
    with_instance::<D>(dev, |d, host| {
        let mut out = SaveBuffer::in_place(place);
        d.save(host, &mut out);
        let Ok(size) = u32::try_from(out.len()) else {
            return sys::PORTLAB_ERR_INVALID;
        };
        // SAFETY: `len` is non-null and, per the header, valid for a write.
        unsafe { len.write(size) };
        if out.fits() { OK } else { sys::PORTLAB_ERR_BUFFER_TOO_SMALL }
    })
}

unsafe extern "C" fn load<D: Device>(dev: *mut PortlabDevice, blob: *const u8, len: u32) -> PortlabStatus {
    let bytes: &[u8] = if len == 0 {
        &[]
    } else if blob.is_null() {
        return sys::PORTLAB_ERR_INVALID;
    } else {
        // SAFETY: `blob` is non-null and, per the header, valid for reads
        // of `len` bytes that nobody writes during the call.
        unsafe { std::slice::from_raw_parts(blob, len as usize) }
    };
    with_instance::<D>(dev, |d, host| match d.load(host, bytes) {
        Ok(()) => OK,
        Err(e) => e.code(),
    })
}

/// Holds the ops table of `D` as an associated constant, so that a
/// reference to it is promoted to `'static` without a generic static.
struct Table<D>(PhantomData<D>);

impl<D: Device> Table<D> {
    const OPS: PortlabDeviceOps = PortlabDeviceOps {
        abi_version: sys::PORTLAB_ABI_VERSION,
        type_name: D::INFO.type_name.as_ptr(),
        region_size: D::INFO.region_size,
        num_irqs: D::INFO.num_irqs,
        num_timers: D::INFO.num_timers,
        access_sizes: D::INFO.access_sizes,
        state_device_id: D::INFO.state_device_id,
        num_inputs: D::INFO.num_inputs,
        properties: if D::INFO.properties.is_empty() { std::ptr::null() } else { D::INFO.properties.as_ptr() },
        num_properties: D::INFO.properties.len() as u32,
        state_schema: D::INFO.state_schema,
        create: Some(create::<D>),
        destroy: Some(destroy::<D>),
        reset: Some(reset::<D>),
        read: Some(read::<D>),
        write: Some(write::<D>),
        can_receive: Some(can_receive::<D>),
        receive: Some(receive::<D>),
        receive_break: Some(receive_break::<D>),
        timer_expired: Some(timer_expired::<D>),
        save: Some(save::<D>),
        load: Some(load::<D>),
        set_input: Some(set_input::<D>),
    };
}

/// The C ops table of the Rust device `D`: what a C host (or the board)
/// uses to drive it exactly like a C model.
pub fn ops<D: Device>() -> &'static PortlabDeviceOps {
    &Table::<D>::OPS
}

/// An ops table that can be placed in a `static` with a C symbol name, for
/// C hosts that link a Rust device library (see [`export_device!`]).
///
/// [`export_device!`]: crate::export_device
#[repr(transparent)]
#[derive(Debug)]
pub struct StaticOps(pub PortlabDeviceOps);

// SAFETY: the table is immutable, its `type_name`, property and schema
// pointers point to `'static` constants and its other fields are plain
// data and function pointers, so sharing it between threads is harmless.
unsafe impl Sync for StaticOps {}

impl StaticOps {
    /// The table of `D`.
    pub const fn of<D: Device>() -> StaticOps {
        StaticOps(Table::<D>::OPS)
    }
}

/// Exports the ops table of a Rust device under a C symbol name, for a C
/// host to declare as `extern const PortlabDeviceOps NAME;`.
///
/// ```ignore
/// portlab_device::export_device!(portlab_x_pl011_rust_ops, portlab_pl011::Pl011);
/// ```
#[macro_export]
macro_rules! export_device {
    ($symbol:ident, $device:ty) => {
        #[doc = concat!("The C ops table of `", stringify!($device), "`.")]
        // SAFETY: the symbol name is unique to this device in the
        // program; nothing else defines it.
        #[unsafe(no_mangle)]
        pub static $symbol: $crate::export::StaticOps = $crate::export::StaticOps::of::<$device>();
    };
}
