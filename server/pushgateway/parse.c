/*
 * parse.c - a pushed body assembled into metric families.
 *
 * server/model's pull parser hands out flat entries (HELP, TYPE, one series
 * per line, histograms and summaries as their _bucket/_sum/_count and
 * {quantile} series).  Upstream reads pushes with expfmt.TextParser, which
 * builds families from the same lines with rules of its own, and those rules
 * decide what a push means, so they are followed here:
 *   - a line's family is found by its name, else (for name_count / name_sum)
 *     by the name without the suffix if that family is a summary, else (also
 *     name_bucket) if it is a histogram, else a new family is made;
 *   - a family without TYPE is untyped from its first sample on, and a TYPE
 *     after a sample or a second TYPE or HELP is an error;
 *   - the lines of one summary or histogram metric are joined by their labels
 *     without quantile / le ("signature"); the first line's labels stay;
 *     a quantile or le that is no float is an error;
 *   - an empty HELP text leaves the family without help; families without
 *     samples are dropped.
 * A protobuf body is a sequence of families: each starts a family of its own
 * (a later one of the same name replaces an earlier one, as upstream's map
 * does) and keeps its help even when empty.
 *
 * While parsing, families and metrics live in an arena; at the end each
 * metric's labels are sanitized with the grouping labels (upstream's
 * sanitizeLabels: grouping values win, missing ones are added, instance=""
 * when absent, sorted by name) and packed into the store's form.
 */
#include "pushgateway/pushgateway.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tmp_metric {
    core_label *labels;
    size_t n_labels;
    double value;
    uint64_t count;
    pgw_point *points;
    size_t n_points, cap_points;
} tmp_metric;

typedef struct tmp_family {
    char *name;
    char *help;
    bool has_type;
    pgw_type type;
    tmp_metric **m;
    size_t n, cap;
    pgw_map sigs; /* summary / histogram: signature -> tmp_metric */
} tmp_family;

typedef enum line_kind { LINE_PLAIN, LINE_COUNT, LINE_SUM } line_kind;

typedef struct assembler {
    core_arena arena;
    model_parser *parser;
    bool protobuf;
    pgw_map by_name;
    tmp_family **fams;
    size_t n_fams, cap_fams;
    tmp_family *cur; /* protobuf: the family being read */
    bool has_timestamps;
    core_sb scratch;
} assembler;

/* ---- Families */

static char *arena_str(assembler *a, model_str s)
{
    return core_arena_strndup(&a->arena, s.p, s.len);
}

static tmp_family *family_create(assembler *a, const char *name)
{
    tmp_family *f = core_arena_calloc(&a->arena, 1, sizeof *f);
    f->name = core_arena_strdup(&a->arena, name);
    f->type = PGW_UNTYPED;
    if (a->n_fams == a->cap_fams) {
        a->cap_fams = a->cap_fams ? a->cap_fams * 2 : 16;
        a->fams = core_reallocarray(a->fams, a->cap_fams, sizeof *a->fams);
    }
    a->fams[a->n_fams++] = f;
    pgw_map_put(&a->by_name, f->name, f);
    return f;
}

static bool ends_with(const char *s, size_t n, const char *suffix, size_t sl)
{
    return n > sl && memcmp(s + n - sl, suffix, sl) == 0;
}

/* The family of `name` with the given type, looked up without a suffix. */
static tmp_family *family_of_base(assembler *a, const char *name, size_t strip, pgw_type t)
{
    char base[1024];
    size_t n = strlen(name) - strip;
    if (n >= sizeof base) return NULL;
    memcpy(base, name, n);
    base[n] = '\0';
    tmp_family *f = pgw_map_get(&a->by_name, base);
    return f != NULL && f->type == t && f->has_type ? f : NULL;
}

/* expfmt's setOrCreateCurrentMF. */
static tmp_family *family_lookup(assembler *a, const char *name, line_kind *kind)
{
    *kind = LINE_PLAIN;
    tmp_family *f = pgw_map_get(&a->by_name, name);
    if (f != NULL) return f;
    size_t n = strlen(name);
    bool count = ends_with(name, n, "_count", 6), sum = ends_with(name, n, "_sum", 4);
    bool bucket = ends_with(name, n, "_bucket", 7);
    size_t strip = count ? 6 : sum ? 4 : bucket ? 7 : 0;
    if ((count || sum) && (f = family_of_base(a, name, strip, PGW_SUMMARY)) != NULL) {
        *kind = count ? LINE_COUNT : LINE_SUM;
        return f;
    }
    if (strip > 0 && (f = family_of_base(a, name, strip, PGW_HISTOGRAM)) != NULL) {
        *kind = count ? LINE_COUNT : sum ? LINE_SUM : LINE_PLAIN;
        return f;
    }
    return family_create(a, name);
}

/* ---- Entries */

