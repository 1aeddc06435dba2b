//! Tests of the adapter and the hosting layer with Rust-only devices and
//! hosts (no C), plus the C PL011 table's validation.

use super::*;
use crate::migration::{BlobWriter, SaveBuffer, check_container};
use crate::testing::Recorder;
use sys::PortlabDeviceOps;

/// Echoes writes to the serial backend; panics when told to.
struct Echo {
    last: u32,
}

const PANIC_OFFSET: u64 = 0x8;

const ECHO_PROPERTIES: [sys::PortlabPropertyInfo; 1] =
    [schema::property(c"start", c"the register's value at creation", 0, 0, 100)];
const ECHO_FIELDS: [sys::PortlabStateField; 1] = [schema::field(c"last", 0, 4, 1)];
const ECHO_SCHEMA: sys::PortlabStateSchema = schema::schema(1, 4, &ECHO_FIELDS);

impl Device for Echo {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-echo-rust",
        region_size: 0x10,
        num_irqs: 1,
        num_timers: 1,
        access_sizes: 0xF,
        state_device_id: 0x7f01,
        num_inputs: 1,
        properties: &ECHO_PROPERTIES,
        state_schema: &ECHO_SCHEMA,
    };
    fn new(_host: &mut impl Host, properties: &Properties) -> Self {
        Echo { last: properties.get("start") as u32 }
    }
    fn set_input(&mut self, host: &mut impl Host, _line: u32, level: bool) {
        host.set_irq(0, level);
    }
    fn reset(&mut self, _host: &mut impl Host) {
        self.last = 0;
    }
    fn read(&mut self, host: &mut impl Host, offset: u64, _size: u32) -> u64 {
        if offset == PANIC_OFFSET {
            panic!("planted panic in read");
        }
        host.log(LogKind::GuestError, "read");
        u64::from(self.last)
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, _size: u32, value: u64) {
        if offset == PANIC_OFFSET {
            panic!("planted panic in write");
        }
        self.last = value as u32;
        host.serial_send(&[value as u8]);
        host.set_irq(0, true);
    }
    fn can_receive(&self) -> u32 {
        3
    }
    fn save(&self, _host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        let mut w = BlobWriter::new(out, 0x7f01, 1, 4);
        w.u32(self.last);
        w.finish();
    }
    fn load(&mut self, _host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        let p = check_container(blob, 0x7f01, 1, |_| 4)?;
        self.last = p.u32(0);
        Ok(())
    }
}

#[test]
fn rust_device_round_trips_through_the_c_table() {
    let ty = DeviceType::of::<Echo>();
    assert_eq!(ty.type_name(), "x-echo-rust");
    assert_eq!(ty.info().region_size, 0x10);
    let mut dev = Instance::new(ty, Recorder::default()).unwrap();
    dev.write(0, 4, 0x41).unwrap();
    assert_eq!(dev.read(0, 4).unwrap(), 0x41);
    assert_eq!(dev.can_receive().unwrap(), 3);
    assert_eq!(dev.host().sent, b"A");
    assert_eq!(dev.host().irq_calls, vec![(0, true)]);
    assert_eq!(dev.host().messages(LogKind::GuestError), vec!["read"]);
    let blob = dev.save().unwrap();
    assert_eq!(blob.len(), 20);
    let mut other = Instance::new(ty, Recorder::default()).unwrap();
    other.load(&blob).unwrap();
    assert_eq!(other.read(0, 4).unwrap(), 0x41);
    assert_eq!(other.load(&blob[..10]), Err(Error::Load(LoadError::Truncated)));
    let host = other.into_host();
    assert_eq!(host.logs.len(), 1);
}

