//! For every registered device with both implementations: the two describe
//! themselves identically (interface v2: properties, input lines, state
//! schema, the rest of the ops table's data), and return the same status
//! from every entry point, including the ones the device does not support.
//! Generic over the registry: a new device is covered by registering it.

use portlab_board::Registry;
use portlab_device::testing::Recorder;
use portlab_device::{DeviceType, Error, Instance};

fn pairs() -> Vec<(&'static str, DeviceType, DeviceType)> {
    Registry::builtin().kinds().iter().filter_map(|k| Some((k.name, k.c?, k.rust?))).collect()
}

#[test]
fn c_and_rust_declare_the_same_schema_properties_and_outside() {
    let pairs = pairs();
    // A stage 3 build has no C models, hence no pairs to compare.
    assert_eq!(pairs.is_empty(), !cfg!(feature = "c-models"), "every device has both implementations where C is built");
    for (name, c, rust) in pairs {
        let (dc, dr) = (c.description(), rust.description());
        assert_eq!(dc.schema, dr.schema, "{name}: state schemas differ");
        assert_eq!(dc.properties, dr.properties, "{name}: properties differ");
        assert_eq!(dc.num_inputs, dr.num_inputs, "{name}: input lines differ");
        let (ic, ir) = (c.info(), rust.info());
        assert_eq!(
            (ic.region_size, ic.num_irqs, ic.num_timers, ic.access_sizes, ic.state_device_id),
            (ir.region_size, ir.num_irqs, ir.num_timers, ir.access_sizes, ir.state_device_id),
            "{name}: the ops tables describe different devices"
        );
    }
}

/// Every entry point with arguments a device may or may not support, the
/// statuses in call order.
fn statuses(device_type: DeviceType) -> Vec<(String, Result<(), Error>)> {
    let mut dev = Instance::new(device_type, Recorder { epoch_s: 1_700_000_000, ..Recorder::default() }).unwrap();
    let info = device_type.info();
    let mut out = Vec::new();
    let mut record = |what: String, r: Result<(), Error>| out.push((what, r));
    record("reset".into(), dev.reset());
    for size in [1u32, 2, 4, 8, 3] {
        for offset in [0u64, 2, 4, 0x20, info.region_size - 4, info.region_size] {
            record(format!("read 0x{offset:x} {size}"), dev.read(offset, size).map(|_| ()));
        }
    }
    record("can_receive".into(), dev.can_receive().map(|_| ()));
    record("receive".into(), dev.receive(b'a'));
    record("receive_break".into(), dev.receive_break());
    for line in [0, 1, info.num_inputs, 99] {
        record(format!("set_input {line}"), dev.set_input(line, false));
    }
    for timer in [info.num_timers, 99] {
        record(format!("timer_expired {timer}"), dev.timer_expired(timer));
    }
    let blob = dev.save().unwrap();
    record("load own blob".into(), dev.load(&blob));
    record("load empty".into(), dev.load(&[]));
    out
}

#[test]
fn c_and_rust_return_the_same_status_from_every_entry_point() {
    for (name, c, rust) in pairs() {
        let (sc, sr) = (statuses(c), statuses(rust));
        for ((what, a), (_, b)) in sc.iter().zip(&sr) {
            assert_eq!(a, b, "{name}: `{what}` returns {a:?} from C but {b:?} from Rust");
        }
    }
}

#[test]
fn bad_properties_fail_creation_naming_the_property() {
    for kind in Registry::builtin().kinds() {
        for device_type in [kind.c, kind.rust].into_iter().flatten() {
            let bad = [("no-such-property".to_string(), 1)];
            let mut recorder = Recorder::default();
            let result = Instance::with_properties(device_type, std::mem::take(&mut recorder), &bad);
            assert_eq!(result.err(), Some(Error::Invalid), "{}", device_type.type_name());
            let message = device_type.description().resolve_properties(&bad).unwrap_err();
            assert!(message.contains("no-such-property"), "{message}");
            for p in &device_type.description().properties {
                if p.max < u64::MAX {
                    let over = [(p.name.to_string(), p.max + 1)];
                    assert_eq!(
                        Instance::with_properties(device_type, Recorder::default(), &over).err(),
                        Some(Error::Invalid),
                        "{} {}",
                        device_type.type_name(),
                        p.name
                    );
                }
            }
        }
    }
}

/// `Schema::field_names` lists exactly the names `decode` gives a saved
/// blob, records included: both come from the names a schema makes once.
#[test]
fn field_names_are_the_names_decode_gives() {
    for kind in Registry::builtin().kinds() {
        let Some(device_type) = kind.rust.or(kind.c) else { continue };
        let mut dev = Instance::new(device_type, Recorder::default()).unwrap();
        let blob = dev.save().unwrap();
        let schema = &device_type.description().schema;
        let payload = portlab_device::migration::payload(&blob).unwrap();
        let decoded: Vec<String> = schema.decode(payload).unwrap().iter().map(|f| f.name.to_string()).collect();
        let count = schema.record_count(payload).unwrap();
        assert_eq!(schema.field_names(count), decoded, "{}", kind.name);
    }
}
