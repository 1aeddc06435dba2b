/*
 * trace_runner.c - a trace runner in C, for hosts without a Rust
 * toolchain (the roadmap worry: Rust tier 2/3 platforms must keep a
 * working C build).
 *
 * It implements the same board as crates/portlab-board (docs/spec/
 * trace-format.md, versions 1 and 2: MMIO dispatch with the size and
 * alignment rules, IRQ line levels, input lines, serial input delivery,
 * guest-memory writes, the virtual clock and its timers, creation
 * properties, reset, migration) on top of the device interface only, and
 * prints the same canonical event log. CI compares its output and exit
 * status with `portlab run --impl c` on every trace, so every rule here
 * follows crates/portlab-board/src/board.rs and trace/{parse,run}.rs.
 *
 * The board's devices come from one list, board_devices.h. `make -C c-src`
 * builds the runner with the C models; `make -C c-src rust` also links the
 * Rust device library and can then run the Rust rewrites (x-pl011-rust,
 * ...): a C core hosting Rust devices, and shadow devices (`--impl
 * shadow`, see "Shadow devices" below): the C model answers the guest, the
 * Rust rewrite runs beside it, and the first difference stops the run.
 *
 * Usage: portlab-run [--impl c|rust|shadow] [--device NAME=IMPL]... [-v] [--save-dir DIR] TRACE...
 * --save-dir DIR: after each trace, every created device's saved state
 * goes to DIR/TRACE.DEVICE.bin (TRACE: the trace's path with `/` made
 * `_`), so that builds on other hosts can be compared byte for byte with
 * this one's (the container is little-endian on every host).
 * Exit status: 0 ok, 1 a failed expectation or a shadow divergence, 2 a
 * bad trace or usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/devaccess.h"
#include "portlab_device.h"

/* Every ops table of the board, declared from the one list (a device added
 * to board_devices.h needs no #include here). */
#ifdef PORTLAB_WITH_RUST
#define PORTLAB_BOARD_DEVICE(name, c_ops, rust_ops)                                                                    \
    extern const PortlabDeviceOps c_ops;                                                                               \
    extern const PortlabDeviceOps rust_ops;
#else
#define PORTLAB_BOARD_DEVICE(name, c_ops, rust_ops) extern const PortlabDeviceOps c_ops;
#endif
#include "board_devices.h"
#undef PORTLAB_BOARD_DEVICE

#ifdef PORTLAB_WITH_RUST
#define RUST_TABLE(ops) (&(ops))
#else
#define RUST_TABLE(ops) NULL
#endif

enum Impl { IMPL_C = 0, IMPL_RUST = 1, IMPL_SHADOW = 2 };

typedef struct BoardDevice {
    const char *name;
    /* Indexed by IMPL_C and IMPL_RUST; NULL where this build has none. */
    const PortlabDeviceOps *impls[2];
} BoardDevice;

/* The board, in board order. */
static const BoardDevice board_devices[] = {
#define PORTLAB_BOARD_DEVICE(name, c_ops, rust_ops) {#name, {&(c_ops), RUST_TABLE(rust_ops)}},
#include "board_devices.h"
#undef PORTLAB_BOARD_DEVICE
};

#define NUM_DEVICES (sizeof board_devices / sizeof board_devices[0])

#define MAX_LINE_BYTES (16u * 1024u * 1024u)
#define DEFAULT_EPOCH 1700000000ull
/* Timer queue sequence numbers (board.rs, Shared): ordinary arms count up
 * from 2^63, arm-first arms count down from 2^63 - 1. */
#define FIRST_TIMER_SEQ (UINT64_C(1) << 63)
#define FIRST_ARM_FIRST_SEQ ((UINT64_C(1) << 63) - 1)
/* The most timer expiries one `advance` may run while the clock stands
 * still (board.rs, MAX_EXPIRIES_PER_ADVANCE): the next one is a trace
 * error. */
#define MAX_EXPIRIES_PER_ADVANCE 1000000u

/* An armed timer's place in the queue: key (deadline, seq). */
typedef struct Timer {
    int armed;
    uint64_t deadline;
    uint64_t seq;
} Timer;

struct Board;

/* One call a device made to its host, as a shadow run records it to
 * compare the C model's calls with the Rust rewrite's, in order. */
enum EffectKind { FX_IRQ, FX_TX, FX_BREAK, FX_TIMER_ARM, FX_TIMER_CANCEL, FX_LOG, FX_MEM, FX_TIMER_ARM_FIRST };

typedef struct Effect {
    enum EffectKind kind;
    uint32_t a;  /* line, byte, on, timer, log kind or size */
    uint64_t b;  /* level, deadline or address */
    uint64_t c;  /* value */
    char *text;  /* log message (owned), else NULL */
} Effect;

typedef struct Effects {
    Effect *e;
    size_t n, cap;
    int lost; /* an allocation failed: the record is incomplete */
} Effects;

/* The host side of one instance (board.rs, BoardHost): what a device's
 * callbacks reach. A migration creates a new one for the new instance. */
typedef struct HostCtx {
    struct Board *board;
    size_t slot;
    uint32_t num_irqs;
    uint32_t num_timers;
    /* Shadow runs only (NULL, 1 otherwise): where the instance's calls are
     * recorded, and whether they also reach the board (the C model's) or
     * are only recorded (the Rust rewrite's). */
    Effects *record;
    int perform;
} HostCtx;

typedef struct Slot {
    size_t index; /* in board_devices */
    const char *name;
    const PortlabDeviceOps *const *impls;
    enum Impl impl;
    const PortlabDeviceOps *ops;
    PortlabDevice *dev;
    HostCtx *host;
    /* Output line levels (board state), as many as any implementation has. */
    uint8_t *levels;
    uint32_t num_levels;
    /* Timers, as many as any implementation has. */
    Timer *timers;
    uint32_t num_timer_slots;
    /* Creation properties from the trace's `config` line (names point
     * into props_text). */
    int configured;
    PortlabProperty *props;
    uint32_t num_props;
    char *props_text;
    /* Pending serial input: a growable queue. */
    uint8_t *pending;
    size_t pending_head, pending_len, pending_cap;
} Slot;

typedef struct Board {
    Slot slots[NUM_DEVICES];
    uint64_t clock_ns;
    uint64_t epoch;
    uint64_t timer_seq;
    uint64_t first_seq;
    int created;
    int verbose;
    const char *file;
    uint64_t line;
    unsigned long long diagnostics;
    /* The first shadow divergence (exit status 1; 2 if recording failed)
     * and its message, once there is one. */
    int shadow_status;
    char shadow_text[512];
} Board;

/* ---- Errors ------------------------------------------------------------ */

static char error_text[512];

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return 2;
}

static const char *status_name(PortlabStatus st)
{
    switch (st) {
    case PORTLAB_ERR_INVALID: return "invalid argument";
    case PORTLAB_ERR_NO_MEMORY: return "out of memory";
    case PORTLAB_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case PORTLAB_ERR_POISONED: return "device instance failed earlier and refuses further use";
    case PORTLAB_ERR_TRUNCATED: return "migration load failed: truncated";
    case PORTLAB_ERR_BAD_MAGIC: return "migration load failed: bad-magic";
    case PORTLAB_ERR_WRONG_DEVICE: return "migration load failed: wrong-device";
    case PORTLAB_ERR_BAD_VERSION: return "migration load failed: bad-version";
    case PORTLAB_ERR_FUTURE_VERSION: return "migration load failed: future-version";
    case PORTLAB_ERR_BAD_LENGTH: return "migration load failed: bad-length";
    case PORTLAB_ERR_BAD_CRC: return "migration load failed: bad-crc";
    case PORTLAB_ERR_OUT_OF_RANGE: return "migration load failed: out-of-range";
    default: return "unknown status";
    }
}

/* "pl011, pl031, ...": the board's device names, for messages. */
static const char *device_list(void)
{
    static char text[256];
    if (text[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < NUM_DEVICES && used < sizeof text; i++) {
            int n = snprintf(text + used, sizeof text - used, "%s%s", i ? ", " : "", board_devices[i].name);
            if (n < 0) break;
            used += (size_t)n;
        }
    }
    return text;
}

static const char *impl_label(enum Impl impl)
{
    return impl == IMPL_C ? "C" : impl == IMPL_RUST ? "Rust" : "shadow";
}

#ifdef PORTLAB_WITH_RUST
static const PortlabDeviceOps *shadow_table(const Slot *s);
#endif

