/*
 * promqltest.c - runs upstream's PromQL test scripts (promql/promqltest
 * testdata, read unchanged) against this project's engine.
 *
 *     promqltest <testdata dir> [<expected failures file>]
 *
 * Commands: `load`/`load_with_nhcb` fill an in-memory storage, `clear`
 * empties it, `eval instant|range` evaluates and compares as upstream's
 * runner does (floats within 1e-6 relative, NaN equals NaN, unordered unless
 * ordered is asked).  Every instant eval runs twice more, as upstream's does:
 * with `@ t` on every selector at -10t, 0, t/5, t, 10t, and as a range query
 * t-1m..t+1m compared at its middle step.
 *
 * Native-histogram evals (`{{` in the expected result, or a selector of the
 * query matching a series loaded with histogram samples) and the tier-3
 * files are skipped.  Annotations are checked as upstream's runner does:
 * `expect warn|info` needs one (matching msg/regex when given), `expect
 * no_warn|no_info` needs none.  An eval that fails and is listed as `file:line` in
 * the expected-failures file does not fail the run; a listed eval that
 * passes does (so the list only shrinks).  Prints one line per file and
 * `promqltest: N passed, M failed, K skipped`.
 */
#include "promql/engine.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static const char *const tier3[] = {
    "duration_expression.test", "extended_vectors.test", "fill-modifier.test",    "info.test",
    "start_timestamps.test",    "type_and_unit.test",    "native_histograms.test"};

/* ---- Expected results */

typedef struct exp_series {
    core_labels *ls;
    double *v;
    bool *omitted;
    size_t n;
} exp_series;

typedef struct eval_cmd {
    int line;
    char *expr;
    bool range, fail, ordered, warn, info, no_warn, no_info, scalar, has_string, range_vector,
        histogram;
    int64_t at, start, end, step;
    char *fail_msg, *fail_regex, *string;
    char *anno_msg[2], *anno_regex[2]; /* [0] warnings, [1] infos */
    double scalar_v;
    exp_series *exp;
    size_t nexp;
} eval_cmd;

typedef struct runner {
    pql_mem_storage *ms;
    core_labels **hist_ls; /* series loaded with native histogram samples */
    size_t nhist;
    char **expected_fail; /* "file:line" */
    size_t nexpected;
    int passed, failed, skipped, unexpected;
    const char *file;
    int file_passed, file_failed, file_skipped;
} runner;

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool almost_equal(double a, double b)
{
    const double min_normal = 2.2250738585072014e-308, eps = 1e-6;
    if (isnan(a) && isnan(b)) return true;
    if (a == b) return true;
    double sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || sum < min_normal) return diff < eps * min_normal;
    return diff / fmin(sum, 1.7976931348623157e308) < eps;
}

static bool parse_duration(const char *s, int64_t *ms)
{
    bool neg = *s == '-';
    if (core_duration_parse(s + neg, strlen(s + neg), ms, NULL) < 0) return false;
    if (neg) *ms = -*ms;
    return true;
}

/* Splits "metric{a="b"} 1 2" into the series part and the values. */
static char *split_series(char *line, char **values)
{
    char *p = line;
    bool quoted = false;
    int depth = 0;
    for (; *p; p++) {
        if (quoted) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                quoted = false;
            continue;
        }
        if (*p == '"') quoted = true;
        if (*p == '{') depth++;
        if (*p == '}') depth--;
        if (depth == 0 && isspace((unsigned char)*p)) break;
    }
    if (*p) *p++ = '\0';
    *values = trim(p);
    return line;
}

static core_labels *parse_labels(const char *series)
{
    if (!strcmp(series, "{}")) return core_labels_new(NULL, 0);
    core_arena a = {0};
    core_err err;
    pql_node *n = pql_parse(series, NULL, &a, &err);
    core_labels *ls = NULL;
    if (n && n->kind == PQL_NODE_VECTOR) {
        core_label *pairs = calloc(n->u.vector.nmatchers + 1, sizeof *pairs);
        for (size_t i = 0; i < n->u.vector.nmatchers; i++)
            pairs[i] = (core_label){n->u.vector.matchers[i].name, n->u.vector.matchers[i].value};
        ls = core_labels_new(pairs, n->u.vector.nmatchers);
        free(pairs);
    }
    core_arena_destroy(&a);
    return ls;
}

