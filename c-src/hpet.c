/*
 * hpet.c - the C model of the IA-PC High Precision Event Timer.
 *
 * Behaviour follows docs/spec/hpet.md: QEMU 10.0's HPET, quirks included
 * (the ghost comparator, the sign-extended ISR mask of comparator 31, ISR
 * bits surviving reset, the 1 us clamp and the periodic double firing).
 * Section numbers in comments refer to that page. All register arithmetic
 * is on uint64_t, so every wrap the spec relies on is defined behaviour.
 */
#include "hpet.h"

#include <stdlib.h>

#include "common/devaccess.h"
#include "common/devstate.h"

#define LOW32 0xFFFFFFFFULL
#define HIGH32 0xFFFFFFFF00000000ULL
#define BIT63 0x8000000000000000ULL
/* decode()'s register for a comparator block beyond n (section 6). */
#define BLOCK_OUT_OF_RANGE UINT64_MAX

/* Section 4: one comparator. All 32 exist whatever n is. */
typedef struct HpetTimer {
    uint64_t config;
    uint64_t cmp;
    uint64_t fsb;
    uint64_t period;
    uint64_t cmp64;
    uint64_t last;
    uint64_t deadline;
    uint32_t wrap_flag;
    uint32_t armed;
} HpetTimer;

/* Section 4: the device's state. Private to this file. */
typedef struct HpetState {
    const PortlabHostOps *host;
    void *host_ctx;
    /* Creation properties, after the clamp of "timers". */
    uint32_t n;
    uint32_t msi;
    uint32_t intcap;
    uint32_t offset_saved;
    uint64_t capability;
    uint64_t config;
    uint64_t isr;
    uint64_t counter;
    uint64_t offset;
    uint32_t rtc_irq_level;
    HpetTimer timer[HPET_MAX_TIMERS];
} HpetState;

static const PortlabPropertyInfo hpet_properties[HPET_NUM_PROPERTIES] = {
    [HPET_PROP_TIMERS] = { "timers",
                           "number of comparators; QEMU 10.0 clamps it to 3..=32",
                           HPET_TIMERS_DEFAULT, 0, 255 },
    [HPET_PROP_MSI] = { "msi", "advertise FSB (MSI) delivery in Tn_FSB_INT_DEL_CAP",
                        0, 0, 1 },
    [HPET_PROP_INTCAP] = { "hpet-intcap",
                           "Tn_INT_ROUTE_CAP of every comparator (routes are not checked against it)",
                           HPET_INTCAP_DEFAULT, 0, 0xFFFFFFFFu },
    [HPET_PROP_OFFSET_SAVED] = { "hpet-offset-saved",
                                 "migrate the counter offset exactly (0: recompute it at load)",
                                 1, 0, 1 },
};

/* Section 12.2, in payload order; every payload byte in one field. */
static const PortlabStateField hpet_state_fields[] = {
    { "config", HPET_STATE_CONFIG, 8, 1, 0 },
    { "isr", HPET_STATE_ISR, 8, 1, 0 },
    { "counter", HPET_STATE_COUNTER, 8, 1, 0 },
    { "offset", HPET_STATE_OFFSET, 8, 1, 0 },
    { "num_timers", HPET_STATE_NUM_TIMERS, 4, 1, 0 },
    { "rtc_irq_level", HPET_STATE_RTC_IRQ_LEVEL, 4, 1, 0 },
    { "config", HPET_STATE_TN_CONFIG, 8, 1, PORTLAB_FIELD_IN_RECORD },
    { "cmp", HPET_STATE_TN_CMP, 8, 1, PORTLAB_FIELD_IN_RECORD },
    { "fsb", HPET_STATE_TN_FSB, 8, 1, PORTLAB_FIELD_IN_RECORD },
    { "period", HPET_STATE_TN_PERIOD, 8, 1, PORTLAB_FIELD_IN_RECORD },
    { "deadline", HPET_STATE_TN_DEADLINE, 8, 1, PORTLAB_FIELD_IN_RECORD },
    { "armed", HPET_STATE_TN_ARMED, 4, 1, PORTLAB_FIELD_IN_RECORD },
    { "wrap_flag", HPET_STATE_TN_WRAP_FLAG, 4, 1, PORTLAB_FIELD_IN_RECORD },
};

