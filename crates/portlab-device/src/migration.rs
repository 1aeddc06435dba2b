//! The migration container every device saves: `DEVS`, device id, format
//! version, payload length, payload, CRC-32 (all little-endian). Safe code
//! shared by the Rust device crates, the twin of `c-src/common/devstate.c`.

use crate::LoadError;
use portlab_sys as sys;

const HEADER: usize = sys::PORTLAB_STATE_HEADER_SIZE as usize;
const TRAILER: usize = sys::PORTLAB_STATE_TRAILER_SIZE as usize;
const MAGIC: &[u8; 4] = b"DEVS";
const _: () = assert!(sys::PORTLAB_STATE_MAGIC.len() == 5);

/// A save buffer's initial capacity: above every blob a built-in device
/// saves (the HPET's with 32 comparators is 1592 bytes), so that a save is
/// one device call, not a "buffer too small" and a retry.
pub const SAVE_CAPACITY: usize = 4096;

/// The CRC-32 tables: `TABLES[0][i]` is the CRC of byte value `i`, and
/// `TABLES[k]` is `TABLES[0]` advanced by `k` more zero bytes. The C
/// container (`c-src/common/devstate.c`) holds the same eight tables as
/// literals.
const CRC32_TABLES: [[u32; 256]; 8] = {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let t = tables[k - 1][i];
            tables[k][i] = (t >> 8) ^ tables[0][(t & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
};

/// IEEE/zlib CRC-32 (reflected polynomial 0xEDB88320), eight bytes a step
/// ("slicing by 8"): the eight lookups of a step do not wait on each
/// other. The C container's `devstate_crc32` is the same algorithm with
/// the same tables, so both implementations pay the same for a save.
pub fn crc32(data: &[u8]) -> u32 {
    let t = &CRC32_TABLES;
    let mut crc = 0xFFFF_FFFFu32;
    let mut steps = data.chunks_exact(8);
    for step in &mut steps {
        let low = crc ^ u32::from_le_bytes([step[0], step[1], step[2], step[3]]);
        let high = u32::from_le_bytes([step[4], step[5], step[6], step[7]]);
        crc = t[7][(low & 0xFF) as usize]
            ^ t[6][((low >> 8) & 0xFF) as usize]
            ^ t[5][((low >> 16) & 0xFF) as usize]
            ^ t[4][(low >> 24) as usize]
            ^ t[3][(high & 0xFF) as usize]
            ^ t[2][((high >> 8) & 0xFF) as usize]
            ^ t[1][((high >> 16) & 0xFF) as usize]
            ^ t[0][(high >> 24) as usize];
    }
    for &b in steps.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    crc ^ 0xFFFF_FFFF
}

/// Writes one blob: header, the payload fields the device appends with
/// [`BlobWriter::u32`], then the CRC in [`BlobWriter::finish`].
#[derive(Debug)]
pub struct BlobWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> BlobWriter<'a> {
    /// Starts a blob for `device_id`, format `version`, with a payload of
    /// `payload_len` bytes, appended to `out`.
    #[inline]
    pub fn new(out: &'a mut Vec<u8>, device_id: u16, version: u16, payload_len: u32) -> Self {
        let start = out.len();
        out.reserve(HEADER + payload_len as usize + TRAILER);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&device_id.to_le_bytes());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&payload_len.to_le_bytes());
        BlobWriter { out, start }
    }

    /// Appends one little-endian u32 payload field.
    // Called once per field from every device crate's save and load:
    // without LTO, only #[inline] lets it inline across the crate line.
    #[inline]
    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.out.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Appends one little-endian u64 payload field.
    #[inline]
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.out.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Appends the CRC. Panics (a bug in the device) if the payload written
    /// does not have the length announced in the header.
    pub fn finish(self) {
        let body = &self.out[self.start..];
        let announced = u32::from_le_bytes([body[8], body[9], body[10], body[11]]) as usize;
        assert_eq!(body.len(), HEADER + announced, "payload length differs from the header");
        let crc = crc32(body);
        self.out.extend_from_slice(&crc.to_le_bytes());
    }
}

/// A blob whose container passed every check: what the device decodes.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// The blob's format version (1 ..= the newest the device knows).
    pub version: u16,
    bytes: &'a [u8],
}

