//! The lockstep runner finds differences between two implementations:
//! in events, in outcomes, and in state that no event shows yet.

use portlab_board::{BoardConfig, DeviceKind, Divergence, Implementation, Lockstep, Registry, SlotConfig, parse_line};
use portlab_device::migration::{BlobWriter, SaveBuffer, check_container};
use portlab_device::{Device, DeviceInfo, DeviceType, Host, LoadError};

/// A register at 0 that a write stores (masked by `MASK`) and a read
/// returns; offset 4 echoes writes on the serial line.
struct Reg<const MASK: u32> {
    value: u32,
}

const REG_FIELDS: [portlab_device::sys::PortlabStateField; 1] = [portlab_device::schema::field(c"value", 0, 4, 1)];
const REG_SCHEMA: portlab_device::sys::PortlabStateSchema = portlab_device::schema::schema(1, 4, &REG_FIELDS);

impl<const MASK: u32> Device for Reg<MASK> {
    const INFO: DeviceInfo = DeviceInfo {
        type_name: c"x-reg-test",
        region_size: 0x10,
        num_irqs: 1,
        num_timers: 0,
        // The "rust" side also accepts 8-byte accesses.
        access_sizes: if MASK == 0xffff { 4 } else { 4 | 8 },
        state_device_id: 0x7f20,
        num_inputs: 0,
        properties: &[],
        state_schema: &REG_SCHEMA,
    };
    fn new(_host: &mut impl Host, _properties: &portlab_device::Properties) -> Self {
        Reg { value: 0 }
    }
    fn reset(&mut self, _host: &mut impl Host) {}
    fn read(&mut self, _host: &mut impl Host, _offset: u64, _size: u32) -> u64 {
        u64::from(self.value & 0xff)
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, _size: u32, value: u64) {
        if offset == 4 {
            host.serial_send(&[value as u8]);
        } else {
            self.value = value as u32 & MASK;
        }
    }
    fn save(&self, _host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        let mut w = BlobWriter::new(out, 0x7f20, 1, 4);
        w.u32(self.value);
        w.finish();
    }
    fn load(&mut self, _host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        self.value = check_container(blob, 0x7f20, 1, |_| 4)?.u32(0);
        Ok(())
    }
}

/// A test device kind `name` with these two implementations and nothing
/// else.
fn test_kind(name: &'static str, c: DeviceType, rust: DeviceType) -> DeviceKind {
    DeviceKind {
        name,
        description: "test device",
        c: Some(c),
        rust: Some(rust),
        shadow: None,
        guest: None,
        edge_cases: None,
        workloads: &[],
        saved_after_load: None,
        qemu: None,
    }
}

fn lockstep(check_state: bool) -> Lockstep {
    let mut registry = Registry::empty();
    registry.register(test_kind("reg", DeviceType::of::<Reg<0xffff>>(), DeviceType::of::<Reg<0xffffff>>()));
    let config = |implementation| BoardConfig {
        slots: vec![SlotConfig {
            name: "reg".into(),
            kind: "reg".into(),
            base: 0,
            implementation,
            properties: Vec::new(),
        }],
        epoch: 0,
    };
    Lockstep::new(&registry, config(Implementation::C), config(Implementation::Rust), check_state)
}

fn cmd(line: &str) -> portlab_board::Command {
    parse_line(line).unwrap().unwrap()
}

#[test]
fn agreeing_steps_report_their_events() {
    let mut l = lockstep(true);
    let report = l.execute(&cmd("write reg 0x4 0x41")).unwrap();
    assert_eq!(report.events, 1);
    assert_eq!(l.event_lines(), vec!["tx reg 0x41"]);
    let report = l.execute(&cmd("read reg 0x0 = 0x0")).unwrap();
    assert_eq!(report.events, 1);
    assert_eq!(l.event_lines(), vec!["read reg 0x000 4 0x00000000"]);
    assert_eq!(report.error, None);
}

#[test]
fn a_hidden_state_difference_shows_at_the_step_that_made_it() {
    let mut l = lockstep(true);
    // Bits 16-23 differ in state, but reads only show bits 0-7.
    let d = l.execute(&cmd("write reg 0x0 0x10000")).unwrap_err();
    match d {
        Divergence::State { dev, fields } => {
            assert_eq!(dev, "reg");
            // Named from the device's state schema.
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].name, "value");
            assert_eq!((fields[0].a, fields[0].b), (0, 0x10000));
        }
        other => panic!("expected a state divergence, got {other}"),
    }
}

#[test]
fn without_state_checks_only_events_count() {
    let mut l = lockstep(false);
    l.execute(&cmd("write reg 0x0 0x10000")).unwrap();
    l.execute(&cmd("read reg 0x0")).unwrap();
}

#[test]
fn identical_errors_are_reported_not_divergent() {
    let mut l = lockstep(true);
    let report = l.execute(&cmd("read reg 0x2")).unwrap();
    assert!(matches!(report.error, Some(portlab_board::StepError::Invalid(_))), "{report:?}");
    let report = l.execute(&cmd("read reg 0x0 = 0x1")).unwrap();
    assert!(matches!(report.error, Some(portlab_board::StepError::Expectation { .. })), "{report:?}");
}

