//! The demo guest (`portlab demo`): a small UART driver that brings the
//! PL011 up the way Linux's amba-pl011 driver does, prints a banner with
//! interrupts on, and echoes what the user types; it also reads the PL031
//! RTC at boot and sets a wake alarm, and takes a periodic tick from the
//! HPET.
//!
//! # Where this sits in the port
//!
//! This is a guest, like a recorded trace: it knows the devices it drives
//! by name and by datasheet, so it lives in its own crate and the tools
//! (board, equivalence, CLI) stay free of device names. It drives the
//! board only through trace commands, so every run is also a trace that
//! can be saved and replayed. [`scenario`] is what `portlab demo` shows:
//! the same guest on C, on Rust, on a mix, and migrated mid-run.

#![forbid(unsafe_code)]

pub mod misport;

use portlab_board::{BoardConfig, Command, Event, Implementation, Registry, Runner, StepError};

// Register offsets and bits the guest uses, as a driver would hard-code
// them from the datasheet (the guest is not part of the port).
const DR: u64 = 0x000;
const FR: u64 = 0x018;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02c;
const CR: u64 = 0x030;
const IFLS: u64 = 0x034;
const IMSC: u64 = 0x038;
const RIS: u64 = 0x03c;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;
const FR_RXFE: u64 = 0x10;
const FR_TXFF: u64 = 0x20;
const FR_BUSY: u64 = 0x08;
const INT_RX: u64 = 0x10;
const INT_TX: u64 = 0x20;
const INT_RT: u64 = 0x40;
// The RTC, as an rtc-pl031 driver would use it.
const RTC_DR: u64 = 0x000;
const RTC_MR: u64 = 0x004;
const RTC_IMSC: u64 = 0x010;
const RTC_MIS: u64 = 0x018;
const RTC_ICR: u64 = 0x01c;
/// The RTC's IRQ line index on the default board.
const RTC_DEV: usize = 1;
// The HPET, as Linux's hpet driver sets up a periodic tick.
const HPET_GCAP_ID: u64 = 0x000;
const HPET_GEN_CONF: u64 = 0x010;
const HPET_MAIN_CNT: u64 = 0x0f0;
const HPET_T0_CONF: u64 = 0x100;
const HPET_T0_CMP: u64 = 0x108;
/// Timer 0: periodic, SETVAL, interrupt enabled, edge, route 2.
const HPET_T0_PERIODIC: u64 = 0x40 | 0x08 | 0x04 | (2 << 9);
/// The tick's line (its route).
const HPET_TICK_LINE: u32 = 2;
/// 100 ms in 10 ns counter ticks.
const HPET_TICK_PERIOD: u64 = 10_000_000;
/// Virtual time that passes between two keystrokes.
const KEYSTROKE_NS: u64 = 250_000_000;

/// `YYYY-MM-DD hh:mm:ss` for Unix seconds (UTC), as the guest prints its
/// RTC's time. A PL031 counts 32-bit seconds, so any value it holds fits.
pub fn format_utc(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| format!("{seconds} s after 1970"), |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
}

/// What the user types, one keystroke at a time.
pub const DEMO_INPUT: &str = "help\rhello, portlab\r";

const BANNER: &str = "portlab demo guest: PL011 console up (115200 8N1, FIFOs on, RX/TX interrupts)\r\n";

/// The result of one demo run.
#[derive(Debug, Clone, Default)]
pub struct DemoRun {
    /// Everything the guest printed on the console.
    pub console: String,
    /// The canonical event log.
    pub log: Vec<String>,
    /// The commands the guest issued, as a replayable trace.
    pub trace: Vec<Command>,
    /// Number of `read` events.
    pub reads: usize,
    /// Number of `irq` events.
    pub irqs: usize,
    /// Number of `tx` events.
    pub tx: usize,
    /// Interrupts the guest handled.
    pub interrupts_handled: usize,
    /// Migrations performed during the run: (after keystroke, to).
    pub migrations: Vec<(usize, Implementation)>,
    /// Periodic HPET tick interrupts (rising edges of its route line).
    pub hpet_ticks: usize,
}

struct Guest {
    runner: Runner,
    names: Vec<String>,
    run: DemoRun,
    events: Vec<Event>,
    tx_queue: std::collections::VecDeque<u8>,
    tx_busy: bool,
    line: String,
}