static const PortlabStateSchema hpet_state_schema = {
    .version = HPET_STATE_VERSION,
    .fixed_size = HPET_STATE_FIXED_SIZE,
    .record_name = "timer",
    .record_count_field = "num_timers",
    .record_size = HPET_STATE_TIMER_SIZE,
    .max_records = HPET_MAX_TIMERS,
    .fields = hpet_state_fields,
    .num_fields = sizeof hpet_state_fields / sizeof hpet_state_fields[0],
};

static HpetState *state_of(PortlabDevice *dev)
{
    return (HpetState *)(void *)dev;
}

/* Section 2: QEMU 10.0 logs no guest error for this device (it has only
 * trace points), and neither implementation logs one, so that a shadow
 * device sees the same (empty) diagnostics from both. */

static uint64_t now_ns(HpetState *s)
{
    return s->host->clock_ns(s->host_ctx);
}

static void set_line(HpetState *s, uint32_t line, uint32_t level)
{
    s->host->set_irq(s->host_ctx, line, level);
}

/* Section 2: deposit(old, s, l, v). l is 32 or 64, s is 0 or 32. */
static uint64_t deposit(uint64_t old, unsigned shift, unsigned len, uint64_t v)
{
    uint64_t m = len == 64 ? ~0ULL : ((1ULL << len) - 1) << shift;
    return (old & ~m) | ((v << shift) & m);
}

/* Section 2: QEMU's `1 << i` on an int, sign-extended for i = 31. */
static uint64_t isr_mask(uint32_t i)
{
    return i == 31 ? 0ULL - (1ULL << 31) : 1ULL << i;
}

static uint64_t tn_reset_config(const HpetState *s)
{
    return HPET_TN_RESET | (s->msi ? (uint64_t)HPET_TN_FSB_CAP : 0) |
           ((uint64_t)s->intcap << HPET_TN_INT_ROUTE_CAP_SHIFT);
}

static int enabled(const HpetState *s)
{
    return (s->config & HPET_CFG_ENABLE) != 0;
}

/* Section 7: TICKS() and NS(tick), modulo 2^64. */
static uint64_t ticks(HpetState *s)
{
    return (now_ns(s) + s->offset) / HPET_CLK_PERIOD_NS;
}

static uint64_t tick_ns(const HpetState *s, uint64_t tick)
{
    return tick * HPET_CLK_PERIOD_NS - s->offset;
}

/* Section 8.2: CMP64, with `config` passed so a load can use its own. */
static uint64_t cmp64_of(uint64_t config, uint64_t cur, uint64_t target)
{
    if (!(config & HPET_TN_32BIT)) {
        return target;
    }
    uint64_t r = (cur & HIGH32) | (target & LOW32);
    if (r < cur) {
        r += 1ULL << 32;
    }
    return r;
}

static uint64_t next_wrap(uint64_t cur)
{
    return (cur | LOW32) + 1;
}

/* Section 9.1: ROUTE, evaluated with the configuration of this moment. */
static uint32_t route(const HpetState *s, uint32_t i)
{
    if (i <= 1 && (s->config & HPET_CFG_LEGACY)) {
        return i == 0 ? HPET_IRQ_LEGACY_PIT : HPET_IRQ_LEGACY_RTC;
    }
    return (uint32_t)((s->timer[i].config & HPET_TN_INT_ROUTE_MASK) >>
                      HPET_TN_INT_ROUTE_SHIFT);
}

/* Section 9.1: UPDATE-IRQ. */
static void update_irq(HpetState *s, uint32_t i, int set)
{
    HpetTimer *t = &s->timer[i];
    uint32_t line = route(s, i);
    uint64_t m = isr_mask(i);
    if (set && (t->config & HPET_TN_LEVEL)) {
        s->isr |= m;
    } else {
        s->isr &= ~m;
    }
    if (set && (t->config & HPET_TN_ENABLE) && enabled(s)) {
        if (t->config & HPET_TN_FSB_ENABLE) {
            /* Section 9.6: one 32-bit write of FSB_INT_VAL to FSB_INT_ADDR. */
            if (s->host->mem_write != NULL) {
                s->host->mem_write(s->host_ctx, t->fsb >> 32, 4, t->fsb & LOW32);
            }
        } else if (t->config & HPET_TN_LEVEL) {
            set_line(s, line, 1);
        } else {
            /* qemu_irq_pulse: a line already up is only lowered. */
            set_line(s, line, 1);
            set_line(s, line, 0);
        }
    } else if (!(t->config & HPET_TN_FSB_ENABLE)) {
        /* Not delivered: the route is lowered whoever else drives it. */
        set_line(s, line, 0);
    }
}