static pgw_type type_of(model_type t)
{
    switch (t) {
    case MODEL_TYPE_COUNTER: return PGW_COUNTER;
    case MODEL_TYPE_GAUGE: return PGW_GAUGE;
    case MODEL_TYPE_SUMMARY: return PGW_SUMMARY;
    case MODEL_TYPE_HISTOGRAM:
    case MODEL_TYPE_GAUGEHISTOGRAM: return PGW_HISTOGRAM;
    default: return PGW_UNTYPED;
    }
}

static int on_help(assembler *a, core_err *err)
{
    model_str name = model_parser_name(a->parser), help = model_parser_help(a->parser);
    char *nm = arena_str(a, name);
    if (a->protobuf) {
        /* A family message of its own; a later one of a name replaces. */
        tmp_family *old = pgw_map_get(&a->by_name, nm);
        if (old != NULL) old->n = 0, pgw_map_del(&a->by_name, nm);
        a->cur = family_create(a, nm);
        a->cur->help = arena_str(a, help);
        return 0;
    }
    if (help.len == 0) return 0;
    line_kind kind;
    tmp_family *f = family_lookup(a, nm, &kind);
    if (f->help != NULL)
        return core_err_set(err, "second HELP line for metric name \"%s\"", f->name);
    f->help = arena_str(a, help);
    return 0;
}

static int on_type(assembler *a, core_err *err)
{
    pgw_type t = type_of(model_parser_type(a->parser));
    if (a->protobuf) {
        if (a->cur != NULL) a->cur->type = t, a->cur->has_type = true;
        return 0;
    }
    line_kind kind;
    tmp_family *f = family_lookup(a, arena_str(a, model_parser_name(a->parser)), &kind);
    if (f->has_type)
        return core_err_set(err,
                            "second TYPE line for metric name \"%s\", or TYPE reported after "
                            "samples",
                            f->name);
    f->type = t;
    f->has_type = true;
    return 0;
}