/* ---- Value sequences: 1 _ stale _x3 1x4 1+2x3 -1-1x2 */

typedef struct seq {
    double *v;
    bool *omitted;
    size_t n, cap;
} seq;

static void seq_push(seq *s, double v, bool omitted)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        s->omitted = realloc(s->omitted, s->cap * sizeof *s->omitted);
    }
    s->v[s->n] = v;
    s->omitted[s->n++] = omitted;
}

static bool parse_number(const char *s, double *v)
{
    if (!strcmp(s, "stale")) {
        *v = pql_stale_nan();
        return true;
    }
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && !strchr(s, 'x') && !strchr(s, 'X');
}

static bool parse_item(char *tok, seq *out)
{
    char *x = strrchr(tok, 'x');
    long count = -1;
    if (x && x[1] && strspn(x + 1, "0123456789") == strlen(x + 1)) {
        count = strtol(x + 1, NULL, 10);
        *x = '\0';
    }
    if (!strcmp(tok, "_")) {
        for (long i = 0; i < (count < 0 ? 1 : count); i++)
            seq_push(out, 0, true);
        return true;
    }
    double a, b = 0;
    char *op = NULL;
    for (char *p = tok + 1; *p; p++)
        if ((*p == '+' || *p == '-') && p[-1] != 'e' && p[-1] != 'E') op = p;
    if (op && count >= 0) {
        char sign = *op;
        *op = '\0';
        if (!parse_number(tok, &a) || !parse_number(op + 1, &b)) return false;
        if (sign == '-') b = -b;
    } else if (!parse_number(tok, &a)) {
        return false;
    }
    if (count < 0) count = 0;
    for (long i = 0; i <= count; i++)
        seq_push(out, b == 0 ? a : a + b * (double)i, false); /* keeps stale bits */
    return true;
}

static bool parse_values(char *values, seq *out)
{
    for (char *tok = strtok(values, " \t"); tok; tok = strtok(NULL, " \t"))
        if (!parse_item(tok, out)) return false;
    return true;
}

/* ---- load */

static const char *metric_name_of(const core_labels *ls)
{
    const char *n = core_labels_get(ls, CORE_METRIC_NAME);
    return n ? n : "";
}

static void add_hist_series(runner *r, core_labels *ls)
{
    r->hist_ls = realloc(r->hist_ls, (r->nhist + 1) * sizeof *r->hist_ls);
    r->hist_ls[r->nhist++] = ls;
}

/* load_with_nhcb also turns classic buckets into custom-bucket histograms
 * named after the base metric, without the le label. */
static void note_nhcb(runner *r, const core_labels *ls)
{
    static const char *const suffixes[] = {"_bucket", "_count", "_sum"};
    const char *name = metric_name_of(ls);
    size_t len = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len <= sl || strcmp(name + len - sl, suffixes[i]) != 0) continue;
        core_label *pairs = calloc(ls->len + 1, sizeof *pairs);
        char *base = strndup(name, len - sl);
        size_t k = 0;
        for (size_t j = 0; j < ls->len; j++) {
            if (!strcmp(ls->v[j].name, "le")) continue;
            pairs[k] = ls->v[j];
            if (!strcmp(ls->v[j].name, CORE_METRIC_NAME)) pairs[k].value = base;
            k++;
        }
        add_hist_series(r, core_labels_new(pairs, k));
        free(base);
        free(pairs);
    }
}

static void load_line(runner *r, char *line, int64_t interval, bool nhcb)
{
    char *values;
    char *series = split_series(line, &values);
    core_labels *ls = parse_labels(series);
    if (!ls) return;
    if (nhcb) note_nhcb(r, ls);
    if (strstr(values, "{{")) {
        add_hist_series(r, ls);
        return;
    }
    seq s = {0};
    if (parse_values(values, &s))
        for (size_t i = 0; i < s.n; i++)
            if (!s.omitted[i]) pql_mem_storage_add(r->ms, ls, (int64_t)i * interval, s.v[i]);
    free(s.v);
    free(s.omitted);
    free(ls);
}