/* Section 8.2: ARM, with the 1 us clamp of periodic comparators. */
static void arm(HpetState *s, uint32_t i, uint64_t tick)
{
    HpetTimer *t = &s->timer[i];
    uint64_t ns = tick_ns(s, tick);
    if ((t->config & HPET_TN_PERIODIC) && ns - t->last < HPET_MIN_PERIOD_NS) {
        ns = t->last + HPET_MIN_PERIOD_NS;
    }
    t->last = ns;
    t->armed = 1;
    if (!(ns & BIT63)) {
        s->host->timer_arm(s->host_ctx, i, ns);
        t->deadline = ns;
        return;
    }
    /* A negative expiry for QEMU: head of the queue, clamped to 0 (8.1). */
    if (s->host->timer_arm_first != NULL) {
        s->host->timer_arm_first(s->host_ctx, i);
    } else {
        s->host->timer_arm(s->host_ctx, i, 0);
    }
    t->deadline = 0;
}

/* Section 8.2: SET-TIMER, only ever called while ENABLE = 1. */
static void set_timer(HpetState *s, uint32_t i)
{
    HpetTimer *t = &s->timer[i];
    uint64_t cur = ticks(s);
    t->wrap_flag = 0;
    t->cmp64 = cmp64_of(t->config, cur, t->cmp);
    if ((t->config & HPET_TN_32BIT) && !(t->config & HPET_TN_PERIODIC) &&
        t->cmp64 > next_wrap(cur)) {
        /* 32-bit one-shot match beyond the next 2^32 boundary: stop there. */
        t->wrap_flag = 1;
        arm(s, i, next_wrap(cur));
        return;
    }
    arm(s, i, t->cmp64);
}

/* Section 8.2: DEL-TIMER. */
static void del_timer(HpetState *s, uint32_t i)
{
    s->host->timer_cancel(s->host_ctx, i);
    s->timer[i].armed = 0;
    s->timer[i].deadline = 0;
    if (s->isr & isr_mask(i)) {
        update_irq(s, i, 1);
    }
}

/*
 * Section 8.2: the catch-up of EXPIRE in closed form. QEMU adds the period
 * while s64(cmp64 - cur) < 0; that can take 2^63 steps, so count them.
 */
static uint64_t catch_up(uint64_t cmp64, uint64_t cur, uint64_t p)
{
    uint64_t diff = cmp64 - cur;
    uint64_t k;
    if (!(diff & BIT63)) {
        return cmp64;
    }
    if (!(p & BIT63)) {
        /* -d is in 1 .. 2^63 and p < 2^63: the sum cannot wrap. */
        uint64_t neg = 0 - diff;
        k = (neg + p - 1) / p;
    } else {
        /* Each step moves the signed distance down by 2^64 - p, until it
         * wraps past -2^63. diff - 2^63 is d + 2^63, in 0 .. 2^63 - 1. */
        k = (diff - BIT63) / (0 - p) + 1;
    }
    return cmp64 + k * p;
}

/* Section 8.2: EXPIRE, after the host timer was recorded as disarmed. */
static void expire(HpetState *s, uint32_t i)
{
    HpetTimer *t = &s->timer[i];
    uint64_t cur = ticks(s);
    if ((t->config & HPET_TN_PERIODIC) && t->period != 0) {
        t->cmp64 = catch_up(t->cmp64, cur, t->period);
        t->cmp = (t->config & HPET_TN_32BIT) ? t->cmp64 & LOW32 : t->cmp64;
        arm(s, i, t->cmp64);
    } else if (t->wrap_flag) {
        t->wrap_flag = 0;
        arm(s, i, t->cmp64);
    }
    update_irq(s, i, 1);
}

