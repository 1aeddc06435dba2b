//! The device registry: which device kinds exist and which implementations
//! (C, Rust) each has, by QOM-style type name.
//!
//! This is where the roadmap's first stage shows: the C model registers
//! under the plain name (`pl011`), a Rust rewrite under an `x-...-rust`
//! name, and a run picks either per device.

use std::fmt;
use std::str::FromStr;

use portlab_device::DeviceType;
use portlab_device::c_models;

/// Which implementation of a device kind to instantiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// The C model in `c-src/`.
    C,
    /// The Rust rewrite.
    Rust,
}

impl Implementation {
    /// The other implementation (the default target of `migrate`).
    pub fn other(self) -> Implementation {
        match self {
            Implementation::C => Implementation::Rust,
            Implementation::Rust => Implementation::C,
        }
    }

    /// `c` or `rust`.
    pub fn as_str(self) -> &'static str {
        match self {
            Implementation::C => "c",
            Implementation::Rust => "rust",
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
            other => Err(format!("unknown implementation `{other}` (expected `c` or `rust`)")),
        }
    }
}

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
}

impl DeviceKind {
    /// The implementation `implementation` of this kind, if it exists.
    pub fn implementation(&self, implementation: Implementation) -> Option<DeviceType> {
        match implementation {
            Implementation::C => self.c,
            Implementation::Rust => self.rust,
        }
    }
}

/// Every device kind the board can instantiate.
#[derive(Debug, Clone)]
pub struct Registry {
    kinds: Vec<DeviceKind>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// The registry of the devices built into portlab.
    pub fn builtin() -> Registry {
        Registry {
            kinds: vec![DeviceKind {
                name: "pl011",
                description: "ARM PrimeCell PL011 UART",
                c: Some(c_models::pl011()),
                rust: Some(DeviceType::of::<portlab_pl011::Pl011>()),
            }],
        }
    }

    /// An empty registry, for tests that register their own kinds.
    pub fn empty() -> Registry {
        Registry { kinds: Vec::new() }
    }

    /// Adds (or replaces) a device kind.
    pub fn register(&mut self, kind: DeviceKind) {
        self.kinds.retain(|k| k.name != kind.name);
        self.kinds.push(kind);
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
            Implementation::C => format!("there is no C implementation of `{kind}`"),
        })
    }
}
