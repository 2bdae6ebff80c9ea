/*
 * expose.c - a scrape's families written straight into the response, see out.h.
 *
 * The collectors' outputs (out.c) already hold every family with its samples, so
 * for the two text formats the scrape writes them itself instead of handing them
 * to libprom's emitter, which would copy every string again, sort, and only then
 * encode.  Measured on this machine (bench/exporters/run, 260 families, 1,000
 * lines): the emitter's copy, sort and render took about 190 us of a 1.5 ms
 * scrape; writing here takes about 60 us.  The protobuf format still goes through
 * libprom (nx_out_replay), which owns that encoding.
 *
 * The bytes are libprom's (client/encode.c), which are expfmt's: families in name
 * order, a name met again later dropped (the renderer keeps the first); a
 * family's label names sorted, its samples ordered by their label values in that
 * order (an absent label compares as ""), ties kept in emission order, as the
 * renderer's stable sort does; families without samples left out.  Text: # HELP
 * (backslash and newline escaped), # TYPE, then the lines, every number a float
 * in Go's 'g' style with every zero written "0".  OpenMetrics: a counter's family
 * named without "_total" and its samples with it, untyped as "unknown", help with
 * quotes escaped too, floats with ".0" when they have neither point nor exponent,
 * counts as integers, "# EOF" at the end.  A family whose metric name or a label
 * name is invalid is dropped with a warning, as the emitter refuses it.
 * tests/unit/node/test_expose.c compares both formats with libprom's rendering of
 * the same outputs byte for byte.
 */
#include "out.h"

#include "model/model.h"

#include <math.h>
#include <string.h>

/* ---- Appending: room is reserved once per line, then bytes are copied in. */

static char *room(core_sb *sb, size_t n)
{
    core_sb_grow(sb, n);
    return sb->buf + sb->len;
}

static void done(core_sb *sb, char *end)
{
    sb->len = (size_t)(end - sb->buf);
    sb->buf[sb->len] = '\0';
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* Bytes that end a run a string is copied in: 1 for NUL, 2 for those always
 * escaped (backslash, newline), 3 for the double quote. */
static const unsigned char stop[256] = {[0] = 1, ['\\'] = 2, ['\n'] = 2, ['"'] = 3};

/* s with backslash and newline escaped, and double quotes when `quotes`; the
 * caller reserved 2 * strlen(s).  Runs without such bytes are copied whole. */
static char *put_escaped(char *p, const char *s, bool quotes)
{
    for (;;) {
        const char *run = s;
        while (stop[(unsigned char)*s] == 0)
            s++;
        memcpy(p, run, (size_t)(s - run));
        p += s - run;
        unsigned char kind = stop[(unsigned char)*s];
        if (kind == 1) return p;
        if (kind == 3 && !quotes) {
            *p++ = *s++;
            continue;
        }
        *p++ = '\\';
        *p++ = *s == '\n' ? 'n' : *s;
        s++;
    }
}

/* A float as expfmt writes it; at most MODEL_FLOAT_BUFSZ + 2 bytes. */
static char *put_double(char *p, double v, bool om)
{
    if (v == 0) /* -0 too */
        return put(p, om ? "0.0" : "0", om ? 3 : 1);
    char num[MODEL_FLOAT_BUFSZ];
    size_t n = model_format_float(v, num);
    p = put(p, num, n);
    if (om && isfinite(v) && memchr(num, '.', n) == NULL && memchr(num, 'e', n) == NULL)
        p = put(p, ".0", 2);
    return p;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return put(p, tmp + i, sizeof tmp - i);
}

/* ---- A family ready to write */

typedef struct fam_ref {
    uint64_t key[2]; /* the name's first 16 bytes, big-endian, zero-padded */
    size_t len;      /* the name's */
    const nx_fam *f;
    size_t seq; /* emission order, for ties */
} fam_ref;

/* Bytes [at, at + 8) of s as a big-endian number, zeros past the end:
 * comparing these orders names as strcmp does, 8 bytes at a time. */
static uint64_t name_key(const char *s, size_t len, size_t at)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (at + i < len ? (unsigned char)s[at + i] : 0);
    return k;
}

