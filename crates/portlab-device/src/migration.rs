//! The migration container every device saves: `DEVS`, device id, format
//! version, payload length, payload, CRC-32 (all little-endian). Safe code
//! shared by the Rust device crates, the twin of `c-src/common/devstate.c`.

use std::mem::MaybeUninit;

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
    let mut crc = CRC_START;
    let mut steps = data.chunks_exact(8);
    for step in &mut steps {
        crc = crc_step8(
            crc,
            u64::from_le_bytes([step[0], step[1], step[2], step[3], step[4], step[5], step[6], step[7]]),
        );
    }
    for &b in steps.remainder() {
        crc = crc_step1(crc, b);
    }
    !crc
}

/// The running CRC before the first byte (the result is its complement).
const CRC_START: u32 = 0xFFFF_FFFF;

/// The running CRC after eight more bytes, `word` in little-endian order.
#[inline]
fn crc_step8(crc: u32, word: u64) -> u32 {
    let t = &CRC32_TABLES;
    let low = crc ^ word as u32;
    let high = (word >> 32) as u32;
    t[7][(low & 0xFF) as usize]
        ^ t[6][((low >> 8) & 0xFF) as usize]
        ^ t[5][((low >> 16) & 0xFF) as usize]
        ^ t[4][(low >> 24) as usize]
        ^ t[3][(high & 0xFF) as usize]
        ^ t[2][((high >> 8) & 0xFF) as usize]
        ^ t[1][((high >> 16) & 0xFF) as usize]
        ^ t[0][(high >> 24) as usize]
}

/// The running CRC after one more byte.
#[inline]
fn crc_step1(crc: u32, byte: u8) -> u32 {
    (crc >> 8) ^ CRC32_TABLES[0][((crc ^ u32::from(byte)) & 0xFF) as usize]
}

/// Where a device's [`Device::save`](crate::Device::save) puts its blob.
///
/// A C model saves straight into the buffer its host passes, and so does
/// a Rust device: through the C interface the adapter hands the device
/// the host's buffer as it is (possibly too small, possibly never
/// initialised), with no buffer of its own in between and no copy. Rust
/// code that calls a device directly passes a `Vec` ([`SaveBuffer::new`]).
/// A device only hands it to [`BlobWriter::new`], or to
/// [`SaveBuffer::blob`] for a blob it already has.
#[derive(Debug)]
pub struct SaveBuffer<'a> {
    out: Out<'a>,
    /// Bytes saved so far, the ones that did not fit included.
    len: usize,
    fits: bool,
}

#[derive(Debug)]
enum Out<'a> {
    /// Appended to a vector, which grows.
    Vec(&'a mut Vec<u8>),
    /// Written into a host's buffer of fixed size, from its start.
    Slice(&'a mut [MaybeUninit<u8>]),
}

impl<'a> SaveBuffer<'a> {
    /// Saves appended to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> SaveBuffer<'a> {
        SaveBuffer { out: Out::Vec(out), len: 0, fits: true }
    }

    /// Saves written into `buf` from its start. What does not fit is
    /// counted in [`SaveBuffer::len`] but not written, and
    /// [`SaveBuffer::fits`] turns false: the host then asks again with a
    /// buffer of that length (`PORTLAB_ERR_BUFFER_TOO_SMALL`).
    pub fn in_place(buf: &'a mut [MaybeUninit<u8>]) -> SaveBuffer<'a> {
        SaveBuffer { out: Out::Slice(buf), len: 0, fits: true }
    }

    /// The bytes saved, or needed when they did not fit.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was saved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether everything saved was written.
    pub fn fits(&self) -> bool {
        self.fits
    }

    /// Appends `blob` as it is: a blob saved elsewhere (the shadow device
    /// passes on its primary's).
    pub fn blob(&mut self, blob: &[u8]) {
        self.region(blob.len()).put(0, blob);
    }

    /// The next `size` bytes, to be written once each.
    #[inline]
    fn region(&mut self, size: usize) -> Region<'_> {
        let start = self.len;
        self.len += size;
        match &mut self.out {
            // Zeroed first, then written: a safe `&mut [u8]` for the
            // writer (the vector's spare capacity is uninitialised, and
            // committing it would take `unsafe`); the bytes of a blob are
            // few, the memset is cheap.
            Out::Vec(v) => {
                let at = v.len();
                v.resize(at + size, 0);
                Region::Init(&mut v[at..])
            }
            Out::Slice(buf) => match buf.get_mut(start..start + size) {
                Some(region) if self.fits => Region::Uninit(region),
                _ => {
                    self.fits = false;
                    Region::Nowhere
                }
            },
        }
    }
}

