//! Reading a whole QEMU 10.0 migration stream.
//!
//! The stream is a header (`QEVM`, version 3), then records, each starting
//! with a type byte:
//!
//! | byte | record | after the type byte |
//! | --- | --- | --- |
//! | `0x07` | configuration | be32 length, machine type name, subsections |
//! | `0x01` / `0x04` | section start / full section | be32 section id, u8 length + idstr, be32 instance id, be32 version id, payload, footer |
//! | `0x02` / `0x03` | section part / end | be32 section id, payload, footer |
//! | `0x08` | command | be16 command, be16 length, data |
//! | `0x00` | EOF | then, optionally, `0x06`, be32 length, the JSON description |
//!
//! A footer is `0x7e` and the section id again. A full section's payload
//! is not self-delimiting: the JSON description at the end sizes it, or a
//! layout the caller knows ([`parse`]'s `layouts`). The iterative RAM
//! section is walked page record by page record.

use std::ops::Range;

use portlab_device::qemu::{QemuLayout, SUBSECTION};
use serde_json::Value;

use crate::error::StreamError;

/// `QEVM`.
pub const MAGIC: u32 = 0x5145_564d;
/// The stream format version QEMU 10.0 writes and reads.
pub const VERSION: u32 = 3;

const EOF: u8 = 0x00;
const SECTION_START: u8 = 0x01;
const SECTION_PART: u8 = 0x02;
const SECTION_END: u8 = 0x03;
const SECTION_FULL: u8 = 0x04;
const VMDESCRIPTION: u8 = 0x06;
const CONFIGURATION: u8 = 0x07;
const COMMAND: u8 = 0x08;
const FOOTER: u8 = 0x7e;

/// The most a single JSON description may take (QEMU's for a small VM is
/// about 100 KB).
const MAX_VMDESC: usize = 64 << 20;

/// What a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind {
    /// The first part of an iterative section (`ram`).
    Start,
    /// A further part of an iterative section.
    Part,
    /// The last part of an iterative section.
    End,
    /// A device's whole state in one record.
    Full,
    /// A command (`MIG_CMD_*`) with its number.
    Command(u16),
}

/// One record of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset of its type byte.
    pub offset: usize,
    /// What it is.
    pub kind: RecordKind,
    /// Section id (0 for commands).
    pub section_id: u32,
    /// The section's idstr (for parts and ends, their start's).
    pub name: String,
    /// Instance id.
    pub instance_id: u32,
    /// Version id.
    pub version_id: u32,
    /// The payload's bytes in the stream (for a command, its data).
    pub payload: Range<usize>,
    /// The whole record's length, footer included.
    pub length: usize,
}

/// A whole stream, walked.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The machine type of the configuration section.
    pub machine: String,
    /// The configuration section's subsections, by name.
    pub config_subsections: Vec<String>,
    /// The target page size as log2 (from `configuration/target-page-bits`,
    /// or 12 when it is absent, which is what absence means on every
    /// target portlab's machines use: see `Machine::target_page_bits`).
    pub target_page_bits: u32,
    /// Every record, in stream order.
    pub records: Vec<Record>,
    /// Offset of the EOF byte.
    pub eof_offset: usize,
    /// The JSON description after EOF, if the stream has one.
    pub vmdesc: Option<Value>,
    /// The RAM blocks the `ram` section declared: idstr and size.
    pub ram_blocks: Vec<(String, u64)>,
    /// RAM page records walked.
    pub ram_pages: u64,
}

impl Stream {
    /// The full section `name`, instance `instance_id`.
    pub fn full_section(&self, name: &str, instance_id: u32) -> Option<&Record> {
        self.records.iter().find(|r| r.kind == RecordKind::Full && r.name == name && r.instance_id == instance_id)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, message: impl Into<String>) -> StreamError {
        StreamError::at(self.at, message)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], StreamError> {
        match self.at.checked_add(n).filter(|&e| e <= self.bytes.len()) {
            Some(end) => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err(self.err(format!(
                "the stream ends inside {what} ({n} bytes needed, {} left)",
                self.bytes.len().saturating_sub(self.at)
            ))),
        }
    }