/* The ops table of `impl` for a slot, or NULL (with error_text set). */
static const PortlabDeviceOps *implementation(const Slot *s, enum Impl impl)
{
    if (impl == IMPL_SHADOW) {
#ifdef PORTLAB_WITH_RUST
        if (s->impls[IMPL_RUST] != NULL) {
            return shadow_table(s);
        }
        /* Nothing to compare with: the C model alone, said once. */
        static int told[NUM_DEVICES];
        if (!told[s->index]) {
            told[s->index] = 1;
            fprintf(stderr, "portlab-run: %s has no Rust implementation: it runs as C, not as a shadow\n", s->name);
        }
        impl = IMPL_C;
#else
        fail("%s: no shadow implementation in this build: a shadow runs the C model and the Rust rewrite side by "
             "side, so it needs the Rust device library (`make -C c-src rust` builds build/portlab-run-rust)",
             s->name);
        return NULL;
#endif
    }
    const PortlabDeviceOps *ops = s->impls[impl];
    if (ops == NULL) {
        fail("%s: no %s implementation in this build%s", s->name, impl_label(impl),
             impl == IMPL_RUST ? " (make rust links the Rust device library)" : "");
    }
    return ops;
}

/* ---- Host callbacks --------------------------------------------------- */

/* Records a callback when the instance is recorded (a shadow run); returns
 * whether the board performs it (always, except for the Rust rewrite in a
 * shadow, whose calls are only compared). */
static int effect(HostCtx *h, enum EffectKind kind, uint32_t a, uint64_t b, uint64_t c, const char *text)
{
    Effects *fx = h->record;
    if (fx == NULL) {
        return h->perform;
    }
    if (fx->n == fx->cap) {
        size_t ncap = fx->cap ? fx->cap * 2 : 16;
        Effect *ne = realloc(fx->e, ncap * sizeof *ne);
        if (ne == NULL) {
            fx->lost = 1;
            return h->perform;
        }
        fx->e = ne;
        fx->cap = ncap;
    }
    Effect *e = &fx->e[fx->n];
    *e = (Effect){kind, a, b, c, NULL};
    if (text != NULL) {
        size_t len = strlen(text) + 1;
        e->text = malloc(len);
        if (e->text == NULL) {
            fx->lost = 1;
            return h->perform;
        }
        memcpy(e->text, text, len);
    }
    fx->n++;
    return h->perform;
}

static Slot *slot_of(HostCtx *h)
{
    return &h->board->slots[h->slot];
}

