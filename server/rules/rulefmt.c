/*
 * rulefmt.c - rule files, loaded and checked as Prometheus 3.x's
 * model/rulefmt (promtool check rules and the rule manager use the same
 * checks).
 *
 * Design: two passes, as upstream.  Decoding walks the YAML tree with strict
 * keys and typed fields (durations, integers, string maps); the first error
 * there stops everything, as a yaml.v3 decoding error does upstream.
 * Validation then collects every problem of every group and rule: empty or
 * repeated group names, invalid label names and values, record/alert both or
 * neither given, missing or unparsable expressions (server/promql's parser,
 * with its position), fields a recording rule may not have, invalid metric
 * names, braces in a record name, invalid annotation names, and alert label
 * or annotation templates that do not parse.  Each message is upstream's
 * text; ours always starts with file:line:col (upstream gives no position
 * for label errors, and 0:0 for a missing field).
 *
 * Everything decoded lives in the file's arena; the YAML document is freed
 * before returning.
 */
#define _GNU_SOURCE
#include "rules/internal.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    const core_yaml_doc *doc;
    rules_file *f;
    const rules_parse_opts *o;
    core_err *err;
    core_sb *all;
    size_t nerrs;
} ctx;

/* Records one validation error (already positioned). */
static void add_error(ctx *c, const char *msg)
{
    if (c->nerrs == 0 && c->err) core_err_set(c->err, "%s", msg);
    if (c->all) {
        core_sb_adds(c->all, msg);
        core_sb_addc(c->all, '\n');
    }
    c->nerrs++;
}

static void add_errorf(ctx *c, const core_yaml_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_errorf(ctx *c, const core_yaml_node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[CORE_ERR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core_err e = {{0}};
    core_yaml_errorf(c->doc, at, &e, "%s", msg);
    add_error(c, e.msg);
}

static const char *kind_name(core_yaml_kind k)
{
    return k == CORE_YAML_SCALAR ? "a scalar" : k == CORE_YAML_SEQ ? "a sequence" : "a mapping";
}

static bool utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = model_utf8_decode(s + i, n - i, &r);
        if (w == 0) return false;
        i += w;
    }
    return true;
}

static void quoted(core_sb *sb, const char *s)
{
    core_sb_add_quoted(sb, s, strlen(s));
}

/* ---- Decoding */

/* A mapping of strings (labels, annotations).  Positions of keys and values
 * are kept for messages. */
typedef struct strmap {
    core_label *v;
    const core_yaml_node **keys, **vals;
    size_t n;
} strmap;

static int decode_strmap(ctx *c, const core_yaml_node *node, const char *what, strmap *out)
{
    memset(out, 0, sizeof *out);
    if (core_yaml_is_null(node)) return 0;
    if (node->kind != CORE_YAML_MAP)
        return core_yaml_errorf(c->doc, node, c->err, "expected a mapping for %s, got %s", what,
                                kind_name(node->kind));
    core_arena *a = &c->f->arena;
    out->v = core_arena_calloc(a, node->n + 1, sizeof *out->v);
    out->keys = core_arena_calloc(a, node->n + 1, sizeof *out->keys);
    out->vals = core_arena_calloc(a, node->n + 1, sizeof *out->vals);
    for (size_t i = 0; i < node->n; i++) {
        const core_yaml_node *k = node->items[2 * i], *v = node->items[2 * i + 1];
        if (k->kind != CORE_YAML_SCALAR)
            return core_yaml_errorf(c->doc, k, c->err, "expected a scalar key in %s, got %s", what,
                                    kind_name(k->kind));
        for (size_t j = 0; j < i; j++) {
            const core_yaml_node *p = node->items[2 * j];
            if (p->len == k->len && memcmp(p->value, k->value, k->len) == 0) {
                core_sb q = CORE_SB_INIT;
                core_sb_add_quoted(&q, k->value, k->len);
                core_yaml_errorf(c->doc, k, c->err, "mapping key %s already defined at line %d",
                                 q.buf, p->line);
                core_sb_destroy(&q);
                return -1;
            }
        }
        const char *val;
        if (core_yaml_str(c->doc, v, what, &val, c->err) < 0) return -1;
        out->v[out->n] = (core_label){core_arena_strdup(a, k->value), core_arena_strdup(a, val)};
        out->keys[out->n] = k;
        out->vals[out->n] = v;
        out->n++;
    }
    return 0;
}