#[test]
fn outcome_and_event_differences_are_divergences() {
    let mut l = lockstep(true);
    let d = l.execute(&cmd("write reg 0x8 0x1 8")).unwrap_err();
    match d {
        Divergence::Outcome { a: Some(a), b: None } => assert!(a.contains("does not accept 8-byte"), "{a}"),
        other => panic!("expected an outcome divergence, got {other}"),
    }
    let mut l = lockstep(true);
    let d = l.execute(&cmd("read reg 0x8 8")).unwrap_err();
    assert_eq!(d, Divergence::Event { index: 0, a: None, b: Some("read reg 0x008 8 0x0000000000000000".into()) });
}

#[test]
fn registered_differences_are_accepted_and_nothing_else() {
    let register = "
        # test register
        [difference]
        id = wide-value
        device = reg
        field = payload
        read = 0x0
        reason = the second side keeps 24 bits on purpose
        trace = tests/equivalence/wide-value.trace
    ";
    let allowances = portlab_board::parse_allowances(register).unwrap();
    assert_eq!(allowances.len(), 1);
    assert_eq!(allowances[0].read_offset, Some(0));
    // State differences are allowed by the field's schema name.
    let mut allow = allowances[0].clone();
    allow.field = Some("value".into());
    let mut l = lockstep(true).with_allowances(vec![allow]);
    let report = l.execute(&cmd("write reg 0x0 0x10000")).unwrap();
    assert_eq!(report.accepted, vec!["wide-value"]);
    // A read of the allowed register may differ...
    let report = l.execute(&cmd("write reg 0x0 0x1ff")).unwrap();
    assert!(report.accepted.is_empty(), "the values agree again: nothing to accept");
    // ...but a difference anywhere else is still a divergence.
    let d = l.execute(&cmd("read reg 0x0 8"));
    assert!(d.is_err(), "an 8-byte read (outcome) difference is not registered");
}

#[test]
fn the_register_parser_rejects_incomplete_entries() {
    for bad in [
        "id = x",
        "[difference]\nid = x\ndevice = pl011\nreason = r\ntrace = t",
        "[difference]\nid = x\ndevice = pl011\nfield = ibrd\ntrace = t",
        "[difference]\nid = x\ncolour = blue",
        "[difference]\nread = zz",
    ] {
        assert!(portlab_board::parse_allowances(bad).is_err(), "{bad}");
    }
    let good = "[difference]\nid = x\ndevice = pl011\nfield = ibrd\nreason = r\ntrace = t";
    assert_eq!(portlab_board::parse_allowances(good).unwrap()[0].field.as_deref(), Some("ibrd"));
    assert_eq!(portlab_board::parse_allowances("# empty\\n").unwrap(), vec![]);
}

/// Saves of [`SaveCounter`], the one device type of one test.
static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// [`Reg`] that counts its saves.
struct SaveCounter(Reg<0xffff>);

impl Device for SaveCounter {
    const INFO: DeviceInfo = Reg::<0xffff>::INFO;
    fn new(host: &mut impl Host, properties: &portlab_device::Properties) -> Self {
        SaveCounter(Reg::new(host, properties))
    }
    fn reset(&mut self, host: &mut impl Host) {
        self.0.reset(host);
    }
    fn read(&mut self, host: &mut impl Host, offset: u64, size: u32) -> u64 {
        self.0.read(host, offset, size)
    }
    fn write(&mut self, host: &mut impl Host, offset: u64, size: u32, value: u64) {
        self.0.write(host, offset, size, value);
    }
    fn save(&self, host: &mut impl Host, out: &mut SaveBuffer<'_>) {
        SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.save(host, out);
    }
    fn load(&mut self, host: &mut impl Host, blob: &[u8]) -> Result<(), LoadError> {
        self.0.load(host, blob)
    }
}

/// After a step, the devices that ran are saved and compared on both
/// sides, the ones that did not are not saved again (their state cannot
/// have moved); `compare_state` compares them all.
#[test]
fn a_step_compares_the_devices_it_ran() {
    let mut registry = Registry::empty();
    registry.register(test_kind("counted", DeviceType::of::<SaveCounter>(), DeviceType::of::<SaveCounter>()));
    let slot = |name: &str, base, implementation| SlotConfig {
        name: name.into(),
        kind: "counted".into(),
        base,
        implementation,
        properties: Vec::new(),
    };
    let config = |implementation| BoardConfig {
        slots: vec![slot("first", 0, implementation), slot("second", 0x1000, implementation)],
        epoch: 0,
    };
    let mut l = Lockstep::new(&registry, config(Implementation::C), config(Implementation::Rust), true);
    let saves = || SAVES.load(std::sync::atomic::Ordering::Relaxed);
    // The first step compares every device: 2 devices on 2 sides (a
    // first save into an empty buffer may take two calls, to size it).
    l.execute(&cmd("write first 0x0 0x5")).unwrap();
    let first = saves();
    assert!(first >= 4, "{first}");
    // Then only the device the step ran, on both sides.
    l.execute(&cmd("read second 0x0 = 0x0")).unwrap();
    assert_eq!(saves() - first, 2);
    l.execute(&cmd("write first 0x0 0x6")).unwrap();
    assert_eq!(saves() - first, 4);
    let now = l.a().board_mut().unwrap().save(0).unwrap();
    assert_eq!(l.compared_state_a(0), Some(now.as_slice()));
    let before = saves();
    // An advance with no timer armed runs neither.
    l.execute(&cmd("advance 100")).unwrap();
    assert_eq!(saves(), before);
    // A whole comparison saves everything.
    l.compare_state().unwrap();
    assert_eq!(saves() - before, 4);
}
