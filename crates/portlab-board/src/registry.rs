//! The device registry: which device kinds exist and which implementations
//! (C, Rust) each has, by QOM-style type name.
//!
//! This is where the roadmap's first stage shows: the C model registers
//! under the plain name (`pl011`), a Rust rewrite under an `x-...-rust`
//! name, and a run picks either per device.

use std::fmt;
use std::rc::Rc;
use std::str::FromStr;

use portlab_device::DeviceType;
#[cfg(feature = "c-models")]
use portlab_device::c_models;

/// The shadow device of every device with both implementations: the C
/// model answers, the Rust rewrite is compared (`portlab-shadow`).
#[cfg(feature = "c-models")]
mod shadows {
    portlab_shadow::c_answers_rust_shadows!(
        Pl011Pair,
        Pl011Shadow,
        c"x-pl011-shadow",
        "x-pl011-shadow",
        portlab_device::c_models::pl011,
        portlab_pl011::Pl011
    );
    portlab_shadow::c_answers_rust_shadows!(
        Pl031Pair,
        Pl031Shadow,
        c"x-pl031-shadow",
        "x-pl031-shadow",
        portlab_device::c_models::pl031,
        portlab_pl031::Pl031
    );
    portlab_shadow::c_answers_rust_shadows!(
        HpetPair,
        HpetShadow,
        c"x-hpet-shadow",
        "x-hpet-shadow",
        portlab_device::c_models::hpet,
        portlab_hpet::Hpet
    );
    // The scaffold (xtask new-device) puts shadow pairs above this line.
}

/// The roadmap stage this build implements (docs/roadmap.md), chosen by
/// the crate's `stage1` / `stage2` / `stage3` features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `--enable-rust`: C devices by default, Rust opt-in under `x-` names.
    OptIn,
    /// Rust devices are the default; C is still built and selectable.
    RustDefault,
    /// Rust mandatory: no C device model is compiled.
    RustOnly,
}

impl Stage {
    /// The stage of this build. Without the C models it can only be stage 3.
    pub const CURRENT: Stage = if !cfg!(feature = "c-models") {
        Stage::RustOnly
    } else if cfg!(feature = "stage2") {
        Stage::RustDefault
    } else {
        Stage::OptIn
    };

    /// The stage's number.
    pub fn number(self) -> u8 {
        match self {
            Stage::OptIn => 1,
            Stage::RustDefault => 2,
            Stage::RustOnly => 3,
        }
    }

    /// The implementation a device gets when none is asked for.
    pub fn default_implementation(self) -> Implementation {
        match self {
            Stage::OptIn => Implementation::C,
            Stage::RustDefault | Stage::RustOnly => Implementation::Rust,
        }
    }
}

/// Which implementation of a device kind to instantiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// The C model in `c-src/`.
    C,
    /// The Rust rewrite.
    Rust,
    /// Both, the C answering and the Rust shadowing it (`x-NAME-shadow`).
    Shadow,
}

impl Implementation {
    /// The other implementation (the default target of `migrate`): C and
    /// Rust swap; a shadow goes to C.
    pub fn other(self) -> Implementation {
        match self {
            Implementation::C => Implementation::Rust,
            Implementation::Rust | Implementation::Shadow => Implementation::C,
        }
    }

    /// `c` or `rust`.
    pub fn as_str(self) -> &'static str {
        match self {
            Implementation::C => "c",
            Implementation::Rust => "rust",
            Implementation::Shadow => "shadow",
        }
    }
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Implementation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "c" => Ok(Implementation::C),
            "rust" => Ok(Implementation::Rust),
            "shadow" => Ok(Implementation::Shadow),
            other => Err(format!("unknown implementation `{other}` (expected `c`, `rust` or `shadow`)")),
        }
    }
}

/// The default board's layout: each registered device's slot (named after
/// its kind) and base address. `pl011` at 0x0900_0000 and `pl031` at
/// 0x0901_0000 as on QEMU's `virt`, and `hpet` at 0xFED0_0000 as on the
/// PC.
pub const DEFAULT_LAYOUT: &[(&str, u64)] = &[
    ("pl011", 0x0900_0000),
    ("pl031", 0x0901_0000),
    ("hpet", 0xfed0_0000),
    // `cargo xtask new-device` adds board slots above this line.
];

