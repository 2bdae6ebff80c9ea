/*
 * expo.c - what readers see: /metrics text and the /api/v1/metrics JSON.
 *
 * /metrics is every group's families merged by name (upstream's
 * GetMetricFamilies plus prometheus.Gatherers) beside the gateway's own
 * families, all sorted by name, each family's metrics sorted as
 * client_golang sorts them, written as expfmt's MetricFamilyToText writes:
 * HELP only when the family has help, labels in stored (sorted) order, le
 * and quantile last, floats in Go's shortest 'g' form, a +Inf bucket added
 * when a histogram lacks one.  The pushed families are written straight from
 * the store into the response, without going through libprom's emitter: a
 * merged family's metrics may carry different label names (groups with
 * different grouping labels), which libprom's families cannot express, and
 * copying 300,000 series into an emitter would double the cost of a scrape.
 * libprom renders the gateway's own metrics; they are split into families
 * and merged in by name (pushes of those names are refused, so the two sets
 * never share a name).  When two groups disagree on a family's help, the
 * help of the family listed first in the name index is written (upstream
 * takes whichever group its map yields first).
 */
#include "pushgateway/pushgateway.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Own families */

/* The family a "# HELP name" / "# TYPE name" line names, or an empty slice. */
static size_t comment_name(const char *line, size_t len, const char **name)
{
    if (len < 8 || (memcmp(line, "# HELP ", 7) != 0 && memcmp(line, "# TYPE ", 7) != 0)) return 0;
    *name = line + 7;
    size_t n = 0;
    while (7 + n < len && line[7 + n] != ' ')
        n++;
    return n;
}

pgw_block *pgw_blocks_split(const char *text, size_t len, size_t *n_out)
{
    size_t n = 0, cap = 16;
    pgw_block *v = core_mallocarray(cap, sizeof *v);
    const char *cur = NULL;
    size_t cur_len = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        const char *name;
        size_t nn = comment_name(text + pos, ll, &name);
        if (nn > 0 && (cur == NULL || nn != cur_len || memcmp(name, cur, nn) != 0)) {
            if (n == cap) v = core_reallocarray(v, cap *= 2, sizeof *v);
            v[n++] = (pgw_block){core_strndup(name, nn), text + pos, 0};
            cur = name;
            cur_len = nn;
        }
        pos += ll + (nl != NULL);
        if (n > 0) v[n - 1].len = (size_t)(text + pos - v[n - 1].text);
    }
    *n_out = n;
    return v;
}

void pgw_blocks_free(pgw_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)b[i].name);
    free(b);
}

/* ---- Text */

static void add_float(core_sb *out, double v)
{
    char buf[MODEL_FLOAT_BUFSZ];
    if (v == 0) { /* Go writes -0 as 0 */
        core_sb_addc(out, '0');
        return;
    }
    core_sb_add(out, buf, model_format_float(v, buf));
}

static void add_escaped(core_sb *out, const char *s, const char *special)
{
    for (;;) {
        size_t n = strcspn(s, special);
        core_sb_add(out, s, n);
        s += n;
        if (*s == '\0') return;
        core_sb_addc(out, '\\');
        core_sb_addc(out, *s == '\n' ? 'n' : *s);
        s++;
    }
}

/* name suffix{labels[,extra="v"]} value\n */
static void add_line(core_sb *out, const char *name, const char *suffix, const pgw_metric *m,
                     const char *extra, double extra_v, double value)
{
    core_sb_adds(out, name);
    core_sb_adds(out, suffix);
    const char *p = pgw_metric_labels(m);
    char sep = '{';
    for (size_t i = 0; i < m->n_labels; i++) {
        size_t nl = strlen(p);
        core_sb_addc(out, sep);
        core_sb_add(out, p, nl);
        core_sb_add(out, "=\"", 2);
        p += nl + 1;
        add_escaped(out, p, "\\\"\n");
        core_sb_addc(out, '"');
        p += strlen(p) + 1;
        sep = ',';
    }
    if (extra != NULL) {
        core_sb_addc(out, sep);
        core_sb_adds(out, extra);
        core_sb_add(out, "=\"", 2);
        add_float(out, extra_v);
        core_sb_addc(out, '"');
        sep = ',';
    }
    if (sep == ',') core_sb_addc(out, '}');
    core_sb_addc(out, ' ');
    add_float(out, value);
    core_sb_addc(out, '\n');
}