static void clear_storage(runner *r)
{
    pql_mem_storage_clear(r->ms);
    for (size_t i = 0; i < r->nhist; i++)
        free(r->hist_ls[i]);
    r->nhist = 0;
}

/* ---- eval parsing */

static char *next_word(char **s)
{
    char *p = *s;
    while (isspace((unsigned char)*p))
        p++;
    char *w = p;
    while (*p && !isspace((unsigned char)*p))
        p++;
    if (*p) *p++ = '\0';
    *s = p;
    return w;
}

static bool parse_eval_line(char *line, eval_cmd *e)
{
    char *rest = line, *cmd = next_word(&rest);
    const char *mod = strchr(cmd, '_') ? strchr(cmd, '_') + 1 : "";
    e->fail = !strcmp(mod, "fail");
    e->ordered = !strcmp(mod, "ordered");
    e->warn = !strcmp(mod, "warn");
    e->info = !strcmp(mod, "info");
    char *kind = next_word(&rest);
    if (!strcmp(kind, "instant")) {
        char *save = rest, *w = next_word(&rest);
        if (strcmp(w, "at") == 0) {
            if (!parse_duration(next_word(&rest), &e->at)) return false;
        } else {
            rest = save;
            if (*w) w[strlen(w)] = ' ';
        }
        e->expr = strdup(trim(rest));
        return true;
    }
    if (strcmp(kind, "range") != 0) return false;
    e->range = true;
    next_word(&rest);
    bool ok = parse_duration(next_word(&rest), &e->start);
    next_word(&rest);
    ok = ok && parse_duration(next_word(&rest), &e->end);
    next_word(&rest);
    ok = ok && parse_duration(next_word(&rest), &e->step);
    e->expr = strdup(trim(rest));
    return ok;
}

static void add_expected(eval_cmd *e, char *line)
{
    char *values;
    char *series = split_series(line, &values);
    if (strstr(values, "{{")) {
        e->histogram = true;
        return;
    }
    core_labels *ls = parse_labels(series);
    seq s = {0};
    if (!ls || !parse_values(values, &s)) {
        free(ls);
        free(s.v);
        free(s.omitted);
        return;
    }
    e->exp = realloc(e->exp, (e->nexp + 1) * sizeof *e->exp);
    e->exp[e->nexp++] = (exp_series){ls, s.v, s.omitted, s.n};
}

static char *after_colon_opt(char *s, const char *key)
{
    size_t n = strlen(key);
    return strncmp(s, key, n) == 0 ? trim(s + n) : NULL;
}

static void parse_expect(eval_cmd *e, char *line)
{
    char *rest = line + strlen("expect");
    rest = trim(rest);
    char *kind = next_word(&rest), *opt = trim(rest), *v;
    if (!strcmp(kind, "fail")) {
        e->fail = true;
        if ((v = after_colon_opt(opt, "msg:"))) e->fail_msg = strdup(v);
        if ((v = after_colon_opt(opt, "regex:"))) e->fail_regex = strdup(v);
    } else if (!strcmp(kind, "ordered")) {
        e->ordered = true;
    } else if (!strcmp(kind, "warn") || !strcmp(kind, "info")) {
        bool info = !strcmp(kind, "info");
        *(info ? &e->info : &e->warn) = true;
        if ((v = after_colon_opt(opt, "msg:"))) e->anno_msg[info] = strdup(v);
        if ((v = after_colon_opt(opt, "regex:"))) e->anno_regex[info] = strdup(v);
    } else if (!strcmp(kind, "no_warn")) {
        e->no_warn = true;
    } else if (!strcmp(kind, "no_info")) {
        e->no_info = true;
    } else if (!strcmp(kind, "string")) {
        e->has_string = true;
        size_t n = strlen(opt);
        e->string = strndup(opt + 1, n >= 2 ? n - 2 : 0);
    } else if (!strcmp(kind, "range")) {
        next_word(&rest); /* vector */
        next_word(&rest); /* from */
        parse_duration(next_word(&rest), &e->start);
        next_word(&rest);
        parse_duration(next_word(&rest), &e->end);
        next_word(&rest);
        parse_duration(next_word(&rest), &e->step);
        e->range_vector = true;
    }
}

