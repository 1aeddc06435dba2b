//! proptest strategies for guest behaviour against a PL011.
//!
//! A case is a list of *chunks*; a chunk is one guest action or a short
//! sequence that drives the device into a deep state on purpose (a
//! loopback overflow, FEN toggled with data queued, breaks). Shrinking
//! removes and simplifies whole chunks first, then the caller minimises
//! the flattened command list.

use portlab_board::{Command, Implementation};
use proptest::prelude::*;

/// The PL011's registers (word offsets).
pub const PL011_REGISTERS: [u64; 14] =
    [0x000, 0x004, 0x018, 0x020, 0x024, 0x028, 0x02c, 0x030, 0x034, 0x038, 0x03c, 0x040, 0x044, 0x048];
/// Unmapped offsets worth hitting (reserved, the TRM's test registers).
const PL011_UNMAPPED: [u64; 10] = [0x008, 0x00c, 0x010, 0x014, 0x01c, 0x04c, 0x080, 0x084, 0x08c, 0xfdc];
/// The ID block.
const PL011_IDS: [u64; 8] = [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc];

const DEV: &str = "pl011";

fn write(offset: u64, value: u64, size: u32) -> Command {
    Command::Write { dev: DEV.into(), offset, value, size }
}

fn read(offset: u64, size: u32) -> Command {
    Command::Read { dev: DEV.into(), offset, size, expected: None }
}

/// Any combination of `bits`, or now and then any u32 at all.
fn bits(bits: &'static [u32]) -> impl Strategy<Value = u32> {
    (prop::collection::vec(any::<bool>(), bits.len()), any::<u32>(), 0u8..8).prop_map(move |(pick, random, dice)| {
        if dice == 0 { random } else { bits.iter().zip(pick).filter(|(_, on)| *on).fold(0, |acc, (b, _)| acc | b) }
    })
}

const CR_BITS: &[u32] = &[0x1, 0x80, 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000];
const LCR_BITS: &[u32] = &[0x01, 0x02, 0x10, 0x20, 0x40, 0x80];
const INT_BITS: &[u32] = &[0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200, 0x400];
const DMA_BITS: &[u32] = &[0x1, 0x2, 0x4];

/// A value to write at word offset `reg`, biased toward the bits that
/// matter there, and toward values beyond IBRD/FBRD's masks.
fn value_for(reg: u64) -> BoxedStrategy<u32> {
    match reg {
        0x000 => prop_oneof![4 => any::<u8>().prop_map(u32::from), 1 => any::<u32>()].boxed(),
        0x030 => bits(CR_BITS).boxed(),
        0x02c => bits(LCR_BITS).boxed(),
        0x038 | 0x044 => prop_oneof![4 => bits(INT_BITS), 1 => Just(0xffff_ffff), 1 => Just(0x7ff)].boxed(),
        0x048 => bits(DMA_BITS).boxed(),
        0x024 => prop_oneof![Just(0x1_2345), any::<u32>(), 0u32..0x1_0000].boxed(),
        0x028 => prop_oneof![Just(0xff), any::<u32>(), 0u32..0x40].boxed(),
        _ => any::<u32>().boxed(),
    }
}

/// A word offset: mostly registers, sometimes IDs and unmapped offsets.
fn word_offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        14 => prop::sample::select(&PL011_REGISTERS[..]),
        2 => prop::sample::select(&PL011_IDS[..]),
        2 => prop::sample::select(&PL011_UNMAPPED[..]),
        1 => (0x014u64..0x3f7).prop_map(|w| w * 4),
    ]
}

/// One MMIO access at any size: sub-word accesses hit the word at
/// `offset >> 2`, 8-byte ones need 8-byte alignment.
fn access() -> impl Strategy<Value = Command> {
    let size = prop_oneof![12 => Just(4u32), 2 => Just(1), 2 => Just(2), 2 => Just(8)];
    (word_offset(), size, any::<bool>(), 0u64..4).prop_flat_map(|(word, size, is_write, lane)| {
        let offset = match size {
            8 => word & !7,
            1 => word + lane,
            2 => word + (lane & 2),
            _ => word,
        };
        let reg = offset & !3;
        value_for(reg).prop_map(move |v| {
            let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
            if is_write { write(offset, u64::from(v) & mask, size) } else { read(offset, size) }
        })
    })
}

