//! proptest strategies for guest behaviour, for any registered device.
//!
//! A case is a list of *chunks*; a chunk is one guest action or a short
//! sequence that drives a device into a deep state on purpose. Every chunk
//! comes from what the device declares (its region, access sizes,
//! properties, input lines and timers: `device_guest`), mixed with the
//! device's own deep-state guest when its registry entry has one (a
//! plug-in beside the device: `portlab_pl011::guest`, `portlab_hpet::guest`).
//! No device is named here. Shrinking removes and simplifies whole chunks
//! first, then the caller minimises the flattened command list.

use portlab_board::{Command, Implementation, Registry};
use proptest::prelude::*;
use proptest::strategy::Union;

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

/// A whole case: now and then an `epoch` first (sometimes beyond 2^32),
/// each device's creation properties, then up to `max_chunks` chunks for
/// the devices in `devices`, interleaved.
pub fn case(devices: DeviceSet, max_chunks: usize) -> BoxedStrategy<Vec<Vec<Command>>> {
    let guests: Vec<DeviceGuest> = devices.names().into_iter().filter_map(device_guest).collect();
    if guests.is_empty() {
        return Just(Vec::new()).boxed();
    }
    let configs: Vec<BoxedStrategy<Vec<Command>>> = guests.iter().map(|g| g.config.clone()).collect();
    let several = guests.len() > 1;
    let chunk = Union::new(guests.into_iter().map(|g| g.chunk)).prop_map(move |mut chunk| {
        if several {
            for command in &mut chunk {
                if let Command::Advance { ns } = command
                    && *ns < DEADLINE_BASE
                {
                    *ns = (*ns).min(SHARED_ADVANCE_CAP_NS);
                }
            }
        }
        chunk
    });
    let seconds = prop_oneof![Just(5_000_000_000u64), Just(u64::from(u32::MAX)), any::<u32>().prop_map(u64::from)];
    let epoch = prop_oneof![9 => Just(None), 1 => seconds.prop_map(Some)];
    (epoch, configs, prop::collection::vec(chunk, 1..=max_chunks.max(1)))
        .prop_map(|(epoch, configs, chunks)| {
            let mut case = Vec::with_capacity(chunks.len() + 2);
            if let Some(seconds) = epoch {
                case.push(vec![Command::Epoch { seconds }]);
            }
            case.extend(configs.into_iter().filter(|c| !c.is_empty()));
            case.extend(chunks);
            case
        })
        .boxed()
}

/// The longest plain advance in a case that drives several devices. An
/// advance costs one expiry per period of every running periodic timer on
/// the board, so one device's seconds-long advance (an RTC alarm) beside
/// another's 1 us periodic comparator (an HPET) would be millions of
/// events per command. Each device's own runs keep their long advances.
pub const SHARED_ADVANCE_CAP_NS: u64 = 1_000_000;

/// Deadline-relative advances. A random guest cannot know, when a case is
/// generated, where the device's timers will be armed; the board knows at
/// run time. So the strategy emits `advance` with an encoded count in the
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

/// The concrete command for `command` on a board whose clock reads `now`
/// and whose armed deadlines are `deadlines` (soonest first): an encoded
/// advance becomes `advance` to the soonest deadline (now, if it is due),
/// plus its delta (no timer armed: `delta` ns from now, at least 0); every other
/// command is returned as it is.
pub fn resolve_advance(command: &Command, now: u64, deadlines: &[u64]) -> Command {
    match command {
        Command::Advance { ns } if *ns >= DEADLINE_BASE => {
            let delta = (*ns - DEADLINE_BASE) as i64 - DEADLINE_BIAS;
            // The soonest deadline; one already due (at or before now)
            // counts as now. Skipping a due periodic timer to aim at a far
            // one-shot would make a 1 us period fire millions of times.
            let base = deadlines.first().map_or(now, |d| (*d).max(now));
            let target = base.saturating_add_signed(delta).max(now);
            Command::Advance { ns: target - now }
        }
        other => other.clone(),
    }
}

/// One device's part of a case: its `config` line (maybe empty) and its
/// chunks.
struct DeviceGuest {
    config: BoxedStrategy<Vec<Command>>,
    chunk: BoxedStrategy<Vec<Command>>,
}

