//! What a device declares about itself (interface version 2): its creation
//! properties and the layout of its migration payload, as data.
//!
//! # Where this sits in the port
//!
//! A device describes itself once, in its own files: the C model in its
//! ops table (`PortlabPropertyInfo`, `PortlabStateSchema`), the Rust
//! rewrite in [`DeviceInfo`](crate::DeviceInfo) with the `const fn`
//! builders below, which produce the very same C structures. Every tool
//! reads a device through these descriptions and never by name: the board
//! resolves `config` properties, state diffs name fields
//! (`timer[1].cmp differs`), coverage counts fields, and a test asserts
//! that the C and Rust descriptions of a device are identical.
//!
//! The raw tables are checked once, when a [`DeviceType`](crate::DeviceType)
//! is made from them ([`Description::of_table`]); after that hosts trust
//! them.

use std::collections::HashMap;
use std::ffi::{CStr, c_char};
use std::sync::{Arc, Mutex, OnceLock};

use portlab_sys as sys;
use sys::{PortlabDeviceOps, PortlabPropertyInfo, PortlabStateField, PortlabStateSchema};

/// A creation property for a device's `INFO.properties` (a `const fn`, so
/// the table is a constant).
pub const fn property(
    name: &'static CStr,
    doc: &'static CStr,
    default: u64,
    min: u64,
    max: u64,
) -> PortlabPropertyInfo {
    PortlabPropertyInfo { name: name.as_ptr(), doc: doc.as_ptr(), default_value: default, min, max }
}

/// A payload field of the fixed part: `count` elements of `width` bytes.
pub const fn field(name: &'static CStr, offset: u32, width: u32, count: u32) -> PortlabStateField {
    PortlabStateField { name: name.as_ptr(), offset, width, count, flags: 0 }
}

/// A field of the repeated record; `offset` counts from the record's start.
pub const fn record_field(name: &'static CStr, offset: u32, width: u32) -> PortlabStateField {
    PortlabStateField { name: name.as_ptr(), offset, width, count: 1, flags: sys::PORTLAB_FIELD_IN_RECORD }
}

/// A payload of a fixed part only.
pub const fn schema(version: u16, fixed_size: u32, fields: &'static [PortlabStateField]) -> PortlabStateSchema {
    PortlabStateSchema {
        version,
        fixed_size,
        record_name: std::ptr::null(),
        record_count_field: std::ptr::null(),
        record_size: 0,
        max_records: 0,
        fields: fields.as_ptr(),
        num_fields: fields.len() as u32,
    }
}

/// The repeated part of a payload: its name (`timer`), the fixed field
/// that counts the records, one record's size, and the most records.
#[derive(Debug, Clone, Copy)]
pub struct RecordLayout {
    /// The array's name, as in `timer[2].cmp`.
    pub name: &'static CStr,
    /// The fixed-part field holding the number of records.
    pub count_field: &'static CStr,
    /// Bytes per record.
    pub size: u32,
    /// The most records a payload may hold.
    pub max: u32,
}

/// A payload with a fixed part followed by records.
pub const fn schema_with_records(
    version: u16,
    fixed_size: u32,
    records: RecordLayout,
    fields: &'static [PortlabStateField],
) -> PortlabStateSchema {
    PortlabStateSchema {
        version,
        fixed_size,
        record_name: records.name.as_ptr(),
        record_count_field: records.count_field.as_ptr(),
        record_size: records.size,
        max_records: records.max,
        fields: fields.as_ptr(),
        num_fields: fields.len() as u32,
    }
}

/// A declared creation property, read from its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Name, as `config DEV NAME=VALUE` spells it.
    pub name: &'static str,
    /// One line for `portlab list`.
    pub doc: &'static str,
    /// Value when not given.
    pub default: u64,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
}

/// One field of a payload schema, read from its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Name, as in the device's spec.
    pub name: &'static str,
    /// Offset in the fixed part, or in the record.
    pub offset: u32,
    /// Bytes per element (1, 2, 4 or 8).
    pub width: u32,
    /// Elements (1 for a scalar).
    pub count: u32,
    /// Whether the field belongs to the repeated record.
    pub in_record: bool,
}

/// The repeated record of a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    /// The array's name.
    pub name: &'static str,
    /// The fixed field that counts the records.
    pub count_field: &'static str,
    /// Bytes per record.
    pub size: u32,
    /// The most records a payload may hold.
    pub max: u32,
}

