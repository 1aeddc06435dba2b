/*
 * trace_runner.c - a trace runner in C, for hosts without a Rust
 * toolchain (the roadmap worry: Rust tier 2/3 platforms must keep a
 * working C build).
 *
 * It implements the same board as crates/portlab-board (docs/spec/
 * trace-format.md: MMIO dispatch with the size and alignment rules, IRQ
 * line levels, serial input delivery, the virtual clock and its timers,
 * reset, migration) on top of the device interface only, and prints the
 * same canonical event log. `make -C c-src` builds it with the C models;
 * `make -C c-src rust` also links the Rust device library and can then
 * run x-pl011-rust and x-pl031-rust: a C core hosting Rust devices.
 *
 * Usage: portlab-run [--impl c|rust] [--device NAME=IMPL]... [-v] TRACE...
 * Exit status: 0 ok, 1 a failed expectation, 2 a bad trace or usage.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl011.h"
#include "pl031.h"
#include "portlab_device.h"

#ifdef PORTLAB_WITH_RUST
extern const PortlabDeviceOps portlab_x_pl011_rust_ops;
extern const PortlabDeviceOps portlab_x_pl031_rust_ops;
#endif

#define MAX_DEVICES 2
#define MAX_TIMERS 4
#define MAX_LINES 8
#define MAX_LINE_BYTES (16u * 1024u * 1024u)
#define DEFAULT_EPOCH 1700000000ull

enum Impl { IMPL_C = 0, IMPL_RUST = 1 };

typedef struct Timer {
    int armed;
    uint64_t deadline;
    uint64_t seq;
} Timer;

typedef struct Slot {
    const char *name;
    const PortlabDeviceOps *impls[2];
    enum Impl impl;
    const PortlabDeviceOps *ops;
    PortlabDevice *dev;
    uint32_t levels[MAX_LINES];
    Timer timers[MAX_TIMERS];
    /* Pending serial input: a growable queue. */
    uint8_t *pending;
    size_t pending_head, pending_len, pending_cap;
} Slot;

typedef struct Board {
    Slot slots[MAX_DEVICES];
    uint64_t clock_ns;
    uint64_t epoch;
    uint64_t timer_seq;
    int created;
    int verbose;
    const char *file;
    uint64_t line;
    unsigned long long diagnostics;
} Board;

typedef struct HostCtx {
    Board *board;
    int slot;
} HostCtx;

static HostCtx host_ctx[MAX_DEVICES];

/* ---- Host callbacks --------------------------------------------------- */

static void cb_set_irq(void *ctx, uint32_t line, uint32_t level)
{
    HostCtx *h = ctx;
    Slot *s = &h->board->slots[h->slot];
    if (line >= MAX_LINES || line >= s->ops->num_irqs) {
        return;
    }
    if (s->levels[line] != level) {
        s->levels[line] = level;
        printf("irq %s %u %u\n", s->name, (unsigned)line, (unsigned)level);
    }
}

static void cb_serial_send(void *ctx, const uint8_t *bytes, uint32_t len)
{
    HostCtx *h = ctx;
    for (uint32_t i = 0; i < len; i++) {
        printf("tx %s 0x%02x\n", h->board->slots[h->slot].name, bytes[i]);
    }
}

static void cb_serial_set_break(void *ctx, uint32_t on)
{
    (void)ctx;
    (void)on;
}

static uint64_t cb_clock_ns(void *ctx)
{
    return ((HostCtx *)ctx)->board->clock_ns;
}

static uint64_t cb_rtc_epoch_s(void *ctx)
{
    return ((HostCtx *)ctx)->board->epoch;
}

static void cb_timer_arm(void *ctx, uint32_t timer, uint64_t deadline)
{
    HostCtx *h = ctx;
    if (timer >= MAX_TIMERS) {
        return;
    }
    Timer *t = &h->board->slots[h->slot].timers[timer];
    t->armed = 1;
    t->deadline = deadline;
    t->seq = h->board->timer_seq++;
}

static void cb_timer_cancel(void *ctx, uint32_t timer)
{
    HostCtx *h = ctx;
    if (timer < MAX_TIMERS) {
        h->board->slots[h->slot].timers[timer].armed = 0;
    }
}

static void cb_log(void *ctx, uint32_t kind, const char *message)
{
    HostCtx *h = ctx;
    h->board->diagnostics++;
    if (h->board->verbose) {
        const char *label = kind == PORTLAB_LOG_UNIMPLEMENTED ? "unimplemented"
                            : kind == PORTLAB_LOG_DIVERGENCE  ? "divergence"
                                                              : "guest error";
        fprintf(stderr, "%s:%" PRIu64 ": %s: %s: %s\n", h->board->file, h->board->line,
                h->board->slots[h->slot].name, label, message);
    }
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
};

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

