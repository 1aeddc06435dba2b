/*
 * {name}.c - the C model of the {name} device (scaffold).
 *
 * The skeleton has three registers: ID (read-only), DATA and CTRL; IRQ
 * line 0 is high while CTRL enables it and DATA is non-zero. Replace it
 * with the real device, register by register; the lockstep test in
 * crates/portlab-{name} then shows what the Rust side still lacks.
 */
#include "{name}.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/devaccess.h"
#include "common/devstate.h"

typedef struct {Name}State {
    const PortlabHostOps *host;
    void *host_ctx;
    uint32_t data;
    uint32_t ctrl;
} {Name}State;

static {Name}State *state_of(PortlabDevice *dev)
{
    return ({Name}State *)(void *)dev;
}

static void {name}_update({Name}State *s)
{
    uint32_t level = (s->ctrl & {NAME}_CTRL_IRQ_ENABLE) && s->data != 0;
    s->host->set_irq(s->host_ctx, 0, level);
}

static void bad_offset({Name}State *s, const char *what, uint64_t offset)
{
    char msg[64];
    snprintf(msg, sizeof msg, "{name}_%s: Bad offset 0x%llx", what, (unsigned long long)offset);
    s->host->log(s->host_ctx, PORTLAB_LOG_GUEST_ERROR, msg);
}

static PortlabStatus {name}_create(const PortlabHostOps *host, void *host_ctx, const PortlabProperty *props,
                                  uint32_t num_props, PortlabDevice **out)
{
    if (host == NULL || out == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    /* No creation properties yet: declare them in the ops table (and in
     * the Rust rewrite's INFO) when the device gets some. */
    if (devprops_resolve(host, host_ctx, "{name}", NULL, 0, props, num_props, NULL) != PORTLAB_OK) {
        return PORTLAB_ERR_INVALID;
    }
    {Name}State *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return PORTLAB_ERR_NO_MEMORY;
    }
    s->host = host;
    s->host_ctx = host_ctx;
    *out = (PortlabDevice *)(void *)s;
    return PORTLAB_OK;
}

static void {name}_destroy(PortlabDevice *dev)
{
    free(state_of(dev));
}

static PortlabStatus {name}_reset(PortlabDevice *dev)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    state_of(dev)->data = 0;
    state_of(dev)->ctrl = 0;
    return PORTLAB_OK;
}

/* Only the accesses the ops table declares (access_sizes, region_size; here
 * aligned 4-byte ones) reach the registers: devaccess_ok checks them by the
 * table itself, so the rule cannot drift from the declaration. A device
 * that also takes 1-, 2- or 8-byte accesses and works in 32-bit units adds
 * them to access_sizes (and to the Rust INFO) and lets
 * devaccess_read_split/devaccess_write_split split them, as pl011.c does. */
