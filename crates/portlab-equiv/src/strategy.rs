//! Random guest behaviour, for any registered device.
//!
//! A case is a list of *chunks*; a chunk is one guest action or a short
//! sequence that drives a device into a deep state on purpose. Every chunk
//! comes from what the device declares (its region, access sizes,
//! properties, input lines and timers: [`DeviceGuest`]), mixed with the
//! device's own deep-state guest when its registry entry has one (a
//! plug-in beside the device: `portlab_pl011::guest`, `portlab_hpet::guest`).
//! No device is named here.
//!
//! The generator is a plain function of a SplitMix64 stream
//! ([`portlab_device::explore::Rng`]), not a proptest strategy: the
//! lockstep engine runs a million commands a second, and proptest's value
//! trees cost more to build than the commands cost to run. Shrinking
//! does not need them either: `check::shrink` removes whole chunks, then
//! commands, then simplifies values, on the concrete case.

use portlab_board::{Command, Implementation, Registry};
use portlab_device::explore::{GuestChunk, GuestStep, MigrateTo, Rng};

/// Which devices a case drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSet {
    /// Every device of the registry at once, interleaved.
    All,
    /// One registered device.
    One(&'static str),
}

impl std::fmt::Display for DeviceSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceSet::All => "all",
            DeviceSet::One(name) => name,
        })
    }
}

impl std::str::FromStr for DeviceSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let registry = Registry::builtin();
        match (s, registry.kind(s)) {
            ("all", _) => Ok(DeviceSet::All),
            (_, Some(kind)) => Ok(DeviceSet::One(kind.name)),
            (other, None) => {
                let names: Vec<&str> = registry.kinds().iter().map(|k| k.name).collect();
                Err(format!("unknown device `{other}` (expected all or one of: {})", names.join(", ")))
            }
        }
    }
}

impl DeviceSet {
    /// The device kinds the set drives, in registry order.
    pub fn names(self) -> Vec<&'static str> {
        match self {
            DeviceSet::All => Registry::builtin().kinds().iter().map(|k| k.name).collect(),
            DeviceSet::One(name) => vec![name],
        }
    }
}

/// Cases for a set of devices: now and then an `epoch` first (sometimes
/// beyond 2^32), each device's creation properties, then up to
/// `max_chunks` chunks for the devices, interleaved.
#[derive(Debug, Clone)]
pub struct CaseGenerator {
    guests: Vec<DeviceGuest>,
    max_chunks: usize,
}

impl CaseGenerator {
    /// The generator for `devices` (from the builtin registry), with at
    /// most `max_chunks` chunks a case (at least 1).
    pub fn new(devices: DeviceSet, max_chunks: usize) -> CaseGenerator {
        let registry = Registry::builtin();
        let guests = devices.names().into_iter().filter_map(|name| DeviceGuest::new(&registry, name)).collect();
        CaseGenerator { guests, max_chunks: max_chunks.max(1) }
    }

    /// One case, as chunks of commands.
    pub fn case(&self, rng: &mut Rng) -> Vec<Vec<Command>> {
        let mut case = Case::default();
        self.case_into(rng, &mut case);
        case.chunks()
    }

    /// One case into `case` (cleared first): the lockstep engine reuses
    /// one [`Case`], so a command costs no allocation of its own beyond
    /// its device name.
    pub fn case_into(&self, rng: &mut Rng, case: &mut Case) {
        case.commands.clear();
        case.lengths.clear();
        if self.guests.is_empty() {
            return;
        }
        let chunks = 1 + rng.below(self.max_chunks as u64) as usize;
        if rng.chance(10) {
            let seconds = match rng.below(3) {
                0 => 5_000_000_000,
                1 => u64::from(u32::MAX),
                _ => u64::from(rng.next_u64() as u32),
            };
            case.push(|out| out.push(Command::Epoch { seconds }));
        }
        for guest in &self.guests {
            if let Some(config) = guest.config(rng) {
                case.push(|out| out.push(config));
            }
        }
        let several = self.guests.len() > 1;
        for _ in 0..chunks {
            let guest = &self.guests[rng.below(self.guests.len() as u64) as usize];
            let start = case.commands.len();
            case.push(|out| guest.chunk(rng, out));
            if several {
                for command in &mut case.commands[start..] {
                    if let Command::Advance { ns } = command
                        && *ns < DEADLINE_BASE
                    {
                        *ns = (*ns).min(SHARED_ADVANCE_CAP_NS);
                    }
                }
            }
        }
    }
}