/* ---- The board ---------------------------------------------------------- */

static int board_create(Board *b)
{
    for (int i = 0; i < MAX_DEVICES; i++) {
        Slot *s = &b->slots[i];
        s->ops = s->impls[s->impl];
        if (s->ops == NULL) {
            return fail("%s: no %s implementation in this build", s->name, s->impl == IMPL_RUST ? "Rust" : "C");
        }
        host_ctx[i].board = b;
        host_ctx[i].slot = i;
        PortlabStatus st = s->ops->create(&host_ops, &host_ctx[i], &s->dev);
        if (st != PORTLAB_OK) {
            return fail("create %s failed: %s", s->name, status_name(st));
        }
    }
    b->created = 1;
    return 0;
}

static void board_destroy(Board *b)
{
    for (int i = 0; i < MAX_DEVICES; i++) {
        Slot *s = &b->slots[i];
        if (s->dev != NULL) {
            s->ops->destroy(s->dev);
            s->dev = NULL;
        }
        free(s->pending);
        s->pending = NULL;
        s->pending_head = s->pending_len = s->pending_cap = 0;
    }
}

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

static int check_access(Slot *s, uint64_t offset, uint32_t size)
{
    if ((s->ops->access_sizes & size) == 0) {
        return fail("%s does not accept %u-byte accesses", s->name, (unsigned)size);
    }
    if (offset > s->ops->region_size || s->ops->region_size - offset < size) {
        return fail("offset 0x%" PRIx64 " (%u bytes) is outside %s's region of 0x%" PRIx64 " bytes", offset,
                    (unsigned)size, s->name, s->ops->region_size);
    }
    if (offset % size != 0) {
        return fail("offset 0x%" PRIx64 " is not a multiple of the access size %u", offset, (unsigned)size);
    }
    return 0;
}

static int board_advance(Board *b, uint64_t ns)
{
    if (UINT64_MAX - b->clock_ns < ns) {
        return fail("the virtual clock would pass 2^64 - 1 ns");
    }
    uint64_t target = b->clock_ns + ns;
    for (;;) {
        int best_slot = -1, best_timer = -1;
        for (int i = 0; i < MAX_DEVICES; i++) {
            for (int t = 0; t < MAX_TIMERS; t++) {
                Timer *tm = &b->slots[i].timers[t];
                if (!tm->armed || tm->deadline > target) {
                    continue;
                }
                if (best_slot < 0) {
                    best_slot = i;
                    best_timer = t;
                    continue;
                }
                Timer *bt = &b->slots[best_slot].timers[best_timer];
                if (tm->deadline < bt->deadline || (tm->deadline == bt->deadline && tm->seq < bt->seq)) {
                    best_slot = i;
                    best_timer = t;
                }
            }
        }
        if (best_slot < 0) {
            break;
        }
        Timer *tm = &b->slots[best_slot].timers[best_timer];
        tm->armed = 0;
        if (tm->deadline > b->clock_ns) {
            b->clock_ns = tm->deadline;
        }
        Slot *s = &b->slots[best_slot];
        PortlabStatus st = s->ops->timer_expired(s->dev, (uint32_t)best_timer);
        if (st != PORTLAB_OK) {
            return fail("timer expiry failed: %s", status_name(st));
        }
    }
    b->clock_ns = target;
    return 0;
}

static int board_migrate(Board *b, Slot *s, int to)
{
    int slot_index = (int)(s - b->slots);
    if (to < 0) {
        int other = s->impl == IMPL_C ? IMPL_RUST : IMPL_C;
        /* Without the other implementation, a fresh instance of the same. */
        to = s->impls[other] != NULL ? other : (int)s->impl;
    }
    const PortlabDeviceOps *target = s->impls[to];
    if (target == NULL) {
        return fail("%s: no %s implementation in this build", s->name, to == IMPL_RUST ? "Rust" : "C");
    }
    uint32_t len = 0;
    s->ops->save(s->dev, NULL, 0, &len);
    uint8_t *blob = malloc(len ? len : 1);
    if (blob == NULL) {
        return fail("out of memory");
    }
    PortlabStatus st = s->ops->save(s->dev, blob, len, &len);
    if (st != PORTLAB_OK) {
        free(blob);
        return fail("save failed: %s", status_name(st));
    }
    Timer saved[MAX_TIMERS];
    memcpy(saved, s->timers, sizeof saved);
    memset(s->timers, 0, sizeof s->timers);
    PortlabDevice *fresh = NULL;
    st = target->create(&host_ops, &host_ctx[slot_index], &fresh);
    if (st == PORTLAB_OK) {
        const PortlabDeviceOps *old_ops = s->ops;
        s->ops = target; /* callbacks during load see the new description */
        st = target->load(fresh, blob, len);
        if (st != PORTLAB_OK) {
            s->ops = old_ops;
            target->destroy(fresh);
            memcpy(s->timers, saved, sizeof saved);
        } else {
            old_ops->destroy(s->dev);
            s->dev = fresh;
            s->impl = (enum Impl)to;
        }
    } else {
        memcpy(s->timers, saved, sizeof saved);
    }
    free(blob);
    if (st != PORTLAB_OK) {
        return fail("migration load failed: %s", status_name(st));
    }
    return 0;
}