/* A diagnostic (the device's log, or a callback the board refuses). */
static void diagnostic(HostCtx *h, uint32_t kind, const char *fmt, ...)
{
    Board *b = h->board;
    b->diagnostics++;
    if (b->verbose) {
        const char *label = kind == PORTLAB_LOG_UNIMPLEMENTED ? "unimplemented"
                            : kind == PORTLAB_LOG_DIVERGENCE  ? "divergence"
                                                              : "guest error";
        char message[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s:%" PRIu64 ": %s: %s: %s\n", b->file, b->line, slot_of(h)->name, label, message);
    }
}

static void cb_set_irq(void *ctx, uint32_t line, uint32_t level)
{
    HostCtx *h = ctx;
    Slot *s = slot_of(h);
    if (!effect(h, FX_IRQ, line, level != 0, 0, NULL)) {
        return;
    }
    if (line >= h->num_irqs || line >= s->num_levels) {
        diagnostic(h, PORTLAB_LOG_GUEST_ERROR, "device set IRQ line %u, which it does not have", (unsigned)line);
        return;
    }
    uint8_t lv = level != 0;
    if (s->levels[line] != lv) {
        s->levels[line] = lv;
        printf("irq %s %u %u\n", s->name, (unsigned)line, (unsigned)lv);
    }
}

static void cb_serial_send(void *ctx, const uint8_t *bytes, uint32_t len)
{
    HostCtx *h = ctx;
    /* Recorded byte by byte: one send of two bytes and two sends of one
     * byte are the same to the guest and give the same events. */
    for (uint32_t i = 0; i < len; i++) {
        if (effect(h, FX_TX, bytes[i], 0, 0, NULL)) {
            printf("tx %s 0x%02x\n", slot_of(h)->name, bytes[i]);
        }
    }
}

static void cb_serial_set_break(void *ctx, uint32_t on)
{
    /* The trace backend has no line to hold in break; a shadow compares
     * the call. */
    (void)effect(ctx, FX_BREAK, on != 0, 0, 0, NULL);
}

static uint64_t cb_clock_ns(void *ctx)
{
    return ((HostCtx *)ctx)->board->clock_ns;
}

static uint64_t cb_rtc_epoch_s(void *ctx)
{
    return ((HostCtx *)ctx)->board->epoch;
}

static void arm(HostCtx *h, uint32_t timer, uint64_t deadline, uint64_t seq)
{
    Timer *t = &slot_of(h)->timers[timer];
    t->armed = 1;
    t->deadline = deadline;
    t->seq = seq;
}

static int timer_exists(HostCtx *h, uint32_t timer)
{
    if (timer >= h->num_timers || timer >= slot_of(h)->num_timer_slots) {
        diagnostic(h, PORTLAB_LOG_GUEST_ERROR, "device armed timer %u, which it does not have", (unsigned)timer);
        return 0;
    }
    return 1;
}

static void cb_timer_arm(void *ctx, uint32_t timer, uint64_t deadline)
{
    HostCtx *h = ctx;
    if (effect(h, FX_TIMER_ARM, timer, deadline, 0, NULL) && timer_exists(h, timer)) {
        arm(h, timer, deadline, h->board->timer_seq++);
    }
}

/* Deadline 0, ahead of every timer pending now; a later arm-first ahead of
 * an earlier one (trace-format.md, `advance`). */
static void cb_timer_arm_first(void *ctx, uint32_t timer)
{
    HostCtx *h = ctx;
    if (effect(h, FX_TIMER_ARM_FIRST, timer, 0, 0, NULL) && timer_exists(h, timer)) {
        arm(h, timer, 0, h->board->first_seq--);
    }
}

static void cb_timer_cancel(void *ctx, uint32_t timer)
{
    HostCtx *h = ctx;
    Slot *s = slot_of(h);
    if (effect(h, FX_TIMER_CANCEL, timer, 0, 0, NULL) && timer < s->num_timer_slots) {
        s->timers[timer].armed = 0;
    }
}

static void cb_log(void *ctx, uint32_t kind, const char *message)
{
    const char *text = message != NULL ? message : "";
    if (effect(ctx, FX_LOG, kind, 0, 0, text)) {
        diagnostic(ctx, kind, "%s", text);
    }
}

static void cb_mem_write(void *ctx, uint64_t addr, uint32_t size, uint64_t value)
{
    HostCtx *h = ctx;
    if (!effect(h, FX_MEM, size, addr, value, NULL)) {
        return;
    }
    if ((size != 1 && size != 2 && size != 4 && size != 8) || (size < 8 && (value >> (size * 8)) != 0)) {
        diagnostic(h, PORTLAB_LOG_GUEST_ERROR,
                   "device wrote %u bytes of 0x%" PRIx64 " to guest memory: not a valid memory write", (unsigned)size,
                   value);
        return;
    }
    printf("mem %s 0x%016" PRIx64 " %u 0x%0*" PRIx64 "\n", slot_of(h)->name, addr, (unsigned)size, (int)(2 * size),
           value);
}

static const PortlabHostOps host_ops = {
    .set_irq = cb_set_irq,
    .serial_send = cb_serial_send,
    .serial_set_break = cb_serial_set_break,
    .clock_ns = cb_clock_ns,
    .rtc_epoch_s = cb_rtc_epoch_s,
    .timer_arm = cb_timer_arm,
    .timer_cancel = cb_timer_cancel,
    .log = cb_log,
    .mem_write = cb_mem_write,
    .timer_arm_first = cb_timer_arm_first,
};

#ifdef PORTLAB_WITH_RUST
/* ---- Shadow devices (--impl shadow) ------------------------------------ */

/*
 * A shadow is itself a device, as in crates/portlab-shadow: its ops table
 * is the C model's description with the entry points below, which forward
 * every call to a C instance and to a Rust instance. Each instance has its
 * own host context; the C model's calls to the host are performed (the
 * guest, the event log and the timer queue see the C model only, so stdout
 * is that of an `--impl c` run) and recorded, the Rust rewrite's are only
 * recorded. The C result is the answer.
 *
 * After every forwarded call the two are compared, in this order: the
 * status codes, the value returned (read, can_receive), the host calls in
 * order (irq, tx, break, timer arm/cancel, log messages, mem writes; the
 * clock reads are not calls that change anything and are not compared),
 * and the saved migration blobs, byte for byte. At create the ops tables'
 * descriptions are compared too. The first difference is recorded on the
 * board; the runner reports it after the command and stops with exit
 * status 1 (the Rust runner's shadow only logs it and goes on). From then
 * on the Rust instance is no longer called.
 *
 * save answers with the C model's blob (a shadow migrates as the C model
 * would); `migrate DEV` with no target goes from a shadow to C, as on the
 * Rust board; `migrate DEV shadow` loads the blob into both.
 */
typedef struct Shadow {
    Board *board;
    const char *name;
    /* Indexed by IMPL_C and IMPL_RUST. */
    const PortlabDeviceOps *ops[2];
    PortlabDevice *dev[2];
    HostCtx host[2];
    Effects fx[2];
    uint8_t *blob[2];
    uint32_t cap[2];
} Shadow;

static void effects_clear(Effects *fx)
{
    for (size_t i = 0; i < fx->n; i++) {
        free(fx->e[i].text);
    }
    fx->n = 0;
    fx->lost = 0;
}

static Shadow *shadow_of(PortlabDevice *dev)
{
    return (Shadow *)(void *)dev;
}

/* Whether the Rust instance is still driven: it exists, and nothing has
 * diverged yet. */
static int shadow_live(const Shadow *sh)
{
    return sh->dev[IMPL_RUST] != NULL && sh->board->shadow_status == 0;
}

static void shadow_begin(Shadow *sh)
{
    effects_clear(&sh->fx[IMPL_C]);
    effects_clear(&sh->fx[IMPL_RUST]);
}

static void describe_effect(const Effect *e, char *out, size_t n)
{
    if (e == NULL) {
        snprintf(out, n, "nothing");
        return;
    }
    switch (e->kind) {
    case FX_IRQ: snprintf(out, n, "irq %u %u", (unsigned)e->a, (unsigned)e->b); break;
    case FX_TX: snprintf(out, n, "tx 0x%02x", (unsigned)e->a); break;
    case FX_BREAK: snprintf(out, n, "break %u", (unsigned)e->a); break;
    case FX_TIMER_ARM: snprintf(out, n, "timer_arm %u %" PRIu64, (unsigned)e->a, e->b); break;
    case FX_TIMER_CANCEL: snprintf(out, n, "timer_cancel %u", (unsigned)e->a); break;
    case FX_LOG: snprintf(out, n, "log %u \"%.80s\"", (unsigned)e->a, e->text); break;
    case FX_MEM: snprintf(out, n, "mem 0x%016" PRIx64 " %u 0x%" PRIx64, e->b, (unsigned)e->a, e->c); break;
    case FX_TIMER_ARM_FIRST: snprintf(out, n, "timer_arm_first %u", (unsigned)e->a); break;
    }
}

static int same_effect(const Effect *x, const Effect *y)
{
    return x->kind == y->kind && x->a == y->a && x->b == y->b && x->c == y->c &&
           (x->text == NULL ? y->text == NULL : y->text != NULL && strcmp(x->text, y->text) == 0);
}

/* Saves instance k into its buffer (ask, grow, retry). */
static PortlabStatus shadow_save(Shadow *sh, int k, uint32_t *len)
{
    for (;;) {
        *len = 0;
        PortlabStatus st = sh->ops[k]->save(sh->dev[k], sh->blob[k], sh->cap[k], len);
        if (st == PORTLAB_ERR_BUFFER_TOO_SMALL && *len > sh->cap[k]) {
            uint8_t *grown = realloc(sh->blob[k], *len);
            if (grown == NULL) {
                return PORTLAB_ERR_NO_MEMORY;
            }
            sh->blob[k] = grown;
            sh->cap[k] = *len;
            continue;
        }
        return st == PORTLAB_OK && *len > sh->cap[k] ? PORTLAB_ERR_INVALID : st;
    }
}

/* Compares the two instances after one forwarded call (st and value:
 * C's, then Rust's; value NULL when the call returns none) and records the
 * first difference, with the call printed from fmt. */
static void shadow_compare(Shadow *sh, const PortlabStatus st[2], const uint64_t *value, const char *fmt, ...)
{
    Board *b = sh->board;
    const Effects *fc = &sh->fx[IMPL_C], *fr = &sh->fx[IMPL_RUST];
    char why[320] = "";
    int status = 1;
    if (b->shadow_status != 0) {
        return;
    }
    if (fc->lost || fr->lost) {
        status = 2;
        snprintf(why, sizeof why, "could not be compared: out of memory");
    } else if (st[IMPL_C] != st[IMPL_RUST]) {
        snprintf(why, sizeof why, "returned status c=%s rust=%s", status_name(st[IMPL_C]), status_name(st[IMPL_RUST]));
    } else if (value != NULL && st[IMPL_C] == PORTLAB_OK && value[IMPL_C] != value[IMPL_RUST]) {
        snprintf(why, sizeof why, "returned c=0x%" PRIx64 " rust=0x%" PRIx64, value[IMPL_C], value[IMPL_RUST]);
    } else {
        size_t n = fc->n > fr->n ? fc->n : fr->n;
        for (size_t i = 0; i < n; i++) {
            const Effect *ec = i < fc->n ? &fc->e[i] : NULL, *er = i < fr->n ? &fr->e[i] : NULL;
            if (ec == NULL || er == NULL || !same_effect(ec, er)) {
                char dc[128], dr[128];
                describe_effect(ec, dc, sizeof dc);
                describe_effect(er, dr, sizeof dr);
                snprintf(why, sizeof why, "made different host calls: call %zu c=%s rust=%s", i + 1, dc, dr);
                break;
            }
        }
    }
    if (why[0] == '\0' && sh->dev[IMPL_C] != NULL && sh->dev[IMPL_RUST] != NULL) {
        uint32_t len[2] = {0, 0};
        PortlabStatus sc = shadow_save(sh, IMPL_C, &len[IMPL_C]);
        PortlabStatus sr = shadow_save(sh, IMPL_RUST, &len[IMPL_RUST]);
        if (sc != PORTLAB_OK || sr != PORTLAB_OK) {
            snprintf(why, sizeof why, "left states that cannot both be saved: c=%s rust=%s",
                     sc == PORTLAB_OK ? "ok" : status_name(sc), sr == PORTLAB_OK ? "ok" : status_name(sr));
        } else if (len[IMPL_C] != len[IMPL_RUST] || memcmp(sh->blob[IMPL_C], sh->blob[IMPL_RUST], len[IMPL_C]) != 0) {
            const uint8_t *pc = sh->blob[IMPL_C], *pr = sh->blob[IMPL_RUST];
            uint32_t first = 0;
            while (first < len[IMPL_C] && first < len[IMPL_RUST] && pc[first] == pr[first]) {
                first++;
            }
            snprintf(why, sizeof why, "left different saved states: from byte %u (lengths c=%u rust=%u)",
                     (unsigned)first, (unsigned)len[IMPL_C], (unsigned)len[IMPL_RUST]);
        }
    }
    if (why[0] == '\0') {
        return;
    }
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    b->shadow_status = status;
    snprintf(b->shadow_text, sizeof b->shadow_text, "shadow divergence: %s: %s %s", sh->name, what, why);
}

static void shadow_destroy(PortlabDevice *dev)
{
    Shadow *sh = shadow_of(dev);
    for (int k = 0; k < 2; k++) {
        if (sh->dev[k] != NULL) {
            sh->ops[k]->destroy(sh->dev[k]);
        }
        effects_clear(&sh->fx[k]);
        free(sh->fx[k].e);
        free(sh->blob[k]);
    }
    free(sh);
}

/* Both instances, each with a copy of the board's host context for this
 * slot: the C one performs and records, the Rust one only records. */
static PortlabStatus shadow_create(const PortlabHostOps *host, void *host_ctx, const PortlabProperty *props,
                                   uint32_t num_props, PortlabDevice **out)
{
    const HostCtx *outer = host_ctx;
    const Slot *s = &outer->board->slots[outer->slot];
    Shadow *sh = calloc(1, sizeof *sh);
    if (sh == NULL) {
        return PORTLAB_ERR_NO_MEMORY;
    }
    sh->board = outer->board;
    sh->name = s->name;
    PortlabStatus st[2];
    for (int k = 0; k < 2; k++) {
        sh->ops[k] = s->impls[k];
        sh->host[k] = *outer;
        sh->host[k].num_irqs = sh->ops[k]->num_irqs;
        sh->host[k].num_timers = sh->ops[k]->num_timers;
        sh->host[k].record = &sh->fx[k];
        sh->host[k].perform = k == IMPL_C;
        st[k] = sh->ops[k]->create(host, &sh->host[k], props, num_props, &sh->dev[k]);
        if (st[k] == PORTLAB_OK && sh->dev[k] == NULL) {
            st[k] = PORTLAB_ERR_INVALID;
        }
        if (st[k] != PORTLAB_OK) {
            sh->dev[k] = NULL;
        }
    }
    /* The board takes region, sizes, lines and timers from the C model's
     * table: the Rust one must declare the same. */
    const PortlabDeviceOps *c = sh->ops[IMPL_C], *r = sh->ops[IMPL_RUST];
    uint64_t declared[2][6] = {
        {c->region_size, c->access_sizes, c->num_irqs, c->num_timers, c->num_inputs, c->state_device_id},
        {r->region_size, r->access_sizes, r->num_irqs, r->num_timers, r->num_inputs, r->state_device_id},
    };
    static const char *const fields[6] = {"region_size", "access_sizes", "num_irqs",
                                          "num_timers",  "num_inputs",   "state_device_id"};
    for (int i = 0; i < 6 && sh->board->shadow_status == 0; i++) {
        if (declared[0][i] != declared[1][i]) {
            sh->board->shadow_status = 1;
            snprintf(sh->board->shadow_text, sizeof sh->board->shadow_text,
                     "shadow divergence: %s: the ops tables declare %s c=0x%" PRIx64 " rust=0x%" PRIx64, sh->name,
                     fields[i], declared[0][i], declared[1][i]);
        }
    }
    shadow_compare(sh, st, NULL, "create");
    if (st[IMPL_C] != PORTLAB_OK) {
        shadow_destroy((PortlabDevice *)(void *)sh);
        return st[IMPL_C];
    }
    *out = (PortlabDevice *)(void *)sh;
    return PORTLAB_OK;
}

/* The forwarding entry points: C first, then Rust, then compare. */

static PortlabStatus shadow_reset(PortlabDevice *dev)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->reset(sh->dev[IMPL_C]);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->reset(sh->dev[IMPL_RUST]);
        shadow_compare(sh, st, NULL, "reset");
    }
    return st[IMPL_C];
}

