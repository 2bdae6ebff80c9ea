/*
 * tool_rules.c - `prom-tool test rules`: promtool 3.x's unit tests for
 * recording and alerting rules.
 *
 *   test [--junit=<file>] rules [--run=<regex>]... [--debug] [--diff]
 *        [--ignore-unknown-fields] <test-rule-file>...
 *
 * A test file (upstream's format, read strictly) names rule files (globs,
 * relative to the test file), an evaluation_interval (1m by default), an
 * optional group_eval_order and test groups.  Each test group runs on its own:
 *
 *   1. Its input_series are expanded from promqltest's notation ("1+2x3" is
 *      1 3 5 7, "_" skips a step, "stale" is a staleness marker), one value
 *      every `interval` (the evaluation interval by default) from time 0 or
 *      start_timestamp.
 *   2. A TSDB in a temporary directory (no WAL) and a rule manager in manual
 *      mode (server/rules) are made; the rule files are loaded with the
 *      group's external_labels and external_url, every alerting rule counted
 *      as restored so ALERTS series exist from the first evaluation (upstream
 *      sets them restored; our manager does so for groups loaded after its
 *      first load, which an empty first load provides).
 *   3. From the start to the largest eval_time, every evaluation_interval:
 *      the input samples up to that time are appended (lazily, as
 *      promqltest's LazyLoader, so a query never sees later samples), then
 *      every group is evaluated in group_eval_order (others first, in file and
 *      name order).  A rule that fails stops the group with "rule: <name>,
 *      time: <t>, err: <error>".  Alerts of an alert_rule_test whose eval_time
 *      falls in [t, t + interval) are compared with the firing alerts of the
 *      rules of that name right after the evaluation at t.
 *   4. Each promql_expr_test is then run as an instant query at its
 *      eval_time over what was loaded, and compared sample by sample (both
 *      sides sorted by labels, values exactly or within one ulp with
 *      fuzzy_compare).
 *
 * The engine is configured as upstream's test loader: 5m lookback, at most
 * 10000 samples per query, subqueries without a step at the evaluation
 * interval.  Output, failure messages and the exit status are promtool's
 * ("  SUCCESS", "  FAILED:" then each error, exp/got in labels.String() and
 * %E forms); --junit writes upstream's JUnit XML; --debug prints the start
 * and duration of each group and a dump of every series at the end; --diff
 * shows alert mismatches as a line diff of their JSON (upstream uses a JSON
 * diff library whose exact layout is not reproduced).  promtool 2.42 printed
 * "Unit Testing: <file>" first; 3.x does not, and neither does this.
 *
 * Differences from upstream: messages about the test file and its input
 * series name file:line:col (upstream gives yaml.v2's "line N" or a parse
 * position within the series line); native histogram values ("{{...}}") are
 * refused, as our TSDB and engine have none; groups that group_eval_order
 * does not name run in file and name order rather than Go's map order.
 */
#define _GNU_SOURCE
#include "cmd/tool.h"
#include "model/model.h"
#include "promql/engine.h"
#include "promql/storage.h"
#include "rules/rules.h"
#include "tsdb/tsdb.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Errors of a test group or file: messages in order */

typedef struct errlist {
    char **v;
    size_t n, cap;
} errlist;

static void errs_add(errlist *e, const char *msg)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = core_reallocarray(e->v, e->cap, sizeof *e->v);
    }
    e->v[e->n++] = core_strdup(msg);
}

static void errs_addf(errlist *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errs_addf(errlist *e, const char *fmt, ...)
{
    core_sb sb = CORE_SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    core_sb_addvf(&sb, fmt, ap);
    va_end(ap);
    errs_add(e, sb.buf ? sb.buf : "");
    core_sb_destroy(&sb);
}

static void errs_destroy(errlist *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    memset(e, 0, sizeof *e);
}

/* ---- The test file */

typedef struct in_series {
    const core_yaml_node *series, *values;
} in_series;

typedef struct exp_alert {
    core_label *labels, *ann;
    size_t nlabels, nann;
} exp_alert;

typedef struct alert_test {
    int64_t eval_time;
    const char *alertname;
    exp_alert *exp;
    size_t nexp;
} alert_test;

typedef struct exp_sample {
    const char *labels;
    double value;
    const char *histogram;
} exp_sample;

typedef struct expr_test {
    const char *expr;
    int64_t eval_time;
    exp_sample *exp;
    size_t nexp;
} expr_test;

typedef struct test_group {
    int64_t interval; /* 0: the evaluation interval */
    in_series *series;
    size_t nseries;
    alert_test *alerts;
    size_t nalerts;
    expr_test *exprs;
    size_t nexprs;
    core_labels *external_labels;
    const char *external_url, *name;
    int64_t start_ms; /* 0 unless start_timestamp */
} test_group;

typedef struct test_file {
    const char *path;
    core_yaml_doc *doc;
    char **rule_patterns; /* joined with the test file's directory */
    size_t npatterns;
    int64_t eval_interval;
    const char **order;
    size_t norder;
    test_group *tests;
    size_t ntests;
    bool fuzzy;
    core_arena arena;
} test_file;

static const char *kind_name(core_yaml_kind k)
{
    return k == CORE_YAML_SCALAR ? "a scalar" : k == CORE_YAML_SEQ ? "a sequence" : "a mapping";
}

/* A sequence field: NULL (with n 0) for a missing or null one. */
static int seq_of(const test_file *f, const core_yaml_node *node, const char *what,
                  const core_yaml_node ***items, size_t *n, core_err *err)
{
    *items = NULL;
    *n = 0;
    if (core_yaml_is_null(node)) return 0;
    if (node->kind != CORE_YAML_SEQ)
        return core_yaml_errorf(f->doc, node, err, "expected a sequence for %s, got %s", what,
                                kind_name(node->kind));
    *items = (const core_yaml_node **)node->items;
    *n = node->n;
    return 0;
}

static int opt_str(const test_file *f, const core_yaml_node *map, const char *key, const char **out,
                   core_err *err)
{
    *out = "";
    const core_yaml_node *n = core_yaml_get(map, key);
    if (!n) return 0;
    return core_yaml_str(f->doc, n, key, out, err);
}

static int opt_duration(const test_file *f, const core_yaml_node *map, const char *key,
                        int64_t *out, core_err *err)
{
    *out = 0;
    const core_yaml_node *n = core_yaml_get(map, key);
    if (core_yaml_is_null(n)) return 0;
    return core_yaml_duration(f->doc, n, key, out, err);
}

/* A map[string]string field (keys once each, as yaml.v2). */
static int str_map(test_file *f, const core_yaml_node *node, const char *what, core_label **out,
                   size_t *n, core_err *err)
{
    *out = NULL;
    *n = 0;
    if (core_yaml_is_null(node)) return 0;
    if (node->kind != CORE_YAML_MAP)
        return core_yaml_errorf(f->doc, node, err, "expected a mapping for %s, got %s", what,
                                kind_name(node->kind));
    core_label *v = core_arena_calloc(&f->arena, node->n + 1, sizeof *v);
    for (size_t i = 0; i < node->n; i++) {
        const core_yaml_node *k = node->items[2 * i], *val = node->items[2 * i + 1];
        if (k->kind != CORE_YAML_SCALAR)
            return core_yaml_errorf(f->doc, k, err, "expected a scalar key in %s, got %s", what,
                                    kind_name(k->kind));
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j].name, k->value) == 0) {
                core_sb q = CORE_SB_INIT;
                core_sb_add_quoted(&q, k->value, k->len);
                core_yaml_errorf(f->doc, k, err, "key %s already set in map", q.buf);
                core_sb_destroy(&q);
                return -1;
            }
        const char *s;
        if (core_yaml_str(f->doc, val, what, &s, err) < 0) return -1;
        v[i] = (core_label){k->value, s};
    }
    *out = v;
    *n = node->n;
    return 0;
}

static const char *const FILE_KEYS[] = {"rule_files", "evaluation_interval", "group_eval_order",
                                        "tests",      "fuzzy_compare",       NULL};
