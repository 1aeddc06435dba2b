//! A qtest log (QEMU's register-level test protocol, as the vectors in
//! `tests/qemu-streams/` record it) turned into a portlab trace, so that
//! the same register writes, serial input and run replay on the C and the
//! Rust models.
//!
//! Understood: `writeb|w|l|q ADDR VALUE` and `readb|w|l|q ADDR` (with the
//! `#= OK VALUE` reply as the read's expectation), `clock_step NS` and
//! `clock_set NS` (the qtest accelerator's clock: an `advance`), and the
//! action lines
//! `#! rx HEX` (serial input of the machine's serial device) and
//! `#! run ... (VM clock A -> B ns)` (an `advance`). The header's
//! `# machine:` line gives the machine type, `-rtc base=` the epoch and
//! `-global DEV.PROP=VALUE` the device properties the device declares.

use std::fmt::Write as _;

use portlab_board::Registry;
use portlab_board::trace::parse::parse_number;
use portlab_device::qemu::QemuDevice;

use crate::machine::Machine;

/// A device of the machine: its trace name, base, size of its region, and
/// QEMU declaration.
struct Placed {
    name: &'static str,
    base: u64,
    qemu: &'static QemuDevice,
    serial: bool,
    properties: Vec<(String, u64)>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS` (or a date alone) as Unix seconds, for years
/// 1970 to 9999 and fields in their ranges; anything else is `None`.
fn parse_rtc_base(s: &str) -> Option<u64> {
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00"));
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<i64> = time.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    let in_range = (1970..=9999).contains(&d[0])
        && (1..=12).contains(&d[1])
        && (1..=31).contains(&d[2])
        && (0..24).contains(&t[0])
        && (0..60).contains(&t[1])
        && (0..60).contains(&t[2]);
    if !in_range {
        return None;
    }
    let secs = days_from_civil(d[0], d[1], d[2]) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    u64::try_from(secs).ok()
}

/// A qtest number (`0x` hex or decimal), read by the trace format's own
/// parser so that the two never disagree on what a number is.
fn number(s: &str) -> Option<u64> {
    parse_number(s).ok()
}

/// Translates a qtest log into a trace. `machine` overrides the header's.
/// `expect` keeps each read's reply as `= VALUE`.
pub fn to_trace(registry: &Registry, text: &str, machine: Option<Machine>, expect: bool) -> Result<String, String> {
    let header = text.lines().find_map(|l| l.strip_prefix("# machine:")).unwrap_or("");
    let args: Vec<&str> = header.split_whitespace().collect();
    let machine = match machine {
        Some(m) => m,
        None => {
            let m = args
                .iter()
                .position(|a| *a == "-M" || *a == "-machine")
                .and_then(|i| args.get(i + 1))
                .ok_or("the qtest log has no `# machine: -M ...` line: give --machine")?;
            m.split(',').next().unwrap_or("").parse()?
        }
    };
    let mut placed: Vec<Placed> = registry
        .kinds()
        .iter()
        .filter_map(|k| {
            let qemu = k.qemu?;
            let p = qemu.machines.iter().find(|p| p.machine == machine.name())?;
            let properties = p.properties.iter().map(|(n, v)| (n.to_string(), *v)).collect();
            Some(Placed { name: k.name, base: p.base, qemu, serial: p.serial, properties })
        })
        .collect();
    let mut epoch = None;
    for (i, a) in args.iter().enumerate() {
        let next = args.get(i + 1).copied().unwrap_or("");
        if *a == "-rtc" {
            if let Some(base) = next.split(',').find_map(|o| o.strip_prefix("base=")) {
                epoch = Some(parse_rtc_base(base).ok_or_else(|| format!("cannot read -rtc base={base}"))?);
            }
        }
        if *a == "-global" {
            let (target, value) = next.split_once('=').ok_or_else(|| format!("cannot read -global {next}"))?;
            let (dev, prop) = target.split_once('.').ok_or_else(|| format!("cannot read -global {next}"))?;
            let value = match value {
                "on" | "true" => 1,
                "off" | "false" => 0,
                v => number(v).ok_or_else(|| format!("cannot read the value of -global {next}"))?,
            };
            let p = placed
                .iter_mut()
                .find(|p| p.qemu.layout.name == dev)
                .ok_or_else(|| format!("-global {next}: portlab's {} has no device `{dev}`", machine.name()))?;
            let name =
                p.qemu.qemu_properties.iter().find(|(q, _)| *q == prop).map(|(_, n)| *n).ok_or_else(|| {
                    format!("-global {next}: portlab does not model QEMU's property `{prop}` of `{dev}`")
                })?;
            p.properties.retain(|(n, _)| n != name);
            p.properties.push((name.to_string(), value));
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "# from a qtest log, machine {machine}");
    if let Some(e) = epoch {
        let _ = writeln!(out, "epoch {e}");
    }
    for p in &placed {
        if !p.properties.is_empty() {
            let props: Vec<String> = p.properties.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let _ = writeln!(out, "config {} {}", p.name, props.join(" "));
        }
    }
    let device_at = |addr: u64| -> Result<(&Placed, u64), String> {
        placed
            .iter()
            .filter(|p| addr >= p.base)
            .max_by_key(|p| p.base)
            .map(|p| (p, addr - p.base))
            .filter(|(_, off)| *off < 0x1000)
            .ok_or_else(|| format!("address {addr:#x} is not a device portlab models on {machine}"))
    };
    let mut clock = 0u64;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let line = line.trim();
        let fail = |m: String| format!("line {}: {m}", n + 1);
        if let Some(action) = line.strip_prefix("#!") {
            let action = action.trim();
            if let Some(hex) = action.strip_prefix("rx ") {
                let hex = hex.split_whitespace().next().unwrap_or("");
                let serial =
                    placed.iter().find(|p| p.serial).ok_or_else(|| fail(format!("{machine} has no serial device")))?;
                let _ = writeln!(out, "rx {} hex:{hex}", serial.name);
            } else if action.starts_with("run ") {
                let to = action
                    .rsplit_once("->")
                    .and_then(|(_, t)| t.split_whitespace().next())
                    .and_then(number)
                    .ok_or_else(|| fail("a run line without `(VM clock A -> B ns)`".into()))?;
                let step = to.checked_sub(clock).ok_or_else(|| fail("the VM clock goes back".into()))?;
                let _ = writeln!(out, "advance {step}");
                clock = to;
            } else if action.starts_with("save") {
                let _ = writeln!(out, "# saved here");
            } else {
                return Err(fail(format!("unknown action `{action}`")));
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let size = |cmd: &str| match cmd.as_bytes().last() {
            Some(b'b') => Some(1),
            Some(b'w') => Some(2),
            Some(b'l') => Some(4),
            Some(b'q') => Some(8),
            _ => None,
        };
        match words.as_slice() {
            [cmd, addr, value] if cmd.starts_with("write") => {
                let size = size(cmd).ok_or_else(|| fail(format!("unknown command `{cmd}`")))?;
                let addr = number(addr).ok_or_else(|| fail(format!("bad address `{addr}`")))?;
                let value = number(value).ok_or_else(|| fail(format!("bad value `{value}`")))?;
                let (p, off) = device_at(addr).map_err(fail)?;
                let _ = writeln!(out, "write {} {off:#05x} {value:#x} {size}", p.name);
            }
            [cmd, addr] if cmd.starts_with("read") => {
                let size = size(cmd).ok_or_else(|| fail(format!("unknown command `{cmd}`")))?;
                let addr = number(addr).ok_or_else(|| fail(format!("bad address `{addr}`")))?;
                let (p, off) = device_at(addr).map_err(fail)?;
                let reply =
                    lines.peek().and_then(|(_, l)| l.trim().strip_prefix("#= OK ")).and_then(|v| number(v.trim()));
                match reply {
                    Some(v) if expect => {
                        let _ = writeln!(out, "read {} {off:#05x} {size} = {v:#x}", p.name);
                    }
                    _ => {
                        let _ = writeln!(out, "read {} {off:#05x} {size}", p.name);
                    }
                }
            }
            // The qtest accelerator's clock (QEMU started with -accel qtest).
            ["clock_step", ns] => {
                let step = number(ns).ok_or_else(|| fail(format!("bad clock step `{ns}`")))?;
                clock = clock.checked_add(step).ok_or_else(|| fail("the VM clock overflows".into()))?;
                let _ = writeln!(out, "advance {step}");
            }
            ["clock_set", ns] => {
                let to = number(ns).ok_or_else(|| fail(format!("bad clock value `{ns}`")))?;
                let step = to.checked_sub(clock).ok_or_else(|| fail("the VM clock goes back".into()))?;
                clock = to;
                let _ = writeln!(out, "advance {step}");
            }
            ["clock_step"] => {
                return Err(fail(
                    "`clock_step` without a value steps to QEMU's next timer: give the step in ns".into(),
                ));
            }
            _ => return Err(fail(format!("not a qtest command portlab replays: `{line}`"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtc_base_is_unix_seconds() {
        assert_eq!(parse_rtc_base("1970-01-01T00:00:00"), Some(0));
        assert_eq!(parse_rtc_base("2020-01-01T00:00:00"), Some(1_577_836_800));
        assert_eq!(parse_rtc_base("2000-03-01"), Some(951_868_800));
        assert_eq!(parse_rtc_base("2020-01-01T00"), None);
        assert_eq!(parse_rtc_base("2020-13-45"), None);
        assert_eq!(parse_rtc_base("99999999999999999-01-01"), None);
        assert_eq!(parse_rtc_base("2020-01-01T00:00:99999999999999999"), None);
    }

    #[test]
    fn qtest_clock_commands_are_advances() {
        let registry = Registry::builtin();
        let log = "writel 0xfed00010 0x1\nclock_step 1000\n#= OK 1000\nclock_set 5000\n#= OK 5000\n";
        let trace = to_trace(&registry, log, Some(Machine::PcI440fx), true).unwrap();
        assert!(trace.ends_with("write hpet 0x010 0x1 4\nadvance 1000\nadvance 4000\n"), "{trace}");
        let back = to_trace(&registry, "clock_set 5\nclock_set 4\n", Some(Machine::PcI440fx), true);
        assert_eq!(back.unwrap_err(), "line 2: the VM clock goes back");
        assert!(
            to_trace(&registry, "clock_step\n", Some(Machine::PcI440fx), true).unwrap_err().contains("give the step")
        );
    }
}
