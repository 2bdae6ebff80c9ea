/*
 * openmetrics.c - OpenMetrics 1.0.0 text, read as Prometheus's
 * openmetricsparser reads it.
 *
 * OpenMetrics is the strict sibling of the text format; upstream's lexer
 * (openmetricslex.l) fixes every separator, and so does this scanner:
 *
 *   - no blank lines, no leading or extra spaces, no tabs as separators;
 *   - "#" lines are exactly "# HELP name text", "# TYPE name type",
 *     "# UNIT name unit" (one space each, the text may be empty after the
 *     space) and "# EOF"; there are no other comments.  TYPE is one of
 *     counter, gauge, histogram, gaugehistogram, summary, info, stateset,
 *     unknown.  A non-empty UNIT must be a suffix of the name after "_".
 *     HELP unescapes \\ \n \" like label values;
 *   - series: name[{labels}] value[ timestamp][ # {labels} value[ timestamp]]
 *     with single spaces; labels are comma-separated without a trailing
 *     comma or spaces, values may not hold a raw line break; the value and
 *     timestamps are any run of bytes up to a space or line break, read as
 *     Go's ParseFloat; timestamps are seconds (NaN and infinities refused),
 *     kept as milliseconds truncated toward zero;
 *   - an exemplar is allowed only on a series whose name ends in _total or
 *     _bucket;
 *   - every line ends with a line break, and the input with "# EOF" and at
 *     most one line break after it; anything after that is an error.
 */
#include "model/internal.h"

#include <math.h>
#include <string.h>

/* Fails with "expected <what>, got ..." at j. */
static model_entry expected(model_parser *p, size_t j, const char *what)
{
    char g[MODEL_QUOTE_BUFSZ];
    return model_fail(p, j, "expected %s, got %s", what, model_got(p, j, g));
}

/* The same for the scanners that return a position, 0 on failure. */
static size_t expected0(model_parser *p, size_t j, const char *what)
{
    expected(p, j, what);
    return 0;
}

static model_entry missing_eof(model_parser *p)
{
    return model_fail(p, p->len, "\"# EOF\" missing at the end");
}

/* The end of a value or timestamp token starting at i. */
static size_t token_end(const model_parser *p, size_t i)
{
    while (i < p->len && p->buf[i] != ' ' && p->buf[i] != '\n')
        i++;
    return i;
}

static bool at(const model_parser *p, size_t i, const char *s)
{
    size_t n = strlen(s);
    return i + n <= p->len && memcmp(p->buf + i, s, n) == 0;
}

/* ---- HELP, TYPE, UNIT, EOF */

static bool set_type(model_parser *p, model_str t)
{
    for (model_type i = MODEL_TYPE_UNKNOWN; i <= MODEL_TYPE_STATESET; i++) {
        const char *name = model_type_name(i);
        if (strlen(name) == t.len && memcmp(name, t.p, t.len) == 0) {
            p->type = i;
            return true;
        }
    }
    return false;
}