/// A device's migration payload layout, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The payload version described.
    pub version: u16,
    /// Bytes of the fixed part.
    pub fixed_size: u32,
    /// The repeated record, if any.
    pub records: Option<Records>,
    /// Every field, fixed part first.
    pub fields: Vec<Field>,
    /// The printed names of every value, made once: [`Schema::decode`]
    /// runs on every command of a lockstep run, and formatting
    /// `timer[3].cmp` each time was most of its cost.
    names: Names,
}

/// The value names of a schema, in [`Schema::decode`]'s order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Names {
    /// The fixed part's values (array elements one by one).
    fixed: Vec<Arc<str>>,
    /// Record `i`'s members: `records[i * members + j]`, for every record
    /// up to the most a payload may hold.
    records: Vec<Arc<str>>,
}

impl Names {
    fn of(fields: &[Field], records: Option<&Records>) -> Names {
        let fixed = fixed_names(fields).map(Arc::from).collect();
        let records = records
            .map_or_else(Vec::new, |r| (0..r.max).flat_map(|i| record_names(fields, r, i)).map(Arc::from).collect());
        Names { fixed, records }
    }
}

/// The names of the fixed part's values: `lcr`, and for an array one per
/// element, `read_fifo[3]`.
fn fixed_names(fields: &[Field]) -> impl Iterator<Item = String> + '_ {
    fields.iter().filter(|f| !f.in_record).flat_map(|f| {
        (0..f.count).map(move |k| if f.count == 1 { f.name.to_string() } else { format!("{}[{k}]", f.name) })
    })
}

/// The names of record `i`'s values: `timer[1].cmp`, and for an array
/// member one per element, `timer[1].fifo[0]`.
fn record_names<'a>(fields: &'a [Field], records: &'a Records, i: u32) -> impl Iterator<Item = String> + 'a {
    fields.iter().filter(|f| f.in_record).flat_map(move |f| {
        (0..f.count).map(move |k| {
            if f.count == 1 {
                format!("{}[{i}].{}", records.name, f.name)
            } else {
                format!("{}[{i}].{}[{k}]", records.name, f.name)
            }
        })
    })
}

/// One decoded value of a payload: a scalar, an array element or a record
/// member, named as tools print it (`lcr`, `read_fifo[3]`, `timer[1].cmp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    /// Printable name, shared with the schema (no allocation per decode).
    pub name: Arc<str>,
    /// Width in bytes.
    pub width: u32,
    /// Offset in the payload.
    pub offset: usize,
    /// The value, zero-extended.
    pub value: u64,
}

/// Where one value of a payload lies: [`FieldValue`] without the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSlot {
    /// Printable name, shared with the schema.
    pub name: Arc<str>,
    /// Width in bytes.
    pub width: u32,
    /// Offset in the payload.
    pub offset: usize,
}

impl FieldSlot {
    /// Its value in `payload` (0 if the payload is too short).
    #[inline]
    pub fn value(&self, payload: &[u8]) -> u64 {
        le_at(payload, self.offset, self.width).unwrap_or(0)
    }
}

/// The places of every value of a payload, in [`Schema::decode`]'s
/// order, and a quick lookup by name. The places are the same for every
/// payload of one length, so a tool that reads many states of one device
/// lays them out once ([`Schema::layout`]) and reads values in place: the
/// lockstep engine's coverage looks up a dozen fields per step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLayout {
    slots: Vec<FieldSlot>,
    /// [`name_key`] of each slot's name.
    keys: Vec<u32>,
    /// An open-addressing table of slot index + 1 (0: empty), by
    /// [`FieldLayout::bucket`] of the key: a lookup is a few probes, not
    /// a scan of every slot before the one asked for.
    table: Vec<u32>,
}

/// A name's length, first, second-to-last and last bytes: tells apart
/// most names at the cost of four loads (`read_fifo[3]` from
/// `read_fifo[4]`, `timer[1].cmp` from `timer[1].config`); equal keys are
/// settled by comparing the names.
fn name_key(name: &str) -> u32 {
    let b = name.as_bytes();
    let at = |i: usize| u32::from(b.get(i).copied().unwrap_or(0));
    let n = b.len();
    ((n.min(255) as u32) << 24) | (at(0) << 16) | (at(n.wrapping_sub(2)) << 8) | at(n.wrapping_sub(1))
}