typedef struct writer {
    core_sb *sb;
    bool om;
    const nx_fam *f;
    size_t name_len, family_len; /* family_len: the name OpenMetrics gives the family */
    size_t order[64];            /* label k in name order is f->labels[order[k]] */
    size_t *idx, idx_cap;        /* sample order, when the samples need sorting */
} writer;

/* Name bytes: 1 a letter or '_', 2 a digit, 3 a colon (metric names only). */
static const unsigned char name_byte[256] = {
    ['_'] = 1, [':'] = 3, ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2,
    ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
    ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
};

/* [a-zA-Z_:][a-zA-Z0-9_:]* for a metric name, [a-zA-Z_][a-zA-Z0-9_]* and not
 * "__..." for a label name. */
static bool name_ok(const char *s, bool metric)
{
    unsigned char b = name_byte[(unsigned char)*s];
    if (b != 1 && !(metric && b == 3)) return false;
    for (const char *p = s + 1; *p != '\0'; p++) {
        b = name_byte[(unsigned char)*p];
        if (b == 0 || (b == 3 && !metric)) return false;
    }
    return metric || s[0] != '_' || s[1] != '_';
}

/* Checks the family's names as the emitter does, and sorts its label names. */
static bool writer_family(writer *w, const nx_fam *f)
{
    if (!name_ok(f->name, true)) {
        core_warn("collector", "family dropped", "family", f->name, "err",
                  "invalid metric name: must match [a-zA-Z_:][a-zA-Z0-9_:]*");
        return false;
    }
    if (f->n_labels > sizeof w->order / sizeof w->order[0]) {
        core_warn("collector", "family dropped", "family", f->name, "err", "too many labels");
        return false;
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        if (!name_ok(f->labels[i], false)) {
            core_warn("collector", "family dropped", "family", f->name, "err",
                      "invalid label name: must match [a-zA-Z_][a-zA-Z0-9_]*");
            return false;
        }
        /* insertion sort: a handful of names */
        size_t k = i;
        while (k > 0 && strcmp(f->labels[w->order[k - 1]], f->labels[i]) > 0) {
            w->order[k] = w->order[k - 1];
            k--;
        }
        w->order[k] = i;
    }
    w->f = f;
    w->name_len = strlen(f->name);
    w->family_len = w->name_len;
    if (w->om && f->type == PROM_COUNTER && w->name_len >= 6 &&
        memcmp(f->name + w->name_len - 6, "_total", 6) == 0)
        w->family_len -= 6;
    return true;
}

static int cmp_samples(const writer *w, const nx_sample_rec *a, const nx_sample_rec *b)
{
    for (size_t k = 0; k < w->f->n_labels; k++) {
        size_t i = w->order[k];
        int c = strcmp(a->values[i] ? a->values[i] : "", b->values[i] ? b->values[i] : "");
        if (c != 0) return c;
    }
    return 0;
}

static int cmp_index(const void *a, const void *b, void *ctx)
{
    const writer *w = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = cmp_samples(w, &w->f->samples[x], &w->f->samples[y]);
    return c != 0 ? c : (x > y) - (x < y);
}

/* "# what name[_suffix] text\n" */
static void put_comment(writer *w, const char *what, const char *text, bool escape_quotes)
{
    size_t n = strlen(text);
    char *p = room(w->sb, 8 + w->family_len + 2 * n);
    p = put(p, "# ", 2);
    p = put(p, what, strlen(what));
    *p++ = ' ';
    p = put(p, w->f->name, w->family_len);
    *p++ = ' ';
    p = escape_quotes ? put_escaped(p, text, true) : put_escaped(p, text, false);
    *p++ = '\n';
    done(w->sb, p);
}