static const char *const GROUP_KEYS[] = {"interval",
                                         "input_series",
                                         "alert_rule_test",
                                         "promql_expr_test",
                                         "external_labels",
                                         "external_url",
                                         "name",
                                         "start_timestamp",
                                         NULL};
static const char *const SERIES_KEYS[] = {"series", "values", NULL};
static const char *const ALERT_KEYS[] = {"eval_time", "alertname", "exp_alerts", NULL};
static const char *const EXP_ALERT_KEYS[] = {"exp_labels", "exp_annotations", NULL};
static const char *const EXPR_KEYS[] = {"expr", "eval_time", "exp_samples", NULL};
static const char *const SAMPLE_KEYS[] = {"labels", "value", "histogram", NULL};

static int decode_alert_test(test_file *f, const core_yaml_node *node, alert_test *out,
                             core_err *err)
{
    if (core_yaml_check_keys(f->doc, node, ALERT_KEYS, "alert test case", err) < 0 ||
        opt_duration(f, node, "eval_time", &out->eval_time, err) < 0 ||
        opt_str(f, node, "alertname", &out->alertname, err) < 0)
        return -1;
    const core_yaml_node **items;
    if (seq_of(f, core_yaml_get(node, "exp_alerts"), "exp_alerts", &items, &out->nexp, err) < 0)
        return -1;
    out->exp = core_arena_calloc(&f->arena, out->nexp + 1, sizeof *out->exp);
    for (size_t i = 0; i < out->nexp; i++) {
        exp_alert *a = &out->exp[i];
        if (core_yaml_check_keys(f->doc, items[i], EXP_ALERT_KEYS, "expected alert", err) < 0 ||
            str_map(f, core_yaml_get(items[i], "exp_labels"), "exp_labels", &a->labels, &a->nlabels,
                    err) < 0 ||
            str_map(f, core_yaml_get(items[i], "exp_annotations"), "exp_annotations", &a->ann,
                    &a->nann, err) < 0)
            return -1;
    }
    return 0;
}

static int decode_expr_test(test_file *f, const core_yaml_node *node, expr_test *out, core_err *err)
{
    if (core_yaml_check_keys(f->doc, node, EXPR_KEYS, "PromQL test case", err) < 0 ||
        opt_str(f, node, "expr", &out->expr, err) < 0 ||
        opt_duration(f, node, "eval_time", &out->eval_time, err) < 0)
        return -1;
    const core_yaml_node **items;
    if (seq_of(f, core_yaml_get(node, "exp_samples"), "exp_samples", &items, &out->nexp, err) < 0)
        return -1;
    out->exp = core_arena_calloc(&f->arena, out->nexp + 1, sizeof *out->exp);
    for (size_t i = 0; i < out->nexp; i++) {
        exp_sample *s = &out->exp[i];
        const core_yaml_node *v = core_yaml_get(items[i], "value");
        if (core_yaml_check_keys(f->doc, items[i], SAMPLE_KEYS, "expected sample", err) < 0 ||
            opt_str(f, items[i], "labels", &s->labels, err) < 0 ||
            opt_str(f, items[i], "histogram", &s->histogram, err) < 0 ||
            (!core_yaml_is_null(v) && core_yaml_double(f->doc, v, "value", &s->value, err) < 0))
            return -1;
    }
    return 0;
}

static int decode_group(test_file *f, const core_yaml_node *node, test_group *g, core_err *err)
{
    if (core_yaml_check_keys(f->doc, node, GROUP_KEYS, "test group", err) < 0 ||
        opt_duration(f, node, "interval", &g->interval, err) < 0 ||
        opt_str(f, node, "external_url", &g->external_url, err) < 0 ||
        opt_str(f, node, "name", &g->name, err) < 0)
        return -1;
    const core_yaml_node *st = core_yaml_get(node, "start_timestamp");
    if (!core_yaml_is_null(st)) {
        const char *s;
        if (core_yaml_str(f->doc, st, "start_timestamp", &s, err) < 0) return -1;
        core_err e = {{0}};
        if (core_time_parse_api(s, strlen(s), &g->start_ms, &e) < 0)
            return core_yaml_errorf(f->doc, st, err, "%s", e.msg);
    }
    core_label *ext;
    size_t next;
    if (str_map(f, core_yaml_get(node, "external_labels"), "external_labels", &ext, &next, err) < 0)
        return -1;
    g->external_labels = core_labels_new_in(&f->arena, ext, next);
    const core_yaml_node **items;
    size_t n;
    if (seq_of(f, core_yaml_get(node, "input_series"), "input_series", &items, &n, err) < 0)
        return -1;
    g->series = core_arena_calloc(&f->arena, n + 1, sizeof *g->series);
    for (size_t i = 0; i < n; i++) {
        if (core_yaml_check_keys(f->doc, items[i], SERIES_KEYS, "input series", err) < 0) return -1;
        g->series[i] =
            (in_series){core_yaml_get(items[i], "series"), core_yaml_get(items[i], "values")};
        const char *s;
        if ((g->series[i].series &&
             core_yaml_str(f->doc, g->series[i].series, "series", &s, err) < 0) ||
            (g->series[i].values &&
             core_yaml_str(f->doc, g->series[i].values, "values", &s, err) < 0))
            return -1;
    }
    g->nseries = n;
    if (seq_of(f, core_yaml_get(node, "alert_rule_test"), "alert_rule_test", &items, &n, err) < 0)
        return -1;
    g->alerts = core_arena_calloc(&f->arena, n + 1, sizeof *g->alerts);
    for (g->nalerts = 0; g->nalerts < n; g->nalerts++)
        if (decode_alert_test(f, items[g->nalerts], &g->alerts[g->nalerts], err) < 0) return -1;
    if (seq_of(f, core_yaml_get(node, "promql_expr_test"), "promql_expr_test", &items, &n, err) < 0)
        return -1;
    g->exprs = core_arena_calloc(&f->arena, n + 1, sizeof *g->exprs);
    for (g->nexprs = 0; g->nexprs < n; g->nexprs++)
        if (decode_expr_test(f, items[g->nexprs], &g->exprs[g->nexprs], err) < 0) return -1;
    return 0;
}

/* Go's filepath.Join(dir, p) for a relative p, cleaned as filepath.Clean. */
static char *join_clean(const char *dir, const char *p)
{
    core_sb in = CORE_SB_INIT;
    if (p[0] != '/') core_sb_addf(&in, "%s/", dir);
    core_sb_adds(&in, p);
    bool abs = in.buf[0] == '/';
    const char **parts = core_calloc(in.len + 1, sizeof *parts);
    size_t np = 0;
    for (char *tok = strtok(in.buf, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0) continue;
        if (strcmp(tok, "..") == 0 && np > 0 && strcmp(parts[np - 1], "..") != 0) {
            np--;
            continue;
        }
        if (strcmp(tok, "..") == 0 && abs) continue;
        parts[np++] = tok;
    }
    core_sb out = CORE_SB_INIT;
    if (abs) core_sb_addc(&out, '/');
    for (size_t i = 0; i < np; i++)
        core_sb_addf(&out, "%s%s", i ? "/" : "", parts[i]);
    if (out.len == 0) core_sb_addc(&out, '.');
    free(parts);
    core_sb_destroy(&in);
    return core_sb_detach(&out, NULL);
}

static void test_file_free(test_file *f)
{
    for (size_t i = 0; i < f->npatterns; i++)
        free(f->rule_patterns[i]);
    free(f->rule_patterns);
    core_yaml_free(f->doc);
    core_arena_destroy(&f->arena);
}