/* ---- The parser ------------------------------------------------------- */

typedef struct Words {
    char *w[8];
    int n;
} Words;

/* Splits in place; strings keep their quotes; '#' outside quotes ends. */
static int split_words(char *line, Words *out)
{
    out->n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
        }
        if (*p == '\0' || *p == '#') {
            return 0;
        }
        if (out->n == 8) {
            return fail("too many words on the line");
        }
        out->w[out->n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#') {
            if (*p == '"') {
                p++;
                while (*p != '"') {
                    if (*p == '\0') {
                        return fail("unterminated string (missing closing `\"`)");
                    }
                    if (*p == '\\' && p[1] != '\0') {
                        p++;
                    }
                    p++;
                }
            }
            p++;
        }
        if (*p == '\0') {
            return 0;
        }
        if (*p == '#') {
            *p = '\0';
            return 0;
        }
        *p++ = '\0';
    }
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

/* Decodes an rx operand into buf (at most strlen(word) bytes). */
static int parse_bytes(const char *word, uint8_t *buf, size_t *n)
{
    size_t k = 0;
    if (strncmp(word, "hex:", 4) == 0) {
        const char *h = word + 4;
        size_t len = strlen(h);
        if (len == 0 || len % 2 != 0) {
            return fail("`hex:` needs an even, non-zero number of hex digits, found `%s`", h);
        }
        for (size_t i = 0; i < len; i += 2) {
            int a = hexval((unsigned char)h[i]), c = hexval((unsigned char)h[i + 1]);
            if (a < 0 || c < 0) {
                return fail("`%c%c` is not a hex byte", h[i], h[i + 1]);
            }
            buf[k++] = (uint8_t)(a << 4 | c);
        }
        *n = k;
        return 0;
    }
    size_t len = strlen(word);
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
    if (k == 0) {
        return fail("`rx` needs at least one byte");
    }
    *n = k;
    return 0;
}

static Slot *find_slot(Board *b, const char *name)
{
    for (int i = 0; i < MAX_DEVICES; i++) {
        if (strcmp(b->slots[i].name, name) == 0) {
            return &b->slots[i];
        }
    }
    return NULL;
}

static int need_slot(Board *b, const char *name, Slot **out)
{
    *out = find_slot(b, name);
    if (*out == NULL) {
        return fail("unknown device `%s` (this board has: pl011, pl031)", name);
    }
    return 0;
}

static int parse_impl(const char *word, int *out)
{
    if (strcmp(word, "c") == 0) {
        *out = IMPL_C;
    } else if (strcmp(word, "rust") == 0) {
        *out = IMPL_RUST;
    } else {
        return fail("unknown implementation `%s` (expected `c` or `rust`)", word);
    }
    return 0;
}

