//! The HPET as QEMU 10.0 migrates it (hpet.md section 12.1): section
//! `hpet` version 2, the comparator array `timer[num_timers_save]`, and
//! subsections `hpet/rtc_irq_level` and `hpet/offset`; and the mapping to
//! and from the project payload of section 12.2. Read by `portlab qemu`
//! through the registry entry; nothing here runs in the device.
//!
//! The time fields: QEMU saves each comparator's pending expiry as the
//! absolute virtual-clock time in ns (-1 when none), which is the
//! project's `deadline` with `armed`; the counter is TICKS() at save time
//! and the offset (`hpet/offset`) ties it to the virtual clock, the
//! stream's `timer` section. A state imported from a stream is therefore
//! only meaningful on a board whose clock reads the save's virtual time.

use portlab_device::qemu::{
    PortlabValues, QemuContext, QemuDevice, QemuField, QemuItem, QemuLayout, QemuPlacement, QemuState, QemuSubsection,
    QemuType, QemuValue, field,
};
use portlab_device::sys;

const ENABLE: u64 = sys::HPET_CFG_ENABLE as u64;

/// One `hpet_timer` (vmstate version 1).
const TIMER_FIELDS: &[QemuField] = &[
    // The comparator's index, loaded unchecked: not modelled, kept.
    field("tn", QemuType::U8),
    field("config", QemuType::U64),
    field("cmp", QemuType::U64),
    field("fsb", QemuType::U64),
    field("period", QemuType::U64),
    field("wrap_flag", QemuType::U8),
    field("qemu_timer", QemuType::Timer),
];

/// QEMU 10.0's `hpet` section. Its `minimum_version_id` is 1, but a
/// version 1 stream has no `num_timers_save`, so QEMU 10.0's "num_timers
/// must match" check always fails it (hpet.md 12.1): 2 is the only
/// version it loads.
pub const LAYOUT: QemuLayout = QemuLayout {
    name: "hpet",
    version: 2,
    min_version: 2,
    items: &[
        QemuItem::Field(field("config", QemuType::U64)),
        QemuItem::Field(field("isr", QemuType::U64)),
        QemuItem::Field(field("hpet_counter", QemuType::U64)),
        QemuItem::Field(field("num_timers_save", QemuType::U8)),
        QemuItem::StructArray {
            name: "timer",
            count_field: "num_timers_save",
            max: sys::HPET_MAX_TIMERS,
            fields: TIMER_FIELDS,
        },
    ],
    subsections: &[
        QemuSubsection {
            name: "hpet/rtc_irq_level",
            version: 1,
            fields: &[QemuItem::Field(field("rtc_irq_level", QemuType::U8))],
            subsections: &[],
        },
        QemuSubsection {
            name: "hpet/offset",
            version: 1,
            fields: &[QemuItem::Field(field("hpet_offset", QemuType::U64))],
            subsections: &[],
        },
    ],
};

const COPIES: &[(&str, &str)] = &[
    ("config", "config"),
    ("isr", "isr"),
    ("hpet_counter", "counter"),
    ("num_timers_save", "num_timers"),
    ("timer[{i}].config", "timer[{i}].config"),
    ("timer[{i}].cmp", "timer[{i}].cmp"),
    ("timer[{i}].fsb", "timer[{i}].fsb"),
    ("timer[{i}].period", "timer[{i}].period"),
    ("timer[{i}].wrap_flag", "timer[{i}].wrap_flag"),
];

/// The creation properties a section implies: QEMU refuses a stream whose
/// timer count differs from the destination's, and the comparators'
/// read-only capability bits carry `msi` and `hpet-intcap`.
fn properties(state: &QemuState) -> Result<Vec<(&'static str, u64)>, String> {
    let n = state.bits("num_timers_save")?;
    let mut props = vec![("timers", n)];
    if n > 0 {
        let config = state.bits("timer[0].config")?;
        props.push(("msi", u64::from(config & u64::from(sys::HPET_TN_FSB_CAP) != 0)));
        props.push(("hpet-intcap", config >> 32));
    }
    // A running HPET without `hpet/offset` came from a source with
    // `hpet-offset-saved` off: its destination recomputes the offset from
    // the saved counter, and so does portlab's device with that property.
    if state.bits("config")? & ENABLE != 0 && !state.has_subsection("hpet/offset") {
        props.push(("hpet-offset-saved", 0));
    }
    Ok(props)
}

