/*
 * tool_backfill.c - `prom-tool tsdb create-blocks-from openmetrics`: an
 * OpenMetrics file with timestamps turned into TSDB blocks, as promtool's
 * backfill (cmd/promtool/backfill.go, Prometheus 3.x) does:
 *
 *   tsdb create-blocks-from openmetrics [-r] [-q] [--max-block-duration=<d>]
 *       [--label=name=value ...] <input file> [<output directory>]
 *
 * The input is mapped (read whole when it is a pipe or a character device)
 * and parsed twice and more, never copied:
 *
 *   1. one pass finds the smallest and largest timestamp (every sample must
 *      have one; a syntax error, or a missing "# EOF", stops here, before
 *      anything is written);
 *   2. time is cut into windows of the block duration (2h, or with
 *      --max-block-duration the largest of upstream's ranges 2h * 3^k that
 *      fits it), aligned to multiples of it; for each window holding samples
 *      the file is parsed again, the window's samples go into a fresh head
 *      kept in memory, and the head is written as one level-1 block spanning
 *      [its first sample, its last sample + 1 ms).  A window without samples
 *      is skipped without parsing when the previous pass saw that the next
 *      sample lies beyond it.
 *
 * Appending follows upstream's head appender as the backfill drives it: a
 * sample is checked against what the head holds when it is added (older
 * than the series' newest sample: "out of order sample"; same time, other
 * value: "duplicate sample for timestamp"), and samples are committed 5000 at
 * a time, when a sample that the check let through but an earlier sample of
 * the same batch now overtakes is dropped without a word (upstream's Commit
 * counts it and goes on).  So whether an out-of-order sample is an error
 * depends, as in promtool, on whether the sample it follows was committed
 * already.  The head's chunk range is twice the block duration, as upstream
 * sets it, so chunks are cut where promtool's are and the blocks hold the
 * same chunks.
 *
 * Also as 3.x: the "le" label of a histogram family and the "quantile" label
 * of a summary family are rewritten in OpenMetrics float form ("1" becomes
 * "1.0"; 2.42 kept them as written), labels with an empty value are dropped,
 * --label pairs are set on every series (an empty value removes the label),
 * and each block written is printed as `tsdb list` prints it unless --quiet.
 *
 * Errors carry upstream's words and wrapping ("block creation: process
 * blocks: add sample: out of order sample"), followed by the place in the
 * input: the parser's own messages name file, line and column; the others
 * get "(<file>:<line>: ...)" with the series.  A failing window leaves no
 * block behind (blocks are written into a temporary directory and renamed
 * when complete); blocks of earlier windows stay, as promtool leaves them.
 *
 * Trade-offs: the head of a window lives in memory (upstream writes its cut
 * chunks to a temporary directory): a window holds compressed samples, about
 * 1-2 bytes each, so memory is bounded by the densest block duration of the
 * input.  Series are found through a cache keyed by the series text as
 * written, so a label set is built and hashed once per series and window.
 * A float in le or quantile is recognised in decimal and Inf/NaN spellings;
 * hexadecimal floats and digits with underscores, which Go also reads, are
 * left as written.
 */
#define _GNU_SOURCE
#include "cmd/tool.h"
#include "model/model.h"
#include "tsdb/tsdb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_OUTPUT_DIR "data/"
#define HOUR_MS            (INT64_C(3600) * 1000)
#define DEFAULT_BLOCK_MS   (2 * HOUR_MS)
/* upstream's maxSamplesInAppender: samples per commit. */
#define BATCH 5000

/* ---- Go's words for system errors and durations */

/* Go's text of an errno: strerror with a lower-case first letter. */
static void add_os_error(core_sb *sb, int errnum)
{
    const char *s = strerror(errnum);
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z')) {
        core_sb_addc(sb, (char)(s[0] - 'A' + 'a'));
        s++;
    }
    core_sb_adds(sb, s);
}

static int os_fail(core_err *err, const char *op, const char *path, int errnum)
{
    core_sb sb = CORE_SB_INIT;
    add_os_error(&sb, errnum);
    core_err_set(err, "%s %s: %s", op, path, sb.buf);
    core_sb_destroy(&sb);
    return -1;
}

