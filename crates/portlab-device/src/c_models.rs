//! The C device models compiled into `portlab-sys`, as [`DeviceType`]s.

use crate::hosting::DeviceType;
use portlab_sys as sys;

/// The C PL011 (`c-src/pl011.c`), type name `pl011`.
pub fn pl011() -> DeviceType {
    // SAFETY: `portlab_pl011_c_ops` is a `const` table defined in
    // c-src/pl011.c and linked by portlab-sys: initialised before main,
    // never written, alive for the whole program.
    let ops: &'static sys::PortlabDeviceOps = unsafe { &sys::portlab_pl011_c_ops };
    // SAFETY: its type name is a string literal and its entry points
    // implement the contract of portlab_device.h.
    let table = unsafe { DeviceType::from_c_table(ops) };
    table.expect("the C PL011's ops table is complete")
}
