//! Writing the minimal stream QEMU 10.0 loads with `-incoming file:PATH`:
//! the header, the configuration section of the machine type, the `timer`
//! section (the virtual clock at save time), the device sections, EOF.
//! QEMU needs nothing else: RAM it has not been sent stays as the machine
//! created it, and without a JSON description it only warns.

use crate::machine::Machine;
use crate::stream::{MAGIC, VERSION};
use crate::timer;

/// A stream being written.
#[derive(Debug)]
pub struct StreamWriter {
    out: Vec<u8>,
}

impl StreamWriter {
    /// The header and the configuration section of `machine`, then the
    /// `timer` section for virtual time `vm_clock_ns` (section id 0, as
    /// QEMU numbers it).
    pub fn new(machine: Machine, vm_clock_ns: u64) -> StreamWriter {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.push(0x07);
        out.extend_from_slice(&(machine.name().len() as u32).to_be_bytes());
        out.extend_from_slice(machine.name().as_bytes());
        let (bits, sent) = machine.target_page_bits();
        if sent {
            let name = "configuration/target-page-bits";
            out.push(0x05);
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&bits.to_be_bytes());
        }
        let mut w = StreamWriter { out };
        w.full_section(0, "timer", 0, timer::LAYOUT.version, &timer::payload(vm_clock_ns));
        w
    }

    /// A full section record: `0x04`, the id, the name, the instance and
    /// version ids, the payload, the footer.
    pub fn full_section(&mut self, section_id: u32, name: &str, instance_id: u32, version_id: u32, payload: &[u8]) {
        assert!(name.len() <= 255, "section names are at most 255 bytes");
        self.out.push(0x04);
        self.out.extend_from_slice(&section_id.to_be_bytes());
        self.out.push(name.len() as u8);
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(&instance_id.to_be_bytes());
        self.out.extend_from_slice(&version_id.to_be_bytes());
        self.out.extend_from_slice(payload);
        self.out.push(0x7e);
        self.out.extend_from_slice(&section_id.to_be_bytes());
    }

    /// EOF, and the stream's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(0x00);
        self.out
    }
}