    fn be(&mut self, n: usize, what: &str) -> Result<u64, StreamError> {
        Ok(self.take(n, what)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn u8(&mut self, what: &str) -> Result<u8, StreamError> {
        Ok(self.take(1, what)?[0])
    }

    fn be32(&mut self, what: &str) -> Result<u32, StreamError> {
        Ok(self.be(4, what)? as u32)
    }

    fn name(&mut self, what: &str) -> Result<String, StreamError> {
        let len = self.u8(what)? as usize;
        let start = self.at;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| StreamError::at(start, format!("{what} is not UTF-8")))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }
}

/// Finds the JSON description at the end of `bytes`: `0x06`, a be32
/// length that reaches exactly to the end, and a `{`. JSON text holds no
/// raw control bytes, so the marker is among the last 0x06 bytes; the
/// length check makes the match exact.
fn find_vmdesc(bytes: &[u8]) -> Option<usize> {
    let lowest = bytes.len().saturating_sub(MAX_VMDESC + 5);
    (lowest..bytes.len().saturating_sub(5)).rev().filter(|&p| bytes[p] == VMDESCRIPTION).find(|&p| {
        let len = u32::from_be_bytes([bytes[p + 1], bytes[p + 2], bytes[p + 3], bytes[p + 4]]) as usize;
        p + 5 + len == bytes.len() && bytes.get(p + 5) == Some(&b'{') && p > 0 && bytes[p - 1] == EOF
    })
}

/// The number of payload bytes the JSON description gives one section (or
/// struct): its fields' sizes times their array lengths, and each
/// subsection's header and fields.
fn vmdesc_size(desc: &Value) -> Option<usize> {
    let mut total = 0usize;
    for f in desc.get("fields").and_then(Value::as_array).into_iter().flatten() {
        let size = usize::try_from(f.get("size")?.as_u64()?).ok()?;
        let count = match f.get("array_len") {
            Some(n) => usize::try_from(n.as_u64()?).ok()?,
            None => 1,
        };
        total = total.checked_add(size.checked_mul(count)?)?;
    }
    for sub in desc.get("subsections").and_then(Value::as_array).into_iter().flatten() {
        let name = sub.get("vmsd_name")?.as_str()?;
        total = total.checked_add(1 + 1 + name.len() + 4)?.checked_add(vmdesc_size(sub)?)?;
    }
    Some(total)
}

/// The description of section `name`, instance `instance`.
fn vmdesc_device<'v>(vmdesc: &'v Value, name: &str, instance: u32) -> Option<&'v Value> {
    vmdesc.get("devices")?.as_array()?.iter().find(|d| {
        d.get("name").and_then(Value::as_str) == Some(name)
            && d.get("instance_id").and_then(Value::as_u64) == Some(u64::from(instance))
    })
}

/// RAM record flags (the low bits of each be64 address).
mod ram {
    pub(super) const MEM_SIZE: u64 = 0x04;
    pub(super) const ZERO: u64 = 0x02;
    pub(super) const PAGE: u64 = 0x08;
    pub(super) const EOS: u64 = 0x10;
    pub(super) const CONTINUE: u64 = 0x20;
    /// Flags a stream of QEMU 10.0 without format-changing capabilities
    /// never has, with the capability that makes them.
    pub(super) const REFUSED: &[(u64, &str)] = &[
        (0x01, "an obsolete full-RAM record"),
        (0x40, "XBZRLE pages (capability `xbzrle`)"),
        (0x80, "RAM hooks (RDMA migration)"),
        (0x100, "compressed pages (capability `compress`)"),
        (0x200, "multifd flushes (capability `multifd`)"),
    ];
}

/// Commands that change what follows them (postcopy, packaging, COLO):
/// a stream with them is not one portlab can walk.
fn refused_command(cmd: u16) -> Option<&'static str> {
    // QEMU 10.0's numbering: 1 open return path, 2 ping and 11 switchover
    // start are markers; the others change what follows them.
    match cmd {
        1 | 2 | 11 => None,
        3..=6 => Some("a postcopy command (capability `postcopy-ram`)"),
        7 => Some("a packaged sub-stream (postcopy)"),
        8 => Some("COLO (capability `x-colo`)"),
        9 => Some("a postcopy recovery command"),
        10 => Some("a postcopy recovery bitmap"),
        _ => Some("not a command QEMU 10.0 sends"),
    }
}

struct Walker<'a, 'l> {
    c: Cursor<'a>,
    stream: Stream,
    layouts: &'l dyn Fn(&str) -> Option<&'l QemuLayout>,
    /// Open iterative sections: id and name.
    open: Vec<(u32, String)>,
    /// RAM block names to their index in `stream.ram_blocks`, and the ids
    /// of the sections started so far: looked up per record, so a hostile
    /// stream of many records stays linear.
    block_index: std::collections::HashMap<String, usize>,
    section_ids: std::collections::HashSet<u32>,
    /// The last RAM block a page record named (for `CONTINUE`).
    ram_block: Option<usize>,
}