static int test_file_load(test_file *f, const char *path, core_err *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->doc = core_yaml_load_file(path, err);
    if (!f->doc) return -1;
    const core_yaml_node *root = core_yaml_root(f->doc);
    if (core_yaml_check_keys(f->doc, root, FILE_KEYS, "unit test file", err) < 0 ||
        opt_duration(f, root, "evaluation_interval", &f->eval_interval, err) < 0)
        return -1;
    const core_yaml_node *fz = core_yaml_get(root, "fuzzy_compare");
    if (!core_yaml_is_null(fz) && core_yaml_bool(f->doc, fz, "fuzzy_compare", &f->fuzzy, err) < 0)
        return -1;
    const core_yaml_node **items;
    size_t n;
    if (seq_of(f, core_yaml_get(root, "rule_files"), "rule_files", &items, &n, err) < 0) return -1;
    char *pathcopy = core_strdup(path);
    const char *dir = dirname(pathcopy);
    f->rule_patterns = core_calloc(n + 1, sizeof *f->rule_patterns);
    for (size_t i = 0; i < n; i++) {
        const char *s;
        if (core_yaml_str(f->doc, items[i], "rule_files", &s, err) < 0) {
            free(pathcopy);
            return -1;
        }
        f->rule_patterns[f->npatterns++] = *s ? join_clean(dir, s) : core_strdup("");
    }
    free(pathcopy);
    if (seq_of(f, core_yaml_get(root, "group_eval_order"), "group_eval_order", &items, &n, err) < 0)
        return -1;
    f->order = core_arena_calloc(&f->arena, n + 1, sizeof *f->order);
    for (f->norder = 0; f->norder < n; f->norder++)
        if (core_yaml_str(f->doc, items[f->norder], "group_eval_order", &f->order[f->norder], err) <
            0)
            return -1;
    if (seq_of(f, core_yaml_get(root, "tests"), "tests", &items, &n, err) < 0) return -1;
    f->tests = core_arena_calloc(&f->arena, n + 1, sizeof *f->tests);
    for (f->ntests = 0; f->ntests < n; f->ntests++)
        if (decode_group(f, items[f->ntests], &f->tests[f->ntests], err) < 0) return -1;
    if (f->eval_interval == 0) f->eval_interval = CORE_MS_PER_MINUTE;
    return 0;
}

/* ---- Input series: promqltest's expanding notation */

typedef struct in_sample {
    int64_t t;
    double v;
} in_sample;

typedef struct loaded_series {
    core_labels *labels;
    in_sample *s;
    size_t n, next; /* next: the first not appended yet */
    uint64_t ref;
} loaded_series;

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The number at *p (promqltest's lexer in series mode, then the parser's
 * number(): ParseInt with base prefixes, else ParseFloat); Inf and NaN in any
 * case.  Returns false when there is none. */
static bool scan_number(const char **p, double *v)
{
    const char *s = *p;
    if (is_alpha(*s)) {
        const char *e = s;
        while (is_alpha(*e) || is_digit(*e) || *e == ':')
            e++;
        if ((size_t)(e - s) == 3 && strncasecmp(s, "inf", 3) == 0)
            *v = INFINITY;
        else if ((size_t)(e - s) == 3 && strncasecmp(s, "nan", 3) == 0)
            *v = NAN;
        else
            return false;
        *p = e;
        return true;
    }
    const char *e = s;
    bool dot = false, expo = false;
    while (is_digit(*e) || *e == '_' || (*e == '.' && !dot && !expo) ||
           ((*e == 'e' || *e == 'E') && !expo && e > s)) {
        if (*e == '.') dot = true;
        if (*e == 'e' || *e == 'E') {
            expo = true;
            if (e[1] == '+' || e[1] == '-') e++;
        }
        e++;
    }
    if (e == s || (e == s + 1 && *s == '.')) return false;
    /* what follows must not be alphanumeric, but for the repetition 'x' */
    if ((is_alpha(*e) || is_digit(*e)) && *e != 'x') return false;
    char buf[128];
    size_t n = 0;
    for (const char *c = s; c < e && n + 1 < sizeof buf; c++) {
        if (*c == '_') {
            /* Go allows '_' only between digits of an integer */
            if (c == s || !is_digit(c[-1]) || !is_digit(c[1]) || dot || expo) return false;
            continue;
        }
        buf[n++] = *c;
    }
    buf[n] = '\0';
    if (!dot && !expo && n > 1 && buf[0] == '0' && strspn(buf, "01234567") == n) {
        *v = (double)strtoull(buf, NULL, 8); /* ParseInt(s, 0, 64): octal */
    } else {
        char *end;
        *v = strtod(buf, &end);
        if (*end) return false;
    }
    *p = e;
    return true;
}

/* A repetition count after 'x': decimal digits. */
static bool scan_uint(const char **p, uint64_t *n, core_sb *msg)
{
    const char *s = *p, *e = s;
    while (is_digit(*e) || *e == '.' || is_alpha(*e))
        e++;
    if (e == s) {
        core_sb_adds(msg, "parse error: unexpected end of input in series values, expected number");
        return false;
    }
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end != e || !is_digit(*s)) {
        core_sb_addf(msg,
                     "parse error: invalid repetition in series values: strconv.ParseUint: "
                     "parsing \"%.*s\": invalid syntax",
                     (int)(e - s), s);
        return false;
    }
    *n = v;
    *p = e;
    return true;
}

typedef struct seq_val {
    double v;
    bool omitted;
} seq_val;

typedef struct seq {
    seq_val *v;
    size_t n, cap;
} seq;

static bool seq_push(seq *q, double v, bool omitted, core_sb *msg)
{
    if (q->n >= 10000000) {
        core_sb_adds(msg, "too many values in series values (more than 10000000)");
        return false;
    }
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->v = core_reallocarray(q->v, q->cap, sizeof *q->v);
    }
    q->v[q->n++] = (seq_val){v, omitted};
    return true;
}

/* One item of a value sequence; *p moves past it. */
static bool parse_item(const char **p, seq *out, core_sb *msg)
{
    const char *s = *p;
    uint64_t times;
    if (s[0] == '{' && s[1] == '{') {
        core_sb_adds(msg, "native histogram values are not supported");
        return false;
    }
    double v;
    if (*s == '_') {
        s++;
        if (*s != 'x') {
            if (!seq_push(out, 0, true, msg)) return false;
        } else {
            s++;
            if (!scan_uint(&s, &times, msg)) return false;
            for (uint64_t i = 0; i < times; i++)
                if (!seq_push(out, 0, true, msg)) return false;
        }
    } else if (strncmp(s, "stale", 5) == 0 && !is_alpha(s[5]) && !is_digit(s[5]) && s[5] != ':') {
        v = pql_stale_nan();
        s += 5;
    } else {
        bool neg = *s == '-';
        if (*s == '+' || *s == '-') s++;
        if (!scan_number(&s, &v)) {
            core_sb_addf(msg,
                         "parse error: unexpected %s \"%.*s\" in series values, expected "
                         "number or \"stale\"",
                         is_alpha(*s) ? "identifier" : "character", (int)strcspn(s, " \t"), s);
            return false;
        }
        if (neg) v = -v;
    }
    if (p[0][0] == '_') {
        /* done above */
    } else if (*s == 'x') {
        s++;
        if (!scan_uint(&s, &times, msg)) return false;
        /* an additional value for time 0 */
        for (uint64_t i = 0; i <= times; i++)
            if (!seq_push(out, v, false, msg)) return false;
    } else if (*s == '+' || *s == '-') {
        bool neg = *s == '-';
        double d;
        s++;
        if (!scan_number(&s, &d)) {
            core_sb_addf(msg, "parse error: unexpected \"%.*s\" in series values, expected number",
                         (int)strcspn(s, " \t"), s);
            return false;
        }
        if (neg) d = -d;
        if (*s != 'x') {
            core_sb_adds(msg,
                         "parse error: unexpected end of input in series values, expected \"x\"");
            return false;
        }
        s++;
        if (!scan_uint(&s, &times, msg)) return false;
        for (uint64_t i = 0; i <= times; i++) {
            if (!seq_push(out, v, false, msg)) return false;
            v += d;
        }
    } else if (!seq_push(out, v, false, msg)) {
        return false;
    }
    if (*s && *s != ' ' && *s != '\t') {
        core_sb_addf(msg, "parse error: unexpected \"%.*s\" in series values",
                     (int)strcspn(s, " \t"), s);
        return false;
    }
    *p = s;
    return true;
}

static bool parse_values(const char *text, seq *out, core_sb *msg)
{
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p) return true;
        if (!parse_item(&p, out, msg)) return false;
    }
}