/* Reads the eval block starting at lines[i]; returns the index after it. */
static size_t parse_eval(char **lines, size_t nlines, size_t i, eval_cmd *e)
{
    e->line = (int)i + 1;
    char *first = strdup(lines[i]);
    bool ok = parse_eval_line(first, e);
    free(first);
    if (!ok) e->expr = NULL;
    for (i++; i < nlines && lines[i][0]; i++) {
        char *l = lines[i];
        char *v;
        if ((v = after_colon_opt(l, "expected_fail_message")))
            e->fail_msg = strdup(v);
        else if ((v = after_colon_opt(l, "expected_fail_regexp")))
            e->fail_regex = strdup(v);
        else if (strncmp(l, "expect ", 7) == 0)
            parse_expect(e, l);
        else if (strstr(l, "{{"))
            e->histogram = true;
        else {
            double d;
            char *end;
            d = strtod(l, &end);
            if (end != l && *trim(end) == '\0') {
                e->scalar = true;
                e->scalar_v = d;
            } else {
                add_expected(e, l);
            }
        }
    }
    return i;
}

static void free_eval(eval_cmd *e)
{
    for (size_t i = 0; i < e->nexp; i++) {
        free(e->exp[i].ls);
        free(e->exp[i].v);
        free(e->exp[i].omitted);
    }
    free(e->exp);
    free(e->expr);
    free(e->fail_msg);
    free(e->fail_regex);
    free(e->string);
    for (int i = 0; i < 2; i++) {
        free(e->anno_msg[i]);
        free(e->anno_regex[i]);
    }
}

/* ---- Comparison */

static bool regex_search(const char *re_s, const char *subject)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)re_s, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
    if (!re) return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    bool hit = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL) >= 0;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return hit;
}

static bool check_failure(const eval_cmd *e, const char *msg, char *why, size_t whylen)
{
    if (e->fail_msg && strcmp(e->fail_msg, msg) != 0) {
        snprintf(why, whylen, "expected error %s, got %s", e->fail_msg, msg);
        return false;
    }
    if (e->fail_regex && !regex_search(e->fail_regex, msg)) {
        snprintf(why, whylen, "expected error matching %s, got %s", e->fail_regex, msg);
        return false;
    }
    return true;
}

/* Whether the annotations of one kind (info or warning) satisfy the eval. */
static bool check_kind(const eval_cmd *e, const pql_result *res, bool info, char *why, size_t n)
{
    const char *kind = info ? "info" : "warning";
    bool want = info ? e->info : e->warn, none = info ? e->no_info : e->no_warn;
    const char *msg = e->anno_msg[info], *re = e->anno_regex[info];
    size_t count = 0;
    bool hit = !msg && !re;
    for (size_t i = 0; i < res->nannos; i++) {
        if (res->annos[i].info != info) continue;
        count++;
        core_sb sb = CORE_SB_INIT;
        pql_annotation_format(&res->annos[i], e->expr, &sb);
        if ((msg && !strcmp(msg, sb.buf)) || (re && regex_search(re, sb.buf))) hit = true;
        if (count == 1) snprintf(why, n, "got %s \"%s\"", kind, sb.buf);
        core_sb_destroy(&sb);
    }
    if (none && count) return strncat(why, ", expected none", n - strlen(why) - 1), false;
    if (want && !count) return snprintf(why, n, "expected a %s, got none", kind), false;
    if (want && !hit) return strncat(why, ", expected another", n - strlen(why) - 1), false;
    return true;
}

static bool check_annotations(const eval_cmd *e, const pql_result *res, char *why, size_t n)
{
    return check_kind(e, res, false, why, n) && check_kind(e, res, true, why, n);
}