/// The save contract of the header, on a Rust device through the ops
/// table: a buffer too small (none at all included) gets
/// `BUFFER_TOO_SMALL`, the size needed and not one byte written; one large
/// enough gets the blob at its start and nothing past it touched.
#[test]
fn a_rust_save_writes_into_the_host_buffer_or_reports_the_size_needed() {
    let mut dev = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    dev.write(0, 4, 0x41).unwrap();
    let blob = dev.save().unwrap();
    assert_eq!(blob.len(), 20);
    for cap in 0..blob.len() {
        let mut buf = vec![0xEEu8; cap];
        assert_eq!(dev.save_raw(&mut buf), (Err(Error::BufferTooSmall), 20), "capacity {cap}");
        assert!(buf.iter().all(|b| *b == 0xEE), "capacity {cap}: a too-small buffer was written");
    }
    for cap in [20, 21, 64] {
        let mut buf = vec![0xEEu8; cap];
        assert_eq!(dev.save_raw(&mut buf), (Ok(()), 20), "capacity {cap}");
        assert_eq!(&buf[..20], blob.as_slice(), "capacity {cap}");
        assert!(buf[20..].iter().all(|b| *b == 0xEE), "capacity {cap}: written past the blob");
    }
    // A Vec without capacity goes through "too small" and a second call.
    let mut out = Vec::new();
    dev.save_into(&mut out).unwrap();
    assert_eq!(out, blob);
}

#[test]
fn adapter_rejects_invalid_accesses() {
    let mut dev = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    assert_eq!(dev.read(0x10, 4), Err(Error::Invalid), "outside the region");
    assert_eq!(dev.read(2, 4), Err(Error::Invalid), "misaligned");
    assert_eq!(dev.read(0, 3), Err(Error::Invalid), "not a size");
    assert_eq!(dev.write(0, 1, 0x100), Err(Error::Invalid), "value wider than the access");
    // The 4- and 8-byte paths have tests of their own in the adapter.
    assert_eq!(dev.write(0, 4, 0x1_0000_0000), Err(Error::Invalid), "value wider than a word");
    assert_eq!(dev.write(0xC, 4, u64::from(u32::MAX)), Ok(()), "the last word, all ones");
    assert_eq!(dev.write(0x10, 4, 0), Err(Error::Invalid), "a word past the region");
    assert_eq!(dev.write(6, 4, 0), Err(Error::Invalid), "a misaligned word");
    assert_eq!(dev.write(0, 8, u64::MAX), Ok(()), "a doubleword, all ones");
    assert_eq!(dev.write(0xC, 8, 0), Err(Error::Invalid), "a misaligned doubleword");
    assert_eq!(dev.read(0x10, 8), Err(Error::Invalid), "a doubleword past the region");
    let sent = dev.host().sent.len();
    assert_eq!(sent, 2, "only the two valid writes reached the device");
    dev.host_mut().sent.clear();
    assert_eq!(dev.timer_expired(1), Err(Error::Invalid), "no such timer");
    assert_eq!(dev.timer_expired(0), Ok(()));
    assert!(dev.host().sent.is_empty());
}

#[test]
fn a_panicking_device_poisons_its_instance_and_the_process_survives() {
    let mut dev = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    dev.write(0, 4, 1).unwrap();
    assert_eq!(dev.read(PANIC_OFFSET, 4), Err(Error::Poisoned));
    // Every later call is refused, not run on a broken state.
    assert_eq!(dev.read(0, 4), Err(Error::Poisoned));
    assert_eq!(dev.write(0, 4, 2), Err(Error::Poisoned));
    assert_eq!(dev.reset(), Err(Error::Poisoned));
    assert_eq!(dev.save(), Err(Error::Poisoned));
    assert_eq!(dev.host().sent, vec![1]);
    // Other instances are unaffected.
    let mut fresh = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    assert_eq!(fresh.write(PANIC_OFFSET, 4, 0), Err(Error::Poisoned));
    let mut third = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    assert_eq!(third.read(0, 4), Ok(0));
}

struct PanickingHost;

impl Host for PanickingHost {
    fn set_irq(&mut self, _line: u32, _level: bool) {
        panic!("host panics in set_irq");
    }
    fn serial_send(&mut self, _bytes: &[u8]) {}
    fn serial_set_break(&mut self, _on: bool) {}
    fn clock_ns(&mut self) -> u64 {
        0
    }
    fn rtc_epoch_s(&mut self) -> u64 {
        0
    }
    fn timer_arm(&mut self, _timer: u32, _deadline_ns: u64) {}
    fn timer_cancel(&mut self, _timer: u32) {}
    fn log(&mut self, _kind: LogKind, _message: &str) {}
    fn mem_write(&mut self, _addr: u64, _size: u32, _value: u64) {}
    fn timer_arm_first(&mut self, _timer: u32) {}
}

