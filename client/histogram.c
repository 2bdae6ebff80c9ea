/*
 * histogram.c - histograms, see metrics.h.
 *
 * A child's cells are one range: [seq][sum][bucket 0] ... [bucket n], the last
 * bucket being +Inf.  Buckets are not cumulative in the cells, so an
 * observation touches three words; the count is not stored at all but is the
 * sum of the buckets, so _count always equals the +Inf bucket.  The owning
 * thread brackets its writes with the range's sequence word, so a scrape reads
 * each thread's buckets and sum from the same set of observations.
 */
#include "metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double prom_default_buckets[11] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

typedef struct hist_data {
    size_t n;       /* finite bounds */
    double *bounds; /* n finite bounds, then +Inf */
    /* render scratch (a family renders one child at a time) */
    double *words;
    uint64_t *cumulative;
    pm_exemplar_buf *ex_bufs;
    const pm_exemplar_view **ex_views;
} hist_data;

typedef struct hist_child {
    pm_child base;
    const hist_data *data;
    uint32_t slot;
    _Atomic(_Atomic(pm_exemplar *) *) exemplars; /* n + 1, allocated on first use */
} hist_child;

static uint32_t n_words(const hist_data *d)
{
    return (uint32_t)d->n + 3;
}

static int child_init(pm_family *f, pm_child *c)
{
    hist_child *hc = (hist_child *)c;
    hc->data = f->type_data;
    int64_t slot = pm_slots_alloc(n_words(hc->data));
    if (slot < 0) return pm_error(PROM_ENOMEM, "out of memory for the cells of \"%s\"", f->name);
    hc->slot = (uint32_t)slot;
    return 0;
}

static void child_destroy(pm_family *f, pm_child *c)
{
    hist_child *hc = (hist_child *)c;
    pm_slots_free(hc->slot, n_words(hc->data));
    _Atomic(pm_exemplar *) *ex = atomic_load(&hc->exemplars);
    if (ex != NULL) {
        for (size_t i = 0; i <= hc->data->n; i++)
            pm_exemplar_free(&ex[i]);
        free(ex);
    }
}

/* Reads the child's buckets and sum over every thread into the scratch. */
static void read_child(const hist_child *hc, double *sum, uint64_t *cumulative)
{
    const hist_data *d = hc->data;
    pm_cells_lock();
    pm_cells_sum(hc->slot, n_words(d), true, d->words);
    pm_cells_unlock();
    uint64_t total = 0;
    for (size_t i = 0; i <= d->n; i++) {
        total += (uint64_t)d->words[2 + i];
        if (cumulative != NULL) cumulative[i] = total;
    }
    *sum = d->words[1];
    if (cumulative == NULL) d->words[0] = (double)total; /* for prom_histogram_count */
}

static const pm_exemplar_view *const *read_exemplars(hist_child *hc)
{
    _Atomic(pm_exemplar *) *ex = atomic_load_explicit(&hc->exemplars, memory_order_acquire);
    const hist_data *d = hc->data;
    if (ex == NULL || d->ex_bufs == NULL) return NULL;
    for (size_t i = 0; i <= d->n; i++)
        d->ex_views[i] = pm_exemplar_read(&ex[i], &d->ex_bufs[i]);
    return d->ex_views;
}

static void child_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    hist_child *hc = (hist_child *)c;
    const hist_data *d = hc->data;
    read_child(hc, &v->sum, d->cumulative);
    v->count = d->cumulative[d->n];
    v->n_buckets = d->n + 1;
    v->bounds = d->bounds;
    v->cumulative = d->cumulative;
    v->bucket_exemplars = read_exemplars(hc);
}

static void family_destroy(pm_family *f)
{
    hist_data *d = f->type_data;
    if (d == NULL) return;
    free(d->bounds);
    free(d->words);
    free(d->cumulative);
    free(d->ex_bufs);
    free(d->ex_views);
    free(d);
}

static const pm_type_ops histogram_ops = {
    .type = PROM_HISTOGRAM,
    .child_size = sizeof(hist_child),
    .child_init = child_init,
    .child_destroy = child_destroy,
    .child_view = child_view,
    .family_destroy = family_destroy,
};

static int check_buckets(const char *name, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(b[i]))
            return pm_error(PROM_EINVAL, "histogram \"%s\": bucket %zu is NaN", name, i + 1);
        if (i > 0 && !(b[i] > b[i - 1]))
            return pm_error(PROM_EINVAL,
                            "histogram \"%s\": buckets must be strictly increasing "
                            "(bucket %zu is %g after %g)",
                            name, i + 1, b[i], b[i - 1]);
    }
    if (n + 3 > PM_PAGE_WORDS)
        return pm_error(PROM_EINVAL, "histogram \"%s\": %zu buckets; at most %u are allowed", name,
                        n, PM_PAGE_WORDS - 3);
    return 0;
}

static hist_data *data_new(const double *b, size_t n)
{
    hist_data *d = calloc(1, sizeof *d);
    if (d == NULL) return NULL;
    d->n = n;
    d->bounds = malloc((n + 1) * sizeof *d->bounds);
    d->words = malloc((n + 3) * sizeof *d->words);
    d->cumulative = malloc((n + 1) * sizeof *d->cumulative);
    d->ex_bufs = calloc(n + 1, sizeof *d->ex_bufs);
    d->ex_views = calloc(n + 1, sizeof *d->ex_views);
    if (d->bounds == NULL || d->words == NULL || d->cumulative == NULL || d->ex_bufs == NULL ||
        d->ex_views == NULL) {
        pm_family tmp = {.type_data = d};
        family_destroy(&tmp);
        return NULL;
    }
    if (n > 0) memcpy(d->bounds, b, n * sizeof *b);
    d->bounds[n] = INFINITY;
    return d;
}