/// The bytes of one blob in a [`SaveBuffer`].
#[derive(Debug)]
enum Region<'a> {
    Init(&'a mut [u8]),
    Uninit(&'a mut [MaybeUninit<u8>]),
    /// The blob did not fit: nothing is written.
    Nowhere,
}

impl Region<'_> {
    /// Writes `bytes` at `at`; past the region's end (a device writing
    /// more than its header announced) writes nothing, and
    /// [`BlobWriter::finish`] reports it.
    #[inline]
    fn put(&mut self, at: usize, bytes: &[u8]) {
        let end = at + bytes.len();
        match self {
            Region::Init(region) => {
                if let Some(place) = region.get_mut(at..end) {
                    place.copy_from_slice(bytes);
                }
            }
            Region::Uninit(region) => {
                if let Some(place) = region.get_mut(at..end) {
                    for (slot, byte) in place.iter_mut().zip(bytes) {
                        slot.write(*byte);
                    }
                }
            }
            Region::Nowhere => {}
        }
    }
}

/// Writes one blob: header, the payload fields the device appends with
/// [`BlobWriter::u32`] and [`BlobWriter::u64`], then the CRC in
/// [`BlobWriter::finish`].
///
/// Bytes go to the [`SaveBuffer`] eight at a time, and the CRC is taken
/// over each eight as they go (the same slicing-by-8 steps as [`crc32`]),
/// so the writer never reads back what it wrote: the host's buffer may be
/// uninitialised memory.
#[derive(Debug)]
pub struct BlobWriter<'a> {
    region: Region<'a>,
    /// Bytes handed to `region` so far: a multiple of eight.
    at: usize,
    /// Bytes appended but not yet handed on: the low `held` bytes (0 or 4).
    word: u64,
    held: usize,
    /// The running CRC of the `at` bytes handed on.
    crc: u32,
    /// Header and payload length, as announced.
    announced: usize,
}