/// A generated case: its commands in order, and how many each chunk has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Case {
    /// Every command, chunk after chunk.
    pub commands: Vec<Command>,
    /// The number of commands of each chunk, in order.
    pub lengths: Vec<usize>,
}

impl Case {
    /// Appends one chunk: whatever `chunk` appends to the commands.
    fn push(&mut self, chunk: impl FnOnce(&mut Vec<Command>)) {
        let start = self.commands.len();
        chunk(&mut self.commands);
        self.lengths.push(self.commands.len() - start);
    }

    /// The case as chunks (what shrinking removes whole).
    pub fn chunks(&self) -> Vec<Vec<Command>> {
        let mut rest = self.commands.iter();
        self.lengths.iter().map(|n| rest.by_ref().take(*n).cloned().collect()).collect()
    }
}

/// The longest plain advance in a case that drives several devices. An
/// advance costs one expiry per period of every running periodic timer on
/// the board, so one device's seconds-long advance (an RTC alarm) beside
/// another's 1 us periodic comparator (an HPET) would be millions of
/// events per command. Each device's own runs keep their long advances.
pub const SHARED_ADVANCE_CAP_NS: u64 = 1_000_000;

/// Deadline-relative advances. A random guest cannot know, when a case is
/// generated, where the device's timers will be armed; the board knows at
/// run time. So the generator emits `advance` with an encoded count in the
/// top 4096 values of u64 (no real advance can be that long: the clock
/// would overflow), meaning "to the next armed deadline, plus DELTA ns",
/// and [`resolve_advance`] turns it into an ordinary `advance` just before
/// running it. Shrunk traces only ever hold resolved commands.
const DEADLINE_BASE: u64 = u64::MAX - 4095;
const DEADLINE_BIAS: i64 = 2048;

/// An advance to the next armed deadline plus `delta` ns (-2048..=2047).
pub fn advance_to_deadline(delta: i64) -> Command {
    let code = (delta.clamp(-DEADLINE_BIAS, DEADLINE_BIAS - 1) + DEADLINE_BIAS) as u64;
    Command::Advance { ns: DEADLINE_BASE + code }
}

/// The concrete command for an encoded advance on a board whose clock
/// reads `now` and whose soonest armed deadline is `soonest`: `advance`
/// to that deadline (now, if it is due), plus its delta (no timer armed:
/// `delta` ns from now, at least 0). None for every other command, which
/// runs as it is.
pub fn resolve_advance(command: &Command, now: u64, soonest: Option<u64>) -> Option<Command> {
    match command {
        Command::Advance { ns } if *ns >= DEADLINE_BASE => {
            let delta = (*ns - DEADLINE_BASE) as i64 - DEADLINE_BIAS;
            // A deadline already due (at or before now) counts as now.
            // Skipping a due periodic timer to aim at a far one-shot would
            // make a 1 us period fire millions of times.
            let base = soonest.map_or(now, |d| d.max(now));
            let target = base.saturating_add_signed(delta).max(now);
            Some(Command::Advance { ns: target - now })
        }
        _ => None,
    }
}

/// One device's random guest, derived from what it declares: accesses at
/// every offset of its region in every size it accepts (values biased
/// toward 0, 1, single bits, all ones and small numbers, which make short
/// timer deadlines), serial input, its input lines, resets, migrations,
/// and clock advances from 0 ns (due timers) through small steps (just
/// before and after short deadlines) to milliseconds; mixed half and half
/// with the device's own deep-state guest when it has one.
#[derive(Debug, Clone)]
pub struct DeviceGuest {
    dev: String,
    sizes: Vec<u32>,
    region_words: u64,
    inputs: u32,
    /// Each creation property: name, minimum and maximum.
    properties: Vec<(String, u64, u64)>,
    plugin: Option<GuestChunk>,
}

