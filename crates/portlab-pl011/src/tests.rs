//! Unit tests of the state machine, natively (no FFI, no board).

use super::*;
use portlab_device::testing::Recorder;

fn fresh() -> (Pl011, Recorder) {
    let mut h = Recorder::default();
    (Pl011::new(&mut h, &Properties::defaults_of::<Pl011>()), h)
}

#[test]
fn reset_values() {
    let (mut d, mut h) = fresh();
    assert_eq!(d.read(&mut h, 0x018, 4), 0x90);
    assert_eq!(d.read(&mut h, 0x030, 4), 0x300);
    assert_eq!(d.read(&mut h, 0x034, 4), 0x12);
    assert_eq!(d.read(&mut h, 0xfe8, 4), 0x14);
    assert_eq!(d.read(&mut h, 0x044, 4), 0);
    assert_eq!(h.messages(LogKind::GuestError), vec!["pl011_read: Bad offset 0x44"]);
}

#[test]
fn rx_then_read_raises_and_lowers_rx_lines() {
    let (mut d, mut h) = fresh();
    d.write(&mut h, 0x038, 4, 0x10);
    assert_eq!(d.can_receive(), 1);
    d.receive(&mut h, b'a').unwrap();
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
    d.receive(&mut h, 1).unwrap();
    d.receive(&mut h, 2).unwrap();
    let mut blob = Vec::new();
    d.save(&mut h, &mut SaveBuffer::new(&mut blob));
    assert_eq!(blob.len(), 132);
    let (mut e, mut h2) = fresh();
    e.load(&mut h2, &blob).unwrap();
    assert_eq!(e, d);
    assert!(h2.irq_changes.is_empty(), "load does not UPDATE");
}
