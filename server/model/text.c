/*
 * text.c - the Prometheus text format 0.0.4, read as Prometheus's promparser
 * reads it.
 *
 * Upstream drives a generated lexer (promlex.l) token by token; here each
 * line is one hand-written pass over the bytes with the same acceptance:
 *
 *   - spaces and tabs may surround every token, a line may start with them,
 *     blank lines are skipped;
 *   - "#" lines: "# HELP name text" and "# TYPE name type" (any run of spaces
 *     or tabs after "#" and after the keyword), anything else is a comment.
 *     After the name one byte is dropped and the rest of the line is the text
 *     (upstream's lexer does exactly that), unless the rest is blank, which
 *     gives an empty text.  HELP unescapes \\ and \n; TYPE is one of counter,
 *     gauge, histogram, summary, untyped;
 *   - series: name [{labels}] value [timestamp].  Label values are quoted,
 *     escape \\ \" \n (another escaped character stays as written, backslash
 *     included) and may even hold a raw line break, as upstream's lexer
 *     allows.  Commas between labels are optional and one may trail, as
 *     upstream allows.  The value is any run of bytes up to a space, tab,
 *     line break or "{", read as Go's ParseFloat reads it; the timestamp is
 *     decimal digits (int64 milliseconds, no sign).
 *   - the input may end without a line break.
 *
 * Each line is scanned once, through the character-class table (the value
 * is then converted, see lex.c); nothing is copied unless a label value or
 * HELP text has escapes.  Upstream's leading whitespace ends up in its
 * metric name (a bug); here it does not.
 */
#include "model/internal.h"

#include <string.h>

static inline size_t skip_ws(const model_parser *p, size_t i)
{
    while (i < p->len && (p->buf[i] == ' ' || p->buf[i] == '\t'))
        i++;
    return i;
}

static inline bool at_eol(const model_parser *p, size_t i)
{
    return i >= p->len || p->buf[i] == '\n';
}

/* Moves past the line break at `eol` (if any). */
static void next_line(model_parser *p, size_t eol)
{
    p->pos = eol < p->len ? eol + 1 : eol;
}

/* ---- Comments, HELP and TYPE */

static bool keyword(const model_parser *p, size_t k, size_t eol, const char *word)
{
    return k + 5 <= eol && memcmp(p->buf + k, word, 4) == 0 &&
           (p->buf[k + 4] == ' ' || p->buf[k + 4] == '\t');
}

static bool set_type(model_parser *p, model_str t)
{
    static const struct {
        const char *name;
        model_type type;
    } types[] = {
        {"counter", MODEL_TYPE_COUNTER},     {"gauge", MODEL_TYPE_GAUGE},
        {"histogram", MODEL_TYPE_HISTOGRAM}, {"summary", MODEL_TYPE_SUMMARY},
        {"untyped", MODEL_TYPE_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i].name) == t.len && memcmp(types[i].name, t.p, t.len) == 0) {
            p->type = types[i].type;
            return true;
        }
    return false;
}

/* "# HELP" or "# TYPE" from the name on (k is past the keyword). */
static model_entry meta(model_parser *p, size_t k, size_t eol, model_entry kind)
{
    char g[MODEL_QUOTE_BUFSZ];
    const char *what = kind == MODEL_ENTRY_HELP ? "HELP" : "TYPE";
    size_t n0 = skip_ws(p, k);
    if (n0 >= eol || !model_is(p->buf[n0], MODEL_CC_MSTART))
        return model_fail(p, n0, "expected metric name after %s, got %s", what,
                          model_got(p, n0, g));
    size_t n1 = model_scan_class(p, n0, MODEL_CC_MNAME);
    p->mname = (model_str){p->buf + n0, n1 - n0};
    size_t t0 = skip_ws(p, n1) == eol ? eol : n1 + 1;
    p->text = (model_str){p->buf + t0, eol - t0};
    next_line(p, eol);
    if (kind == MODEL_ENTRY_HELP) return model_help(p, t0, false);
    if (!set_type(p, p->text))
        return model_fail(p, t0, "invalid metric type %s", model_quote(p->text.p, p->text.len, g));
    return MODEL_ENTRY_TYPE;
}