static const char *type_name(prom_type t, bool om)
{
    switch (t) {
    case PROM_COUNTER: return "counter";
    case PROM_HISTOGRAM: return "histogram";
    case PROM_SUMMARY: return "summary";
    case PROM_UNTYPED: return om ? "unknown" : "untyped";
    default: return "gauge";
    }
}

/* The bytes a sample's labels may take, escaped, with one extra label. */
static size_t labels_room(const writer *w, const nx_sample_rec *s)
{
    size_t n = 64;
    for (size_t i = 0; i < w->f->n_labels; i++)
        if (s->values[i] != NULL) n += strlen(w->f->labels[i]) + 2 * strlen(s->values[i]) + 4;
    return n;
}

/* name suffix{labels[,extra="value"]} number\n, with `value` written by the caller
 * through put_double or put_u64: this writes up to and including the space. */
static char *put_series(writer *w, char *p, const nx_sample_rec *s, size_t name_len,
                        const char *suffix, const char *extra, const char *extra_value)
{
    p = put(p, w->f->name, name_len);
    p = put(p, suffix, strlen(suffix));
    char sep = '{';
    for (size_t k = 0; k < w->f->n_labels; k++) {
        size_t i = w->order[k];
        if (s->values[i] == NULL) continue;
        *p++ = sep;
        sep = ',';
        p = put(p, w->f->labels[i], strlen(w->f->labels[i]));
        *p++ = '=';
        *p++ = '"';
        p = put_escaped(p, s->values[i], true);
        *p++ = '"';
    }
    if (extra != NULL) {
        *p++ = sep;
        sep = ',';
        p = put(p, extra, strlen(extra));
        *p++ = '=';
        *p++ = '"';
        p = put(p, extra_value, strlen(extra_value));
        *p++ = '"';
    }
    if (sep != '{') *p++ = '}';
    *p++ = ' ';
    return p;
}

#define NUM_ROOM (MODEL_FLOAT_BUFSZ + 8)

static void put_value_line(writer *w, const nx_sample_rec *s, size_t lroom, size_t name_len,
                           const char *suffix, const char *extra, const char *extra_value, double v)
{
    char *p = room(w->sb, name_len + 16 + lroom + NUM_ROOM);
    p = put_series(w, p, s, name_len, suffix, extra, extra_value);
    p = put_double(p, v, w->om);
    *p++ = '\n';
    done(w->sb, p);
}

static void put_count_line(writer *w, const nx_sample_rec *s, size_t lroom, const char *suffix,
                           const char *extra, const char *extra_value, uint64_t count)
{
    char *p = room(w->sb, w->name_len + 16 + lroom + NUM_ROOM);
    p = put_series(w, p, s, w->name_len, suffix, extra, extra_value);
    p = w->om ? put_u64(p, count) : put_double(p, (double)count, false);
    *p++ = '\n';
    done(w->sb, p);
}

/* A bound or quantile as a label value, formatted as the format's floats. */
static void fmt_label_number(double v, bool om, char buf[NUM_ROOM])
{
    char *end = put_double(buf, v, om);
    *end = '\0';
}

static void put_sample(writer *w, const nx_sample_rec *s)
{
    size_t lroom = labels_room(w, s);
    char num[NUM_ROOM];
    switch (w->f->type) {
    case PROM_COUNTER:
        if (w->om)
            put_value_line(w, s, lroom, w->family_len, "_total", NULL, NULL, s->value);
        else
            put_value_line(w, s, lroom, w->name_len, "", NULL, NULL, s->value);
        break;
    case PROM_HISTOGRAM: {
        uint64_t total = s->counts[s->n - 1]; /* the +Inf bucket (valid_sample) */
        for (size_t i = 0; i < s->n; i++) {
            fmt_label_number(s->bounds[i], w->om, num);
            put_count_line(w, s, lroom, "_bucket", "le", num, s->counts[i]);
        }
        put_value_line(w, s, lroom, w->name_len, "_sum", NULL, NULL, s->sum);
        put_count_line(w, s, lroom, "_count", NULL, NULL, total);
        break;
    }
    case PROM_SUMMARY:
        for (size_t i = 0; i < s->n; i++) {
            fmt_label_number(s->bounds[i], w->om, num);
            put_value_line(w, s, lroom, w->name_len, "", "quantile", num, s->qvalues[i]);
        }
        put_value_line(w, s, lroom, w->name_len, "_sum", NULL, NULL, s->sum);
        put_count_line(w, s, lroom, "_count", NULL, NULL, s->count);
        break;
    default: put_value_line(w, s, lroom, w->name_len, "", NULL, NULL, s->value); break;
    }
}