fn rx_burst() -> impl Strategy<Value = Command> {
    prop::collection::vec(any::<u8>(), 1..=40).prop_map(|bytes| Command::Rx { dev: DEV.into(), bytes })
}

fn drain() -> impl Strategy<Value = Vec<Command>> {
    (1usize..=20).prop_map(|n| (0..n).flat_map(|_| [read(0x000, 4), read(0x018, 4)]).collect())
}

/// Loopback with FIFOs on or off, then enough DR writes to fill and
/// overflow the receive FIFO.
fn loopback_fill() -> impl Strategy<Value = Vec<Command>> {
    (any::<bool>(), bits(&[0x400, 0x800, 0x1000, 0x2000]), prop::collection::vec(any::<u8>(), 1..=20)).prop_map(
        |(fen, modem, bytes)| {
            let mut v = vec![write(0x030, u64::from(0x381 | modem), 4), write(0x02c, if fen { 0x70 } else { 0x60 }, 4)];
            v.extend(bytes.into_iter().map(|b| write(0x000, u64::from(b), 4)));
            v
        },
    )
}

/// Loopback with interrupts unmasked: modem reflection raises lines.
fn loopback_interrupts() -> impl Strategy<Value = Vec<Command>> {
    (bits(INT_BITS), bits(CR_BITS)).prop_map(|(imsc, cr)| {
        vec![write(0x038, u64::from(imsc), 4), write(0x030, u64::from(cr | 0x80), 4), write(0x000, 0x55, 4)]
    })
}

/// FEN toggled (with or without BRK) while data is queued.
fn fen_toggle() -> impl Strategy<Value = Vec<Command>> {
    (rx_burst(), prop::sample::select(&[0x00u64, 0x10, 0x01, 0x11, 0x70][..]), any::<bool>()).prop_map(
        |(rx, lcr, loopback)| {
            let mut v = Vec::new();
            if loopback {
                v.push(write(0x030, 0x381, 4));
            }
            v.extend([rx, write(0x02c, lcr, 4), read(0x018, 4), read(0x000, 4)]);
            v
        },
    )
}

/// Breaks from the backend and BRK toggles in loopback.
fn breaks() -> impl Strategy<Value = Vec<Command>> {
    (any::<bool>(), any::<bool>()).prop_map(|(loopback, fen)| {
        let mut v = Vec::new();
        if loopback {
            v.push(write(0x030, 0x381, 4));
        }
        let lcr = if fen { 0x10 } else { 0x00 };
        v.extend([
            Command::Break { dev: DEV.into() },
            write(0x02c, lcr | 0x01, 4),
            write(0x02c, lcr, 4),
            read(0x000, 4),
            read(0x004, 4),
        ]);
        v
    })
}

fn migrate() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Implementation::C)),
        1 => Just(Some(Implementation::Rust)),
    ]
    .prop_map(|to| Command::Migrate { dev: DEV.into(), to })
}

/// One chunk of guest behaviour against the PL011.
pub fn pl011_chunk() -> impl Strategy<Value = Vec<Command>> {
    prop_oneof![
        40 => access().prop_map(|c| vec![c]),
        8 => rx_burst().prop_map(|c| vec![c]),
        6 => drain(),
        2 => Just(vec![Command::Break { dev: DEV.into() }]),
        2 => prop_oneof![Just(Some(DEV.to_string())), Just(None)].prop_map(|dev| vec![Command::Reset { dev }]),
        2 => (0u64..2_000_000_000).prop_map(|ns| vec![Command::Advance { ns }]),
        4 => migrate().prop_map(|c| vec![c]),
        3 => loopback_fill(),
        3 => loopback_interrupts(),
        3 => fen_toggle(),
        3 => breaks(),
    ]
}

/// The PL031's registers.
pub const PL031_REGISTERS: [u64; 8] = [0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x018, 0x01c];
const RTC: &str = "pl031";
/// The default epoch, which the RTC's count starts from.
const EPOCH: u32 = 1_700_000_000;

fn rtc_write(offset: u64, value: u64, size: u32) -> Command {
    Command::Write { dev: RTC.into(), offset, value, size }
}