/* Section 8.5: Tn_CONF write. */
static void write_tn_conf(HpetState *s, uint32_t i, unsigned shift,
                          unsigned len, uint64_t v)
{
    HpetTimer *t = &s->timer[i];
    uint64_t old = t->config;
    uint64_t next = deposit(old, shift, len, v);
    next = (next & HPET_TN_CFG_WRITE_MASK) | (old & ~(uint64_t)HPET_TN_CFG_WRITE_MASK);
    if ((old & HPET_TN_LEVEL) && !(next & HPET_TN_LEVEL)) {
        /* Runs with the old config: the old route, the old FSB_EN. */
        update_irq(s, i, 0);
    }
    t->config = next;
    if (!(old & HPET_TN_ENABLE) && (next & HPET_TN_ENABLE) && (s->isr & isr_mask(i))) {
        update_irq(s, i, 1);
    }
    if (next & HPET_TN_32BIT) {
        t->cmp &= LOW32;
        t->period &= LOW32;
    }
    if (enabled(s)) {
        set_timer(s, i);
    }
}

/* Section 8.5: Tn_COMPARATOR write. */
static void write_tn_cmp(HpetState *s, uint32_t i, unsigned shift,
                         unsigned len, uint64_t v)
{
    HpetTimer *t = &s->timer[i];
    if (t->config & HPET_TN_32BIT) {
        if (shift == 32) {
            return; /* the high half is ignored in 32-bit mode */
        }
        len = 64;
        v &= LOW32;
    }
    if (!(t->config & HPET_TN_PERIODIC) || (t->config & HPET_TN_SETVAL)) {
        t->cmp = deposit(t->cmp, shift, len, v);
    }
    if (t->config & HPET_TN_PERIODIC) {
        t->period = deposit(t->period, shift, len, v);
    }
    t->config &= ~(uint64_t)HPET_TN_SETVAL;
    if (enabled(s)) {
        set_timer(s, i);
    }
}

/* Section 9.2: GEN_CONF write. */
static void write_gen_conf(HpetState *s, unsigned shift, unsigned len,
                           uint64_t v)
{
    uint64_t old = s->config;
    uint64_t next = deposit(old, shift, len, v);
    next = (next & HPET_CFG_WRITE_MASK) | (old & ~(uint64_t)HPET_CFG_WRITE_MASK);
    /* Stored first: the steps below see the new ENABLE and LEGACY. */
    s->config = next;
    if (!(old & HPET_CFG_ENABLE) && (next & HPET_CFG_ENABLE)) {
        s->offset = s->counter * HPET_CLK_PERIOD_NS - now_ns(s);
        for (uint32_t i = 0; i < s->n; i++) {
            if ((s->timer[i].config & HPET_TN_ENABLE) && (s->isr & isr_mask(i))) {
                update_irq(s, i, 1);
            }
            set_timer(s, i);
        }
    } else if ((old & HPET_CFG_ENABLE) && !(next & HPET_CFG_ENABLE)) {
        s->counter = ticks(s);
        for (uint32_t i = 0; i < s->n; i++) {
            del_timer(s, i);
        }
    }
    if (!(old & HPET_CFG_LEGACY) && (next & HPET_CFG_LEGACY)) {
        set_line(s, HPET_IRQ_PIT_DISABLE, 1);
        set_line(s, HPET_IRQ_LEGACY_PIT, 0);
        set_line(s, HPET_IRQ_LEGACY_RTC, 0);
    } else if ((old & HPET_CFG_LEGACY) && !(next & HPET_CFG_LEGACY)) {
        set_line(s, HPET_IRQ_LEGACY_PIT, 0);
        set_line(s, HPET_IRQ_PIT_DISABLE, 0);
        set_line(s, HPET_IRQ_LEGACY_RTC, s->rtc_irq_level);
    }
}

/* Section 9.3: GINTR_STA write, write 1 to clear (comparators 0..n-1). */
static void write_isr(HpetState *s, unsigned shift, uint64_t v)
{
    uint64_t cleared = (v << shift) & s->isr;
    for (uint32_t i = 0; i < s->n; i++) {
        if (cleared & isr_mask(i)) {
            update_irq(s, i, 0);
        }
    }
}

/*
 * Section 6 decoding. Returns the comparator index for a comparator block
 * (or -1 for a global offset); *reg gets the register within the block
 * (BLOCK_OUT_OF_RANGE for a block beyond n) or the global register.
 */
