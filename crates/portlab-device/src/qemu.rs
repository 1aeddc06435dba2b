//! A device's state as QEMU 10.0 migrates it, as data: the vmstate layout
//! of its section (fields, versions, subsections) and the mapping to and
//! from the device's portlab payload.
//!
//! Why it is here: "migration compatible" in QEMU means a VM saved with the
//! C device loads with the Rust one and back. portlab's own container
//! proves that between its two implementations; this module lets a device
//! also say what QEMU itself writes, so that `portlab qemu import` and
//! `export` (crate `portlab-qemu`) can check a rewrite against the bytes a
//! real QEMU saved. A device declares a [`QemuDevice`] in its own crate
//! (`portlab_pl011::qemu::QEMU`), beside its state schema, and the registry
//! entry points at it: no tool knows any device by name.
//!
//! QEMU's section payload is plain big-endian fields in declaration order,
//! then the subsections that were sent, each `0x05`, a length-prefixed
//! name and a be32 version, then its own fields (and its own subsections).
//! Decoding here is bounds-checked and names every value the way QEMU's
//! tools do (`read_fifo[3]`, `timer[1].cmp`, `pl011/clock:clk.period`).

use std::collections::BTreeMap;
use std::fmt;

use crate::schema::Schema;

/// The marker byte of a subsection (QEMU_VM_SUBSECTION).
pub const SUBSECTION: u8 = 0x05;

/// One vmstate field type, as the stream encodes it (big-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuType {
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `timer` (`VMSTATE_TIMER_PTR`): the absolute expiry in ns on the
    /// virtual clock as a be64, -1 when the timer is not pending.
    Timer,
    /// `unused_buffer` of this many bytes: sent as zeros, ignored on load.
    Unused(u32),
}

impl QemuType {
    /// Bytes in the stream.
    pub const fn size(self) -> usize {
        match self {
            QemuType::U8 => 1,
            QemuType::U16 => 2,
            QemuType::U32 | QemuType::I32 => 4,
            QemuType::U64 | QemuType::I64 | QemuType::Timer => 8,
            QemuType::Unused(n) => n as usize,
        }
    }

    /// The type's name in QEMU's JSON description of a stream.
    pub const fn vmdesc_name(self) -> &'static str {
        match self {
            QemuType::U8 => "uint8",
            QemuType::U16 => "uint16",
            QemuType::U32 => "uint32",
            QemuType::U64 => "uint64",
            QemuType::I32 => "int32",
            QemuType::I64 => "int64",
            QemuType::Timer => "timer",
            QemuType::Unused(_) => "unused_buffer",
        }
    }
}

/// One field, or an array of `count` of them (`read_fifo`: 16 x uint32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuField {
    /// The vmstate field's name.
    pub name: &'static str,
    /// Its type.
    pub ty: QemuType,
    /// Elements (1 for a scalar).
    pub count: u32,
}

/// A scalar field.
pub const fn field(name: &'static str, ty: QemuType) -> QemuField {
    QemuField { name, ty, count: 1 }
}

/// An array field of `count` elements.
pub const fn array(name: &'static str, ty: QemuType, count: u32) -> QemuField {
    QemuField { name, ty, count }
}

/// One item of a section: a field, or an array of structs whose length is
/// an earlier field's value (the HPET's `timer[num_timers_save]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuItem {
    /// A field or a fixed-length array.
    Field(QemuField),
    /// `name[count_field]` of a struct of `fields`.
    StructArray {
        /// The array's name.
        name: &'static str,
        /// The earlier field holding the element count.
        count_field: &'static str,
        /// The most elements QEMU accepts.
        max: u32,
        /// One element's fields.
        fields: &'static [QemuField],
    },
}

/// A subsection: sent only when its `needed` rule holds on the source; a
/// loader takes it when present and keeps its own value otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuSubsection {
    /// Its name (`pl011/clock`).
    pub name: &'static str,
    /// The version QEMU 10.0 sends (and the newest it accepts).
    pub version: u32,
    /// Its fields.
    pub fields: &'static [QemuItem],
    /// Subsections of structs inside it (`clock/muldiv` of the PL011's
    /// `clk`), which follow its fields.
    pub subsections: &'static [QemuSubsection],
}

/// A device section's layout in QEMU 10.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuLayout {
    /// The section's idstr and vmstate name (`pl011`).
    pub name: &'static str,
    /// The version QEMU 10.0 saves.
    pub version: u32,
    /// The oldest version QEMU 10.0 loads.
    pub min_version: u32,
    /// The fields, in stream order.
    pub items: &'static [QemuItem],
    /// The subsections, in the order QEMU sends them.
    pub subsections: &'static [QemuSubsection],
}

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QemuValue {
    /// An unsigned field.
    Uint(u64),
    /// A signed field (`int32`, `int64`, `timer`).
    Int(i64),
    /// An `unused_buffer`'s bytes.
    Bytes(Vec<u8>),
}

