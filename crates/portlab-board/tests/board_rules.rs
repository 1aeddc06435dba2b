//! The board rules of trace-format.md and the runner's error handling.
//! They drive the stage's default implementation, so they run in every
//! roadmap stage.

mod common;

use common::run_text;
use portlab_board::{Board, BoardConfig, DeviceKind, Implementation, Registry, SlotConfig, StepError, TraceError};
use portlab_device::migration::SaveBuffer;
use portlab_device::{Device, DeviceInfo, DeviceType, Host, LoadError};

/// The implementation this build's roadmap stage uses by default.
fn default_imp() -> Implementation {
    portlab_board::Stage::CURRENT.default_implementation()
}

fn err(text: &str) -> TraceError {
    run_text(text, default_imp()).1.expect_err("the trace must fail")
}

#[test]
fn errors_name_the_line_and_what_was_expected() {
    let e = err("read pl011 0x018\nread pl011 0x002\n");
    assert_eq!((e.line, e.exit_code()), (2, 2));
    assert!(e.to_string().contains("test.trace:2:"), "{e}");
    assert!(e.to_string().contains("not a multiple of the access size 4"), "{e}");

    let e = err("\nread pl011 0x1000 1\n");
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("outside pl011's region"), "{e}");

    let e = err("read pl011 0xffc 8\n");
    assert!(e.to_string().contains("outside"), "{e}");

    let e = err("read uart0 0x0\n");
    assert!(e.to_string().contains("unknown device `uart0`"), "{e}");

    let e = err("write pl011 0x0 0x1 3\n");
    assert!(e.to_string().contains("1, 2, 4 or 8"), "{e}");

    let e = err("write pl011 0x0 0x10000 2\n");
    assert!(e.to_string().contains("does not fit"), "{e}");

    let e = err("read pl011 0x0\nepoch 5\n");
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("only before the first other command"), "{e}");

    // `config` may follow `epoch`, not come before it.
    let e = err("config hpet timers=4\nepoch 5\n");
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("only before the first other command"), "{e}");
    run_text("epoch 5\nconfig hpet timers=4\nread hpet 0x0\n", default_imp()).1.expect("epoch, then config");

    let e = err("advance 0xffffffffffffffff\nadvance 1\n");
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("2^64"), "{e}");
}

/// A run whose board the caller made before the trace began (as `portlab
/// run --start` does) refuses `epoch` and `config` for that reason, not
/// because of a command the trace does not have.
#[test]
fn epoch_and_config_in_a_run_from_a_saved_state_say_so() {
    let registry = Registry::builtin();
    let mut runner = portlab_board::Runner::new(&registry, BoardConfig::default_board(default_imp()));
    runner.board_mut().unwrap();
    let mut events = Vec::new();
    let epoch = portlab_board::Command::Epoch { seconds: 5 };
    let e = runner.execute(&epoch, &mut events).unwrap_err().to_string();
    assert!(e.contains("`epoch` cannot be used in a run that starts from a saved state"), "{e}");
    let config = portlab_board::Command::Config { dev: "pl011".into(), properties: Vec::new() };
    let e = runner.execute(&config, &mut events).unwrap_err().to_string();
    assert!(e.contains("`config` cannot be used in a run that starts from a saved state"), "{e}");
    // Once the trace has run a command, the usual rule is what is broken.
    runner.execute(&portlab_board::Command::Advance { ns: 1 }, &mut events).unwrap();
    let e = runner.execute(&epoch, &mut events).unwrap_err().to_string();
    assert!(e.contains("`epoch` is allowed only before the first other command"), "{e}");
}

#[test]
fn a_failed_expectation_exits_1_after_printing_the_events_so_far() {
    let (log, result) = run_text("write pl011 0x0 0x41\nread pl011 0x018 = 0x91\nread pl011 0x18\n", default_imp());
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert_eq!(e.line, 2);
    assert_eq!(e.error, StepError::Expectation { dev: "pl011".into(), offset: 0x18, expected: 0x91, actual: 0x90 });
    assert!(e.to_string().contains("expected 0x91, actual 0x90"), "{e}");
    assert_eq!(log.lines, vec!["tx pl011 0x41", "read pl011 0x018 4 0x00000090"]);
}

#[test]
fn guest_errors_are_diagnostics_not_events() {
    let (log, result) = run_text("read pl011 0x008\nwrite pl011 0xfe0 0x1\n", default_imp());
    result.unwrap();
    assert_eq!(log.lines, vec!["read pl011 0x008 4 0x00000000"]);
    assert_eq!(log.diagnostics.len(), 2);
    assert!(log.diagnostics[0].contains("pl011_read: Bad offset 0x8"), "{:?}", log.diagnostics);
    assert!(log.diagnostics[1].contains("pl011_write: Bad offset 0xfe0"), "{:?}", log.diagnostics);
}

