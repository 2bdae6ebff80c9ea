/*
 * summary.c - summaries with streaming quantiles, see metrics.h.
 *
 * The quantiles follow client_golang's design: a child keeps `age_buckets`
 * CKMS streams (Cormode, Korn, Muthukrishnan, Srivastava: "Effective
 * computation of biased quantiles over data streams", targeted variant), each
 * starting one step of max_age/age_buckets later than the one before; the
 * oldest, the "head", answers queries and is reset and moved to the back when
 * its time is up.  Observations are buffered and merged into every stream in a
 * batch when the buffer fills, its time is up, or a scrape comes.
 *
 * Where this differs from client_golang is cost, not results: the batch is
 * sorted once for all streams instead of once per stream, a merge is one
 * linear pass into a fresh array instead of an insertion per sample, and
 * compression walks the array once.  The rank bookkeeping (delta of an
 * inserted sample, the merge condition, the query rule) is the same as in the
 * perks library client_golang uses, so the estimates agree.
 *
 * Everything of a child is under the child's mutex; an observation without a
 * flush is a lock, a clock read and an append.
 */
#include "metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_AGE     600.0
#define DEFAULT_AGE_BUCKETS 5
#define DEFAULT_BUF_CAP     500

typedef struct sample {
    double value, width, delta;
} sample;

typedef struct stream {
    sample *s;
    size_t n, cap;
    double count; /* observations merged in */
} stream;

typedef struct summary_data {
    size_t n_obj;
    prom_quantile *obj; /* sorted by quantile */
    /* For allowed(): with the objectives sorted by quantile, the ones at or
     * below rank r are a prefix; above_min[k] is the least 2e/q of the first
     * k objectives, below_min[k] the least 2e/(1-q) of the others. */
    double *above_min, *below_min;
    double step; /* seconds each stream is ahead of the next */
    unsigned age_buckets;
    unsigned buf_cap;
    double *quantiles; /* render scratch: the objectives' quantiles and values */
    double *values;
} summary_data;

typedef struct summary_child {
    pm_child base;
    const summary_data *data;
    pthread_mutex_t lock;
    double sum;
    uint64_t count;
    double *buf; /* buffered observations, buf_cap of them */
    size_t buf_n;
    double buf_exp; /* when the buffer must be flushed at the latest */
    stream *streams;
    unsigned head;
    double head_exp; /* when the head stream is reset */
    sample *spare;   /* merge target, swapped with a stream's array */
    size_t spare_cap;
} summary_child;

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- CKMS */

/* The allowed rank error at rank r of n observations: the tightest of the
 * objectives' bounds, 2er/q for an objective at or below rank r and
 * 2e(n-r)/(1-q) for one above.  This is the hot spot of a flush, and a merge
 * or a compression walks r in one direction, so the caller keeps *k, the
 * number of objectives at or below r, and it moves by a step now and then. */
static inline double allowed(const summary_data *d, double n, double r, size_t *k)
{
    while (*k < d->n_obj && d->obj[*k].quantile * n <= r)
        (*k)++;
    while (*k > 0 && d->obj[*k - 1].quantile * n > r)
        (*k)--;
    double m = INFINITY, fa = r * d->above_min[*k], fb = (n - r) * d->below_min[*k];
    if (fa < m) /* written so that a NaN (0 * Inf) is passed over */
        m = fa;
    if (fb < m) m = fb;
    return m;
}

static bool reserve(sample **s, size_t *cap, size_t n)
{
    if (n <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < n)
        nc *= 2;
    sample *ns = realloc(*s, nc * sizeof *ns);
    if (ns == NULL) return false;
    *s = ns;
    *cap = nc;
    return true;
}