/* The value of a le or quantile label as a float; -1 if it is none. */
static int label_float(const model_label *l, double *out)
{
    char buf[64];
    if (l->value.len == 0 || l->value.len >= sizeof buf) return -1;
    memcpy(buf, l->value.p, l->value.len);
    buf[l->value.len] = '\0';
    if (strpbrk(buf, "pPxX_") != NULL) return -1;
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

static uint64_t to_u64(double v)
{
    /* Go's conversion on amd64, without C's undefined behaviour. */
    if (isnan(v) || v >= 18446744073709551616.0 || v <= -9223372036854775808.0)
        return UINT64_C(0x8000000000000000);
    if (v < 0) return (uint64_t)(int64_t)v;
    return (uint64_t)v;
}

static tmp_metric *metric_new(assembler *a, tmp_family *f, const model_label *ls, size_t n,
                              const char *skip)
{
    tmp_metric *m = core_arena_calloc(&a->arena, 1, sizeof *m);
    m->labels = core_arena_calloc(&a->arena, n + 1, sizeof *m->labels);
    for (size_t i = 0; i < n; i++) {
        if (skip != NULL && ls[i].name.len == strlen(skip) &&
            memcmp(ls[i].name.p, skip, ls[i].name.len) == 0)
            continue;
        m->labels[m->n_labels++] =
            (core_label){arena_str(a, ls[i].name), arena_str(a, ls[i].value)};
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        tmp_metric **v = core_arena_alloc(&a->arena, cap * sizeof *v);
        if (f->n > 0) memcpy(v, f->m, f->n * sizeof *v);
        f->m = v;
        f->cap = cap;
    }
    f->m[f->n++] = m;
    return m;
}

static int cmp_label_name(const void *x, const void *y)
{
    return strcmp(((const core_label *)x)->name, ((const core_label *)y)->name);
}

/* The metric of a summary or histogram line, found by its signature. */
static tmp_metric *complex_metric(assembler *a, tmp_family *f, const model_label *ls, size_t n,
                                  const char *special)
{
    core_label *tmp = core_arena_calloc(&a->arena, n + 1, sizeof *tmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!(ls[i].name.len == strlen(special) &&
              memcmp(ls[i].name.p, special, ls[i].name.len) == 0))
            tmp[k++] = (core_label){arena_str(a, ls[i].name), arena_str(a, ls[i].value)};
    qsort(tmp, k, sizeof *tmp, cmp_label_name);
    core_sb_reset(&a->scratch);
    for (size_t i = 0; i < k; i++) {
        core_sb_adds(&a->scratch, tmp[i].name);
        core_sb_addc(&a->scratch, '\xff');
        core_sb_adds(&a->scratch, tmp[i].value);
        core_sb_addc(&a->scratch, '\xff');
    }
    const char *sig = a->scratch.buf != NULL ? a->scratch.buf : "";
    tmp_metric *m = pgw_map_get(&f->sigs, sig);
    if (m != NULL) return m;
    m = metric_new(a, f, ls, n, special);
    pgw_map_put(&f->sigs, core_arena_strdup(&a->arena, sig), m);
    return m;
}

static int add_point(assembler *a, tmp_metric *m, double key, double value, bool count)
{
    if (m->n_points == PGW_MAX_POINTS) return -1;
    if (m->n_points == m->cap_points) {
        size_t cap = m->cap_points ? m->cap_points * 2 : 8;
        pgw_point *v = core_arena_alloc(&a->arena, cap * sizeof *v);
        if (m->n_points > 0) memcpy(v, m->points, m->n_points * sizeof *v);
        m->points = v;
        m->cap_points = cap;
    }
    pgw_point *p = &m->points[m->n_points++];
    p->key = key;
    if (count)
        p->count = to_u64(value);
    else
        p->value = value;
    return 0;
}

static const model_label *find_label(const model_label *ls, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (ls[i].name.len == strlen(name) && memcmp(ls[i].name.p, name, ls[i].name.len) == 0)
            return &ls[i];
    return NULL;
}

/* A summary or histogram line. */
static int complex_line(assembler *a, tmp_family *f, line_kind kind, const model_label *ls,
                        size_t n, double v, core_err *err)
{
    bool summary = f->type == PGW_SUMMARY;
    const char *special = summary ? "quantile" : "le";
    const model_label *sl = find_label(ls, n, special);
    double key = NAN;
    if (sl != NULL && label_float(sl, &key) < 0)
        return core_err_set(err, "expected float as value for '%s' label, got \"%.*s\"", special,
                            (int)sl->value.len, sl->value.p);
    tmp_metric *m = complex_metric(a, f, ls, n, special);
    if (kind == LINE_COUNT)
        m->count = to_u64(v);
    else if (kind == LINE_SUM)
        m->value = v;
    else if (sl != NULL && add_point(a, m, key, v, !summary) < 0)
        return core_err_set(err, "metric \"%s\" has too many buckets or quantiles", f->name);
    return 0;
}

/* The family and kind of a protobuf series (named after its family). */
static tmp_family *pb_family(assembler *a, const char *name, line_kind *kind)
{
    *kind = LINE_PLAIN;
    tmp_family *f = a->cur;
    if (f == NULL) return family_lookup(a, name, kind);
    if (f->type != PGW_SUMMARY && f->type != PGW_HISTOGRAM) return f;
    size_t n = strlen(name), fl = strlen(f->name);
    if (n == fl + 6 && strcmp(name + fl, "_count") == 0) *kind = LINE_COUNT;
    if (n == fl + 4 && strcmp(name + fl, "_sum") == 0) *kind = LINE_SUM;
    return f;
}

static int on_series(assembler *a, core_err *err)
{
    model_parser *p = a->parser;
    char *name = arena_str(a, model_parser_name(p));
    size_t n;
    const model_label *ls = model_parser_labels(p, &n);
    for (size_t i = 0; i < n; i++)
        if (memchr(ls[i].value.p, '\0', ls[i].value.len) != NULL)
            return core_err_set(err, "label value with a NUL byte for metric \"%s\"", name);
    double v = model_parser_value(p);
    if (model_parser_timestamp(p, NULL)) a->has_timestamps = true;
    line_kind kind;
    tmp_family *f = a->protobuf ? pb_family(a, name, &kind) : family_lookup(a, name, &kind);
    if (!f->has_type) f->type = PGW_UNTYPED, f->has_type = true;
    if (f->type == PGW_SUMMARY || f->type == PGW_HISTOGRAM)
        return complex_line(a, f, kind, ls, n, v, err);
    metric_new(a, f, ls, n, NULL)->value = v;
    return 0;
}

static int assemble(assembler *a, core_err *err)
{
    for (;;) {
        model_entry e = model_parser_next(a->parser, err);
        int rc = 0;
        switch (e) {
        case MODEL_ENTRY_EOF: return 0;
        case MODEL_ENTRY_ERROR: return -1;
        case MODEL_ENTRY_HELP: rc = on_help(a, err); break;
        case MODEL_ENTRY_TYPE: rc = on_type(a, err); break;
        case MODEL_ENTRY_SERIES: rc = on_series(a, err); break;
        default: break;
        }
        if (rc < 0) return -1;
    }
}

/* ---- Sanitizing and packing */

/* Body labels with the grouping applied, sorted, into out (room for
 * n + grouping->len + 1). */
static size_t sanitize(const tmp_metric *m, const core_labels *grouping, core_label *out)
{
    size_t n = 0;
    bool instance = false;
    for (size_t i = 0; i < m->n_labels; i++) {
        out[n] = m->labels[i];
        const char *g = core_labels_get(grouping, out[n].name);
        if (g != NULL) out[n].value = g;
        instance = instance || strcmp(out[n].name, "instance") == 0;
        n++;
    }
    for (size_t i = 0; i < grouping->len; i++) {
        bool present = false;
        for (size_t k = 0; k < m->n_labels && !present; k++)
            present = strcmp(m->labels[k].name, grouping->v[i].name) == 0;
        if (present) continue;
        out[n++] = grouping->v[i];
        instance = instance || strcmp(grouping->v[i].name, "instance") == 0;
    }
    if (!instance) out[n++] = (core_label){"instance", ""};
    qsort(out, n, sizeof *out, cmp_label_name);
    return n;
}

/* The +Inf bucket server/model adds to a protobuf histogram that lacks one
 * (client_golang never sends it; upstream's API shows the buckets as sent). */
static void drop_implied_inf(tmp_family *t)
{
    for (size_t i = 0; t->type == PGW_HISTOGRAM && i < t->n; i++) {
        tmp_metric *m = t->m[i];
        if (m->n_points > 0 && isinf(m->points[m->n_points - 1].key) &&
            m->points[m->n_points - 1].count == m->count)
            m->n_points--;
    }
}

static pgw_family *pack_family(const tmp_family *t, const core_labels *grouping)
{
    pgw_family *f = pgw_family_new(t->name, t->help, t->type);
    core_label *ls = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tmp_metric *m = t->m[i];
        if (m->n_labels + grouping->len + 1 > cap) {
            cap = m->n_labels + grouping->len + 1;
            ls = core_reallocarray(ls, cap, sizeof *ls);
        }
        size_t n = sanitize(m, grouping, ls);
        pgw_family_add(f, pgw_metric_new(ls, n, m->value, m->count, m->points, m->n_points));
    }
    free(ls);
    return f;
}