impl QemuValue {
    /// The value as the 64 bits a portlab payload field holds (a signed
    /// value two's complement).
    pub fn bits(&self) -> u64 {
        match self {
            QemuValue::Uint(v) => *v,
            QemuValue::Int(v) => *v as u64,
            QemuValue::Bytes(_) => 0,
        }
    }
}

impl fmt::Display for QemuValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QemuValue::Uint(v) => write!(f, "{v:#x}"),
            QemuValue::Int(v) if *v < 0 => write!(f, "{v}"),
            QemuValue::Int(v) => write!(f, "{v:#x}"),
            QemuValue::Bytes(b) => {
                f.write_str("hex:")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

/// A device section's decoded state: every value in stream order, named as
/// QEMU's tools name them, and which subsections were present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuState {
    /// The section's version.
    pub version: u32,
    /// `(name, value)` in stream order; a subsection's values are prefixed
    /// with its name and a colon.
    pub values: Vec<(String, QemuValue)>,
    /// The subsections present, in stream order (nested ones by their own
    /// name).
    pub subsections: Vec<String>,
}

impl QemuState {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&QemuValue> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The value named `name` as 64 bits, or an error naming it.
    pub fn bits(&self, name: &str) -> Result<u64, String> {
        self.get(name).map(QemuValue::bits).ok_or_else(|| format!("no field `{name}`"))
    }

    /// Whether subsection `name` was present.
    pub fn has_subsection(&self, name: &str) -> bool {
        self.subsections.iter().any(|s| s == name)
    }

    /// Sets `name` (which must exist) to `bits`, typed as the value it
    /// replaces.
    pub fn set(&mut self, name: &str, bits: u64) -> Result<(), String> {
        let slot = self.values.iter_mut().find(|(n, _)| n == name).ok_or_else(|| format!("no field `{name}`"))?;
        slot.1 = match slot.1 {
            QemuValue::Uint(_) => QemuValue::Uint(bits),
            QemuValue::Int(_) => QemuValue::Int(bits as i64),
            QemuValue::Bytes(_) => return Err(format!("`{name}` is an unused buffer")),
        };
        Ok(())
    }
}

/// Where decoding a section payload failed: the byte offset in the payload
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset from the payload's start.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payload byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn err(&self, message: impl Into<String>) -> DecodeError {
        DecodeError { offset: self.at, message: message.into() }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            self.err(format!("{what} needs {n} bytes, {} left", self.bytes.len().saturating_sub(self.at)))
        })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn be(&mut self, n: usize, what: &str) -> Result<u64, DecodeError> {
        Ok(self.take(n, what)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }
}

fn decode_field(c: &mut Cursor<'_>, ty: QemuType, name: &str) -> Result<QemuValue, DecodeError> {
    Ok(match ty {
        QemuType::U8 | QemuType::U16 | QemuType::U32 | QemuType::U64 => QemuValue::Uint(c.be(ty.size(), name)?),
        QemuType::I32 => QemuValue::Int(i64::from(c.be(4, name)? as u32 as i32)),
        QemuType::I64 | QemuType::Timer => QemuValue::Int(c.be(8, name)? as i64),
        QemuType::Unused(n) => QemuValue::Bytes(c.take(n as usize, name)?.to_vec()),
    })
}

fn element_name(prefix: &str, name: &str, count: u32, k: u32) -> String {
    if count == 1 { format!("{prefix}{name}") } else { format!("{prefix}{name}[{k}]") }
}

fn decode_fields(
    c: &mut Cursor<'_>,
    fields: &[QemuField],
    prefix: &str,
    out: &mut Vec<(String, QemuValue)>,
) -> Result<(), DecodeError> {
    for f in fields {
        for k in 0..f.count {
            let name = element_name(prefix, f.name, f.count, k);
            let value = decode_field(c, f.ty, &name)?;
            out.push((name, value));
        }
    }
    Ok(())
}