/* Go's time.quote: bytes outside printable ASCII as \xNN, " and \ escaped. */
static void go_time_quote(core_sb *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    core_sb_addc(sb, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c < ' ') {
            core_sb_addf(sb, "\\x%c%c", hex[c >> 4], hex[c & 15]);
            continue;
        }
        if (c == '"' || c == '\\') core_sb_addc(sb, '\\');
        core_sb_addc(sb, (char)c);
    }
    core_sb_addc(sb, '"');
}

static int duration_fail(core_err *err, const char *what, const char *unit, size_t ulen,
                         const char *orig)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_addf(&sb, "time: %s", what);
    if (unit) {
        core_sb_addc(&sb, ' ');
        go_time_quote(&sb, unit, ulen);
        core_sb_adds(&sb, " in duration");
    }
    core_sb_addc(&sb, ' ');
    go_time_quote(&sb, orig, strlen(orig));
    core_err_set(err, "%s", sb.buf);
    core_sb_destroy(&sb);
    return -1;
}

/* Go's time.ParseDuration ("2h", "1h30m", "1.5h", "-90m", "300ms"), which
 * kingpin uses for promtool's duration flags; the result in nanoseconds. */
static int go_parse_duration(const char *orig, int64_t *out, core_err *err)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN */
        {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
        {"ms", 1000000},
        {"s", UINT64_C(1000000000)},
        {"m", UINT64_C(60000000000)},
        {"h", UINT64_C(3600000000000)},
    };
    const uint64_t lim = UINT64_C(1) << 63;
    const char *s = orig;
    bool neg = false;
    uint64_t d = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*s) return duration_fail(err, "invalid duration", NULL, 0, orig);
    while (*s) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return duration_fail(err, "invalid duration", NULL, 0, orig);
        const char *start = s;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > lim / 10) return duration_fail(err, "invalid duration", NULL, 0, orig);
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > lim) return duration_fail(err, "invalid duration", NULL, 0, orig);
        }
        bool pre = s != start, post = false;
        if (*s == '.') {
            s++;
            start = s;
            bool overflow = false;
            for (; *s >= '0' && *s <= '9'; s++) {
                if (overflow) continue;
                if (f > (lim - 1) / 10) {
                    overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*s - '0');
                if (y > lim) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = s != start;
        }
        if (!pre && !post) return duration_fail(err, "invalid duration", NULL, 0, orig);
        const char *u = s;
        while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
            s++;
        size_t ulen = (size_t)(s - u);
        if (ulen == 0) return duration_fail(err, "missing unit in duration", NULL, 0, orig);
        uint64_t unit = 0;
        for (size_t k = 0; k < TOOL_COUNT(units); k++)
            if (strlen(units[k].name) == ulen && memcmp(units[k].name, u, ulen) == 0)
                unit = units[k].ns;
        if (!unit) return duration_fail(err, "unknown unit", u, ulen, orig);
        if (v > lim / unit) return duration_fail(err, "invalid duration", NULL, 0, orig);
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim) return duration_fail(err, "invalid duration", NULL, 0, orig);
        }
        d += v;
        if (d > lim) return duration_fail(err, "invalid duration", NULL, 0, orig);
    }
    if (neg) {
        *out = (int64_t)(0 - d);
        return 0;
    }
    if (d > lim - 1) return duration_fail(err, "invalid duration", NULL, 0, orig);
    *out = (int64_t)d;
    return 0;
}

/* upstream's getCompatibleBlockDuration: 2h, or the largest of the ranges
 * 2h * 3^k (k < 10) not above a larger maximum. */
static int64_t block_duration(int64_t max_ms)
{
    int64_t d = DEFAULT_BLOCK_MS;
    if (max_ms <= DEFAULT_BLOCK_MS) return d;
    int64_t ranges[10];
    for (int i = 0; i < 10; i++, d *= 3)
        ranges[i] = d;
    int idx = 9;
    for (int i = 0; i < 10; i++)
        if (ranges[i] > max_ms) {
            idx = i - 1;
            break;
        }
    return ranges[idx];
}

/* ---- The input */

typedef struct input {
    const char *path;
    const char *buf;
    size_t len;
    void *map;  /* the mapping, or NULL */
    char *copy; /* what was read, or NULL */
} input;