/* A metric as promqltest and ParseMetric read it: name{l="v", ...}, "{}"
 * or nothing; equality matchers only.  Labels are malloc'd.  NULL with the
 * message in msg. */
static core_labels *parse_metric(const char *text, core_sb *msg)
{
    const char *s = text;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
        n--;
    if (n == 0) return core_labels_new(NULL, 0);
    char *buf = core_strndup(s, n);
    /* "{}" and "{ }": an empty set, which a selector may not be */
    size_t k = 1;
    while (buf[0] == '{' && (buf[k] == ' ' || buf[k] == '\t'))
        k++;
    if (buf[0] == '{' && buf[k] == '}' && buf[k + 1] == '\0') {
        free(buf);
        return core_labels_new(NULL, 0);
    }
    core_arena a = {0};
    core_err e = {{0}};
    pql_node *node = pql_parse(buf, NULL, &a, &e);
    core_labels *ls = NULL;
    if (!node) {
        core_sb_adds(msg, e.msg);
    } else if (node->kind != PQL_NODE_VECTOR || node->u.vector.timing.offset_ms ||
               node->u.vector.timing.at != PQL_AT_NONE || node->u.vector.timing.offset_expr) {
        core_sb_addf(msg, "not a metric: %s", buf);
    } else {
        core_label *pairs = core_calloc(node->u.vector.nmatchers + 1, sizeof *pairs);
        size_t np = 0;
        for (size_t i = 0; i < node->u.vector.nmatchers; i++) {
            const pql_matcher *m = &node->u.vector.matchers[i];
            if (m->type != PQL_MATCH_EQ) {
                core_sb_addf(msg, "unexpected label matching operator in metric %s", buf);
                free(pairs);
                goto out;
            }
            if (m->value_len) pairs[np++] = (core_label){m->name, m->value};
        }
        ls = core_labels_new(pairs, np);
        free(pairs);
        const char *dup = core_labels_dup_name(ls);
        if (dup) {
            core_sb_addf(msg, "label %s is set twice in metric %s", dup, buf);
            free(ls);
            ls = NULL;
        }
    }
out:
    core_arena_destroy(&a);
    free(buf);
    return ls;
}

static void loaded_free(loaded_series *ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ls[i].labels);
        free(ls[i].s);
    }
    free(ls);
}

/* Expands a group's input series; a series given twice keeps its last
 * definition, as promqltest's load.  -1 with the error in errs. */
