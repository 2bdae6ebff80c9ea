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
 *
 * What depends only on a family's name, help and labels (the checks, the label
 * order, lengths, whether the help needs escapes) is worked out once, when
 * out.c makes the family's description (nx_desc_prepare), not at every scrape.
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

/* ---- Descriptions: what writing a family takes, worked out once */

/* Bytes [at, at + 8) of s as a big-endian number, zeros past the end:
 * comparing these orders names as strcmp does, 8 bytes at a time. */
static uint64_t name_key(const char *s, size_t len, size_t at)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (at + i < len ? (unsigned char)s[at + i] : 0);
    return k;
}

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

#define MAX_LABELS 64

void nx_desc_prepare(nx_desc *d, core_arena *mem)
{
    d->name_len = strlen(d->name);
    d->help_len = strlen(d->help);
    d->key[0] = name_key(d->name, d->name_len, 0);
    d->key[1] = name_key(d->name, d->name_len, 8);
    d->help_escapes = strpbrk(d->help, "\\\n") != NULL;
    d->help_quotes = strchr(d->help, '"') != NULL;
    size_t *len = core_arena_alloc(mem, (d->n_labels + 1) * sizeof *len);
    uint8_t *order = core_arena_alloc(mem, d->n_labels + 1);
    d->label_len = len;
    d->order = order;
    d->invalid = NULL;
    if (!name_ok(d->name, true)) {
        d->invalid = "invalid metric name: must match [a-zA-Z_:][a-zA-Z0-9_:]*";
        return;
    }
    if (d->n_labels > MAX_LABELS) {
        d->invalid = "too many labels";
        return;
    }
    for (size_t i = 0; i < d->n_labels; i++) {
        if (!name_ok(d->labels[i], false)) {
            d->invalid = "invalid label name: must match [a-zA-Z_][a-zA-Z0-9_]*";
            return;
        }
        len[i] = strlen(d->labels[i]);
        /* insertion sort: a handful of names */
        size_t k = i;
        while (k > 0 && strcmp(d->labels[order[k - 1]], d->labels[i]) > 0) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = (uint8_t)i;
    }
}

/* ---- A family ready to write */

typedef struct fam_ref {
    const nx_desc *d;
    const nx_fam *f;
    size_t seq; /* emission order, for ties */
} fam_ref;

typedef struct writer {
    core_sb *sb;
    bool om;
    const nx_fam *f;
    const nx_desc *d;
    size_t name_len, family_len; /* family_len: the name OpenMetrics gives the family */
    size_t *idx, idx_cap;        /* sample order, when the samples need sorting */
} writer;

/* Takes the family's description; false (with upstream's warning) when its
 * names are invalid. */
static bool writer_family(writer *w, const nx_fam *f)
{
    const nx_desc *d = f->desc;
    if (d->invalid != NULL) {
        core_warn("collector", "family dropped", "family", d->name, "err", d->invalid);
        return false;
    }
    w->f = f;
    w->d = d;
    w->name_len = d->name_len;
    w->family_len = w->name_len;
    if (w->om && d->type == PROM_COUNTER && w->name_len >= 6 &&
        memcmp(d->name + w->name_len - 6, "_total", 6) == 0)
        w->family_len -= 6;
    return true;
}