fn decode_items(
    c: &mut Cursor<'_>,
    items: &[QemuItem],
    prefix: &str,
    out: &mut Vec<(String, QemuValue)>,
) -> Result<(), DecodeError> {
    // Where each field of this level starts: a count out of range is
    // reported at the count's own bytes, not at the array it counts.
    let mut starts: Vec<(&str, usize)> = Vec::new();
    for item in items {
        match item {
            QemuItem::Field(f) => {
                starts.push((f.name, c.at));
                decode_fields(c, std::slice::from_ref(f), prefix, out)?;
            }
            QemuItem::StructArray { name, count_field, max, fields } => {
                let count_name = format!("{prefix}{count_field}");
                let count = out
                    .iter()
                    .find(|(n, _)| *n == count_name)
                    .map(|(_, v)| v.bits())
                    .ok_or_else(|| c.err(format!("`{name}` is counted by `{count_name}`, which comes later")))?;
                if count > u64::from(*max) {
                    let at = starts.iter().find(|(n, _)| n == count_field).map_or(c.at, |&(_, at)| at);
                    return Err(DecodeError {
                        offset: at,
                        message: format!("`{count_name}` = {count}, above the most QEMU accepts ({max})"),
                    });
                }
                for i in 0..count {
                    decode_fields(c, fields, &format!("{prefix}{name}[{i}]."), out)?;
                }
            }
        }
    }
    Ok(())
}

/// Decodes the subsections at one level: while the next byte is a
/// subsection marker whose name is one of `known`. A name not known here
/// ends the level (it may belong to an enclosing one); at the top level
/// the caller reports it.
fn decode_subsections(
    c: &mut Cursor<'_>,
    known: &[QemuSubsection],
    state: &mut QemuState,
    prefix: &str,
) -> Result<(), DecodeError> {
    while c.peek() == Some(SUBSECTION) {
        let start = c.at;
        c.at += 1;
        let len = c.be(1, "subsection name length")? as usize;
        let name = c.take(len, "subsection name")?;
        let Some(sub) = known.iter().find(|s| s.name.as_bytes() == name) else {
            c.at = start;
            return Ok(());
        };
        let version = c.be(4, "subsection version")?;
        if version == 0 || version > u64::from(sub.version) {
            c.at -= 4;
            return Err(
                c.err(format!("subsection `{}` version {version}: QEMU 10.0 accepts 1..={}", sub.name, sub.version))
            );
        }
        if state.has_subsection(sub.name) {
            c.at = start;
            return Err(c.err(format!("subsection `{}` appears twice", sub.name)));
        }
        state.subsections.push(sub.name.to_string());
        let sub_prefix = format!("{prefix}{}:", sub.name);
        decode_items(c, sub.fields, &sub_prefix, &mut state.values)?;
        decode_subsections(c, sub.subsections, state, &sub_prefix)?;
    }
    Ok(())
}

impl QemuLayout {
    /// Whether QEMU 10.0 loads version `version` of this section.
    pub fn accepts(&self, version: u32) -> bool {
        (self.min_version..=self.version).contains(&version)
    }

    /// Decodes a section payload of version `version` from the start of
    /// `bytes`, which may go on past it (the section footer, when the
    /// stream carries no description that sizes the section). Returns the
    /// state and the payload's length. Nothing is assumed about the bytes:
    /// a short or malformed payload is an error at its offset.
    pub fn decode(&self, version: u32, bytes: &[u8]) -> Result<(QemuState, usize), DecodeError> {
        let mut c = Cursor { bytes, at: 0 };
        if !self.accepts(version) {
            return Err(c.err(format!(
                "section `{}` version {version}: QEMU 10.0 accepts {}..={}",
                self.name, self.min_version, self.version
            )));
        }
        let mut state = QemuState { version, values: Vec::new(), subsections: Vec::new() };
        decode_items(&mut c, self.items, "", &mut state.values)?;
        decode_subsections(&mut c, self.subsections, &mut state, "")?;
        if c.peek() == Some(SUBSECTION) {
            let mut probe = Cursor { bytes, at: c.at + 1 };
            let name = probe
                .be(1, "subsection name length")
                .and_then(|len| probe.take(len as usize, "subsection name"))
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default();
            return Err(
                c.err(format!("unknown subsection `{name}` (QEMU 10.0's `{}` has no such subsection)", self.name))
            );
        }
        Ok((state, c.at))
    }

    /// Encodes `state` as a section payload: the values in layout order by
    /// name, then the subsections `state` lists, in layout order.
    pub fn encode(&self, state: &QemuState) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        encode_items(&mut out, self.items, "", state)?;
        encode_subsections(&mut out, self.subsections, "", state)?;
        Ok(out)
    }

    /// Every value name of a state with `count` elements in each struct
    /// array, without subsections: for tools and tests.
    pub fn field_names(&self, count: u32) -> Vec<String> {
        let mut names = Vec::new();
        for item in self.items {
            match item {
                QemuItem::Field(f) => names.extend((0..f.count).map(|k| element_name("", f.name, f.count, k))),
                QemuItem::StructArray { name, fields, .. } => {
                    for i in 0..count {
                        for f in *fields {
                            let prefix = format!("{name}[{i}].");
                            names.extend((0..f.count).map(|k| element_name(&prefix, f.name, f.count, k)));
                        }
                    }
                }
            }
        }
        names
    }
}

