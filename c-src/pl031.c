/*
 * pl031.c - the C model of the ARM PrimeCell PL031 real-time clock.
 *
 * Behaviour follows docs/spec/pl031.md: QEMU's model with the RTC clock
 * fixed to the board's virtual clock. Section numbers in comments refer
 * to that page. The Rust rewrite is crates/portlab-pl031.
 */
#include "pl031.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/devaccess.h"
#include "common/devstate.h"

/* Section 3: the device's state. Private to this file. */
typedef struct Pl031State {
    const PortlabHostOps *host;
    void *host_ctx;
    uint32_t tick_offset;
    uint32_t mr;
    uint32_t lr;
    uint32_t im;
    uint32_t is;
} Pl031State;

static const uint8_t pl031_ids[8] = {
    PL031_ID0, PL031_ID1, PL031_ID2, PL031_ID3,
    PL031_ID4, PL031_ID5, PL031_ID6, PL031_ID7,
};

static Pl031State *state_of(PortlabDevice *dev)
{
    return (Pl031State *)(void *)dev;
}

static void log_offset(Pl031State *s, const char *fmt, uint64_t offset)
{
    char msg[80];
    snprintf(msg, sizeof msg, fmt, (unsigned long long)offset);
    s->host->log(s->host_ctx, PORTLAB_LOG_GUEST_ERROR, msg);
}

static uint64_t now_ns(Pl031State *s)
{
    return s->host->clock_ns(s->host_ctx);
}

/* Section 1: count = (tick_offset + sec(now)) mod 2^32. */
static uint32_t pl031_count(Pl031State *s)
{
    return s->tick_offset + (uint32_t)(now_ns(s) / PL031_NS_PER_SECOND);
}

/* UPDATE: line 0 follows is AND im. */
static void pl031_update(Pl031State *s)
{
    s->host->set_irq(s->host_ctx, PL031_IRQ_RTCINTR, s->is & s->im);
}

static void pl031_fire(Pl031State *s)
{
    s->is = 1;
    pl031_update(s);
}

/* ARM-ALARM (section 6). */
static void pl031_arm_alarm(Pl031State *s)
{
    uint32_t ticks = s->mr - pl031_count(s);
    if (ticks == 0) {
        s->host->timer_cancel(s->host_ctx, PL031_TIMER_ALARM);
        pl031_fire(s);
        return;
    }
    uint64_t now = now_ns(s);
    uint64_t ahead = (uint64_t)ticks * PL031_NS_PER_SECOND;
    /* A deadline past the end of time is never reached: saturate. */
    uint64_t deadline = ahead > UINT64_MAX - now ? UINT64_MAX : now + ahead;
    s->host->timer_arm(s->host_ctx, PL031_TIMER_ALARM, deadline);
}

/* One 32-bit-or-narrower register read at the exact offset (section 5).
 * A DevAccessRead32: devaccess_read_split calls it once per 32-bit unit. */
static uint32_t pl031_read_reg(void *opaque, uint64_t offset)
{
    Pl031State *s = opaque;
    switch (offset) {
    case PL031_DR:
        return pl031_count(s);
    case PL031_MR:
        return s->mr;
    case PL031_LR:
        return s->lr;
    case PL031_CR:
        return PL031_CR_VALUE;
    case PL031_IMSC:
        return s->im;
    case PL031_RIS:
        return s->is;
    case PL031_MIS:
        return s->is & s->im;
    case PL031_ICR:
        log_offset(s, "pl031: read of write-only register at offset 0x%llx", offset);
        return 0;
    default:
        if (offset >= PL031_PERIPH_ID0 && offset < PL031_ID_END) {
            return pl031_ids[(offset - PL031_PERIPH_ID0) >> 2];
        }
        log_offset(s, "pl031_read: Bad offset 0x%llx", offset);
        return 0;
    }
}