static PortlabStatus {name}_read(PortlabDevice *dev, uint64_t offset, uint32_t size, uint64_t *value)
{
    if (dev == NULL || value == NULL || !devaccess_ok(&portlab_{name}_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    {Name}State *s = state_of(dev);
    switch (offset) {
    case {NAME}_ID:
        *value = {NAME}_ID_VALUE;
        break;
    case {NAME}_DATA:
        *value = s->data;
        break;
    case {NAME}_CTRL:
        *value = s->ctrl;
        break;
    default:
        bad_offset(s, "read", offset);
        *value = 0;
        break;
    }
    return PORTLAB_OK;
}

static PortlabStatus {name}_write(PortlabDevice *dev, uint64_t offset, uint32_t size, uint64_t value)
{
    if (dev == NULL || !devaccess_ok(&portlab_{name}_c_ops, offset, size) || value > UINT32_MAX) {
        return PORTLAB_ERR_INVALID;
    }
    {Name}State *s = state_of(dev);
    switch (offset) {
    case {NAME}_DATA:
        s->data = (uint32_t)value;
        {name}_update(s);
        break;
    case {NAME}_CTRL:
        s->ctrl = (uint32_t)value & {NAME}_CTRL_IRQ_ENABLE;
        {name}_update(s);
        break;
    default:
        bad_offset(s, "write", offset);
        break;
    }
    return PORTLAB_OK;
}

static PortlabStatus {name}_can_receive(PortlabDevice *dev, uint32_t *room)
{
    if (dev == NULL || room == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    *room = 0;
    return PORTLAB_OK;
}

static PortlabStatus {name}_receive(PortlabDevice *dev, uint8_t byte)
{
    (void)dev;
    (void)byte;
    return PORTLAB_ERR_INVALID;
}

static PortlabStatus {name}_receive_break(PortlabDevice *dev)
{
    return dev == NULL ? PORTLAB_ERR_INVALID : PORTLAB_OK;
}

static PortlabStatus {name}_timer_expired(PortlabDevice *dev, uint32_t timer)
{
    (void)dev;
    (void)timer;
    return PORTLAB_ERR_INVALID;
}

static uint32_t payload_len(uint16_t version)
{
    (void)version;
    return {NAME}_STATE_PAYLOAD_SIZE_V1;
}

static PortlabStatus {name}_save(PortlabDevice *dev, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    if (dev == NULL || len == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    uint8_t *p = devstate_begin_save(buf, cap, len, {NAME}_STATE_DEVICE_ID, {NAME}_STATE_VERSION,
                                     {NAME}_STATE_PAYLOAD_SIZE_V1);
    if (p == NULL) {
        return PORTLAB_ERR_BUFFER_TOO_SMALL;
    }
    devstate_put_u32(p + {NAME}_STATE_DATA, state_of(dev)->data);
    devstate_put_u32(p + {NAME}_STATE_CTRL, state_of(dev)->ctrl);
    devstate_end_save(buf, {NAME}_STATE_PAYLOAD_SIZE_V1);
    return PORTLAB_OK;
}

static PortlabStatus {name}_load(PortlabDevice *dev, const uint8_t *blob, uint32_t len)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    uint16_t version = 0;
    const uint8_t *p = NULL;
    PortlabStatus st = devstate_check(blob, len, {NAME}_STATE_DEVICE_ID, {NAME}_STATE_VERSION, payload_len,
                                      &version, &p);
    if (st != PORTLAB_OK) {
        return st;
    }
    uint32_t ctrl = devstate_get_u32(p + {NAME}_STATE_CTRL);
    if (ctrl & ~(uint32_t){NAME}_CTRL_IRQ_ENABLE) {
        return PORTLAB_ERR_OUT_OF_RANGE;
    }
    state_of(dev)->data = devstate_get_u32(p + {NAME}_STATE_DATA);
    state_of(dev)->ctrl = ctrl;
    return PORTLAB_OK;
}

/* No input lines yet. */
static PortlabStatus {name}_set_input(PortlabDevice *dev, uint32_t line, uint32_t level)
{
    (void)dev;
    (void)line;
    (void)level;
    return PORTLAB_ERR_INVALID;
}

/* The payload as data: what state diffs, coverage and importers read. */
static const PortlabStateField {name}_state_fields[] = {
    { "data", {NAME}_STATE_DATA, 4, 1, 0 },
    { "ctrl", {NAME}_STATE_CTRL, 4, 1, 0 },
};

static const PortlabStateSchema {name}_state_schema = {
    .version = {NAME}_STATE_VERSION,
    .fixed_size = {NAME}_STATE_PAYLOAD_SIZE_V1,
    .fields = {name}_state_fields,
    .num_fields = sizeof {name}_state_fields / sizeof {name}_state_fields[0],
};

const PortlabDeviceOps portlab_{name}_c_ops = {
    .abi_version = PORTLAB_ABI_VERSION,
    .type_name = "{name}",
    .region_size = {NAME}_REGION_SIZE,
    .num_irqs = {NAME}_NUM_IRQS,
    .num_timers = 0,
    .access_sizes = PORTLAB_ACCESS_4,
    .state_device_id = {NAME}_STATE_DEVICE_ID,
    .num_inputs = 0,
    .properties = NULL,
    .num_properties = 0,
    .state_schema = &{name}_state_schema,
    .create = {name}_create,
    .destroy = {name}_destroy,
    .reset = {name}_reset,
    .read = {name}_read,
    .write = {name}_write,
    .can_receive = {name}_can_receive,
    .receive = {name}_receive,
    .receive_break = {name}_receive_break,
    .timer_expired = {name}_timer_expired,
    .save = {name}_save,
    .load = {name}_load,
    .set_input = {name}_set_input,
};
