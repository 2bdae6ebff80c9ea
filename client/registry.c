/*
 * registry.c - registries, custom collectors and rendering, see registry.h.
 *
 * A registry is a list of entries, each a family or a collector, with the
 * series names the entry exposes (a histogram "x" exposes x, x_bucket, x_count,
 * x_sum and x_created); a new entry whose names meet an existing entry's names
 * is refused, as client_python refuses "duplicated timeseries".
 *
 * Rendering first runs the collectors, which emit into an emitter that copies
 * everything into its own memory, then writes every family, ours and theirs,
 * in name order.  The registry's mutex is held for the whole render, so a
 * registration waits for a scrape to finish but updates never do.
 */
#include "metric.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *name;
    pm_family *family; /* or a collector: */
    prom_collect_fn collect;
    void *userdata;
    char **exposed; /* series names it may produce */
    size_t n_exposed;
} entry;

struct prom_registry {
    pthread_mutex_t lock;
    entry *entries;
    size_t n, cap;
};

/* ---- Entries and names */

static void entry_free(entry *e)
{
    for (size_t i = 0; i < e->n_exposed; i++)
        free(e->exposed[i]);
    free(e->exposed);
    free(e->name);
    if (e->family != NULL) pm_family_free(e->family);
}

static int add_exposed(entry *e, const char *base, const char *suffix)
{
    size_t bl = strlen(base), sl = strlen(suffix);
    char *s = malloc(bl + sl + 1);
    char **v = realloc(e->exposed, (e->n_exposed + 1) * sizeof *v);
    if (s == NULL || v == NULL) {
        free(s);
        if (v != NULL) e->exposed = v;
        return pm_error(PROM_ENOMEM, "out of memory");
    }
    memcpy(s, base, bl);
    memcpy(s + bl, suffix, sl + 1);
    e->exposed = v;
    e->exposed[e->n_exposed++] = s;
    return 0;
}

/* The series names a family of this type and name shows. */
static int expose_family(entry *e, const char *name, prom_type type)
{
    static const char *const counter[] = {"", "_total", "_created", NULL};
    static const char *const histogram[] = {"", "_bucket", "_count", "_sum", "_created", NULL};
    static const char *const summary[] = {"", "_count", "_sum", "_created", NULL};
    static const char *const info[] = {"", "_info", NULL};
    static const char *const plain[] = {"", NULL};
    const char *const *suffixes = plain;
    char base[512];
    snprintf(base, sizeof base, "%s", name);
    switch (type) {
    case PROM_COUNTER: {
        size_t n = strlen(base);
        if (n > 6 && strcmp(base + n - 6, "_total") == 0) base[n - 6] = '\0';
        suffixes = counter;
        break;
    }
    case PROM_HISTOGRAM: suffixes = histogram; break;
    case PROM_SUMMARY: suffixes = summary; break;
    case PROM_INFO: suffixes = info; break;
    default: break;
    }
    for (size_t i = 0; suffixes[i] != NULL; i++) {
        int rc = add_exposed(e, base, suffixes[i]);
        if (rc < 0) return rc;
    }
    return 0;
}

static const entry *find_clash(const prom_registry *r, const entry *e, const char **which)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->entries[i].name, e->name) == 0) {
            *which = e->name;
            return &r->entries[i];
        }
        for (size_t a = 0; a < e->n_exposed; a++)
            for (size_t b = 0; b < r->entries[i].n_exposed; b++)
                if (strcmp(e->exposed[a], r->entries[i].exposed[b]) == 0) {
                    *which = e->exposed[a];
                    return &r->entries[i];
                }
    }
    return NULL;
}

/* Takes e into r (on failure e is freed, family included). */
static int registry_add(prom_registry *r, entry *e)
{
    pthread_mutex_lock(&r->lock);
    const char *which = NULL;
    const entry *other = find_clash(r, e, &which);
    int rc = 0;
    if (other != NULL) {
        rc = strcmp(other->name, e->name) == 0
                 ? pm_error(PROM_EEXIST, "\"%s\" is already registered", e->name)
                 : pm_error(PROM_EEXIST,
                            "\"%s\" clashes with \"%s\", already registered: both would expose "
                            "series named \"%s\"",
                            e->name, other->name, which);
    } else if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        entry *v = realloc(r->entries, cap * sizeof *v);
        if (v == NULL)
            rc = pm_error(PROM_ENOMEM, "out of memory");
        else
            r->entries = v, r->cap = cap;
    }
    if (rc == 0) r->entries[r->n++] = *e;
    pthread_mutex_unlock(&r->lock);
    if (rc < 0) {
        e->family = NULL; /* the caller frees its family */
        entry_free(e);
    }
    return rc;
}

