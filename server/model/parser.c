/*
 * parser.c - the parser object every format shares: life cycle, the
 * dispatch of model_parser_next() to the format's scanner, the accessors of
 * the current entry, error messages with positions, label-set helpers and
 * the content-type sniffer.
 *
 * The format files fill the "current entry" fields of struct model_parser
 * (internal.h) and return the entry kind; everything here only reads them.
 * Positions are byte offsets while parsing; a line and column are worked
 * out only when an error is reported, by counting newlines up to the offset,
 * so the hot path carries no line bookkeeping.
 */
#include "model/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Life cycle */

model_parser *model_parser_new(model_format fmt, const char *buf, size_t len,
                               const char *name_for_errors)
{
    model_parser *p = core_calloc(1, sizeof *p);
    model_parser_reset(p, fmt, buf, len, name_for_errors);
    return p;
}

static void clear_entry(model_parser *p)
{
    p->mname = p->series = p->text = p->text_raw = (model_str){NULL, 0};
    p->labels = p->ex_labels = NULL;
    p->n_labels = p->n_ex_labels = 0;
    p->value = p->ex_value = 0;
    p->has_ts = p->has_ex = p->ex_has_ts = p->text_escaped = false;
    p->ts = p->ex_ts = 0;
    p->type = MODEL_TYPE_UNKNOWN;
    p->lab.n = p->exlab.n = 0;
    p->lazy = false;
    core_sb_reset(&p->scratch);
}

void model_parser_set_known(model_parser *p, model_known_fn known, void *ctx)
{
    p->known = known;
    p->known_ctx = ctx;
}

void model_parser_reset(model_parser *p, model_format fmt, const char *buf, size_t len,
                        const char *name_for_errors)
{
    core_sb_reset(&p->namebuf);
    core_sb_adds(&p->namebuf, name_for_errors ? name_for_errors : "input");
    p->name = p->namebuf.buf;
    p->fmt = fmt;
    p->buf = buf;
    p->len = buf ? len : 0;
    p->pos = 0;
    p->state = MODEL_RUNNING;
    p->err.msg[0] = '\0';
    p->entry = MODEL_ENTRY_EOF;
    clear_entry(p);
    model_pb_reset(&p->pb);
}

void model_parser_free(model_parser *p)
{
    if (p == NULL) return;
    core_sb_destroy(&p->namebuf);
    free(p->lab.v);
    free(p->exlab.v);
    free(p->dupnames);
    free(p->pairs);
    core_sb_destroy(&p->scratch);
    core_sb_destroy(&p->tmp);
    model_pb_destroy(&p->pb);
    free(p);
}

model_entry model_parser_next(model_parser *p, core_err *err)
{
    if (p->state == MODEL_RUNNING) {
        clear_entry(p);
        model_entry e;
        switch (p->fmt) {
        case MODEL_FORMAT_OPENMETRICS: e = model_om_next(p); break;
        case MODEL_FORMAT_PROTOBUF: e = model_pb_next(p); break;
        default: e = model_text_next(p); break;
        }
        if (e == MODEL_ENTRY_EOF) p->state = MODEL_DONE;
        p->entry = e;
    }
    if (p->state == MODEL_FAILED) {
        if (err != NULL) memcpy(err->msg, p->err.msg, sizeof err->msg);
        return MODEL_ENTRY_ERROR;
    }
    return p->state == MODEL_DONE ? MODEL_ENTRY_EOF : p->entry;
}

const char *model_parser_error(const model_parser *p)
{
    return p->state == MODEL_FAILED ? p->err.msg : NULL;
}

model_format model_parser_format(const model_parser *p)
{
    return p->fmt;
}

/* ---- Accessors */

static bool is(const model_parser *p, model_entry e)
{
    return p->state == MODEL_RUNNING && p->entry == e;
}

/* The labels of a series the known-series shortcut took, lexed now. */
static void unlazy(model_parser *p)
{
    if (p->lazy && is(p, MODEL_ENTRY_SERIES)) {
        p->lazy = false;
        model_text_lex_labels(p);
    }
}

static const model_str empty = {"", 0};