static void add_metric(core_sb *out, const char *name, pgw_type type, const pgw_metric *m)
{
    if (type == PGW_SUMMARY) {
        for (size_t i = 0; i < m->n_points; i++)
            add_line(out, name, "", m, "quantile", m->points[i].key, m->points[i].value);
    } else if (type == PGW_HISTOGRAM) {
        bool inf = false;
        for (size_t i = 0; i < m->n_points; i++) {
            add_line(out, name, "_bucket", m, "le", m->points[i].key, (double)m->points[i].count);
            inf = inf || (isinf(m->points[i].key) && m->points[i].key > 0);
        }
        if (!inf) add_line(out, name, "_bucket", m, "le", INFINITY, (double)m->count);
    } else {
        add_line(out, name, "", m, NULL, 0, m->value);
        return;
    }
    add_line(out, name, "_sum", m, NULL, 0, m->value);
    add_line(out, name, "_count", m, NULL, 0, (double)m->count);
}

void pgw_expo_family_text(const char *name, const char *help, pgw_type type, pgw_metric *const *m,
                          size_t n, core_sb *out)
{
    if (help != NULL) {
        core_sb_addf(out, "# HELP %s ", name);
        add_escaped(out, help, "\\\n");
        core_sb_addc(out, '\n');
    }
    core_sb_addf(out, "# TYPE %s %s\n", name, pgw_type_name(type));
    for (size_t i = 0; i < n; i++)
        add_metric(out, name, type, m[i]);
}

static int cmp_metric(const void *a, const void *b)
{
    return pgw_metric_cmp(*(pgw_metric *const *)a, *(pgw_metric *const *)b);
}

typedef struct mvec {
    pgw_metric **v;
    size_t n, cap;
} mvec;

static void write_name(const pgw_name *ne, mvec *mv, core_sb *out)
{
    mv->n = 0;
    for (size_t i = 0; i < ne->n; i++) {
        const pgw_family *f = ne->fams[i];
        if (mv->n + f->n > mv->cap) {
            mv->cap = (mv->n + f->n) * 2;
            mv->v = core_reallocarray(mv->v, mv->cap, sizeof *mv->v);
        }
        memcpy(mv->v + mv->n, f->m, f->n * sizeof *f->m);
        mv->n += f->n;
    }
    if (mv->n == 0) return;
    qsort(mv->v, mv->n, sizeof *mv->v, cmp_metric);
    pgw_expo_family_text(ne->name, ne->fams[0]->help, ne->type, mv->v, mv->n, out);
}

void pgw_expo_text(pgw_store *s, const pgw_block *own, size_t n_own, core_sb *out)
{
    mvec mv = {0};
    pgw_store_rdlock(s);
    size_t n;
    pgw_name **names = pgw_store_names(s, &n);
    size_t i = 0, j = 0;
    while (i < n || j < n_own) {
        if (j < n_own && (i == n || strcmp(own[j].name, names[i]->name) < 0)) {
            core_sb_add(out, own[j].text, own[j].len);
            j++;
        } else {
            write_name(names[i++], &mv, out);
        }
    }
    pgw_store_unlock(s);
    free(names);
    free(mv.v);
}

/* ---- JSON */

void pgw_json_time(int64_t ns, core_sb *out)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) frac += 1000000000, secs--;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    core_sb_addf(out, "\"%s", buf);
    if (frac != 0) {
        char f[16];
        snprintf(f, sizeof f, ".%09ld", frac);
        size_t l = strlen(f);
        while (f[l - 1] == '0')
            l--;
        core_sb_add(out, f, l);
    }
    core_sb_adds(out, "Z\"");
}

static void json_str(core_sb *out, const char *s)
{
    core_sb_add_json_str(out, s, strlen(s));
}

/* Go's fmt.Sprint of a float64, as a JSON string. */
static void json_float(core_sb *out, double v)
{
    char buf[MODEL_FLOAT_BUFSZ];
    model_format_float(v, buf);
    json_str(out, buf);
}

static void json_labels(core_sb *out, const pgw_metric *m)
{
    const char *p = pgw_metric_labels(m);
    core_sb_addc(out, '{');
    for (size_t i = 0; i < m->n_labels; i++) {
        const char *v = p + strlen(p) + 1;
        if (i > 0) core_sb_addc(out, ',');
        json_str(out, p);
        core_sb_addc(out, ':');
        json_str(out, v);
        p = v + strlen(v) + 1;
    }
    core_sb_addc(out, '}');
}

typedef struct kv {
    char key[MODEL_FLOAT_BUFSZ];
    char value[MODEL_FLOAT_BUFSZ];
} kv;

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