/* One register write at the exact offset (section 5); a DevAccessWrite32. */
static void pl031_write_reg(void *opaque, uint64_t offset, uint32_t value)
{
    Pl031State *s = opaque;
    switch (offset) {
    case PL031_LR: {
        uint32_t count = pl031_count(s);
        s->lr = value;
        s->tick_offset += value - count;
        pl031_arm_alarm(s);
        break;
    }
    case PL031_MR:
        s->mr = value;
        pl031_arm_alarm(s);
        break;
    case PL031_IMSC:
        s->im = value & PL031_INT_MATCH;
        pl031_update(s);
        break;
    case PL031_ICR:
        s->is &= ~value;
        pl031_update(s);
        break;
    case PL031_CR:
        /* The RTC is always running: ignored, no guest error. */
        break;
    case PL031_DR:
    case PL031_RIS:
    case PL031_MIS:
        log_offset(s, "pl031: write to read-only register at offset 0x%llx", offset);
        break;
    default:
        log_offset(s, "pl031_write: Bad offset 0x%llx", offset);
        break;
    }
}

static PortlabStatus pl031_create(const PortlabHostOps *host, void *host_ctx,
                                  const PortlabProperty *props,
                                  uint32_t num_props, PortlabDevice **out)
{
    if (host == NULL || out == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    /* The PL031 has no creation properties: any property is refused. */
    if (devprops_resolve(host, host_ctx, "pl031", NULL, 0, props, num_props,
                         NULL) != PORTLAB_OK) {
        return PORTLAB_ERR_INVALID;
    }
    Pl031State *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return PORTLAB_ERR_NO_MEMORY;
    }
    s->host = host;
    s->host_ctx = host_ctx;
    /* Section 3: DR reads epoch + sec(now) until the guest writes LR. */
    s->tick_offset = (uint32_t)host->rtc_epoch_s(host_ctx);
    *out = (PortlabDevice *)(void *)s;
    return PORTLAB_OK;
}

static void pl031_destroy(PortlabDevice *dev)
{
    free(state_of(dev));
}

static PortlabStatus pl031_reset(PortlabDevice *dev)
{
    /* Section 8: QEMU's PL031 has no reset handler. */
    return dev == NULL ? PORTLAB_ERR_INVALID : PORTLAB_OK;
}

/* Section 7: only the sizes and region the ops table declares reach the
 * registers; 8-byte accesses are two 4-byte ones, A then A+4, and 1- and
 * 2-byte ones reach the register at their own offset (read masked to the
 * size, write zero-extended). */
