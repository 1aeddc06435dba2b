/*
 * chost.c - a C host driving a Rust device through the C interface.
 *
 * This is the QEMU situation in miniature: a core written in C that knows
 * only portlab_device.h, linked against the Rust device library
 * (libportlab_rust_devices.a), creating and driving x-pl011-rust through
 * its ops table. It runs the trace-format example, prints the canonical
 * event log, checks the migration blob against the spec's test vector,
 * moves the state into a second instance, and checks that an invalid
 * access is refused. Interface version 2: the table's version, creation
 * without properties, the mem_write and timer_arm_first callbacks, and an
 * input line the PL011 does not have. Exit status 0 when every check held.
 *
 * Built and run by crates/portlab-rust-devices/tests/c_host.rs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portlab_device.h"

/* Exported by the Rust device library. */
extern const PortlabDeviceOps portlab_x_pl011_rust_ops;

typedef struct HostState {
    uint32_t levels[8];
    unsigned guest_errors;
    unsigned unexpected_calls;
} HostState;

static void host_set_irq(void *ctx, uint32_t line, uint32_t level)
{
    HostState *h = ctx;
    if (line < 8 && h->levels[line] != level) {
        h->levels[line] = level;
        printf("irq pl011 %u %u\n", (unsigned)line, (unsigned)level);
    }
}

static void host_serial_send(void *ctx, const uint8_t *bytes, uint32_t len)
{
    (void)ctx;
    for (uint32_t i = 0; i < len; i++) {
        printf("tx pl011 0x%02x\n", bytes[i]);
    }
}

static void host_serial_set_break(void *ctx, uint32_t on)
{
    (void)ctx;
    (void)on;
}

static uint64_t host_clock_ns(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t host_rtc_epoch_s(void *ctx)
{
    (void)ctx;
    return 1700000000u;
}

static void host_timer_arm(void *ctx, uint32_t timer, uint64_t deadline_ns)
{
    (void)ctx;
    (void)timer;
    (void)deadline_ns;
}

static void host_timer_cancel(void *ctx, uint32_t timer)
{
    (void)ctx;
    (void)timer;
}

/* The PL011 writes no guest memory and arms no timer: a call is a failure. */
static void host_mem_write(void *ctx, uint64_t addr, uint32_t size, uint64_t value)
{
    HostState *h = ctx;
    h->unexpected_calls++;
    fprintf(stderr, "chost: unexpected mem_write of %u bytes of 0x%llx at 0x%llx\n", (unsigned)size,
            (unsigned long long)value, (unsigned long long)addr);
}

static void host_timer_arm_first(void *ctx, uint32_t timer)
{
    HostState *h = ctx;
    h->unexpected_calls++;
    fprintf(stderr, "chost: unexpected timer_arm_first of timer %u\n", (unsigned)timer);
}

static void host_log(void *ctx, uint32_t kind, const char *message)
{
    HostState *h = ctx;
    h->guest_errors++;
    fprintf(stderr, "chost: diagnostic %u: %s\n", (unsigned)kind, message);
}

static const PortlabHostOps host_ops = {
    .set_irq = host_set_irq,
    .serial_send = host_serial_send,
    .serial_set_break = host_serial_set_break,
    .clock_ns = host_clock_ns,
    .rtc_epoch_s = host_rtc_epoch_s,
    .timer_arm = host_timer_arm,
    .timer_cancel = host_timer_cancel,
    .log = host_log,
    .mem_write = host_mem_write,
    .timer_arm_first = host_timer_arm_first,
};

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "chost: FAILED: %s\n", what);
        failures++;
    }
}

static uint64_t mmio_read(const PortlabDeviceOps *ops, PortlabDevice *dev, uint64_t offset)
{
    uint64_t value = 0;
    check(ops->read(dev, offset, 4, &value) == PORTLAB_OK, "read returns PORTLAB_OK");
    printf("read pl011 0x%03llx 4 0x%08llx\n", (unsigned long long)offset, (unsigned long long)value);
    return value;
}

static void mmio_write(const PortlabDeviceOps *ops, PortlabDevice *dev, uint64_t offset, uint64_t value)
{
    check(ops->write(dev, offset, 4, value) == PORTLAB_OK, "write returns PORTLAB_OK");
}