static PortlabStatus shadow_read(PortlabDevice *dev, uint64_t offset, uint32_t size, uint64_t *value)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    uint64_t v[2] = {0, 0};
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->read(sh->dev[IMPL_C], offset, size, &v[IMPL_C]);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->read(sh->dev[IMPL_RUST], offset, size, &v[IMPL_RUST]);
        shadow_compare(sh, st, v, "read 0x%03" PRIx64 " %u", offset, (unsigned)size);
    }
    *value = v[IMPL_C];
    return st[IMPL_C];
}

static PortlabStatus shadow_write(PortlabDevice *dev, uint64_t offset, uint32_t size, uint64_t value)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->write(sh->dev[IMPL_C], offset, size, value);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->write(sh->dev[IMPL_RUST], offset, size, value);
        shadow_compare(sh, st, NULL, "write 0x%03" PRIx64 " 0x%" PRIx64 " %u", offset, value, (unsigned)size);
    }
    return st[IMPL_C];
}

static PortlabStatus shadow_can_receive(PortlabDevice *dev, uint32_t *room)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    uint32_t r[2] = {0, 0};
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->can_receive(sh->dev[IMPL_C], &r[IMPL_C]);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->can_receive(sh->dev[IMPL_RUST], &r[IMPL_RUST]);
        uint64_t v[2] = {r[IMPL_C], r[IMPL_RUST]};
        shadow_compare(sh, st, v, "can_receive");
    }
    *room = r[IMPL_C];
    return st[IMPL_C];
}

static PortlabStatus shadow_receive(PortlabDevice *dev, uint8_t byte)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->receive(sh->dev[IMPL_C], byte);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->receive(sh->dev[IMPL_RUST], byte);
        shadow_compare(sh, st, NULL, "receive 0x%02x", (unsigned)byte);
    }
    return st[IMPL_C];
}

static PortlabStatus shadow_receive_break(PortlabDevice *dev)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->receive_break(sh->dev[IMPL_C]);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->receive_break(sh->dev[IMPL_RUST]);
        shadow_compare(sh, st, NULL, "break");
    }
    return st[IMPL_C];
}

static PortlabStatus shadow_timer_expired(PortlabDevice *dev, uint32_t timer)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->timer_expired(sh->dev[IMPL_C], timer);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->timer_expired(sh->dev[IMPL_RUST], timer);
        shadow_compare(sh, st, NULL, "timer %u expiry", (unsigned)timer);
    }
    return st[IMPL_C];
}

static PortlabStatus shadow_set_input(PortlabDevice *dev, uint32_t line, uint32_t level)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->set_input(sh->dev[IMPL_C], line, level);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->set_input(sh->dev[IMPL_RUST], line, level);
        shadow_compare(sh, st, NULL, "input %u %u", (unsigned)line, (unsigned)level);
    }
    return st[IMPL_C];
}

/* The C model's blob: a shadow migrates as the C model would. */
static PortlabStatus shadow_save_c(PortlabDevice *dev, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    Shadow *sh = shadow_of(dev);
    return sh->ops[IMPL_C]->save(sh->dev[IMPL_C], buf, cap, len);
}

static PortlabStatus shadow_load(PortlabDevice *dev, const uint8_t *blob, uint32_t len)
{
    Shadow *sh = shadow_of(dev);
    PortlabStatus st[2];
    shadow_begin(sh);
    st[IMPL_C] = sh->ops[IMPL_C]->load(sh->dev[IMPL_C], blob, len);
    if (shadow_live(sh)) {
        st[IMPL_RUST] = sh->ops[IMPL_RUST]->load(sh->dev[IMPL_RUST], blob, len);
        shadow_compare(sh, st, NULL, "load of a %u-byte blob", (unsigned)len);
    }
    return st[IMPL_C];
}

/* The shadow's ops table for a slot: the C model's description (it
 * answers), the shadow's entry points. */
static const PortlabDeviceOps *shadow_table(const Slot *s)
{
    static PortlabDeviceOps tables[NUM_DEVICES];
    PortlabDeviceOps *t = &tables[s->index];
    *t = *s->impls[IMPL_C];
    t->create = shadow_create;
    t->destroy = shadow_destroy;
    t->reset = shadow_reset;
    t->read = shadow_read;
    t->write = shadow_write;
    t->can_receive = shadow_can_receive;
    t->receive = shadow_receive;
    t->receive_break = shadow_receive_break;
    t->timer_expired = shadow_timer_expired;
    t->save = shadow_save_c;
    t->load = shadow_load;
    t->set_input = shadow_set_input;
    return t;
}
#endif /* PORTLAB_WITH_RUST */

/* ---- The board ---------------------------------------------------------- */

/* The property rules of portlab_device's schema::resolve (and of the C
 * models' devprops_resolve), checked by the board before create so that a
 * bad property is a trace error naming it. */
static int check_properties(const PortlabDeviceOps *ops, const PortlabProperty *props, uint32_t num_props)
{
    const char *type_name = ops->type_name;
    for (uint32_t p = 0; p < num_props; p++) {
        const char *name = props[p].name;
        const PortlabPropertyInfo *info = NULL;
        for (uint32_t i = 0; i < ops->num_properties; i++) {
            if (strcmp(ops->properties[i].name, name) == 0) {
                info = &ops->properties[i];
                break;
            }
        }
        if (info == NULL) {
            if (ops->num_properties == 0) {
                return fail("%s: unknown property `%s` (the device has no properties)", type_name, name);
            }
            char known[256] = "";
            size_t used = 0;
            for (uint32_t i = 0; i < ops->num_properties && used < sizeof known; i++) {
                int n = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", ops->properties[i].name);
                if (n < 0) break;
                used += (size_t)n;
            }
            return fail("%s: unknown property `%s` (known: %s)", type_name, name, known);
        }
        for (uint32_t q = 0; q < p; q++) {
            if (strcmp(props[q].name, name) == 0) {
                return fail("%s: property `%s` given twice", type_name, name);
            }
        }
        if (props[p].value < info->min || props[p].value > info->max) {
            return fail("%s: property `%s` = %" PRIu64 " is outside %" PRIu64 "..=%" PRIu64, type_name, name,
                        props[p].value, info->min, info->max);
        }
    }
    return 0;
}

/* Creates an instance of `ops` for slot `index` with the slot's properties
 * (board.rs, Board::create): its own host context. */
static int create_instance(Board *b, size_t index, const PortlabDeviceOps *ops, PortlabDevice **dev, HostCtx **host)
{
    Slot *s = &b->slots[index];
    int rc = check_properties(ops, s->props, s->num_props);
    if (rc) return rc;
    HostCtx *h = malloc(sizeof *h);
    if (h == NULL) return fail("out of memory");
    h->board = b;
    h->slot = index;
    h->num_irqs = ops->num_irqs;
    h->num_timers = ops->num_timers;
    h->record = NULL;
    h->perform = 1;
    *dev = NULL;
    PortlabStatus st = ops->create(&host_ops, h, s->num_props ? s->props : NULL, s->num_props, dev);
    if (st == PORTLAB_OK && *dev == NULL) {
        st = PORTLAB_ERR_INVALID;
    }
    if (st != PORTLAB_OK) {
        free(h);
        return fail("create failed: %s", status_name(st));
    }
    *host = h;
    return 0;
}

/* The board as a trace starts it: every slot from board_devices.h. */
static int board_init(Board *b, const enum Impl impls[NUM_DEVICES])
{
    for (size_t i = 0; i < NUM_DEVICES; i++) {
        Slot *s = &b->slots[i];
        s->index = i;
        s->name = board_devices[i].name;
        s->impls = board_devices[i].impls;
        s->impl = impls[i];
        uint32_t irqs = 0, timers = 0;
        for (int k = 0; k < 2; k++) {
            const PortlabDeviceOps *ops = s->impls[k];
            if (ops != NULL) {
                irqs = ops->num_irqs > irqs ? ops->num_irqs : irqs;
                timers = ops->num_timers > timers ? ops->num_timers : timers;
            }
        }
        s->levels = calloc(irqs ? irqs : 1, sizeof *s->levels);
        s->timers = calloc(timers ? timers : 1, sizeof *s->timers);
        if (s->levels == NULL || s->timers == NULL) {
            return fail("out of memory");
        }
        s->num_levels = irqs;
        s->num_timer_slots = timers;
    }
    return 0;
}