#[test]
fn input_is_delivered_after_every_access_and_breaks_jump_the_queue() {
    let registry = Registry::builtin();
    let mut board = Board::new(&registry, &BoardConfig::default_board(default_imp())).unwrap();
    board.rx(0, b"abc").unwrap();
    assert_eq!(board.pending_input(0), 2, "FEN 0: one byte taken");
    board.read(0, 0x018, 4).unwrap();
    assert_eq!(board.pending_input(0), 2, "an FR read frees nothing");
    board.read(0, 0x000, 4).unwrap();
    assert_eq!(board.pending_input(0), 1, "a DR read frees the slot and the board refills it");
    // A break reaches the device at once, without waiting for room.
    board.serial_break(0).unwrap();
    assert_eq!(board.pending_input(0), 1);
    let events = board.take_events();
    assert!(events.iter().all(|e| matches!(e, portlab_board::Event::Read { .. })));
}

#[test]
fn migration_keeps_pending_input_and_line_levels() {
    let registry = Registry::builtin();
    let mut board = Board::new(&registry, &BoardConfig::default_board(default_imp())).unwrap();
    board.write(0, 0x038, 4, 0x10).unwrap();
    board.rx(0, b"xy").unwrap();
    assert!(board.irq_level(0, 0));
    board.migrate(0, Some(default_imp())).unwrap();
    assert!(board.irq_level(0, 0), "line levels belong to the board");
    assert_eq!(board.pending_input(0), 1);
    assert_eq!(board.read(0, 0, 4).unwrap(), u64::from(b'x'));
    assert_eq!(board.read(0, 0, 4).unwrap(), u64::from(b'y'));
}

#[cfg(feature = "c-models")]
#[test]
fn a_missing_implementation_is_a_clear_error() {
    let mut registry = Registry::builtin();
    let pl011 = registry.kind("pl011").unwrap().clone();
    registry.register(DeviceKind { rust: None, ..pl011 });
    let e = Board::new(&registry, &BoardConfig::default_board(Implementation::Rust)).unwrap_err();
    assert!(e.to_string().contains("no Rust implementation of `pl011`"), "{e}");
    let mut board = Board::new(&registry, &BoardConfig::default_board(Implementation::C)).unwrap();
    let e = board.migrate(0, Some(Implementation::Rust)).unwrap_err();
    assert!(e.to_string().contains("no Rust implementation of `pl011`"), "{e}");
    // Without a target, a kind with one implementation migrates onto a
    // fresh instance of the same one.
    assert_eq!(board.migrate(0, None), Ok(Implementation::C));
    assert_eq!(board.read(0, 0x018, 4).unwrap(), 0x90, "the C instance is still there");
}

/// A device with two timers, to test the board's clock: a write of
/// `deadline` at offset 0 (timer 0) or 8 (timer 1) arms it, 0 cancels;
/// each expiry raises line 0 and records the clock; a read returns the
/// clock at the last expiry.
struct TimerProbe {
    fired_at: u64,
    order: u32,
}

impl Device for TimerProbe {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-timer-probe-rust",
        region_size: 0x20,
        num_irqs: 4,
        num_timers: 2,
        access_sizes: 0x8,
        state_device_id: 0x7f10,
        num_inputs: 0,
        properties: &[],
        state_schema: &portlab_device::schema::schema(1, 0, &[]),
    };
    fn new(_host: &mut impl Host, _properties: &portlab_device::Properties) -> Self {
        TimerProbe { fired_at: 0, order: 0 }
    }
    fn reset(&mut self, _host: &mut impl Host) {}
    fn read(&mut self, _host: &mut impl Host, offset: u64, _size: u32) -> u64 {
        if offset == 0 { self.fired_at } else { u64::from(self.order) }
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, _size: u32, value: u64) {
        let timer = (offset / 8) as u32;
        match value {
            0 => host.timer_cancel(timer),
            u64::MAX => host.timer_arm_first(timer),
            deadline => host.timer_arm(timer, deadline),
        }
    }
    fn timer_expired(&mut self, host: &mut impl Host, timer: u32) {
        self.fired_at = host.clock_ns();
        self.order = self.order * 10 + timer + 1;
        host.set_irq(timer, true);
        host.set_irq(timer, true); // same level again: not an event
    }
    fn save(&self, _host: &mut impl Host, _out: &mut SaveBuffer<'_>) {}
    fn load(&mut self, _host: &mut impl Host, _blob: &[u8]) -> Result<(), LoadError> {
        Ok(())
    }
}