/* pl011.md section 12.2, "State after the example trace of section 15". */
static const uint8_t example_vector_head[16] = {
    0x44, 0x45, 0x56, 0x53, 0x11, 0x00, 0x01, 0x00,
    0x74, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00,
};
static const uint8_t example_vector_crc[4] = {0xf1, 0xc5, 0xdf, 0x00};

int main(void)
{
    const PortlabDeviceOps *ops = &portlab_x_pl011_rust_ops;
    HostState host = {{0}, 0, 0};
    PortlabDevice *dev = NULL;

    check(ops->abi_version == PORTLAB_ABI_VERSION, "ABI version matches the header");
    check(strcmp(ops->type_name, "x-pl011-rust") == 0, "type name is x-pl011-rust");
    if (ops->abi_version != PORTLAB_ABI_VERSION) {
        /* The rest of the table may be laid out differently: stop here. */
        fprintf(stderr, "chost: the table has ABI version %u, the header %u\n", (unsigned)ops->abi_version,
                (unsigned)PORTLAB_ABI_VERSION);
        return 1;
    }
    check(ops->region_size == 0x1000 && ops->num_irqs == 6, "description");
    check(ops->num_inputs == 0 && ops->num_properties == 0 && ops->state_schema != NULL, "version 2 description");
    check(ops->set_input != NULL, "set_input is present");
    if (ops->create(&host_ops, &host, NULL, 0, &dev) != PORTLAB_OK || dev == NULL) {
        fprintf(stderr, "chost: create failed\n");
        return 1;
    }

    /* The trace-format example, driven by hand. */
    mmio_write(ops, dev, 0x02c, 0x70);
    mmio_write(ops, dev, 0x038, 0x10);
    mmio_write(ops, dev, 0x030, 0x301);
    uint32_t room = 0;
    check(ops->can_receive(dev, &room) == PORTLAB_OK && room == 16, "room for 16 bytes");
    check(ops->receive(dev, 'a') == PORTLAB_OK, "receive");
    check(mmio_read(ops, dev, 0x018) == 0x80, "FR is 0x80");
    check(mmio_read(ops, dev, 0x000) == 0x61, "DR is 'a'");
    mmio_write(ops, dev, 0x000, 0x61);

    /* Migration: the spec's test vector, then into a second instance. */
    uint32_t len = 0;
    check(ops->save(dev, NULL, 0, &len) == PORTLAB_ERR_BUFFER_TOO_SMALL && len == 132, "save asks for 132 bytes");
    uint8_t blob[132];
    check(ops->save(dev, blob, sizeof blob, &len) == PORTLAB_OK && len == 132, "save");
    check(memcmp(blob, example_vector_head, sizeof example_vector_head) == 0, "blob header matches the test vector");
    check(memcmp(blob + 128, example_vector_crc, 4) == 0, "blob CRC matches the test vector");

    PortlabDevice *copy = NULL;
    check(ops->create(&host_ops, &host, NULL, 0, &copy) == PORTLAB_OK, "create a second instance");
    check(ops->load(copy, blob, 10) == PORTLAB_ERR_TRUNCATED, "a truncated blob is refused");
    check(ops->load(copy, blob, len) == PORTLAB_OK, "load");
    uint64_t lcr = 0;
    check(ops->read(copy, 0x02c, 4, &lcr) == PORTLAB_OK && lcr == 0x70, "state arrived");

    /* The adapter refuses what the description does not allow. */
    uint64_t value = 0;
    check(ops->read(dev, 0x002, 4, &value) == PORTLAB_ERR_INVALID, "misaligned read refused");
    check(ops->read(dev, 0x1000, 1, &value) == PORTLAB_ERR_INVALID, "read outside the region refused");
    check(ops->timer_expired(dev, 0) == PORTLAB_ERR_INVALID, "no timers");
    check(ops->set_input(dev, 0, 1) == PORTLAB_ERR_INVALID, "no input lines (set_input is refused)");
    check(ops->set_input(dev, 0, 0) == PORTLAB_ERR_INVALID, "no input lines, level 0 either");
    check(host.unexpected_calls == 0, "no mem_write or timer_arm_first from the PL011");

    ops->destroy(copy);
    ops->destroy(dev);
    if (failures != 0) {
        fprintf(stderr, "chost: %d check(s) failed\n", failures);
        return 1;
    }
    fprintf(stderr, "chost: ok\n");
    return 0;
}
