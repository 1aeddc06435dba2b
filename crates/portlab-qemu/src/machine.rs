//! QEMU 10.0's machine types that portlab's devices sit on, and what a
//! stream of each must say in its configuration section.

use std::fmt;
use std::str::FromStr;

/// A QEMU 10.0 machine type portlab can write a stream for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// `virt-10.0` (AArch64): the PL011 and the PL031.
    Virt,
    /// `pc-i440fx-10.0` (x86-64): the HPET.
    PcI440fx,
}

impl Machine {
    /// Every machine, for messages.
    pub const ALL: [Machine; 2] = [Machine::Virt, Machine::PcI440fx];

    /// The machine type's name, as the configuration section carries it.
    pub fn name(self) -> &'static str {
        match self {
            Machine::Virt => "virt-10.0",
            Machine::PcI440fx => "pc-i440fx-10.0",
        }
    }

    /// The target's page size as log2, and whether the configuration
    /// section says it: QEMU sends `configuration/target-page-bits` only
    /// when the target's page size can vary and is above its minimum
    /// (AArch64: 12 against a minimum of 10; x86 pages are always 4 KiB).
    pub fn target_page_bits(self) -> (u32, bool) {
        match self {
            Machine::Virt => (12, true),
            Machine::PcI440fx => (12, false),
        }
    }

    /// The QEMU binary that runs it.
    pub fn qemu_binary(self) -> &'static str {
        match self {
            Machine::Virt => "qemu-system-aarch64",
            Machine::PcI440fx => "qemu-system-x86_64",
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Machine {
    type Err = String;
    fn from_str(s: &str) -> Result<Machine, String> {
        Machine::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let known: Vec<&str> = Machine::ALL.iter().map(|m| m.name()).collect();
            format!("unknown machine type `{s}` (portlab writes streams for {})", known.join(", "))
        })
    }
}
