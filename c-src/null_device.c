/*
 * null_device.c - the benchmark floor: every operation returns at once.
 *
 * It keeps no state, so every instance is the same static object and
 * create allocates nothing. Reads return 0; serial input is always
 * accepted one byte at a time and dropped (so a board offering input makes
 * the same can_receive/receive calls it makes for a device with room);
 * save produces an empty blob and load accepts anything.
 */
#include "null_device.h"

static uint8_t null_instance;

static PortlabStatus null_create(const PortlabHostOps *host, void *host_ctx,
                                 const PortlabProperty *props,
                                 uint32_t num_props, PortlabDevice **out)
{
    (void)host;
    (void)host_ctx;
    (void)props;
    if (out == NULL || num_props != 0) {
        return PORTLAB_ERR_INVALID;
    }
    *out = (PortlabDevice *)(void *)&null_instance;
    return PORTLAB_OK;
}

static void null_destroy(PortlabDevice *dev)
{
    (void)dev;
}

static PortlabStatus null_reset(PortlabDevice *dev)
{
    (void)dev;
    return PORTLAB_OK;
}

static PortlabStatus null_read(PortlabDevice *dev, uint64_t offset,
                               uint32_t size, uint64_t *value)
{
    (void)dev;
    (void)offset;
    (void)size;
    *value = 0;
    return PORTLAB_OK;
}

static PortlabStatus null_write(PortlabDevice *dev, uint64_t offset,
                                uint32_t size, uint64_t value)
{
    (void)dev;
    (void)offset;
    (void)size;
    (void)value;
    return PORTLAB_OK;
}

static PortlabStatus null_can_receive(PortlabDevice *dev, uint32_t *room)
{
    (void)dev;
    *room = 1;
    return PORTLAB_OK;
}

static PortlabStatus null_receive(PortlabDevice *dev, uint8_t byte)
{
    (void)dev;
    (void)byte;
    return PORTLAB_OK;
}

static PortlabStatus null_receive_break(PortlabDevice *dev)
{
    (void)dev;
    return PORTLAB_OK;
}

static PortlabStatus null_timer_expired(PortlabDevice *dev, uint32_t timer)
{
    (void)dev;
    (void)timer;
    return PORTLAB_OK;
}

static PortlabStatus null_save(PortlabDevice *dev, uint8_t *buf, uint32_t cap,
                               uint32_t *len)
{
    (void)dev;
    (void)buf;
    (void)cap;
    *len = 0;
    return PORTLAB_OK;
}

static PortlabStatus null_load(PortlabDevice *dev, const uint8_t *blob,
                               uint32_t len)
{
    (void)dev;
    (void)blob;
    (void)len;
    return PORTLAB_OK;
}

static PortlabStatus null_set_input(PortlabDevice *dev, uint32_t line,
                                    uint32_t level)
{
    (void)dev;
    (void)line;
    (void)level;
    return PORTLAB_OK;
}

/* An empty payload: the floor saves nothing. */
static const PortlabStateSchema null_state_schema = {
    .version = 1,
    .fixed_size = 0,
    .fields = NULL,
    .num_fields = 0,
};

const PortlabDeviceOps portlab_null_c_ops = {
    .abi_version = PORTLAB_ABI_VERSION,
    .type_name = "portlab-null",
    .region_size = PORTLAB_NULL_REGION_SIZE,
    .num_irqs = PORTLAB_NULL_NUM_IRQS,
    .num_timers = 0,
    .access_sizes = PORTLAB_ACCESS_1 | PORTLAB_ACCESS_2 | PORTLAB_ACCESS_4 |
                    PORTLAB_ACCESS_8,
    .state_device_id = PORTLAB_NULL_STATE_DEVICE_ID,
    .num_inputs = 0,
    .properties = NULL,
    .num_properties = 0,
    .state_schema = &null_state_schema,
    .create = null_create,
    .destroy = null_destroy,
    .reset = null_reset,
    .read = null_read,
    .write = null_write,
    .can_receive = null_can_receive,
    .receive = null_receive,
    .receive_break = null_receive_break,
    .timer_expired = null_timer_expired,
    .save = null_save,
    .load = null_load,
    .set_input = null_set_input,
};