/// QEMU's load: the subsections' values when sent, else 0 (a running
/// HPET's offset is then recomputed from the saved counter at load, as
/// `properties` asks); each pending expiry re-armed at exactly its saved
/// time.
fn import(state: &QemuState, _ctx: &QemuContext, values: &mut PortlabValues) -> Result<(), String> {
    let sub = |name: &str, field: &str| -> Result<u64, String> {
        if state.has_subsection(name) { state.bits(&format!("{name}:{field}")) } else { Ok(0) }
    };
    values.insert("rtc_irq_level".into(), sub("hpet/rtc_irq_level", "rtc_irq_level")?);
    values.insert("offset".into(), sub("hpet/offset", "hpet_offset")?);
    let n = state.bits("num_timers_save")?;
    for i in 0..n {
        let expiry = match state.get(&format!("timer[{i}].qemu_timer")) {
            Some(QemuValue::Int(v)) => *v,
            _ => return Err(format!("no field `timer[{i}].qemu_timer`")),
        };
        let (armed, deadline) = match expiry {
            -1 => (0, 0),
            d if d >= 0 => (1, d as u64),
            d => return Err(format!("timer[{i}].qemu_timer = {d}: not an expiry time and not -1 (none)")),
        };
        values.insert(format!("timer[{i}].armed"), armed);
        values.insert(format!("timer[{i}].deadline"), deadline);
    }
    Ok(())
}

/// QEMU's `pre_save` and its subsections' `needed` rules: `rtc_irq_level`
/// goes out when it is set, the offset while the HPET is enabled (and the
/// instance's `hpet-offset-saved` is on).
fn export(values: &PortlabValues, ctx: &QemuContext, state: &mut QemuState) -> Result<(), String> {
    let get = |name: &str| values.get(name).copied().ok_or_else(|| format!("the payload has no `{name}`"));
    let set_sub = |state: &mut QemuState, sub: &str, field: &str, send: bool, value: u64| {
        let name = format!("{sub}:{field}");
        state.subsections.retain(|s| s != sub);
        state.values.retain(|(n, _)| *n != name);
        if send {
            state.subsections.push(sub.to_string());
            state.values.push((name, QemuValue::Uint(value)));
        }
    };
    let rtc_irq_level = get("rtc_irq_level")?;
    set_sub(state, "hpet/rtc_irq_level", "rtc_irq_level", rtc_irq_level != 0, rtc_irq_level);
    let offset_saved = ctx.properties.get("hpet-offset-saved").copied().unwrap_or(1) != 0;
    set_sub(state, "hpet/offset", "hpet_offset", get("config")? & ENABLE != 0 && offset_saved, get("offset")?);
    // Subsections go out in the layout's order.
    state.subsections.sort_by_key(|s| LAYOUT.subsections.iter().position(|l| l.name == s));
    for i in 0..get("num_timers")? {
        let expiry = if get(&format!("timer[{i}].armed"))? != 0 {
            i64::try_from(get(&format!("timer[{i}].deadline"))?)
                .map_err(|_| format!("timer[{i}].deadline beyond 2^63"))?
        } else {
            -1
        };
        let slot = state
            .values
            .iter_mut()
            .find(|(n, _)| *n == format!("timer[{i}].qemu_timer"))
            .ok_or_else(|| format!("no field `timer[{i}].qemu_timer`"))?;
        slot.1 = QemuValue::Int(expiry);
    }
    Ok(())
}

/// An HPET of `count` comparators right after creation: every value 0,
/// each `tn` its index, no expiry pending, no subsection.
fn defaults(count: u32) -> QemuState {
    let values = LAYOUT
        .field_names(count)
        .into_iter()
        .map(|name| {
            let value = if name == "num_timers_save" {
                QemuValue::Uint(u64::from(count))
            } else if name.ends_with(".qemu_timer") {
                QemuValue::Int(-1)
            } else if let Some(index) = name.strip_prefix("timer[").filter(|_| name.ends_with("].tn")) {
                QemuValue::Uint(index.trim_end_matches("].tn").parse().unwrap_or(0))
            } else {
                QemuValue::Uint(0)
            };
            (name, value)
        })
        .collect();
    QemuState { version: LAYOUT.version, values, subsections: Vec::new() }
}

/// The HPET's QEMU 10.0 migration, for the registry.
pub static QEMU: QemuDevice = QemuDevice {
    layout: &LAYOUT,
    machines: &[QemuPlacement {
        machine: "pc-i440fx-10.0",
        section_id: 21,
        base: 0xfed0_0000,
        // The i440FX machines route the HPET only to IRQ 2.
        properties: &[("hpet-intcap", 4)],
        serial: false,
    }],
    qemu_properties: &[("timers", "timers"), ("msi", "msi"), ("hpet-offset-saved", "hpet-offset-saved")],
    copies: COPIES,
    properties,
    import,
    export,
    defaults,
};