impl Guest {
    fn exec(&mut self, command: Command) -> Result<Option<u64>, StepError> {
        self.events.clear();
        self.runner.execute(&command, &mut self.events)?;
        self.run.trace.push(command);
        let mut value = None;
        for e in &self.events {
            self.run.log.push(e.display(&self.names[e.dev()]).to_string());
            match *e {
                Event::Read { value: v, .. } => {
                    self.run.reads += 1;
                    value = Some(v);
                }
                Event::Irq { dev, line, level } => {
                    self.run.irqs += 1;
                    if level && line == HPET_TICK_LINE && self.names[dev] == "hpet" {
                        self.run.hpet_ticks += 1;
                    }
                }
                Event::Mem { .. } => self.run.irqs += 1,
                Event::Tx { byte, .. } => {
                    self.run.tx += 1;
                    self.run.console.push(char::from(byte));
                }
            }
        }
        Ok(value)
    }

    /// An MMIO read of any device, as a trace command.
    fn mmio_read(&mut self, dev: &str, offset: u64, size: u32) -> Result<u64, StepError> {
        let v = self.exec(Command::Read { dev: dev.into(), offset, size, expected: None })?;
        Ok(v.unwrap_or(0))
    }

    /// An MMIO write of any device, as a trace command.
    fn mmio_write(&mut self, dev: &str, offset: u64, value: u64, size: u32) -> Result<(), StepError> {
        self.exec(Command::Write { dev: dev.into(), offset, value, size }).map(|_| ())
    }

    fn read(&mut self, offset: u64) -> Result<u64, StepError> {
        self.mmio_read("pl011", offset, 4)
    }

    fn write(&mut self, offset: u64, value: u64) -> Result<(), StepError> {
        self.mmio_write("pl011", offset, value, 4)
    }

    fn irq_pending(&self) -> bool {
        self.runner.board().is_some_and(|b| b.irq_level(0, 0))
    }

    fn rtc_read(&mut self, offset: u64) -> Result<u64, StepError> {
        self.mmio_read("pl031", offset, 4)
    }

    fn rtc_write(&mut self, offset: u64, value: u64) -> Result<(), StepError> {
        self.mmio_write("pl031", offset, value, 4)
    }

    /// rtc-pl031's probe: read the clock, and set a wake alarm 2 s ahead.
    fn rtc_bring_up(&mut self) -> Result<u64, StepError> {
        let now = self.rtc_read(RTC_DR)?;
        self.rtc_write(RTC_IMSC, 1)?;
        self.rtc_write(RTC_MR, (now + 2) & 0xffff_ffff)?;
        Ok(now)
    }

    /// The RTC's interrupt handler.
    fn service_rtc(&mut self) -> Result<(), StepError> {
        if self.runner.board().is_some_and(|b| b.irq_level(RTC_DEV, 0)) && self.rtc_read(RTC_MIS)? & 1 != 0 {
            self.rtc_write(RTC_ICR, 1)?;
            let now = self.rtc_read(RTC_DR)?;
            let text = format!("\r\n[rtc-pl031: alarm at {} UTC]\r\n$ {}", format_utc(now), self.line);
            self.tx_queue.extend(text.bytes());
            self.kick_tx()?;
        }
        Ok(())
    }

    fn hpet_read(&mut self, offset: u64, size: u32) -> Result<u64, StepError> {
        self.mmio_read("hpet", offset, size)
    }

    fn hpet_write(&mut self, offset: u64, value: u64, size: u32) -> Result<(), StepError> {
        self.mmio_write("hpet", offset, value, size)
    }

    /// A periodic 100 ms tick on HPET timer 0, as a kernel's boot
    /// clockevent: capabilities, then comparator and period with SETVAL,
    /// then the counter enabled.
    fn hpet_bring_up(&mut self) -> Result<(), StepError> {
        let caps = self.hpet_read(HPET_GCAP_ID, 8)?;
        self.hpet_write(HPET_T0_CONF, HPET_T0_PERIODIC, 4)?;
        self.hpet_write(HPET_T0_CMP, HPET_TICK_PERIOD, 8)?;
        self.hpet_write(HPET_GEN_CONF, 1, 4)?;
        // Comparators still at their reset value are due at once.
        self.exec(Command::Advance { ns: 0 })?;
        let period_fs = caps >> 32;
        let text = format!(
            "hpet: {} comparators at {} MHz, periodic tick 100 ms\r\n",
            ((caps >> 8) & 0x1f) + 1,
            1_000_000_000 / period_fs.max(1)
        );
        self.tx_queue.extend(text.bytes());
        self.kick_tx()
    }