/// A value for the PL031 register at `offset`: counter values near the
/// epoch (so MR matches, lies just ahead or just behind), wrap-around
/// values, and anything.
fn rtc_value(offset: u64) -> BoxedStrategy<u32> {
    let near_count = (-3i64..12).prop_map(|d| (i64::from(EPOCH) + d) as u32);
    match offset {
        0x004 | 0x008 => prop_oneof![
            5 => near_count,
            1 => Just(u32::MAX),
            1 => Just(0u32),
            1 => 0u32..16,
            2 => any::<u32>(),
        ]
        .boxed(),
        0x010 | 0x01c => prop_oneof![4 => 0u32..2, 1 => any::<u32>()].boxed(),
        _ => any::<u32>().boxed(),
    }
}

fn rtc_access() -> impl Strategy<Value = Command> {
    let offset = prop_oneof![
        12 => prop::sample::select(&PL031_REGISTERS[..]),
        2 => prop::sample::select(&[0xfe0u64, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc][..]),
        2 => prop::sample::select(&[0x020u64, 0x024, 0x080, 0x08c, 0xfdc][..]),
    ];
    let size = prop_oneof![12 => Just(4u32), 2 => Just(1), 2 => Just(2), 2 => Just(8)];
    (offset, size, any::<bool>(), 0u64..4).prop_flat_map(|(word, size, is_write, lane)| {
        let offset = match size {
            8 => word & !7,
            1 => word + lane,
            2 => word + (lane & 2),
            _ => word,
        };
        rtc_value(offset & !3).prop_map(move |v| {
            let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
            if is_write {
                rtc_write(offset, u64::from(v) & mask, size)
            } else {
                Command::Read { dev: RTC.into(), offset, size, expected: None }
            }
        })
    })
}

/// Clock advances: sub-second steps (the phase of the second matters),
/// whole seconds, and long jumps.
fn advance() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => 0u64..1_000_000_000,
        2 => (1u64..6).prop_map(|s| s * 1_000_000_000),
        1 => 0u64..20_000_000_000,
    ]
    .prop_map(|ns| Command::Advance { ns })
}

/// An alarm set up the way a driver does it: unmask, set MR near the
/// count, let time pass.
fn rtc_alarm() -> impl Strategy<Value = Vec<Command>> {
    (0u32..2, rtc_value(0x004), advance())
        .prop_map(|(imsc, mr, adv)| vec![rtc_write(0x010, u64::from(imsc), 4), rtc_write(0x004, u64::from(mr), 4), adv])
}

/// One chunk of guest behaviour against the PL031.
pub fn pl031_chunk() -> impl Strategy<Value = Vec<Command>> {
    prop_oneof![
        30 => rtc_access().prop_map(|c| vec![c]),
        10 => advance().prop_map(|c| vec![c]),
        8 => rtc_alarm(),
        3 => prop_oneof![Just(None), Just(Some(Implementation::C)), Just(Some(Implementation::Rust))]
            .prop_map(|to| vec![Command::Migrate { dev: RTC.into(), to }]),
        2 => Just(vec![Command::Reset { dev: Some(RTC.into()) }]),
    ]
}

/// Which devices a case drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSet {
    /// The UART only.
    Pl011,
    /// The RTC only.
    Pl031,
    /// Both at once, interleaved.
    All,
    /// Any other registered device, driven by the generic random guest
    /// derived from what it declares ([`described_case`]).
    Other(&'static str),
}

impl std::fmt::Display for DeviceSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceSet::Pl011 => "pl011",
            DeviceSet::Pl031 => "pl031",
            DeviceSet::All => "all",
            DeviceSet::Other(name) => name,
        })
    }
}

impl std::str::FromStr for DeviceSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pl011" => Ok(DeviceSet::Pl011),
            "pl031" => Ok(DeviceSet::Pl031),
            "all" => Ok(DeviceSet::All),
            other => match portlab_board::Registry::builtin().kind(other) {
                Some(kind) => Ok(DeviceSet::Other(kind.name)),
                None => {
                    let names: Vec<&str> = portlab_board::Registry::builtin().kinds().iter().map(|k| k.name).collect();
                    Err(format!("unknown device `{other}` (expected all or one of: {})", names.join(", ")))
                }
            },
        }
    }
}

