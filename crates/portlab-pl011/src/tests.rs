//! Unit tests of the state machine, natively (no FFI, no board).

use super::*;

#[derive(Default)]
struct Recorder {
    irq: [bool; 6],
    irq_changes: Vec<(u32, bool)>,
    tx: Vec<u8>,
    logs: Vec<String>,
    breaks: Vec<bool>,
}

impl Host for Recorder {
    fn set_irq(&mut self, line: u32, level: bool) {
        if self.irq[line as usize] != level {
            self.irq[line as usize] = level;
            self.irq_changes.push((line, level));
        }
    }
    fn serial_send(&mut self, bytes: &[u8]) {
        self.tx.extend_from_slice(bytes);
    }
    fn serial_set_break(&mut self, on: bool) {
        self.breaks.push(on);
    }
    fn clock_ns(&mut self) -> u64 {
        0
    }
    fn rtc_epoch_s(&mut self) -> u64 {
        0
    }
    fn timer_arm(&mut self, _timer: u32, _deadline_ns: u64) {}
    fn timer_cancel(&mut self, _timer: u32) {}
    fn log(&mut self, _kind: LogKind, message: &str) {
        self.logs.push(message.to_owned());
    }
}

fn fresh() -> (Pl011, Recorder) {
    let mut h = Recorder::default();
    (Pl011::new(&mut h), h)
}

#[test]
fn reset_values() {
    let (mut d, mut h) = fresh();
    assert_eq!(d.read(&mut h, 0x018, 4), 0x90);
    assert_eq!(d.read(&mut h, 0x030, 4), 0x300);
    assert_eq!(d.read(&mut h, 0x034, 4), 0x12);
    assert_eq!(d.read(&mut h, 0xfe8, 4), 0x14);
    assert_eq!(d.read(&mut h, 0x044, 4), 0);
    assert_eq!(h.logs, vec!["pl011_read: Bad offset 0x44"]);
}

#[test]
fn rx_then_read_raises_and_lowers_rx_lines() {
    let (mut d, mut h) = fresh();
    d.write(&mut h, 0x038, 4, 0x10);
    assert_eq!(d.can_receive(), 1);
    d.receive(&mut h, b'a');
    assert_eq!(d.can_receive(), 0);
    assert_eq!(h.irq_changes, vec![(0, true), (1, true)]);
    assert_eq!(d.read(&mut h, 0, 4), 0x61);
    assert_eq!(h.irq_changes[2..], [(0, false), (1, false)]);
}

#[test]
fn break_toggle_tells_the_backend_and_loops_back() {
    let (mut d, mut h) = fresh();
    d.write(&mut h, 0x030, 4, 0x381);
    d.write(&mut h, 0x02c, 4, 0x01);
    d.write(&mut h, 0x02c, 4, 0x00);
    assert_eq!(h.breaks, vec![true, false]);
    assert_eq!(d.read(&mut h, 0, 4), 0x400);
    assert_eq!(d.read(&mut h, 0x004, 4), 0x4);
}

#[test]
fn overflow_reports_no_room() {
    let (mut d, mut h) = fresh();
    d.write(&mut h, 0x030, 4, 0x381);
    d.write(&mut h, 0x000, 4, 0x41);
    d.write(&mut h, 0x000, 4, 0x42);
    assert_eq!(d.read_count, 2, "depth 1, overflowed");
    assert_eq!(d.can_receive(), 0);
}

#[test]
fn save_load_round_trip() {
    let (mut d, mut h) = fresh();
    d.write(&mut h, 0x02c, 4, 0x10);
    d.receive(&mut h, 1);
    d.receive(&mut h, 2);
    let mut blob = Vec::new();
    d.save(&mut blob);
    assert_eq!(blob.len(), 132);
    let (mut e, mut h2) = fresh();
    e.load(&mut h2, &blob).unwrap();
    assert_eq!(e, d);
    assert!(h2.irq_changes.is_empty(), "load does not UPDATE");
}
