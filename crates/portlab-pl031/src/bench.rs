//! The PL031's benchmark workloads: the RTC's hot paths (a driver reading
//! the time, setting an alarm), migration, and the recorded Linux trace.
//! They are built from `portlab_device::bench`'s ready-made operations:
//! an RTC needs no bring-up to be read.

use portlab_device::bench::{Body, Micro, ReadRegister, SaveLoad, Workload, WriteRegister};
use portlab_device::sys;

use crate::Pl031;

const DR: u64 = sys::PL031_DR as u64;
const MR: u64 = sys::PL031_MR as u64;

/// The workloads, in report order.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "pl031-dr-read",
        unit: "DR read",
        description: "read DR (4 bytes): the seconds counter, computed from a clock callback",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<ReadRegister<DR>, Pl031>()),
    },
    Workload {
        name: "pl031-mr-write",
        unit: "MR write",
        description: "write MR (an alarm time): store, re-arm the alarm timer (clock callback, timer_arm)",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<WriteRegister<MR, 0x6553_f105>, Pl031>()),
    },
    Workload {
        name: "pl031-save-load",
        unit: "save+load",
        description: "save the migration blob into a reused buffer and load it back",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Micro(Micro::with_native::<SaveLoad, Pl031>()),
    },
    Workload {
        name: "pl031-linux-trace",
        unit: "replay",
        description: "tests/traces/recorded/linux-interactive.pl031.trace (Linux's rtc-pl031 probe and \
                      hwclock) on a fresh board",
        properties: &[],
        hot_path: false,
        algorithm_note: None,
        body: Body::Replay(include_str!("../../../tests/traces/recorded/linux-interactive.pl031.trace")),
    },
];