static int board_create(Board *b)
{
    for (size_t i = 0; i < NUM_DEVICES; i++) {
        Slot *s = &b->slots[i];
        const PortlabDeviceOps *ops = implementation(s, s->impl);
        if (ops == NULL) {
            return 2;
        }
        int rc = create_instance(b, i, ops, &s->dev, &s->host);
        if (rc) return rc;
        s->ops = ops;
    }
    b->created = 1;
    return 0;
}

static void board_destroy(Board *b)
{
    for (size_t i = 0; i < NUM_DEVICES; i++) {
        Slot *s = &b->slots[i];
        if (s->dev != NULL) {
            s->ops->destroy(s->dev);
            s->dev = NULL;
        }
        free(s->host);
        free(s->levels);
        free(s->timers);
        free(s->props);
        free(s->props_text);
        free(s->pending);
    }
    memset(b->slots, 0, sizeof b->slots);
}

/* Hands pending bytes to the device one at a time while it can take one. */
static int deliver(Slot *s)
{
    while (s->pending_len > 0) {
        uint32_t room = 0;
        PortlabStatus st = s->ops->can_receive(s->dev, &room);
        if (st != PORTLAB_OK) {
            return fail("can_receive failed: %s", status_name(st));
        }
        if (room == 0) {
            break;
        }
        uint8_t byte = s->pending[s->pending_head];
        s->pending_head++;
        s->pending_len--;
        st = s->ops->receive(s->dev, byte);
        if (st != PORTLAB_OK) {
            return fail("receive failed: %s", status_name(st));
        }
    }
    if (s->pending_len == 0) {
        s->pending_head = 0;
    }
    return 0;
}

/* The board refuses what the device's ops table does not declare, with the
 * same rule the C models apply (devaccess_check), and says why. */
static int check_access(Slot *s, uint64_t offset, uint32_t size)
{
    switch (devaccess_check(s->ops->access_sizes, s->ops->region_size, offset, size)) {
    case PORTLAB_ACCESS_OK:
        return 0;
    case PORTLAB_ACCESS_BAD_SIZE: {
        char accepted[32] = "";
        size_t used = 0;
        for (uint32_t k = 1; k <= 8; k <<= 1) {
            if (s->ops->access_sizes & k) {
                int n = snprintf(accepted + used, sizeof accepted - used, "%s%u", used ? ", " : "", (unsigned)k);
                if (n > 0) used += (size_t)n;
            }
        }
        return fail("%s does not accept %u-byte accesses (accepted sizes: %s)", s->name, (unsigned)size, accepted);
    }
    case PORTLAB_ACCESS_OUTSIDE_REGION:
        return fail("offset 0x%" PRIx64 " (%u bytes) is outside %s's region of 0x%" PRIx64 " bytes", offset,
                    (unsigned)size, s->name, s->ops->region_size);
    case PORTLAB_ACCESS_MISALIGNED:
        return fail("offset 0x%" PRIx64 " is not a multiple of the access size %u", offset, (unsigned)size);
    }
    return fail("internal error: access check");
}

/* Moves the clock forward. Due timers fire in queue order, key (deadline,
 * seq), each with the clock at its deadline or, if that is past, as it
 * stands; timers armed while firing fire in the same advance if due. As
 * on the Rust board, more than MAX_EXPIRIES_PER_ADVANCE expiries in a row
 * without the clock moving is a trace error (a device re-arming a due
 * deadline for ever); expiries that move the clock are never stopped. */
static int board_advance(Board *b, uint64_t ns)
{
    if (UINT64_MAX - b->clock_ns < ns) {
        return fail("the virtual clock would pass 2^64 - 1 ns");
    }
    uint64_t target = b->clock_ns + ns;
    /* Expiries since the clock last moved. */
    uint64_t fired_here = 0;
    for (;;) {
        Timer *best = NULL;
        size_t best_slot = 0;
        uint32_t best_timer = 0;
        for (size_t i = 0; i < NUM_DEVICES; i++) {
            Slot *s = &b->slots[i];
            for (uint32_t t = 0; t < s->num_timer_slots; t++) {
                Timer *tm = &s->timers[t];
                if (!tm->armed || tm->deadline > target) {
                    continue;
                }
                if (best == NULL || tm->deadline < best->deadline ||
                    (tm->deadline == best->deadline && tm->seq < best->seq)) {
                    best = tm;
                    best_slot = i;
                    best_timer = t;
                }
            }
        }
        if (best == NULL) {
            break;
        }
        best->armed = 0;
        if (best->deadline > b->clock_ns) {
            b->clock_ns = best->deadline;
            fired_here = 0;
        }
        if (++fired_here > MAX_EXPIRIES_PER_ADVANCE) {
            return fail("timer storm: more than %" PRIu64 " expiries without the clock moving (device %zu, timer %u "
                        "keeps re-arming a due deadline; QEMU would hang here)",
                        (uint64_t)MAX_EXPIRIES_PER_ADVANCE, best_slot, (unsigned)best_timer);
        }
        Slot *s = &b->slots[best_slot];
        PortlabStatus st = s->ops->timer_expired(s->dev, best_timer);
        if (st != PORTLAB_OK) {
            return fail("timer expiry failed: %s", status_name(st));
        }
    }
    b->clock_ns = target;
    return 0;
}

/* Saves the migration blob (portlab_device's Instance::save_into: ask,
 * grow, retry). */
static int save_blob(Slot *s, uint8_t **out, uint32_t *out_len)
{
    uint8_t *buf = NULL;
    uint32_t cap = 0;
    for (;;) {
        uint32_t len = 0;
        PortlabStatus st = s->ops->save(s->dev, buf, cap, &len);
        if (st == PORTLAB_OK && len <= cap) {
            *out = buf;
            *out_len = len;
            return 0;
        }
        if (st == PORTLAB_ERR_BUFFER_TOO_SMALL && len > cap) {
            uint8_t *grown = realloc(buf, len);
            if (grown == NULL) {
                free(buf);
                return fail("out of memory");
            }
            buf = grown;
            cap = len;
            continue;
        }
        free(buf);
        if (st == PORTLAB_OK || st == PORTLAB_ERR_BUFFER_TOO_SMALL) {
            st = PORTLAB_ERR_INVALID;
        }
        return fail("save failed: %s", status_name(st));
    }
}

/* board.rs, Board::migrate. */
static int board_migrate(Board *b, size_t index, int to)
{
    Slot *s = &b->slots[index];
    if (to < 0) {
        /* C and Rust swap; a shadow goes to C (registry.rs, other). */
        enum Impl other = s->impl == IMPL_C ? IMPL_RUST : IMPL_C;
        /* Without the other implementation, a fresh instance of the same. */
        to = s->impls[other] != NULL ? (int)other : (int)s->impl;
    }
    const PortlabDeviceOps *target = implementation(s, (enum Impl)to);
    if (target == NULL) {
        return 2;
    }
    uint8_t *blob = NULL;
    uint32_t len = 0;
    int rc = save_blob(s, &blob, &len);
    if (rc) return rc;
    /* The old instance's timers go; the new one re-arms what it needs while
     * loading. Keep them to put back in their old places if that fails. */
    Timer *saved = malloc((s->num_timer_slots ? s->num_timer_slots : 1) * sizeof *saved);
    if (saved == NULL) {
        free(blob);
        return fail("out of memory");
    }
    memcpy(saved, s->timers, s->num_timer_slots * sizeof *saved);
    for (uint32_t t = 0; t < s->num_timer_slots; t++) {
        s->timers[t].armed = 0;
    }
    PortlabDevice *fresh = NULL;
    HostCtx *fresh_host = NULL;
    rc = create_instance(b, index, target, &fresh, &fresh_host);
    if (rc == 0) {
        PortlabStatus st = target->load(fresh, blob, len);
        if (st != PORTLAB_OK) {
            target->destroy(fresh);
            free(fresh_host);
            rc = fail("migration load failed: %s", status_name(st));
        } else {
            s->ops->destroy(s->dev);
            free(s->host);
            s->dev = fresh;
            s->host = fresh_host;
            s->ops = target;
            s->impl = (enum Impl)to;
        }
    }
    if (rc) {
        for (uint32_t t = 0; t < s->num_timer_slots; t++) {
            if (saved[t].armed) {
                s->timers[t] = saved[t];
            }
        }
    }
    free(saved);
    free(blob);
    return rc;
}

/* ---- The parser (trace/parse.rs) ------------------------------------- */

typedef struct Word {
    char *s;
    size_t len;
    int has_nul;
} Word;

typedef struct Words {
    Word *w;
    size_t n, cap;
} Words;

/* Splits line[0 .. len) into words in place (line[len] must exist);
 * strings keep their quotes and may hold blanks and '#'; '#' outside
 * quotes ends the line. */