impl<'a> Payload<'a> {
    /// The payload bytes.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The little-endian u32 field at payload offset `offset`.
    #[inline]
    pub fn u32(&self, offset: usize) -> u32 {
        let b = &self.bytes[offset..offset + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The little-endian u64 field at payload offset `offset`.
    #[inline]
    pub fn u64(&self, offset: usize) -> u64 {
        let b = &self.bytes[offset..offset + 8];
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

/// Checks a blob's container in the spec's order (truncated, bad magic,
/// wrong device, bad or future version, bad length, truncated, bad length,
/// bad CRC) and returns its payload. `payload_len(v)` is the payload length
/// of version `v`, for `1 <= v <= newest_version`.
pub fn check_container(
    blob: &[u8],
    device_id: u16,
    newest_version: u16,
    payload_len: impl Fn(u16) -> u32,
) -> Result<Payload<'_>, LoadError> {
    if blob.len() < HEADER + TRAILER {
        return Err(LoadError::Truncated);
    }
    if &blob[0..4] != MAGIC {
        return Err(LoadError::BadMagic);
    }
    if u16::from_le_bytes([blob[4], blob[5]]) != device_id {
        return Err(LoadError::WrongDevice);
    }
    let version = u16::from_le_bytes([blob[6], blob[7]]);
    if version == 0 {
        return Err(LoadError::BadVersion);
    }
    if version > newest_version {
        return Err(LoadError::FutureVersion);
    }
    let expected = payload_len(version);
    if u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) != expected {
        return Err(LoadError::BadLength);
    }
    let body = HEADER + expected as usize;
    let size = body + TRAILER;
    if blob.len() < size {
        return Err(LoadError::Truncated);
    }
    if blob.len() > size {
        return Err(LoadError::BadLength);
    }
    let crc = u32::from_le_bytes([blob[body], blob[body + 1], blob[body + 2], blob[body + 3]]);
    if crc32(&blob[..body]) != crc {
        return Err(LoadError::BadCrc);
    }
    Ok(Payload { version, bytes: &blob[HEADER..body] })
}

/// The payload of a container blob (between header and CRC), if the blob
/// is at least as long as its header says; nothing else is checked, so a
/// tool can read the fields of a blob that [`check_container`] would
/// refuse (a wrong CRC, a future version).
pub fn payload(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes(blob.get(8..12)?.try_into().ok()?) as usize;
    blob.get(HEADER..HEADER.checked_add(len)?)
}

/// Recomputes the trailing CRC of a blob whose bytes were edited: a
/// device's after-load rule (`saved_after_load`) edits a saved blob into
/// the one the device must save after loading it, and tests and fuzz
/// targets build "every blob with a correct CRC" cases with it. Too short
/// a blob is left as it is.
pub fn reseal(blob: &mut [u8]) {
    if blob.len() < HEADER + TRAILER {
        return;
    }
    let body = blob.len() - TRAILER;
    let crc = crc32(&blob[..body]);
    blob[body..].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        // Past one eight-byte step, and a known zlib value.
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn crc32_of_every_length_matches_a_byte_at_a_time() {
        let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for len in 0..data.len() {
            let mut crc = 0xFFFF_FFFFu32;
            for &b in &data[..len] {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            assert_eq!(crc32(&data[..len]), crc ^ 0xFFFF_FFFF, "length {len}");
        }
    }

    fn blob(payload: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = BlobWriter::new(&mut out, 0x42, 1, 4 * payload.len() as u32);
        for &v in payload {
            w.u32(v);
        }
        w.finish();
        out
    }

    #[test]
    fn round_trip_and_every_error_in_order() {
        let good = blob(&[1, 2]);
        let p = check_container(&good, 0x42, 1, |_| 8).unwrap();
        assert_eq!((p.version, p.u32(0), p.u32(4)), (1, 1, 2));

        let check = |b: &[u8]| check_container(b, 0x42, 1, |_| 8).map(|_| ());
        assert_eq!(check(&good[..15]), Err(LoadError::Truncated));
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(check(&b), Err(LoadError::BadMagic));
        let mut b = good.clone();
        b[4] = 0x43;
        assert_eq!(check(&b), Err(LoadError::WrongDevice));
        let mut b = good.clone();
        b[6] = 0;
        assert_eq!(check(&b), Err(LoadError::BadVersion));
        let mut b = good.clone();
        b[6] = 2;
        assert_eq!(check(&b), Err(LoadError::FutureVersion));
        let mut b = good.clone();
        b[8] = 12;
        assert_eq!(check(&b), Err(LoadError::BadLength));
        assert_eq!(check(&good[..good.len() - 1]), Err(LoadError::Truncated));
        let mut b = good.clone();
        b.push(0);
        reseal(&mut b);
        assert_eq!(check(&b), Err(LoadError::BadLength));
        let mut b = good.clone();
        b[12] ^= 1;
        assert_eq!(check(&b), Err(LoadError::BadCrc));
    }
}