impl Walker<'_, '_> {
    fn configuration(&mut self) -> Result<(), StreamError> {
        let len = self.c.be32("the machine type's length")? as usize;
        let start = self.c.at;
        let name = self.c.take(len, "the machine type")?;
        self.stream.machine =
            String::from_utf8(name.to_vec()).map_err(|_| StreamError::at(start, "the machine type is not UTF-8"))?;
        while self.c.peek() == Some(SUBSECTION) {
            let at = self.c.at;
            self.c.at += 1;
            let sub = self.c.name("a configuration subsection's name")?;
            let version = self.c.be32("a subsection version")?;
            if version != 1 {
                return Err(StreamError::at(at, format!("configuration subsection `{sub}` version {version}")));
            }
            match sub.as_str() {
                "configuration/target-page-bits" => {
                    let at = self.c.at;
                    let bits = self.c.be32("the target page bits")?;
                    if !(10..=16).contains(&bits) {
                        return Err(StreamError::at(at, format!("target page bits {bits} (QEMU targets use 10..=16)")));
                    }
                    self.stream.target_page_bits = bits;
                }
                "configuration/capabilities" => {
                    let count = self.c.be32("the capability count")?;
                    let mut caps = Vec::new();
                    for _ in 0..count.min(64) {
                        caps.push(self.c.name("a capability")?);
                    }
                    return Err(StreamError::at(
                        at,
                        format!(
                            "the stream was saved with migration capabilities that change its format ({}): \
                             save it without them",
                            caps.join(", ")
                        ),
                    ));
                }
                "configuration/uuid" => {
                    self.c.take(16, "the VM's UUID")?;
                }
                "configuration/clear-bitmap-shift" => {
                    self.c.be32("the clear-bitmap shift")?;
                }
                other => {
                    return Err(StreamError::at(at, format!("unknown configuration subsection `{other}`")));
                }
            }
            self.stream.config_subsections.push(sub);
        }
        Ok(())
    }

    fn footer(&mut self, section_id: u32, name: &str) -> Result<(), StreamError> {
        let at = self.c.at;
        let marker = self.c.u8("the section footer").map_err(|e| e.in_section(name))?;
        let id = self.c.be32("the section footer").map_err(|e| e.in_section(name))?;
        if marker != FOOTER || id != section_id {
            return Err(StreamError::at(
                at,
                format!(
                    "expected the section footer 7e {section_id:08x}, found {marker:02x} {id:08x}: \
                     the section's payload is not the size its layout or description gives"
                ),
            )
            .in_section(name));
        }
        Ok(())
    }

    /// The length of a full section's payload starting here.
    fn full_payload_len(&self, name: &str, instance: u32, version: u32) -> Result<usize, StreamError> {
        let rest = &self.c.bytes[self.c.at..];
        if let Some(desc) = self.stream.vmdesc.as_ref().and_then(|v| vmdesc_device(v, name, instance)) {
            return vmdesc_size(desc)
                .ok_or_else(|| self.c.err("the JSON description of this section is malformed").in_section(name));
        }
        match (self.layouts)(name) {
            Some(layout) => layout
                .decode(version, rest)
                .map(|(_, len)| len)
                .map_err(|e| StreamError::at(self.c.at + e.offset, e.message).in_section(name)),
            None => Err(self
                .c
                .err(format!(
                    "cannot size section `{name}`: the stream has no JSON description of it and portlab \
                     has no layout for it"
                ))
                .in_section(name)),
        }
    }

    fn ram_block_name(&mut self) -> Result<usize, StreamError> {
        let at = self.c.at;
        let name = self.c.name("a RAM block's name")?;
        self.block_index
            .get(&name)
            .copied()
            .ok_or_else(|| StreamError::at(at, format!("page of unknown RAM block `{name}`")))
    }