fn encode_value(out: &mut Vec<u8>, ty: QemuType, name: &str, value: &QemuValue) -> Result<(), String> {
    match (ty, value) {
        (QemuType::Unused(n), QemuValue::Bytes(b)) if b.len() == n as usize => out.extend_from_slice(b),
        (QemuType::Unused(n), _) => return Err(format!("`{name}` must be {n} bytes")),
        (_, QemuValue::Bytes(_)) => return Err(format!("`{name}` is a number, not bytes")),
        (ty, v) => {
            let bits = v.bits();
            let size = ty.size();
            let fits = size == 8
                || match v {
                    QemuValue::Uint(u) => *u >> (size * 8) == 0,
                    QemuValue::Int(i) => {
                        let min = -(1i64 << (size * 8 - 1));
                        (min..-min).contains(i)
                    }
                    QemuValue::Bytes(_) => false,
                };
            if !fits {
                return Err(format!("`{name}` = {v} does not fit in {size} bytes"));
            }
            out.extend_from_slice(&bits.to_be_bytes()[8 - size..]);
        }
    }
    Ok(())
}

fn encode_fields(out: &mut Vec<u8>, fields: &[QemuField], prefix: &str, state: &QemuState) -> Result<(), String> {
    for f in fields {
        for k in 0..f.count {
            let name = element_name(prefix, f.name, f.count, k);
            let value = state.get(&name).ok_or_else(|| format!("no value for `{name}`"))?;
            encode_value(out, f.ty, &name, value)?;
        }
    }
    Ok(())
}

fn encode_items(out: &mut Vec<u8>, items: &[QemuItem], prefix: &str, state: &QemuState) -> Result<(), String> {
    for item in items {
        match item {
            QemuItem::Field(f) => encode_fields(out, std::slice::from_ref(f), prefix, state)?,
            QemuItem::StructArray { name, count_field, max, fields } => {
                let count = state.bits(&format!("{prefix}{count_field}"))?;
                if count > u64::from(*max) {
                    return Err(format!("`{count_field}` = {count}, above the most QEMU accepts ({max})"));
                }
                for i in 0..count {
                    encode_fields(out, fields, &format!("{prefix}{name}[{i}]."), state)?;
                }
            }
        }
    }
    Ok(())
}

fn encode_subsections(
    out: &mut Vec<u8>,
    subs: &[QemuSubsection],
    prefix: &str,
    state: &QemuState,
) -> Result<(), String> {
    for sub in subs.iter().filter(|s| state.has_subsection(s.name)) {
        out.push(SUBSECTION);
        out.push(sub.name.len() as u8);
        out.extend_from_slice(sub.name.as_bytes());
        out.extend_from_slice(&sub.version.to_be_bytes());
        let sub_prefix = format!("{prefix}{}:", sub.name);
        encode_items(out, sub.fields, &sub_prefix, state)?;
        encode_subsections(out, sub.subsections, &sub_prefix, state)?;
    }
    Ok(())
}

/// What a mapping knows of the save besides the section: the virtual
/// clock at save time (the stream's `timer` section) and the instance's
/// creation properties.
#[derive(Debug, Clone)]
pub struct QemuContext {
    /// The virtual clock at save time, in ns.
    pub vm_clock_ns: u64,
    /// The device's creation properties by name (portlab's names).
    pub properties: BTreeMap<String, u64>,
}

