//! The C and the Rust PL031 side by side, against the floor: the RTC's
//! hot paths (a counter read, an alarm set, migration) through the same
//! ops table, and the Rust model called natively.
//!
//! Run with `cargo bench -p portlab-benches --bench pl031`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use portlab_device::{Device, DeviceType, Host, Instance, LogKind, c_models};
use portlab_pl031::Pl031;

/// A host whose callbacks do nothing, with a clock that moves a little on
/// every reading so the counter is computed, not cached.
#[derive(Default)]
struct QuietHost {
    clock_ns: u64,
}

impl Host for QuietHost {
    fn set_irq(&mut self, _line: u32, _level: bool) {}
    fn serial_send(&mut self, _bytes: &[u8]) {}
    fn serial_set_break(&mut self, _on: bool) {}
    fn clock_ns(&mut self) -> u64 {
        self.clock_ns = self.clock_ns.wrapping_add(7_919);
        self.clock_ns
    }
    fn rtc_epoch_s(&mut self) -> u64 {
        1_700_000_000
    }
    fn timer_arm(&mut self, _timer: u32, _deadline_ns: u64) {}
    fn timer_cancel(&mut self, _timer: u32) {}
    fn log(&mut self, _kind: LogKind, _message: &str) {}
    fn mem_write(&mut self, _addr: u64, _size: u32, _value: u64) {}
    fn timer_arm_first(&mut self, _timer: u32) {}
}

/// The through-the-table members of every group: floor, C, Rust.
fn tables() -> [(&'static str, DeviceType); 3] {
    [("floor", c_models::null()), ("c", c_models::pl031()), ("rust", DeviceType::of::<Pl031>())]
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sample_size(50).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
}

fn dr_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("pl031/dr-read");
    configure(&mut group);
    for (label, table) in tables() {
        let mut dev = Instance::new(table, QuietHost::default()).expect("created");
        group.bench_function(label, |b| b.iter(|| dev.read(black_box(0x000), 4).expect("read")));
    }
    let mut host = QuietHost::default();
    let mut native = Pl031::new(&mut host, &portlab_device::Properties::defaults_of::<Pl031>());
    group.bench_function("rust-native", |b| b.iter(|| native.read(&mut host, black_box(0x000), 4)));
    group.finish();
}

fn alarm_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("pl031/mr-write");
    configure(&mut group);
    for (label, table) in tables() {
        let mut dev = Instance::new(table, QuietHost::default()).expect("created");
        group.bench_function(label, |b| b.iter(|| dev.write(black_box(0x004), 4, 0x6553_f105).expect("write")));
    }
    let mut host = QuietHost::default();
    let mut native = Pl031::new(&mut host, &portlab_device::Properties::defaults_of::<Pl031>());
    group.bench_function("rust-native", |b| b.iter(|| native.write(&mut host, black_box(0x004), 4, 0x6553_f105)));
    group.finish();
}

fn save_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("pl031/save-load");
    configure(&mut group);
    for (label, table) in tables() {
        let mut dev = Instance::new(table, QuietHost::default()).expect("created");
        let mut blob = Vec::with_capacity(64);
        group.bench_function(label, |b| {
            b.iter(|| {
                dev.save_into(&mut blob).expect("save");
                // The floor saves nothing, so there is nothing to load.
                if !blob.is_empty() {
                    dev.load(black_box(&blob)).expect("load");
                }
            })
        });
    }
    let mut host = QuietHost::default();
    let mut native = Pl031::new(&mut host, &portlab_device::Properties::defaults_of::<Pl031>());
    let mut blob = Vec::with_capacity(64);
    group.bench_function("rust-native", |b| {
        b.iter(|| {
            blob.clear();
            native.save(&mut host, &mut blob);
            native.load(&mut host, black_box(&blob)).expect("load");
        })
    });
    group.finish();
}

// criterion_group!/criterion_main! written out: the macro makes an
// undocumented `pub fn`, which the workspace lints refuse.
fn main() {
    let mut criterion = Criterion::default().nresamples(20_000).configure_from_args();
    dr_read(&mut criterion);
    alarm_set(&mut criterion);
    save_load(&mut criterion);
    criterion.final_summary();
}