/// The generic random guest for device `name`, derived from what it
/// declares: accesses at every offset of its region in every size it
/// accepts (values biased toward 0, 1, single bits, all ones and small
/// numbers, which make short timer deadlines), serial input, its input
/// lines, resets, migrations, and clock advances from 0 ns (due timers)
/// through small steps (just before and after short deadlines) to
/// seconds; mixed half and half with the device's own deep-state guest
/// when it has one. None for a name the registry does not know.
fn device_guest(name: &'static str) -> Option<DeviceGuest> {
    let registry = Registry::builtin();
    let kind = registry.kind(name)?;
    let device_type = kind.c.or(kind.rust)?;
    let plugin = kind.guest;
    let info = device_type.info();
    let sizes: Vec<u32> = [1u32, 2, 4, 8].into_iter().filter(|s| info.access_sizes & s != 0).collect();
    let words: Vec<u64> = (0..info.region_size / 4).map(|w| w * 4).collect();
    let dev = name.to_string();
    let value = prop_oneof![
        2 => Just(0u64),
        1 => Just(1),
        2 => (0u32..64).prop_map(|b| 1u64 << b),
        1 => Just(u64::MAX),
        3 => 0u64..2000,
        2 => any::<u64>(),
    ];
    let d = dev.clone();
    let access = (prop::sample::select(words), prop::sample::select(sizes), any::<bool>(), value).prop_map(
        move |(word, size, is_write, v)| {
            let offset = word & !(u64::from(size) - 1);
            if is_write {
                let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
                Command::Write { dev: d.clone(), offset, value: v & mask, size }
            } else {
                Command::Read { dev: d.clone(), offset, size, expected: None }
            }
        },
    );
    // Timer-aware: most advances aim just before, exactly at or just
    // after the next armed deadline (and at the 1 us re-fire after it).
    let near_deadline = prop_oneof![Just(-1i64), Just(0), Just(1), -20i64..20, Just(999), Just(1000), Just(1001)];
    let advance = prop_oneof![
        6 => near_deadline.prop_map(advance_to_deadline),
        2 => Just(Command::Advance { ns: 0 }),
        2 => (1u64..200).prop_map(|k| Command::Advance { ns: k * 10 }),
        // Long advances are rare and at most 20 ms: a periodic timer
        // paced at 1 us fires 20 000 times in that.
        1 => (0u64..20_000_000).prop_map(|ns| Command::Advance { ns }),
    ];
    let inputs = info.num_inputs;
    let d = dev.clone();
    // A device without input lines gets a due-timer check instead.
    let input = (0..inputs.max(1), any::<bool>()).prop_map(move |(line, level)| {
        if inputs == 0 {
            vec![Command::Advance { ns: 0 }]
        } else {
            vec![Command::Input { dev: d.clone(), line, level }]
        }
    });
    let chunk = prop_oneof![
        12 => access.prop_map(|c| vec![c]),
        6 => advance.prop_map(|c| vec![c]),
        2 => input,
        1 => prop::collection::vec(any::<u8>(), 1..4).prop_map({
            let d = dev.clone();
            move |bytes| vec![Command::Rx { dev: d.clone(), bytes }]
        }),
        1 => Just(vec![Command::Reset { dev: Some(dev.clone()) }]),
        1 => prop_oneof![Just(None), Just(Some(Implementation::C)), Just(Some(Implementation::Rust))]
            .prop_map({
                let d = dev.clone();
                move |to| vec![Command::Migrate { dev: d.clone(), to }]
            }),
    ];
    // Creation properties vary across cases (the HPET's comparator count,
    // 3 to 32 after the clamp): a `config` line first, each property at its
    // default half the time, else anywhere in its range.
    let properties: Vec<(String, u64, u64, u64)> =
        device_type.description().properties.iter().map(|p| (p.name.to_string(), p.default, p.min, p.max)).collect();
    let d = dev.clone();
    let config = prop::collection::vec((any::<bool>(), any::<u64>()), properties.len()).prop_map(move |picks| {
        let chosen: Vec<(String, u64)> = properties
            .iter()
            .zip(picks)
            .filter(|(_, (keep_default, _))| !keep_default)
            .map(|((name, _, min, max), (_, r))| {
                let span = max.wrapping_sub(*min).wrapping_add(1);
                (name.clone(), if span == 0 { r } else { min + r % span })
            })
            .collect();
        if chosen.is_empty() { Vec::new() } else { vec![Command::Config { dev: d.clone(), properties: chosen }] }
    });
    let chunk = match plugin {
        // The device's own deep-state guest, as often as the generic one.
        Some(guest) => {
            let d = dev.clone();
            let deep = any::<u64>().prop_map(move |seed| {
                guest(&d, seed)
                    .iter()
                    .filter_map(|line| portlab_board::parse_line(line).ok().flatten())
                    .collect::<Vec<Command>>()
            });
            prop_oneof![1 => chunk, 1 => deep].boxed()
        }
        None => chunk.boxed(),
    };
    Some(DeviceGuest { config: config.boxed(), chunk })
}