static int input_open(input *in, const char *path, core_err *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    in->buf = "";
    struct stat st;
    if (stat(path, &st) < 0) return os_fail(err, "stat", path, errno);
    if (S_ISDIR(st.st_mode)) return os_fail(err, "read", path, EISDIR);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        os_fail(err, "open", path, errno);
        return core_err_prefix(err, "try lock file");
    }
    if (S_ISREG(st.st_mode)) {
        if (st.st_size > 0) {
            in->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (in->map == MAP_FAILED) {
                in->map = NULL;
                int e = errno;
                close(fd);
                core_sb sb = CORE_SB_INIT;
                add_os_error(&sb, e);
                core_err_set(err, "mmap, size %lld: %s", (long long)st.st_size, sb.buf);
                core_sb_destroy(&sb);
                return -1;
            }
            madvise(in->map, (size_t)st.st_size, MADV_SEQUENTIAL);
            in->buf = in->map;
            in->len = (size_t)st.st_size;
        }
        close(fd);
        return 0;
    }
    /* A pipe or a device: read it whole. */
    core_sb sb = CORE_SB_INIT;
    char chunk[1 << 16];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            core_sb_destroy(&sb);
            return os_fail(err, "read", path, e);
        }
        if (n == 0) break;
        core_sb_add(&sb, chunk, (size_t)n);
    }
    close(fd);
    in->len = sb.len;
    in->copy = core_sb_detach(&sb, NULL);
    in->buf = in->copy;
    return 0;
}

static void input_close(input *in)
{
    if (in->map) munmap(in->map, in->len);
    free(in->copy);
    memset(in, 0, sizeof *in);
}

/* The 1-based line of the input at p. */
static size_t line_of(const input *in, const char *p)
{
    size_t line = 1;
    for (const char *q = in->buf; q < p; q++) {
        q = memchr(q, '\n', (size_t)(p - q));
        if (!q) break;
        line++;
    }
    return line;
}

/* ---- Labels as upstream's backfill gives them to the head */

/* Whether s[0..n) is a float as Go's strconv.ParseFloat reads one (decimal
 * and Inf/NaN spellings; see the trade-offs above); *v gets it. */
static bool parse_float(const char *s, size_t n, double *v)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *p = buf;
    if (*p == '+' || *p == '-') p++;
    if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
        *v = buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (strcasecmp(p, "nan") == 0) {
        *v = NAN;
        return true;
    }
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0) return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p) return false;
    errno = 0;
    *v = strtod(buf, NULL);
    return !(errno == ERANGE && isinf(*v));
}

/* upstream's FormatOpenMetricsFloat: Go's %g, with ".0" added to an integer. */
static void om_float(double v, core_sb *out)
{
    if (v == 0) {
        core_sb_adds(out, "0.0");
        return;
    }
    char buf[MODEL_FLOAT_BUFSZ + 2];
    size_t n = model_format_float(v, buf);
    core_sb_add(out, buf, n);
    if (isfinite(v) && !memchr(buf, '.', n) && !memchr(buf, 'e', n)) core_sb_adds(out, ".0");
}

/* ---- One window: a head and the samples waiting for their commit */

typedef struct pending {
    tsdb_hseries *s;
    int64_t t;
    uint64_t v;
} pending;

/* Series by the text they were written with (and the family type, which
 * decides whether le or quantile is rewritten). */
typedef struct cache_slot {
    uint64_t hash;
    const char *key; /* into the input */
    size_t len;
    model_type type;
    tsdb_hseries *s; /* NULL: empty slot */
} cache_slot;

typedef struct window {
    int64_t mint, maxt; /* [mint, maxt) */
    tsdb_head *head;
    pending batch[BATCH];
    size_t n;
    cache_slot *slots;
    size_t nslots, used; /* nslots a power of two */
    core_arena arena;    /* labels being built */
    core_labels_builder lb;
    core_sb scratch;
} window;

typedef struct backfill {
    input in;
    const char *outdir;
    bool human, quiet, header_done;
    const core_label *extra; /* --label pairs, each name once */
    size_t nextra;
    int64_t next_ts; /* the earliest sample seen past the window parsed last */
} backfill;

static tsdb_hseries *cache_find(window *w, uint64_t hash, model_str key, model_type type)
{
    if (!w->nslots) return NULL;
    for (size_t i = hash & (w->nslots - 1);; i = (i + 1) & (w->nslots - 1)) {
        cache_slot *c = &w->slots[i];
        if (!c->s) return NULL;
        if (c->hash == hash && c->len == key.len && c->type == type &&
            memcmp(c->key, key.p, key.len) == 0)
            return c->s;
    }
}

