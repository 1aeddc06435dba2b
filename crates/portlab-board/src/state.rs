//! Reading migration blobs field by field, from the device's own state
//! schema (interface v2), so that a state difference between two
//! implementations of any device is reported as `timer[1].cmp differs:
//! c=0x3e8 rust=0x3e9` rather than as bytes.

pub use portlab_device::migration::payload;
use portlab_device::schema::{FieldValue, Schema};
use portlab_device::sys;

/// A field whose value differs between two blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// Field name from the schema (`read_fifo[3]`, `timer[1].cmp`), or
    /// what part of the container differs (`header`, `crc`, `length`).
    pub name: String,
    /// Value in the first blob.
    pub a: u64,
    /// Value in the second blob.
    pub b: u64,
    /// Width in bytes, for printing.
    pub width: u32,
}

impl FieldDiff {
    /// `NAME differs: LA=0x.. LB=0x..`, with the sides' labels.
    pub fn describe(&self, labels: (&str, &str)) -> String {
        format!("{} differs: {}", self.name, self.values(labels))
    }

    /// The two values, `LA=0x.. LB=0x..`.
    pub fn values(&self, labels: (&str, &str)) -> String {
        format!("{}=0x{:x} {}=0x{:x}", labels.0, self.a, labels.1, self.b)
    }
}

/// Every field of a blob, decoded with `schema`.
pub fn decode(schema: &Schema, blob: &[u8]) -> Result<Vec<FieldValue>, String> {
    schema.decode(payload(blob).ok_or("blob shorter than its header says")?)
}

fn le(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

/// The differences between two blobs of the same device, field by field.
/// Empty when the blobs are identical. Blobs that do not fit the schema
/// (a device saving something else than it declares) are compared by
/// container part, so a difference is never lost.
pub fn diff_blobs(schema: &Schema, a: &[u8], b: &[u8]) -> Vec<FieldDiff> {
    if a == b {
        return Vec::new();
    }
    if let (Ok(x), Ok(y)) = (decode(schema, a), decode(schema, b)) {
        if x.len() == y.len() {
            let diffs: Vec<FieldDiff> = x
                .iter()
                .zip(&y)
                .filter(|(p, q)| p.value != q.value)
                .map(|(p, q)| FieldDiff { name: p.name.to_string(), a: p.value, b: q.value, width: p.width })
                .collect();
            if !diffs.is_empty() {
                return diffs;
            }
        }
    }
    // Header, CRC, length or an undecodable payload.
    let header = sys::PORTLAB_STATE_HEADER_SIZE as usize;
    let part = |blob: &[u8], range: std::ops::Range<usize>| blob.get(range).map_or(0, le);
    let mut diffs = Vec::new();
    for (name, range) in [("header.device_id", 4..6), ("header.version", 6..8), ("header.length", 8..12)] {
        let (x, y) = (part(a, range.clone()), part(b, range));
        if x != y {
            diffs.push(FieldDiff { name: name.into(), a: x, b: y, width: 4 });
        }
    }
    if a.len() != b.len() {
        diffs.push(FieldDiff { name: "blob length".into(), a: a.len() as u64, b: b.len() as u64, width: 4 });
    }
    if diffs.is_empty() {
        let first = a.iter().zip(b).position(|(p, q)| p != q).unwrap_or(a.len().min(b.len()));
        let name = if first >= a.len().saturating_sub(4) {
            "crc".to_string()
        } else {
            format!("payload byte {}", first.saturating_sub(header))
        };
        diffs.push(FieldDiff {
            name,
            a: u64::from(a[first.min(a.len() - 1)]),
            b: u64::from(b[first.min(b.len() - 1)]),
            width: 1,
        });
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use portlab_device::DeviceType;

    fn pl011_schema() -> Schema {
        DeviceType::of::<portlab_pl011::Pl011>().description().schema.clone()
    }

    fn blob_with(schema: &Schema, edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut payload = vec![0u8; schema.fixed_size as usize];
        edit(&mut payload);
        let mut out = Vec::new();
        let mut buffer = portlab_device::migration::SaveBuffer::new(&mut out);
        let mut w = portlab_device::migration::BlobWriter::new(&mut buffer, 0x11, 1, payload.len() as u32);
        for chunk in payload.chunks(4) {
            w.u32(u32::from_le_bytes(chunk.try_into().unwrap()));
        }
        w.finish();
        out
    }

    #[test]
    fn differences_are_named_from_the_schema() {
        let schema = pl011_schema();
        let a = blob_with(&schema, |_| {});
        let b = blob_with(&schema, |p| p[sys::PL011_STATE_READ_FIFO as usize + 12] = 0x41);
        let diffs = diff_blobs(&schema, &a, &b);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].describe(("c", "rust")), "read_fifo[3] differs: c=0x0 rust=0x41");
        assert!(diff_blobs(&schema, &a, &a).is_empty());
    }

    #[test]
    fn container_differences_are_named_too() {
        let schema = pl011_schema();
        let a = blob_with(&schema, |_| {});
        let mut b = a.clone();
        let last = b.len() - 1;
        b[last] ^= 1;
        assert_eq!(diff_blobs(&schema, &a, &b)[0].name, "crc");
        let short = &a[..20];
        assert!(diff_blobs(&schema, &a, short).iter().any(|d| d.name == "blob length"));
    }
}