static int load_series(const test_file *f, const test_group *g, int64_t start, int64_t interval,
                       loaded_series **out, size_t *nout, errlist *errs)
{
    loaded_series *v = core_calloc(g->nseries + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < g->nseries; i++) {
        const in_series *is = &g->series[i];
        const char *stext = is->series && !core_yaml_is_null(is->series) ? is->series->value : "";
        const char *vtext = is->values && !core_yaml_is_null(is->values) ? is->values->value : "";
        core_sb msg = CORE_SB_INIT;
        core_labels *ls = parse_metric(stext, &msg);
        seq q = {0};
        const core_yaml_node *at = is->series;
        if (ls && ls->len == 0) {
            core_sb_adds(&msg, "no metric name or labels in input series");
            free(ls);
            ls = NULL;
        }
        if (ls && !parse_values(vtext, &q, &msg)) {
            at = is->values;
            free(ls);
            ls = NULL;
        }
        if (!ls) {
            core_err e = {{0}};
            core_yaml_errorf(f->doc, at, &e, "%s", msg.buf ? msg.buf : "");
            errs_add(errs, e.msg);
            core_sb_destroy(&msg);
            free(q.v);
            loaded_free(v, n);
            return -1;
        }
        core_sb_destroy(&msg);
        loaded_series *dst = NULL;
        for (size_t k = 0; k < n && !dst; k++)
            if (core_labels_equal(v[k].labels, ls)) dst = &v[k];
        if (dst) {
            free(dst->labels);
            free(dst->s);
        } else {
            dst = &v[n++];
        }
        memset(dst, 0, sizeof *dst);
        dst->labels = ls;
        dst->s = core_calloc(q.n + 1, sizeof *dst->s);
        for (size_t k = 0; k < q.n; k++)
            if (!q.v[k].omitted)
                dst->s[dst->n++] = (in_sample){start + (int64_t)k * interval, q.v[k].v};
        free(q.v);
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Appends every input sample at or before ts (promqltest's appendTill). */
static int append_till(tsdb_db *db, loaded_series *v, size_t n, int64_t ts, core_err *err)
{
    tsdb_appender *a = tsdb_db_appender(db);
    static const char *const refusals[] = {"", "out of order sample",
                                           "duplicate sample for timestamp", "out of bounds", ""};
    for (size_t i = 0; i < n; i++) {
        loaded_series *s = &v[i];
        for (; s->next < s->n && s->s[s->next].t <= ts; s->next++) {
            int rc =
                tsdb_appender_add(a, &s->ref, s->labels, s->s[s->next].t, s->s[s->next].v, err);
            if (rc < 0 || (rc > 0 && rc < 4)) {
                if (rc > 0) core_err_set(err, "%s", refusals[rc]);
                tsdb_appender_rollback(a);
                s->next++;
                return -1;
            }
        }
    }
    return tsdb_appender_commit(a, err);
}

/* ---- Comparing */

typedef struct la_pair {
    core_labels *labels, *ann;
} la_pair;

static int la_cmp(const void *a, const void *b)
{
    const la_pair *x = a, *y = b;
    int c = core_labels_compare(x->labels, y->labels);
    return c ? c : core_labels_compare(x->ann, y->ann);
}

/* x == y, or one ulp apart when fuzzy. */
static bool float_eq(double x, double y, bool fuzzy)
{
    return x == y || (fuzzy && (nextafter(x, -INFINITY) == y || nextafter(x, INFINITY) == y));
}

/* labelsAndAnnotations.String(), indented as upstream's messages. */
static void la_string(const la_pair *v, size_t n, const char *indent, core_sb *out)
{
    if (n == 0) {
        core_sb_adds(out, "[]");
        return;
    }
    core_sb_addc(out, '[');
    for (size_t i = 0; i < n; i++) {
        core_sb_addf(out, "%s\n%s%zu:\n%s  Labels:", i ? "," : "", indent, i, indent);
        core_labels_format(v[i].labels, out);
        core_sb_addf(out, "\n%s  Annotations:", indent);
        core_labels_format(v[i].ann, out);
    }
    core_sb_addf(out, "\n%s]", indent);
}

static void json_labels(const core_labels *ls, const char *ind, core_sb *out)
{
    if (ls->len == 0) {
        core_sb_adds(out, "{}");
        return;
    }
    core_sb_adds(out, "{");
    for (size_t i = 0; i < ls->len; i++) {
        core_sb_addf(out, "%s\n%s    ", i ? "," : "", ind);
        core_sb_add_json_str(out, ls->v[i].name, strlen(ls->v[i].name));
        core_sb_adds(out, ": ");
        core_sb_add_json_str(out, ls->v[i].value, strlen(ls->v[i].value));
    }
    core_sb_addf(out, "\n%s}", ind);
}

/* The JSON of alerts, one item a line, as the --diff compares them. */
static void la_json(const la_pair *v, size_t n, core_sb *out)
{
    core_labels none = {0};
    la_pair one = {NULL, NULL};
    if (n == 0) { /* upstream compares one empty alert against the other side */
        one.labels = one.ann = &none;
        v = &one;
        n = 1;
    }
    core_sb_adds(out, "[");
    for (size_t i = 0; i < n; i++) {
        core_sb_addf(out, "%s\n    {\n        \"Labels\": ", i ? "," : "");
        json_labels(v[i].labels, "        ", out);
        core_sb_adds(out, ",\n        \"Annotations\": ");
        json_labels(v[i].ann, "        ", out);
        core_sb_adds(out, "\n    }");
    }
    core_sb_adds(out, "\n]");
}

static char **split_lines(char *s, size_t *n)
{
    size_t cap = 16;
    char **v = core_calloc(cap, sizeof *v);
    *n = 0;
    for (char *line = s; line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (*n == cap) v = core_reallocarray(v, cap *= 2, sizeof *v);
        v[(*n)++] = line;
        line = nl ? nl + 1 : NULL;
    }
    return v;
}

/* A line diff (longest common subsequence) of two texts: removed lines red
 * with '-', added ones green with '+', the rest as they are. */
static void line_diff(core_sb *exp, core_sb *got, const char *indent, core_sb *out)
{
    size_t na, nb;
    char **a = split_lines(exp->buf, &na), **b = split_lines(got->buf, &nb);
    size_t *lcs = core_calloc((na + 1) * (nb + 1), sizeof *lcs);
#define L(i, j) lcs[(i) * (nb + 1) + (j)]
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            L(i, j) = strcmp(a[i], b[j]) == 0
                          ? L(i + 1, j + 1) + 1
                          : (L(i + 1, j) > L(i, j + 1) ? L(i + 1, j) : L(i, j + 1));
    size_t i = 0, j = 0;
    bool first = true;
    while (i < na || j < nb) {
        if (!first) core_sb_addf(out, "\n%s", indent);
        first = false;
        if (i < na && j < nb && strcmp(a[i], b[j]) == 0) {
            core_sb_addf(out, "  %s", a[i]);
            i++, j++;
        } else if (j < nb && (i == na || L(i, j + 1) >= L(i + 1, j))) {
            core_sb_addf(out, "\x1b[32m+ %s\x1b[0m", b[j++]);
        } else {
            core_sb_addf(out, "\x1b[31m- %s\x1b[0m", a[i++]);
        }
    }
#undef L
    free(lcs);
    free(a);
    free(b);
}

typedef struct got_sample {
    const core_labels *labels;
    double v;
    const char *hist; /* an expected histogram's text; NULL for floats */
} got_sample;

static int sample_cmp(const void *a, const void *b)
{
    return core_labels_compare(((const got_sample *)a)->labels, ((const got_sample *)b)->labels);
}

/* parsedSamplesString(): "nil" or `labels value` items joined by ", ". */
static void samples_string(const got_sample *v, size_t n, core_sb *out)
{
    if (n == 0) {
        core_sb_adds(out, "nil");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_adds(out, ", ");
        core_labels_format(v[i].labels, out);
        core_sb_addc(out, ' ');
        if (v[i].hist)
            core_sb_adds(out, v[i].hist);
        else
            tool_go_float(out, v[i].v, 'E');
    }
}

/* ---- Running a test group */

typedef struct run_opts {
    bool debug, diff, ignore_unknown;
} run_opts;

typedef struct group_ref {
    const char *file, *name;
    size_t order;
} group_ref;

static int group_ref_cmp(const void *a, const void *b)
{
    const group_ref *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

static int64_t fake_clock(void *ctx)
{
    return *(const int64_t *)ctx;
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s, (void)f, (void)w;
    return remove(p);
}

static void dur_str(core_sb *sb, int64_t ms)
{
    char d[CORE_DURATION_BUFSZ];
    core_duration_format(ms, d);
    core_sb_adds(sb, d);
}

/* Go's %q of a string. */
static void quote(core_sb *sb, const char *s)
{
    core_sb_add_quoted(sb, s, strlen(s));
}

typedef struct group_run {
    const test_file *f;
    const test_group *g;
    const run_opts *o;
    const char *testname;
    errlist *errs;
    int64_t mint, interval, now;
    tsdb_db *db;
    pql_tsdb_storage *ts;
    pql_storage *st;
    rules_manager *m;
    group_ref *groups;
    size_t ngroups;
    pql_engine_opts engine;
} group_run;

/* Loads the rule files: every error of every file, as LoadGroups. */
static int load_rules(group_run *r, char **files, size_t nfiles)
{
    rules_parse_opts po = {.ignore_unknown_fields = r->o->ignore_unknown};
    bool bad = false;
    for (size_t i = 0; i < nfiles; i++) {
        core_err e = {{0}};
        core_sb all = CORE_SB_INIT;
        rules_file *rf = rules_file_load(files[i], &po, &e, &all);
        if (!rf) {
            bad = true;
            if (all.len == 0) core_sb_adds(&all, e.msg);
            for (char *line = all.buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl) *nl = '\0';
                errs_add(r->errs, line);
                line = nl ? nl + 1 : line + strlen(line);
            }
        }
        rules_file_free(rf);
        core_sb_destroy(&all);
    }
    if (bad) return -1;
    core_err e = {{0}};
    /* an empty first load: the real one then makes alerting rules that count
     * as restored (upstream's SetRestored(true)) */
    if (rules_manager_update(r->m, r->interval, 0, NULL, 0, NULL, &e) < 0 ||
        rules_manager_update(r->m, r->g->interval ? r->g->interval : r->f->eval_interval, 0,
                             (const char *const *)files, nfiles, r->g->external_labels, &e) < 0) {
        errs_add(r->errs, e.msg);
        return -1;
    }
    core_arena a = {0};
    rules_group_snap *gs;
    size_t ng = rules_manager_groups(r->m, &a, &gs);
    r->groups = core_calloc(ng + 1, sizeof *r->groups);
    for (size_t i = 0; i < ng; i++) {
        size_t order = 0;
        for (size_t k = 0; k < r->f->norder; k++)
            if (strcmp(r->f->order[k], gs[i].name) == 0) order = k;
        r->groups[i] = (group_ref){core_strdup(gs[i].file), core_strdup(gs[i].name), order};
    }
    r->ngroups = ng;
    qsort(r->groups, ng, sizeof *r->groups, group_ref_cmp);
    core_arena_destroy(&a);
    return 0;
}

static const rules_group_snap *find_snap(const rules_group_snap *gs, size_t n, const group_ref *g)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(gs[i].file, g->file) == 0 && strcmp(gs[i].name, g->name) == 0) return &gs[i];
    return NULL;
}

/* Compares the alerts of the tests at eval time `t` with the firing alerts
 * right now. */
static void check_alerts(group_run *r, const rules_group_snap *gs, size_t ngs, int64_t t)
{
    const test_group *g = r->g;
    for (size_t ti = 0; ti < g->nalerts; ti++) {
        const alert_test *at = &g->alerts[ti];
        if (at->eval_time != t) continue;
        /* what fires now under that name, in every group */
        size_t ngot = 0, cap = 8;
        la_pair *got = core_calloc(cap, sizeof *got);
        for (size_t gi = 0; gi < r->ngroups; gi++) {
            const rules_group_snap *s = find_snap(gs, ngs, &r->groups[gi]);
            for (size_t ri = 0; s && ri < s->nrules; ri++) {
                const rules_rule_snap *rs = &s->rules[ri];
                if (rs->kind != RULES_ALERTING || strcmp(rs->name, at->alertname) != 0) continue;
                for (size_t k = 0; k < rs->nalerts; k++) {
                    const rules_alert_snap *as = &rs->alerts[k];
                    if (as->state != RULES_STATE_FIRING || as->resolved_at_ms) continue;
                    if (ngot == cap) got = core_reallocarray(got, cap *= 2, sizeof *got);
                    got[ngot++] = (la_pair){core_labels_clone(as->labels),
                                            core_labels_clone(as->annotations)};
                }
            }
        }
        la_pair *exp = core_calloc(at->nexp + 1, sizeof *exp);
        for (size_t k = 0; k < at->nexp; k++) {
            const exp_alert *ea = &at->exp[k];
            core_label *pairs = core_calloc(ea->nlabels + 1, sizeof *pairs);
            size_t np = 0;
            for (size_t j = 0; j < ea->nlabels; j++)
                if (strcmp(ea->labels[j].name, "alertname") != 0) pairs[np++] = ea->labels[j];
            pairs[np++] = (core_label){"alertname", at->alertname};
            exp[k] = (la_pair){core_labels_new(pairs, np), core_labels_new(ea->ann, ea->nann)};
            free(pairs);
        }
        qsort(got, ngot, sizeof *got, la_cmp);
        qsort(exp, at->nexp, sizeof *exp, la_cmp);
        bool equal = ngot == at->nexp;
        for (size_t k = 0; equal && k < ngot; k++)
            equal = core_labels_equal(got[k].labels, exp[k].labels) &&
                    core_labels_equal(got[k].ann, exp[k].ann);
        if (!equal) {
            core_sb msg = CORE_SB_INIT;
            if (*g->name) core_sb_addf(&msg, "    name: %s,\n", g->name);
            core_sb_addf(&msg, "    alertname: %s, time: ", at->alertname);
            dur_str(&msg, at->eval_time);
            if (r->o->diff) {
                core_sb je = CORE_SB_INIT, jg = CORE_SB_INIT;
                la_json(exp, at->nexp, &je);
                la_json(got, ngot, &jg);
                core_sb_adds(&msg, ", \n        diff: ");
                line_diff(&je, &jg, "            ", &msg);
                core_sb_destroy(&je);
                core_sb_destroy(&jg);
            } else {
                core_sb_adds(&msg, ", \n        exp:");
                la_string(exp, at->nexp, "            ", &msg);
                core_sb_adds(&msg, ", \n        got:");
                la_string(got, ngot, "            ", &msg);
            }
            errs_add(r->errs, msg.buf);
            core_sb_destroy(&msg);
        }
        for (size_t k = 0; k < ngot; k++) {
            free(got[k].labels);
            free(got[k].ann);
        }
        for (size_t k = 0; k < at->nexp; k++) {
            free(exp[k].labels);
            free(exp[k].ann);
        }
        free(got);
        free(exp);
    }
}

/* An instant query over the test's storage: 0 with the result (in `a`,
 * labels valid until the view is released), or -1 with err. */
static int instant(group_run *r, const char *q, int64_t t, core_arena *a, pql_storage **view,
                   pql_result *res, core_err *err)
{
    pql_node *n = pql_parse(q, NULL, a, err);
    if (!n) return -1;
    *view = pql_storage_acquire(r->st, err);
    if (!*view) return -1;
    if (pql_eval_instant(*view, &r->engine, n, t, a, res, err) < 0) {
        pql_storage_release(r->st, *view);
        *view = NULL;
        return -1;
    }
    return 0;
}

static void check_expr(group_run *r, const expr_test *et)
{
    core_arena a = {0};
    core_err err = {{0}};
    pql_storage *view = NULL;
    pql_result res;
    core_sb head = CORE_SB_INIT;
    core_sb_adds(&head, "    expr: ");
    quote(&head, et->expr);
    core_sb_adds(&head, ", time: ");
    dur_str(&head, et->eval_time);
    if (instant(r, et->expr, r->mint + et->eval_time, &a, &view, &res, &err) < 0) {
        errs_addf(r->errs, "%s, err: %s", head.buf, err.msg);
        goto out;
    }
    if (res.type != PQL_TYPE_VECTOR && res.type != PQL_TYPE_SCALAR) {
        errs_addf(r->errs, "%s, err: rule result is not a vector or scalar", head.buf);
        goto out;
    }
    core_labels empty = {0};
    size_t ngot = res.type == PQL_TYPE_SCALAR ? 1 : res.nseries;
    got_sample *got = core_calloc(ngot + 1, sizeof *got);
    if (res.type == PQL_TYPE_SCALAR)
        got[0] = (got_sample){&empty, res.scalar, NULL};
    else
        for (size_t i = 0; i < ngot; i++)
            got[i] = (got_sample){res.series[i].labels, res.series[i].pts[0].v, NULL};
    got_sample *exp = core_calloc(et->nexp + 1, sizeof *exp);
    size_t nexp = 0;
    bool bad = false;
    for (size_t i = 0; i < et->nexp && !bad; i++) {
        core_sb msg = CORE_SB_INIT;
        core_labels *ls = parse_metric(et->exp[i].labels, &msg);
        if (ls && *et->exp[i].histogram) {
            core_sb_adds(&msg, "native histograms are not supported");
            free(ls);
            ls = NULL;
        }
        if (!ls) {
            core_sb q = CORE_SB_INIT;
            quote(&q, et->exp[i].labels);
            errs_addf(r->errs, "%s, err: labels %s: %s", head.buf, q.buf, msg.buf);
            core_sb_destroy(&q);
            bad = true;
        } else {
            exp[nexp++] = (got_sample){ls, et->exp[i].value, NULL};
        }
        core_sb_destroy(&msg);
    }
    if (!bad) {
        /* stable: equal label sets keep their order */
        for (size_t i = 1; i < nexp; i++)
            for (size_t k = i; k > 0 && sample_cmp(&exp[k - 1], &exp[k]) > 0; k--) {
                got_sample t = exp[k];
                exp[k] = exp[k - 1];
                exp[k - 1] = t;
            }
        for (size_t i = 1; i < ngot; i++)
            for (size_t k = i; k > 0 && sample_cmp(&got[k - 1], &got[k]) > 0; k--) {
                got_sample t = got[k];
                got[k] = got[k - 1];
                got[k - 1] = t;
            }
        bool equal = nexp == ngot;
        for (size_t i = 0; equal && i < ngot; i++)
            equal = core_labels_equal(exp[i].labels, got[i].labels) &&
                    float_eq(exp[i].v, got[i].v, r->f->fuzzy);
        if (!equal) {
            core_sb msg = CORE_SB_INIT;
            core_sb_addf(&msg, "%s,\n        exp: ", head.buf);
            samples_string(exp, nexp, &msg);
            core_sb_adds(&msg, "\n        got: ");
            samples_string(got, ngot, &msg);
            errs_add(r->errs, msg.buf);
            core_sb_destroy(&msg);
        }
    }
    for (size_t i = 0; i < nexp; i++)
        free((void *)exp[i].labels);
    free(exp);
    free(got);
out:
    if (view) pql_storage_release(r->st, view);
    core_sb_destroy(&head);
    core_arena_destroy(&a);
}

/* --debug: every series loaded or recorded, up to the last eval time. */
static void debug_dump(group_run *r, int64_t max_eval)
{
    int64_t ts = (max_eval + 1000) / 1000 * 1000;
    core_sb q = CORE_SB_INIT, d = CORE_SB_INIT, out = CORE_SB_INIT;
    core_sb_add_go_duration(&d, ts * 1000000);
    core_sb_addf(&q, "{__name__=~\".+\"}[%s]", d.buf);
    core_arena a = {0};
    core_err err = {{0}};
    pql_storage *view = NULL;
    pql_result res;
    if (instant(r, q.buf, r->mint + ts, &a, &view, &res, &err) < 0) {
        core_sb qq = CORE_SB_INIT;
        quote(&qq, q.buf);
        fprintf(stderr, "DEBUG: Failed query exec, expr: %s, err: %s\n", qq.buf, err.msg);
        core_sb_destroy(&qq);
    } else if (res.type != PQL_TYPE_MATRIX) {
        fprintf(stderr, "DEBUG: Got unexpected type %s\n", pql_type_doc_name(res.type));
    } else {
        for (size_t i = 0; i < res.nseries; i++) {
            if (i) core_sb_addc(&out, '\n');
            core_labels_format(res.series[i].labels, &out);
            core_sb_adds(&out, " =>");
            for (size_t k = 0; k < res.series[i].n; k++) {
                core_sb_addc(&out, '\n');
                tool_go_float(&out, res.series[i].pts[k].v, 'f');
                core_sb_addf(&out, " @[%lld]", (long long)res.series[i].pts[k].t);
            }
        }
        fprintf(stderr, "DEBUG: Dump of all data (input_series and rules) at %s:\n%s\n", d.buf,
                out.buf ? out.buf : "");
    }
    if (view) pql_storage_release(r->st, view);
    core_arena_destroy(&a);
    core_sb_destroy(&q);
    core_sb_destroy(&d);
    core_sb_destroy(&out);
}

static int i64_qsort(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The evaluation loop and the checks of one test group. */
static void run_checks(group_run *r, loaded_series *in, size_t nin)
{
    const test_group *g = r->g;
    int64_t max_eval = 0;
    for (size_t i = 0; i < g->nalerts; i++)
        if (g->alerts[i].eval_time > max_eval) max_eval = g->alerts[i].eval_time;
    for (size_t i = 0; i < g->nexprs; i++)
        if (g->exprs[i].eval_time > max_eval) max_eval = g->exprs[i].eval_time;
    for (size_t i = 0; i < g->nalerts; i++)
        if (!*g->alerts[i].alertname) {
            core_sb msg = CORE_SB_INIT;
            core_sb_adds(&msg, "an item under alert_rule_test misses required attribute "
                               "alertname at eval_time ");
            dur_str(&msg, g->alerts[i].eval_time);
            if (*g->name) core_sb_addf(&msg, " (in TestGroup %s)", g->name);
            errs_add(r->errs, msg.buf);
            core_sb_destroy(&msg);
            return;
        }
    int64_t *times = core_calloc(g->nalerts + 1, sizeof *times);
    size_t ntimes = 0;
    for (size_t i = 0; i < g->nalerts; i++)
        times[ntimes++] = g->alerts[i].eval_time;
    qsort(times, ntimes, sizeof *times, i64_qsort);
    size_t uniq = 0;
    for (size_t i = 0; i < ntimes; i++)
        if (uniq == 0 || times[uniq - 1] != times[i]) times[uniq++] = times[i];
    ntimes = uniq;
    size_t curr = 0;
    int64_t maxt = r->mint + max_eval;
    for (int64_t ts = r->mint; ts <= maxt; ts += r->interval) {
        core_err err = {{0}};
        r->now = ts;
        if (append_till(r->db, in, nin, ts, &err) < 0) {
            errs_add(r->errs, err.msg);
        } else {
            for (size_t i = 0; i < r->ngroups; i++)
                rules_manager_eval_group(r->m, r->groups[i].file, r->groups[i].name, ts, &err);
        }
        core_arena a = {0};
        rules_group_snap *gs;
        size_t ngs = rules_manager_groups(r->m, &a, &gs);
        size_t before = r->errs->n;
        for (size_t i = 0; i < r->ngroups; i++) {
            const rules_group_snap *s = find_snap(gs, ngs, &r->groups[i]);
            for (size_t k = 0; s && k < s->nrules; k++) {
                if (!s->rules[k].last_error || !*s->rules[k].last_error) continue;
                core_sb t = CORE_SB_INIT;
                core_sb_add_go_duration(&t, ts * 1000000);
                errs_addf(r->errs, "    rule: %s, time: %s, err: %s", s->rules[k].name, t.buf,
                          s->rules[k].last_error);
                core_sb_destroy(&t);
            }
        }
        if (r->errs->n > before) {
            core_arena_destroy(&a);
            free(times);
            return;
        }
        for (; curr < ntimes && ts - r->mint <= times[curr] &&
               times[curr] < ts + r->interval - r->mint;
             curr++)
            check_alerts(r, gs, ngs, times[curr]);
        core_arena_destroy(&a);
        if (r->interval <= 0) break;
    }
    free(times);
    for (size_t i = 0; i < g->nexprs; i++)
        check_expr(r, &g->exprs[i]);
    if (r->o->debug) debug_dump(r, max_eval);
}

/* Globs the rule files as promtool's resolveAndGlobFilepaths (a pattern
 * matching nothing is warned about); -1 with the error in errs. */
static int glob_rule_files(const test_file *f, char ***files, size_t *n, errlist *errs)
{
    *files = NULL;
    *n = 0;
    for (size_t i = 0; i < f->npatterns; i++) {
        const char *pat = f->rule_patterns[i];
        char **m;
        size_t nm;
        core_err e = {{0}};
        if (rules_glob(&pat, 1, &m, &nm, &e) < 0) {
            errs_add(errs, "syntax error in pattern");
            rules_files_free(*files, *n);
            *files = NULL;
            *n = 0;
            return -1;
        }
        if (nm == 0) {
            fflush(stdout);
            fprintf(stderr, "  WARNING: no file match pattern %s\n", pat);
        }
        *files = core_reallocarray(*files, *n + nm + 1, sizeof **files);
        for (size_t k = 0; k < nm; k++)
            (*files)[(*n)++] = m[k];
        free(m);
    }
    return 0;
}

static void run_group(const test_file *f, const test_group *g, const char *testname, char **files,
                      size_t nfiles, const run_opts *o, errlist *errs)
{
    double t0 = core_monotonic_seconds();
    if (o->debug) fprintf(stderr, "DEBUG: Starting test %s\n", testname);
    group_run r = {.f = f, .g = g, .o = o, .testname = testname, .errs = errs};
    r.interval = f->eval_interval;
    r.mint = g->start_ms;
    r.engine = (pql_engine_opts){.lookback_ms = 5 * CORE_MS_PER_MINUTE,
                                 .max_samples = 10000,
                                 .subquery_step_ms = f->eval_interval};
    loaded_series *in = NULL;
    size_t nin = 0;
    char dir[4096] = "";
    if (load_series(f, g, r.mint, g->interval ? g->interval : f->eval_interval, &in, &nin, errs) <
        0)
        goto out;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/prom-tool-rules-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        errs_addf(errs, "mkdtemp %s: %s", dir, strerror(errno));
        dir[0] = '\0';
        goto out;
    }
    core_err err = {{0}};
    tsdb_db_opts dbo = {.wal_disabled = true};
    r.db = tsdb_db_open(dir, &dbo, &err);
    if (!r.db) {
        errs_add(errs, err.msg);
        goto out;
    }
    r.ts = pql_tsdb_storage_db(r.db);
    r.st = pql_tsdb_storage_iface(r.ts);
    rules_manager_opts mo = {.db = r.db,
                             .storage = r.st,
                             .engine = r.engine,
                             .external_url = g->external_url,
                             .manual = true,
                             .clock = fake_clock,
                             .clock_ctx = &r.now};
    r.m = rules_manager_new(&mo, &err);
    if (!r.m) {
        errs_add(errs, err.msg);
        goto out;
    }
    if (load_rules(&r, files, nfiles) == 0) run_checks(&r, in, nin);
out:
    if (r.m) rules_manager_free(r.m);
    if (r.ts) pql_tsdb_storage_free(r.ts);
    if (r.db) {
        core_err e = {{0}};
        tsdb_db_close(r.db, &e);
    }
    if (dir[0]) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < r.ngroups; i++) {
        free((void *)r.groups[i].file);
        free((void *)r.groups[i].name);
    }
    free(r.groups);
    loaded_free(in, nin);
    if (o->debug) {
        core_sb d = CORE_SB_INIT;
        core_sb_add_go_duration(&d, (int64_t)((core_monotonic_seconds() - t0) * 1e9));
        fprintf(stderr, "DEBUG: Test %s finished, took %s\n", testname, d.buf);
        core_sb_destroy(&d);
    }
}