static const exp_series *find_expected(const eval_cmd *e, const core_labels *ls, size_t *pos)
{
    for (size_t i = 0; i < e->nexp; i++)
        if (core_labels_equal(e->exp[i].ls, ls)) {
            *pos = i;
            return &e->exp[i];
        }
    return NULL;
}

static void fmt_labels(const core_labels *ls, char *buf, size_t n)
{
    core_sb sb = CORE_SB_INIT;
    core_labels_format(ls, &sb);
    snprintf(buf, n, "%s", sb.buf ? sb.buf : "{}");
    core_sb_destroy(&sb);
}

static bool compare_matrix(const eval_cmd *e, const pql_result *res, int64_t start, int64_t step,
                           char *why, size_t n)
{
    char lb[512];
    for (size_t i = 0; i < res->nseries; i++) {
        size_t pos;
        const exp_series *x = find_expected(e, res->series[i].labels, &pos);
        fmt_labels(res->series[i].labels, lb, sizeof lb);
        if (!x) return snprintf(why, n, "unexpected metric %s in result", lb), false;
        size_t k = 0;
        for (size_t j = 0; j < x->n; j++) {
            if (x->omitted[j]) continue;
            if (k >= res->series[i].n) return snprintf(why, n, "too few points for %s", lb), false;
            pql_point p = res->series[i].pts[k++];
            if (p.t != start + (int64_t)j * step || !almost_equal(p.v, x->v[j]) ||
                pql_is_stale(p.v) != pql_is_stale(x->v[j]))
                return snprintf(why, n, "%s: point %zu is %g@%lld, expected %g@%lld", lb, k - 1,
                                p.v, (long long)p.t, x->v[j],
                                (long long)(start + (int64_t)j * step)),
                       false;
        }
        if (k != res->series[i].n) return snprintf(why, n, "too many points for %s", lb), false;
    }
    if (res->nseries != e->nexp)
        return snprintf(why, n, "expected %zu series, got %zu", e->nexp, res->nseries), false;
    return true;
}

static bool compare_vector(const eval_cmd *e, const pql_result *res, bool ordered, char *why,
                           size_t n)
{
    char lb[512];
    for (size_t i = 0; i < res->nseries; i++) {
        size_t pos;
        const exp_series *x = find_expected(e, res->series[i].labels, &pos);
        fmt_labels(res->series[i].labels, lb, sizeof lb);
        if (!x) return snprintf(why, n, "unexpected metric %s in result", lb), false;
        if (ordered && pos != i) return snprintf(why, n, "%s at position %zu", lb, i), false;
        double v = res->series[i].pts[0].v;
        if (x->n != 1 || !almost_equal(v, x->v[0]))
            return snprintf(why, n, "expected %g for %s but got %g", x->n ? x->v[0] : NAN, lb, v),
                   false;
    }
    if (res->nseries != e->nexp)
        return snprintf(why, n, "expected %zu series, got %zu", e->nexp, res->nseries), false;
    return true;
}

static bool compare(const eval_cmd *e, const pql_result *res, bool ordered, char *why, size_t n)
{
    switch (res->type) {
    case PQL_TYPE_SCALAR:
        if (!e->scalar) return snprintf(why, n, "unexpected scalar result"), false;
        if (!almost_equal(e->scalar_v, res->scalar))
            return snprintf(why, n, "expected scalar %g but got %g", e->scalar_v, res->scalar),
                   false;
        return true;
    case PQL_TYPE_STRING:
        if (!e->has_string || strcmp(e->string, res->str) != 0)
            return snprintf(why, n, "unexpected string \"%s\"", res->str), false;
        return true;
    case PQL_TYPE_MATRIX:
        if (e->scalar) return snprintf(why, n, "expected scalar, got matrix"), false;
        if (e->range) return compare_matrix(e, res, e->start, e->step, why, n);
        return compare_matrix(e, res, e->start, e->step ? e->step : 1, why, n);
    default:
        if (e->scalar) return snprintf(why, n, "expected scalar, got vector"), false;
        return compare_vector(e, res, ordered, why, n);
    }
}

/* ---- Running */

static bool at_unsafe(const pql_node *n);

