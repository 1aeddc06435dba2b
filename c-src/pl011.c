/*
 * pl011.c - the C model of the ARM PrimeCell PL011 UART.
 *
 * Behaviour follows docs/spec (the project's copy of the contract,
 * ../shared/spec/pl011.md): QEMU's model, not the silicon. Section numbers
 * in the comments refer to that page. This is the "before" of the port:
 * the Rust rewrite in crates/portlab-pl011 must behave identically.
 */
#include "pl011.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/devaccess.h"
#include "common/devstate.h"

/* Section 3: the device's state. Private to this file. */
typedef struct Pl011State {
    const PortlabHostOps *host;
    void *host_ctx;
    uint32_t flags;
    uint32_t lcr;
    uint32_t rsr;
    uint32_t cr;
    uint32_t dmacr;
    uint32_t int_enabled;
    uint32_t int_level;
    uint32_t read_fifo[PL011_FIFO_SLOTS];
    uint32_t ilpr;
    uint32_t ibrd;
    uint32_t fbrd;
    uint32_t ifl;
    uint32_t read_pos;
    uint32_t read_count;
    uint32_t read_trigger;
} Pl011State;

/* Section 8.1: which interrupt bits drive each output line. */
static const uint32_t irq_line_masks[PL011_NUM_IRQS] = {
    PL011_INT_MASK, PL011_INT_RX, PL011_INT_TX,
    PL011_INT_RT,   PL011_INT_MS, PL011_INT_E,
};

static const uint8_t id_arm[8] = {
    PL011_ID0, PL011_ID1, PL011_ID2, PL011_ID3,
    PL011_ID4, PL011_ID5, PL011_ID6, PL011_ID7,
};

static Pl011State *state_of(PortlabDevice *dev)
{
    return (Pl011State *)(void *)dev;
}

static void log_msg(Pl011State *s, uint32_t kind, const char *fmt,
                    uint64_t offset)
{
    char msg[64];
    snprintf(msg, sizeof msg, fmt, (unsigned long long)offset);
    s->host->log(s->host_ctx, kind, msg);
}

static uint32_t fifo_depth(const Pl011State *s)
{
    return (s->lcr & PL011_LCR_FEN) ? PL011_FIFO_SLOTS : 1u;
}

/* UPDATE: drive all six lines from int_level AND int_enabled, line 0 first. */
static void pl011_update(Pl011State *s)
{
    uint32_t pending = s->int_level & s->int_enabled;
    for (uint32_t line = 0; line < PL011_NUM_IRQS; line++) {
        s->host->set_irq(s->host_ctx, line,
                         (pending & irq_line_masks[line]) != 0 ? 1u : 0u);
    }
}

/* RX-PUT: no room check; a full FIFO overwrites the oldest entry (7.4). */
static void pl011_rx_put(Pl011State *s, uint32_t value)
{
    uint32_t depth = fifo_depth(s);
    uint32_t slot = (s->read_pos + s->read_count) & (depth - 1u);
    s->read_fifo[slot] = value;
    s->read_count++;
    s->flags &= ~(uint32_t)PL011_FR_RXFE;
    if (s->read_count == depth) {
        s->flags |= PL011_FR_RXFF;
    }
    if (s->read_count == s->read_trigger) {
        s->int_level |= PL011_INT_RX;
        pl011_update(s);
    }
}

static uint32_t pl011_dr_read(Pl011State *s)
{
    uint32_t depth = fifo_depth(s);
    s->flags &= ~(uint32_t)PL011_FR_RXFF;
    uint32_t c = s->read_fifo[s->read_pos];
    if (s->read_count > 0) {
        s->read_count--;
        s->read_pos = (s->read_pos + 1u) & (depth - 1u);
    }
    if (s->read_count == 0) {
        s->flags |= PL011_FR_RXFE;
    }
    if (s->read_count == s->read_trigger - 1u) {
        s->int_level &= ~(uint32_t)PL011_INT_RX;
    }
    s->rsr = c >> PL011_RSR_SHIFT;
    pl011_update(s);
    return c;
}

static void pl011_dr_write(Pl011State *s, uint32_t value)
{
    uint8_t byte = (uint8_t)(value & PL011_DR_DATA);
    if (!(s->cr & PL011_CR_UARTEN)) {
        s->host->log(s->host_ctx, PORTLAB_LOG_GUEST_ERROR,
                     "PL011 data written to disabled UART");
    }
    if (!(s->cr & PL011_CR_TXE)) {
        s->host->log(s->host_ctx, PORTLAB_LOG_GUEST_ERROR,
                     "PL011 data written to disabled TX UART");
    }
    s->host->serial_send(s->host_ctx, &byte, 1);
    if (s->cr & PL011_CR_LBE) {
        pl011_rx_put(s, byte);
    }
    s->int_level |= PL011_INT_TX;
    pl011_update(s);
}