static model_entry comment(model_parser *p, size_t i)
{
    size_t eol = model_line_end(p, i);
    if (i + 1 < eol && (p->buf[i + 1] == ' ' || p->buf[i + 1] == '\t')) {
        size_t k = skip_ws(p, i + 1);
        if (keyword(p, k, eol, "HELP")) return meta(p, k + 4, eol, MODEL_ENTRY_HELP);
        if (keyword(p, k, eol, "TYPE")) return meta(p, k + 4, eol, MODEL_ENTRY_TYPE);
    }
    p->text = (model_str){p->buf + i, eol - i};
    next_line(p, eol);
    return MODEL_ENTRY_COMMENT;
}

/* ---- Series */

/* Fails with "expected <what>, got ..." at j; returns 0. */
static size_t expected(model_parser *p, size_t j, const char *what)
{
    char g[MODEL_QUOTE_BUFSZ];
    model_fail(p, j, "expected %s, got %s", what, model_got(p, j, g));
    return 0;
}

/* The labels after "{" at j; returns the position after "}", or 0. */
static size_t labels(model_parser *p, size_t j)
{
    for (;;) {
        j = skip_ws(p, j);
        if (j < p->len && p->buf[j] == '}') return j + 1;
        if (j >= p->len || !model_is(p->buf[j], MODEL_CC_LSTART))
            return expected(p, j, "label name");
        model_label *l = model_labelvec_push(&p->lab);
        size_t n1 = model_scan_class(p, j, MODEL_CC_LNAME);
        l->name = (model_str){p->buf + j, n1 - j};
        j = skip_ws(p, n1);
        if (j >= p->len || p->buf[j] != '=') return expected(p, j, "\"=\" after label name");
        j = skip_ws(p, j + 1);
        if (j >= p->len || p->buf[j] != '"') return expected(p, j, "label value");
        j = model_label_value(p, j, l, false);
        if (j == 0) return 0;
        j = skip_ws(p, j);
        if (j < p->len && p->buf[j] == ',') j++;
    }
}

