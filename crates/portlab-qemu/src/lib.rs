//! QEMU 10.0's migration stream (format version 3), read and written
//! outside QEMU.
//!
//! Its place in the porting story: the roadmap's condition for a Rust
//! device to become QEMU's default is "migration compatible", a VM saved
//! with the C device loads with the Rust one and back. portlab proves that
//! between its own two implementations in its own container; this crate
//! checks a rewrite against the bytes QEMU itself saved, and writes
//! streams QEMU loads with `-incoming file:PATH`.
//!
//! - [`stream`] walks a whole stream: the header, the configuration
//!   section, every section record with its footer, subsections, command
//!   records, the RAM section's page records (walked, not interpreted), EOF
//!   and the trailing JSON description. Device sections are sized by that
//!   description, or without it by the layouts of the devices portlab
//!   knows (each device declares its own, `portlab_device::qemu`).
//! - [`writer`] writes the minimal stream QEMU 10.0 accepts: header,
//!   configuration, the `timer` section, the device sections, EOF.
//! - [`machine`] knows QEMU 10.0's machine types that portlab's devices
//!   sit on.
//!
//! - [`convert`] maps the sections of the registry's devices to portlab
//!   blobs and back: an import decodes a whole section, maps it, and only
//!   then loads the complete blob into a fresh device to prove it.
//!
//! Everything is big-endian; every length and count is bounds-checked
//! against the bytes there are, and an error says where (byte offset,
//! section). Walking a stream loads nothing anywhere.
#![forbid(unsafe_code)]

pub mod convert;
pub mod error;
pub mod machine;
pub mod qtest;
pub mod saved;
pub mod stream;
pub mod timer;
pub mod writer;

pub use error::StreamError;
pub use machine::Machine;
pub use stream::{Record, RecordKind, Stream, parse};
pub use writer::StreamWriter;

/// Decompresses an `.xz` file's bytes, refusing more than `limit` bytes of
/// output (a hostile archive must not fill memory). A file over the limit
/// is reported as that, not as a damaged archive.
pub fn unxz(compressed: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    struct Capped {
        out: Vec<u8>,
        limit: usize,
        over: bool,
    }
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.out.len() + buf.len() > self.limit {
                self.over = true;
                return Err(std::io::Error::other("decompressed stream larger than the limit"));
            }
            self.out.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Capped { out: Vec::new(), limit, over: false };
    let result = lzma_rs::xz_decompress(&mut std::io::Cursor::new(compressed), &mut sink);
    if sink.over {
        return Err(format!("decompresses to more than {limit} bytes, the most a stream may be"));
    }
    result.map_err(|e| match e {
        lzma_rs::error::Error::IoError(io) => format!("not a valid .xz file: {io}"),
        other => format!("not a valid .xz file: {other}"),
    })?;
    Ok(sink.out)
}

#[cfg(test)]
mod unxz_tests {
    use super::unxz;

    /// An .xz of `data`, made by the crate's own compressor.
    fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lzma_rs::xz_compress(&mut std::io::Cursor::new(data), &mut out).unwrap();
        out
    }

    #[test]
    fn a_stream_within_the_limit_decompresses() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(unxz(&xz(&data), data.len()).unwrap(), data);
    }

    #[test]
    fn a_stream_over_the_limit_is_reported_as_too_large_not_as_damaged() {
        let data = vec![0x55u8; 5000];
        let e = unxz(&xz(&data), 4999).unwrap_err();
        assert_eq!(e, "decompresses to more than 4999 bytes, the most a stream may be");
    }

    #[test]
    fn a_damaged_archive_is_reported_as_not_valid() {
        let mut bytes = xz(b"portlab");
        bytes.truncate(bytes.len() / 2);
        let e = unxz(&bytes, 1 << 20).unwrap_err();
        assert!(e.starts_with("not a valid .xz file: "), "{e}");
    }
}