/* 7.5: FIFO reset when FEN changes. */
static void pl011_fifo_reset(Pl011State *s)
{
    s->read_count = 0;
    s->read_pos = 0;
    s->flags &= ~(uint32_t)(PL011_FR_RXFF | PL011_FR_TXFF);
    s->flags |= PL011_FR_RXFE | PL011_FR_TXFE;
}

static void pl011_lcr_write(Pl011State *s, uint32_t value)
{
    uint32_t changed = s->lcr ^ value;
    if (changed & PL011_LCR_FEN) {
        pl011_fifo_reset(s);
    }
    if (changed & PL011_LCR_BRK) {
        uint32_t on = (value & PL011_LCR_BRK) ? 1u : 0u;
        s->host->serial_set_break(s->host_ctx, on);
        /* 9.2: the looped break entry uses the old FEN's depth. */
        if (on && (s->cr & PL011_CR_LBE)) {
            pl011_rx_put(s, PL011_DR_BE);
        }
    }
    s->lcr = value;
    s->read_trigger = 1;
}

/* 9.3: loopback modem reflection, after every CR write with LBE set. */
static void pl011_loopback_modem(Pl011State *s)
{
    uint32_t fr = s->flags & ~(uint32_t)(PL011_FR_RI | PL011_FR_DCD |
                                         PL011_FR_CTS | PL011_FR_DSR);
    if (s->cr & PL011_CR_OUT2) {
        fr |= PL011_FR_RI;
    }
    if (s->cr & PL011_CR_OUT1) {
        fr |= PL011_FR_DCD;
    }
    if (s->cr & PL011_CR_RTS) {
        fr |= PL011_FR_CTS;
    }
    if (s->cr & PL011_CR_DTR) {
        fr |= PL011_FR_DSR;
    }
    s->flags = fr;

    uint32_t il = s->int_level & ~(uint32_t)PL011_INT_MS;
    if (fr & PL011_FR_DSR) {
        il |= PL011_INT_DSR;
    }
    if (fr & PL011_FR_DCD) {
        il |= PL011_INT_DCD;
    }
    if (fr & PL011_FR_CTS) {
        il |= PL011_INT_CTS;
    }
    if (fr & PL011_FR_RI) {
        il |= PL011_INT_RI;
    }
    s->int_level = il;
    pl011_update(s);
}

/* One 32-bit register read, decoded by offset >> 2 (section 4). A
 * DevAccessRead32: devaccess_read_split calls it once per 32-bit unit. */
static uint32_t pl011_read32(void *opaque, uint64_t offset)
{
    Pl011State *s = opaque;
    switch (offset >> 2) {
    case PL011_DR >> 2:
        return pl011_dr_read(s);
    case PL011_RSR >> 2:
        return s->rsr;
    case PL011_FR >> 2:
        return s->flags;
    case PL011_ILPR >> 2:
        return s->ilpr;
    case PL011_IBRD >> 2:
        return s->ibrd;
    case PL011_FBRD >> 2:
        return s->fbrd;
    case PL011_LCR_H >> 2:
        return s->lcr;
    case PL011_CR >> 2:
        return s->cr;
    case PL011_IFLS >> 2:
        return s->ifl;
    case PL011_IMSC >> 2:
        return s->int_enabled;
    case PL011_RIS >> 2:
        return s->int_level;
    case PL011_MIS >> 2:
        return s->int_level & s->int_enabled;
    case PL011_DMACR >> 2:
        return s->dmacr;
    default:
        if ((offset >> 2) >= (PL011_PERIPH_ID0 >> 2) &&
            (offset >> 2) <= (PL011_PCELL_ID3 >> 2)) {
            return id_arm[(offset - PL011_PERIPH_ID0) >> 2];
        }
        log_msg(s, PORTLAB_LOG_GUEST_ERROR, "pl011_read: Bad offset 0x%llx",
                offset);
        return 0;
    }
}

/* One 32-bit register write, decoded by offset >> 2 (section 10). A
 * DevAccessWrite32, like pl011_read32. */
