//! The PL011 as QEMU 10.0 migrates it (pl011.md section 12.1): section
//! `pl011` version 2 with subsection `pl011/clock`, and the mapping to and
//! from the project payload of section 12.2. Read by `portlab qemu`
//! through the registry entry; nothing here runs in the device.

use portlab_device::qemu::{
    PortlabValues, QemuContext, QemuDevice, QemuItem, QemuLayout, QemuPlacement, QemuState, QemuSubsection, QemuType,
    QemuValue, array, field,
};
use portlab_device::sys;

const FIFO_SLOTS: u32 = sys::PL011_FIFO_SLOTS;

/// `clock` (vmstate version 0) of the UARTCLK input: its period in units
/// of 2^-32 ns, and the optional `clock/muldiv` subsection.
const CLOCK_MULDIV: QemuSubsection = QemuSubsection {
    name: "clock/muldiv",
    version: 1,
    fields: &[
        QemuItem::Field(field("clk.multiplier", QemuType::U32)),
        QemuItem::Field(field("clk.divider", QemuType::U32)),
    ],
    subsections: &[],
};

/// QEMU 10.0's `pl011` section.
pub const LAYOUT: QemuLayout = QemuLayout {
    name: "pl011",
    version: 2,
    min_version: 2,
    items: &[
        // The former `readbuff`: four bytes sent as zeros, ignored on load.
        QemuItem::Field(field("unused", QemuType::Unused(4))),
        QemuItem::Field(field("flags", QemuType::U32)),
        QemuItem::Field(field("lcr", QemuType::U32)),
        QemuItem::Field(field("rsr", QemuType::U32)),
        QemuItem::Field(field("cr", QemuType::U32)),
        QemuItem::Field(field("dmacr", QemuType::U32)),
        QemuItem::Field(field("int_enabled", QemuType::U32)),
        QemuItem::Field(field("int_level", QemuType::U32)),
        QemuItem::Field(array("read_fifo", QemuType::U32, FIFO_SLOTS)),
        QemuItem::Field(field("ilpr", QemuType::U32)),
        QemuItem::Field(field("ibrd", QemuType::U32)),
        QemuItem::Field(field("fbrd", QemuType::U32)),
        QemuItem::Field(field("ifl", QemuType::U32)),
        QemuItem::Field(field("read_pos", QemuType::I32)),
        QemuItem::Field(field("read_count", QemuType::I32)),
        QemuItem::Field(field("read_trigger", QemuType::I32)),
    ],
    subsections: &[QemuSubsection {
        name: "pl011/clock",
        version: 1,
        fields: &[QemuItem::Field(field("clk.period", QemuType::U64))],
        subsections: &[CLOCK_MULDIV],
    }],
};

/// The values QEMU and the project payload share, copied as they are.
const COPIES: &[(&str, &str)] = &[
    ("flags", "flags"),
    ("lcr", "lcr"),
    ("rsr", "rsr"),
    ("cr", "cr"),
    ("dmacr", "dmacr"),
    ("int_enabled", "int_enabled"),
    ("int_level", "int_level"),
    ("read_fifo[0]", "read_fifo[0]"),
    ("read_fifo[1]", "read_fifo[1]"),
    ("read_fifo[2]", "read_fifo[2]"),
    ("read_fifo[3]", "read_fifo[3]"),
    ("read_fifo[4]", "read_fifo[4]"),
    ("read_fifo[5]", "read_fifo[5]"),
    ("read_fifo[6]", "read_fifo[6]"),
    ("read_fifo[7]", "read_fifo[7]"),
    ("read_fifo[8]", "read_fifo[8]"),
    ("read_fifo[9]", "read_fifo[9]"),
    ("read_fifo[10]", "read_fifo[10]"),
    ("read_fifo[11]", "read_fifo[11]"),
    ("read_fifo[12]", "read_fifo[12]"),
    ("read_fifo[13]", "read_fifo[13]"),
    ("read_fifo[14]", "read_fifo[14]"),
    ("read_fifo[15]", "read_fifo[15]"),
    ("ilpr", "ilpr"),
    ("ifl", "ifl"),
];
const _: () = assert!(FIFO_SLOTS == 16, "COPIES lists 16 FIFO slots");

/// QEMU's `post_load` (section 12.1): refuse a FIFO position or count out
/// of the ring, move a non-FIFO character to slot 0, mask the baud
/// divisors. `read_trigger` is not modelled (it is always 1).
fn import(state: &QemuState, _ctx: &QemuContext, values: &mut PortlabValues) -> Result<(), String> {
    let signed = |name: &str| match state.get(name) {
        Some(QemuValue::Int(v)) => Ok(*v),
        _ => Err(format!("no field `{name}`")),
    };
    let (read_pos, read_count) = (signed("read_pos")?, signed("read_count")?);
    if !(0..i64::from(FIFO_SLOTS)).contains(&read_pos) || !(0..=i64::from(FIFO_SLOTS)).contains(&read_count) {
        return Err(format!(
            "read_pos {read_pos}, read_count {read_count}: QEMU 10.0 refuses the load (the ring has {FIFO_SLOTS} slots)"
        ));
    }
    let fifo_on = state.bits("lcr")? & u64::from(sys::PL011_LCR_FEN) != 0;
    let mut pos = read_pos as u64;
    if !fifo_on && read_count > 0 && pos > 0 {
        let moved = state.bits(&format!("read_fifo[{pos}]"))?;
        values.insert("read_fifo[0]".into(), moved);
        pos = 0;
    }
    values.insert("read_pos".into(), pos);
    values.insert("read_count".into(), read_count as u64);
    values.insert("ibrd".into(), state.bits("ibrd")? & u64::from(sys::PL011_IBRD_MASK));
    values.insert("fbrd".into(), state.bits("fbrd")? & u64::from(sys::PL011_FBRD_MASK));
    Ok(())
}

/// Saving has no `pre_save`: the values go out as they are.
fn export(values: &PortlabValues, _ctx: &QemuContext, state: &mut QemuState) -> Result<(), String> {
    for name in ["ibrd", "fbrd", "read_pos", "read_count"] {
        state.set(name, *values.get(name).ok_or_else(|| format!("the payload has no `{name}`"))?)?;
    }
    Ok(())
}

/// A PL011 right after creation on QEMU 10.0's `virt`: the clock
/// subsection sent (`migrate-clk` is on from machine type 5.2), its period
/// 0 (the board's UARTCLK is not connected to a clock source).
fn defaults(_count: u32) -> QemuState {
    let mut values: Vec<(String, QemuValue)> =
        LAYOUT.field_names(0).into_iter().map(|n| (n, QemuValue::Uint(0))).collect();
    for (name, value) in &mut values {
        match name.as_str() {
            "unused" => *value = QemuValue::Bytes(vec![0; 4]),
            "read_pos" | "read_count" => *value = QemuValue::Int(0),
            "read_trigger" => *value = QemuValue::Int(1),
            _ => {}
        }
    }
    values.push(("pl011/clock:clk.period".into(), QemuValue::Uint(0)));
    QemuState { version: LAYOUT.version, values, subsections: vec!["pl011/clock".into()] }
}

/// The PL011's QEMU 10.0 migration, for the registry.
pub static QEMU: QemuDevice = QemuDevice {
    layout: &LAYOUT,
    machines: &[QemuPlacement {
        machine: "virt-10.0",
        section_id: 8,
        base: 0x0900_0000,
        properties: &[],
        serial: true,
    }],
    qemu_properties: &[],
    copies: COPIES,
    properties: |_| Ok(Vec::new()),
    import,
    export,
    defaults,
};