/// A whole case: an optional `epoch` first (sometimes beyond 2^32), then
/// up to `max_chunks` chunks for the devices in `devices`.
pub fn case(devices: DeviceSet, max_chunks: usize) -> BoxedStrategy<Vec<Vec<Command>>> {
    let chunk = match devices {
        DeviceSet::Pl011 => pl011_chunk().boxed(),
        DeviceSet::Pl031 => pl031_chunk().boxed(),
        DeviceSet::All => prop_oneof![pl011_chunk(), pl031_chunk()].boxed(),
        DeviceSet::Other(name) => return described_case(name, max_chunks),
    };
    let seconds = prop_oneof![Just(5_000_000_000u64), Just(u64::from(u32::MAX)), any::<u32>().prop_map(u64::from)];
    let epoch = match devices {
        // The UART does not read the wall clock.
        DeviceSet::Pl011 => Just(None).boxed(),
        _ => prop_oneof![9 => Just(None), 1 => seconds.prop_map(Some)].boxed(),
    };
    (epoch, prop::collection::vec(chunk, 1..=max_chunks.max(1)))
        .prop_map(|(epoch, mut chunks)| {
            if let Some(seconds) = epoch {
                chunks.insert(0, vec![Command::Epoch { seconds }]);
            }
            chunks
        })
        .boxed()
}

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
/// advance becomes `advance` to the first deadline after `now`, plus its
/// delta (no timer armed: `delta` ns from now, at least 0); every other
/// command is returned as it is.
pub fn resolve_advance(command: &Command, now: u64, deadlines: &[u64]) -> Command {
    match command {
        Command::Advance { ns } if *ns >= DEADLINE_BASE => {
            let delta = (*ns - DEADLINE_BASE) as i64 - DEADLINE_BIAS;
            let base = deadlines.iter().copied().find(|d| *d > now).unwrap_or(now);
            let target = base.saturating_add_signed(delta).max(now);
            Command::Advance { ns: target - now }
        }
        other => other.clone(),
    }
}

/// The generic random guest for any registered device, derived from what
/// the device declares: accesses at every offset of its region in every
/// size it accepts (values biased toward 0, 1, single bits, all ones and
/// small numbers, which make short timer deadlines), serial input, its
/// input lines, resets, migrations, and clock advances from 0 ns (due
/// timers) through small steps (just before and after short deadlines) to
/// seconds.
pub fn described_case(name: &'static str, max_chunks: usize) -> BoxedStrategy<Vec<Vec<Command>>> {
    let registry = portlab_board::Registry::builtin();
    let Some(kind) = registry.kind(name) else {
        return Just(Vec::new()).boxed();
    };
    let Some(device_type) = kind.c.or(kind.rust) else {
        return Just(Vec::new()).boxed();
    };
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
    (config, prop::collection::vec(chunk, 1..=max_chunks.max(1)))
        .prop_map(|(config, mut chunks)| {
            if !config.is_empty() {
                chunks.insert(0, config);
            }
            chunks
        })
        .boxed()
}

/// A generic case for any device: reads and writes of every size at the
/// given word offsets (values biased toward 0, 1, single bits and all
/// ones), resets, clock advances and migrations to the other
/// implementation. The strategy a scaffolded device starts with, before it
/// gets strategies of its own.
pub fn register_case(dev: &str, offsets: Vec<u64>, max_chunks: usize) -> impl Strategy<Value = Vec<Vec<Command>>> {
    let dev = dev.to_string();
    let value = prop_oneof![
        Just(0u64),
        Just(1),
        (0u32..32).prop_map(|b| 1u64 << b),
        Just(0xffff_ffff),
        any::<u32>().prop_map(u64::from)
    ];
    let size = prop_oneof![6 => Just(4u32), 1 => Just(1), 1 => Just(2), 1 => Just(8)];
    let d = dev.clone();
    let access =
        (prop::sample::select(offsets), size, any::<bool>(), value).prop_map(move |(word, size, is_write, v)| {
            let offset = if size == 8 { word & !7 } else { word };
            if is_write {
                let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
                Command::Write { dev: d.clone(), offset, value: v & mask, size }
            } else {
                Command::Read { dev: d.clone(), offset, size, expected: None }
            }
        });
    let chunk = prop_oneof![
        10 => access.prop_map(|c| vec![c]),
        1 => Just(vec![Command::Reset { dev: Some(dev.clone()) }]),
        1 => (0u64..3_000_000_000).prop_map(|ns| vec![Command::Advance { ns }]),
        1 => Just(vec![Command::Migrate { dev: dev.clone(), to: None }]),
    ];
    prop::collection::vec(chunk, 1..=max_chunks.max(1))
}