#[test]
fn properties_are_resolved_and_bad_ones_refused_with_the_name() {
    let echo = DeviceType::of::<Echo>();
    let mut dev = Instance::new(echo, Recorder::default()).unwrap();
    assert_eq!(dev.read(0, 4), Ok(0), "the default");
    let mut dev = Instance::with_properties(echo, Recorder::default(), &[("start".into(), 42)]).unwrap();
    assert_eq!(dev.read(0, 4), Ok(42));
    for (given, words) in [
        (vec![("stop".to_string(), 1)], "unknown property `stop`"),
        (vec![("start".to_string(), 101)], "`start` = 101 is outside 0..=100"),
        (vec![("start".to_string(), u64::MAX)], "outside 0..=100"),
        (vec![("start".to_string(), 5), ("start".to_string(), 6)], "given twice"),
    ] {
        let message = echo.description().resolve_properties(&given).unwrap_err();
        assert!(message.contains(words), "`{message}` does not say `{words}`");
        assert!(Instance::with_properties(echo, Recorder::default(), &given).is_err());
    }
}

#[test]
fn input_lines_are_checked_by_the_adapter() {
    let mut dev = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    dev.set_input(0, true).unwrap();
    assert!(dev.host().level(0));
    assert_eq!(dev.set_input(1, true), Err(Error::Invalid), "line 1 does not exist");
    let before = dev.host().irq_calls.len();
    assert_eq!(dev.set_input(7, false), Err(Error::Invalid));
    assert_eq!(dev.host().irq_calls.len(), before, "a refused input changes nothing");
}

#[test]
fn schemas_are_read_and_checked_once() {
    let d = DeviceType::of::<Echo>().description();
    assert_eq!(d.schema.fields.len(), 1);
    assert_eq!(d.properties[0].name, "start");
    assert_eq!(d.num_inputs, 1);
    let mut blob = Vec::new();
    Echo { last: 9 }.save(&mut Recorder::default(), &mut SaveBuffer::new(&mut blob));
    let values = d.schema.decode(&blob[12..16]).unwrap();
    assert_eq!((&*values[0].name, values[0].value), ("last", 9));
}