static int cmp_samples(const writer *w, const nx_sample_rec *a, const nx_sample_rec *b)
{
    for (size_t k = 0; k < w->d->n_labels; k++) {
        size_t i = w->d->order[k];
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

/* "# what name[_suffix] text\n"; `plain`: text has nothing to escape. */
static void put_comment(writer *w, const char *what, const char *text, size_t n, bool plain,
                        bool escape_quotes)
{
    char *p = room(w->sb, 8 + w->family_len + 2 * n);
    p = put(p, "# ", 2);
    p = put(p, what, 4);
    *p++ = ' ';
    p = put(p, w->d->name, w->family_len);
    *p++ = ' ';
    if (plain)
        p = put(p, text, n);
    else
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
    for (size_t i = 0; i < w->d->n_labels; i++)
        if (s->values[i] != NULL) n += w->d->label_len[i] + 2 * strlen(s->values[i]) + 4;
    return n;
}

/* name suffix{labels[,extra="value"]} number\n, with `value` written by the caller
 * through put_double or put_u64: this writes up to and including the space. */
static char *put_series(writer *w, char *p, const nx_sample_rec *s, size_t name_len,
                        const char *suffix, size_t suffix_len, const char *extra,
                        const char *extra_value)
{
    const nx_desc *d = w->d;
    p = put(p, d->name, name_len);
    p = put(p, suffix, suffix_len);
    char sep = '{';
    for (size_t k = 0; k < d->n_labels; k++) {
        size_t i = d->order[k];
        if (s->values[i] == NULL) continue;
        *p++ = sep;
        sep = ',';
        p = put(p, d->labels[i], d->label_len[i]);
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
                           const char *suffix, size_t suffix_len, const char *extra,
                           const char *extra_value, double v)
{
    char *p = room(w->sb, name_len + 16 + lroom + NUM_ROOM);
    p = put_series(w, p, s, name_len, suffix, suffix_len, extra, extra_value);
    p = put_double(p, v, w->om);
    *p++ = '\n';
    done(w->sb, p);
}

static void put_count_line(writer *w, const nx_sample_rec *s, size_t lroom, const char *suffix,
                           size_t suffix_len, const char *extra, const char *extra_value,
                           uint64_t count)
{
    char *p = room(w->sb, w->name_len + 16 + lroom + NUM_ROOM);
    p = put_series(w, p, s, w->name_len, suffix, suffix_len, extra, extra_value);
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

/* What a histogram or summary sample holds (nothing, for a plain sample in one). */
static const nx_dist *dist_of(const nx_sample_rec *s)
{
    static const nx_dist none;
    return s->dist != NULL ? s->dist : &none;
}

static void put_sample(writer *w, const nx_sample_rec *s)
{
    size_t lroom = labels_room(w, s);
    char num[NUM_ROOM];
    switch (w->d->type) {
    case PROM_COUNTER:
        if (w->om)
            put_value_line(w, s, lroom, w->family_len, "_total", 6, NULL, NULL, s->value);
        else
            put_value_line(w, s, lroom, w->name_len, "", 0, NULL, NULL, s->value);
        break;
    case PROM_HISTOGRAM: {
        const nx_dist *d = dist_of(s);
        uint64_t total = d->counts[d->n - 1]; /* the +Inf bucket (valid_sample) */
        for (size_t i = 0; i < d->n; i++) {
            fmt_label_number(d->bounds[i], w->om, num);
            put_count_line(w, s, lroom, "_bucket", 7, "le", num, d->counts[i]);
        }
        put_value_line(w, s, lroom, w->name_len, "_sum", 4, NULL, NULL, d->sum);
        put_count_line(w, s, lroom, "_count", 6, NULL, NULL, total);
        break;
    }
    case PROM_SUMMARY: {
        const nx_dist *d = dist_of(s);
        for (size_t i = 0; i < d->n; i++) {
            fmt_label_number(d->bounds[i], w->om, num);
            put_value_line(w, s, lroom, w->name_len, "", 0, "quantile", num, d->qvalues[i]);
        }
        put_value_line(w, s, lroom, w->name_len, "_sum", 4, NULL, NULL, d->sum);
        put_count_line(w, s, lroom, "_count", 6, NULL, NULL, d->count);
        break;
    }
    default: put_value_line(w, s, lroom, w->name_len, "", 0, NULL, NULL, s->value); break;
    }
}

/* libprom refuses a histogram whose last bound is not +Inf, and writes nothing
 * of a family left without samples. */
static bool valid_sample(const writer *w, const nx_sample_rec *s)
{
    if (w->d->type != PROM_HISTOGRAM) return true;
    const nx_dist *d = dist_of(s);
    return d->n > 0 && isinf(d->bounds[d->n - 1]) && d->bounds[d->n - 1] > 0;
}

static void put_family(writer *w)
{
    const nx_fam *f = w->f;
    const nx_desc *d = w->d;
    size_t valid = 0;
    for (size_t i = 0; i < f->n_samples; i++)
        valid += valid_sample(w, &f->samples[i]);
    if (valid == 0) return;
    put_comment(w, "HELP", d->help, d->help_len, !d->help_escapes && !(w->om && d->help_quotes),
                w->om);
    const char *type = type_name(d->type, w->om);
    put_comment(w, "TYPE", type, strlen(type), true, false);
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
    const nx_desc *dx = x->d, *dy = y->d;
    for (int i = 0; i < 2; i++)
        if (dx->key[i] != dy->key[i]) return dx->key[i] < dy->key[i] ? -1 : 1;
    size_t lx = dx->name_len, ly = dy->name_len;
    int c = lx > 16 && ly > 16 ? strcmp(dx->name + 16, dy->name + 16) : (lx > ly) - (lx < ly);
    return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Orders refs[0..n) (in emission order) by name, ties in emission order: by
 * the names' ranks with a counting sort when every family has one, else by
 * comparing names.  Returns the array in order (refs or tmp). */
static fam_ref *sort_refs(fam_ref *refs, fam_ref *tmp, size_t n)
{
    size_t n_ranks = nx_ranks_hold();
    bool ranked = true;
    for (size_t i = 0; i < n && ranked; i++)
        ranked = refs[i].d->rank != NULL;
    if (!ranked) {
        nx_ranks_release();
        qsort(refs, n, sizeof *refs, cmp_fam);
        return refs;
    }
    uint32_t small[1024], *at = n_ranks < 1024 ? small : core_mallocarray(n_ranks + 1, sizeof *at);
    memset(at, 0, (n_ranks + 1) * sizeof *at);
    for (size_t i = 0; i < n; i++)
        at[*refs[i].d->rank + 1]++;
    for (size_t r = 1; r <= n_ranks; r++)
        at[r] += at[r - 1];
    for (size_t i = 0; i < n; i++)
        tmp[at[*refs[i].d->rank]++] = refs[i];
    nx_ranks_release();
    if (at != small) free(at);
    return tmp;
}

void nx_expose(const nx_out *const *outs, size_t n_outs, bool openmetrics, core_sb *sb)
{
    size_t n = 0;
    for (size_t i = 0; i < n_outs; i++)
        n += outs[i]->n_families;
    fam_ref *all = core_reallocarray(NULL, 2 * n + 1, sizeof *all);
    n = 0;
    for (size_t i = 0; i < n_outs; i++)
        for (size_t k = 0; k < outs[i]->n_families; k++)
            if (outs[i]->families[k].n_samples > 0) {
                const nx_fam *f = &outs[i]->families[k];
                all[n] = (fam_ref){.d = f->desc, .f = f, .seq = n};
                n++;
            }
    fam_ref *refs = sort_refs(all, all + n, n);
    writer w = {.sb = sb, .om = openmetrics};
    const nx_desc *last = NULL;
    for (size_t i = 0; i < n; i++) {
        const nx_desc *d = refs[i].d;
        if (last != NULL && (last == d || (last->name_len == d->name_len &&
                                           memcmp(last->name, d->name, d->name_len) == 0)))
            continue;
        if (!writer_family(&w, refs[i].f)) continue;
        last = d;
        put_family(&w);
    }
    if (openmetrics) core_sb_add(sb, "# EOF\n", 6);
    free(w.idx);
    free(all);
}