static void cache_put(window *w, uint64_t hash, model_str key, model_type type, tsdb_hseries *s)
{
    if (2 * (w->used + 1) > w->nslots) {
        size_t n = w->nslots ? 2 * w->nslots : 1024;
        cache_slot *old = w->slots;
        size_t nold = w->nslots;
        w->slots = core_calloc(n, sizeof *w->slots);
        w->nslots = n;
        w->used = 0;
        for (size_t i = 0; i < nold; i++)
            if (old[i].s)
                cache_put(w, old[i].hash, (model_str){old[i].key, old[i].len}, old[i].type,
                          old[i].s);
        free(old);
    }
    size_t i = hash & (w->nslots - 1);
    while (w->slots[i].s)
        i = (i + 1) & (w->nslots - 1);
    w->slots[i] = (cache_slot){hash, key.p, key.len, type, s};
    w->used++;
}

/* "(<file>:<line>: series {...}" for a message about the current entry. */
static void add_place(core_sb *sb, const backfill *bf, const char *at, const core_labels *ls)
{
    core_sb_addf(sb, " (%s:%zu", bf->in.path, line_of(&bf->in, at));
    if (ls) {
        core_sb_adds(sb, ": series ");
        core_labels_format(ls, sb);
    }
}

/* The label set the head gets for the current series: the parser's, le or
 * quantile rewritten for its family type, the --label pairs set, empty values
 * dropped.  NULL with err (the "add sample" errors of upstream's head). */
static const core_labels *series_labels(backfill *bf, window *w, model_parser *p, model_type type,
                                        const char *at, core_err *err)
{
    core_arena_reset(&w->arena);
    const core_labels *ls = model_parser_labels_new(p, &w->arena, err);
    if (!ls) {
        core_sb sb = CORE_SB_INIT;
        core_sb_adds(&sb, err->msg);
        add_place(&sb, bf, at, NULL);
        core_err_set(err, "%s)", sb.buf);
        core_sb_destroy(&sb);
        return NULL;
    }
    core_labels_builder_reset(&w->lb, ls);
    const char *norm = type == MODEL_TYPE_HISTOGRAM ? "le"
                       : type == MODEL_TYPE_SUMMARY ? "quantile"
                                                    : NULL;
    const char *nv = norm ? core_labels_get(ls, norm) : NULL;
    double f;
    if (nv && parse_float(nv, strlen(nv), &f)) {
        core_sb_reset(&w->scratch);
        om_float(f, &w->scratch);
        core_labels_builder_set(&w->lb, norm, core_arena_strdup(&w->arena, w->scratch.buf));
    }
    for (size_t i = 0; i < bf->nextra; i++)
        core_labels_builder_set(&w->lb, bf->extra[i].name, bf->extra[i].value);
    /* Empty values are dropped (setting one already deletes the label). */
    for (size_t i = 0; i < ls->len; i++) {
        if (ls->v[i].value[0]) continue;
        bool set = false;
        for (size_t k = 0; k < bf->nextra && !set; k++)
            set = strcmp(bf->extra[k].name, ls->v[i].name) == 0;
        if (!set) core_labels_builder_del(&w->lb, ls->v[i].name);
    }
    const core_labels *out = core_labels_builder_labels(&w->lb, &w->arena);
    const char *dup = core_labels_dup_name(out);
    core_sb sb = CORE_SB_INIT;
    if (out->len == 0) {
        core_sb_adds(&sb, "empty labelset: invalid sample");
    } else if (dup) {
        core_sb_adds(&sb, "label name ");
        core_sb_add_quoted(&sb, dup, strlen(dup));
        core_sb_adds(&sb, " is not unique: invalid sample");
    }
    if (sb.len) {
        add_place(&sb, bf, at, out);
        core_err_set(err, "%s)", sb.buf);
        core_sb_destroy(&sb);
        return NULL;
    }
    core_sb_destroy(&sb);
    return out;
}

