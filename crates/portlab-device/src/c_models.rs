//! The C device models compiled into `portlab-sys`, as [`DeviceType`]s.

use crate::hosting::DeviceType;
use portlab_sys as sys;

/// Defines `pub fn $name() -> DeviceType` for the C ops table `$table`.
macro_rules! c_model {
    ($(#[$doc:meta])* $name:ident, $table:ident) => {
        $(#[$doc])*
        pub fn $name() -> DeviceType {
            // SAFETY: the table is a `const` object defined in c-src/ and
            // linked by portlab-sys: initialised before main, never
            // written, alive for the whole program.
            let ops: &'static sys::PortlabDeviceOps = unsafe { &sys::$table };
            // SAFETY: its type name is a string literal and its entry
            // points implement the contract of portlab_device.h (the C
            // models are tested against it, under sanitizers in CI).
            let table = unsafe { DeviceType::from_c_table(ops) };
            table.expect(concat!("the ops table ", stringify!($table), " is complete"))
        }
    };
}

c_model!(
    /// The C PL011 (`c-src/pl011.c`), type name `pl011`.
    pl011,
    portlab_pl011_c_ops
);

c_model!(
    /// The C PL031 (`c-src/pl031.c`), type name `pl031`.
    pl031,
    portlab_pl031_c_ops
);

c_model!(
    /// The C HPET (`c-src/hpet.c`), type name `hpet`.
    hpet,
    portlab_hpet_c_ops
);

// `cargo xtask new-device` adds C models above this line.

c_model!(
    /// The null device (`c-src/null_device.c`), type name `portlab-null`:
    /// every entry point returns at once. It is the benchmarks' floor, the
    /// cost of a call through the ops table with no device work behind it.
    null,
    portlab_null_c_ops
);

#[cfg(test)]
mod tests {
    unsafe extern "C" {
        /// The C container's CRC (`c-src/common/devstate.c`), linked by
        /// portlab-sys though not part of the device interface.
        fn devstate_crc32(data: *const u8, len: u32) -> u32;
    }

    /// The C container's literal CRC tables and the Rust side's computed
    /// ones give the same CRC at every length, through the eight-byte
    /// steps and the byte-at-a-time tail.
    #[test]
    fn the_c_and_rust_container_crcs_agree() {
        let data: Vec<u8> = (0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for len in 0..data.len() {
            let bytes = &data[..len];
            // SAFETY: devstate_crc32 reads exactly `len` bytes from `data`,
            // a live slice of that length, and keeps no pointer.
            let c = unsafe { devstate_crc32(bytes.as_ptr(), len as u32) };
            assert_eq!(c, crate::migration::crc32(bytes), "length {len}");
        }
    }
}