static bool children_any(const pql_node *n, bool (*f)(const pql_node *))
{
    switch (n->kind) {
    case PQL_NODE_MATRIX: return f(n->u.matrix.vector);
    case PQL_NODE_SUBQUERY: return f(n->u.subquery.expr);
    case PQL_NODE_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            if (f(n->u.call.args[i])) return true;
        return false;
    case PQL_NODE_AGGR: return f(n->u.aggr.expr) || (n->u.aggr.param && f(n->u.aggr.param));
    case PQL_NODE_BINARY: return f(n->u.binary.lhs) || f(n->u.binary.rhs);
    case PQL_NODE_UNARY: return f(n->u.unary.expr);
    case PQL_NODE_PAREN: return f(n->u.paren.expr);
    default: return false;
    }
}

static bool at_unsafe(const pql_node *n)
{
    static const char *const unsafe[] = {
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "end",
        "hour",          "minute",       "month",       "year",        "predict_linear",
        "range",         "start",        "step",        "time",        "timestamp"};
    if (n->kind == PQL_NODE_CALL)
        for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
            if (!strcmp(n->u.call.func->name, unsafe[i])) return true;
    return children_any(n, at_unsafe);
}

static int64_t g_at; /* the @ time set_at() writes */

static bool set_at(const pql_node *cn)
{
    pql_node *n = (pql_node *)cn;
    pql_timing *t = NULL;
    if (n->kind == PQL_NODE_VECTOR) t = &n->u.vector.timing;
    if (n->kind == PQL_NODE_SUBQUERY) t = &n->u.subquery.timing;
    if (t && t->at == PQL_AT_NONE) {
        t->at = PQL_AT_TS;
        t->at_ms = g_at;
    }
    if (n->kind == PQL_NODE_SUBQUERY) return false;
    children_any(n, set_at);
    return false;
}

static const pql_engine_opts opts = {.lookback_ms = 5 * CORE_MS_PER_MINUTE,
                                     .max_samples = 10000,
                                     .subquery_step_ms = CORE_MS_PER_MINUTE};

/* One instant query and its range-mode twin.  Returns true on a pass. */
static bool run_instant(runner *r, eval_cmd *e, int64_t t, bool with_at, char *why, size_t n)
{
    core_arena a = {0};
    core_err err;
    pql_result res;
    bool ok = false;
    pql_parse_opts po = {true, false, false, false};
    pql_node *q = pql_parse(e->expr, &po, &a, &err);
    if (q && with_at) {
        g_at = e->at;
        set_at(q);
    }
    if (!q || pql_eval_instant(pql_mem_storage_iface(r->ms), &opts, q, t, &a, &res, &err) < 0) {
        if (e->fail)
            ok = check_failure(e, err.msg, why, n);
        else
            snprintf(why, n, "error: %s", err.msg);
        goto out;
    }
    if (e->fail) {
        snprintf(why, n, "expected an error but got none");
        goto out;
    }
    if (!check_annotations(e, &res, why, n) || !compare(e, &res, e->ordered, why, n)) goto out;
    ok = true;
    if (e->has_string || e->range_vector || e->ordered ||
        regex_search("(start|end|range|step)\\(\\)", e->expr))
        goto out;
    if (pql_eval_range(pql_mem_storage_iface(r->ms), &opts, q, t - CORE_MS_PER_MINUTE,
                       t + CORE_MS_PER_MINUTE, CORE_MS_PER_MINUTE, &a, &res, &err) < 0) {
        snprintf(why, n, "range mode: %s", err.msg);
        ok = false;
        goto out;
    }
    pql_result mid = {.type = PQL_TYPE_VECTOR, .t = t};
    mid.series = core_arena_calloc(&a, res.nseries + 1, sizeof *mid.series);
    for (size_t i = 0; i < res.nseries; i++)
        for (size_t j = 0; j < res.series[i].n; j++)
            if (res.series[i].pts[j].t == t)
                mid.series[mid.nseries++] =
                    (pql_result_series){res.series[i].labels, &res.series[i].pts[j], 1};
    if (e->scalar) {
        mid.type = PQL_TYPE_SCALAR;
        mid.scalar = mid.nseries ? mid.series[0].pts[0].v : NAN;
    }
    ok = compare(e, &mid, false, why, n);
    if (!ok) strncat(why, " (range mode)", n - strlen(why) - 1);
out:
    core_arena_destroy(&a);
    return ok;
}