impl DeviceGuest {
    /// The guest for device `name`; None for a name `registry` does not
    /// know or a kind with no implementation.
    pub fn new(registry: &Registry, name: &'static str) -> Option<DeviceGuest> {
        let kind = registry.kind(name)?;
        let device_type = kind.c.or(kind.rust)?;
        let info = device_type.info();
        let properties =
            device_type.description().properties.iter().map(|p| (p.name.to_string(), p.min, p.max)).collect();
        Some(DeviceGuest {
            dev: name.to_string(),
            sizes: [1u32, 2, 4, 8].into_iter().filter(|s| info.access_sizes & s != 0).collect(),
            region_words: (info.region_size / 4).max(1),
            inputs: info.num_inputs,
            properties,
            plugin: kind.guest,
        })
    }

    /// Creation properties vary across cases (the HPET's comparator
    /// count, 3 to 32 after the clamp): a `config` line, each property
    /// at its default half the time, else anywhere in its range; None
    /// when every one stays at its default.
    fn config(&self, rng: &mut Rng) -> Option<Command> {
        let mut chosen = Vec::new();
        for (name, min, max) in &self.properties {
            let keep_default = rng.chance(2);
            let r = rng.next_u64();
            if !keep_default {
                let span = max.wrapping_sub(*min).wrapping_add(1);
                chosen.push((name.clone(), if span == 0 { r } else { min + r % span }));
            }
        }
        (!chosen.is_empty()).then(|| Command::Config { dev: self.dev.clone(), properties: chosen })
    }

    /// One chunk, appended to `out`: the device's own deep-state guest as
    /// often as the generic one, when it has one.
    pub fn chunk(&self, rng: &mut Rng, out: &mut Vec<Command>) {
        if let Some(plugin) = self.plugin
            && rng.chance(2)
        {
            out.extend(plugin(rng.next_u64()).into_iter().map(|step| command(&self.dev, step)));
            return;
        }
        let dev = || self.dev.clone();
        let command = match rng.weighted(&[12, 6, 2, 1, 1, 1]) {
            0 => self.access(rng),
            1 => self.advance(rng),
            // A device without input lines gets a due-timer check instead.
            2 if self.inputs == 0 => Command::Advance { ns: 0 },
            2 => Command::Input { dev: dev(), line: rng.below(u64::from(self.inputs)) as u32, level: rng.chance(2) },
            3 => {
                let len = 1 + rng.below(3) as usize;
                Command::Rx { dev: dev(), bytes: (0..len).map(|_| rng.next_u64() as u8).collect() }
            }
            4 => Command::Reset { dev: Some(dev()) },
            _ => {
                let to = [None, Some(Implementation::C), Some(Implementation::Rust)][rng.below(3) as usize];
                Command::Migrate { dev: dev(), to }
            }
        };
        out.push(command);
    }

    /// A read or a write at any word of the region, in any accepted size.
    fn access(&self, rng: &mut Rng) -> Command {
        let word = rng.below(self.region_words) * 4;
        let size = self.sizes[rng.below(self.sizes.len() as u64) as usize];
        let offset = word & !(u64::from(size) - 1);
        if rng.chance(2) {
            let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
            Command::Write { dev: self.dev.clone(), offset, value: value(rng) & mask, size }
        } else {
            Command::Read { dev: self.dev.clone(), offset, size, expected: None }
        }
    }

    /// Timer-aware: most advances aim just before, exactly at or just
    /// after the next armed deadline (and at the 1 us re-fire after it).
    fn advance(&self, rng: &mut Rng) -> Command {
        match rng.weighted(&[6, 2, 2, 1]) {
            0 => advance_to_deadline(match rng.below(7) {
                0 => -1,
                1 => 0,
                2 => 1,
                3 => rng.below(40) as i64 - 20,
                4 => 999,
                5 => 1000,
                _ => 1001,
            }),
            1 => Command::Advance { ns: 0 },
            2 => Command::Advance { ns: (1 + rng.below(199)) * 10 },
            // Long advances are rare and at most 20 ms: a periodic timer
            // paced at 1 us fires 20 000 times in that.
            _ => Command::Advance { ns: rng.below(20_000_000) },
        }
    }
}