/* Runs one line; returns 0, 1 (expectation) or 2 (error in error_text). */
static int run_line(Board *b, char *line)
{
    Words w;
    int rc = split_words(line, &w);
    if (rc) return rc;
    if (w.n == 0) {
        return 0;
    }
    const char *cmd = w.w[0];
    int args = w.n - 1;
    if (strcmp(cmd, "epoch") == 0) {
        if (args != 1) return fail("expected `epoch SECONDS`");
        uint64_t v;
        if ((rc = parse_number(w.w[1], &v))) return rc;
        if (b->created) return fail("`epoch` is allowed only before the first other command");
        b->epoch = v;
        return 0;
    }
    /* Validate the syntax before the board exists, as the Rust runner does. */
    static const char *known[] = {"write", "read", "rx", "break", "advance", "reset", "migrate"};
    int is_known = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        is_known |= strcmp(cmd, known[i]) == 0;
    }
    if (!is_known) {
        return fail("unknown command `%s` (expected write, read, rx, break, advance, epoch, reset or migrate)", cmd);
    }
    if (!b->created && (rc = board_create(b))) return rc;
    Slot *s = NULL;
    if (strcmp(cmd, "write") == 0) {
        if (args != 3 && args != 4) return fail("expected `write DEV OFFSET VALUE [SIZE]`");
        uint64_t off, val;
        uint32_t size = 4;
        if (args == 4 && (rc = parse_size(w.w[4], &size))) return rc;
        if ((rc = parse_number(w.w[3], &val)) || (rc = fits(val, size, "value"))) return rc;
        if ((rc = parse_number(w.w[2], &off))) return rc;
        if ((rc = need_slot(b, w.w[1], &s)) || (rc = check_access(s, off, size))) return rc;
        PortlabStatus st = s->ops->write(s->dev, off, size, val);
        if (st != PORTLAB_OK) return fail("write failed: %s", status_name(st));
        return deliver(s);
    }
    if (strcmp(cmd, "read") == 0) {
        if (args < 2 || args > 5) return fail("expected `read DEV OFFSET [SIZE] [= EXPECTED]`");
        uint64_t off, expected = 0;
        uint32_t size = 4;
        int idx = 3, has_expected = 0;
        if ((rc = parse_number(w.w[2], &off))) return rc;
        if (w.n > 3 && strcmp(w.w[3], "=") != 0) {
            if ((rc = parse_size(w.w[3], &size))) return rc;
            idx = 4;
        }
        if (w.n - idx == 2 && strcmp(w.w[idx], "=") == 0) {
            if ((rc = parse_number(w.w[idx + 1], &expected)) || (rc = fits(expected, size, "expected value")))
                return rc;
            has_expected = 1;
        } else if (w.n != idx) {
            return fail("expected `read DEV OFFSET [SIZE] [= EXPECTED]`");
        }
        if ((rc = need_slot(b, w.w[1], &s)) || (rc = check_access(s, off, size))) return rc;
        uint64_t value = 0;
        PortlabStatus st = s->ops->read(s->dev, off, size, &value);
        if (st != PORTLAB_OK) return fail("read failed: %s", status_name(st));
        if (size == 8) {
            printf("read %s 0x%03" PRIx64 " 8 0x%016" PRIx64 "\n", s->name, off, value);
        } else {
            printf("read %s 0x%03" PRIx64 " %u 0x%08" PRIx64 "\n", s->name, off, (unsigned)size, value);
        }
        if ((rc = deliver(s))) return rc;
        if (has_expected && expected != value) {
            snprintf(error_text, sizeof error_text, "read %s 0x%03" PRIx64 ": expected 0x%" PRIx64 ", actual 0x%" PRIx64,
                     s->name, off, expected, value);
            return 1;
        }
        return 0;
    }
    if (strcmp(cmd, "rx") == 0) {
        if (args != 2) return fail("expected `rx DEV BYTES`");
        size_t cap = strlen(w.w[2]) + 1, n = 0;
        uint8_t *bytes = malloc(cap);
        if (bytes == NULL) return fail("out of memory");
        if ((rc = parse_bytes(w.w[2], bytes, &n)) || (rc = need_slot(b, w.w[1], &s))) {
            free(bytes);
            return rc;
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
                free(bytes);
                return fail("out of memory");
            }
            s->pending = np;
            s->pending_cap = ncap;
        }
        memcpy(s->pending + s->pending_len, bytes, n);
        s->pending_len += n;
        free(bytes);
        return deliver(s);
    }
    if (strcmp(cmd, "break") == 0) {
        if (args != 1) return fail("expected `break DEV`");
        if ((rc = need_slot(b, w.w[1], &s))) return rc;
        PortlabStatus st = s->ops->receive_break(s->dev);
        return st == PORTLAB_OK ? 0 : fail("break failed: %s", status_name(st));
    }
    if (strcmp(cmd, "advance") == 0) {
        if (args != 1) return fail("expected `advance NS`");
        uint64_t ns;
        if ((rc = parse_number(w.w[1], &ns))) return rc;
        return board_advance(b, ns);
    }
    if (strcmp(cmd, "reset") == 0) {
        if (args > 1) return fail("expected `reset [DEV]`");
        for (int i = 0; i < MAX_DEVICES; i++) {
            if (args == 1 && strcmp(b->slots[i].name, w.w[1]) != 0) continue;
            PortlabStatus st = b->slots[i].ops->reset(b->slots[i].dev);
            if (st != PORTLAB_OK) return fail("reset failed: %s", status_name(st));
        }
        if (args == 1 && find_slot(b, w.w[1]) == NULL) return need_slot(b, w.w[1], &s);
        return 0;
    }
    /* migrate */
    if (args != 1 && args != 2) return fail("expected `migrate DEV [c|rust]`");
    int to = -1;
    if (args == 2 && (rc = parse_impl(w.w[2], &to))) return rc;
    if ((rc = need_slot(b, w.w[1], &s))) return rc;
    return board_migrate(b, s, to);
}