/* Decimal digits at t0..t1 as an int64; false on overflow. */
static bool parse_ts(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static model_entry timestamp(model_parser *p, size_t j)
{
    char g[MODEL_QUOTE_BUFSZ], m[MODEL_QUOTE_BUFSZ];
    if (!model_is(p->buf[j], MODEL_CC_DIGIT))
        return model_fail(p, j, "expected timestamp or end of line, got %s", model_got(p, j, g));
    size_t t1 = model_scan_class(p, j, MODEL_CC_DIGIT);
    if (!parse_ts(p->buf + j, t1 - j, &p->ts))
        return model_fail(p, j, "out of range timestamp %s for metric %s",
                          model_quote(p->buf + j, t1 - j, g),
                          model_quote(p->mname.p, p->mname.len, m));
    p->has_ts = true;
    size_t e = skip_ws(p, t1);
    if (!at_eol(p, e))
        return model_fail(p, e, "expected end of line after timestamp, got %s", model_got(p, e, g));
    next_line(p, e);
    return MODEL_ENTRY_SERIES;
}

/* The metric name and labels of the series at i; the position after them
 * (after the name or "}"), or 0. */
static size_t name_and_labels(model_parser *p, size_t i)
{
    size_t j = model_scan_class(p, i, MODEL_CC_MNAME), end = j;
    p->mname = (model_str){p->buf + i, j - i};
    j = skip_ws(p, j);
    if (j < p->len && p->buf[j] == '{') end = labels(p, j + 1);
    model_fix_escaped(p);
    p->labels = p->lab.v;
    p->n_labels = p->lab.n;
    return end;
}

void model_text_lex_labels(model_parser *p)
{
    name_and_labels(p, p->lazy_at);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* The token that ends before `to` (after trailing blanks are skipped):
 * [*t0, *t1); false if there is none or nothing but blanks precede it. */
static bool last_token(const model_parser *p, size_t from, size_t to, size_t *t0, size_t *t1)
{
    while (to > from && is_ws(p->buf[to - 1]))
        to--;
    size_t k = to;
    while (k > from && !is_ws(p->buf[k - 1]))
        k--;
    if (k == to || k == from) return false;
    for (size_t c = k; c < to; c++)
        if (model_is(p->buf[c], MODEL_CC_TVALEND)) return false;
    *t0 = k;
    *t1 = to;
    return true;
}

/* Whether the caller knows [i, end) (blanks before `end` trimmed) as a series
 * text; sets p->series if so. */
static bool known(model_parser *p, size_t i, size_t end)
{
    while (end > i && is_ws(p->buf[end - 1]))
        end--;
    if (end == i || !p->known(p->known_ctx, p->buf + i, end - i)) return false;
    p->series = (model_str){p->buf + i, end - i};
    return true;
}

/* The known-series shortcut (model_parser_set_known): the line at i taken
 * as `<series> <value> [<timestamp>]` without lexing the labels, when the
 * caller knows that series text.  Anything it cannot take (a value that
 * does not parse, for one) goes to the full path, which gives the errors.
 * Taken this way, the line reads exactly as the full path would read it:
 * a series text the parser accepted ends with its name or "}", and the
 * value token holds no blank or "{". */
static bool shortcut(model_parser *p, size_t i)
{
    size_t eol = model_line_end(p, i), v0, v1, t0, t1;
    if (!last_token(p, i, eol, &v0, &v1) ||
        model_parse_float(p->buf + v0, v1 - v0, &p->value, &p->tmp) != MODEL_FLOAT_OK)
        return false;
    if (!known(p, i, v0)) {
        /* Perhaps the last token was a timestamp. */
        t0 = v0, t1 = v1;
        if (model_scan_class(p, t0, MODEL_CC_DIGIT) != t1 || !last_token(p, i, t0, &v0, &v1) ||
            model_parse_float(p->buf + v0, v1 - v0, &p->value, &p->tmp) != MODEL_FLOAT_OK ||
            !parse_ts(p->buf + t0, t1 - t0, &p->ts) || !known(p, i, v0))
            return false;
        p->has_ts = true;
    }
    p->mname = (model_str){p->buf + i, model_scan_class(p, i, MODEL_CC_MNAME) - i};
    p->lazy = true;
    p->lazy_at = i;
    next_line(p, eol);
    return true;
}

static model_entry series(model_parser *p, size_t i)
{
    char g[MODEL_QUOTE_BUFSZ];
    if (p->known && shortcut(p, i)) return MODEL_ENTRY_SERIES;
    size_t end = name_and_labels(p, i);
    if (end == 0) return MODEL_ENTRY_ERROR;
    size_t j = skip_ws(p, end);
    p->series = (model_str){p->buf + i, end - i};
    if (!model_check_dups(p, p->labels, p->n_labels, false, i)) return MODEL_ENTRY_ERROR;
    size_t v0 = j;
    while (j < p->len && !model_is(p->buf[j], MODEL_CC_TVALEND))
        j++;
    if (j == v0)
        return model_fail(p, v0, "expected value after metric, got %s", model_got(p, v0, g));
    if (!model_value(p, p->buf + v0, j - v0, &p->value, "value", p->mname, v0))
        return MODEL_ENTRY_ERROR;
    j = skip_ws(p, j);
    if (!at_eol(p, j)) return timestamp(p, j);
    next_line(p, j);
    return MODEL_ENTRY_SERIES;
}

model_entry model_text_next(model_parser *p)
{
    char g[MODEL_QUOTE_BUFSZ];
    for (;;) {
        size_t i = skip_ws(p, p->pos);
        if (i >= p->len) {
            p->pos = i;
            return MODEL_ENTRY_EOF;
        }
        char c = p->buf[i];
        if (c == '\n') {
            p->pos = i + 1;
            continue;
        }
        if (c == '#') return comment(p, i);
        if (model_is(c, MODEL_CC_MSTART)) return series(p, i);
        return model_fail(p, i, "expected a metric name or a comment, got %s", model_got(p, i, g));
    }
}