int pm_registry_add_family(prom_registry *r, pm_family *f)
{
    entry e = {.name = strdup(f->name), .family = f};
    int rc = e.name == NULL ? pm_error(PROM_ENOMEM, "out of memory")
                            : expose_family(&e, f->name, f->ops->type);
    if (rc < 0) {
        e.family = NULL;
        entry_free(&e);
        return rc;
    }
    return registry_add(r, &e);
}

int prom_collector_register(prom_registry *r, const char *name, const char *const families[],
                            size_t n_families, prom_collect_fn fn, void *userdata)
{
    if (r == NULL && (r = prom_registry_default()) == NULL)
        return pm_error(PROM_ENOMEM, "out of memory creating the default registry");
    if (name == NULL || name[0] == '\0' || fn == NULL)
        return pm_error(PROM_EINVAL, "a collector needs a name and a function");
    if (n_families > 0 && families == NULL)
        return pm_error(PROM_EINVAL, "collector \"%s\": %zu families but the array is NULL", name,
                        n_families);
    entry e = {.name = strdup(name), .collect = fn, .userdata = userdata};
    int rc = e.name == NULL ? pm_error(PROM_ENOMEM, "out of memory") : 0;
    for (size_t i = 0; rc == 0 && i < n_families; i++)
        if ((rc = pm_check_metric_name(families[i])) == 0) rc = add_exposed(&e, families[i], "");
    if (rc < 0) {
        entry_free(&e);
        return rc;
    }
    return registry_add(r, &e);
}

/* ---- Registries */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static prom_registry *default_registry;