static int decode_duration(ctx *c, const core_yaml_node *node, const char *what, int64_t *ms)
{
    *ms = 0;
    if (core_yaml_is_null(node)) return 0;
    return core_yaml_duration(c->doc, node, what, ms, c->err);
}

static const char *const RULE_KEYS[] = {"record",          "alert",  "expr",        "for",
                                        "keep_firing_for", "labels", "annotations", NULL};
static const char *const GROUP_KEYS[] = {"name",   "interval", "query_offset", "limit", "rules",
                                         "labels", NULL};
static const char *const FILE_KEYS[] = {"groups", NULL};

/* What validation needs besides the decoded rule: where things were. */
typedef struct rule_nodes {
    const core_yaml_node *map, *record, *alert, *expr;
    strmap labels, annotations;
} rule_nodes;

typedef struct group_nodes {
    const core_yaml_node *map, *name;
    strmap labels;
    rule_nodes *rules;
} group_nodes;

static int decode_rule(ctx *c, const core_yaml_node *node, rules_rule_def *r, rule_nodes *rn)
{
    if (!c->o->ignore_unknown_fields &&
        core_yaml_check_keys(c->doc, node, RULE_KEYS, "rule", c->err) < 0)
        return -1;
    if (core_yaml_is_null(node) || node->kind != CORE_YAML_MAP)
        return core_yaml_errorf(c->doc, node, c->err, "expected a mapping for rule, got %s",
                                node ? kind_name(node->kind) : "null");
    core_arena *a = &c->f->arena;
    rn->map = node;
    rn->record = core_yaml_get(node, "record");
    rn->alert = core_yaml_get(node, "alert");
    rn->expr = core_yaml_get(node, "expr");
    const char *record, *alert, *expr;
    if (core_yaml_str(c->doc, rn->record, "record", &record, c->err) < 0 ||
        core_yaml_str(c->doc, rn->alert, "alert", &alert, c->err) < 0 ||
        core_yaml_str(c->doc, rn->expr, "expr", &expr, c->err) < 0)
        return -1;
    if (decode_duration(c, core_yaml_get(node, "for"), "for", &r->for_ms) < 0 ||
        decode_duration(c, core_yaml_get(node, "keep_firing_for"), "keep_firing_for",
                        &r->keep_firing_for_ms) < 0)
        return -1;
    if (decode_strmap(c, core_yaml_get(node, "labels"), "labels", &rn->labels) < 0 ||
        decode_strmap(c, core_yaml_get(node, "annotations"), "annotations", &rn->annotations) < 0)
        return -1;
    r->kind = alert[0] ? RULES_ALERTING : RULES_RECORDING;
    r->name = core_arena_strdup(a, alert[0] ? alert : record);
    r->expr = core_arena_strdup(a, expr);
    r->labels = core_labels_new_in(a, rn->labels.v, rn->labels.n);
    r->annotations = core_labels_new_in(a, rn->annotations.v, rn->annotations.n);
    r->line = node->line;
    r->col = node->col;
    r->expr_line = rn->expr ? rn->expr->line : node->line;
    r->expr_col = rn->expr ? rn->expr->col : node->col;
    return 0;
}