/* The value the series holds at t (its newest sample), for a message. */
static uint64_t value_at(tsdb_head *h, tsdb_hseries *s, int64_t t, core_arena *a)
{
    tsdb_chunk_meta *metas;
    const uint8_t **bytes;
    uint32_t *lens;
    size_t n = tsdb_head_series_chunks(h, s, t, t, a, &metas, &bytes, &lens);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        tsdb_xor_iter it;
        if (tsdb_xor_iter_init(&it, bytes[i], lens[i], NULL) < 0) continue;
        if (tsdb_xor_iter_seek(&it, t) && it.t == t) v = it.v;
    }
    return v;
}

/* The series' newest sample time, for a message. */
static int64_t newest_of(tsdb_head *h, tsdb_hseries *s, core_arena *a)
{
    tsdb_chunk_meta *metas;
    const uint8_t **bytes;
    uint32_t *lens;
    size_t n = tsdb_head_series_chunks(h, s, INT64_MIN, INT64_MAX, a, &metas, &bytes, &lens);
    return n ? metas[n - 1].maxt : INT64_MIN;
}

static double as_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Commits the batch: each sample is appended in order; those an earlier one
 * of the batch made out of order (or a duplicate) are dropped, as upstream's
 * Commit drops them. */
static int commit(window *w, core_err *err)
{
    for (size_t i = 0; i < w->n; i++) {
        pending *p = &w->batch[i];
        if (tsdb_head_append(w->head, p->s, p->t, p->v, err) < 0)
            return core_err_prefix(err, "commit");
    }
    w->n = 0;
    return 0;
}

/* Adds the current series' sample to the window, as upstream's
 * app.Append(0, labels, t, v). */
static int add_sample(backfill *bf, window *w, model_parser *p, model_type type, int64_t t,
                      core_err *err)
{
    model_str key = model_parser_series_key(p);
    uint64_t hash = core_hash(key.p, key.len) ^ (uint64_t)type;
    tsdb_hseries *s = cache_find(w, hash, key, type);
    if (!s) {
        const core_labels *ls = series_labels(bf, w, p, type, key.p, err);
        if (!ls) return -1;
        bool created;
        s = tsdb_head_get_or_create(w->head, ls, 0, &created);
        cache_put(w, hash, key, type, s);
    }
    double v = model_parser_value(p);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int rc = tsdb_head_check(w->head, s, t, bits);
    if (rc != 0) {
        core_sb sb = CORE_SB_INIT;
        core_arena_reset(&w->arena);
        if (rc == TSDB_APPEND_OUT_OF_ORDER) {
            core_sb_adds(&sb, "out of order sample");
        } else if (rc == TSDB_APPEND_DUPLICATE) {
            char a[MODEL_FLOAT_BUFSZ], b[MODEL_FLOAT_BUFSZ];
            model_format_float(as_double(value_at(w->head, s, t, &w->arena)), a);
            model_format_float(v, b);
            core_sb_addf(&sb,
                         "duplicate sample for timestamp %" PRId64
                         "; overrides not allowed: existing %s, new value %s",
                         t, a, b);
        } else {
            core_sb_adds(&sb, "out of bounds");
        }
        add_place(&sb, bf, key.p, tsdb_hseries_labels(s));
        core_sb_addf(&sb, " at %" PRId64, t);
        if (rc == TSDB_APPEND_OUT_OF_ORDER)
            core_sb_addf(&sb, ", older than its sample at %" PRId64,
                         newest_of(w->head, s, &w->arena));
        core_err_set(err, "add sample: %s)", sb.buf);
        core_sb_destroy(&sb);
        return -1;
    }
    w->batch[w->n++] = (pending){s, t, bits};
    if (w->n == BATCH) return commit(w, err);
    return 0;
}

static void window_destroy(window *w)
{
    tsdb_head_free(w->head);
    free(w->slots);
    core_arena_destroy(&w->arena);
    core_labels_builder_destroy(&w->lb);
    core_sb_destroy(&w->scratch);
}

/* Prints the block just written as promtool does (the header before the
 * first one). */
static int print_block(backfill *bf, const tsdb_ulid *ulid, core_err *err)
{
    char id[TSDB_ULID_LEN + 1];
    tsdb_ulid_format(ulid, id);
    core_sb dir = CORE_SB_INIT;
    core_sb_addf(&dir, "%s/%s", bf->outdir, id);
    tsdb_block b;
    int rc = tsdb_block_open(&b, dir.buf, err);
    core_sb_destroy(&dir);
    if (rc < 0) return core_err_prefix(err, "get blocks");
    tool_tsdb_print_blocks(&b, 1, !bf->header_done, bf->human);
    bf->header_done = true;
    tsdb_block_close(&b);
    return 0;
}