/* Buckets or quantiles as a JSON object keyed by bound, sorted as Go sorts. */
static void json_points(core_sb *out, const pgw_metric *m, bool counts)
{
    kv *v = core_mallocarray(m->n_points + 1, sizeof *v);
    for (size_t i = 0; i < m->n_points; i++) {
        model_format_float(m->points[i].key, v[i].key);
        if (counts)
            snprintf(v[i].value, sizeof v[i].value, "%llu", (unsigned long long)m->points[i].count);
        else
            model_format_float(m->points[i].value, v[i].value);
    }
    qsort(v, m->n_points, sizeof *v, cmp_kv);
    core_sb_addc(out, '{');
    for (size_t i = 0; i < m->n_points; i++) {
        if (i > 0) core_sb_addc(out, ',');
        json_str(out, v[i].key);
        core_sb_addc(out, ':');
        json_str(out, v[i].value);
    }
    core_sb_addc(out, '}');
    free(v);
}

static void json_metric(core_sb *out, pgw_type type, const pgw_metric *m)
{
    core_sb_addc(out, '{');
    if (type == PGW_SUMMARY || type == PGW_HISTOGRAM) {
        if (type == PGW_HISTOGRAM) {
            core_sb_adds(out, "\"buckets\":");
            json_points(out, m, true);
            core_sb_addc(out, ',');
        }
        core_sb_addf(out, "\"count\":\"%llu\",\"labels\":", (unsigned long long)m->count);
        json_labels(out, m);
        if (type == PGW_SUMMARY) {
            core_sb_adds(out, ",\"quantiles\":");
            json_points(out, m, false);
        }
        core_sb_adds(out, ",\"sum\":");
        json_float(out, m->value);
    } else {
        core_sb_adds(out, "\"labels\":");
        json_labels(out, m);
        core_sb_adds(out, ",\"value\":");
        json_float(out, m->value);
    }
    core_sb_addc(out, '}');
}

static void json_family(core_sb *out, const pgw_family *f)
{
    json_str(out, f->name);
    core_sb_adds(out, ":{\"time_stamp\":");
    pgw_json_time(f->push_ns, out);
    core_sb_addf(out, ",\"type\":\"%s\"", pgw_type_upper(f->type));
    if (f->help != NULL && f->help[0] != '\0') {
        core_sb_adds(out, ",\"help\":");
        json_str(out, f->help);
    }
    core_sb_adds(out, ",\"metrics\":[");
    for (size_t i = 0; i < f->n; i++) {
        if (i > 0) core_sb_addc(out, ',');
        json_metric(out, f->type, f->m[i]);
    }
    core_sb_adds(out, "]}");
}

static void json_group_labels(core_sb *out, const pgw_group *g)
{
    core_sb_adds(out, "\"labels\":{");
    for (size_t i = 0; i < g->labels->len; i++) {
        if (i > 0) core_sb_addc(out, ',');
        json_str(out, g->labels->v[i].name);
        core_sb_addc(out, ':');
        json_str(out, g->labels->v[i].value);
    }
    core_sb_addc(out, '}');
}

/* The group's object, keys sorted as Go's encoding/json sorts a map's. */
static void json_group(core_sb *out, const pgw_group *g)
{
    static const char *const fixed[] = {"labels", "last_push_successful"};
    size_t k = 0;
    core_sb_addc(out, '{');
    for (size_t i = 0; i <= g->n_fams; i++) {
        while (k < 2 && (i == g->n_fams || strcmp(fixed[k], g->fams[i]->name) < 0)) {
            if (out->buf[out->len - 1] != '{') core_sb_addc(out, ',');
            if (k == 0)
                json_group_labels(out, g);
            else
                core_sb_addf(out, "\"last_push_successful\":%s",
                             pgw_group_last_push_ok(g) ? "true" : "false");
            k++;
        }
        if (i == g->n_fams) break;
        if (out->buf[out->len - 1] != '{') core_sb_addc(out, ',');
        json_family(out, g->fams[i]);
    }
    core_sb_addc(out, '}');
}

void pgw_expo_api_metrics(pgw_store *s, core_sb *out)
{
    pgw_store_rdlock(s);
    size_t n;
    pgw_group **groups = pgw_store_groups(s, &n);
    core_sb_addc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) core_sb_addc(out, ',');
        json_group(out, groups[i]);
    }
    core_sb_addc(out, ']');
    pgw_store_unlock(s);
    free(groups);
}