static int decode_group(ctx *c, const core_yaml_node *node, rules_group_def *g, group_nodes *gn)
{
    if (!c->o->ignore_unknown_fields &&
        core_yaml_check_keys(c->doc, node, GROUP_KEYS, "rule group", c->err) < 0)
        return -1;
    if (core_yaml_is_null(node) || node->kind != CORE_YAML_MAP)
        return core_yaml_errorf(c->doc, node, c->err, "expected a mapping for rule group, got %s",
                                node ? kind_name(node->kind) : "null");
    core_arena *a = &c->f->arena;
    gn->map = node;
    gn->name = core_yaml_get(node, "name");
    const char *name;
    if (core_yaml_str(c->doc, gn->name, "name", &name, c->err) < 0) return -1;
    g->name = core_arena_strdup(a, name);
    g->line = node->line;
    g->col = node->col;
    if (decode_duration(c, core_yaml_get(node, "interval"), "interval", &g->interval_ms) < 0)
        return -1;
    const core_yaml_node *qo = core_yaml_get(node, "query_offset");
    if (!core_yaml_is_null(qo)) {
        if (core_yaml_duration(c->doc, qo, "query_offset", &g->query_offset_ms, c->err) < 0)
            return -1;
        g->has_query_offset = true;
    }
    const core_yaml_node *lim = core_yaml_get(node, "limit");
    if (!core_yaml_is_null(lim) && core_yaml_int64(c->doc, lim, "limit", &g->limit, c->err) < 0)
        return -1;
    if (decode_strmap(c, core_yaml_get(node, "labels"), "labels", &gn->labels) < 0) return -1;
    g->labels = core_labels_new_in(a, gn->labels.v, gn->labels.n);
    const core_yaml_node *rules = core_yaml_get(node, "rules");
    if (core_yaml_is_null(rules)) return 0;
    if (rules->kind != CORE_YAML_SEQ)
        return core_yaml_errorf(c->doc, rules, c->err, "expected a sequence for rules, got %s",
                                kind_name(rules->kind));
    g->rules = core_arena_calloc(a, rules->n + 1, sizeof *g->rules);
    gn->rules = core_arena_calloc(a, rules->n + 1, sizeof *gn->rules);
    for (size_t i = 0; i < rules->n; i++) {
        if (decode_rule(c, rules->items[i], &g->rules[i], &gn->rules[i]) < 0) return -1;
        g->nrules++;
    }
    return 0;
}

/* ---- Validation */

static bool metric_name_valid(model_name_scheme s, const char *name)
{
    size_t n = strlen(name);
    if (s == MODEL_NAMES_LEGACY) return core_metric_name_valid(name, n);
    return n > 0 && utf8_valid(name, n);
}

static void check_labels(ctx *c, const strmap *m,
                         void (*report)(ctx *, const core_yaml_node *, const char *, const void *),
                         const void *arg)
{
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->v[i].name, *v = m->v[i].value;
        char msg[CORE_ERR_MAX];
        if (!model_label_name_valid(c->o->names, k, strlen(k)) ||
            strcmp(k, CORE_METRIC_NAME) == 0) {
            snprintf(msg, sizeof msg, "invalid label name: %s", k);
            report(c, m->keys[i], msg, arg);
        }
        if (!utf8_valid(v, strlen(v))) {
            snprintf(msg, sizeof msg, "invalid label value: %s", v);
            report(c, m->vals[i], msg, arg);
        }
    }
}

static void report_plain(ctx *c, const core_yaml_node *at, const char *msg, const void *arg)
{
    (void)arg;
    add_errorf(c, at, "%s", msg);
}

typedef struct rule_ref {
    const rules_group_def *g;
    size_t index;
    const rules_rule_def *r;
} rule_ref;

static void report_rule(ctx *c, const core_yaml_node *at, const char *msg, const void *arg)
{
    const rule_ref *ref = arg;
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "group ");
    quoted(&sb, ref->g->name);
    core_sb_addf(&sb, ", rule %zu, ", ref->index + 1);
    quoted(&sb, ref->r->name);
    core_sb_addf(&sb, ": %s", msg);
    add_errorf(c, at, "%s", sb.buf);
    core_sb_destroy(&sb);
}