model_str model_parser_name(const model_parser *p)
{
    return p->state == MODEL_RUNNING && p->mname.p ? p->mname : empty;
}

const model_label *model_parser_labels(model_parser *p, size_t *n)
{
    unlazy(p);
    *n = is(p, MODEL_ENTRY_SERIES) ? p->n_labels : 0;
    return *n ? p->labels : NULL;
}

double model_parser_value(const model_parser *p)
{
    return is(p, MODEL_ENTRY_SERIES) ? p->value : 0;
}

bool model_parser_timestamp(const model_parser *p, int64_t *ts)
{
    if (!is(p, MODEL_ENTRY_SERIES) || !p->has_ts) return false;
    if (ts != NULL) *ts = p->ts;
    return true;
}

bool model_parser_exemplar(const model_parser *p, model_exemplar *ex)
{
    if (!is(p, MODEL_ENTRY_SERIES) || !p->has_ex) return false;
    if (ex != NULL)
        *ex = (model_exemplar){p->ex_labels, p->n_ex_labels, p->ex_value, p->ex_has_ts, p->ex_ts};
    return true;
}

model_str model_parser_series_key(model_parser *p)
{
    if (!is(p, MODEL_ENTRY_SERIES)) return empty;
    return p->fmt == MODEL_FORMAT_PROTOBUF ? model_pb_series_key(p) : p->series;
}

model_type model_parser_type(const model_parser *p)
{
    return is(p, MODEL_ENTRY_TYPE) ? p->type : MODEL_TYPE_UNKNOWN;
}

model_str model_parser_help(const model_parser *p)
{
    return is(p, MODEL_ENTRY_HELP) ? p->text : empty;
}

bool model_parser_help_escaped(const model_parser *p)
{
    return is(p, MODEL_ENTRY_HELP) && p->text_escaped;
}

model_str model_parser_help_raw(const model_parser *p)
{
    return is(p, MODEL_ENTRY_HELP) ? p->text_raw : empty;
}

model_str model_parser_unit(const model_parser *p)
{
    return is(p, MODEL_ENTRY_UNIT) ? p->text : empty;
}

model_str model_parser_comment(const model_parser *p)
{
    return is(p, MODEL_ENTRY_COMMENT) ? p->text : empty;
}

/* ---- Label sets */

/* Appends s to p->tmp as a C string. */
static void add_cstr(model_parser *p, model_str s)
{
    core_sb_add(&p->tmp, s.p, s.len);
    core_sb_addc(&p->tmp, '\0');
}

static const model_str name_label = {CORE_METRIC_NAME, sizeof CORE_METRIC_NAME - 1};

/* The label set of v[0..n) (and __name__ when `name` is not NULL).  The
 * strings are copied into p->tmp first, then pointed at, as p->tmp may move
 * while it grows. */
static core_labels *build_labels(model_parser *p, const model_str *name, const model_label *v,
                                 size_t n, core_arena *arena, core_err *err)
{
    size_t total = n + (name != NULL);
    for (size_t i = 0; i < n; i++)
        if (memchr(v[i].value.p, '\0', v[i].value.len) != NULL) {
            core_err_set(err, "%s: the value of label \"%.*s\" contains a NUL byte", p->name,
                         (int)v[i].name.len, v[i].name.p);
            return NULL;
        }
    if (total > p->pairs_cap) {
        p->pairs_cap = total;
        p->pairs = core_reallocarray(p->pairs, total, sizeof *p->pairs);
    }
    core_sb_reset(&p->tmp);
    if (name != NULL) add_cstr(p, name_label), add_cstr(p, *name);
    for (size_t i = 0; i < n; i++)
        add_cstr(p, v[i].name), add_cstr(p, v[i].value);
    const char *s = p->tmp.buf;
    for (size_t i = 0; i < total; i++) {
        const char *ln = s;
        s += strlen(s) + 1;
        p->pairs[i] = (core_label){ln, s};
        s += strlen(s) + 1;
    }
    return arena ? core_labels_new_in(arena, p->pairs, total) : core_labels_new(p->pairs, total);
}