/// One device kind and its implementations.
#[derive(Debug, Clone)]
pub struct DeviceKind {
    /// The kind's name, which is also the C model's type name (`pl011`).
    pub name: &'static str,
    /// What the device is, for `portlab list`.
    pub description: &'static str,
    /// The C model, if there is one.
    pub c: Option<DeviceType>,
    /// The Rust rewrite, if there is one.
    pub rust: Option<DeviceType>,
    /// The shadow device (C answers, Rust is compared), if there is one.
    pub shadow: Option<DeviceType>,
    /// The device's deep-state guest, if it has one: a plug-in beside the
    /// device that the equivalence tests mix into the generic random guest.
    pub guest: Option<GuestChunk>,
    /// The edge cases of the device's spec, with the rule that sees each
    /// exercised: the coverage report lists which a run reached.
    pub edge_cases: Option<&'static EdgeCases>,
    /// The device's benchmark workloads (`portlab bench`, the criterion
    /// benches): what its drivers do in their hot loops.
    pub workloads: &'static [Workload],
    /// What the device saves right after loading a blob, when that is not
    /// the blob itself (a PL031 alarm due at load fires; an enabled HPET
    /// saves its counter as of now). None: the same bytes. The migration
    /// property tests and the `migration_load` fuzz target use it.
    pub saved_after_load: Option<AfterLoad>,
    /// How QEMU 10.0 migrates the device, if portlab knows: its section
    /// layout and the mapping to its payload, declared in the device's own
    /// crate (`portlab qemu import` and `export`).
    pub qemu: Option<&'static portlab_device::qemu::QemuDevice>,
}

/// A device's after-load rule: the blob it saves right after loading
/// `blob` at virtual time `now_ns` (defaults for every property).
pub type AfterLoad = fn(blob: &[u8], now_ns: u64) -> Vec<u8>;

pub use portlab_device::bench::Workload;
pub use portlab_device::explore::{EdgeCases, GuestChunk};

impl DeviceKind {
    /// What this device saves right after loading `blob` at `now_ns`.
    pub fn expected_after_load(&self, blob: &[u8], now_ns: u64) -> Vec<u8> {
        match self.saved_after_load {
            Some(rule) => rule(blob, now_ns),
            None => blob.to_vec(),
        }
    }

    /// The implementation `implementation` of this kind, if it exists.
    pub fn implementation(&self, implementation: Implementation) -> Option<DeviceType> {
        match implementation {
            Implementation::C => self.c,
            Implementation::Rust => self.rust,
            Implementation::Shadow => self.shadow,
        }
    }
}