prom_registry *prom_registry_new(void)
{
    prom_registry *r = calloc(1, sizeof *r);
    if (r == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

prom_registry *prom_registry_default(void)
{
    pthread_mutex_lock(&default_lock);
    if (default_registry == NULL) {
        default_registry = prom_registry_new();
        if (default_registry != NULL) prom_process_collector_register(default_registry);
    }
    prom_registry *r = default_registry;
    pthread_mutex_unlock(&default_lock);
    return r;
}

void prom_registry_free(prom_registry *r)
{
    if (r == NULL) return;
    pthread_mutex_lock(&default_lock);
    if (r == default_registry) default_registry = NULL;
    pthread_mutex_unlock(&default_lock);
    for (size_t i = 0; i < r->n; i++)
        entry_free(&r->entries[i]);
    free(r->entries);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int prom_unregister(prom_registry *r, const char *name)
{
    if (r == NULL && (r = prom_registry_default()) == NULL)
        return pm_error(PROM_ENOMEM, "out of memory creating the default registry");
    if (name == NULL) return pm_error(PROM_EINVAL, "prom_unregister: the name is NULL");
    pthread_mutex_lock(&r->lock);
    size_t i = 0;
    while (i < r->n && strcmp(r->entries[i].name, name) != 0)
        i++;
    entry gone = {0};
    bool found = i < r->n;
    if (found) {
        gone = r->entries[i];
        memmove(&r->entries[i], &r->entries[i + 1], (r->n - i - 1) * sizeof *r->entries);
        r->n--;
    }
    pthread_mutex_unlock(&r->lock);
    if (!found) return pm_error(PROM_ENOENT, "nothing is registered as \"%s\"", name);
    entry_free(&gone);
    return 0;
}

/* ---- The emitter: what collectors emit, copied and kept until rendered */

typedef struct em_metric {
    const char **values; /* in the family's sorted label order */
    double value;
    size_t n_buckets;
    double *bounds;
    uint64_t *cumulative;
    double sum;
    uint64_t count;
    size_t n_quantiles;
    double *quantiles, *qvalues;
} em_metric;

typedef struct em_family {
    pm_family_view view;
    const char **names; /* sorted label names */
    size_t *order;      /* order[k]: index of sorted name k among the given ones */
    em_metric *metrics;
    size_t n, cap;
    bool sorted_ok;
} em_family;

typedef struct mem_block {
    struct mem_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} mem_block;

struct prom_emitter {
    const entry *owner; /* the collector emitting */
    mem_block *mem;
    em_family *families;
    size_t n, cap;
    em_family *cur;
    bool failed;
};

static void *em_alloc(prom_emitter *e, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (e->mem == NULL || e->mem->cap - e->mem->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        mem_block *b = malloc(sizeof *b + cap);
        if (b == NULL) {
            e->failed = true;
            return NULL;
        }
        b->next = e->mem;
        b->used = 0;
        b->cap = cap;
        e->mem = b;
    }
    void *p = e->mem->data + e->mem->used;
    e->mem->used += n;
    return p;
}

static char *em_strdup(prom_emitter *e, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = em_alloc(e, n);
    return d != NULL ? memcpy(d, s, n) : NULL;
}

static void *em_copy(prom_emitter *e, const void *src, size_t n)
{
    void *d = em_alloc(e, n ? n : 1);
    return d != NULL && n > 0 ? memcpy(d, src, n) : d;
}

static void emitter_free(prom_emitter *e)
{
    while (e->mem != NULL) {
        mem_block *b = e->mem;
        e->mem = b->next;
        free(b);
    }
    for (size_t i = 0; i < e->n; i++)
        free(e->families[i].metrics);
    free(e->families);
}

static bool declared(const entry *owner, const char *name)
{
    if (owner->n_exposed == 0) return true; /* an unchecked collector */
    for (size_t i = 0; i < owner->n_exposed; i++)
        if (strcmp(owner->exposed[i], name) == 0) return true;
    return false;
}

static int cmp_str_idx(const void *a, const void *b, void *ctx)
{
    const char *const *names = ctx;
    return strcmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

int prom_emit_family(prom_emitter *e, const char *name, const char *help, prom_type type,
                     const char *unit, const char *const label_names[], size_t n_labels)
{
    e->cur = NULL;
    int rc = pm_check_metric_name(name);
    if (rc < 0) return rc;
    if (!declared(e->owner, name))
        return pm_error(PROM_EINVAL, "collector \"%s\" emitted \"%s\", which it did not declare",
                        e->owner->name, name);
    for (size_t i = 0; i < n_labels; i++)
        if ((rc = pm_check_label_name(label_names[i], NULL)) < 0) return rc;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        em_family *v = realloc(e->families, cap * sizeof *v);
        if (v == NULL) return pm_error(PROM_ENOMEM, "out of memory");
        e->families = v;
        e->cap = cap;
    }
    em_family *f = &e->families[e->n];
    memset(f, 0, sizeof *f);
    f->names = em_alloc(e, (n_labels + 1) * sizeof *f->names);
    f->order = em_alloc(e, (n_labels + 1) * sizeof *f->order);
    f->view.name = em_strdup(e, name);
    f->view.help = em_strdup(e, help != NULL ? help : "");
    f->view.unit = unit != NULL && unit[0] != '\0' ? em_strdup(e, unit) : NULL;
    if (e->failed || f->names == NULL || f->order == NULL)
        return pm_error(PROM_ENOMEM, "out of memory");
    const char **given = em_alloc(e, (n_labels + 1) * sizeof *given);
    for (size_t i = 0; given != NULL && i < n_labels; i++) {
        given[i] = em_strdup(e, label_names[i]);
        f->order[i] = i;
    }
    if (e->failed) return pm_error(PROM_ENOMEM, "out of memory");
    qsort_r(f->order, n_labels, sizeof *f->order, cmp_str_idx, given);
    for (size_t k = 0; k < n_labels; k++)
        f->names[k] = given[f->order[k]];
    f->view.type = type;
    f->view.label_names = f->names;
    f->view.n_labels = n_labels;
    e->n++;
    e->cur = f;
    return 0;
}

/* A new metric of the current family with its label values copied. */
static em_metric *em_metric_new(prom_emitter *e, const char *const values[])
{
    em_family *f = e->cur;
    if (f == NULL) {
        pm_error(PROM_ESTATE, "collector \"%s\": a metric before prom_emit_family", e->owner->name);
        return NULL;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        em_metric *v = realloc(f->metrics, cap * sizeof *v);
        if (v == NULL) {
            pm_error(PROM_ENOMEM, "out of memory");
            return NULL;
        }
        f->metrics = v;
        f->cap = cap;
    }
    em_metric *m = &f->metrics[f->n];
    memset(m, 0, sizeof *m);
    m->values = em_alloc(e, (f->view.n_labels + 1) * sizeof *m->values);
    for (size_t k = 0; m->values != NULL && k < f->view.n_labels; k++) {
        const char *v = values != NULL ? values[f->order[k]] : NULL;
        m->values[k] = v != NULL ? em_strdup(e, v) : NULL; /* NULL: the label is absent */
    }
    if (e->failed || m->values == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    f->n++;
    return m;
}

int prom_emit_value(prom_emitter *e, const char *const label_values[], double value)
{
    em_metric *m = em_metric_new(e, label_values);
    if (m == NULL) return PROM_EINVAL;
    m->value = value;
    return 0;
}

int prom_emit_histogram(prom_emitter *e, const char *const label_values[], const double *bounds,
                        const uint64_t *cumulative, size_t n_buckets, double sum)
{
    if (n_buckets == 0 || bounds == NULL || cumulative == NULL || !isinf(bounds[n_buckets - 1]))
        return pm_error(PROM_EINVAL, "prom_emit_histogram: needs buckets ending with +Inf");
    em_metric *m = em_metric_new(e, label_values);
    if (m == NULL) return PROM_EINVAL;
    m->n_buckets = n_buckets;
    m->bounds = em_copy(e, bounds, n_buckets * sizeof *bounds);
    m->cumulative = em_copy(e, cumulative, n_buckets * sizeof *cumulative);
    m->sum = sum;
    m->count = cumulative[n_buckets - 1];
    return e->failed ? pm_error(PROM_ENOMEM, "out of memory") : 0;
}

int prom_emit_summary(prom_emitter *e, const char *const label_values[], const double *quantiles,
                      const double *values, size_t n_quantiles, double sum, uint64_t count)
{
    if (n_quantiles > 0 && (quantiles == NULL || values == NULL))
        return pm_error(PROM_EINVAL, "prom_emit_summary: quantile arrays are NULL");
    em_metric *m = em_metric_new(e, label_values);
    if (m == NULL) return PROM_EINVAL;
    m->n_quantiles = n_quantiles;
    m->quantiles = em_copy(e, quantiles, n_quantiles * sizeof *quantiles);
    m->qvalues = em_copy(e, values, n_quantiles * sizeof *values);
    m->sum = sum;
    m->count = count;
    return e->failed ? pm_error(PROM_ENOMEM, "out of memory") : 0;
}

/* ---- Rendering */

static int cmp_em_metric(const void *a, const void *b, void *ctx)
{
    size_t n = *(const size_t *)ctx;
    const em_metric *x = a, *y = b;
    for (size_t k = 0; k < n; k++) {
        int c = strcmp(x->values[k] ? x->values[k] : "", y->values[k] ? y->values[k] : "");
        if (c != 0) return c;
    }
    return 0;
}

static void render_em_family(em_family *f, pm_enc *enc)
{
    if (f->n == 0) return; /* no metrics, no family: as client_golang's Gather */
    qsort_r(f->metrics, f->n, sizeof *f->metrics, cmp_em_metric, &f->view.n_labels);
    pm_enc_family_begin(enc, &f->view);
    for (size_t i = 0; i < f->n; i++) {
        const em_metric *m = &f->metrics[i];
        pm_metric_view v = {
            .label_values = m->values,
            .value = m->value,
            .created = NAN,
            .n_buckets = m->n_buckets,
            .bounds = m->bounds,
            .cumulative = m->cumulative,
            .sum = m->sum,
            .count = m->count,
            .n_quantiles = m->n_quantiles,
            .quantiles = m->quantiles,
            .quantile_values = m->qvalues,
        };
        pm_enc_metric(enc, &f->view, &v);
    }
    pm_enc_family_end(enc, &f->view);
}

/* One family to write: ours or a collector's. */
typedef struct item {
    const char *name;
    pm_family *family;
    em_family *emitted;
} item;

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const item *)a)->name, ((const item *)b)->name);
}