static void validate_rule(ctx *c, const rules_group_def *g, size_t i, const rule_nodes *rn)
{
    const rules_rule_def *r = &g->rules[i];
    rule_ref ref = {g, i, r};
    const char *record = "", *alert = "";
    if (rn->record && rn->record->kind == CORE_YAML_SCALAR && !core_yaml_is_null(rn->record))
        record = rn->record->value;
    if (rn->alert && rn->alert->kind == CORE_YAML_SCALAR && !core_yaml_is_null(rn->alert))
        alert = rn->alert->value;
    const core_yaml_node *rec_at = rn->record ? rn->record : rn->map;
    if (record[0] && alert[0])
        report_rule(c, rec_at, "only one of 'record' and 'alert' must be set", &ref);
    if (!record[0] && !alert[0])
        report_rule(c, rn->map, "one of 'record' or 'alert' must be set", &ref);
    if (!r->expr[0]) {
        report_rule(c, rn->expr ? rn->expr : rn->map, "field 'expr' must be set in rule", &ref);
    } else {
        core_arena a = {0};
        core_err e = {{0}};
        if (!pql_parse(r->expr, &c->o->promql, &a, &e)) {
            core_sb msg = CORE_SB_INIT;
            core_sb_addf(&msg, "could not parse expression: %s", e.msg);
            report_rule(c, rn->expr, msg.buf, &ref);
            core_sb_destroy(&msg);
        }
        core_arena_destroy(&a);
    }
    if (record[0]) {
        char msg[CORE_ERR_MAX];
        if (r->annotations->len > 0)
            report_rule(c, rec_at, "invalid field 'annotations' in recording rule", &ref);
        if (r->for_ms != 0) report_rule(c, rec_at, "invalid field 'for' in recording rule", &ref);
        if (r->keep_firing_for_ms != 0)
            report_rule(c, rec_at, "invalid field 'keep_firing_for' in recording rule", &ref);
        if (!metric_name_valid(c->o->names, record)) {
            snprintf(msg, sizeof msg, "invalid recording rule name: %s", record);
            report_rule(c, rec_at, msg, &ref);
        }
        if (strchr(record, '{') || strchr(record, '}')) {
            snprintf(msg, sizeof msg,
                     "braces present in the recording rule name; should it be in expr?: %s",
                     record);
            report_rule(c, rec_at, msg, &ref);
        }
    }
    check_labels(c, &rn->labels, report_rule, &ref);
    for (size_t k = 0; k < rn->annotations.n; k++) {
        const char *name = rn->annotations.v[k].name;
        if (!model_label_name_valid(c->o->names, name, strlen(name))) {
            char msg[CORE_ERR_MAX];
            snprintf(msg, sizeof msg, "invalid annotation name: %s", name);
            report_rule(c, rn->annotations.keys[k], msg, &ref);
        }
    }
    if (!alert[0]) return;
    /* templates of alerting rules must parse */
    const strmap *maps[2] = {&rn->labels, &rn->annotations};
    const char *what[2] = {"label", "annotation"};
    for (int m = 0; m < 2; m++) {
        for (size_t k = 0; k < maps[m]->n; k++) {
            core_err e = {{0}};
            if (rules_tmpl_check_alert(alert, maps[m]->v[k].value, &e) == 0) continue;
            core_sb sb = CORE_SB_INIT;
            core_sb_addf(&sb, "%s ", what[m]);
            quoted(&sb, maps[m]->v[k].name);
            core_sb_addf(&sb, ": %s", e.msg);
            report_rule(c, maps[m]->vals[k], sb.buf, &ref);
            core_sb_destroy(&sb);
        }
    }
}

static void validate(ctx *c, const group_nodes *gns)
{
    rules_file *f = c->f;
    for (size_t j = 0; j < f->ngroups; j++) {
        const rules_group_def *g = &f->groups[j];
        const group_nodes *gn = &gns[j];
        if (!g->name[0]) add_errorf(c, gn->map, "Groupname must not be empty");
        for (size_t k = 0; k < j; k++)
            if (strcmp(f->groups[k].name, g->name) == 0) {
                add_errorf(c, gn->map, "groupname: \"%s\" is repeated in the same file", g->name);
                break;
            }
        check_labels(c, &gn->labels, report_plain, NULL);
        for (size_t i = 0; i < g->nrules; i++)
            validate_rule(c, g, i, &gn->rules[i]);
    }
}

/* ---- Entry points */