static void pl011_write32(void *opaque, uint64_t offset, uint32_t value)
{
    Pl011State *s = opaque;
    switch (offset >> 2) {
    case PL011_DR >> 2:
        pl011_dr_write(s, value);
        break;
    case PL011_RSR >> 2:
        s->rsr = 0;
        break;
    case PL011_FR >> 2:
        /* Read-only, ignored without a guest error. */
        break;
    case PL011_ILPR >> 2:
        s->ilpr = value;
        break;
    case PL011_IBRD >> 2:
        s->ibrd = value & PL011_IBRD_MASK;
        break;
    case PL011_FBRD >> 2:
        s->fbrd = value & PL011_FBRD_MASK;
        break;
    case PL011_LCR_H >> 2:
        pl011_lcr_write(s, value);
        break;
    case PL011_CR >> 2:
        s->cr = value;
        if (value & PL011_CR_LBE) {
            pl011_loopback_modem(s);
        }
        break;
    case PL011_IFLS >> 2:
        s->ifl = value;
        s->read_trigger = 1;
        break;
    case PL011_IMSC >> 2:
        s->int_enabled = value;
        pl011_update(s);
        break;
    case PL011_ICR >> 2:
        s->int_level &= ~value;
        pl011_update(s);
        break;
    case PL011_DMACR >> 2:
        s->dmacr = value;
        if (value & (PL011_DMACR_RXDMAE | PL011_DMACR_TXDMAE)) {
            s->host->log(s->host_ctx, PORTLAB_LOG_UNIMPLEMENTED,
                         "pl011: DMA not implemented");
        }
        break;
    default:
        log_msg(s, PORTLAB_LOG_GUEST_ERROR, "pl011_write: Bad offset 0x%llx",
                offset);
        break;
    }
}

static void pl011_reset_state(Pl011State *s)
{
    s->lcr = 0;
    s->rsr = 0;
    s->dmacr = 0;
    s->int_enabled = 0;
    s->int_level = 0;
    s->ilpr = 0;
    s->ibrd = 0;
    s->fbrd = 0;
    s->ifl = PL011_IFLS_RESET;
    s->cr = PL011_CR_RESET;
    s->flags = PL011_FR_RESET;
    s->read_count = 0;
    s->read_pos = 0;
    s->read_trigger = 1;
}

static PortlabStatus pl011_create(const PortlabHostOps *host, void *host_ctx,
                                  const PortlabProperty *props,
                                  uint32_t num_props, PortlabDevice **out)
{
    if (host == NULL || out == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    /* The PL011 has no creation properties: any property is refused. */
    if (devprops_resolve(host, host_ctx, "pl011", NULL, 0, props, num_props,
                         NULL) != PORTLAB_OK) {
        return PORTLAB_ERR_INVALID;
    }
    Pl011State *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return PORTLAB_ERR_NO_MEMORY;
    }
    s->host = host;
    s->host_ctx = host_ctx;
    pl011_reset_state(s);
    *out = (PortlabDevice *)(void *)s;
    return PORTLAB_OK;
}

static void pl011_destroy(PortlabDevice *dev)
{
    free(state_of(dev));
}

static PortlabStatus pl011_reset(PortlabDevice *dev)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    /* Section 11: read_fifo is kept and no line changes. */
    pl011_reset_state(state_of(dev));
    return PORTLAB_OK;
}

/* Section 5: the sizes and region the ops table declares are the only
 * accesses that reach the registers, and the device works in 32-bit units:
 * an 8-byte access is two 32-bit ones, a 1- or 2-byte access is a 32-bit
 * one at the same offset (read masked, write zero-extended). */