/// Creation properties a QEMU section implies, by portlab name.
pub type ImpliedProperties = Vec<(&'static str, u64)>;

/// portlab payload values by schema name (`read_fifo[3]`, `timer[1].cmp`).
pub type PortlabValues = BTreeMap<String, u64>;

/// A device's QEMU 10.0 migration, declared by the device: its section
/// layout, where QEMU has it, and the mapping to and from its portlab
/// payload. Values that map one to one are a table ([`QemuDevice::copies`]);
/// what QEMU computes at save or load time (its `pre_save` and
/// `post_load`, optional subsections, time fields) is the device's two
/// functions.
#[derive(Debug, Clone, Copy)]
pub struct QemuDevice {
    /// The section layout.
    pub layout: &'static QemuLayout,
    /// Where QEMU 10.0's machine types have this device (one instance,
    /// instance id 0).
    pub machines: &'static [QemuPlacement],
    /// `(QEMU property, portlab property)`: the device's QEMU properties
    /// (`-global hpet.timers=5`) that are portlab creation properties;
    /// `on`/`off` are 1 and 0.
    pub qemu_properties: &'static [(&'static str, &'static str)],
    /// `(QEMU name, portlab name)` of the values copied as they are; a
    /// `{i}` in both stands for each struct-array index.
    pub copies: &'static [(&'static str, &'static str)],
    /// The portlab creation properties of the state a section holds (the
    /// HPET's `timers` must equal the section's timer count).
    pub properties: fn(&QemuState) -> Result<ImpliedProperties, String>,
    /// Import: the portlab values that are not plain copies, from the
    /// section as QEMU's `post_load` would see it; it may also refuse a
    /// state QEMU 10.0 would refuse.
    pub import: fn(&QemuState, &QemuContext, &mut PortlabValues) -> Result<(), String>,
    /// Export: the section values that are not plain copies (QEMU's
    /// `pre_save`, which subsections are sent), into `state`, which holds
    /// the copies already and the unmodelled values of the imported
    /// section, or [`QemuDevice::defaults`].
    pub export: fn(&PortlabValues, &QemuContext, &mut QemuState) -> Result<(), String>,
    /// The section QEMU 10.0 saves for a device of `count` struct-array
    /// elements right after creation: it supplies the values portlab does
    /// not model when a state did not come from a stream.
    pub defaults: fn(count: u32) -> QemuState,
}

/// The device on one QEMU 10.0 machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuPlacement {
    /// The machine type (`virt-10.0`).
    pub machine: &'static str,
    /// The section id QEMU gives the device's section there.
    pub section_id: u32,
    /// Its MMIO base address there.
    pub base: u64,
    /// The portlab creation properties the machine gives the device
    /// (the `pc-i440fx` HPET routes only to IRQ 2: `hpet-intcap` 4).
    pub properties: &'static [(&'static str, u64)],
    /// Whether the machine's first serial port is this device (where
    /// `-serial` input goes).
    pub serial: bool,
}

fn expand(pattern: &str, i: u32) -> String {
    pattern.replace("{i}", &i.to_string())
}

impl QemuDevice {
    /// The struct-array length of a state (0 when the layout has none).
    fn count(&self, state: &QemuState) -> Result<u32, String> {
        for item in self.layout.items {
            if let QemuItem::StructArray { count_field, .. } = item {
                return u32::try_from(state.bits(count_field)?).map_err(|_| format!("`{count_field}` too large"));
            }
        }
        Ok(0)
    }

    fn copy_pairs(&self, count: u32) -> impl Iterator<Item = (String, String)> + '_ {
        self.copies.iter().flat_map(move |(q, p)| {
            let n = if q.contains("{i}") { count } else { 1 };
            (0..n).map(move |i| (expand(q, i), expand(p, i)))
        })
    }

    /// The portlab payload of `state`, laid out by `schema`, or why QEMU's
    /// state does not map (a value out of the payload field's width, a
    /// state QEMU 10.0 itself would refuse).
    pub fn to_payload(&self, state: &QemuState, ctx: &QemuContext, schema: &Schema) -> Result<Vec<u8>, String> {
        let count = self.count(state)?;
        let mut values = PortlabValues::new();
        for (q, p) in self.copy_pairs(count) {
            values.insert(p, state.bits(&q)?);
        }
        (self.import)(state, ctx, &mut values)?;
        schema.encode(|name| values.get(name).copied())
    }

    /// The QEMU section state of a portlab payload. `base` holds the
    /// values portlab does not model: the imported section's, or `None`
    /// for QEMU's defaults.
    pub fn from_payload(
        &self,
        payload: &[u8],
        ctx: &QemuContext,
        schema: &Schema,
        base: Option<&QemuState>,
    ) -> Result<QemuState, String> {
        let values: PortlabValues =
            schema.decode(payload)?.into_iter().map(|v| (v.name.to_string(), v.value)).collect();
        let count = schema.record_count(payload)?;
        let mut state = match base {
            Some(b) if self.count(b)? == count => b.clone(),
            Some(b) => {
                return Err(format!(
                    "the saved state has {count} elements, the QEMU section it is written over has {}",
                    self.count(b)?
                ));
            }
            None => (self.defaults)(count),
        };
        state.version = self.layout.version;
        for (q, p) in self.copy_pairs(count) {
            let v = *values.get(&p).ok_or_else(|| format!("the payload has no `{p}`"))?;
            state.set(&q, v)?;
        }
        (self.export)(&values, ctx, &mut state)?;
        Ok(state)
    }
}