static int split_words(char *line, size_t len, Words *out)
{
    out->n = 0;
    size_t i = 0;
    while (i < len) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '#') {
            break;
        }
        size_t start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '#') {
            if (line[i] != '"') {
                i++;
                continue;
            }
            i++;
            for (;;) {
                if (i >= len) {
                    return fail("unterminated string (missing closing `\"`)");
                }
                if (line[i] == '\\') {
                    i += 2;
                } else if (line[i] == '"') {
                    i++;
                    break;
                } else {
                    i++;
                }
            }
        }
        size_t end = i < len ? i : len;
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 16;
            Word *nw = realloc(out->w, ncap * sizeof *nw);
            if (nw == NULL) return fail("out of memory");
            out->w = nw;
            out->cap = ncap;
        }
        out->w[out->n].s = line + start;
        out->w[out->n].len = end - start;
        out->w[out->n].has_nul = memchr(line + start, '\0', end - start) != NULL;
        out->n++;
    }
    /* Terminate the words only now: a terminator may overwrite a '#'. */
    for (size_t k = 0; k < out->n; k++) {
        out->w[k].s[out->w[k].len] = '\0';
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_number(const char *word, uint64_t *out)
{
    const char *d = word;
    unsigned base = 10;
    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
        d += 2;
        base = 16;
    }
    size_t len = strlen(d);
    if (len == 0 || d[0] == '_' || d[len - 1] == '_' || strstr(d, "__") != NULL) {
        return fail("expected a number (decimal, or hex with 0x; `_` only between digits), found `%s`", word);
    }
    uint64_t v = 0;
    for (; *d; d++) {
        if (*d == '_') {
            continue;
        }
        int x = hexval((unsigned char)*d);
        if (x < 0 || (unsigned)x >= base) {
            return fail("expected a number (decimal, or hex with 0x; `_` only between digits), found `%s`", word);
        }
        if (v > (UINT64_MAX - (uint64_t)x) / base) {
            return fail("number `%s` does not fit in 64 bits", word);
        }
        v = v * base + (uint64_t)x;
    }
    *out = v;
    return 0;
}

static int parse_size(const char *word, uint32_t *size)
{
    uint64_t v;
    int rc = parse_number(word, &v);
    if (rc) return rc;
    if (v != 1 && v != 2 && v != 4 && v != 8) {
        return fail("access size must be 1, 2, 4 or 8 bytes, found %" PRIu64, v);
    }
    *size = (uint32_t)v;
    return 0;
}

static int fits(uint64_t v, uint32_t size, const char *what)
{
    if (size < 8 && (v >> (size * 8)) != 0) {
        return fail("%s 0x%" PRIx64 " does not fit in a %u-byte access", what, v, (unsigned)size);
    }
    return 0;
}

/* Decodes an rx operand of `len` bytes (a quoted string may hold NUL
 * bytes) into buf (at most len bytes). */
static int parse_bytes(const char *word, size_t len, uint8_t *buf, size_t *n)
{
    size_t k = 0;
    if (len >= 4 && memcmp(word, "hex:", 4) == 0) {
        const char *h = word + 4;
        size_t hlen = len - 4;
        if (hlen % 2 != 0) {
            return fail("`hex:` needs an even number of hex digits, found `%s`", h);
        }
        for (size_t i = 0; i < hlen; i += 2) {
            int a = hexval((unsigned char)h[i]), c = hexval((unsigned char)h[i + 1]);
            if (a < 0 || c < 0) {
                return fail("`%c%c` is not a hex byte", h[i], h[i + 1]);
            }
            buf[k++] = (uint8_t)(a << 4 | c);
        }
        *n = k;
        return 0;
    }
    if (len < 2 || word[0] != '"' || word[len - 1] != '"') {
        return fail("expected a double-quoted string or hex:..., found `%s`", word);
    }
    for (size_t i = 1; i + 1 < len; i++) {
        char c = word[i];
        if (c == '"') {
            return fail("unescaped `\"` inside a string");
        }
        if (c != '\\') {
            buf[k++] = (uint8_t)c;
            continue;
        }
        if (i + 2 >= len) {
            return fail("string ends with a lone `\\`");
        }
        char e = word[++i];
        switch (e) {
        case 'n': buf[k++] = '\n'; break;
        case 'r': buf[k++] = '\r'; break;
        case 't': buf[k++] = '\t'; break;
        case '\\': buf[k++] = '\\'; break;
        case '"': buf[k++] = '"'; break;
        case 'x': {
            int a = i + 2 < len ? hexval((unsigned char)word[i + 1]) : -1;
            int c2 = i + 3 < len ? hexval((unsigned char)word[i + 2]) : -1;
            if (a < 0 || c2 < 0) {
                return fail("`\\x` must be followed by two hex digits");
            }
            buf[k++] = (uint8_t)(a << 4 | c2);
            i += 2;
            break;
        }
        default:
            return fail("unknown escape `\\%c` (known: \\n \\r \\t \\\\ \\\" \\xHH)", e);
        }
    }
    *n = k;
    return 0;
}

static int parse_impl(const char *word, int *out)
{
    if (strcmp(word, "c") == 0) {
        *out = IMPL_C;
    } else if (strcmp(word, "rust") == 0) {
        *out = IMPL_RUST;
    } else if (strcmp(word, "shadow") == 0) {
        /* Valid syntax everywhere; a build without the Rust device library
         * refuses it when it runs. */
        *out = IMPL_SHADOW;
    } else {
        return fail("unknown implementation `%s` (expected `c`, `rust` or `shadow`)", word);
    }
    return 0;
}

enum CommandKind {
    CMD_NONE,
    CMD_WRITE,
    CMD_READ,
    CMD_RX,
    CMD_BREAK,
    CMD_ADVANCE,
    CMD_EPOCH,
    CMD_RESET,
    CMD_MIGRATE,
    CMD_CONFIG,
    CMD_INPUT,
};

/* One parsed line; strings point into the line. */
typedef struct Command {
    enum CommandKind kind;
    const char *dev; /* NULL: none named (advance, epoch, reset) */
    uint64_t offset, value, expected, number;
    uint32_t size;
    int has_expected;
    int to; /* migrate: -1 (the other) or an Impl */
    uint32_t line, level;
    const Word *bytes_word; /* rx */
    const Word *props;      /* config: the NAME=VALUE words */
    size_t num_props;
} Command;

static int usage_error(const char *command)
{
    static const char *const usages[][2] = {
        {"write", "write DEV OFFSET VALUE [SIZE]"},
        {"read", "read DEV OFFSET [SIZE] [= EXPECTED]"},
        {"rx", "rx DEV BYTES"},
        {"break", "break DEV"},
        {"advance", "advance NS"},
        {"epoch", "epoch SECONDS"},
        {"reset", "reset [DEV]"},
        {"migrate", "migrate DEV [c|rust]"},
        {"config", "config DEV NAME=VALUE ..."},
        {"input", "input DEV LINE LEVEL"},
    };
    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++) {
        if (strcmp(usages[i][0], command) == 0) {
            return fail("expected `%s`", usages[i][1]);
        }
    }
    return fail("unknown command `%s` (expected write, read, rx, break, advance, epoch, reset, migrate, config or "
                "input)",
                command);
}

/* A config word NAME=VALUE (split at the first '='; NAME not empty):
 * where its '=' is, and the value. */
static int parse_property(const char *word, const char **eq, uint64_t *value)
{
    const char *e = strchr(word, '=');
    if (e == NULL || e == word) {
        return fail("expected `NAME=VALUE`, found `%s`", word);
    }
    int rc = parse_number(e + 1, value);
    if (rc) return rc;
    *eq = e;
    return 0;
}

