//! The stream's `timer` section (vmstate `timer` version 2): QEMU's
//! clocks at save time. `cpu_clock_offset` is the virtual clock in ns
//! while the VM is stopped (it always is when a stream is saved), which is
//! the time every device deadline in the stream is measured against.

use portlab_device::qemu::{QemuItem, QemuLayout, QemuType, field};

/// The section's layout. Its `timer/icount` subsections exist only with
/// `-icount`, which portlab's machines never use: a stream that has them is
/// refused as an unknown subsection.
pub const LAYOUT: QemuLayout = QemuLayout {
    name: "timer",
    version: 2,
    min_version: 2,
    items: &[
        // The TSC offset: host-dependent, not state.
        QemuItem::Field(field("cpu_ticks_offset", QemuType::I64)),
        QemuItem::Field(field("unused", QemuType::Unused(8))),
        QemuItem::Field(field("cpu_clock_offset", QemuType::I64)),
    ],
    subsections: &[],
};

/// The payload of a `timer` section for virtual time `vm_clock_ns`.
pub fn payload(vm_clock_ns: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.extend_from_slice(&0u64.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&vm_clock_ns.to_be_bytes());
    out
}