core_labels *model_parser_labels_new(model_parser *p, core_arena *arena, core_err *err)
{
    unlazy(p);
    if (!is(p, MODEL_ENTRY_SERIES)) {
        core_err_set(err, "%s: the current entry is not a series", p->name);
        return NULL;
    }
    return build_labels(p, &p->mname, p->labels, p->n_labels, arena, err);
}

core_labels *model_parser_exemplar_labels_new(model_parser *p, core_arena *arena, core_err *err)
{
    if (!is(p, MODEL_ENTRY_SERIES) || !p->has_ex) {
        core_err_set(err, "%s: the current entry has no exemplar", p->name);
        return NULL;
    }
    return build_labels(p, NULL, p->ex_labels, p->n_ex_labels, arena, err);
}

/* ---- Errors */

static void where(const model_parser *p, size_t pos, size_t *line, size_t *col)
{
    size_t l = 1, start = 0;
    if (pos > p->len) pos = p->len;
    for (const char *q = p->buf, *end = p->buf + pos; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (nl == NULL) break;
        l++;
        q = nl + 1;
        start = (size_t)(q - p->buf);
    }
    *line = l;
    *col = pos - start + 1;
}

__attribute__((format(printf, 3, 0))) static model_entry fail(model_parser *p, const char *prefix,
                                                              const char *fmt, va_list ap)
{
    size_t n = (size_t)snprintf(p->err.msg, sizeof p->err.msg, "%s", prefix);
    if (n < sizeof p->err.msg) vsnprintf(p->err.msg + n, sizeof p->err.msg - n, fmt, ap);
    p->state = MODEL_FAILED;
    return MODEL_ENTRY_ERROR;
}

model_entry model_fail(model_parser *p, size_t pos, const char *fmt, ...)
{
    size_t line, col;
    where(p, pos, &line, &col);
    char prefix[CORE_ERR_MAX];
    snprintf(prefix, sizeof prefix, "%s:%zu:%zu: ", p->name, line, col);
    va_list ap;
    va_start(ap, fmt);
    fail(p, prefix, fmt, ap);
    va_end(ap);
    return MODEL_ENTRY_ERROR;
}

model_entry model_fail_at_byte(model_parser *p, size_t pos, const char *fmt, ...)
{
    char prefix[CORE_ERR_MAX];
    snprintf(prefix, sizeof prefix, "%s: byte %zu: ", p->name, pos);
    va_list ap;
    va_start(ap, fmt);
    fail(p, prefix, fmt, ap);
    va_end(ap);
    return MODEL_ENTRY_ERROR;
}

const char *model_got(const model_parser *p, size_t pos, char out[MODEL_QUOTE_BUFSZ])
{
    if (pos >= p->len) return "end of input";
    if (p->buf[pos] == '\n') return "end of line";
    size_t end = pos;
    while (end < p->len && model_is(p->buf[end], MODEL_CC_MNAME))
        end++;
    if (end == pos) {
        end = pos + 1;
        while (end < p->len && end - pos < 4 && ((unsigned char)p->buf[end] & 0xc0) == 0x80)
            end++;
    }
    return model_quote(p->buf + pos, end - pos, out);
}

bool model_value(model_parser *p, const char *s, size_t n, double *out, const char *what,
                 model_str metric, size_t pos)
{
    model_float_status st = model_parse_float(s, n, out, &p->tmp);
    if (st == MODEL_FLOAT_OK) return true;
    char q[MODEL_QUOTE_BUFSZ], m[MODEL_QUOTE_BUFSZ];
    model_fail(p, pos, "%s %s %s for metric %s",
               st == MODEL_FLOAT_RANGE ? "out of range" : "invalid", what, model_quote(s, n, q),
               model_quote(metric.p, metric.len, m));
    return false;
}

/* ---- Duplicate label names */