static bool has_suffix(model_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

/* A unit must be empty or the end of the name after a "_". */
static bool unit_ok(model_str name, model_str unit)
{
    return unit.len == 0 ||
           (name.len > unit.len && memcmp(name.p + name.len - unit.len, unit.p, unit.len) == 0 &&
            name.p[name.len - unit.len - 1] == '_');
}

static model_entry check_meta(model_parser *p, model_entry kind, size_t t0)
{
    char q[MODEL_QUOTE_BUFSZ], m[MODEL_QUOTE_BUFSZ];
    model_str t = p->text, name = p->mname;
    switch (kind) {
    case MODEL_ENTRY_TYPE:
        if (!set_type(p, t))
            return model_fail(p, t0, "invalid metric type %s", model_quote(t.p, t.len, q));
        break;
    case MODEL_ENTRY_UNIT:
        if (!unit_ok(name, t))
            return model_fail(p, t0, "unit %s is not a suffix of metric %s",
                              model_quote(t.p, t.len, q), model_quote(name.p, name.len, m));
        break;
    default: return model_help(p, t0, true);
    }
    return kind;
}

/* "# HELP ", "# TYPE ", "# UNIT " from the name at k on. */
static model_entry meta(model_parser *p, size_t k, model_entry kind, const char *what)
{
    char g[MODEL_QUOTE_BUFSZ];
    if (k >= p->len || !model_is(p->buf[k], MODEL_CC_MSTART))
        return model_fail(p, k, "expected metric name after %s, got %s", what, model_got(p, k, g));
    size_t n1 = model_scan_class(p, k, MODEL_CC_MNAME);
    p->mname = (model_str){p->buf + k, n1 - k};
    if (n1 >= p->len || p->buf[n1] != ' ')
        return model_fail(p, n1, "expected \" \" and text after the metric name in %s, got %s",
                          what, model_got(p, n1, g));
    size_t eol = model_line_end(p, n1 + 1);
    if (eol == p->len) return missing_eof(p);
    p->text = (model_str){p->buf + n1 + 1, eol - n1 - 1};
    p->pos = eol + 1;
    return check_meta(p, kind, n1 + 1);
}

static model_entry hash_line(model_parser *p, size_t i)
{
    if (at(p, i, "# HELP ")) return meta(p, i + 7, MODEL_ENTRY_HELP, "HELP");
    if (at(p, i, "# TYPE ")) return meta(p, i + 7, MODEL_ENTRY_TYPE, "TYPE");
    if (at(p, i, "# UNIT ")) return meta(p, i + 7, MODEL_ENTRY_UNIT, "UNIT");
    if (at(p, i, "# EOF")) {
        size_t j = i + 5;
        if (j < p->len && p->buf[j] == '\n') j++;
        if (j != p->len) return model_fail(p, j, "unexpected data after \"# EOF\"");
        p->pos = j;
        return MODEL_ENTRY_EOF;
    }
    char q[MODEL_QUOTE_BUFSZ];
    size_t eol = model_line_end(p, i);
    return model_fail(p, i, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got %s",
                      model_quote(p->buf + i, eol - i, q));
}

/* ---- Series */

/* Labels after "{" at j into lv; returns the position after "}", or 0. */
static size_t labels(model_parser *p, size_t j, model_labelvec *lv)
{
    if (j < p->len && p->buf[j] == '}') return j + 1;
    for (bool first = true;; first = false) {
        if (j >= p->len || !model_is(p->buf[j], MODEL_CC_LSTART))
            return expected0(p, j, first ? "label name or \"}\"" : "label name");
        model_label *l = model_labelvec_push(lv);
        size_t n1 = model_scan_class(p, j, MODEL_CC_LNAME);
        l->name = (model_str){p->buf + j, n1 - j};
        if (n1 >= p->len || p->buf[n1] != '=') return expected0(p, n1, "\"=\" after label name");
        if (n1 + 1 >= p->len || p->buf[n1 + 1] != '"') return expected0(p, n1 + 1, "label value");
        j = model_label_value(p, n1 + 1, l, true);
        if (j == 0) return 0;
        if (j < p->len && p->buf[j] == '}') return j + 1;
        if (j >= p->len || p->buf[j] != ',')
            return expected0(p, j, "\",\" or \"}\" after label value");
        j++;
    }
}

/* A timestamp token s[0..n) in seconds as milliseconds; fails naming `what`. */
static bool timestamp(model_parser *p, size_t t0, size_t t1, const char *what, int64_t *ms)
{
    double s;
    if (!model_value(p, p->buf + t0, t1 - t0, &s, what, p->mname, t0)) return false;
    double v = s * 1000;
    if (!isfinite(v) || v < -9223372036854775808.0 || v >= 9223372036854775808.0) {
        char q[MODEL_QUOTE_BUFSZ], m[MODEL_QUOTE_BUFSZ];
        model_fail(p, t0, "%s %s %s for metric %s", isfinite(s) ? "out of range" : "invalid", what,
                   model_quote(p->buf + t0, t1 - t0, q), model_quote(p->mname.p, p->mname.len, m));
        return false;
    }
    *ms = (int64_t)v;
    return true;
}

/* A value token after the space at j; returns its end, or 0. */
static size_t value(model_parser *p, size_t j, const char *after, const char *what, double *out)
{
    char g[MODEL_QUOTE_BUFSZ];
    size_t v0 = j + 1, v1 = token_end(p, v0);
    if (j >= p->len || p->buf[j] != ' ' || v1 == v0) {
        size_t e = j < p->len && p->buf[j] == ' ' ? v0 : j;
        model_fail(p, e, "expected value after %s, got %s", after, model_got(p, e, g));
        return 0;
    }
    return model_value(p, p->buf + v0, v1 - v0, out, what, p->mname, v0) ? v1 : 0;
}

/* Ends a series line at j: the line break. */
static model_entry end_series(model_parser *p, size_t j)
{
    p->pos = j + 1;
    model_fix_escaped(p);
    p->labels = p->lab.v;
    p->n_labels = p->lab.n;
    p->ex_labels = p->exlab.v;
    p->n_ex_labels = p->exlab.n;
    return MODEL_ENTRY_SERIES;
}

static bool exemplar_starts(const model_parser *p, size_t j)
{
    return at(p, j, " # {");
}

/* The exemplar after " # {" (j at the space). */
static model_entry exemplar(model_parser *p, size_t j)
{
    char m[MODEL_QUOTE_BUFSZ];
    if (!has_suffix(p->mname, "_total") && !has_suffix(p->mname, "_bucket"))
        return model_fail(p, j + 1,
                          "metric %s does not support exemplars (only _total and _bucket do)",
                          model_quote(p->mname.p, p->mname.len, m));
    size_t k = labels(p, j + 4, &p->exlab);
    if (k == 0) return MODEL_ENTRY_ERROR;
    if (!model_check_dups(p, p->exlab.v, p->exlab.n, true, j + 4)) return MODEL_ENTRY_ERROR;
    k = value(p, k, "exemplar labels", "exemplar value", &p->ex_value);
    if (k == 0) return MODEL_ENTRY_ERROR;
    p->has_ex = true;
    if (k >= p->len) return missing_eof(p);
    if (p->buf[k] == ' ') {
        size_t t1 = token_end(p, k + 1);
        if (t1 == k + 1) return expected(p, k + 1, "exemplar timestamp");
        if (!timestamp(p, k + 1, t1, "exemplar timestamp", &p->ex_ts)) return MODEL_ENTRY_ERROR;
        p->ex_has_ts = true;
        k = t1;
        if (k >= p->len) return missing_eof(p);
        if (p->buf[k] != '\n') return expected(p, k + 1, "end of line after exemplar timestamp");
    }
    return end_series(p, k);
}

/* What may follow the value (at j): a line break, a timestamp, an exemplar. */
static model_entry series_tail(model_parser *p, size_t j)
{
    if (j >= p->len) return missing_eof(p);
    if (p->buf[j] == '\n') return end_series(p, j);
    if (exemplar_starts(p, j)) return exemplar(p, j);
    size_t t1 = token_end(p, j + 1);
    if (t1 == j + 1) return expected(p, j + 1, "timestamp or exemplar");
    if (!timestamp(p, j + 1, t1, "timestamp", &p->ts)) return MODEL_ENTRY_ERROR;
    p->has_ts = true;
    if (t1 >= p->len) return missing_eof(p);
    if (p->buf[t1] == '\n') return end_series(p, t1);
    if (exemplar_starts(p, t1)) return exemplar(p, t1);
    return expected(p, t1 + 1, "exemplar after timestamp");
}

static model_entry series(model_parser *p, size_t i)
{
    size_t j = model_scan_class(p, i, MODEL_CC_MNAME);
    p->mname = (model_str){p->buf + i, j - i};
    if (j < p->len && p->buf[j] == '{') {
        j = labels(p, j + 1, &p->lab);
        if (j == 0) return MODEL_ENTRY_ERROR;
    }
    p->series = (model_str){p->buf + i, j - i};
    if (!model_check_dups(p, p->lab.v, p->lab.n, false, i)) return MODEL_ENTRY_ERROR;
    j = value(p, j, "metric", "value", &p->value);
    if (j == 0) return MODEL_ENTRY_ERROR;
    return series_tail(p, j);
}

model_entry model_om_next(model_parser *p)
{
    char g[MODEL_QUOTE_BUFSZ];
    size_t i = p->pos;
    if (i >= p->len) return missing_eof(p);
    char c = p->buf[i];
    if (c == '#') return hash_line(p, i);
    if (model_is(c, MODEL_CC_MSTART)) return series(p, i);
    if (c == '\n') return model_fail(p, i, "blank lines are not allowed");
    return model_fail(p, i, "expected a metric name or \"#\", got %s", model_got(p, i, g));
}