fn timer_board() -> Board {
    let mut registry = Registry::empty();
    registry.register(DeviceKind {
        name: "probe",
        description: "timer probe",
        c: None,
        rust: Some(DeviceType::of::<TimerProbe>()),
        shadow: None,
        guest: None,
        edge_cases: None,
        workloads: &[],
        saved_after_load: None,
        qemu: None,
    });
    let config = BoardConfig {
        slots: vec![SlotConfig {
            name: "probe".into(),
            kind: "probe".into(),
            base: 0,
            implementation: Implementation::Rust,
            properties: Vec::new(),
        }],
        epoch: 0,
    };
    Board::new(&registry, &config).unwrap()
}

#[test]
fn timers_fire_in_deadline_order_with_the_clock_at_their_deadline() {
    let mut board = timer_board();
    board.write(0, 8, 8, 300).unwrap();
    board.write(0, 0, 8, 200).unwrap();
    board.advance(199).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 0, "nothing due before 200");
    board.advance(1000).unwrap();
    assert_eq!(board.read(0, 0, 8).unwrap(), 300, "timer 1 fired last, at its own deadline");
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 12, "timer 0 (200) then timer 1 (300)");
    assert_eq!(board.clock_ns(), 1199);
    let irqs: Vec<_> =
        board.take_events().into_iter().filter(|e| matches!(e, portlab_board::Event::Irq { .. })).collect();
    assert_eq!(irqs.len(), 2, "re-setting a level is not an event");
}

#[test]
fn arm_first_goes_ahead_of_every_pending_timer_and_later_ones_go_first() {
    // Timer 0 is due (deadline 1 at clock 0 after an advance); timer 1
    // armed first fires ahead of it although it was armed later.
    let mut board = timer_board();
    board.advance(5).unwrap();
    board.write(0, 0, 8, 1).unwrap();
    board.write(0, 8, 8, u64::MAX).unwrap();
    board.advance(0).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 21, "timer 1 (arm-first) then timer 0");
    assert_eq!(board.read(0, 0, 8).unwrap(), 5, "a past deadline fires with the clock as it stands");
    // Two arm-first arms fire in the reverse of their arming order, and an
    // ordinary deadline-0 arm made after them goes behind them.
    let mut board = timer_board();
    board.write(0, 0, 8, u64::MAX).unwrap();
    board.write(0, 8, 8, u64::MAX).unwrap();
    board.advance(0).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 21, "the later arm-first fires first");
    let mut board = timer_board();
    board.write(0, 0, 8, u64::MAX).unwrap();
    board.write(0, 8, 8, 0).unwrap(); // cancel: nothing armed for timer 1
    board.advance(0).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 1);
    assert!(board.armed_deadlines().is_empty());
}

#[test]
fn rearming_replaces_and_cancel_disarms() {
    let mut board = timer_board();
    board.write(0, 0, 8, 500).unwrap();
    board.write(0, 0, 8, 100).unwrap(); // replaces 500
    board.write(0, 8, 8, 50).unwrap();
    board.write(0, 8, 8, 0).unwrap(); // cancels timer 1
    board.advance(1000).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 1, "only timer 0 fired, once");
    assert_eq!(board.read(0, 0, 8).unwrap(), 100);
}

/// A timer re-armed thousands of times (far ahead, then nearer, then
/// cancelled and armed again) fires once, at its last deadline, with the
/// other timer in its place: no superseded arming survives in the queue.
#[test]
fn a_timer_rearmed_again_and_again_fires_once_at_its_last_deadline() {
    let mut board = timer_board();
    board.write(0, 8, 8, 5_000).unwrap();
    for i in 0..5_000u64 {
        board.write(0, 0, 8, 1_000_000 - i).unwrap();
        if i % 7 == 0 {
            board.write(0, 0, 8, 0).unwrap();
            board.write(0, 0, 8, 2_000_000 + i).unwrap();
        }
    }
    board.write(0, 0, 8, 4_000).unwrap();
    assert_eq!(board.armed_deadlines(), vec![4_000, 5_000]);
    assert_eq!(board.next_deadline(), Some(4_000));
    board.advance(10_000_000).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 12, "timer 0 once, then timer 1");
    assert_eq!(board.read(0, 0, 8).unwrap(), 5_000);
    assert!(board.armed_deadlines().is_empty());
    assert_eq!(board.next_deadline(), None);
}

#[test]
fn equal_deadlines_fire_in_arming_order() {
    let mut board = timer_board();
    board.write(0, 8, 8, 100).unwrap();
    board.write(0, 0, 8, 100).unwrap();
    board.advance(100).unwrap();
    assert_eq!(board.read(0, 0x10, 8).unwrap(), 21);
}