static bool wanted(const char *name, const char *const names[], size_t n)
{
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++)
        if (names[i] != NULL && strcmp(names[i], name) == 0) return true;
    return false;
}

/* Runs every collector into e and lists what is to be written (lock held). */
static int gather(prom_registry *r, prom_emitter *e, const char *const names[], size_t n_names,
                  item **out, size_t *n_out)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->entries[i].collect == NULL) continue;
        e->owner = &r->entries[i];
        e->cur = NULL;
        /* A failing collector keeps what it emitted, as upstream's renderers
         * keep going on collector errors. */
        r->entries[i].collect(e, r->entries[i].userdata);
    }
    size_t cap = r->n + e->n + 1, n = 0;
    item *items = malloc(cap * sizeof *items);
    if (items == NULL) return pm_error(PROM_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n; i++)
        if (r->entries[i].family != NULL && wanted(r->entries[i].name, names, n_names))
            items[n++] = (item){r->entries[i].name, r->entries[i].family, NULL};
    for (size_t i = 0; i < e->n; i++)
        if (wanted(e->families[i].view.name, names, n_names))
            items[n++] = (item){e->families[i].view.name, NULL, &e->families[i]};
    qsort(items, n, sizeof *items, cmp_item);
    /* Two families of one name (an unchecked collector may emit anything):
     * the first in order is written, the others are dropped. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(items[k - 1].name, items[i].name) != 0) items[k++] = items[i];
    *out = items;
    *n_out = k;
    return 0;
}

int prom_render(prom_registry *r, prom_format f, const char *const names[], size_t n_names,
                prom_buffer *out)
{
    if (out == NULL) return pm_error(PROM_EINVAL, "prom_render: the output buffer is NULL");
    if (r == NULL && (r = prom_registry_default()) == NULL)
        return pm_error(PROM_ENOMEM, "out of memory creating the default registry");
    if (f != PROM_FORMAT_TEXT && f != PROM_FORMAT_OPENMETRICS && f != PROM_FORMAT_PROTOBUF)
        return pm_error(PROM_EINVAL, "prom_render: unknown format %d", (int)f);
    if (n_names > 0 && names == NULL)
        return pm_error(PROM_EINVAL, "prom_render: %zu names but the array is NULL", n_names);
    out->len = 0;
    pm_buf w = {.b = out};
    pm_enc enc;
    pm_enc_init(&enc, f, &w);
    prom_emitter e = {0};
    item *items = NULL;
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    int rc = gather(r, &e, names, n_names, &items, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (items[i].family != NULL)
            pm_family_render(items[i].family, &enc);
        else
            render_em_family(items[i].emitted, &enc);
    }
    pthread_mutex_unlock(&r->lock);
    pm_enc_finish(&enc);
    free(items);
    emitter_free(&e);
    if (rc == 0 && w.failed) rc = pm_error(PROM_ENOMEM, "out of memory rendering the metrics");
    return rc;
}

/* ---- Negotiation */