    /// Probe and startup, as amba-pl011 does them.
    fn bring_up(&mut self) -> Result<(), StepError> {
        for id in 0..8 {
            self.read(0xfe0 + 4 * id)?;
        }
        self.write(IMSC, 0)?;
        self.write(ICR, 0xffff)?;
        let cr = self.read(CR)?;
        self.write(CR, cr & !0x1)?;
        // 115200 baud from a 24 MHz UARTCLK: 24e6 / (16 * 115200) = 13.02.
        self.write(IBRD, 13)?;
        self.write(FBRD, 1)?;
        self.write(LCR_H, 0x70)?;
        self.write(IFLS, 0x12)?;
        self.write(ICR, 0x7ff)?;
        self.write(IMSC, INT_RX | INT_RT)?;
        self.write(CR, 0x301)?;
        Ok(())
    }

    /// Console write: queue bytes and start interrupt-driven transmission.
    fn print(&mut self, text: &str) -> Result<(), StepError> {
        self.tx_queue.extend(text.bytes());
        if !self.tx_busy {
            self.tx_busy = true;
            let imsc = self.read(IMSC)?;
            self.write(IMSC, imsc | INT_TX)?;
            self.send_next()?;
        }
        self.service_interrupts()
    }

    fn send_next(&mut self) -> Result<(), StepError> {
        match self.tx_queue.pop_front() {
            Some(byte) => {
                while self.read(FR)? & FR_TXFF != 0 {}
                self.write(DR, u64::from(byte))
            }
            None => {
                self.tx_busy = false;
                let imsc = self.read(IMSC)?;
                self.write(IMSC, imsc & !INT_TX)?;
                while self.read(FR)? & FR_BUSY != 0 {}
                Ok(())
            }
        }
    }

    /// Runs the interrupt handler while the UART's line 0 is high.
    fn service_interrupts(&mut self) -> Result<(), StepError> {
        let mut rounds = 0;
        while self.irq_pending() {
            rounds += 1;
            if rounds > 10_000 {
                return Err(StepError::Stopped("demo guest: interrupt storm".into()));
            }
            self.run.interrupts_handled += 1;
            let mis = self.read(MIS)?;
            if mis & (INT_RX | INT_RT) != 0 {
                self.write(ICR, INT_RX | INT_RT)?;
                while self.read(FR)? & FR_RXFE == 0 {
                    let c = self.read(DR)? as u8;
                    self.on_input(c);
                }
            }
            if mis & INT_TX != 0 {
                self.write(ICR, INT_TX)?;
                self.send_next()?;
            }
        }
        Ok(())
    }

    /// The shell: echo, and answer each line.
    fn on_input(&mut self, c: u8) {
        if c == b'\r' {
            let reply = match self.line.trim() {
                "help" => "\r\ncommands: help, anything else is echoed back\r\n".to_string(),
                "" => "\r\n".to_string(),
                other => format!("\r\nyou typed: {other}\r\n"),
            };
            self.tx_queue.extend(reply.bytes());
            self.tx_queue.extend(b"$ ");
            self.line.clear();
        } else {
            self.line.push(char::from(c));
            self.tx_queue.push_back(c);
        }
    }

    fn kick_tx(&mut self) -> Result<(), StepError> {
        if !self.tx_busy && !self.tx_queue.is_empty() {
            self.tx_busy = true;
            let imsc = self.read(IMSC)?;
            self.write(IMSC, imsc | INT_TX)?;
            self.send_next()?;
        }
        self.service_interrupts()
    }
}

/// Runs the demo scenario on the default board with every device in
/// `implementation`. With `migrate_after = Some((n, to))` every device is
/// migrated to `to` after the user's `n`-th keystroke, while the guest
/// keeps running.
pub fn run_demo(
    registry: &Registry,
    implementation: Implementation,
    migrate_after: Option<(usize, Implementation)>,
) -> Result<DemoRun, StepError> {
    run_demo_on(registry, BoardConfig::default_board(implementation), migrate_after)
}

/// The devices the demo guest drives (and migrates).
const DRIVEN: [&str; 3] = ["pl011", "pl031", "hpet"];

/// What `portlab demo` prints before the runs.
pub fn introduction() -> String {
    format!(
        "portlab demo: a guest driver brings up the PL011 the way Linux's amba-pl011 does,\n\
         prints a banner with interrupts on, and echoes what the user types ({DEMO_INPUT:?}).\n\
         It also reads the PL031 RTC at boot and sets a wake alarm, and takes a periodic 100 ms\n\
         tick from the HPET. The same guest runs four times: on the C models, on the Rust\n\
         rewrites, on a mix, and on the C models migrated to Rust in the middle of the run.\n"
    )
}

/// What the last run's migration shows, printed after the runs when the
/// event logs agree.
pub const MIGRATION_NOTE: &str = "(An RTC alarm pending across a migration is re-armed relative to the load time,\n\
                                  as in QEMU: tests/traces/pl031/r20-*; the HPET's pending tick keeps its deadline\n\
                                  to the nanosecond: hpet.md section 12.2.)";