static int decode(const HpetState *s, uint64_t offset, uint64_t *reg)
{
    if (offset >= HPET_TIMER_BASE && offset < HPET_REGION_SIZE) {
        uint64_t i = (offset - HPET_TIMER_BASE) / HPET_TIMER_STRIDE;
        /* QEMU's check is i > n, so block n (the ghost, 8.7) decodes. */
        *reg = i > s->n ? BLOCK_OUT_OF_RANGE : offset & HPET_TN_REG_MASK;
        return (int)i;
    }
    *reg = offset & ~(uint64_t)4;
    return -1;
}

/* Section 10: the 64-bit register value R at offset (no side effects). */
static uint64_t read_reg(HpetState *s, uint64_t offset)
{
    uint64_t reg;
    int i = decode(s, offset, &reg);
    if (i >= 0) {
        const HpetTimer *t = &s->timer[i];
        switch (reg) {
        case HPET_TN_CONF:
            return t->config;
        case HPET_TN_CMP:
            return t->cmp;
        case HPET_TN_FSB:
            return t->fsb;
        case BLOCK_OUT_OF_RANGE:
            return 0;
        default:
            return 0;
        }
    }
    switch (reg) {
    case HPET_GCAP_ID:
        return s->capability;
    case HPET_GEN_CONF:
        return s->config;
    case HPET_GINTR_STA:
        return s->isr;
    case HPET_MAIN_CNT:
        return enabled(s) ? ticks(s) : s->counter;
    default:
        return 0;
    }
}

/* Section 10: a write of (shift, len, v) at offset. */
static void write_reg(HpetState *s, uint64_t offset, unsigned shift,
                      unsigned len, uint64_t v)
{
    uint64_t reg;
    int i = decode(s, offset, &reg);
    if (i >= 0) {
        switch (reg) {
        case HPET_TN_CONF:
            write_tn_conf(s, (uint32_t)i, shift, len, v);
            return;
        case HPET_TN_CMP:
            write_tn_cmp(s, (uint32_t)i, shift, len, v);
            return;
        case HPET_TN_FSB:
            /* No re-arm, no other effect. */
            s->timer[i].fsb = deposit(s->timer[i].fsb, shift, len, v);
            return;
        case BLOCK_OUT_OF_RANGE:
            return;
        default:
            return;
        }
    }
    switch (reg) {
    case HPET_GCAP_ID:
        return; /* read-only */
    case HPET_GEN_CONF:
        write_gen_conf(s, shift, len, v);
        return;
    case HPET_GINTR_STA:
        write_isr(s, shift, v);
        return;
    case HPET_MAIN_CNT:
        /* Section 7: stored whatever ENABLE is; unseen while enabled. */
        s->counter = deposit(s->counter, shift, len, v);
        return;
    default:
        return;
    }
}

static PortlabStatus hpet_create(const PortlabHostOps *host, void *host_ctx,
                                 const PortlabProperty *props,
                                 uint32_t num_props, PortlabDevice **out)
{
    uint64_t values[HPET_NUM_PROPERTIES];
    if (host == NULL || out == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    PortlabStatus st = devprops_resolve(host, host_ctx, "hpet", hpet_properties,
                                        HPET_NUM_PROPERTIES, props, num_props,
                                        values);
    if (st != PORTLAB_OK) {
        return st;
    }
    HpetState *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return PORTLAB_ERR_NO_MEMORY;
    }
    s->host = host;
    s->host_ctx = host_ctx;
    /* Section 1.2: QEMU 10.0 clamps "timers" instead of refusing it. */
    uint64_t n = values[HPET_PROP_TIMERS];
    if (n < HPET_MIN_TIMERS) {
        n = HPET_MIN_TIMERS;
    } else if (n > HPET_MAX_TIMERS) {
        n = HPET_MAX_TIMERS;
    }
    s->n = (uint32_t)n;
    s->msi = (uint32_t)values[HPET_PROP_MSI];
    s->intcap = (uint32_t)values[HPET_PROP_INTCAP];
    s->offset_saved = (uint32_t)values[HPET_PROP_OFFSET_SAVED];
    s->capability = ((uint64_t)HPET_CAP_CLK_PERIOD << 32) | HPET_CAP_ID |
                    ((n - 1) << HPET_CAP_NUM_TIM_SHIFT);
    /* Section 4: comparators n..31 (and so the ghost) stay all zero. */
    for (uint32_t i = 0; i < s->n; i++) {
        s->timer[i].config = tn_reset_config(s);
        s->timer[i].cmp = ~0ULL;
    }
    *out = (PortlabDevice *)(void *)s;
    return PORTLAB_OK;
}