/// Tables with something wrong, each refused with what is wrong.
#[test]
fn bad_tables_are_refused_with_a_message() {
    // The tables live for the program (from_c_table wants 'static); their
    // addresses are kept here so that LeakSanitizer sees them reachable.
    static KEPT: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
    fn refuse(ops: PortlabDeviceOps, words: &str) {
        let leaked: &'static PortlabDeviceOps = Box::leak(Box::new(ops));
        KEPT.lock().unwrap().push(std::ptr::from_ref(leaked) as usize);
        // SAFETY: the table's pointers are 'static constants of this test.
        let err = unsafe { DeviceType::from_c_table(leaked) }.unwrap_err();
        assert!(err.contains(words), "`{err}` does not say `{words}`");
    }
    let good = *export::ops::<Echo>();
    refuse(PortlabDeviceOps { abi_version: 1, ..good }, "version 1, this host implements version 2");
    refuse(PortlabDeviceOps { set_input: None, ..good }, "entry points missing: set_input");
    refuse(PortlabDeviceOps { state_schema: std::ptr::null(), ..good }, "state_schema is NULL");
    const SHORT: [sys::PortlabStateField; 1] = [schema::field(c"last", 0, 2, 1)];
    const GAP: sys::PortlabStateSchema = schema::schema(1, 4, &SHORT);
    refuse(PortlabDeviceOps { state_schema: &GAP, ..good }, "byte 2 of the fixed part belongs to no field");
    const OVER: [sys::PortlabStateField; 2] = [schema::field(c"a", 0, 4, 1), schema::field(c"b", 2, 2, 1)];
    const OVERLAP: sys::PortlabStateSchema = schema::schema(1, 4, &OVER);
    refuse(PortlabDeviceOps { state_schema: &OVERLAP, ..good }, "fields `a` and `b` overlap");
    const PAST: [sys::PortlabStateField; 1] = [schema::field(c"a", 0, 8, 1)];
    const TOO_LONG: sys::PortlabStateSchema = schema::schema(1, 4, &PAST);
    refuse(PortlabDeviceOps { state_schema: &TOO_LONG, ..good }, "past the fixed part");
    const BAD_DEFAULT: [sys::PortlabPropertyInfo; 1] = [schema::property(c"x", c"", 9, 0, 1)];
    refuse(
        PortlabDeviceOps { properties: BAD_DEFAULT.as_ptr(), num_properties: 1, ..good },
        "property `x` has default 9 outside 0..=1",
    );
    const REC: [sys::PortlabStateField; 2] = [schema::field(c"n", 0, 4, 1), schema::record_field(c"v", 0, 8)];
    const NO_COUNT: sys::PortlabStateSchema = schema::schema_with_records(
        1,
        4,
        schema::RecordLayout { name: c"t", count_field: c"count", size: 8, max: 4 },
        &REC,
    );
    refuse(PortlabDeviceOps { state_schema: &NO_COUNT, ..good }, "record count field `count`");
    // 2^32 - 1 records of 8 bytes: refused before any name is made (it
    // would be tens of gigabytes of them), not an allocation failure.
    const HUGE: sys::PortlabStateSchema = schema::schema_with_records(
        1,
        4,
        schema::RecordLayout { name: c"t", count_field: c"n", size: 8, max: u32::MAX },
        &REC,
    );
    refuse(PortlabDeviceOps { state_schema: &HUGE, ..good }, "over the limit of 1048576");
}

/// The schema checks through the safe constructor (what the `schema` fuzz
/// target drives): a fixed part of 4 GiB - 1 bytes is refused without a
/// byte-sized allocation, and the order of the fields does not matter.
#[test]
fn schemas_from_parts() {
    let field = |name, offset, width, count| schema::Field { name, offset, width, count, in_record: false };
    let huge = schema::Schema::new(1, u32::MAX, vec![field("a", 0, 8, u32::MAX / 8)], None).unwrap_err();
    assert!(huge.contains("over the limit"), "{huge}");
    let ok = schema::Schema::new(1, 6, vec![field("b", 4, 2, 1), field("a", 0, 2, 2)], None).unwrap();
    let values: Vec<(String, u64)> =
        ok.decode(&[1, 0, 2, 0, 3, 0]).unwrap().iter().map(|v| (v.name.to_string(), v.value)).collect();
    assert_eq!(values, [("b".to_string(), 3), ("a[0]".into(), 1), ("a[1]".into(), 2)], "in declaration order");
    let gap = schema::Schema::new(1, 8, vec![field("b", 4, 2, 1), field("a", 0, 2, 2)], None).unwrap_err();
    assert_eq!(gap, "byte 6 of the fixed part belongs to no field");
    let overlap = schema::Schema::new(1, 6, vec![field("b", 2, 4, 1), field("a", 0, 2, 2)], None).unwrap_err();
    assert_eq!(overlap, "fields `a` and `b` overlap");
}

