//! The Rust device library that a C host links: the QEMU situation, where
//! a C core hosts devices written in Rust.
//!
//! Built as `libportlab_rust_devices.a`. Each Rust device's ops table is
//! exported under a C symbol that a host declares with
//! `extern const PortlabDeviceOps NAME;` after including only
//! `portlab_device.h`:
//!
//! | symbol | type name |
//! | --- | --- |
//! | `portlab_x_pl011_rust_ops` | `x-pl011-rust` |
//! | `portlab_x_pl031_rust_ops` | `x-pl031-rust` |
//! | `portlab_x_hpet_rust_ops` | `x-hpet-rust` |
//!
//! `c-src/tools/chost.c` is such a host; `tests/c_host.rs` builds and runs
//! it. `c-src/tools/trace_runner.c`, built by `make -C c-src rust`, is
//! another: the whole trace runner in C, hosting these Rust devices.
#![forbid(unsafe_code)]

portlab_device::export_device!(portlab_x_pl011_rust_ops, portlab_pl011::Pl011);
portlab_device::export_device!(portlab_x_pl031_rust_ops, portlab_pl031::Pl031);
portlab_device::export_device!(portlab_x_hpet_rust_ops, portlab_hpet::Hpet);
// `cargo xtask new-device` adds device exports above this line.