/* Merges the sorted batch v[0..n) into st, through *spare (swapped in). */
static bool merge(const summary_data *d, stream *st, const double *v, size_t n, sample **spare,
                  size_t *spare_cap)
{
    if (!reserve(spare, spare_cap, st->n + n)) return false;
    sample *out = *spare;
    size_t out_cap = *spare_cap;
    size_t k = 0, i = 0, kr = 0;
    double r = 0, count = st->count;
    for (size_t j = 0; j < n; j++) {
        while (i < st->n && st->s[i].value <= v[j]) {
            r += st->s[i].width;
            out[k++] = st->s[i++];
        }
        /* Inside the stream the new sample's rank is uncertain by what the
         * invariant allows there; appended at the end it is exact. */
        double delta = 0;
        if (i < st->n) {
            delta = floor(allowed(d, count, r, &kr)) - 1;
            delta = delta > 0 ? delta : 0;
        }
        out[k++] = (sample){v[j], 1, delta};
        count += 1;
        r += 1;
    }
    while (i < st->n)
        out[k++] = st->s[i++];
    *spare = st->s;
    *spare_cap = st->cap;
    st->s = out;
    st->cap = out_cap;
    st->n = k;
    st->count = count;
    return true;
}

/* Folds neighbours whose combined width the invariant allows, from the back. */
static void compress(const summary_data *d, stream *st)
{
    if (st->n < 2) return;
    size_t w = st->n - 1; /* where the current survivor goes */
    sample x = st->s[st->n - 1];
    double r = st->count - 1 - x.width;
    size_t k = d->n_obj;
    for (size_t i = st->n - 1; i-- > 0;) {
        sample c = st->s[i];
        if (c.width + x.width + x.delta <= allowed(d, st->count, r, &k)) {
            x.width += c.width;
        } else {
            st->s[w--] = x;
            x = c;
        }
        r -= c.width;
    }
    st->s[w] = x;
    st->n -= w;
    memmove(st->s, st->s + w, st->n * sizeof *st->s);
}

static double query(const summary_data *d, const stream *st, double q)
{
    if (st->n == 0) return NAN;
    double t = ceil(q * st->count);
    size_t k = 0;
    t += ceil(allowed(d, st->count, t, &k) / 2);
    const sample *p = &st->s[0];
    double r = 0;
    for (size_t i = 1; i < st->n; i++) {
        const sample *c = &st->s[i];
        r += p->width;
        if (r + c->width + c->delta > t) return p->value;
        p = c;
    }
    return p->value;
}

/* ---- Buffer, flush and window (child lock held) */

/* Sorts doubles ascending, NaNs last: a quicksort (median of three) that
 * finishes short runs with insertion sort.  Inline comparisons make it several
 * times faster than qsort() on the 500 values of a flush. */