/// One run of the demo: a label, the board, and the migration, if any
/// (after which keystroke, to which implementation).
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    /// What the run is, for the table.
    pub label: &'static str,
    /// The board it runs on.
    pub config: BoardConfig,
    /// Migrate every driven device after this keystroke, to this
    /// implementation.
    pub migrate_after: Option<(usize, Implementation)>,
}

/// The runs `portlab demo` compares: C, Rust, a mix (the RTC in Rust) and
/// C migrated to Rust after keystroke 12, in that order; in a build
/// without the C models (stage 3), Rust alone and Rust migrated onto fresh
/// Rust instances.
pub fn scenario(registry: &Registry) -> Vec<ScenarioRun> {
    let migrate_after = 12;
    let run = |label, implementation, migrate_after| ScenarioRun {
        label,
        config: BoardConfig::default_board(implementation),
        migrate_after,
    };
    let rust = run("Rust (x-NAME-rust)", Implementation::Rust, None);
    if registry.device_type("pl011", Implementation::C).is_err() {
        return vec![
            rust,
            run("Rust, migrated mid-run", Implementation::Rust, Some((migrate_after, Implementation::Rust))),
        ];
    }
    let mut mixed = run("mixed: RTC in Rust, others C", Implementation::C, None);
    // The default board always has the RTC's slot.
    let _ = mixed.config.set_implementation("pl031", Implementation::Rust);
    vec![
        run("C (pl011, pl031, hpet)", Implementation::C, None),
        rust,
        mixed,
        run("C, migrated to Rust mid-run", Implementation::C, Some((migrate_after, Implementation::Rust))),
    ]
}

/// Runs the demo scenario on a board laid out as `config` (any mix of
/// implementations). The guest drives the UART (console, echo), the RTC
/// (clock at boot, a wake alarm 2 s later) and the HPET (a periodic 100 ms
/// tick, and the counter read as a clocksource at the end).
pub fn run_demo_on(
    registry: &Registry,
    config: BoardConfig,
    migrate_after: Option<(usize, Implementation)>,
) -> Result<DemoRun, StepError> {
    let names: Vec<String> = config.slots.iter().map(|s| s.name.clone()).collect();
    let has_rtc = names.iter().any(|n| n == "pl031");
    let has_hpet = names.iter().any(|n| n == "hpet");
    let mut guest = Guest {
        runner: Runner::new(registry, config),
        names: names.clone(),
        run: DemoRun::default(),
        events: Vec::new(),
        tx_queue: Default::default(),
        tx_busy: false,
        line: String::new(),
    };
    guest.bring_up()?;
    guest.print(BANNER)?;
    if has_rtc {
        let now = guest.rtc_bring_up()?;
        guest.print(&format!("rtc-pl031: system clock set to {} UTC, wake alarm in 2 s\r\n", format_utc(now)))?;
    }
    if has_hpet {
        guest.hpet_bring_up()?;
    }
    guest.print("$ ")?;
    for (n, key) in DEMO_INPUT.bytes().enumerate() {
        guest.exec(Command::Advance { ns: KEYSTROKE_NS })?;
        if has_rtc {
            guest.service_rtc()?;
        }
        guest.exec(Command::Rx { dev: "pl011".into(), bytes: vec![key] })?;
        guest.service_interrupts()?;
        guest.kick_tx()?;
        if let Some((after, to)) = migrate_after {
            if after == n + 1 {
                // The devices this guest drives; others on the board (a
                // scaffolded one) are left alone, so the demo's figures do
                // not depend on what else the board carries.
                for name in names.iter().filter(|n| DRIVEN.contains(&n.as_str())) {
                    guest.exec(Command::Migrate { dev: name.clone(), to: Some(to) })?;
                }
                guest.run.migrations.push((after, to));
            }
        }
    }
    if has_hpet {
        // The clocksource's view of the run, read as one 64-bit access.
        let ticks = guest.hpet_read(HPET_MAIN_CNT, 8)?;
        // Two interrupts per period: QEMU's HPET re-fires 1 us after an
        // on-time periodic expiry (hpet.md section 8.4), and so do both
        // implementations here.
        let text = format!(
            "\r\n[hpet: counter {} ({} ms), {} tick interrupts: two per period, hpet.md 8.4]\r\n",
            ticks,
            ticks / 100_000,
            guest.run.hpet_ticks
        );
        guest.tx_queue.extend(text.bytes());
        guest.kick_tx()?;
    }
    // A last look at the raw status, as a driver's shutdown would.
    guest.read(RIS)?;
    Ok(guest.run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59");
    }
}