/* One window [mint, maxt): parse, append, write the block. */
static int run_window(backfill *bf, int64_t mint, int64_t maxt, int64_t chunk_range, core_err *err)
{
    window *w = core_calloc(1, sizeof *w);
    w->mint = mint;
    w->maxt = maxt;
    core_arena_init(&w->arena, 0);
    core_labels_builder_init(&w->lb, NULL);
    w->head = tsdb_head_new(&(tsdb_head_opts){.chunk_range = chunk_range}, err);
    int rc = w->head ? 0 : core_err_prefix(err, "block writer");
    model_parser *p =
        model_parser_new(MODEL_FORMAT_OPENMETRICS, bf->in.buf, bf->in.len, bf->in.path);
    model_type type = MODEL_TYPE_UNKNOWN;
    while (rc == 0) {
        model_entry e = model_parser_next(p, err);
        if (e == MODEL_ENTRY_EOF) break;
        if (e == MODEL_ENTRY_ERROR) {
            rc = core_err_prefix(err, "parse");
            break;
        }
        if (e == MODEL_ENTRY_TYPE) type = model_parser_type(p);
        if (e != MODEL_ENTRY_SERIES) continue;
        int64_t t;
        if (!model_parser_timestamp(p, &t)) {
            rc = core_err_set(err, "expected timestamp for series, got none (%s:%zu)", bf->in.path,
                              line_of(&bf->in, model_parser_series_key(p).p));
            break;
        }
        if (t < mint) continue;
        if (t >= maxt) {
            if (t < bf->next_ts) bf->next_ts = t;
            continue;
        }
        rc = add_sample(bf, w, p, type, t, err);
    }
    model_parser_free(p);
    if (rc == 0) rc = commit(w, err);
    if (rc == 0) {
        tsdb_head_stats st = tsdb_head_get_stats(w->head);
        tsdb_ulid ulid = {{0}};
        static const tsdb_ulid zero;
        if (st.series > 0 && st.mint <= st.maxt &&
            tsdb_head_write_block(w->head, bf->outdir, st.mint, st.maxt + 1, &ulid, err) < 0)
            rc = core_err_prefix(err, "flush: compactor write");
        if (rc == 0 && !bf->quiet && memcmp(&ulid, &zero, sizeof ulid) != 0)
            rc = print_block(bf, &ulid, err);
    }
    window_destroy(w);
    free(w);
    return rc;
}

/* upstream's getMinAndMaxTimestamps: the first pass. */
static int min_max(backfill *bf, int64_t *mint, int64_t *maxt, core_err *err)
{
    model_parser *p =
        model_parser_new(MODEL_FORMAT_OPENMETRICS, bf->in.buf, bf->in.len, bf->in.path);
    *mint = INT64_MAX;
    *maxt = INT64_MIN;
    int rc = 0;
    for (;;) {
        model_entry e = model_parser_next(p, err);
        if (e == MODEL_ENTRY_EOF) break;
        if (e == MODEL_ENTRY_ERROR) {
            rc = core_err_prefix(err, "next");
            break;
        }
        if (e != MODEL_ENTRY_SERIES) continue;
        int64_t t;
        if (!model_parser_timestamp(p, &t)) {
            rc = core_err_set(err, "expected timestamp for series got none (%s:%zu)", bf->in.path,
                              line_of(&bf->in, model_parser_series_key(p).p));
            break;
        }
        if (t > *maxt) *maxt = t;
        if (t < *mint) *mint = t;
    }
    model_parser_free(p);
    if (*maxt == INT64_MIN) *maxt = 0;
    if (*mint == INT64_MAX) *mint = 0;
    return rc;
}

/* upstream's createBlocks: one block per window of the block duration. */
static int create_blocks(backfill *bf, int64_t mint, int64_t maxt, int64_t max_block_ms,
                         core_err *err)
{
    int64_t dur = block_duration(max_block_ms);
    mint = dur * (mint / dur);
    bf->next_ts = INT64_MAX;
    for (int64_t t = mint; t <= maxt; t += dur) {
        int64_t upper = t > INT64_MAX - dur ? INT64_MAX : t + dur;
        bool skip = bf->next_ts != INT64_MAX && bf->next_ts >= upper;
        if (!skip) {
            bf->next_ts = INT64_MAX;
            if (run_window(bf, t, upper, 2 * dur, err) < 0)
                return core_err_prefix(err, "process blocks");
        }
        if (upper == INT64_MAX) break;
    }
    return 0;
}