rules_file *rules_file_parse(const char *name, const char *text, size_t len,
                             const rules_parse_opts *o, core_err *err, core_sb *all)
{
    rules_parse_opts defaults = {0};
    if (!o) o = &defaults;
    core_err e = {{0}};
    core_yaml_doc *doc = core_yaml_parse(name, text, len, &e);
    if (!doc) {
        core_err_set(err, "%s", e.msg);
        if (all) {
            core_sb_adds(all, e.msg);
            core_sb_addc(all, '\n');
        }
        return NULL;
    }
    rules_file *f = core_calloc(1, sizeof *f);
    f->name = core_arena_strdup(&f->arena, name);
    ctx c = {.doc = doc, .f = f, .o = o, .err = &e, .all = NULL};
    const core_yaml_node *root = core_yaml_root(doc);
    group_nodes *gns = NULL;
    int rc = 0;
    if (!core_yaml_is_null(root)) {
        if (!o->ignore_unknown_fields)
            rc = core_yaml_check_keys(doc, root, FILE_KEYS, "rule file", &e);
        if (rc == 0 && root->kind != CORE_YAML_MAP)
            rc = core_yaml_errorf(doc, root, &e, "expected a mapping for rule file, got %s",
                                  kind_name(root->kind));
        const core_yaml_node *groups = rc == 0 ? core_yaml_get(root, "groups") : NULL;
        if (rc == 0 && !core_yaml_is_null(groups)) {
            if (groups->kind != CORE_YAML_SEQ) {
                rc = core_yaml_errorf(doc, groups, &e, "expected a sequence for groups, got %s",
                                      kind_name(groups->kind));
            } else {
                f->groups = core_arena_calloc(&f->arena, groups->n + 1, sizeof *f->groups);
                gns = core_calloc(groups->n + 1, sizeof *gns);
                for (size_t i = 0; rc == 0 && i < groups->n; i++) {
                    rc = decode_group(&c, groups->items[i], &f->groups[i], &gns[i]);
                    if (rc == 0) f->ngroups++;
                }
            }
        }
    }
    if (rc < 0) {
        core_err_set(err, "%s", e.msg);
        if (all) {
            core_sb_adds(all, e.msg);
            core_sb_addc(all, '\n');
        }
        free(gns);
        core_yaml_free(doc);
        rules_file_free(f);
        return NULL;
    }
    c.err = err;
    c.all = all;
    validate(&c, gns);
    free(gns);
    core_yaml_free(doc);
    if (c.nerrs > 0) {
        rules_file_free(f);
        return NULL;
    }
    return f;
}

rules_file *rules_file_load(const char *path, const rules_parse_opts *o, core_err *err,
                            core_sb *all)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        core_err_set(err, "open %s: %s", path, strerror(errno));
        if (all) core_sb_addf(all, "open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    core_sb text = CORE_SB_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        core_sb_add(&text, buf, n);
    bool bad = ferror(fp);
    int saved = errno;
    fclose(fp);
    if (bad) {
        core_sb_destroy(&text);
        core_err_set(err, "read %s: %s", path, strerror(saved));
        if (all) core_sb_addf(all, "read %s: %s\n", path, strerror(saved));
        return NULL;
    }
    rules_file *f = rules_file_parse(path, text.buf, text.len, o, err, all);
    core_sb_destroy(&text);
    return f;
}

void rules_file_free(rules_file *f)
{
    if (!f) return;
    core_arena_destroy(&f->arena);
    free(f);
}

/* ---- Globs */

/* Whether Go's filepath.Match would refuse the pattern (ErrBadPattern):
 * an unclosed class or a trailing backslash. */
static bool bad_pattern(const char *p)
{
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '\\') {
            if (!p[i + 1]) return true;
            i++;
        } else if (p[i] == '[') {
            size_t j = i + 1;
            if (p[j] == '^') j++;
            if (p[j] == ']') return true; /* an empty class */
            bool closed = false;
            for (; p[j]; j++) {
                if (p[j] == '\\') {
                    if (!p[j + 1]) return true;
                    j++;
                    continue;
                }
                if (p[j] == '-' && (p[j + 1] == ']' || j == i + 1)) return true;
                if (p[j] == ']') {
                    closed = true;
                    break;
                }
            }
            if (!closed) return true;
            i = j;
        }
    }
    return false;
}

int rules_glob(const char *const *patterns, size_t n, char ***out, size_t *nout, core_err *err)
{
    char **files = NULL;
    size_t nf = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (bad_pattern(patterns[i])) {
            rules_files_free(files, nf);
            return core_err_set(err, "error retrieving rule files for %s: syntax error in pattern",
                                patterns[i]);
        }
        glob_t g;
        /* Go's Glob lets * match a leading dot, as GLOB_PERIOD does */
        int rc = glob(patterns[i], GLOB_ERR | GLOB_PERIOD, NULL, &g);
        if (rc == GLOB_NOMATCH || rc == GLOB_ABORTED) continue;
        if (rc != 0) {
            rules_files_free(files, nf);
            return core_err_set(err, "error retrieving rule files for %s: glob failed",
                                patterns[i]);
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            if (nf == cap) {
                cap = cap ? cap * 2 : 8;
                files = core_reallocarray(files, cap, sizeof *files);
            }
            files[nf++] = core_strdup(g.gl_pathv[k]);
        }
        globfree(&g);
    }
    *out = files;
    *nout = nf;
    return 0;
}

void rules_files_free(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}