static bool str_eq(model_str a, model_str b)
{
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static int cmp_str(const void *x, const void *y)
{
    const model_str *a = x, *b = y;
    int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Beyond this many labels, sort a copy of the names instead of comparing
 * every pair. */
#define DUP_QUADRATIC_MAX 16

static const model_str *find_dup(model_parser *p, const model_label *v, size_t n)
{
    if (n <= DUP_QUADRATIC_MAX) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (str_eq(v[i].name, v[j].name)) return &v[i].name;
        return NULL;
    }
    if (n > p->dupnames_cap) {
        p->dupnames_cap = n;
        p->dupnames = core_reallocarray(p->dupnames, n, sizeof *p->dupnames);
    }
    for (size_t i = 0; i < n; i++)
        p->dupnames[i] = v[i].name;
    qsort(p->dupnames, n, sizeof *p->dupnames, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (str_eq(p->dupnames[i - 1], p->dupnames[i])) return &p->dupnames[i];
    return NULL;
}

bool model_check_dups(model_parser *p, const model_label *v, size_t n, bool exemplar, size_t pos)
{
    const model_str *dup = NULL;
    if (!exemplar)
        for (size_t i = 0; i < n && dup == NULL; i++)
            if (str_eq(v[i].name, name_label)) dup = &v[i].name;
    if (dup == NULL) dup = find_dup(p, v, n);
    if (dup == NULL) return true;
    uintptr_t at = (uintptr_t)dup->p, base = (uintptr_t)p->buf;
    if (at >= base && at < base + p->len) pos = (size_t)(at - base);
    char q[MODEL_QUOTE_BUFSZ];
    if (p->fmt == MODEL_FORMAT_PROTOBUF)
        model_fail_at_byte(p, pos, "duplicate %slabel name %s", exemplar ? "exemplar " : "",
                           model_quote(dup->p, dup->len, q));
    else
        model_fail(p, pos, "duplicate %slabel name %s", exemplar ? "exemplar " : "",
                   model_quote(dup->p, dup->len, q));
    return false;
}

/* ---- Label values */

/* Fails for label l at `pos`: "<what> label <name>"; returns 0. */
static size_t label_fail(model_parser *p, size_t pos, const char *what, const model_label *l)
{
    char q[MODEL_QUOTE_BUFSZ];
    model_fail(p, pos, "%s label %s", what, model_quote(l->name.p, l->name.len, q));
    return 0;
}

size_t model_label_value(model_parser *p, size_t q, model_label *l, bool om)
{
    unsigned stop = om ? MODEL_CC_VSTOP | MODEL_CC_NL : MODEL_CC_VSTOP;
    size_t s = q + 1, k = s;
    bool esc = false, high = false;
    for (;;) {
        k = model_scan_until(p, k, stop);
        if (k >= p->len || p->buf[k] == '"') break;
        char c = p->buf[k];
        if (c == '\n') return label_fail(p, k, "line break in value of", l);
        if (c != '\\') {
            high = true;
            k++;
            continue;
        }
        if (k + 1 >= p->len) {
            k = p->len;
            break;
        }
        if (p->buf[k + 1] == '\n')
            return label_fail(p, k, "invalid escape at end of line in value of", l);
        esc = true;
        high |= (unsigned char)p->buf[k + 1] >= 0x80;
        k += 2;
    }
    if (k >= p->len) return label_fail(p, q, "unterminated value of", l);
    if (high && !model_utf8_valid(p->buf + s, k - s))
        return label_fail(p, s, "invalid UTF-8 in value of", l);
    if (esc)
        model_add_escaped(p, l, p->buf + s, k - s);
    else {
        l->raw = l->value = (model_str){p->buf + s, k - s};
        l->escaped = false;
    }
    return k + 1;
}

/* ---- HELP */

model_entry model_help(model_parser *p, size_t at, bool om)
{
    model_str t = p->text;
    if (!model_utf8_valid(t.p, t.len)) {
        char m[MODEL_QUOTE_BUFSZ];
        return model_fail(p, at, "invalid UTF-8 in HELP text of %s",
                          model_quote(p->mname.p, p->mname.len, m));
    }
    p->text_raw = t;
    if (memchr(t.p, '\\', t.len) != NULL) {
        core_sb_grow(&p->scratch, t.len);
        p->text.len = model_unescape_to(t.p, t.len, om, p->scratch.buf);
        p->text.p = p->scratch.buf;
        p->text_escaped = true;
    }
    return MODEL_ENTRY_HELP;
}

/* ---- Escaped values */

model_label *model_labelvec_push(model_labelvec *lv)
{
    if (lv->n + 1 >= lv->cap) {
        lv->cap = lv->cap ? lv->cap * 2 : 16;
        lv->v = core_reallocarray(lv->v, lv->cap, sizeof *lv->v);
    }
    return &lv->v[lv->n++];
}

void model_add_escaped(model_parser *p, model_label *l, const char *raw, size_t n)
{
    core_sb_grow(&p->scratch, n);
    l->raw = (model_str){raw, n};
    l->escaped = true;
    l->value.p = NULL;
    l->value.len = model_unescape_to(raw, n, true, p->scratch.buf + p->scratch.len);
    p->scratch.len += l->value.len;
}

static size_t fix_vec(model_parser *p, model_labelvec *lv, size_t off)
{
    for (size_t i = 0; i < lv->n; i++)
        if (lv->v[i].escaped) {
            lv->v[i].value.p = p->scratch.buf + off;
            off += lv->v[i].value.len;
        }
    return off;
}

void model_fix_escaped(model_parser *p)
{
    if (p->scratch.len == 0) return;
    fix_vec(p, &p->exlab, fix_vec(p, &p->lab, 0));
}

/* ---- Names */

const char *model_format_name(model_format f)
{
    switch (f) {
    case MODEL_FORMAT_OPENMETRICS: return "openmetrics";
    case MODEL_FORMAT_PROTOBUF: return "protobuf";
    default: return "text";
    }
}

const char *model_type_name(model_type t)
{
    static const char *const names[] = {
        [MODEL_TYPE_UNKNOWN] = "unknown",
        [MODEL_TYPE_COUNTER] = "counter",
        [MODEL_TYPE_GAUGE] = "gauge",
        [MODEL_TYPE_HISTOGRAM] = "histogram",
        [MODEL_TYPE_GAUGEHISTOGRAM] = "gaugehistogram",
        [MODEL_TYPE_SUMMARY] = "summary",
        [MODEL_TYPE_INFO] = "info",
        [MODEL_TYPE_STATESET] = "stateset",
    };
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

/* ---- Content types */

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Token length up to one of `stops` or the end. */
static size_t token_len(const char *s, const char *stops)
{
    size_t n = strcspn(s, stops);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

static bool token_is(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/* Reads the parameters after the media type; sets *proto_ok and *delim_ok. */
static void read_params(const char *s, bool *proto_ok, bool *delim_ok)
{
    while (*s == ';') {
        s = skip_space(s + 1);
        size_t kn = token_len(s, "=;");
        const char *key = s;
        s += strcspn(s, "=;");
        if (*s != '=') continue;
        s = skip_space(s + 1);
        const char *val;
        size_t vn;
        if (*s == '"') {
            val = ++s;
            vn = strcspn(s, "\"");
            s += vn;
            if (*s == '"') s++;
            s += strcspn(s, ";");
        } else {
            val = s;
            vn = token_len(s, ";");
            s += strcspn(s, ";");
        }
        if (token_is(key, kn, "proto"))
            *proto_ok = vn == 33 && memcmp(val, "io.prometheus.client.MetricFamily", 33) == 0;
        else if (token_is(key, kn, "encoding"))
            *delim_ok = vn == 9 && memcmp(val, "delimited", 9) == 0;
    }
}

model_format model_format_from_content_type(const char *ct)
{
    if (ct == NULL) return MODEL_FORMAT_TEXT;
    ct = skip_space(ct);
    size_t n = token_len(ct, ";");
    if (token_is(ct, n, "application/openmetrics-text")) return MODEL_FORMAT_OPENMETRICS;
    if (!token_is(ct, n, "application/vnd.google.protobuf")) return MODEL_FORMAT_TEXT;
    bool proto_ok = false, delim_ok = false;
    read_params(ct + strcspn(ct, ";"), &proto_ok, &delim_ok);
    return proto_ok && delim_ok ? MODEL_FORMAT_PROTOBUF : MODEL_FORMAT_TEXT;
}