impl FieldLayout {
    /// A layout of `slots`.
    pub fn new(slots: Vec<FieldSlot>) -> FieldLayout {
        let keys: Vec<u32> = slots.iter().map(|s| name_key(&s.name)).collect();
        let size = (2 * slots.len()).next_power_of_two().max(2);
        let mut table = vec![0u32; size];
        for (i, key) in keys.iter().enumerate() {
            let mut at = Self::bucket(*key, size);
            while table[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            table[at] = i as u32 + 1;
        }
        FieldLayout { slots, keys, table }
    }

    /// Where `key` starts probing in a table of `size` (a power of two).
    fn bucket(key: u32, size: usize) -> usize {
        (key.wrapping_mul(0x9E37_79B1) as usize >> 7) & (size - 1)
    }

    /// Every slot, in order.
    pub fn slots(&self) -> &[FieldSlot] {
        &self.slots
    }

    /// The slot of the value named `name`.
    pub fn find(&self, name: &str) -> Option<&FieldSlot> {
        let key = name_key(name);
        let size = self.table.len();
        let mut at = Self::bucket(key, size);
        // The table is at most half full, so an empty entry ends the probe.
        loop {
            let entry = *self.table.get(at)?;
            let i = entry.checked_sub(1)? as usize;
            // Short names: an inlined byte loop, not a memcmp call.
            let candidate = self.slots[i].name.as_bytes();
            if self.keys[i] == key
                && candidate.len() == name.len()
                && candidate.iter().zip(name.as_bytes()).all(|(a, b)| a == b)
            {
                return Some(&self.slots[i]);
            }
            at = (at + 1) & (size - 1);
        }
    }
}

/// Reads a little-endian unsigned integer of `width` bytes.
#[inline]
fn le_at(bytes: &[u8], at: usize, width: u32) -> Option<u64> {
    let slice = bytes.get(at..at.checked_add(width as usize)?)?;
    Some(match *slice {
        [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => slice.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    })
}

impl Schema {
    /// The fixed field named `name`.
    pub fn fixed_field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| !f.in_record && f.name == name)
    }

    /// How many records `payload` declares (0 without records), or an
    /// error when the count field is missing or above the maximum.
    pub fn record_count(&self, payload: &[u8]) -> Result<u32, String> {
        let Some(records) = &self.records else { return Ok(0) };
        let count_field = self.fixed_field(records.count_field).ok_or("record count field missing")?;
        let count = le_at(payload, count_field.offset as usize, count_field.width)
            .ok_or_else(|| format!("payload too short for `{}`", records.count_field))?;
        if count > u64::from(records.max) {
            return Err(format!("`{}` = {count} is above the most records ({})", records.count_field, records.max));
        }
        Ok(count as u32)
    }

    /// The payload length for `count` records.
    pub fn payload_len(&self, count: u32) -> usize {
        self.fixed_size as usize + self.records.as_ref().map_or(0, |r| r.size as usize * count as usize)
    }