static PortlabStatus pl011_read(PortlabDevice *dev, uint64_t offset,
                                uint32_t size, uint64_t *value)
{
    if (dev == NULL || value == NULL ||
        !devaccess_ok(&portlab_pl011_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    *value = devaccess_read_split(state_of(dev), pl011_read32, offset, size);
    return PORTLAB_OK;
}

static PortlabStatus pl011_write(PortlabDevice *dev, uint64_t offset,
                                 uint32_t size, uint64_t value)
{
    if (dev == NULL || !devaccess_ok(&portlab_pl011_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    return devaccess_write_split(state_of(dev), pl011_write32, offset, size,
                                 value);
}

static PortlabStatus pl011_can_receive(PortlabDevice *dev, uint32_t *room)
{
    if (dev == NULL || room == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    Pl011State *s = state_of(dev);
    uint32_t depth = fifo_depth(s);
    *room = s->read_count < depth ? depth - s->read_count : 0;
    return PORTLAB_OK;
}

static PortlabStatus pl011_receive(PortlabDevice *dev, uint8_t byte)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    Pl011State *s = state_of(dev);
    /* 9.3: loopback disconnects the RX pin; the byte is dropped. */
    if (!(s->cr & PL011_CR_LBE)) {
        pl011_rx_put(s, byte);
    }
    return PORTLAB_OK;
}

static PortlabStatus pl011_receive_break(PortlabDevice *dev)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    Pl011State *s = state_of(dev);
    if (!(s->cr & PL011_CR_LBE)) {
        pl011_rx_put(s, PL011_DR_BE);
    }
    return PORTLAB_OK;
}

static PortlabStatus pl011_timer_expired(PortlabDevice *dev, uint32_t timer)
{
    (void)dev;
    (void)timer;
    /* The PL011 arms no timers. */
    return PORTLAB_ERR_INVALID;
}

/* ABI 2: the PL011 has no input lines. */
static PortlabStatus pl011_set_input(PortlabDevice *dev, uint32_t line,
                                     uint32_t level)
{
    (void)dev;
    (void)line;
    (void)level;
    return PORTLAB_ERR_INVALID;
}

/* Section 12.2 as data (ABI 2): what every tool reads the payload by. */
static const PortlabStateField pl011_state_fields[] = {
    { "flags", PL011_STATE_FLAGS, 4, 1, 0 },
    { "lcr", PL011_STATE_LCR, 4, 1, 0 },
    { "rsr", PL011_STATE_RSR, 4, 1, 0 },
    { "cr", PL011_STATE_CR, 4, 1, 0 },
    { "dmacr", PL011_STATE_DMACR, 4, 1, 0 },
    { "int_enabled", PL011_STATE_INT_ENABLED, 4, 1, 0 },
    { "int_level", PL011_STATE_INT_LEVEL, 4, 1, 0 },
    { "read_fifo", PL011_STATE_READ_FIFO, 4, PL011_FIFO_SLOTS, 0 },
    { "ilpr", PL011_STATE_ILPR, 4, 1, 0 },
    { "ibrd", PL011_STATE_IBRD, 4, 1, 0 },
    { "fbrd", PL011_STATE_FBRD, 4, 1, 0 },
    { "ifl", PL011_STATE_IFL, 4, 1, 0 },
    { "read_pos", PL011_STATE_READ_POS, 4, 1, 0 },
    { "read_count", PL011_STATE_READ_COUNT, 4, 1, 0 },
};

static const PortlabStateSchema pl011_state_schema = {
    .version = PL011_STATE_VERSION,
    .fixed_size = PL011_STATE_PAYLOAD_SIZE_V1,
    .fields = pl011_state_fields,
    .num_fields = sizeof pl011_state_fields / sizeof pl011_state_fields[0],
};

/* Section 12.2: payload field order, version 1. */
static void put_payload(const Pl011State *s, uint8_t *p)
{
    devstate_put_u32(p + PL011_STATE_FLAGS, s->flags);
    devstate_put_u32(p + PL011_STATE_LCR, s->lcr);
    devstate_put_u32(p + PL011_STATE_RSR, s->rsr);
    devstate_put_u32(p + PL011_STATE_CR, s->cr);
    devstate_put_u32(p + PL011_STATE_DMACR, s->dmacr);
    devstate_put_u32(p + PL011_STATE_INT_ENABLED, s->int_enabled);
    devstate_put_u32(p + PL011_STATE_INT_LEVEL, s->int_level);
    for (uint32_t i = 0; i < PL011_FIFO_SLOTS; i++) {
        devstate_put_u32(p + PL011_STATE_READ_FIFO + 4 * i, s->read_fifo[i]);
    }
    devstate_put_u32(p + PL011_STATE_ILPR, s->ilpr);
    devstate_put_u32(p + PL011_STATE_IBRD, s->ibrd);
    devstate_put_u32(p + PL011_STATE_FBRD, s->fbrd);
    devstate_put_u32(p + PL011_STATE_IFL, s->ifl);
    devstate_put_u32(p + PL011_STATE_READ_POS, s->read_pos);
    devstate_put_u32(p + PL011_STATE_READ_COUNT, s->read_count);
}

static uint32_t payload_len_for_version(uint16_t version)
{
    (void)version; /* version 1 is the only one */
    return PL011_STATE_PAYLOAD_SIZE_V1;
}

static PortlabStatus pl011_save(PortlabDevice *dev, uint8_t *buf, uint32_t cap,
                                uint32_t *len)
{
    if (dev == NULL || len == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    uint8_t *payload =
        devstate_begin_save(buf, cap, len, PL011_STATE_DEVICE_ID,
                            PL011_STATE_VERSION, PL011_STATE_PAYLOAD_SIZE_V1);
    if (payload == NULL) {
        return PORTLAB_ERR_BUFFER_TOO_SMALL;
    }
    put_payload(state_of(dev), payload);
    devstate_end_save(buf, PL011_STATE_PAYLOAD_SIZE_V1);
    return PORTLAB_OK;
}

static PortlabStatus pl011_load(PortlabDevice *dev, const uint8_t *blob,
                                uint32_t len)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    uint16_t version = 0;
    const uint8_t *p = NULL;
    PortlabStatus status =
        devstate_check(blob, len, PL011_STATE_DEVICE_ID, PL011_STATE_VERSION,
                       payload_len_for_version, &version, &p);
    if (status != PORTLAB_OK) {
        return status;
    }
    /* Decode into a scratch copy; the device changes only if all is valid. */
    Pl011State n = *state_of(dev);
    n.flags = devstate_get_u32(p + PL011_STATE_FLAGS);
    n.lcr = devstate_get_u32(p + PL011_STATE_LCR);
    n.rsr = devstate_get_u32(p + PL011_STATE_RSR);
    n.cr = devstate_get_u32(p + PL011_STATE_CR);
    n.dmacr = devstate_get_u32(p + PL011_STATE_DMACR);
    n.int_enabled = devstate_get_u32(p + PL011_STATE_INT_ENABLED);
    n.int_level = devstate_get_u32(p + PL011_STATE_INT_LEVEL);
    int fifo_ok = 1;
    for (uint32_t i = 0; i < PL011_FIFO_SLOTS; i++) {
        n.read_fifo[i] = devstate_get_u32(p + PL011_STATE_READ_FIFO + 4 * i);
        if (n.read_fifo[i] > 0xFFFu) {
            fifo_ok = 0;
        }
    }
    n.ilpr = devstate_get_u32(p + PL011_STATE_ILPR);
    n.ibrd = devstate_get_u32(p + PL011_STATE_IBRD);
    n.fbrd = devstate_get_u32(p + PL011_STATE_FBRD);
    n.ifl = devstate_get_u32(p + PL011_STATE_IFL);
    n.read_pos = devstate_get_u32(p + PL011_STATE_READ_POS);
    n.read_count = devstate_get_u32(p + PL011_STATE_READ_COUNT);
    n.read_trigger = 1;
    if (n.flags > PL011_FR_MASK || n.rsr > PL011_RSR_MASK ||
        n.int_level > PL011_INT_MASK || !fifo_ok ||
        n.ibrd > PL011_IBRD_MASK || n.fbrd > PL011_FBRD_MASK ||
        n.read_pos >= PL011_FIFO_SLOTS ||
        (!(n.lcr & PL011_LCR_FEN) && n.read_pos != 0) ||
        n.read_count > PL011_FIFO_SLOTS) {
        return PORTLAB_ERR_OUT_OF_RANGE;
    }
    /* No UPDATE: line levels belong to the host and carry over. */
    *state_of(dev) = n;
    return PORTLAB_OK;
}

const PortlabDeviceOps portlab_pl011_c_ops = {
    .abi_version = PORTLAB_ABI_VERSION,
    .type_name = "pl011",
    .region_size = PL011_REGION_SIZE,
    .num_irqs = PL011_NUM_IRQS,
    .num_timers = 0,
    .access_sizes = PORTLAB_ACCESS_1 | PORTLAB_ACCESS_2 | PORTLAB_ACCESS_4 |
                    PORTLAB_ACCESS_8,
    .state_device_id = PL011_STATE_DEVICE_ID,
    .num_inputs = 0,
    .properties = NULL,
    .num_properties = 0,
    .state_schema = &pl011_state_schema,
    .create = pl011_create,
    .destroy = pl011_destroy,
    .reset = pl011_reset,
    .read = pl011_read,
    .write = pl011_write,
    .can_receive = pl011_can_receive,
    .receive = pl011_receive,
    .receive_break = pl011_receive_break,
    .timer_expired = pl011_timer_expired,
    .save = pl011_save,
    .load = pl011_load,
    .set_input = pl011_set_input,
};