    /// Walks RAM records up to and including the end-of-section flag.
    fn ram_records(&mut self, first_part: bool) -> Result<(), StreamError> {
        let page_size = 1u64 << self.stream.target_page_bits;
        let flag_mask = page_size - 1;
        let mut first = first_part;
        loop {
            let at = self.c.at;
            let word = self.c.be(8, "a RAM record")?;
            let (addr, flags) = (word & !flag_mask, word & flag_mask);
            if let Some((_, what)) = ram::REFUSED.iter().find(|(f, _)| flags & f != 0) {
                return Err(StreamError::at(at, format!("the RAM section has {what}: a format portlab does not walk")));
            }
            if flags & ram::MEM_SIZE != 0 {
                if !first {
                    return Err(StreamError::at(at, "a RAM size record after the first"));
                }
                let mut total = 0u64;
                while total < addr {
                    let name = self.c.name("a RAM block's name")?;
                    let size_at = self.c.at;
                    let size = self.c.be(8, "a RAM block's size")?;
                    total = total.checked_add(size).filter(|&t| t <= addr).ok_or_else(|| {
                        StreamError::at(size_at, format!("RAM block `{name}` runs past the announced total {addr:#x}"))
                    })?;
                    if self.block_index.insert(name.clone(), self.stream.ram_blocks.len()).is_some() {
                        return Err(StreamError::at(size_at, format!("RAM block `{name}` declared twice")));
                    }
                    self.stream.ram_blocks.push((name, size));
                }
                first = false;
                continue;
            }
            first = false;
            if flags & ram::EOS != 0 {
                return Ok(());
            }
            let block = if flags & ram::CONTINUE != 0 {
                self.ram_block.ok_or_else(|| StreamError::at(at, "a continued page with no block before it"))?
            } else {
                self.ram_block_name()?
            };
            self.ram_block = Some(block);
            let size = self.stream.ram_blocks[block].1;
            if addr.checked_add(page_size).is_none_or(|end| end > size) {
                return Err(StreamError::at(
                    at,
                    format!(
                        "page at {addr:#x} outside RAM block `{}` ({size:#x} bytes)",
                        self.stream.ram_blocks[block].0
                    ),
                ));
            }
            match flags & !ram::CONTINUE {
                ram::ZERO => {
                    self.c.u8("a zero page's fill byte")?;
                }
                ram::PAGE => {
                    self.c.take(page_size as usize, "a RAM page")?;
                }
                other => return Err(StreamError::at(at, format!("unknown RAM record flags {other:#x}"))),
            }
            self.stream.ram_pages += 1;
        }
    }

    fn section_body(
        &mut self,
        kind: u8,
        section_id: u32,
        name: &str,
        instance: u32,
        version: u32,
    ) -> Result<Range<usize>, StreamError> {
        let start = self.c.at;
        if name == "ram" {
            if version != 4 {
                return Err(self.c.err(format!("RAM section version {version} (QEMU 10.0 writes 4)")).in_section(name));
            }
            self.ram_records(kind == SECTION_START).map_err(|e| e.in_section(name))?;
        } else if kind == SECTION_FULL {
            let len = self.full_payload_len(name, instance, version)?;
            self.c.take(len, "the section's payload").map_err(|e| e.in_section(name))?;
        } else {
            return Err(self
                .c
                .err(format!("iterative section `{name}`: portlab walks only the RAM section's records"))
                .in_section(name));
        }
        let payload = start..self.c.at;
        self.footer(section_id, name)?;
        Ok(payload)
    }