/* ---- JUnit XML (upstream's util/junitxml) */

typedef struct junit_case {
    char *name;
    errlist failures;
    char *error;
} junit_case;

typedef struct junit_suite {
    char *name, *timestamp;
    junit_case *cases;
    size_t ncases;
    size_t failures, errors;
} junit_suite;

static junit_case *junit_add_case(junit_suite *s, const char *name)
{
    s->cases = core_reallocarray(s->cases, s->ncases + 1, sizeof *s->cases);
    junit_case *c = &s->cases[s->ncases++];
    memset(c, 0, sizeof *c);
    c->name = core_strdup(name);
    return c;
}

static void junit_abort(junit_suite *s, const char *msg)
{
    s->errors++;
    junit_case *c = s->ncases ? &s->cases[s->ncases - 1] : junit_add_case(s, "unknown");
    free(c->error);
    c->error = core_strdup(msg);
}

/* encoding/xml's EscapeText. */
static void xml_escape(core_sb *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '"': core_sb_adds(sb, "&#34;"); break;
        case '\'': core_sb_adds(sb, "&#39;"); break;
        case '&': core_sb_adds(sb, "&amp;"); break;
        case '<': core_sb_adds(sb, "&lt;"); break;
        case '>': core_sb_adds(sb, "&gt;"); break;
        case '\t': core_sb_adds(sb, "&#x9;"); break;
        case '\n': core_sb_adds(sb, "&#xA;"); break;
        case '\r': core_sb_adds(sb, "&#xD;"); break;
        default:
            if ((unsigned char)*s < 0x20)
                core_sb_adds(sb, "\xef\xbf\xbd");
            else
                core_sb_addc(sb, *s);
        }
    }
}

