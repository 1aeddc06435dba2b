//! The PL031 as QEMU 10.0 migrates it (pl031.md section 9.1): section
//! `pl031` version 1 with subsection `pl031/tick-offset`, and the mapping
//! to and from the project payload of section 9.2. Read by `portlab qemu`
//! through the registry entry; nothing here runs in the device.
//!
//! The time field: QEMU keeps two offsets, one against its "rtc clock"
//! and one against the virtual clock. The project's model (and QEMU run
//! with `-rtc clock=vm`) reads the RTC from the virtual clock, so the two
//! are equal: the main section's `tick_offset_vmstate` is the true offset,
//! and the subsection repeats it. An alarm's deadline is never saved: the
//! load re-arms it from MR and the counter at the load's virtual time.

use portlab_device::qemu::{
    PortlabValues, QemuContext, QemuDevice, QemuItem, QemuLayout, QemuPlacement, QemuState, QemuSubsection, QemuType,
    QemuValue, field,
};

/// QEMU 10.0's `pl031` section.
pub const LAYOUT: QemuLayout = QemuLayout {
    name: "pl031",
    version: 1,
    min_version: 1,
    items: &[
        QemuItem::Field(field("tick_offset_vmstate", QemuType::U32)),
        QemuItem::Field(field("mr", QemuType::U32)),
        QemuItem::Field(field("lr", QemuType::U32)),
        // UARTCR is read as 1 and never stored: always 0 in the stream.
        QemuItem::Field(field("cr", QemuType::U32)),
        QemuItem::Field(field("im", QemuType::U32)),
        QemuItem::Field(field("is", QemuType::U32)),
    ],
    subsections: &[QemuSubsection {
        name: "pl031/tick-offset",
        version: 1,
        fields: &[QemuItem::Field(field("tick_offset", QemuType::U32))],
        subsections: &[],
    }],
};

const COPIES: &[(&str, &str)] = &[("mr", "mr"), ("lr", "lr"), ("im", "im"), ("is", "is")];

/// QEMU's load: the subsection's offset when it came, else the main
/// section's converted back (the same number when the RTC reads the
/// virtual clock).
fn import(state: &QemuState, _ctx: &QemuContext, values: &mut PortlabValues) -> Result<(), String> {
    let tick_offset = if state.has_subsection("pl031/tick-offset") {
        state.bits("pl031/tick-offset:tick_offset")?
    } else {
        state.bits("tick_offset_vmstate")?
    };
    values.insert("tick_offset".into(), tick_offset);
    Ok(())
}

/// QEMU's `pre_save` with the RTC on the virtual clock: both offsets are
/// the device's `tick_offset`. The subsection goes out when the source
/// sent it (QEMU 10.0's default, `migrate-tick-offset` on).
fn export(values: &PortlabValues, _ctx: &QemuContext, state: &mut QemuState) -> Result<(), String> {
    let tick_offset = *values.get("tick_offset").ok_or("the payload has no `tick_offset`")?;
    state.set("tick_offset_vmstate", tick_offset)?;
    if state.has_subsection("pl031/tick-offset") {
        state.set("pl031/tick-offset:tick_offset", tick_offset)?;
    }
    Ok(())
}

fn defaults(_count: u32) -> QemuState {
    let mut values: Vec<(String, QemuValue)> =
        LAYOUT.field_names(0).into_iter().map(|n| (n, QemuValue::Uint(0))).collect();
    values.push(("pl031/tick-offset:tick_offset".into(), QemuValue::Uint(0)));
    QemuState { version: LAYOUT.version, values, subsections: vec!["pl031/tick-offset".into()] }
}

/// The PL031's QEMU 10.0 migration, for the registry.
pub static QEMU: QemuDevice = QemuDevice {
    layout: &LAYOUT,
    machines: &[QemuPlacement {
        machine: "virt-10.0",
        section_id: 9,
        base: 0x0901_0000,
        properties: &[],
        serial: false,
    }],
    qemu_properties: &[],
    copies: COPIES,
    properties: |_| Ok(Vec::new()),
    import,
    export,
    defaults,
};