/* libprom refuses a histogram whose last bound is not +Inf, and writes nothing
 * of a family left without samples. */
static bool valid_sample(const writer *w, const nx_sample_rec *s)
{
    return w->f->type != PROM_HISTOGRAM ||
           (s->n > 0 && isinf(s->bounds[s->n - 1]) && s->bounds[s->n - 1] > 0);
}

static void put_family(writer *w)
{
    const nx_fam *f = w->f;
    size_t valid = 0;
    for (size_t i = 0; i < f->n_samples; i++)
        valid += valid_sample(w, &f->samples[i]);
    if (valid == 0) return;
    put_comment(w, "HELP", f->help, w->om);
    put_comment(w, "TYPE", type_name(f->type, w->om), false);
    /* Collectors mostly emit in order already; sort only when they did not. */
    bool sorted = true;
    for (size_t i = 1; i < f->n_samples && sorted; i++)
        sorted = cmp_samples(w, &f->samples[i - 1], &f->samples[i]) <= 0;
    if (sorted) {
        for (size_t i = 0; i < f->n_samples; i++)
            if (valid_sample(w, &f->samples[i])) put_sample(w, &f->samples[i]);
        return;
    }
    if (f->n_samples > w->idx_cap) {
        w->idx_cap = f->n_samples;
        w->idx = core_reallocarray(w->idx, w->idx_cap, sizeof *w->idx);
    }
    for (size_t i = 0; i < f->n_samples; i++)
        w->idx[i] = i;
    qsort_r(w->idx, f->n_samples, sizeof *w->idx, cmp_index, w);
    for (size_t i = 0; i < f->n_samples; i++)
        if (valid_sample(w, &f->samples[w->idx[i]])) put_sample(w, &f->samples[w->idx[i]]);
}

static int cmp_fam(const void *a, const void *b)
{
    const fam_ref *x = a, *y = b;
    for (int i = 0; i < 2; i++)
        if (x->key[i] != y->key[i]) return x->key[i] < y->key[i] ? -1 : 1;
    size_t lx = x->len, ly = y->len;
    int c = lx > 16 && ly > 16 ? strcmp(x->f->name + 16, y->f->name + 16) : (lx > ly) - (lx < ly);
    return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

void nx_expose(const nx_out *const *outs, size_t n_outs, bool openmetrics, core_sb *sb)
{
    size_t n = 0;
    for (size_t i = 0; i < n_outs; i++)
        n += outs[i]->n_families;
    fam_ref *refs = core_reallocarray(NULL, n + 1, sizeof *refs);
    n = 0;
    for (size_t i = 0; i < n_outs; i++)
        for (size_t k = 0; k < outs[i]->n_families; k++)
            if (outs[i]->families[k].n_samples > 0) {
                const char *name = outs[i]->families[k].name;
                size_t len = strlen(name);
                refs[n] = (fam_ref){.key = {name_key(name, len, 0), name_key(name, len, 8)},
                                    .len = len,
                                    .f = &outs[i]->families[k],
                                    .seq = n};
                n++;
            }
    qsort(refs, n, sizeof *refs, cmp_fam);
    writer w = {.sb = sb, .om = openmetrics};
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (last != NULL && strcmp(last, refs[i].f->name) == 0) continue;
        if (!writer_family(&w, refs[i].f)) continue;
        last = refs[i].f->name;
        put_family(&w);
    }
    if (openmetrics) core_sb_add(sb, "# EOF\n", 6);
    free(w.idx);
    free(refs);
}