static void junit_write(FILE *out, junit_suite *suites, size_t n)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "<testsuites>");
    for (size_t i = 0; i < n; i++) {
        junit_suite *s = &suites[i];
        core_sb_adds(&sb, "<testsuite name=\"");
        xml_escape(&sb, s->name);
        core_sb_addf(&sb,
                     "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" "
                     "timestamp=\"",
                     s->ncases, s->failures, s->errors);
        xml_escape(&sb, s->timestamp ? s->timestamp : "");
        core_sb_adds(&sb, "\">");
        for (size_t k = 0; k < s->ncases; k++) {
            junit_case *c = &s->cases[k];
            core_sb_adds(&sb, "<testcase name=\"");
            xml_escape(&sb, c->name);
            core_sb_adds(&sb, "\">");
            for (size_t j = 0; j < c->failures.n; j++) {
                core_sb_adds(&sb, "<failure>");
                xml_escape(&sb, c->failures.v[j]);
                core_sb_adds(&sb, "</failure>");
            }
            if (c->error) {
                core_sb_adds(&sb, "<error>");
                xml_escape(&sb, c->error);
                core_sb_adds(&sb, "</error>");
            }
            core_sb_adds(&sb, "</testcase>");
        }
        core_sb_adds(&sb, "</testsuite>");
    }
    core_sb_adds(&sb, "</testsuites>");
    fwrite(sb.buf, 1, sb.len, out);
    core_sb_destroy(&sb);
}

