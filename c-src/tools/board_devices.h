/*
 * board_devices.h - the devices of the C trace runner's board: the one
 * list every part of tools/trace_runner.c takes them from (slots, the
 * --device option, the names in error messages, the number of devices).
 *
 * An X-macro list. The includer defines
 *
 *     PORTLAB_BOARD_DEVICE(NAME, C_OPS, RUST_OPS)
 *
 * includes this file, and undefines the macro; it may include the file as
 * often as it needs. NAME is the instance name used in traces, which is
 * also the device kind; C_OPS is the C model's ops table, RUST_OPS the
 * ops table the Rust device library (libportlab_rust_devices.a) exports
 * for the Rust rewrite. The Rust symbols are referenced only in a build
 * with PORTLAB_WITH_RUST (`make rust`).
 *
 * The order is the board's order, and must stay that of the Rust board's
 * default board (crates/portlab-board/src/board.rs, default_board): pl011
 * at 0x0900_0000, pl031 at 0x0901_0000, hpet at 0xFED0_0000. The runner
 * does not need the addresses (traces address devices by name and offset).
 *
 * The device headers are included below, once, so that the ops tables are
 * declared with their own header's declaration. The runner also declares
 * every C_OPS and RUST_OPS itself (`extern const PortlabDeviceOps`) from
 * this list, so a line added here needs no new #include to build.
 */
#ifndef PORTLAB_BOARD_DEVICES_HEADERS
#define PORTLAB_BOARD_DEVICES_HEADERS
#include "portlab_device.h"
#include "hpet.h"
#include "pl011.h"
#include "pl031.h"
#endif

#ifndef PORTLAB_BOARD_DEVICE
#error "define PORTLAB_BOARD_DEVICE(NAME, C_OPS, RUST_OPS) before including board_devices.h"
#endif

PORTLAB_BOARD_DEVICE(pl011, portlab_pl011_c_ops, portlab_x_pl011_rust_ops)
PORTLAB_BOARD_DEVICE(pl031, portlab_pl031_c_ops, portlab_x_pl031_rust_ops)
PORTLAB_BOARD_DEVICE(hpet, portlab_hpet_c_ops, portlab_x_hpet_rust_ops)
/* `cargo xtask new-device` adds devices above this line. */