static const char *const content_types[] = {
    [PROM_FORMAT_TEXT] = "text/plain; version=0.0.4; charset=utf-8",
    [PROM_FORMAT_OPENMETRICS] = "application/openmetrics-text; version=1.0.0; charset=utf-8",
    [PROM_FORMAT_PROTOBUF] = "application/vnd.google.protobuf; "
                             "proto=io.prometheus.client.MetricFamily; encoding=delimited",
};

const char *prom_content_type(prom_format f)
{
    if ((unsigned)f > PROM_FORMAT_PROTOBUF) f = PROM_FORMAT_TEXT;
    return content_types[f];
}

/* Lower-cases one media range of an Accept header into buf without blanks. */
static bool normalize(const char *range, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (range[i] == ' ' || range[i] == '\t') continue;
        if (n + 1 >= cap) return false;
        buf[n++] = (char)(range[i] >= 'A' && range[i] <= 'Z' ? range[i] + 32 : range[i]);
    }
    buf[n] = '\0';
    return true;
}

/* Does the normalized range name `type` and carry every "k=v" of params? */
static bool range_is(const char *buf, const char *type, const char *const params[])
{
    size_t tl = strlen(type);
    if (strncmp(buf, type, tl) != 0 || (buf[tl] != '\0' && buf[tl] != ';')) return false;
    for (size_t i = 0; params[i] != NULL; i++) {
        const char *p = strstr(buf + tl, params[i]);
        size_t pl = strlen(params[i]);
        if (p == NULL || p[-1] != ';' || (p[pl] != '\0' && p[pl] != ';')) return false;
    }
    return true;
}

/* The range's q parameter (1 when absent). */
static double quality(const char *buf)
{
    const char *q = strstr(buf, ";q=");
    return q != NULL ? strtod(q + 3, NULL) : 1.0;
}

prom_format prom_negotiate(const char *accept)
{
    static const char *const proto_params[] = {"proto=io.prometheus.client.metricfamily",
                                               "encoding=delimited", NULL};
    static const char *const no_params[] = {NULL};
    if (accept == NULL) return PROM_FORMAT_TEXT;
    /* As client_golang: the servable range with the highest q wins, the
     * client's order breaking ties; nothing servable means text. */
    prom_format best = PROM_FORMAT_TEXT;
    double best_q = 0;
    for (const char *p = accept; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char buf[512];
        if (normalize(p, len, buf, sizeof buf)) {
            double q = quality(buf);
            int f = -1;
            if (range_is(buf, "application/vnd.google.protobuf", proto_params))
                f = PROM_FORMAT_PROTOBUF;
            else if (range_is(buf, "application/openmetrics-text", no_params))
                f = PROM_FORMAT_OPENMETRICS;
            else if (range_is(buf, "text/plain", no_params))
                f = PROM_FORMAT_TEXT;
            if (f >= 0 && q > best_q) best = (prom_format)f, best_q = q;
        }
        p += len + (end != NULL);
    }
    return best;
}