static void junit_free(junit_suite *suites, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < suites[i].ncases; k++) {
            free(suites[i].cases[k].name);
            free(suites[i].cases[k].error);
            errs_destroy(&suites[i].cases[k].failures);
        }
        free(suites[i].cases);
        free(suites[i].name);
        free(suites[i].timestamp);
    }
    free(suites);
}

/* ---- One file */

static void file_abort(junit_suite *s, errlist *errs, const char *msg)
{
    errs_add(errs, msg);
    junit_abort(s, msg);
}

static void run_file(const char *path, const model_regex *run, const run_opts *o, junit_suite *s,
                     errlist *errs)
{
    test_file f;
    core_err err = {{0}};
    if (test_file_load(&f, path, &err) < 0) {
        file_abort(s, errs, err.msg);
        test_file_free(&f);
        return;
    }
    char **files;
    size_t nfiles;
    errlist gerrs = {0};
    if (glob_rule_files(&f, &files, &nfiles, &gerrs) < 0) {
        file_abort(s, errs, gerrs.v[0]);
        errs_destroy(&gerrs);
        test_file_free(&f);
        return;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
    s->timestamp = core_strdup(stamp);
    for (size_t i = 0; i < f.norder; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(f.order[i], f.order[k]) == 0) {
                core_sb msg = CORE_SB_INIT;
                core_sb_addf(&msg, "group name repeated in evaluation order: %s", f.order[i]);
                file_abort(s, errs, msg.buf);
                core_sb_destroy(&msg);
                goto out;
            }
    for (size_t i = 0; i < f.ntests; i++) {
        const test_group *g = &f.tests[i];
        if (run && !model_regex_match(run, g->name, strlen(g->name))) continue;
        core_sb name = CORE_SB_INIT;
        if (*g->name)
            core_sb_adds(&name, g->name);
        else
            core_sb_addf(&name, "unnamed#%zu", i);
        junit_case *c = junit_add_case(s, name.buf);
        errlist ge = {0};
        run_group(&f, g, name.buf, files, nfiles, o, &ge);
        for (size_t k = 0; k < ge.n; k++) {
            errs_add(&c->failures, ge.v[k]);
            s->failures++;
            errs_add(errs, ge.v[k]);
        }
        errs_destroy(&ge);
        core_sb_destroy(&name);
    }
out:
    rules_files_free(files, nfiles);
    test_file_free(&f);
}

int tool_test_rules(const tool_cmd *cmd, int argc, char **argv)
{
    bool debug = false, diff = false, ignore_unknown = false;
    const char *junit = NULL;
    core_strlist runs = {0}, files = {0};
    core_flag flags[] = {
        {"run", CORE_FLAG_LIST, &runs, NULL,
         "If set, will only run test groups whose names match the regular expression. Can be "
         "specified multiple times.",
         false},
        {"debug", CORE_FLAG_BOOL, &debug, NULL, "Enable unit test debugging.", false},
        {"diff", CORE_FLAG_BOOL, &diff, NULL,
         "[Experimental] Print colored differential output between expected & received output.",
         false},
        {"ignore-unknown-fields", CORE_FLAG_BOOL, &ignore_unknown, NULL,
         "Ignore unknown fields in the test files. This is useful when you want to extend rule "
         "files with custom metadata. Ensure that those fields are removed before loading them "
         "into the Prometheus server as it performs strict checks by default.",
         false},
        /* the test group's flag */
        {"junit", CORE_FLAG_STRING, &junit, NULL, "File path to store JUnit XML test results.",
         false},
    };
    tool_short shorts[] = {{0, NULL}};
    tool_arg args[] = {
        {"test-rule-file", "The unit test file.", NULL, NULL, true, &files},
    };
    tool_spec spec = {flags, TOOL_COUNT(flags), shorts, 0, args, TOOL_COUNT(args), 0};
    int status;
    model_regex *run = NULL;
    FILE *jout = NULL;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) goto done;
    status = 1;
    if (!tool_existing_files(&files)) goto done;
    if (junit) {
        jout = fopen(junit, "w");
        if (!jout) {
            tool_usage_error("open %s: %s", junit, strerror(errno));
            goto done;
        }
    }
    if (runs.len) {
        core_sb pat = CORE_SB_INIT, wrapped = CORE_SB_INIT;
        for (size_t i = 0; i < runs.len; i++)
            core_sb_addf(&pat, "%s%s", i ? "|" : "", runs.v[i]);
        core_err err = {{0}};
        model_regex *check = model_regex_new(pat.buf, &err);
        if (check) {
            /* MatchString finds the pattern anywhere in the name */
            core_sb_addf(&wrapped, ".*(?:%s).*", pat.buf);
            run = model_regex_new(wrapped.buf, &err);
        }
        model_regex_free(check);
        core_sb_destroy(&pat);
        core_sb_destroy(&wrapped);
        if (!run) {
            fprintf(stderr, "%s\n", err.msg);
            goto done;
        }
    }
    run_opts o = {.debug = debug, .diff = diff, .ignore_unknown = ignore_unknown};
    /* upstream's rule manager logs nothing here (a no-op logger): template
     * expansion failures show in the alerts' text */
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) core_log_set_fd(devnull);
    junit_suite *suites = core_calloc(files.len + 1, sizeof *suites);
    bool failed = false;
    for (size_t i = 0; i < files.len; i++) {
        suites[i].name = core_strdup(files.v[i]);
        errlist errs = {0};
        run_file(files.v[i], run, &o, &suites[i], &errs);
        fflush(stdout);
        if (errs.n) {
            failed = true;
            fprintf(stderr, "  FAILED:\n");
            for (size_t k = 0; k < errs.n; k++) {
                fprintf(stderr, "%s\n", errs.v[k]);
                fflush(stderr);
                printf("\n");
                fflush(stdout);
            }
        } else {
            printf("  SUCCESS\n");
        }
        printf("\n");
        fflush(stdout);
        errs_destroy(&errs);
    }
    if (devnull >= 0) {
        core_log_set_fd(2);
        close(devnull);
    }
    if (jout) junit_write(jout, suites, files.len);
    junit_free(suites, files.len);
    status = failed ? 1 : 0;
done:
    if (jout && fclose(jout) != 0)
        fprintf(stderr, "failed to write JUnit XML: %s\n", strerror(errno));
    model_regex_free(run);
    core_strlist_destroy(&runs);
    core_strlist_destroy(&files);
    return status;
}