static void hpet_destroy(PortlabDevice *dev)
{
    free(state_of(dev));
}

/* Section 11: ISR, fsb, cmp64, last and the ghost are all kept. */
static PortlabStatus hpet_reset(PortlabDevice *dev)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    HpetState *s = state_of(dev);
    for (uint32_t i = 0; i < s->n; i++) {
        HpetTimer *t = &s->timer[i];
        /* With the current configuration: may re-raise a level line. */
        del_timer(s, i);
        t->cmp = ~0ULL;
        t->config = tn_reset_config(s);
        t->period = 0;
        t->wrap_flag = 0;
    }
    set_line(s, HPET_IRQ_PIT_DISABLE, 0);
    s->counter = 0;
    s->offset = 0;
    s->config = 0;
    s->rtc_irq_level = 0;
    return PORTLAB_OK;
}

static PortlabStatus hpet_read(PortlabDevice *dev, uint64_t offset,
                               uint32_t size, uint64_t *value)
{
    /* Only what the ops table declares (4 and 8 bytes, aligned, inside
     * the region) reaches the registers. */
    if (dev == NULL || value == NULL ||
        !devaccess_ok(&portlab_hpet_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    /* Section 6: one evaluation of R, then the half the access selects. */
    unsigned shift = (offset & 4) ? 32 : 0;
    uint64_t r = read_reg(state_of(dev), offset) >> shift;
    *value = size == 4 ? r & LOW32 : r;
    return PORTLAB_OK;
}

static PortlabStatus hpet_write(PortlabDevice *dev, uint64_t offset,
                                uint32_t size, uint64_t value)
{
    if (dev == NULL || !devaccess_ok(&portlab_hpet_c_ops, offset, size)) {
        return PORTLAB_ERR_INVALID;
    }
    if (size == 4 && (value >> 32) != 0) {
        return PORTLAB_ERR_INVALID;
    }
    /* Section 6: an 8-byte access is one write of the whole register. */
    unsigned shift = (offset & 4) ? 32 : 0;
    write_reg(state_of(dev), offset, shift, size * 8u, value);
    return PORTLAB_OK;
}

static PortlabStatus hpet_can_receive(PortlabDevice *dev, uint32_t *room)
{
    if (dev == NULL || room == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    *room = 0; /* no serial input */
    return PORTLAB_OK;
}

static PortlabStatus hpet_receive(PortlabDevice *dev, uint8_t byte)
{
    (void)dev;
    (void)byte;
    return PORTLAB_ERR_INVALID;
}

static PortlabStatus hpet_receive_break(PortlabDevice *dev)
{
    /* No serial line: a break has nowhere to arrive. */
    return dev == NULL ? PORTLAB_ERR_INVALID : PORTLAB_OK;
}

/* Section 8.1: record the timer disarmed, then EXPIRE. */
static PortlabStatus hpet_timer_expired(PortlabDevice *dev, uint32_t timer)
{
    if (dev == NULL || timer >= HPET_NUM_TIMERS) {
        return PORTLAB_ERR_INVALID;
    }
    HpetState *s = state_of(dev);
    s->timer[timer].armed = 0;
    s->timer[timer].deadline = 0;
    expire(s, timer);
    return PORTLAB_OK;
}

/* Section 9.7: the PIT and RTC interrupt inputs. */
static PortlabStatus hpet_set_input(PortlabDevice *dev, uint32_t line,
                                    uint32_t level)
{
    if (dev == NULL || line >= HPET_NUM_INPUTS || level > 1) {
        return PORTLAB_ERR_INVALID;
    }
    HpetState *s = state_of(dev);
    if (line == HPET_INPUT_RTC) {
        /* Remembered so that leaving legacy mode can restore line 8. */
        s->rtc_irq_level = level;
    }
    if (!(s->config & HPET_CFG_LEGACY)) {
        set_line(s, line == HPET_INPUT_PIT ? HPET_IRQ_LEGACY_PIT
                                           : HPET_IRQ_LEGACY_RTC,
                 level);
    }
    return PORTLAB_OK;
}

/* Section 12.2: L = 40 + 48 n, n being the loading instance's. */
static uint32_t payload_len(uint16_t version, const void *ctx)
{
    const HpetState *s = ctx;
    (void)version; /* version 1 is the only one */
    return HPET_STATE_FIXED_SIZE + HPET_STATE_TIMER_SIZE * s->n;
}

static PortlabStatus hpet_save(PortlabDevice *dev, uint8_t *buf, uint32_t cap,
                               uint32_t *len)
{
    if (dev == NULL || len == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    HpetState *s = state_of(dev);
    uint32_t plen = payload_len(HPET_STATE_VERSION, s);
    uint8_t *p = devstate_begin_save(buf, cap, len, HPET_STATE_DEVICE_ID,
                                     HPET_STATE_VERSION, plen);
    if (p == NULL) {
        return PORTLAB_ERR_BUFFER_TOO_SMALL;
    }
    /* QEMU's pre_save stores TICKS(); computing it leaves the device as is. */
    uint64_t counter = enabled(s) ? ticks(s) : s->counter;
    devstate_put_u64(p + HPET_STATE_CONFIG, s->config);
    devstate_put_u64(p + HPET_STATE_ISR, s->isr);
    devstate_put_u64(p + HPET_STATE_COUNTER, counter);
    devstate_put_u64(p + HPET_STATE_OFFSET, s->offset);
    devstate_put_u32(p + HPET_STATE_NUM_TIMERS, s->n);
    devstate_put_u32(p + HPET_STATE_RTC_IRQ_LEVEL, s->rtc_irq_level);
    for (uint32_t i = 0; i < s->n; i++) {
        const HpetTimer *t = &s->timer[i];
        uint8_t *r = p + HPET_STATE_FIXED_SIZE + HPET_STATE_TIMER_SIZE * i;
        devstate_put_u64(r + HPET_STATE_TN_CONFIG, t->config);
        devstate_put_u64(r + HPET_STATE_TN_CMP, t->cmp);
        devstate_put_u64(r + HPET_STATE_TN_FSB, t->fsb);
        devstate_put_u64(r + HPET_STATE_TN_PERIOD, t->period);
        devstate_put_u64(r + HPET_STATE_TN_DEADLINE, t->armed ? t->deadline : 0);
        devstate_put_u32(r + HPET_STATE_TN_ARMED, t->armed);
        devstate_put_u32(r + HPET_STATE_TN_WRAP_FLAG, t->wrap_flag);
    }
    devstate_end_save(buf, plen);
    return PORTLAB_OK;
}

/* Section 12.2, step 7: the field bounds, in payload order. */
static int payload_in_range(const HpetState *s, const uint8_t *p)
{
    uint64_t config = devstate_get_u64(p + HPET_STATE_CONFIG);
    if (config > HPET_CFG_WRITE_MASK) {
        return 0;
    }
    if (devstate_get_u32(p + HPET_STATE_NUM_TIMERS) != s->n ||
        devstate_get_u32(p + HPET_STATE_RTC_IRQ_LEVEL) > 1) {
        return 0;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        const uint8_t *r = p + HPET_STATE_FIXED_SIZE + HPET_STATE_TIMER_SIZE * i;
        uint64_t tconf = devstate_get_u64(r + HPET_STATE_TN_CONFIG);
        uint64_t limit = (tconf & HPET_TN_32BIT) ? LOW32 : ~0ULL;
        uint64_t deadline = devstate_get_u64(r + HPET_STATE_TN_DEADLINE);
        uint32_t armed = devstate_get_u32(r + HPET_STATE_TN_ARMED);
        /* Read-only and reserved bits must be this instance's own. */
        if ((tconf & ~(uint64_t)HPET_TN_CFG_WRITE_MASK) != tn_reset_config(s) ||
            devstate_get_u64(r + HPET_STATE_TN_CMP) > limit ||
            devstate_get_u64(r + HPET_STATE_TN_PERIOD) > limit) {
            return 0;
        }
        if (armed > 1 || (armed ? (deadline & BIT63) != 0 : deadline != 0) ||
            (armed && !(config & HPET_CFG_ENABLE))) {
            return 0;
        }
        if (devstate_get_u32(r + HPET_STATE_TN_WRAP_FLAG) > 1) {
            return 0;
        }
    }
    return 1;
}

static PortlabStatus hpet_load(PortlabDevice *dev, const uint8_t *blob,
                               uint32_t len)
{
    if (dev == NULL) {
        return PORTLAB_ERR_INVALID;
    }
    HpetState *s = state_of(dev);
    uint16_t version = 0;
    const uint8_t *p = NULL;
    PortlabStatus st = devstate_check_ctx(blob, len, HPET_STATE_DEVICE_ID,
                                          HPET_STATE_VERSION, payload_len, s,
                                          &version, &p);
    if (st != PORTLAB_OK) {
        return st;
    }
    /* Everything is validated before anything changes. */
    if (!payload_in_range(s, p)) {
        return PORTLAB_ERR_OUT_OF_RANGE;
    }
    /* Step 1: replace the saved fields. */
    s->config = devstate_get_u64(p + HPET_STATE_CONFIG);
    s->isr = devstate_get_u64(p + HPET_STATE_ISR);
    s->counter = devstate_get_u64(p + HPET_STATE_COUNTER);
    s->offset = devstate_get_u64(p + HPET_STATE_OFFSET);
    s->rtc_irq_level = devstate_get_u32(p + HPET_STATE_RTC_IRQ_LEVEL);
    uint64_t now = now_ns(s);
    for (uint32_t i = 0; i < s->n; i++) {
        const uint8_t *r = p + HPET_STATE_FIXED_SIZE + HPET_STATE_TIMER_SIZE * i;
        HpetTimer *t = &s->timer[i];
        t->config = devstate_get_u64(r + HPET_STATE_TN_CONFIG);
        t->cmp = devstate_get_u64(r + HPET_STATE_TN_CMP);
        t->fsb = devstate_get_u64(r + HPET_STATE_TN_FSB);
        t->period = devstate_get_u64(r + HPET_STATE_TN_PERIOD);
        t->wrap_flag = devstate_get_u32(r + HPET_STATE_TN_WRAP_FLAG);
        /* Step 2: cmp64 from the saved counter, not TICKS(); the clamp
         * history is forgotten. */
        t->cmp64 = cmp64_of(t->config, s->counter, t->cmp);
        t->last = now - HPET_LOAD_LAST_BACK_NS;
    }
    /* Step 3: without a saved offset, keep the tick count, not its phase. */
    if (!s->offset_saved) {
        s->offset = s->counter * HPET_CLK_PERIOD_NS - now;
    }
    /* Step 4: host timers in index order (equal deadlines fire so). A saved
     * deadline 0 is an ordinary arm, as QEMU's timer_mod_ns(ts, 0). */
    for (uint32_t i = 0; i < s->n; i++) {
        const uint8_t *r = p + HPET_STATE_FIXED_SIZE + HPET_STATE_TIMER_SIZE * i;
        HpetTimer *t = &s->timer[i];
        if (devstate_get_u32(r + HPET_STATE_TN_ARMED)) {
            t->armed = 1;
            t->deadline = devstate_get_u64(r + HPET_STATE_TN_DEADLINE);
            s->host->timer_arm(s->host_ctx, i, t->deadline);
        } else {
            t->armed = 0;
            t->deadline = 0;
            s->host->timer_cancel(s->host_ctx, i);
        }
    }
    return PORTLAB_OK;
}

const PortlabDeviceOps portlab_hpet_c_ops = {
    .abi_version = PORTLAB_ABI_VERSION,
    .type_name = "hpet",
    .region_size = HPET_REGION_SIZE,
    .num_irqs = HPET_NUM_IRQS,
    .num_timers = HPET_NUM_TIMERS,
    .access_sizes = PORTLAB_ACCESS_4 | PORTLAB_ACCESS_8,
    .state_device_id = HPET_STATE_DEVICE_ID,
    .num_inputs = HPET_NUM_INPUTS,
    .properties = hpet_properties,
    .num_properties = HPET_NUM_PROPERTIES,
    .state_schema = &hpet_state_schema,
    .create = hpet_create,
    .destroy = hpet_destroy,
    .reset = hpet_reset,
    .read = hpet_read,
    .write = hpet_write,
    .can_receive = hpet_can_receive,
    .receive = hpet_receive,
    .receive_break = hpet_receive_break,
    .timer_expired = hpet_timer_expired,
    .save = hpet_save,
    .load = hpet_load,
    .set_input = hpet_set_input,
};