static void sort_doubles(double *v, size_t n)
{
    size_t nan = 0;
    for (size_t i = 0; i < n; i++) /* NaNs compare with nothing: put them aside */
        if (!isnan(v[i])) v[nan++] = v[i];
    for (size_t i = nan; i < n; i++)
        v[i] = NAN;
    n = nan;
    while (n > 16) {
        double a = v[0], b = v[n / 2], c = v[n - 1];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (pivot < v[j])
                j--;
            if (i >= j) break;
            double t = v[i];
            v[i++] = v[j];
            v[j--] = t;
        }
        /* Recurse into the smaller side, loop on the larger: O(log n) stack. */
        if (j + 1 < n - j - 1) {
            sort_doubles(v, j + 1);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_doubles(v + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t k = i;
        for (; k > 0 && x < v[k - 1]; k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

/* Merges the buffer into every stream, then retires the head streams whose
 * time has passed (as client_golang's flushColdBuf and maybeRotateStreams). */
static void flush(summary_child *sc, double now)
{
    const summary_data *d = sc->data;
    while (now > sc->buf_exp)
        sc->buf_exp += d->step;
    if (sc->buf_n > 0) {
        sort_doubles(sc->buf, sc->buf_n);
        for (unsigned i = 0; i < d->age_buckets; i++) {
            stream *st = &sc->streams[i];
            /* Out of memory: this stream misses the batch; estimates degrade,
             * nothing breaks. */
            if (merge(d, st, sc->buf, sc->buf_n, &sc->spare, &sc->spare_cap)) compress(d, st);
        }
        sc->buf_n = 0;
    }
    while (sc->head_exp < sc->buf_exp) {
        stream *head = &sc->streams[sc->head];
        head->n = 0;
        head->count = 0;
        sc->head = (sc->head + 1) % d->age_buckets;
        sc->head_exp += d->step;
    }
}

static void fill_quantiles(summary_child *sc, double *values)
{
    const summary_data *d = sc->data;
    flush(sc, monotonic_now());
    const stream *head = &sc->streams[sc->head];
    for (size_t i = 0; i < d->n_obj; i++)
        values[i] = query(d, head, d->obj[i].quantile);
}

/* ---- The type */

static int child_init(pm_family *f, pm_child *c)
{
    summary_child *sc = (summary_child *)c;
    const summary_data *d = f->type_data;
    sc->data = d;
    pthread_mutex_init(&sc->lock, NULL);
    if (d->n_obj == 0) return 0;
    sc->buf = malloc(d->buf_cap * sizeof *sc->buf);
    sc->streams = calloc(d->age_buckets, sizeof *sc->streams);
    if (sc->buf == NULL || sc->streams == NULL) {
        free(sc->buf);
        free(sc->streams);
        pthread_mutex_destroy(&sc->lock);
        return pm_error(PROM_ENOMEM, "out of memory for summary \"%s\"", f->name);
    }
    sc->buf_exp = sc->head_exp = monotonic_now() + d->step;
    return 0;
}

static void child_destroy(pm_family *f, pm_child *c)
{
    summary_child *sc = (summary_child *)c;
    for (unsigned i = 0; sc->streams != NULL && i < sc->data->age_buckets; i++)
        free(sc->streams[i].s);
    free(sc->streams);
    free(sc->buf);
    free(sc->spare);
    pthread_mutex_destroy(&sc->lock);
}

static void child_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    summary_child *sc = (summary_child *)c;
    const summary_data *d = sc->data;
    pthread_mutex_lock(&sc->lock);
    if (d->n_obj > 0) fill_quantiles(sc, d->values);
    v->sum = sc->sum;
    v->count = sc->count;
    pthread_mutex_unlock(&sc->lock);
    v->n_quantiles = d->n_obj;
    v->quantiles = d->quantiles;
    v->quantile_values = d->values;
}

static void family_destroy(pm_family *f)
{
    summary_data *d = f->type_data;
    if (d == NULL) return;
    free(d->obj);
    free(d->above_min);
    free(d->below_min);
    free(d->quantiles);
    free(d->values);
    free(d);
}

static const pm_type_ops summary_ops = {
    .type = PROM_SUMMARY,
    .child_size = sizeof(summary_child),
    .child_init = child_init,
    .child_destroy = child_destroy,
    .child_view = child_view,
    .family_destroy = family_destroy,
};

static int cmp_objective(const void *a, const void *b)
{
    const prom_quantile *x = a, *y = b;
    return (x->quantile > y->quantile) - (x->quantile < y->quantile);
}

static int check_sopts(const char *name, const prom_summary_opts *so)
{
    if (so->n_objectives > 0 && so->objectives == NULL)
        return pm_error(PROM_EINVAL, "summary \"%s\": n_objectives is %zu but objectives is NULL",
                        name, so->n_objectives);
    for (size_t i = 0; i < so->n_objectives; i++) {
        double q = so->objectives[i].quantile, e = so->objectives[i].error;
        if (!(q >= 0 && q <= 1) || !(e >= 0 && e <= 1))
            return pm_error(PROM_EINVAL,
                            "summary \"%s\": objective %g with error %g is outside [0, 1]", name, q,
                            e);
        for (size_t k = 0; k < i; k++)
            if (so->objectives[k].quantile == q)
                return pm_error(PROM_EINVAL, "summary \"%s\": quantile %g is given twice", name, q);
    }
    if (so->max_age_seconds < 0 || isnan(so->max_age_seconds))
        return pm_error(PROM_EINVAL, "summary \"%s\": max age %g is negative", name,
                        so->max_age_seconds);
    return 0;
}

static summary_data *data_new(const prom_summary_opts *so)
{
    summary_data *d = calloc(1, sizeof *d);
    if (d == NULL) return NULL;
    size_t n = so->n_objectives;
    d->n_obj = n;
    d->obj = malloc((n + 1) * sizeof *d->obj);
    d->above_min = malloc((n + 1) * sizeof *d->above_min);
    d->below_min = malloc((n + 1) * sizeof *d->below_min);
    d->quantiles = malloc((n + 1) * sizeof *d->quantiles);
    d->values = malloc((n + 1) * sizeof *d->values);
    if (d->obj == NULL || d->above_min == NULL || d->below_min == NULL || d->quantiles == NULL ||
        d->values == NULL) {
        pm_family tmp = {.type_data = d};
        family_destroy(&tmp);
        return NULL;
    }
    if (n > 0) memcpy(d->obj, so->objectives, n * sizeof *d->obj);
    qsort(d->obj, n, sizeof *d->obj, cmp_objective);
    d->above_min[0] = d->below_min[n] = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const prom_quantile *o = &d->obj[i];
        d->quantiles[i] = o->quantile;
        d->above_min[i + 1] = fmin(d->above_min[i], 2 * o->error / o->quantile);
    }
    for (size_t i = n; i-- > 0;) {
        const prom_quantile *o = &d->obj[i];
        d->below_min[i] = fmin(d->below_min[i + 1], 2 * o->error / (1 - o->quantile));
    }
    double max_age = so->max_age_seconds > 0 ? so->max_age_seconds : DEFAULT_MAX_AGE;
    d->age_buckets = so->age_buckets > 0 ? so->age_buckets : DEFAULT_AGE_BUCKETS;
    d->buf_cap = so->buf_cap > 0 ? so->buf_cap : DEFAULT_BUF_CAP;
    d->step = max_age / d->age_buckets;
    return d;
}

prom_summary *prom_summary_new(const prom_opts *opts, const prom_summary_opts *sopts)
{
    prom_summary_opts none = {0};
    if (sopts == NULL) sopts = &none;
    const char *name = opts != NULL && opts->name != NULL ? opts->name : "";
    if (check_sopts(name, sopts) < 0) return NULL;
    summary_data *d = data_new(sopts);
    if (d == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    pm_family *f = pm_family_new(&summary_ops, opts, "quantile", d);
    return f != NULL ? pm_family_handle(f) : NULL;
}

prom_summary *prom_summary_labels(prom_summary *family, ...)
{
    va_list ap;
    va_start(ap, family);
    pm_child *c = pm_lookupv(family, ap);
    va_end(ap);
    return (prom_summary *)c;
}

prom_summary *prom_summary_labels_v(prom_summary *family, const char *const values[], size_t n)
{
    return (prom_summary *)pm_lookup(family, values, n);
}

int prom_summary_remove(prom_summary *family, const char *const values[], size_t n)
{
    return pm_remove(family, values, n);
}

void prom_summary_clear(prom_summary *family)
{
    pm_clear(family);
}

int prom_summary_observe(prom_summary *s, double v)
{
    pm_child *c = pm_child_of(s);
    if (PM_UNLIKELY(c == NULL)) return pm_not_a_child(s, "prom_summary_observe");
    summary_child *sc = (summary_child *)c;
    pthread_mutex_lock(&sc->lock);
    sc->sum += v;
    sc->count++;
    if (sc->data->n_obj > 0) {
        double now = monotonic_now();
        if (now > sc->buf_exp) flush(sc, now);
        sc->buf[sc->buf_n++] = v;
        if (sc->buf_n == sc->data->buf_cap) flush(sc, now);
    }
    pthread_mutex_unlock(&sc->lock);
    return 0;
}

uint64_t prom_summary_count(const prom_summary *s)
{
    summary_child *sc = (summary_child *)pm_child_of((void *)s);
    if (sc == NULL) return 0;
    pthread_mutex_lock(&sc->lock);
    uint64_t n = sc->count;
    pthread_mutex_unlock(&sc->lock);
    return n;
}

double prom_summary_sum(const prom_summary *s)
{
    summary_child *sc = (summary_child *)pm_child_of((void *)s);
    if (sc == NULL) return NAN;
    pthread_mutex_lock(&sc->lock);
    double v = sc->sum;
    pthread_mutex_unlock(&sc->lock);
    return v;
}

double prom_summary_quantile(const prom_summary *s, double q)
{
    summary_child *sc = (summary_child *)pm_child_of((void *)s);
    if (sc == NULL) return NAN;
    const summary_data *d = sc->data;
    double v = NAN;
    pthread_mutex_lock(&sc->lock);
    for (size_t i = 0; i < d->n_obj; i++) {
        if (d->obj[i].quantile == q) {
            flush(sc, monotonic_now());
            v = query(d, &sc->streams[sc->head], q);
        }
    }
    pthread_mutex_unlock(&sc->lock);
    return v;
}