/// A guest plug-in's step as the command for instance `dev`.
pub fn command(dev: &str, step: GuestStep) -> Command {
    let dev = dev.to_string();
    match step {
        GuestStep::Write { offset, value, size } => Command::Write { dev, offset, value, size },
        GuestStep::Read { offset, size } => Command::Read { dev, offset, size, expected: None },
        GuestStep::Rx(bytes) => Command::Rx { dev, bytes },
        GuestStep::Break => Command::Break { dev },
        GuestStep::Reset => Command::Reset { dev: Some(dev) },
        GuestStep::ResetBoard => Command::Reset { dev: None },
        GuestStep::Advance(ns) => Command::Advance { ns },
        GuestStep::Migrate(to) => Command::Migrate {
            dev,
            to: match to {
                MigrateTo::Other => None,
                MigrateTo::C => Some(Implementation::C),
                MigrateTo::Rust => Some(Implementation::Rust),
            },
        },
    }
}

/// A register value: 0, 1, a single bit, all ones, a small number (short
/// timer deadlines) or anything.
fn value(rng: &mut Rng) -> u64 {
    match rng.weighted(&[2, 1, 2, 1, 3, 2]) {
        0 => 0,
        1 => 1,
        2 => 1u64 << rng.below(64),
        3 => u64::MAX,
        4 => rng.below(2000),
        _ => rng.next_u64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_case() {
        let generator = CaseGenerator::new(DeviceSet::All, 40);
        let (mut a, mut b) = (Rng(7), Rng(7));
        for _ in 0..50 {
            assert_eq!(generator.case(&mut a), generator.case(&mut b));
        }
    }

    #[test]
    fn cases_use_every_kind_of_command_and_stay_in_bounds() {
        let generator = CaseGenerator::new(DeviceSet::All, 40);
        let mut rng = Rng(1);
        let mut verbs = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let case = generator.case(&mut rng);
            assert!(case.len() <= 40 + 1 + DeviceSet::All.names().len(), "{}", case.len());
            for command in case.iter().flatten() {
                verbs.insert(command.to_string().split(' ').next().unwrap_or("").to_string());
                if let Command::Write { value, size, .. } = command {
                    assert!(*size == 8 || value >> (size * 8) == 0, "{command}");
                }
                if let Command::Advance { ns } = command {
                    assert!(*ns < DEADLINE_BASE - 1 || *ns >= DEADLINE_BASE, "{command}");
                }
            }
        }
        for verb in ["epoch", "config", "write", "read", "advance", "input", "rx", "reset", "migrate"] {
            assert!(verbs.contains(verb), "{verb} never generated: {verbs:?}");
        }
    }

    #[test]
    fn several_devices_share_short_advances() {
        let generator = CaseGenerator::new(DeviceSet::All, 40);
        let mut rng = Rng(3);
        for _ in 0..300 {
            for command in generator.case(&mut rng).iter().flatten() {
                if let Command::Advance { ns } = command {
                    assert!(*ns <= SHARED_ADVANCE_CAP_NS || *ns >= DEADLINE_BASE, "{command}");
                }
            }
        }
    }

    /// A plug-in step becomes the command its trace line parses to.
    #[test]
    fn a_guest_step_is_the_command_of_its_line() {
        let registry = Registry::builtin();
        for kind in registry.kinds() {
            let Some(plugin) = kind.guest else { continue };
            for seed in 0..300 {
                for step in plugin(seed) {
                    let parsed = portlab_board::parse_line(&step.line(kind.name)).unwrap().unwrap();
                    assert_eq!(command(kind.name, step), parsed);
                }
            }
        }
    }

    #[test]
    fn an_encoded_advance_resolves_against_the_soonest_deadline() {
        let command = advance_to_deadline(5);
        assert_eq!(resolve_advance(&command, 100, Some(1000)), Some(Command::Advance { ns: 905 }));
        assert_eq!(resolve_advance(&command, 100, Some(50)), Some(Command::Advance { ns: 5 }));
        assert_eq!(resolve_advance(&command, 100, None), Some(Command::Advance { ns: 5 }));
        assert_eq!(resolve_advance(&advance_to_deadline(-50), 100, None), Some(Command::Advance { ns: 0 }));
        assert_eq!(resolve_advance(&Command::Advance { ns: 7 }, 100, Some(1000)), None);
    }
}