static PortlabStatus pl031_read(PortlabDevice *dev, uint64_t offset,
                                uint32_t size, uint64_t *value)
{
    if (dev == NULL || value == NULL ||
        !devaccess_ok(&portlab_pl031_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    *value = devaccess_read_split(state_of(dev), pl031_read_reg, offset, size);
    return PORTLAB_OK;
}

static PortlabStatus pl031_write(PortlabDevice *dev, uint64_t offset,
                                 uint32_t size, uint64_t value)
{
    if (dev == NULL || !devaccess_ok(&portlab_pl031_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    return devaccess_write_split(state_of(dev), pl031_write_reg, offset, size,
                                 value);
}

static PortlabStatus pl031_can_receive(PortlabDevice *dev, uint32_t *room)
{
    if (dev == NULL || room == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    *room = 0; /* no serial input */
    return PORTLAB_OK;
}

static PortlabStatus pl031_receive(PortlabDevice *dev, uint8_t byte)
{
    (void)dev;
    (void)byte;
    return PORTLAB_ERR_INVALID;
}

static PortlabStatus pl031_receive_break(PortlabDevice *dev)
{
    /* No serial line: a break has nowhere to arrive. */
    return dev == NULL ? PORTLAB_ERR_INVALID : PORTLAB_OK;
}

static PortlabStatus pl031_timer_expired(PortlabDevice *dev, uint32_t timer)
{
    if (dev == NULL || timer != PL031_TIMER_ALARM) {
        return PORTLAB_ERR_INVALID;
    }
    /* The host disarmed the one-shot timer; FIRE at its deadline. */
    pl031_fire(state_of(dev));
    return PORTLAB_OK;
}

static uint32_t payload_len_for_version(uint16_t version)
{
    (void)version; /* version 1 is the only one */
    return PL031_STATE_PAYLOAD_SIZE_V1;
}

static PortlabStatus pl031_save(PortlabDevice *dev, uint8_t *buf, uint32_t cap,
                                uint32_t *len)
{
    if (dev == NULL || len == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    uint8_t *p = devstate_begin_save(buf, cap, len, PL031_STATE_DEVICE_ID,
                                     PL031_STATE_VERSION,
                                     PL031_STATE_PAYLOAD_SIZE_V1);
    if (p == NULL) {
        return PORTLAB_ERR_BUFFER_TOO_SMALL;
    }
    const Pl031State *s = state_of(dev);
    devstate_put_u32(p + PL031_STATE_TICK_OFFSET, s->tick_offset);
    devstate_put_u32(p + PL031_STATE_MR, s->mr);
    devstate_put_u32(p + PL031_STATE_LR, s->lr);
    devstate_put_u32(p + PL031_STATE_IM, s->im);
    devstate_put_u32(p + PL031_STATE_IS, s->is);
    devstate_end_save(buf, PL031_STATE_PAYLOAD_SIZE_V1);
    return PORTLAB_OK;
}

static PortlabStatus pl031_load(PortlabDevice *dev, const uint8_t *blob,
                                uint32_t len)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    uint16_t version = 0;
    const uint8_t *p = NULL;
    PortlabStatus status =
        devstate_check(blob, len, PL031_STATE_DEVICE_ID, PL031_STATE_VERSION,
                       payload_len_for_version, &version, &p);
    if (status != PORTLAB_OK) {
        return status;
    }
    uint32_t im = devstate_get_u32(p + PL031_STATE_IM);
    uint32_t is = devstate_get_u32(p + PL031_STATE_IS);
    if (im > 1 || is > 1) {
        return PORTLAB_ERR_OUT_OF_RANGE;
    }
    Pl031State *s = state_of(dev);
    s->tick_offset = devstate_get_u32(p + PL031_STATE_TICK_OFFSET);
    s->mr = devstate_get_u32(p + PL031_STATE_MR);
    s->lr = devstate_get_u32(p + PL031_STATE_LR);
    s->im = im;
    s->is = is;
    /* Section 9.2: the alarm is re-armed relative to the load time, and
     * fires during the load if the count equals MR. */
    pl031_arm_alarm(s);
    return PORTLAB_OK;
}

/* ABI 2: the PL031 has no input lines. */
static PortlabStatus pl031_set_input(PortlabDevice *dev, uint32_t line,
                                     uint32_t level)
{
    (void)dev;
    (void)line;
    (void)level;
    return PORTLAB_ERR_INVALID;
}

/* Section 9.1 as data (ABI 2). */
static const PortlabStateField pl031_state_fields[] = {
    { "tick_offset", PL031_STATE_TICK_OFFSET, 4, 1, 0 },
    { "mr", PL031_STATE_MR, 4, 1, 0 },
    { "lr", PL031_STATE_LR, 4, 1, 0 },
    { "im", PL031_STATE_IM, 4, 1, 0 },
    { "is", PL031_STATE_IS, 4, 1, 0 },
};

static const PortlabStateSchema pl031_state_schema = {
    .version = PL031_STATE_VERSION,
    .fixed_size = PL031_STATE_PAYLOAD_SIZE_V1,
    .fields = pl031_state_fields,
    .num_fields = sizeof pl031_state_fields / sizeof pl031_state_fields[0],
};

const PortlabDeviceOps portlab_pl031_c_ops = {
    .abi_version = PORTLAB_ABI_VERSION,
    .type_name = "pl031",
    .region_size = PL031_REGION_SIZE,
    .num_irqs = PL031_NUM_IRQS,
    .num_timers = PL031_NUM_TIMERS,
    .access_sizes = PORTLAB_ACCESS_1 | PORTLAB_ACCESS_2 | PORTLAB_ACCESS_4 |
                    PORTLAB_ACCESS_8,
    .state_device_id = PL031_STATE_DEVICE_ID,
    .num_inputs = 0,
    .properties = NULL,
    .num_properties = 0,
    .state_schema = &pl031_state_schema,
    .create = pl031_create,
    .destroy = pl031_destroy,
    .reset = pl031_reset,
    .read = pl031_read,
    .write = pl031_write,
    .can_receive = pl031_can_receive,
    .receive = pl031_receive,
    .receive_break = pl031_receive_break,
    .timer_expired = pl031_timer_expired,
    .save = pl031_save,
    .load = pl031_load,
    .set_input = pl031_set_input,
};