prom_histogram *prom_histogram_new(const prom_opts *opts, const double *buckets, size_t n)
{
    if (buckets == NULL) {
        buckets = prom_default_buckets;
        n = PROM_DEFAULT_BUCKETS_COUNT;
    }
    if (n > 0 && isinf(buckets[n - 1]) && buckets[n - 1] > 0) n--; /* +Inf is implied */
    int rc = check_buckets(opts != NULL && opts->name != NULL ? opts->name : "", buckets, n);
    if (rc < 0) return NULL;
    hist_data *d = data_new(buckets, n);
    if (d == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    pm_family *f = pm_family_new(&histogram_ops, opts, "le", d);
    return f != NULL ? pm_family_handle(f) : NULL;
}

prom_histogram *prom_histogram_labels(prom_histogram *family, ...)
{
    va_list ap;
    va_start(ap, family);
    pm_child *c = pm_lookupv(family, ap);
    va_end(ap);
    return (prom_histogram *)c;
}

prom_histogram *prom_histogram_labels_v(prom_histogram *family, const char *const values[],
                                        size_t n)
{
    return (prom_histogram *)pm_lookup(family, values, n);
}

int prom_histogram_remove(prom_histogram *family, const char *const values[], size_t n)
{
    return pm_remove(family, values, n);
}

void prom_histogram_clear(prom_histogram *family)
{
    pm_clear(family);
}

/* The bucket v falls in: the first bound >= v; NaN and values above every
 * bound go to +Inf (index n), as client_golang does.  A branch-free binary
 * search: which bucket a value falls in is what varies from call to call, and
 * a linear scan or a branching search pays a mispredicted branch for it. */
static size_t bucket_of(const hist_data *d, double v)
{
    const double *b = d->bounds, *base = b;
    size_t len = d->n;
    if (PM_UNLIKELY(isnan(v) || len == 0)) return d->n;
    while (len > 1) {
        size_t half = len / 2;
        base = base[half - 1] < v ? base + half : base;
        len -= half;
    }
    return (size_t)(base - b) + (*base < v);
}

static int observe(prom_histogram *h, double v, size_t *bucket)
{
    pm_child *c = pm_child_of(h);
    if (PM_UNLIKELY(c == NULL)) return pm_not_a_child(h, "prom_histogram_observe");
    hist_child *hc = (hist_child *)c;
    size_t i = bucket_of(hc->data, v);
    pm_word *w = pm_cells(hc->slot);
    if (PM_UNLIKELY(w == NULL))
        return pm_error(PROM_ENOMEM, "out of memory for this thread's cells");
    pm_seq_begin(&w[0]);
    pm_word_add(&w[1], v);
    pm_word_add(&w[2 + i], 1.0);
    pm_seq_end(&w[0]);
    if (bucket != NULL) *bucket = i;
    return 0;
}

int prom_histogram_observe(prom_histogram *h, double v)
{
    return observe(h, v, NULL);
}

int prom_histogram_observe_exemplar(prom_histogram *h, double v, const prom_label *labels, size_t n)
{
    int rc = pm_exemplar_check(labels, n);
    size_t bucket;
    if (rc < 0 || (rc = observe(h, v, &bucket)) < 0) return rc;
    hist_child *hc = (hist_child *)h;
    _Atomic(pm_exemplar *) *ex = atomic_load_explicit(&hc->exemplars, memory_order_acquire);
    if (ex == NULL) {
        _Atomic(pm_exemplar *) *fresh = calloc(hc->data->n + 1, sizeof *fresh);
        if (fresh == NULL) return pm_error(PROM_ENOMEM, "out of memory storing an exemplar");
        if (atomic_compare_exchange_strong(&hc->exemplars, &ex, fresh))
            ex = fresh;
        else
            free(fresh); /* another thread was first; ex holds its array */
    }
    return pm_exemplar_store(&ex[bucket], v, labels, n);
}

/* Reads a child for the value accessors, with the family locked so the
 * family's scratch is not shared with a render. */
static double read_total(const prom_histogram *h, bool want_sum)
{
    pm_child *c = pm_child_of((void *)h);
    if (c == NULL) return NAN;
    double sum;
    pthread_mutex_lock(&c->family->lock);
    read_child((const hist_child *)c, &sum, NULL);
    double count = ((const hist_child *)c)->data->words[0];
    pthread_mutex_unlock(&c->family->lock);
    return want_sum ? sum : count;
}

uint64_t prom_histogram_count(const prom_histogram *h)
{
    double v = read_total(h, false);
    return isnan(v) ? 0 : (uint64_t)v;
}

double prom_histogram_sum(const prom_histogram *h)
{
    return read_total(h, true);
}

int prom_buckets_linear(double start, double width, size_t count, double *out)
{
    if (count < 1 || !(width > 0) || out == NULL || !isfinite(start))
        return pm_error(PROM_EINVAL,
                        "prom_buckets_linear: needs count >= 1, width > 0 and an output array");
    for (size_t i = 0; i < count; i++, start += width) /* added up, as upstream: same bounds */
        out[i] = start;
    return 0;
}

int prom_buckets_exponential(double start, double factor, size_t count, double *out)
{
    if (count < 1 || !(start > 0) || !(factor > 1) || out == NULL || !isfinite(start))
        return pm_error(PROM_EINVAL, "prom_buckets_exponential: needs count >= 1, start > 0, "
                                     "factor > 1 and an output array");
    for (size_t i = 0; i < count; i++, start *= factor)
        out[i] = start;
    return 0;
}
