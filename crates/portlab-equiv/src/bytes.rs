//! Decoding arbitrary bytes into guest commands, for coverage-guided
//! fuzzers (`fuzz/fuzz_targets/lockstep.rs`): every byte string is a
//! valid command list, so the fuzzer explores behaviour, not syntax.

use portlab_board::{Command, Implementation};

/// A cursor over the input that yields zeros once it runs out.
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

/// Decodes `data` into at most `max` commands for any device of the default
/// board, from what each device declares: accesses in its accepted sizes
/// anywhere in its region, input lines, serial input, clock advances (small
/// ones, around the 1 us and 10 ns steps timers use), resets and
/// migrations. Every registered device is reachable, so one fuzz target
/// covers every Rust device.
pub fn described_commands(data: &[u8], max: usize) -> Vec<Command> {
    let registry = portlab_board::Registry::builtin();
    let board = portlab_board::BoardConfig::default_board(Implementation::C);
    let devices: Vec<(String, portlab_device::DeviceInfo)> = board
        .slots
        .iter()
        .filter_map(|s| {
            let kind = registry.kind(&s.kind)?;
            Some((s.name.clone(), kind.c.or(kind.rust)?.info()))
        })
        .collect();
    if devices.is_empty() {
        return Vec::new();
    }
    let mut b = Bytes { data };
    let mut out = Vec::new();
    while !b.data.is_empty() && out.len() < max {
        let op = b.u8();
        let (name, info) = &devices[usize::from(b.u8()) % devices.len()];
        let dev = name.clone();
        let command = match op % 16 {
            0..=9 => {
                let sizes: Vec<u32> = [1u32, 2, 4, 8].into_iter().filter(|s| info.access_sizes & s != 0).collect();
                let size = sizes[usize::from(b.u8()) % sizes.len().max(1)];
                let words = (info.region_size / 4).max(1);
                let word = (u64::from(b.u8()) | (u64::from(b.u8()) << 8)) % words;
                let offset = (word * 4) & !(u64::from(size) - 1);
                if op % 16 < 4 {
                    Command::Read { dev, offset, size, expected: None }
                } else {
                    // Small values more often: they make reachable deadlines.
                    let raw = if op & 0x80 == 0 {
                        u64::from(b.u8()) | u64::from(b.u8()) << 8
                    } else {
                        u64::from(b.u32()) | u64::from(b.u32()) << 32
                    };
                    let value = if size == 8 { raw } else { raw & ((1u64 << (size * 8)) - 1) };
                    Command::Write { dev, offset, value, size }
                }
            }
            10 | 11 => {
                let ns = match b.u8() % 4 {
                    0 => 0,
                    1 => u64::from(b.u8()) * 10,
                    2 => u64::from(b.u8()) * 1000,
                    _ => u64::from(b.u32()),
                };
                Command::Advance { ns }
            }
            12 if info.num_inputs > 0 => {
                let line = u32::from(b.u8()) % info.num_inputs;
                Command::Input { dev, line, level: b.u8() & 1 == 1 }
            }
            12 => Command::Rx { dev, bytes: vec![b.u8()] },
            13 => Command::Rx { dev, bytes: vec![b.u8()] },
            14 => Command::Reset { dev: Some(dev) },
            _ => {
                let to = match b.u8() % 3 {
                    0 => None,
                    1 => Some(Implementation::C),
                    _ => Some(Implementation::Rust),
                };
                Command::Migrate { dev, to }
            }
        };
        out.push(command);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_bytes_reach_every_device_of_the_board() {
        // Bytes from xorshift64: every opcode and every device index come up.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let data: Vec<u8> = (0..65_536)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let commands = super::described_commands(&data, 20_000);
        assert!(commands.len() > 5_000, "{} commands", commands.len());
        for c in &commands {
            // Every command prints as a trace line that parses back.
            let line = c.to_string();
            assert_eq!(portlab_board::parse_line(&line).unwrap().as_ref(), Some(c), "{line}");
        }
        assert!(super::described_commands(&[], 10).is_empty());
        for slot in portlab_board::BoardConfig::default_board(Implementation::C).slots {
            assert!(commands.iter().any(|c| c.device() == Some(slot.name.as_str())), "{} never addressed", slot.name);
        }
        assert!(commands.iter().any(|c| matches!(c, Command::Input { .. })));
    }
}