    fn records(&mut self) -> Result<(), StreamError> {
        loop {
            let offset = self.c.at;
            let kind = self.c.u8("the next record (the stream has no EOF)")?;
            match kind {
                EOF => {
                    if let Some((_, name)) = self.open.first() {
                        return Err(StreamError::at(offset, format!("EOF while section `{name}` is still open")));
                    }
                    self.stream.eof_offset = offset;
                    return Ok(());
                }
                SECTION_START | SECTION_FULL => {
                    let section_id = self.c.be32("a section id")?;
                    let name = self.c.name("a section name")?;
                    let instance_id = self.c.be32("an instance id")?;
                    let version_id = self.c.be32("a version id")?;
                    if !self.section_ids.insert(section_id) {
                        return Err(
                            StreamError::at(offset, format!("section id {section_id} used twice")).in_section(&name)
                        );
                    }
                    if kind == SECTION_START {
                        self.open.push((section_id, name.clone()));
                    }
                    let payload = self.section_body(kind, section_id, &name, instance_id, version_id)?;
                    let kind = if kind == SECTION_START { RecordKind::Start } else { RecordKind::Full };
                    self.stream.records.push(Record {
                        offset,
                        kind,
                        section_id,
                        name,
                        instance_id,
                        version_id,
                        payload,
                        length: self.c.at - offset,
                    });
                }
                SECTION_PART | SECTION_END => {
                    let id_at = self.c.at;
                    let section_id = self.c.be32("a section id")?;
                    let index = self.open.iter().position(|(id, _)| *id == section_id).ok_or_else(|| {
                        StreamError::at(id_at, format!("part of section id {section_id}, which is not open"))
                    })?;
                    let name = self.open[index].1.clone();
                    let start = self
                        .stream
                        .records
                        .iter()
                        .find(|r| r.section_id == section_id && r.kind == RecordKind::Start)
                        .map(|r| (r.instance_id, r.version_id))
                        .unwrap_or((0, 0));
                    let payload = self.section_body(kind, section_id, &name, start.0, start.1)?;
                    if kind == SECTION_END {
                        self.open.remove(index);
                    }
                    let kind = if kind == SECTION_END { RecordKind::End } else { RecordKind::Part };
                    self.stream.records.push(Record {
                        offset,
                        kind,
                        section_id,
                        name,
                        instance_id: start.0,
                        version_id: start.1,
                        payload,
                        length: self.c.at - offset,
                    });
                }
                COMMAND => {
                    let cmd = self.c.be(2, "a command number")? as u16;
                    let len = self.c.be(2, "a command length")? as usize;
                    if let Some(what) = refused_command(cmd) {
                        return Err(StreamError::at(
                            offset,
                            format!("command {cmd} is {what}: a format portlab does not walk"),
                        ));
                    }
                    let start = self.c.at;
                    self.c.take(len, "a command's data")?;
                    self.stream.records.push(Record {
                        offset,
                        kind: RecordKind::Command(cmd),
                        section_id: 0,
                        name: String::new(),
                        instance_id: 0,
                        version_id: 0,
                        payload: start..self.c.at,
                        length: self.c.at - offset,
                    });
                }
                CONFIGURATION => return Err(StreamError::at(offset, "a second configuration section")),
                VMDESCRIPTION => return Err(StreamError::at(offset, "the JSON description before EOF")),
                other => return Err(StreamError::at(offset, format!("unknown record type {other:#04x}"))),
            }
        }
    }
}

/// Walks a whole stream. `layouts` gives the layout of a section portlab
/// knows by its name, for sizing it when the stream has no JSON
/// description. On success every byte of the stream has been accounted
/// for; on error nothing is returned but where and why.
pub fn parse<'l>(bytes: &[u8], layouts: &'l dyn Fn(&str) -> Option<&'l QemuLayout>) -> Result<Stream, StreamError> {
    let mut c = Cursor { bytes, at: 0 };
    let magic = c.be32("the header")?;
    if magic != MAGIC {
        return Err(StreamError::at(0, format!("not a QEMU migration stream (magic {magic:#010x}, expected `QEVM`)")));
    }
    let version = c.be32("the header")?;
    if version != VERSION {
        return Err(StreamError::at(
            4,
            format!("stream format version {version}; QEMU 10.0 writes and reads {VERSION}"),
        ));
    }
    let (vmdesc, end) = match find_vmdesc(bytes) {
        Some(p) => {
            let json = &bytes[p + 5..];
            let value: Value = serde_json::from_slice(json)
                .map_err(|e| StreamError::at(p + 5, format!("the JSON description is not valid JSON: {e}")))?;
            (Some(value), p)
        }
        None => (None, bytes.len()),
    };
    let mut walker = Walker {
        c: Cursor { bytes: &bytes[..end], at: 8 },
        stream: Stream {
            machine: String::new(),
            config_subsections: Vec::new(),
            target_page_bits: 12,
            records: Vec::new(),
            eof_offset: 0,
            vmdesc,
            ram_blocks: Vec::new(),
            ram_pages: 0,
        },
        layouts,
        open: Vec::new(),
        block_index: std::collections::HashMap::new(),
        section_ids: std::collections::HashSet::new(),
        ram_block: None,
    };
    if walker.c.peek() != Some(CONFIGURATION) {
        return Err(StreamError::at(8, "no configuration section after the header (QEMU 10.0 always sends one)"));
    }
    walker.c.at += 1;
    walker.configuration()?;
    walker.records()?;
    if walker.c.at != end {
        return Err(StreamError::at(
            walker.c.at,
            format!("{} bytes after EOF that are not a JSON description", end - walker.c.at),
        ));
    }
    Ok(walker.stream)
}