/* parse.rs, parse_line: the whole line is checked before anything runs. */
static int parse_command(const Words *words, Command *c)
{
    memset(c, 0, sizeof *c);
    c->to = -1;
    if (words->n == 0) {
        c->kind = CMD_NONE;
        return 0;
    }
    const char *name = words->w[0].s;
    const Word *wa = words->w + 1;
    size_t args = words->n - 1;
    int is_rx = !words->w[0].has_nul && strcmp(name, "rx") == 0 && args == 2;
    /* A NUL byte is part of a word, which makes every word but a quoted rx
     * string wrong (an unknown name, not a number): an error either way. */
    for (size_t i = 0; i < words->n; i++) {
        if (words->w[i].has_nul && !(is_rx && i == 2)) {
            return fail("unexpected NUL byte in `%s`", words->w[i].s);
        }
    }
    const char *a[4] = {NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < args && i < 4; i++) {
        a[i] = wa[i].s;
    }
    int rc;
    if (strcmp(name, "write") == 0 && (args == 3 || args == 4)) {
        c->kind = CMD_WRITE;
        c->size = 4;
        if (args == 4 && (rc = parse_size(a[3], &c->size))) return rc;
        if ((rc = parse_number(a[2], &c->value)) || (rc = fits(c->value, c->size, "value"))) return rc;
        if ((rc = parse_number(a[1], &c->offset))) return rc;
        c->dev = a[0];
    } else if (strcmp(name, "read") == 0 && args >= 2 && args <= 5) {
        c->kind = CMD_READ;
        c->size = 4;
        if ((rc = parse_number(a[1], &c->offset))) return rc;
        size_t rest = 2;
        if (args > 2 && strcmp(wa[2].s, "=") != 0) {
            if ((rc = parse_size(wa[2].s, &c->size))) return rc;
            rest = 3;
        }
        if (args - rest == 2 && strcmp(wa[rest].s, "=") == 0) {
            if ((rc = parse_number(wa[rest + 1].s, &c->expected)) ||
                (rc = fits(c->expected, c->size, "expected value")))
                return rc;
            c->has_expected = 1;
        } else if (args != rest) {
            return usage_error("read");
        }
        c->dev = a[0];
    } else if (strcmp(name, "rx") == 0 && args == 2) {
        c->kind = CMD_RX;
        c->dev = a[0];
        c->bytes_word = &wa[1];
    } else if (strcmp(name, "break") == 0 && args == 1) {
        c->kind = CMD_BREAK;
        c->dev = a[0];
    } else if (strcmp(name, "advance") == 0 && args == 1) {
        c->kind = CMD_ADVANCE;
        if ((rc = parse_number(a[0], &c->number))) return rc;
    } else if (strcmp(name, "epoch") == 0 && args == 1) {
        c->kind = CMD_EPOCH;
        if ((rc = parse_number(a[0], &c->number))) return rc;
    } else if (strcmp(name, "reset") == 0 && args <= 1) {
        c->kind = CMD_RESET;
        c->dev = args == 1 ? a[0] : NULL;
    } else if (strcmp(name, "migrate") == 0 && (args == 1 || args == 2)) {
        c->kind = CMD_MIGRATE;
        c->dev = a[0];
        if (args == 2 && (rc = parse_impl(a[1], &c->to))) return rc;
    } else if (strcmp(name, "config") == 0 && args >= 2) {
        c->kind = CMD_CONFIG;
        c->dev = a[0];
        c->props = wa + 1;
        c->num_props = args - 1;
        for (size_t i = 1; i < args; i++) {
            const char *eq = NULL;
            uint64_t value = 0;
            if ((rc = parse_property(wa[i].s, &eq, &value))) return rc;
        }
    } else if (strcmp(name, "input") == 0 && args == 3) {
        c->kind = CMD_INPUT;
        c->dev = a[0];
        uint64_t v;
        if ((rc = parse_number(a[1], &v))) return rc;
        if (v > UINT32_MAX) return fail("input line `%s` is too large", a[1]);
        c->line = (uint32_t)v;
        if ((rc = parse_number(a[2], &v))) return rc;
        if (v > 1) return fail("input level must be 0 or 1, found `%s`", a[2]);
        c->level = (uint32_t)v;
    } else {
        return usage_error(name);
    }
    if (c->dev != NULL && (c->dev[0] == '"' || strncmp(c->dev, "hex:", 4) == 0 || strcmp(c->dev, "=") == 0)) {
        return fail("expected a device name, found `%s`", c->dev);
    }
    return 0;
}

/* ---- Running commands (trace/run.rs) ---------------------------------- */

static int find_slot(const char *name, size_t *index)
{
    for (size_t i = 0; i < NUM_DEVICES; i++) {
        if (strcmp(board_devices[i].name, name) == 0) {
            *index = i;
            return 0;
        }
    }
    return fail("unknown device `%s` (this board has: %s)", name, device_list());
}

/* `config DEV NAME=VALUE ...`: before the board exists, at most once per
 * device, every property known to the device and in its range. */
static int configure(Board *b, const Command *c)
{
    if (b->created) {
        return fail("`config` is allowed only before the first command other than `epoch` and `config`");
    }
    size_t index = 0;
    int rc = find_slot(c->dev, &index);
    if (rc) return rc;
    Slot *s = &b->slots[index];
    if (s->configured) {
        return fail("`config %s` is allowed once per device", c->dev);
    }
    const PortlabDeviceOps *ops = implementation(s, s->impl);
    if (ops == NULL) {
        return 2;
    }
    /* Keep the names: copy the words, then point into the copy. */
    size_t text_len = 0;
    for (size_t i = 0; i < c->num_props; i++) {
        text_len += c->props[i].len + 1;
    }
    PortlabProperty *props = calloc(c->num_props, sizeof *props);
    char *text = malloc(text_len);
    if (props == NULL || text == NULL) {
        free(props);
        free(text);
        return fail("out of memory");
    }
    char *p = text;
    for (size_t i = 0; i < c->num_props; i++) {
        memcpy(p, c->props[i].s, c->props[i].len + 1);
        const char *eq = NULL;
        if ((rc = parse_property(p, &eq, &props[i].value))) break;
        p[eq - p] = '\0';
        props[i].name = p;
        p += c->props[i].len + 1;
    }
    if (rc == 0) {
        rc = check_properties(ops, props, (uint32_t)c->num_props);
    }
    if (rc) {
        free(props);
        free(text);
        return rc;
    }
    s->props = props;
    s->props_text = text;
    s->num_props = (uint32_t)c->num_props;
    s->configured = 1;
    return 0;
}

static int append_pending(Slot *s, const uint8_t *bytes, size_t n)
{
    /* An empty `rx` adds nothing (and pending may still be NULL). */
    if (n == 0) {
        return 0;
    }
    /* Compact, grow, append. */
    if (s->pending_head > 0) {
        memmove(s->pending, s->pending + s->pending_head, s->pending_len);
        s->pending_head = 0;
    }
    if (s->pending_len + n > s->pending_cap) {
        size_t ncap = (s->pending_len + n) * 2;
        uint8_t *np = realloc(s->pending, ncap);
        if (np == NULL) {
            return fail("out of memory");
        }
        s->pending = np;
        s->pending_cap = ncap;
    }
    memcpy(s->pending + s->pending_len, bytes, n);
    s->pending_len += n;
    return 0;
}

/* Runs one command; returns 0, 1 (expectation) or 2 (error in error_text). */
static int execute(Board *b, const Command *c)
{
    int rc;
    if (c->kind == CMD_NONE) {
        return 0;
    }
    if (c->kind == CMD_EPOCH) {
        /* `config` counts as another command here: it may follow `epoch`,
         * not come before it. */
        int configured = 0;
        for (size_t i = 0; i < NUM_DEVICES; i++) {
            configured |= b->slots[i].configured;
        }
        if (b->created || configured) {
            return fail("`epoch` is allowed only before the first other command");
        }
        b->epoch = c->number;
        return 0;
    }
    if (c->kind == CMD_CONFIG) {
        return configure(b, c);
    }
    if (!b->created && (rc = board_create(b))) return rc;
    size_t index = 0;
    if (c->dev != NULL && (rc = find_slot(c->dev, &index))) return rc;
    Slot *s = &b->slots[index];
    PortlabStatus st;
    switch (c->kind) {
    case CMD_WRITE:
        if ((rc = check_access(s, c->offset, c->size))) return rc;
        st = s->ops->write(s->dev, c->offset, c->size, c->value);
        if (st != PORTLAB_OK) return fail("write failed: %s", status_name(st));
        return deliver(s);
    case CMD_READ: {
        if ((rc = check_access(s, c->offset, c->size))) return rc;
        uint64_t value = 0;
        st = s->ops->read(s->dev, c->offset, c->size, &value);
        if (st != PORTLAB_OK) return fail("read failed: %s", status_name(st));
        if (c->size == 8) {
            printf("read %s 0x%03" PRIx64 " 8 0x%016" PRIx64 "\n", s->name, c->offset, value);
        } else {
            printf("read %s 0x%03" PRIx64 " %u 0x%08" PRIx64 "\n", s->name, c->offset, (unsigned)c->size, value);
        }
        if ((rc = deliver(s))) return rc;
        if (c->has_expected && c->expected != value) {
            snprintf(error_text, sizeof error_text, "read %s 0x%03" PRIx64 ": expected 0x%" PRIx64 ", actual 0x%" PRIx64,
                     s->name, c->offset, c->expected, value);
            return 1;
        }
        return 0;
    }
    case CMD_RX: {
        const Word *w = c->bytes_word;
        uint8_t *bytes = malloc(w->len + 1);
        size_t n = 0;
        if (bytes == NULL) return fail("out of memory");
        rc = parse_bytes(w->s, w->len, bytes, &n);
        if (rc == 0) rc = append_pending(s, bytes, n);
        free(bytes);
        return rc ? rc : deliver(s);
    }
    case CMD_BREAK:
        st = s->ops->receive_break(s->dev);
        return st == PORTLAB_OK ? 0 : fail("break failed: %s", status_name(st));
    case CMD_ADVANCE:
        return board_advance(b, c->number);
    case CMD_RESET:
        for (size_t i = 0; i < NUM_DEVICES; i++) {
            if (c->dev != NULL && i != index) continue;
            st = b->slots[i].ops->reset(b->slots[i].dev);
            if (st != PORTLAB_OK) return fail("reset failed: %s", status_name(st));
        }
        return 0;
    case CMD_MIGRATE:
        return board_migrate(b, index, c->to);
    case CMD_INPUT: {
        uint32_t n = s->ops->num_inputs;
        if (c->line >= n) {
            if (n == 0) return fail("%s has no input lines", s->name);
            if (n == 1) return fail("%s has one input line (0), not %u", s->name, (unsigned)c->line);
            return fail("%s has %u input lines (0-%u), not %u", s->name, (unsigned)n, (unsigned)(n - 1),
                        (unsigned)c->line);
        }
        st = s->ops->set_input(s->dev, c->line, c->level);
        return st == PORTLAB_OK ? 0 : fail("input failed: %s", status_name(st));
    }
    default:
        return fail("internal error: command %d", (int)c->kind);
    }
}