impl<'a> BlobWriter<'a> {
    /// Starts a blob for `device_id`, format `version`, with a payload of
    /// `payload_len` bytes, at the end of `out`.
    #[inline]
    pub fn new(out: &'a mut SaveBuffer<'_>, device_id: u16, version: u16, payload_len: u32) -> Self {
        let region = out.region(HEADER + payload_len as usize + TRAILER);
        let mut w =
            BlobWriter { region, at: 0, word: 0, held: 0, crc: CRC_START, announced: HEADER + payload_len as usize };
        let [id0, id1] = device_id.to_le_bytes();
        let [v0, v1] = version.to_le_bytes();
        w.u64(u64::from_le_bytes([MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], id0, id1, v0, v1]));
        w.u32(payload_len);
        w
    }

    /// Hands eight bytes on.
    #[inline]
    fn emit(&mut self, word: u64) {
        self.crc = crc_step8(self.crc, word);
        self.region.put(self.at, &word.to_le_bytes());
        self.at += 8;
    }

    /// Appends one little-endian u32 payload field.
    // Called once per field from every device crate's save and load:
    // without LTO, only #[inline] lets it inline across the crate line.
    #[inline]
    pub fn u32(&mut self, value: u32) -> &mut Self {
        if self.held == 0 {
            self.word = u64::from(value);
            self.held = 4;
        } else {
            self.emit(self.word | u64::from(value) << 32);
            self.held = 0;
        }
        self
    }

    /// Appends one little-endian u64 payload field.
    #[inline]
    pub fn u64(&mut self, value: u64) -> &mut Self {
        if self.held == 0 {
            self.emit(value);
        } else {
            self.emit(self.word | value << 32);
            self.word = value >> 32;
        }
        self
    }

    /// Appends payload bytes as they are, a multiple of four of them: a
    /// payload the device laid out itself (the HPET's, at the offsets of
    /// its header). Eight bytes a step, which is the writer's straight
    /// path.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        assert!(bytes.len() % 4 == 0, "payload bytes come in whole 4-byte fields");
        let mut rest = bytes;
        if self.held != 0 {
            if let Some((first, tail)) = rest.split_first_chunk::<4>() {
                self.u32(u32::from_le_bytes(*first));
                rest = tail;
            }
        }
        let mut steps = rest.chunks_exact(8);
        for step in &mut steps {
            self.emit(u64::from_le_bytes([step[0], step[1], step[2], step[3], step[4], step[5], step[6], step[7]]));
        }
        if let Some(last) = steps.remainder().first_chunk::<4>() {
            self.u32(u32::from_le_bytes(*last));
        }
        self
    }

    /// Appends the CRC. Panics (a bug in the device) if the payload written
    /// does not have the length announced in the header.
    pub fn finish(mut self) {
        assert_eq!(self.at + self.held, self.announced, "payload length differs from the header");
        if self.held == 0 {
            let crc = !self.crc;
            self.region.put(self.at, &crc.to_le_bytes());
        } else {
            let mut crc = self.crc;
            for byte in (self.word as u32).to_le_bytes() {
                crc = crc_step1(crc, byte);
            }
            let last = self.word | u64::from(!crc) << 32;
            self.region.put(self.at, &last.to_le_bytes());
        }
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
// Inlined into each device's `load`, whatever else this crate holds: left
// to the inliner it went out of line when an unrelated function was added
// here, and the PL011's save+load grew by 28 instructions.
#[inline]
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
        let mut buffer = SaveBuffer::new(&mut out);
        let mut w = BlobWriter::new(&mut buffer, 0x42, 1, 4 * payload.len() as u32);
        for &v in payload {
            w.u32(v);
        }
        w.finish();
        out
    }

    /// A field of a test payload.
    #[derive(Clone, Copy)]
    enum Field {
        U32(u32),
        U64(u64),
    }

    /// The container of `fields` built byte by byte, with [`crc32`] over
    /// the whole: what the writer must produce.
    fn reference(device_id: u16, version: u16, fields: &[Field]) -> Vec<u8> {
        let mut payload = Vec::new();
        for f in fields {
            match f {
                Field::U32(v) => payload.extend_from_slice(&v.to_le_bytes()),
                Field::U64(v) => payload.extend_from_slice(&v.to_le_bytes()),
            }
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&device_id.to_le_bytes());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn write(out: &mut SaveBuffer<'_>, fields: &[Field]) {
        let len = fields.iter().map(|f| if matches!(f, Field::U32(_)) { 4 } else { 8 }).sum();
        let mut w = BlobWriter::new(out, 0x1234, 3, len);
        for f in fields {
            match *f {
                Field::U32(v) => w.u32(v),
                Field::U64(v) => w.u64(v),
            };
        }
        w.finish();
    }

    /// The writer hands bytes on eight at a time and takes the CRC as it
    /// goes: every mix of 4- and 8-byte fields, at every alignment, gives
    /// the bytes and the CRC of the plain byte-by-byte container, into a
    /// `Vec` and into a buffer in place.
    #[test]
    fn every_mix_of_fields_gives_the_reference_container() {
        for count in 0..9u32 {
            for mask in 0..(1u32 << count) {
                let fields: Vec<Field> = (0..count)
                    .map(|i| {
                        let v = u64::from(i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(mask);
                        if mask >> i & 1 == 1 { Field::U64(v) } else { Field::U32(v as u32) }
                    })
                    .collect();
                let expected = reference(0x1234, 3, &fields);
                let mut vec = vec![0xAB];
                write(&mut SaveBuffer::new(&mut vec), &fields);
                assert_eq!(vec[0], 0xAB, "a Vec is appended to");
                assert_eq!(&vec[1..], expected.as_slice(), "{count} fields, mask {mask:#b}");
                let mut place = [MaybeUninit::new(0xEEu8); 128];
                let mut buffer = SaveBuffer::in_place(&mut place);
                write(&mut buffer, &fields);
                assert!(buffer.fits());
                assert_eq!(buffer.len(), expected.len());
                // SAFETY: every element was initialised (0xEE) and the
                // writer only ever writes whole bytes into it.
                let written: Vec<u8> = place.iter().map(|b| unsafe { b.assume_init() }).collect();
                assert_eq!(&written[..expected.len()], expected.as_slice(), "in place: {count} fields, mask {mask:#b}");
                assert!(written[expected.len()..].iter().all(|b| *b == 0xEE), "in place: written past the blob");
            }
        }
    }

    /// `bytes` gives what the same payload gives as u32 fields, after an
    /// odd or even number of fields before it.
    #[test]
    fn payload_bytes_are_the_same_as_their_fields() {
        for before in 0..3u32 {
            for len in (0..48).step_by(4) {
                let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ 0x5A).collect();
                let mut fields: Vec<Field> = (0..before).map(|i| Field::U32(0xC0DE + i)).collect();
                fields
                    .extend(payload.chunks_exact(4).map(|w| Field::U32(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))));
                let mut out = Vec::new();
                let mut buffer = SaveBuffer::new(&mut out);
                let mut w = BlobWriter::new(&mut buffer, 0x1234, 3, 4 * before + len as u32);
                for i in 0..before {
                    w.u32(0xC0DE + i);
                }
                w.bytes(&payload);
                w.finish();
                assert_eq!(out, reference(0x1234, 3, &fields), "{before} fields, then {len} bytes");
            }
        }
    }

    /// Too small a buffer: nothing written, and the size needed counted
    /// across blobs.
    #[test]
    fn a_buffer_too_small_is_left_alone_and_the_size_counted() {
        let fields = [Field::U32(1), Field::U64(2)];
        let size = reference(0x1234, 3, &fields).len();
        for cap in [0, 1, size - 1] {
            let mut place = vec![MaybeUninit::new(0xEEu8); cap];
            let mut buffer = SaveBuffer::in_place(&mut place);
            write(&mut buffer, &fields);
            assert!(!buffer.fits());
            assert_eq!(buffer.len(), size);
            write(&mut buffer, &fields);
            buffer.blob(&[1, 2, 3]);
            assert_eq!(buffer.len(), 2 * size + 3);
            // SAFETY: initialised above, and nothing may have been written.
            assert!(place.iter().all(|b| unsafe { b.assume_init() } == 0xEE), "capacity {cap}");
        }
    }

    #[test]
    #[should_panic(expected = "payload length differs from the header")]
    fn a_payload_longer_than_announced_is_a_device_bug() {
        let mut out = Vec::new();
        let mut buffer = SaveBuffer::new(&mut out);
        let mut w = BlobWriter::new(&mut buffer, 1, 1, 4);
        w.u32(1).u32(2);
        w.finish();
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