    /// Every value of `payload`, in payload order, or why the payload does
    /// not fit the schema.
    pub fn decode(&self, payload: &[u8]) -> Result<Vec<FieldValue>, String> {
        let count = self.record_count(payload)?;
        let expected = self.payload_len(count);
        if payload.len() != expected {
            return Err(format!("payload is {} bytes, the schema says {expected}", payload.len()));
        }
        let mut out = Vec::with_capacity(self.names.fixed.len() + self.names.records.len());
        let mut names = self.names.fixed.iter();
        for f in self.fields.iter().filter(|f| !f.in_record) {
            for k in 0..f.count {
                let offset = f.offset as usize + k as usize * f.width as usize;
                let name = names.next().cloned().ok_or("more values than names")?;
                let value = le_at(payload, offset, f.width).ok_or("field outside the payload")?;
                out.push(FieldValue { name, width: f.width, offset, value });
            }
        }
        if let Some(records) = &self.records {
            let mut names = self.names.records.iter();
            for i in 0..count {
                let base = self.fixed_size as usize + i as usize * records.size as usize;
                for f in self.fields.iter().filter(|f| f.in_record) {
                    // An array member gives a value per element, as a
                    // fixed-part array does.
                    for k in 0..f.count {
                        let offset = base + f.offset as usize + k as usize * f.width as usize;
                        let value = le_at(payload, offset, f.width).ok_or("field outside the payload")?;
                        let name = names.next().cloned().ok_or("more records than names")?;
                        out.push(FieldValue { name, width: f.width, offset, value });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The places of `payload`'s values: the same for every payload of
    /// this length.
    pub fn layout(&self, payload: &[u8]) -> Result<FieldLayout, String> {
        let slots =
            self.decode(payload)?.into_iter().map(|f| FieldSlot { name: f.name, width: f.width, offset: f.offset });
        Ok(FieldLayout::new(slots.collect()))
    }

    /// The payload whose values are `value_of(name)` for every name that
    /// [`Schema::decode`] gives (the record count field first decides how
    /// many records there are), or which name has no value or a value too
    /// wide for its field. The inverse of `decode`.
    pub fn encode(&self, value_of: impl Fn(&str) -> Option<u64>) -> Result<Vec<u8>, String> {
        let count = match &self.records {
            None => 0,
            Some(r) => {
                let n = value_of(r.count_field).ok_or_else(|| format!("no value for `{}`", r.count_field))?;
                u32::try_from(n)
                    .ok()
                    .filter(|&n| n <= r.max)
                    .ok_or_else(|| format!("`{}` = {n} is above the most records ({})", r.count_field, r.max))?
            }
        };
        let mut payload = vec![0u8; self.payload_len(count)];
        if let Some(r) = &self.records {
            let f = self.fixed_field(r.count_field).ok_or("record count field missing")?;
            let bytes = u64::from(count).to_le_bytes();
            payload[f.offset as usize..][..f.width as usize].copy_from_slice(&bytes[..f.width as usize]);
        }
        for slot in self.decode(&payload)? {
            let value = value_of(&slot.name).ok_or_else(|| format!("no value for `{}`", slot.name))?;
            if slot.width < 8 && value >> (slot.width * 8) != 0 {
                return Err(format!("`{}` = {value:#x} does not fit in {} bytes", slot.name, slot.width));
            }
            payload[slot.offset..][..slot.width as usize].copy_from_slice(&value.to_le_bytes()[..slot.width as usize]);
        }
        Ok(payload)
    }

    /// The fields' names with their element counts, for coverage: one entry
    /// per scalar, array element and record member (records up to `count`).
    pub fn field_names(&self, count: u32) -> Vec<String> {
        let mut names: Vec<String> = fixed_names(&self.fields).collect();
        if let Some(records) = &self.records {
            for i in 0..count {
                names.extend(record_names(&self.fields, records, i));
            }
        }
        names
    }
}

/// Everything a device type declares, read from its ops table once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Type name.
    pub type_name: &'static str,
    /// Input lines.
    pub num_inputs: u32,
    /// Creation properties, in declaration order.
    pub properties: Vec<Property>,
    /// The migration payload.
    pub schema: Schema,
}

/// A NUL-terminated string of a table, as UTF-8.
///
/// # Safety
///
/// `ptr` must be null or point to a NUL-terminated string valid for
/// `'static`.
unsafe fn table_str(ptr: *const c_char, what: &str) -> Result<&'static str, String> {
    if ptr.is_null() {
        return Err(format!("{what} is NULL"));
    }
    // SAFETY: non-null, and the caller guarantees a 'static C string.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str().map_err(|_| format!("{what} is not UTF-8"))
}

/// A table's array as a slice (empty for 0 elements, whatever the pointer).
///
/// # Safety
///
/// When `len` > 0, `ptr` must point to `len` elements valid for `'static`.
unsafe fn table_slice<T>(ptr: *const T, len: u32, what: &str) -> Result<&'static [T], String> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(format!("{what} is NULL but its count is {len}"));
    }
    // SAFETY: non-null, and the caller guarantees `len` 'static elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
}

// Every Rust device's `create` looks its table up with
// `Description::of_table`, so the first tables checked are also kept where
// a lookup needs no lock: a small open-addressed table of write-once cells.
// A table's probe starts at a cell picked from its address, so a lookup is
// one or two probes, not a scan of every table checked so far (which cost a
// `create` about a hundred instructions once ten device types were known:
// `pl031-linux-trace`, docs/benchmarks.md). Cells are only ever filled, and
// each table goes into the first free cell along its probe, so an empty
// cell ends a search.
const FAST_SLOTS: usize = 32;
static FAST: [OnceLock<(usize, &'static Description)>; FAST_SLOTS] = [const { OnceLock::new() }; FAST_SLOTS];

/// The cells a lookup of the table at address `key` visits, in order.
#[inline]
fn fast_probe(key: usize) -> impl Iterator<Item = &'static OnceLock<(usize, &'static Description)>> {
    // Tables are 8-byte aligned and a few hundred bytes apart: drop the
    // always-zero bits and fold in higher ones.
    let home = (key >> 3) ^ (key >> 9);
    (0..FAST_SLOTS).map(move |i| &FAST[home.wrapping_add(i) % FAST_SLOTS])
}

/// The description of the table at `key`, if it is in a fast cell.
#[inline]
fn fast_lookup(key: usize) -> Option<&'static Description> {
    for slot in fast_probe(key) {
        match slot.get() {
            Some((k, d)) if *k == key => return Some(d),
            Some(_) => {}
            None => return None,
        }
    }
    None
}

impl Description {
    /// Reads and checks an ops table: ABI version, every entry point
    /// present, type name, properties (names unique, default within
    /// range) and the state schema (widths, bounds, no overlap, every
    /// byte covered, the record count field). Results are cached per
    /// table, so each table is checked once per process.
    ///
    /// # Safety
    ///
    /// Every pointer in `ops` must be null or valid for `'static`, as the
    /// header describes (NUL-terminated strings, arrays of the stated
    /// length).
    // Inlined, so that a Rust device's `create` (in another crate) makes
    // the cached lookup without a call; the first check stays out of line.
    #[inline]
    pub unsafe fn of_table(ops: &'static PortlabDeviceOps) -> Result<&'static Description, String> {
        let key = std::ptr::from_ref(ops) as usize;
        match fast_lookup(key) {
            Some(d) => Ok(d),
            // SAFETY: forwarded from the caller.
            None => unsafe { Self::of_table_slow(ops, key) },
        }
    }

    /// The lookup past the fast cells: the locked map, and the first
    /// check of a table. Out of line, so that its large frame is not set
    /// up for every lookup.
    ///
    /// # Safety
    ///
    /// As [`Description::of_table`].
    #[cold]
    #[inline(never)]
    unsafe fn of_table_slow(ops: &'static PortlabDeviceOps, key: usize) -> Result<&'static Description, String> {
        static CACHE: OnceLock<Mutex<HashMap<usize, &'static Description>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(d) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(d);
        }
        // SAFETY: forwarded from the caller.
        let description = unsafe { Self::check(ops) }?;
        // Another thread may have checked the same table meanwhile: keep
        // its copy, so each table is leaked (kept for the program's life)
        // exactly once. The map's lock also orders the fast cells' writes.
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        let d: &'static Description = map.entry(key).or_insert_with(|| Box::leak(Box::new(description)));
        // The first cell along the probe that is empty or already ours.
        // Writers hold the map's lock, so no two fill the same cell.
        if let Some(free) = fast_probe(key).find(|slot| slot.get().is_none_or(|(k, _)| *k == key)) {
            let _ = free.set((key, d));
        }
        Ok(d)
    }

    /// # Safety
    ///
    /// As [`Description::of_table`].
    unsafe fn check(ops: &'static PortlabDeviceOps) -> Result<Description, String> {
        if ops.abi_version != sys::PORTLAB_ABI_VERSION {
            return Err(format!(
                "the table was built against device interface version {}, this host implements version {}",
                ops.abi_version,
                sys::PORTLAB_ABI_VERSION
            ));
        }
        // SAFETY: the caller guarantees the table's pointers.
        let type_name = unsafe { table_str(ops.type_name, "type_name") }?;
        let missing: Vec<&str> = [
            ("create", ops.create.is_none()),
            ("destroy", ops.destroy.is_none()),
            ("reset", ops.reset.is_none()),
            ("read", ops.read.is_none()),
            ("write", ops.write.is_none()),
            ("can_receive", ops.can_receive.is_none()),
            ("receive", ops.receive.is_none()),
            ("receive_break", ops.receive_break.is_none()),
            ("timer_expired", ops.timer_expired.is_none()),
            ("save", ops.save.is_none()),
            ("load", ops.load.is_none()),
            ("set_input", ops.set_input.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        if !missing.is_empty() {
            return Err(format!("{type_name}: entry points missing: {}", missing.join(", ")));
        }
        // SAFETY: the caller guarantees the table's pointers.
        let raw_props = unsafe { table_slice(ops.properties, ops.num_properties, "properties") }?;
        let mut properties = Vec::with_capacity(raw_props.len());
        for p in raw_props {
            // SAFETY: as above.
            let name = unsafe { table_str(p.name, "a property name") }?;
            // SAFETY: as above.
            let doc = if p.doc.is_null() { "" } else { unsafe { table_str(p.doc, "a property doc") }? };
            if properties.iter().any(|q: &Property| q.name == name) {
                return Err(format!("{type_name}: property `{name}` declared twice"));
            }
            if p.min > p.max || p.default_value < p.min || p.default_value > p.max {
                return Err(format!(
                    "{type_name}: property `{name}` has default {} outside {}..={}",
                    p.default_value, p.min, p.max
                ));
            }
            properties.push(Property { name, doc, default: p.default_value, min: p.min, max: p.max });
        }
        if ops.state_schema.is_null() {
            return Err(format!("{type_name}: state_schema is NULL"));
        }
        // SAFETY: non-null; the caller guarantees it is valid for 'static.
        let raw_schema: &'static PortlabStateSchema = unsafe { &*ops.state_schema };
        // SAFETY: as above.
        let schema = unsafe { check_schema(raw_schema) }.map_err(|e| format!("{type_name}: state schema: {e}"))?;
        Ok(Description { type_name, num_inputs: ops.num_inputs, properties, schema })
    }

    /// Resolves `config` values against the declared properties: every
    /// property in declaration order, given values replacing defaults.
    /// An unknown name, a repeated one or a value out of range is an error
    /// that names the property and its range.
    pub fn resolve_properties(&self, given: &[(String, u64)]) -> Result<Vec<u64>, String> {
        resolve(self.type_name, &self.properties, given)
    }
}

/// The property resolution shared by hosts (before creating) and the Rust
/// adapter (inside `create`), the same rules as the C `devprops_resolve`.
pub fn resolve(type_name: &str, properties: &[Property], given: &[(String, u64)]) -> Result<Vec<u64>, String> {
    let mut values: Vec<u64> = properties.iter().map(|p| p.default).collect();
    for (i, (name, value)) in given.iter().enumerate() {
        let Some(index) = properties.iter().position(|p| p.name == name) else {
            let known: Vec<&str> = properties.iter().map(|p| p.name).collect();
            return Err(if known.is_empty() {
                format!("{type_name}: unknown property `{name}` (the device has no properties)")
            } else {
                format!("{type_name}: unknown property `{name}` (known: {})", known.join(", "))
            });
        };
        if given[..i].iter().any(|(n, _)| n == name) {
            return Err(format!("{type_name}: property `{name}` given twice"));
        }
        let p = &properties[index];
        if *value < p.min || *value > p.max {
            return Err(format!("{type_name}: property `{name}` = {value} is outside {}..={}", p.min, p.max));
        }
        values[index] = *value;
    }
    Ok(values)
}

/// # Safety
///
/// The schema's pointers must be null or valid for `'static`.
unsafe fn check_schema(raw: &'static PortlabStateSchema) -> Result<Schema, String> {
    // SAFETY: forwarded from the caller.
    let raw_fields = unsafe { table_slice(raw.fields, raw.num_fields, "fields") }?;
    let mut fields = Vec::with_capacity(raw_fields.len());
    for f in raw_fields {
        // SAFETY: as above.
        let name = unsafe { table_str(f.name, "a field name") }?;
        if f.flags & !sys::PORTLAB_FIELD_IN_RECORD != 0 {
            return Err(format!("field `{name}`: unknown flags {:#x}", f.flags));
        }
        fields.push(Field {
            name,
            offset: f.offset,
            width: f.width,
            count: f.count,
            in_record: f.flags & sys::PORTLAB_FIELD_IN_RECORD != 0,
        });
    }
    let records = if raw.record_name.is_null() && raw.record_count_field.is_null() && raw.record_size == 0 {
        None
    } else {
        // SAFETY: as above.
        let name = unsafe { table_str(raw.record_name, "record_name") }?;
        // SAFETY: as above.
        let count_field = unsafe { table_str(raw.record_count_field, "record_count_field") }?;
        Some(Records { name, count_field, size: raw.record_size, max: raw.max_records })
    };
    Schema::new(raw.version, raw.fixed_size, fields, records)
}

/// The largest payload a schema may describe (its fixed part and the most
/// records): 1 MiB, far above any device's state (the HPET's, with 32
/// comparators, is under 2 KiB). A schema is checked, and its value names
/// made, when its device type is first described; past this size a
/// mistaken or hostile table (a `max_records` of 2^32 - 1, say) would cost
/// gigabytes there, so it is refused instead.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

impl Schema {
    /// A schema from its parts, checked as a C table's is (widths, counts,
    /// records, [`MAX_PAYLOAD_BYTES`], and every byte of the fixed part and
    /// of the record covered by exactly one field), or why not. Nothing is
    /// made for a schema that is refused.
    pub fn new(version: u16, fixed_size: u32, fields: Vec<Field>, records: Option<Records>) -> Result<Schema, String> {
        for f in &fields {
            if !matches!(f.width, 1 | 2 | 4 | 8) || f.count == 0 {
                return Err(format!(
                    "field `{}`: width {} count {} (width must be 1, 2, 4 or 8, count at least 1)",
                    f.name, f.width, f.count
                ));
            }
        }
        if let Some(r) = &records {
            if r.size == 0 {
                return Err("record_size is 0".into());
            }
        }
        let largest = u64::from(fixed_size) + records.as_ref().map_or(0, |r| u64::from(r.size) * u64::from(r.max));
        if largest > MAX_PAYLOAD_BYTES {
            return Err(format!("the largest payload would be {largest} bytes, over the limit of {MAX_PAYLOAD_BYTES}"));
        }
        check_coverage(&fields, "fixed part", fixed_size, false)?;
        if let Some(r) = &records {
            check_coverage(&fields, "record", r.size, true)?;
            if !fields.iter().any(|f| !f.in_record && f.count == 1 && f.name == r.count_field) {
                return Err(format!("the record count field `{}` is not a scalar of the fixed part", r.count_field));
            }
        } else if fields.iter().any(|f| f.in_record) {
            return Err("a record field, but the schema has no records".into());
        }
        let names = Names::of(&fields, records.as_ref());
        Ok(Schema { version, fixed_size, records, fields, names })
    }
}

/// Each byte of a part (the fixed part, or the record) covered by exactly
/// one of its fields. By the fields' extents sorted by offset, so the cost
/// follows the number of fields, not the part's size.
fn check_coverage(fields: &[Field], part: &str, size: u32, in_record: bool) -> Result<(), String> {
    let mut extents = Vec::new();
    for f in fields.iter().filter(|f| f.in_record == in_record) {
        let end = u64::from(f.offset) + u64::from(f.width) * u64::from(f.count);
        if end > u64::from(size) {
            return Err(format!("field `{}` ends at byte {end}, past the {part} ({size} bytes)", f.name));
        }
        extents.push((u64::from(f.offset), end, f.name));
    }
    extents.sort_by_key(|&(start, end, _)| (start, end));
    let mut covered_to = 0u64;
    let mut last: Option<&str> = None;
    for &(start, end, name) in &extents {
        if start < covered_to {
            return Err(format!("fields `{}` and `{name}` overlap", last.unwrap_or("?")));
        }
        if start > covered_to {
            return Err(format!("byte {covered_to} of the {part} belongs to no field"));
        }
        covered_to = end;
        last = Some(name);
    }
    if covered_to < u64::from(size) {
        return Err(format!("byte {covered_to} of the {part} belongs to no field"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe visits every fast cell exactly once, whatever the address
    /// (the wrap past the last cell included), so a table finds a free
    /// cell while there is one and a search ends at most after all 32.
    #[test]
    fn a_probe_visits_every_fast_cell_once() {
        for key in [0usize, 8, 0x1000, 0x5555_5550, usize::MAX - 7, usize::MAX] {
            let mut seen: Vec<*const OnceLock<(usize, &'static Description)>> =
                fast_probe(key).map(std::ptr::from_ref).collect();
            assert_eq!(seen.len(), FAST_SLOTS, "key {key:#x}");
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), FAST_SLOTS, "key {key:#x}: a cell visited twice");
        }
    }
}