/* Whether s[0 .. n) is valid UTF-8 (as Rust's str::from_utf8 decides). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k) {
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            unsigned d = s[i + j];
            if ((d & 0xC0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (d & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

/* Reads one line (without its '\n') into *buf; 0 at the end of the input. */
static int read_line(FILE *f, char **buf, size_t *cap, size_t *len, int *too_long)
{
    size_t n = 0;
    int c = 0, any = 0;
    *too_long = 0;
    while ((c = getc(f)) != EOF) {
        any = 1;
        if (c == '\n') {
            break;
        }
        if (n == MAX_LINE_BYTES) {
            *too_long = 1;
            break;
        }
        if (n + 1 >= *cap) {
            size_t ncap = *cap * 2;
            char *nb = realloc(*buf, ncap);
            if (nb == NULL) {
                return -1;
            }
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[n++] = (char)c;
    }
    (*buf)[n] = '\0';
    *len = n;
    return any;
}

/* --save-dir: where the saved states go, or NULL. */
static const char *save_dir = NULL;

/* Every created device's saved state, to save_dir/TRACE.DEVICE.bin. */
static int write_saved_states(Board *b, const char *path)
{
    char name[4096];
    int worst = 0;
    for (size_t i = 0; i < NUM_DEVICES; i++) {
        Slot *s = &b->slots[i];
        if (s->dev == NULL) continue;
        uint8_t *blob = NULL;
        uint32_t len = 0;
        if (save_blob(s, &blob, &len) != 0) {
            fprintf(stderr, "portlab-run: %s: cannot save %s: %s\n", path, s->name, error_text);
            worst = 2;
            continue;
        }
        /* save_dir/TRACE.DEVICE.bin, the trace's path with `/` made `_`. */
        int dir_len = snprintf(name, sizeof name, "%s/", save_dir);
        size_t n = dir_len < 0 ? sizeof name : (size_t)dir_len;
        for (const char *c = path; *c != '\0' && n + 1 < sizeof name; c++) {
            name[n++] = *c == '/' ? '_' : *c;
        }
        int tail = n < sizeof name ? snprintf(name + n, sizeof name - n, ".%s.bin", s->name) : -1;
        FILE *out = NULL;
        if (tail < 0 || (size_t)tail >= sizeof name - n) {
            fprintf(stderr, "portlab-run: %s: the file name for the state of %s is too long\n", path, s->name);
            worst = 2;
        } else if ((out = fopen(name, "wb")) == NULL || fwrite(blob, 1, len, out) != len) {
            fprintf(stderr, "portlab-run: cannot write the state of %s to %s: %s\n", s->name, name, strerror(errno));
            worst = 2;
        }
        if (out != NULL && fclose(out) != 0) worst = 2;
        free(blob);
    }
    return worst;
}

static int run_file(const char *path, const enum Impl impls[NUM_DEVICES], int verbose)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "portlab-run: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    static Board board;
    memset(&board, 0, sizeof board);
    board.epoch = DEFAULT_EPOCH;
    board.timer_seq = FIRST_TIMER_SEQ;
    board.first_seq = FIRST_ARM_FIRST_SEQ;
    board.verbose = verbose;
    board.file = path;
    size_t cap = 4096;
    char *line = malloc(cap);
    Words words = {NULL, 0, 0};
    int result = line == NULL ? fail("out of memory") : board_init(&board, impls);
    while (result == 0) {
        size_t len = 0;
        int too_long = 0;
        board.line++;
        int got = read_line(f, &line, &cap, &len, &too_long);
        if (got < 0) {
            result = fail("out of memory");
            break;
        }
        if (got == 0) {
            break;
        }
        if (too_long) {
            result = fail("line is longer than %u bytes", MAX_LINE_BYTES);
            break;
        }
        if (!valid_utf8((const unsigned char *)line, len)) {
            result = fail("line is not valid UTF-8");
            break;
        }
        Command command;
        result = split_words(line, len, &words);
        if (result == 0) result = parse_command(&words, &command);
        if (result == 0) result = execute(&board, &command);
        fflush(stdout);
        if (board.shadow_status != 0) {
            /* A shadow divergence stops the run after its command: exit 1
             * (2 if recording failed), or the command's own error. */
            if (result == 0) {
                snprintf(error_text, sizeof error_text, "%s", board.shadow_text);
                result = board.shadow_status;
            } else {
                fprintf(stderr, "portlab-run: %s:%" PRIu64 ": %s\n", path, board.line, board.shadow_text);
            }
        }
    }
    if (result) {
        fprintf(stderr, "portlab-run: %s:%" PRIu64 ": %s\n", path, board.line, error_text);
    } else if (board.diagnostics > 0 && !verbose) {
        fprintf(stderr, "%s: %llu device diagnostic(s); -v shows them\n", path, board.diagnostics);
    }
    fflush(stdout);
    if (save_dir != NULL) {
        int rc = write_saved_states(&board, path);
        if (rc > result) result = rc;
    }
    free(line);
    free(words.w);
    board_destroy(&board);
    if (f != stdin) fclose(f);
    return result;
}

static void usage(void)
{
    fprintf(stderr, "usage: portlab-run [--impl c|rust|shadow] [--device NAME=IMPL]... [-v] [--save-dir DIR] TRACE...\n");
    fprintf(stderr, "devices: %s\n", device_list());
}

int main(int argc, char **argv)
{
    enum Impl impls[NUM_DEVICES];
    for (size_t d = 0; d < NUM_DEVICES; d++) {
        impls[d] = IMPL_C;
    }
    /* --device choices apply after --impl, wherever they stand. */
    int device_set[NUM_DEVICES] = {0};
    enum Impl device_impl[NUM_DEVICES] = {IMPL_C};
    int verbose = 0, first_trace = 0, worst = 0;
    for (int i = 1; i < argc; i++) {
        int to = IMPL_C;
        if (strcmp(argv[i], "--impl") == 0 && i + 1 < argc) {
            if (parse_impl(argv[++i], &to)) {
                fprintf(stderr, "portlab-run: %s\n", error_text);
                return 2;
            }
            for (size_t d = 0; d < NUM_DEVICES; d++) {
                impls[d] = (enum Impl)to;
            }
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            const char *spec = argv[++i];
            const char *eq = strchr(spec, '=');
            if (eq == NULL || eq == spec) {
                fprintf(stderr, "portlab-run: expected --device NAME=IMPL (NAME one of: %s), found `%s`\n",
                        device_list(), spec);
                return 2;
            }
            if (parse_impl(eq + 1, &to)) {
                fprintf(stderr, "portlab-run: %s\n", error_text);
                return 2;
            }
            size_t d = 0;
            while (d < NUM_DEVICES && (strlen(board_devices[d].name) != (size_t)(eq - spec) ||
                                       strncmp(board_devices[d].name, spec, (size_t)(eq - spec)) != 0)) {
                d++;
            }
            if (d == NUM_DEVICES) {
                fprintf(stderr, "portlab-run: the board has no device `%.*s` (devices: %s)\n", (int)(eq - spec), spec,
                        device_list());
                return 2;
            }
            device_set[d] = 1;
            device_impl[d] = (enum Impl)to;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--save-dir") == 0 && i + 1 < argc) {
            save_dir = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage();
            return 2;
        } else if (first_trace == 0) {
            first_trace = i;
        }
    }
    if (first_trace == 0) {
        usage();
        return 2;
    }
    /* Every chosen implementation must exist before any trace runs. */
    for (size_t d = 0; d < NUM_DEVICES; d++) {
        if (device_set[d]) {
            impls[d] = device_impl[d];
        }
        Slot probe = {.index = d, .name = board_devices[d].name, .impls = board_devices[d].impls};
        if (implementation(&probe, impls[d]) == NULL) {
            fprintf(stderr, "portlab-run: %s\n", error_text);
            return 2;
        }
    }
    for (int i = first_trace; i < argc; i++) {
        if (strcmp(argv[i], "--impl") == 0 || strcmp(argv[i], "--device") == 0 || strcmp(argv[i], "--save-dir") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            continue;
        }
        int rc = run_file(argv[i], impls, verbose);
        if (rc > worst) worst = rc;
    }
    return worst;
}