/// Found by the `schema` fuzz target (2026-11-26): an array inside a record
/// (`count` > 1 on a record field) decoded as one value, its first element,
/// and named once, so a state difference in its other elements went
/// unseen. Every element is a value of its own now, as in the fixed part.
#[test]
fn arrays_inside_records_decode_every_element() {
    let fields = vec![
        schema::Field { name: "n", offset: 0, width: 4, count: 1, in_record: false },
        schema::Field { name: "tag", offset: 0, width: 1, count: 1, in_record: true },
        schema::Field { name: "fifo", offset: 1, width: 1, count: 3, in_record: true },
    ];
    let records = schema::Records { name: "t", count_field: "n", size: 4, max: 2 };
    let schema = schema::Schema::new(1, 4, fields, Some(records)).unwrap();
    let payload = [2, 0, 0, 0, 0xa0, 1, 2, 3, 0xb0, 4, 5, 6];
    let values: Vec<(String, usize, u64)> =
        schema.decode(&payload).unwrap().iter().map(|v| (v.name.to_string(), v.offset, v.value)).collect();
    let expected = [
        ("n", 0, 2),
        ("t[0].tag", 4, 0xa0),
        ("t[0].fifo[0]", 5, 1),
        ("t[0].fifo[1]", 6, 2),
        ("t[0].fifo[2]", 7, 3),
        ("t[1].tag", 8, 0xb0),
        ("t[1].fifo[0]", 9, 4),
        ("t[1].fifo[1]", 10, 5),
        ("t[1].fifo[2]", 11, 6),
    ];
    let expected: Vec<(String, usize, u64)> = expected.iter().map(|&(n, o, v)| (n.to_string(), o, v)).collect();
    assert_eq!(values, expected);
    let names: Vec<String> = values.iter().map(|v| v.0.clone()).collect();
    assert_eq!(schema.field_names(2), names);
}

#[test]
fn a_host_panic_is_carried_over_the_c_frames_and_resumed() {
    let result = std::panic::catch_unwind(|| {
        let mut dev = Instance::new(DeviceType::of::<Echo>(), PanickingHost).unwrap();
        let _ = dev.write(0, 4, 1);
    });
    let payload = result.expect_err("the host's panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"host panics in set_irq"));
}

#[cfg(feature = "c-models")]
#[test]
fn c_pl011_table_is_valid() {
    let ty = c_models::pl011();
    assert_eq!(ty.type_name(), "pl011");
    let info = ty.info();
    assert_eq!(info.region_size, u64::from(sys::PL011_REGION_SIZE));
    assert_eq!(info.num_irqs, sys::PL011_NUM_IRQS);
    assert!(info.access_ok(0xFF8, 8));
    assert!(!info.access_ok(0xFFC, 8));
}

/// A device that panics in exactly one operation, chosen by `OP`.
struct PanicOn<const OP: u8>;

const OPS: [&str; 11] = [
    "create",
    "reset",
    "read",
    "write",
    "can_receive",
    "receive",
    "receive_break",
    "timer_expired",
    "save",
    "load",
    "destroy",
];

impl<const OP: u8> PanicOn<OP> {
    fn maybe(op: &str) {
        if OPS[OP as usize] == op {
            panic!("planted panic in {op}");
        }
    }
}

impl<const OP: u8> Drop for PanicOn<OP> {
    fn drop(&mut self) {
        Self::maybe("destroy");
    }
}

const EMPTY_SCHEMA: sys::PortlabStateSchema = schema::schema(1, 0, &[]);

impl<const OP: u8> Device for PanicOn<OP> {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-panic-test",
        region_size: 0x10,
        num_irqs: 1,
        num_timers: 1,
        access_sizes: 4,
        state_device_id: 0x7f02,
        num_inputs: 0,
        properties: &[],
        state_schema: &EMPTY_SCHEMA,
    };
    fn new(_host: &mut impl Host, _properties: &Properties) -> Self {
        Self::maybe("create");
        PanicOn
    }
    fn reset(&mut self, _host: &mut impl Host) {
        Self::maybe("reset");
    }
    fn read(&mut self, _host: &mut impl Host, _offset: u64, _size: u32) -> u64 {
        Self::maybe("read");
        0
    }
    fn write(&mut self, _host: &mut impl Host, _offset: u64, _size: u32, _value: u64) {
        Self::maybe("write");
    }
    fn can_receive(&self) -> u32 {
        Self::maybe("can_receive");
        1
    }
    fn receive(&mut self, _host: &mut impl Host, _byte: u8) -> Result<(), Error> {
        Self::maybe("receive");
        Ok(())
    }
    fn receive_break(&mut self, _host: &mut impl Host) {
        Self::maybe("receive_break");
    }
    fn timer_expired(&mut self, _host: &mut impl Host, _timer: u32) {
        Self::maybe("timer_expired");
    }
    fn save(&self, _host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        Self::maybe("save");
        let w = BlobWriter::new(out, 0x7f02, 1, 0);
        w.finish();
    }
    fn load(&mut self, _host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        Self::maybe("load");
        check_container(blob, 0x7f02, 1, |_| 0).map(|_| ())
    }
}

