//! Reading migration blobs field by field, so that a state difference
//! between two implementations is reported as "read_count differs: c=3
//! rust=2" rather than as bytes.

use portlab_device::sys;

/// One named u32 field of a device's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Field name, as in the spec.
    pub name: &'static str,
    /// Offset in the payload.
    pub offset: usize,
}

const fn f(name: &'static str, offset: usize) -> Field {
    Field { name, offset }
}

/// PL011 payload version 1 (pl011.md section 12.2).
pub const PL011_FIELDS: [Field; 29] = [
    f("flags", 0),
    f("lcr", 4),
    f("rsr", 8),
    f("cr", 12),
    f("dmacr", 16),
    f("int_enabled", 20),
    f("int_level", 24),
    f("read_fifo[0]", 28),
    f("read_fifo[1]", 32),
    f("read_fifo[2]", 36),
    f("read_fifo[3]", 40),
    f("read_fifo[4]", 44),
    f("read_fifo[5]", 48),
    f("read_fifo[6]", 52),
    f("read_fifo[7]", 56),
    f("read_fifo[8]", 60),
    f("read_fifo[9]", 64),
    f("read_fifo[10]", 68),
    f("read_fifo[11]", 72),
    f("read_fifo[12]", 76),
    f("read_fifo[13]", 80),
    f("read_fifo[14]", 84),
    f("read_fifo[15]", 88),
    f("ilpr", 92),
    f("ibrd", 96),
    f("fbrd", 100),
    f("ifl", 104),
    f("read_pos", 108),
    f("read_count", 112),
];

/// The payload fields of the device whose container id is `device_id`.
pub fn fields_of(device_id: u16) -> &'static [Field] {
    if u32::from(device_id) == sys::PL011_STATE_DEVICE_ID { &PL011_FIELDS } else { &[] }
}

/// A field whose value differs between two blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// Field name (or `byte N` where no field table applies).
    pub name: String,
    /// Value in the first blob.
    pub a: u32,
    /// Value in the second blob.
    pub b: u32,
}

fn u32_at(blob: &[u8], at: usize) -> Option<u32> {
    blob.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The differences between two blobs of the same device, field by field.
/// Empty when the blobs are identical.
pub fn diff_blobs(a: &[u8], b: &[u8]) -> Vec<FieldDiff> {
    if a == b {
        return Vec::new();
    }
    let header = sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let device_id = a.get(4..6).map_or(0, |id| u16::from_le_bytes([id[0], id[1]]));
    let mut diffs: Vec<FieldDiff> = fields_of(device_id)
        .iter()
        .filter_map(|field| {
            let (x, y) = (u32_at(a, header + field.offset)?, u32_at(b, header + field.offset)?);
            (x != y).then(|| FieldDiff { name: field.name.to_string(), a: x, b: y })
        })
        .collect();
    if diffs.is_empty() {
        // Header, CRC or a device without a field table: report bytes.
        let words = a.len().max(b.len()).div_ceil(4);
        diffs = (0..words)
            .filter_map(|w| {
                let (x, y) = (u32_at(a, 4 * w).unwrap_or(0), u32_at(b, 4 * w).unwrap_or(0));
                (x != y).then(|| FieldDiff { name: format!("blob word at byte {}", 4 * w), a: x, b: y })
            })
            .collect();
        if diffs.is_empty() {
            diffs.push(FieldDiff { name: "blob length".into(), a: a.len() as u32, b: b.len() as u32 });
        }
    }
    diffs
}

/// What a device saves right after loading `blob` at virtual time
/// `now_ns`: the same bytes, except that a PL031 whose count equals MR at
/// load time fires during the load (pl031.md section 9.2, R21), so its
/// `is` reads 1. The property tests and the `migration_load` fuzz target
/// hold both implementations to it.
pub fn saved_after_load(blob: &[u8], now_ns: u64) -> Vec<u8> {
    let mut expected = blob.to_vec();
    let header = sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let is_pl031 = blob.get(4..6) == Some(&(sys::PL031_STATE_DEVICE_ID as u16).to_le_bytes()[..]);
    if let (true, Some(tick_offset), Some(mr)) = (is_pl031, u32_at(blob, header), u32_at(blob, header + 4)) {
        if tick_offset.wrapping_add((now_ns / 1_000_000_000) as u32) == mr {
            expected[header + 16..header + 20].copy_from_slice(&1u32.to_le_bytes());
            portlab_device::migration::fix_crc(&mut expected);
        }
    }
    expected
}