static bool run_range(runner *r, eval_cmd *e, char *why, size_t n)
{
    core_arena a = {0};
    core_err err;
    pql_result res;
    bool ok = false;
    pql_parse_opts po = {true, false, false, false};
    pql_node *q = pql_parse(e->expr, &po, &a, &err);
    if (!q || pql_eval_range(pql_mem_storage_iface(r->ms), &opts, q, e->start, e->end, e->step, &a,
                             &res, &err) < 0) {
        if (e->fail)
            ok = check_failure(e, err.msg, why, n);
        else
            snprintf(why, n, "error: %s", err.msg);
    } else if (e->fail) {
        snprintf(why, n, "expected an error but got none");
    } else {
        ok = check_annotations(e, &res, why, n) && compare(e, &res, false, why, n);
    }
    core_arena_destroy(&a);
    return ok;
}

static bool at_variants(runner *r, eval_cmd *e, char *why, size_t n)
{
    core_arena a = {0};
    core_err err;
    pql_parse_opts po = {true, false, false, false};
    pql_node *q = pql_parse(e->expr, &po, &a, &err);
    bool skip = !q || at_unsafe(q);
    core_arena_destroy(&a);
    if (skip) return true;
    int64_t t = e->at;
    int64_t times[5] = {-10 * t, 0, t / 5, t, 10 * t};
    size_t nt = 5;
    if (t == 0) {
        times[0] = -1000, times[1] = 0, times[2] = 1000;
        nt = 3;
    }
    for (size_t i = 0; i < nt; i++) {
        if (!run_instant(r, e, times[i], true, why, n)) {
            strncat(why, " (with @)", n - strlen(why) - 1);
            return false;
        }
    }
    return true;
}

static const runner *g_runner; /* the runner reads_histograms() checks against */

static bool matches_all(const pql_matcher *m, size_t nm, const core_labels *ls)
{
    bool ok = true;
    for (size_t i = 0; ok && i < nm; i++) {
        bool re = m[i].type == PQL_MATCH_RE || m[i].type == PQL_MATCH_NRE;
        void *code = re ? pql_regex_compile(&m[i], NULL) : NULL;
        const char *v = core_labels_get(ls, m[i].name);
        ok = (!re || code) && pql_matcher_matches(&m[i], code, v ? v : "");
        pql_regex_free(code);
    }
    return ok;
}

/* Whether a selector in n reads a series loaded with histogram samples. */
static bool reads_histograms(const pql_node *n)
{
    if (n->kind != PQL_NODE_VECTOR) return children_any(n, reads_histograms);
    for (size_t i = 0; i < g_runner->nhist; i++)
        if (matches_all(n->u.vector.matchers, n->u.vector.nmatchers, g_runner->hist_ls[i]))
            return true;
    return false;
}

static bool uses_histograms(const runner *r, const eval_cmd *e)
{
    if (e->histogram) return true;
    if (!r->nhist) return false;
    core_arena a = {0};
    core_err err;
    pql_parse_opts po = {true, false, false, false};
    pql_node *q = pql_parse(e->expr, &po, &a, &err);
    g_runner = r;
    bool uses = q && reads_histograms(q);
    core_arena_destroy(&a);
    return uses;
}

static bool listed(const runner *r, const char *key)
{
    for (size_t i = 0; i < r->nexpected; i++)
        if (!strcmp(r->expected_fail[i], key)) return true;
    return false;
}

