//! Canonical events: what a run prints and what two implementations must
//! agree on (trace-format.md, "Event log").

use std::fmt;

/// One canonical event. `dev` indexes the board's device list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A completed MMIO read.
    Read {
        /// Device index.
        dev: usize,
        /// Byte offset in the region.
        offset: u64,
        /// Access size in bytes.
        size: u32,
        /// Value read.
        value: u64,
    },
    /// An output line changed level.
    Irq {
        /// Device index.
        dev: usize,
        /// Line number, from 0.
        line: u32,
        /// New level.
        level: bool,
    },
    /// A byte the device sent to its serial backend.
    Tx {
        /// Device index.
        dev: usize,
        /// The byte.
        byte: u8,
    },
    /// The device wrote into guest memory (trace format v2: an MSI).
    Mem {
        /// Device index.
        dev: usize,
        /// Guest-physical address.
        addr: u64,
        /// Bytes written: 1, 2, 4 or 8.
        size: u32,
        /// The value, little-endian in memory.
        value: u64,
    },
}

impl Event {
    /// The index of the device the event belongs to.
    pub fn dev(&self) -> usize {
        match *self {
            Event::Read { dev, .. } | Event::Irq { dev, .. } | Event::Tx { dev, .. } | Event::Mem { dev, .. } => dev,
        }
    }

    /// The event as a canonical log line, with `name` as the device name.
    pub fn display<'a>(&'a self, name: &'a str) -> EventLine<'a> {
        EventLine { event: self, name }
    }
}

/// Formats an [`Event`] as its canonical log line.
#[derive(Debug)]
pub struct EventLine<'a> {
    event: &'a Event,
    name: &'a str,
}

impl fmt::Display for EventLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name;
        match *self.event {
            Event::Read { offset, size: 8, value, .. } => {
                write!(f, "read {name} 0x{offset:03x} 8 0x{value:016x}")
            }
            Event::Read { offset, size, value, .. } => {
                write!(f, "read {name} 0x{offset:03x} {size} 0x{value:08x}")
            }
            Event::Irq { line, level, .. } => write!(f, "irq {name} {line} {}", u8::from(level)),
            Event::Tx { byte, .. } => write!(f, "tx {name} 0x{byte:02x}"),
            Event::Mem { addr, size, value, .. } => {
                let digits = 2 * size as usize;
                write!(f, "mem {name} 0x{addr:016x} {size} 0x{value:0digits$x}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_formats() {
        let r = Event::Read { dev: 0, offset: 0x18, size: 4, value: 0x90 };
        assert_eq!(r.display("pl011").to_string(), "read pl011 0x018 4 0x00000090");
        let r = Event::Read { dev: 0, offset: 0x0, size: 8, value: 0x400_0000_0400 };
        assert_eq!(r.display("pl011").to_string(), "read pl011 0x000 8 0x0000040000000400");
        let r = Event::Read { dev: 0, offset: 0x1ffc, size: 1, value: 0x7 };
        assert_eq!(r.display("x").to_string(), "read x 0x1ffc 1 0x00000007");
        let i = Event::Irq { dev: 0, line: 1, level: true };
        assert_eq!(i.display("pl011").to_string(), "irq pl011 1 1");
        let t = Event::Tx { dev: 0, byte: 0x0a };
        assert_eq!(t.display("pl011").to_string(), "tx pl011 0x0a");
        let m = Event::Mem { dev: 0, addr: 0xfee0_0000, size: 4, value: 0x41 };
        assert_eq!(m.display("hpet").to_string(), "mem hpet 0x00000000fee00000 4 0x00000041");
        let m = Event::Mem { dev: 0, addr: 1, size: 1, value: 0x7 };
        assert_eq!(m.display("x").to_string(), "mem x 0x0000000000000001 1 0x07");
    }
}
