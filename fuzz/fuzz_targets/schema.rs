//! State schemas of interface version 2 as any device table could declare
//! them, built from the bytes: the checks either refuse the schema (and
//! nothing is made) or accept it, and an accepted schema decodes any
//! payload without panicking, giving a value for each of its names, at the
//! offsets it declared. What a C ops table declares reaches these checks
//! through `DeviceType::from_c_table`; this target drives the same checks
//! through `Schema::new`, without building C tables.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_device::schema::{Field, Records, Schema};

/// Field and record names come from a small set, so that the fuzzer can
/// make names collide (a count field that is also a record field, two
/// fields of the same name) without inventing strings.
const NAMES: [&str; 6] = ["count", "a", "b", "timer", "cfg", "cmp"];

/// Reads the bytes front to back; past the end, zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// Mostly small values, sometimes any: sizes and offsets that fit
    /// each other are what gets past the checks.
    fn size(&mut self) -> u32 {
        let selector = self.u8();
        if selector < 0xf0 { u32::from(selector & 0x3f) } else { self.u32() }
    }
    fn name(&mut self) -> &'static str {
        NAMES[usize::from(self.u8()) % NAMES.len()]
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let version = b.u16();
    let fixed_size = b.size();
    let num_fields = usize::from(b.u8() % 12);
    let mut fields = Vec::with_capacity(num_fields);
    for _ in 0..num_fields {
        let flags = b.u8();
        fields.push(Field {
            name: b.name(),
            offset: b.size(),
            width: u32::from(b.u8() % 10),
            count: b.size(),
            in_record: flags & 1 != 0,
        });
    }
    let records = (b.u8() & 1 != 0).then(|| Records { name: b.name(), count_field: b.name(), size: b.size(), max: b.size() });
    let payload = b.0;
    let Ok(schema) = Schema::new(version, fixed_size, fields, records) else { return };
    let Ok(mut values) = schema.decode(payload) else { return };
    let count = schema.record_count(payload).expect("a payload that decodes has a record count");
    assert_eq!(payload.len(), schema.payload_len(count));
    let names = schema.field_names(count);
    assert_eq!(values.len(), names.len(), "a value for every name");
    for (value, name) in values.iter().zip(&names) {
        assert_eq!(&*value.name, name.as_str());
    }
    // What the schema checks promise: the values of an accepted schema
    // cover the payload byte for byte, each byte once, no gap, no overlap.
    values.sort_by_key(|v| v.offset);
    let mut covered_to = 0;
    for v in &values {
        assert_eq!(v.offset, covered_to, "`{}`: a gap or an overlap at byte {covered_to}", v.name);
        covered_to += v.width as usize;
    }
    assert_eq!(covered_to, payload.len(), "the values end before the payload");
});
