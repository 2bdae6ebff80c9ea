/*
 * family.c - metrics and metric families as the store keeps them.
 *
 * Memory is what a pushgateway holding many groups spends, so a metric is a
 * single allocation: a 24-byte header (value or sum, sample count, sizes),
 * its buckets or quantiles, then its labels sorted by name as
 * "name\0value\0name\0value\0".  No pointer per label, no per-label
 * allocation; a typical pushed series of four labels takes ~80 bytes where
 * upstream's protobuf structs take several hundred.  Reading a label walks
 * the string, which is cheap for the handful of labels a series has.
 *
 * Order and identity follow client_golang: metrics sort by label count, then
 * by label values pairwise (internal.metricSorter); a series' identity for
 * the duplicate check is its family name plus its sorted label pairs.
 */
#include "pushgateway/pushgateway.h"

#include <stdlib.h>
#include <string.h>

const char *pgw_type_name(pgw_type t)
{
    static const char *const names[] = {"counter", "gauge", "summary", "untyped", "histogram"};
    return (unsigned)t <= PGW_HISTOGRAM ? names[t] : "untyped";
}

const char *pgw_type_upper(pgw_type t)
{
    static const char *const names[] = {"COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM"};
    return (unsigned)t <= PGW_HISTOGRAM ? names[t] : "UNTYPED";
}

/* ---- Metrics */

pgw_metric *pgw_metric_new(const core_label *labels, size_t n_labels, double value, uint64_t count,
                           const pgw_point *points, size_t n_points)
{
    size_t len = 0;
    for (size_t i = 0; i < n_labels; i++)
        len += strlen(labels[i].name) + strlen(labels[i].value) + 2;
    pgw_metric *m = core_malloc(sizeof *m + n_points * sizeof *points + len);
    m->value = value;
    m->count = count;
    m->labels_len = (uint32_t)len;
    m->n_labels = (uint16_t)n_labels;
    m->n_points = (uint16_t)n_points;
    if (n_points > 0) memcpy(m->points, points, n_points * sizeof *points);
    char *p = (char *)(m->points + n_points);
    for (size_t i = 0; i < n_labels; i++) {
        size_t nl = strlen(labels[i].name) + 1, vl = strlen(labels[i].value) + 1;
        memcpy(p, labels[i].name, nl);
        memcpy(p + nl, labels[i].value, vl);
        p += nl + vl;
    }
    return m;
}

const char *pgw_metric_label(const pgw_metric *m, const char *name)
{
    const char *p = pgw_metric_labels(m);
    for (size_t i = 0; i < m->n_labels; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, name) == 0) return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

int pgw_metric_cmp(const pgw_metric *a, const pgw_metric *b)
{
    if (a->n_labels != b->n_labels) return a->n_labels < b->n_labels ? -1 : 1;
    const char *pa = pgw_metric_labels(a), *pb = pgw_metric_labels(b);
    for (size_t i = 0; i < a->n_labels; i++) {
        pa += strlen(pa) + 1;
        pb += strlen(pb) + 1;
        int c = strcmp(pa, pb);
        if (c != 0) return c;
        pa += strlen(pa) + 1;
        pb += strlen(pb) + 1;
    }
    size_t n = a->labels_len < b->labels_len ? a->labels_len : b->labels_len;
    int c = memcmp(pgw_metric_labels(a), pgw_metric_labels(b), n);
    if (c != 0) return c;
    return a->labels_len < b->labels_len ? -1 : a->labels_len > b->labels_len;
}

uint64_t pgw_metric_hash(const char *family, const pgw_metric *m)
{
    return core_hash_seeded(pgw_metric_labels(m), m->labels_len, core_hash_str(family));
}

/* ---- Families */

pgw_family *pgw_family_new(const char *name, const char *help, pgw_type type)
{
    pgw_family *f = core_calloc(1, sizeof *f);
    f->name = core_strdup(name);
    f->help = help != NULL ? core_strdup(help) : NULL;
    f->type = type;
    return f;
}

void pgw_family_add(pgw_family *f, pgw_metric *m)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->m = core_reallocarray(f->m, f->cap, sizeof *f->m);
    }
    f->m[f->n++] = m;
}

void pgw_family_free(pgw_family *f)
{
    if (f == NULL) return;
    for (size_t i = 0; i < f->n; i++)
        free(f->m[i]);
    free(f->m);
    free(f->name);
    free(f->help);
    free(f);
}