/// Calls every operation once; returns the results in `OPS` order
/// (without create and destroy).
fn every_op(dev: &mut Instance<Recorder>) -> Vec<Result<(), Error>> {
    // An empty-payload blob of this device, with its CRC.
    let mut good = b"DEVS\x02\x7f\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    crate::migration::reseal(&mut good);
    vec![
        dev.reset(),
        dev.read(0, 4).map(|_| ()),
        dev.write(0, 4, 1),
        dev.can_receive().map(|_| ()),
        dev.receive(1),
        dev.receive_break(),
        dev.timer_expired(0),
        dev.save().map(|_| ()),
        dev.load(&good),
    ]
}

fn check_panic_in<const OP: u8>() {
    let op = OPS[OP as usize];
    let created = Instance::new(DeviceType::of::<PanicOn<OP>>(), Recorder::default());
    if op == "create" {
        assert_eq!(created.err(), Some(Error::Poisoned), "a panic in create is an error, not an instance");
        return;
    }
    let mut dev = created.unwrap();
    let results = every_op(&mut dev);
    if op == "destroy" {
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        drop(dev); // the panic in Drop is caught in destroy
        return;
    }
    let at = OPS.iter().position(|o| *o == op).unwrap() - 1;
    for (i, r) in results.iter().enumerate() {
        if i < at {
            assert!(r.is_ok(), "{op}: the calls before the panic work: {results:?}");
        } else {
            assert_eq!(*r, Err(Error::Poisoned), "{op}: call {} after the panic is refused", OPS[i + 1]);
        }
    }
    // Still refused later, and the instance can be destroyed.
    assert_eq!(dev.read(0, 4), Err(Error::Poisoned));
    drop(dev);
}

#[test]
fn a_panic_in_any_operation_is_an_error_code_and_poisons_the_instance() {
    check_panic_in::<0>();
    check_panic_in::<1>();
    check_panic_in::<2>();
    check_panic_in::<3>();
    check_panic_in::<4>();
    check_panic_in::<5>();
    check_panic_in::<6>();
    check_panic_in::<7>();
    check_panic_in::<8>();
    check_panic_in::<9>();
    check_panic_in::<10>();
    // The process is still here, and other instances are unaffected.
    let mut fresh = Instance::new(DeviceType::of::<Echo>(), Recorder::default()).unwrap();
    assert_eq!(fresh.read(0, 4), Ok(0));
}

/// A QEMU section with a count and the array it counts: a count above the
/// most QEMU accepts is reported at the count's own bytes.
#[test]
fn a_qemu_count_out_of_range_is_reported_at_the_count() {
    use crate::qemu::{QemuItem, QemuLayout, QemuType, field};
    static ELEMENT: [crate::qemu::QemuField; 1] = [field("v", QemuType::U32)];
    static ITEMS: [QemuItem; 3] = [
        QemuItem::Field(field("before", QemuType::U32)),
        QemuItem::Field(field("n", QemuType::U8)),
        QemuItem::StructArray { name: "t", count_field: "n", max: 2, fields: &ELEMENT },
    ];
    let layout = QemuLayout { name: "counted", version: 1, min_version: 1, items: &ITEMS, subsections: &[] };
    // `before` (4 bytes), then n = 2 and two elements: decodes.
    let ok = [0, 0, 0, 9, 2, 0, 0, 0, 1, 0, 0, 0, 2];
    let (state, len) = layout.decode(1, &ok).unwrap();
    assert_eq!(len, ok.len());
    assert_eq!(state.bits("t[1].v"), Ok(2));
    // n = 3: the error is at byte 4, where n is, not byte 5, where the
    // array would start.
    let e = layout.decode(1, &[0, 0, 0, 9, 3, 0, 0, 0, 1]).unwrap_err();
    assert_eq!((e.offset, e.message.as_str()), (4, "`n` = 3, above the most QEMU accepts (2)"));
}