/// Every device kind the board can instantiate.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Shared: every runner and board keeps a registry, and the lockstep
    /// engine makes two boards per case.
    kinds: Rc<Vec<DeviceKind>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// The registry of the devices built into portlab, for this build's
    /// stage: C models and shadow devices exist only where C is compiled.
    pub fn builtin() -> Registry {
        #[cfg(feature = "c-models")]
        let (c_pl011, c_pl031, shadow_pl011, shadow_pl031) = (
            Some(c_models::pl011()),
            Some(c_models::pl031()),
            Some(DeviceType::of::<shadows::Pl011Shadow>()),
            Some(DeviceType::of::<shadows::Pl031Shadow>()),
        );
        #[cfg(not(feature = "c-models"))]
        let (c_pl011, c_pl031, shadow_pl011, shadow_pl031) = (None, None, None, None);
        #[cfg(feature = "c-models")]
        let (c_hpet, shadow_hpet) = (Some(c_models::hpet()), Some(DeviceType::of::<shadows::HpetShadow>()));
        #[cfg(not(feature = "c-models"))]
        let (c_hpet, shadow_hpet) = (None, None);
        Registry {
            kinds: Rc::new(vec![
                DeviceKind {
                    name: "pl011",
                    description: "ARM PrimeCell PL011 UART",
                    c: c_pl011,
                    rust: Some(DeviceType::of::<portlab_pl011::Pl011>()),
                    shadow: shadow_pl011,
                    guest: Some(portlab_pl011::guest::chunk),
                    edge_cases: Some(&portlab_pl011::guest::EDGE_CASES),
                    workloads: portlab_pl011::bench::WORKLOADS,
                    saved_after_load: None,
                    qemu: Some(&portlab_pl011::qemu::QEMU),
                },
                DeviceKind {
                    name: "pl031",
                    description: "ARM PrimeCell PL031 real-time clock",
                    c: c_pl031,
                    rust: Some(DeviceType::of::<portlab_pl031::Pl031>()),
                    shadow: shadow_pl031,
                    guest: Some(portlab_pl031::guest::chunk),
                    edge_cases: Some(&portlab_pl031::guest::EDGE_CASES),
                    workloads: portlab_pl031::bench::WORKLOADS,
                    saved_after_load: Some(portlab_pl031::saved_after_load),
                    qemu: Some(&portlab_pl031::qemu::QEMU),
                },
                DeviceKind {
                    name: "hpet",
                    description: "IA-PC High Precision Event Timer (QEMU 10.0)",
                    c: c_hpet,
                    rust: Some(DeviceType::of::<portlab_hpet::Hpet>()),
                    shadow: shadow_hpet,
                    guest: Some(portlab_hpet::guest::default_chunk),
                    edge_cases: None,
                    workloads: portlab_hpet::bench::WORKLOADS,
                    saved_after_load: Some(portlab_hpet::saved_after_load),
                    qemu: Some(&portlab_hpet::qemu::QEMU),
                },
                // `cargo xtask new-device` adds device kinds above this line.
            ]),
        }
    }

    /// An empty registry, for tests that register their own kinds.
    pub fn empty() -> Registry {
        Registry { kinds: Rc::new(Vec::new()) }
    }

    /// Adds a device kind, or replaces the one of that name in its place.
    pub fn register(&mut self, kind: DeviceKind) {
        let kinds = Rc::make_mut(&mut self.kinds);
        match kinds.iter_mut().find(|k| k.name == kind.name) {
            Some(existing) => *existing = kind,
            None => kinds.push(kind),
        }
    }

    /// The names a user sees for `kind`'s implementations in this stage:
    /// stage 1 gives the plain name to C and `x-NAME-rust` to Rust; from
    /// stage 2 on the plain name resolves to Rust, and C (while it is
    /// built) is `x-NAME-c`.
    pub fn public_names(&self, kind: &str) -> Vec<(String, Implementation)> {
        let Some(k) = self.kind(kind) else { return Vec::new() };
        let mut names = Vec::new();
        match Stage::CURRENT {
            Stage::OptIn => {
                if k.c.is_some() {
                    names.push((kind.to_string(), Implementation::C));
                }
                if k.rust.is_some() {
                    names.push((format!("x-{kind}-rust"), Implementation::Rust));
                }
            }
            Stage::RustDefault | Stage::RustOnly => {
                if k.rust.is_some() {
                    names.push((kind.to_string(), Implementation::Rust));
                }
                if k.c.is_some() {
                    names.push((format!("x-{kind}-c"), Implementation::C));
                }
            }
        }
        if k.shadow.is_some() {
            names.push((format!("x-{kind}-shadow"), Implementation::Shadow));
        }
        names
    }

    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&DeviceKind> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// Every kind, in registration order.
    pub fn kinds(&self) -> &[DeviceKind] {
        &self.kinds
    }

    /// The device type of `kind` in `implementation`, or a message that
    /// says why there is none.
    pub fn device_type(&self, kind: &str, implementation: Implementation) -> Result<DeviceType, String> {
        let k = self.kind(kind).ok_or_else(|| format!("unknown device kind `{kind}`"))?;
        k.implementation(implementation).ok_or_else(|| match implementation {
            Implementation::Rust => format!("there is no Rust implementation of `{kind}` yet (only the C model)"),
            Implementation::C if Stage::CURRENT == Stage::RustOnly => {
                format!("this is a stage 3 build (Rust only): no C model of `{kind}` is compiled")
            }
            Implementation::C => format!("there is no C implementation of `{kind}`"),
            Implementation::Shadow => format!("there is no shadow device for `{kind}`"),
        })
    }
}
