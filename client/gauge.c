/*
 * gauge.c - gauges, see metrics.h.
 *
 * A gauge is one atomic double (its bits in a uint64, so add can use
 * compare-and-swap): set must be seen by every thread at once, so per-thread
 * cells do not fit.  This is what client_golang does too.
 */
#include "metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gauge_child {
    pm_child base;
    _Atomic uint64_t bits;
    bool is_func;
} gauge_child;

typedef struct gauge_func {
    double (*fn)(void *);
    void *userdata;
} gauge_func;

static uint64_t to_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static double load(const gauge_child *g)
{
    return from_bits(atomic_load_explicit(&g->bits, memory_order_relaxed));
}

static void child_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    v->value = load((gauge_child *)c);
}

static const pm_type_ops gauge_ops = {
    .type = PROM_GAUGE,
    .child_size = sizeof(gauge_child),
    .child_view = child_view,
};

prom_gauge *prom_gauge_new(const prom_opts *opts)
{
    pm_family *f = pm_family_new(&gauge_ops, opts, NULL, NULL);
    return f != NULL ? pm_family_handle(f) : NULL;
}

prom_gauge *prom_gauge_labels(prom_gauge *family, ...)
{
    va_list ap;
    va_start(ap, family);
    pm_child *c = pm_lookupv(family, ap);
    va_end(ap);
    return (prom_gauge *)c;
}

prom_gauge *prom_gauge_labels_v(prom_gauge *family, const char *const values[], size_t n)
{
    return (prom_gauge *)pm_lookup(family, values, n);
}

int prom_gauge_remove(prom_gauge *family, const char *const values[], size_t n)
{
    return pm_remove(family, values, n);
}

void prom_gauge_clear(prom_gauge *family)
{
    pm_clear(family);
}

/* The gauge behind a handle into *out, or a negative status. */
static int writable(prom_gauge *g, const char *what, gauge_child **out)
{
    pm_child *c = pm_child_of(g);
    if (PM_UNLIKELY(c == NULL)) return pm_not_a_child(g, what);
    *out = (gauge_child *)c;
    if (PM_UNLIKELY((*out)->is_func))
        return pm_error(PROM_ESTATE, "%s: \"%s\" is a callback gauge", what, c->family->name);
    return 0;
}

int prom_gauge_set(prom_gauge *g, double v)
{
    gauge_child *gc;
    int rc = writable(g, "prom_gauge_set", &gc);
    if (PM_LIKELY(rc == 0)) atomic_store_explicit(&gc->bits, to_bits(v), memory_order_relaxed);
    return rc;
}

int prom_gauge_add(prom_gauge *g, double v)
{
    gauge_child *gc;
    int rc = writable(g, "prom_gauge_add", &gc);
    if (PM_UNLIKELY(rc < 0)) return rc;
    uint64_t old = atomic_load_explicit(&gc->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&gc->bits, &old, to_bits(from_bits(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    return 0;
}

int prom_gauge_sub(prom_gauge *g, double v)
{
    return prom_gauge_add(g, -v);
}

int prom_gauge_inc(prom_gauge *g)
{
    return prom_gauge_add(g, 1.0);
}

int prom_gauge_dec(prom_gauge *g)
{
    return prom_gauge_add(g, -1.0);
}

int prom_gauge_set_to_current_time(prom_gauge *g)
{
    return prom_gauge_set(g, pm_now());
}

double prom_gauge_value(const prom_gauge *g)
{
    pm_child *c = pm_child_of((void *)g);
    if (c == NULL) return NAN;
    const gauge_child *gc = (const gauge_child *)c;
    if (gc->is_func) {
        const gauge_func *gf = c->family->type_data;
        return gf->fn(gf->userdata);
    }
    return load(gc);
}

/* ---- Callback gauges */

static int func_child_init(pm_family *f, pm_child *c)
{
    ((gauge_child *)c)->is_func = true;
    return 0;
}

static void func_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    const gauge_func *gf = f->type_data;
    v->value = gf->fn(gf->userdata);
}

static void func_destroy(pm_family *f)
{
    free(f->type_data);
}

static const pm_type_ops gauge_func_ops = {
    .type = PROM_GAUGE,
    .child_size = sizeof(gauge_child),
    .child_init = func_child_init,
    .child_view = func_view,
    .family_destroy = func_destroy,
};

prom_gauge *prom_gauge_func_new(const prom_opts *opts, double (*fn)(void *), void *userdata)
{
    if (fn == NULL) {
        pm_error(PROM_EINVAL, "prom_gauge_func_new: the callback is NULL");
        return NULL;
    }
    if (opts != NULL && opts->n_labels > 0) {
        pm_error(PROM_EINVAL, "callback gauge \"%s\" cannot have labels",
                 opts->name ? opts->name : "");
        return NULL;
    }
    gauge_func *gf = malloc(sizeof *gf);
    if (gf == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    gf->fn = fn;
    gf->userdata = userdata;
    pm_family *f = pm_family_new(&gauge_func_ops, opts, NULL, gf);
    return f != NULL ? pm_family_handle(f) : NULL;
}