static int run_file(const char *path, const enum Impl impls[MAX_DEVICES], int verbose)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "portlab-run: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    static Board board;
    memset(&board, 0, sizeof board);
    board.epoch = DEFAULT_EPOCH;
    board.verbose = verbose;
    board.file = path;
    board.slots[0].name = "pl011";
    board.slots[0].impls[IMPL_C] = &portlab_pl011_c_ops;
    board.slots[1].name = "pl031";
    board.slots[1].impls[IMPL_C] = &portlab_pl031_c_ops;
#ifdef PORTLAB_WITH_RUST
    board.slots[0].impls[IMPL_RUST] = &portlab_x_pl011_rust_ops;
    board.slots[1].impls[IMPL_RUST] = &portlab_x_pl031_rust_ops;
#endif
    for (int i = 0; i < MAX_DEVICES; i++) {
        board.slots[i].impl = impls[i];
    }
    size_t cap = 4096;
    char *line = malloc(cap);
    int result = 0;
    for (;;) {
        size_t len = 0;
        int c = 0;
        board.line++;
        while ((c = fgetc(f)) != EOF && c != '\n') {
            if (len + 1 >= cap) {
                if (cap > MAX_LINE_BYTES) {
                    break;
                }
                cap *= 2;
                char *nl = realloc(line, cap);
                if (nl == NULL) {
                    result = fail("out of memory");
                    break;
                }
                line = nl;
            }
            line[len++] = (char)c;
        }
        if (result) break;
        if (len > MAX_LINE_BYTES) {
            result = fail("line is longer than %u bytes", MAX_LINE_BYTES);
            break;
        }
        if (c == EOF && len == 0) {
            break;
        }
        line[len] = '\0';
        result = run_line(&board, line);
        fflush(stdout);
        if (result || c == EOF) break;
    }
    if (result) {
        fprintf(stderr, "portlab-run: %s:%" PRIu64 ": %s\n", path, board.line, error_text);
    } else if (board.diagnostics > 0 && !verbose) {
        fprintf(stderr, "%s: %llu device diagnostic(s); -v shows them\n", path, board.diagnostics);
    }
    free(line);
    board_destroy(&board);
    if (f != stdin) fclose(f);
    return result;
}

static void usage(void)
{
    fprintf(stderr, "usage: portlab-run [--impl c|rust] [--device NAME=IMPL]... [-v] TRACE...\n");
}

int main(int argc, char **argv)
{
    enum Impl impls[MAX_DEVICES] = {IMPL_C, IMPL_C};
    int verbose = 0, first_trace = 0, worst = 0;
    for (int i = 1; i < argc; i++) {
        int to = IMPL_C;
        if (strcmp(argv[i], "--impl") == 0 && i + 1 < argc) {
            if (parse_impl(argv[++i], &to)) {
                fprintf(stderr, "portlab-run: %s\n", error_text);
                return 2;
            }
            impls[0] = impls[1] = (enum Impl)to;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            char *spec = argv[++i];
            char *eq = strchr(spec, '=');
            int slot = -1;
            if (eq != NULL) {
                *eq = '\0';
                slot = strcmp(spec, "pl011") == 0 ? 0 : strcmp(spec, "pl031") == 0 ? 1 : -1;
            }
            if (slot < 0 || parse_impl(eq + 1, &to)) {
                fprintf(stderr, "portlab-run: expected --device NAME=IMPL with NAME pl011 or pl031\n");
                return 2;
            }
            impls[slot] = (enum Impl)to;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
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
#ifndef PORTLAB_WITH_RUST
    if (impls[0] == IMPL_RUST || impls[1] == IMPL_RUST) {
        fprintf(stderr, "portlab-run: built without the Rust device library (make rust)\n");
        return 2;
    }
#endif
    for (int i = first_trace; i < argc; i++) {
        if (strcmp(argv[i], "--impl") == 0 || strcmp(argv[i], "--device") == 0) {
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