/* os.MkdirAll. */
static int mkdir_all(const char *dir, core_err *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        return os_fail(err, "mkdir", dir, ENOTDIR);
    }
    char *p = core_strdup(dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            int e = errno;
            os_fail(err, "mkdir", p, e);
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = 0;
    if (mkdir(p, 0777) < 0 && errno != EEXIST) rc = os_fail(err, "mkdir", p, errno);
    free(p);
    return rc;
}

/* The --label pairs, split as kingpin's StringMap splits them (at the first
 * ':' or '='); a name given twice keeps its last value. */
static int parse_labels(const core_strlist *list, core_label **out, size_t *n)
{
    *out = core_calloc(list->len + 1, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < list->len; i++) {
        const char *s = list->v[i];
        size_t k = strcspn(s, ":=");
        if (!s[k]) {
            free(*out);
            return tool_usage_error("expected KEY=VALUE got '%s'", s);
        }
        char *name = core_strndup(s, k);
        size_t j = 0;
        while (j < *n && strcmp((*out)[j].name, name) != 0)
            j++;
        if (j < *n) {
            free((char *)(*out)[j].name);
        } else {
            (*n)++;
        }
        (*out)[j] = (core_label){name, s + k + 1};
    }
    return 0;
}

int tool_tsdb_create_blocks_openmetrics(const tool_cmd *cmd, int argc, char **argv)
{
    bool human = false, quiet = false;
    const char *max_dur = "", *path = NULL, *outdir = NULL;
    core_strlist labels = {0};
    core_flag flags[] = {
        {"human-readable", CORE_FLAG_BOOL, &human, NULL, "Print human readable values.", false},
        {"quiet", CORE_FLAG_BOOL, &quiet, NULL, "Do not print created blocks.", false},
        {"label", CORE_FLAG_LIST, &labels, NULL,
         "Label to attach to metrics. Can be specified multiple times. Example "
         "--label=label_name=label_value",
         false},
        {"max-block-duration", CORE_FLAG_STRING, &max_dur, "",
         "Maximum duration created blocks may span. Anything less than 2h is ignored.", false},
    };
    static const tool_short shorts[] = {{'r', "human-readable"}, {'q', "quiet"}};
    tool_arg args[] = {
        {"input file", "OpenMetrics file to read samples from.", &path, NULL, true, NULL},
        {"output directory", "Output directory for generated blocks.", &outdir, DEFAULT_OUTPUT_DIR,
         false, NULL},
    };
    tool_spec spec = TOOL_SPEC(flags, shorts, args);
    spec.nhidden = 1; /* --max-block-duration, hidden upstream */
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) {
        core_strlist_destroy(&labels);
        return status;
    }
    core_err err;
    int64_t max_ns = 0;
    if (flags[3].given && go_parse_duration(max_dur, &max_ns, &err) < 0) {
        core_strlist_destroy(&labels);
        return tool_usage_error("%s", err.msg);
    }
    core_label *extra;
    size_t nextra;
    if (parse_labels(&labels, &extra, &nextra) != 0) {
        core_strlist_destroy(&labels);
        return 1;
    }

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    backfill bf = {
        .outdir = outdir, .human = human, .quiet = quiet, .extra = extra, .nextra = nextra};
    int rc = input_open(&bf.in, path, &err);
    if (rc == 0 && mkdir_all(outdir, &err) < 0) rc = core_err_prefix(&err, "create output dir");
    int64_t mint = 0, maxt = 0;
    if (rc == 0 && min_max(&bf, &mint, &maxt, &err) < 0)
        rc = core_err_prefix(&err, "getting min and max timestamp");
    if (rc == 0 && create_blocks(&bf, mint, maxt, max_ns / 1000000, &err) < 0)
        rc = core_err_prefix(&err, "block creation");
    input_close(&bf.in);
    for (size_t i = 0; i < nextra; i++)
        free((char *)extra[i].name);
    free(extra);
    core_strlist_destroy(&labels);
    fflush(stdout);
    if (rc < 0) return tool_fail(&err);
    return 0;
}