static pgw_push *pack(assembler *a, const core_labels *grouping)
{
    pgw_push *p = core_calloc(1, sizeof *p);
    p->has_timestamps = a->has_timestamps;
    for (size_t i = 0; i < a->n_fams; i++) {
        tmp_family *t = a->fams[i];
        if (t->n == 0 || pgw_map_get(&a->by_name, t->name) != t) continue;
        if (a->protobuf) drop_implied_inf(t);
        pgw_family *f = pack_family(t, grouping);
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 8;
            p->f = core_reallocarray(p->f, p->cap, sizeof *p->f);
        }
        p->f[p->n++] = f;
        p->n_series += f->n;
        pgw_map_put(&p->by_name, f->name, f);
    }
    return p;
}

/* Trailing blanks, which Prometheus's parser skips and expfmt's refuses: on a
 * sample line they start an empty timestamp, on a TYPE line they are part of
 * the type. */
static int text_prescan(const char *body, size_t len, core_err *err)
{
    size_t line = 1;
    for (size_t pos = 0; pos < len; line++) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - body) : len, start = pos;
        pos = end + 1;
        while (start < end && (body[start] == ' ' || body[start] == '\t'))
            start++;
        if (start == end || (body[end - 1] != ' ' && body[end - 1] != '\t')) continue;
        if (body[start] != '#')
            return core_err_set(err,
                                "text format parsing error in line %zu: expected integer as "
                                "timestamp, got \"\"",
                                line);
        if (end - start > 7 && memcmp(body + start, "# TYPE ", 7) == 0)
            return core_err_set(err, "text format parsing error in line %zu: unknown metric type",
                                line);
    }
    return 0;
}

static void assembler_destroy(assembler *a)
{
    for (size_t i = 0; i < a->n_fams; i++)
        pgw_map_destroy(&a->fams[i]->sigs);
    free(a->fams);
    pgw_map_destroy(&a->by_name);
    core_sb_destroy(&a->scratch);
    if (a->parser != NULL) model_parser_free(a->parser);
    core_arena_destroy(&a->arena);
}

pgw_push *pgw_push_parse(const char *body, size_t len, model_format fmt,
                         const core_labels *grouping, core_err *err)
{
    assembler a = {0};
    core_arena_init(&a.arena, 0);
    if (fmt == MODEL_FORMAT_OPENMETRICS) fmt = MODEL_FORMAT_TEXT;
    a.protobuf = fmt == MODEL_FORMAT_PROTOBUF;
    a.parser = model_parser_new(fmt, body, len, "push body");
    int rc = fmt == MODEL_FORMAT_TEXT ? text_prescan(body, len, err) : 0;
    pgw_push *p = rc == 0 && assemble(&a, err) == 0 ? pack(&a, grouping) : NULL;
    assembler_destroy(&a);
    return p;
}

void pgw_push_free(pgw_push *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < p->n; i++)
        pgw_family_free(p->f[i]);
    free(p->f);
    pgw_map_destroy(&p->by_name);
    free(p);
}