static void run_eval(runner *r, eval_cmd *e)
{
    if (!e->expr || uses_histograms(r, e)) {
        r->file_skipped++;
        return;
    }
    char why[4096] = "";
    e->start = e->range || e->range_vector ? e->start : e->at;
    bool ok = e->range ? run_range(r, e, why, sizeof why)
                       : run_instant(r, e, e->at, false, why, sizeof why) &&
                             (e->fail || at_variants(r, e, why, sizeof why));
    char key[512];
    snprintf(key, sizeof key, "%s:%d", r->file, e->line);
    bool expected = listed(r, key);
    if (ok) {
        r->file_passed++;
        if (expected) {
            printf("  %s: now passing: remove it from the expected failures\n", key);
            r->unexpected++;
        }
        return;
    }
    r->file_failed++;
    if (!expected) {
        printf("  FAIL %s: %s: %s\n", key, e->expr, why);
        r->unexpected++;
    }
}

/* ---- Files */

static char **read_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char **lines = NULL, buf[65536];
    *n = 0;
    while (fgets(buf, sizeof buf, f)) {
        lines = realloc(lines, (*n + 1) * sizeof *lines);
        char *t = trim(buf);
        lines[(*n)++] = strdup(t[0] == '#' ? "" : t);
    }
    fclose(f);
    return lines;
}

static bool is_tier3(const char *name)
{
    for (size_t i = 0; i < sizeof tier3 / sizeof tier3[0]; i++)
        if (!strcmp(tier3[i], name)) return true;
    return false;
}

static int count_evals(char **lines, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strncmp(lines[i], "eval", 4) == 0;
    return k;
}

static void run_file(runner *r, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n;
    char **lines = read_lines(path, &n);
    if (!lines) return;
    r->file = name;
    r->file_passed = r->file_failed = r->file_skipped = 0;
    clear_storage(r);
    if (is_tier3(name)) {
        r->file_skipped = count_evals(lines, n);
        printf("%s: skipped (%d evals: tier 3 / native histograms, not supported yet)\n", name,
               r->file_skipped);
    } else {
        for (size_t i = 0; i < n;) {
            char *l = lines[i];
            if (!l[0]) {
                i++;
            } else if (!strcmp(l, "clear")) {
                clear_storage(r);
                i++;
            } else if (!strncmp(l, "load", 4)) {
                char *rest = l, *w;
                bool nhcb = !strcmp(next_word(&rest), "load_with_nhcb");
                w = next_word(&rest);
                int64_t interval = 0;
                parse_duration(w, &interval);
                for (i++; i < n && lines[i][0]; i++)
                    load_line(r, lines[i], interval, nhcb);
            } else if (!strncmp(l, "eval", 4)) {
                eval_cmd e = {0};
                i = parse_eval(lines, n, i, &e);
                run_eval(r, &e);
                free_eval(&e);
            } else {
                i++;
            }
        }
        printf("%s: %d passed, %d failed, %d skipped\n", name, r->file_passed, r->file_failed,
               r->file_skipped);
    }
    r->passed += r->file_passed;
    r->failed += r->file_failed;
    r->skipped += r->file_skipped;
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static void read_expected(runner *r, const char *path)
{
    size_t n;
    char **lines = read_lines(path, &n);
    for (size_t i = 0; lines && i < n; i++) {
        if (!lines[i][0]) {
            free(lines[i]);
            continue;
        }
        r->expected_fail = realloc(r->expected_fail, (r->nexpected + 1) * sizeof(char *));
        r->expected_fail[r->nexpected++] = lines[i];
    }
    free(lines);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: promqltest <testdata dir> [<expected failures file>]\n");
        return 2;
    }
    runner r = {.ms = pql_mem_storage_new()};
    if (argc > 2) read_expected(&r, argv[2]);
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "promqltest: cannot open %s\n", argv[1]);
        return 2;
    }
    char **names = NULL;
    size_t nn = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len > 5 && !strcmp(de->d_name + len - 5, ".test")) {
            names = realloc(names, (nn + 1) * sizeof *names);
            names[nn++] = strdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn; i++) {
        run_file(&r, argv[1], names[i]);
        free(names[i]);
    }
    free(names);
    printf("promqltest: %d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped);
    clear_storage(&r);
    free(r.hist_ls);
    for (size_t i = 0; i < r.nexpected; i++)
        free(r.expected_fail[i]);
    free(r.expected_fail);
    pql_mem_storage_free(r.ms);
    return r.unexpected ? 1 : 0;
}
