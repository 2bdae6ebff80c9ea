/*
 * counter.c - counters, see metrics.h.
 *
 * A counter child owns one per-thread cell; inc and add touch only the calling
 * thread's cell.  A callback counter has no cell: its value comes from the
 * user's function at render time.  Exemplars live in a separately allocated
 * slot, so a counter that never gets one pays a pointer for it.
 */
#include "metric.h"

#include <math.h>
#include <stdlib.h>

/* Callback counters use the same layout with no cell, so the hot path tells
 * them apart with the slot it loads anyway. */
#define NO_SLOT UINT32_MAX

typedef struct counter_child {
    pm_child base;
    uint32_t slot;
    _Atomic(pm_exemplar *) exemplar;
} counter_child;

typedef struct counter_func {
    double (*fn)(void *);
    void *userdata;
} counter_func;

static int child_init(pm_family *f, pm_child *c)
{
    counter_child *cc = (counter_child *)c;
    int64_t slot = pm_slots_alloc(1);
    if (slot < 0) return pm_error(PROM_ENOMEM, "out of memory for the cells of \"%s\"", f->name);
    cc->slot = (uint32_t)slot;
    return 0;
}

static void child_destroy(pm_family *f, pm_child *c)
{
    counter_child *cc = (counter_child *)c;
    pm_slots_free(cc->slot, 1);
    pm_exemplar_free(&cc->exemplar);
}

static double read_cell(uint32_t slot)
{
    double v;
    pm_cells_lock();
    pm_cells_sum(slot, 1, false, &v);
    pm_cells_unlock();
    return v;
}

static void child_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    counter_child *cc = (counter_child *)c;
    static __thread pm_exemplar_buf buf; /* a family renders one child at a time */
    v->value = read_cell(cc->slot);
    v->exemplar = pm_exemplar_read(&cc->exemplar, &buf);
}

static const pm_type_ops counter_ops = {
    .type = PROM_COUNTER,
    .child_size = sizeof(counter_child),
    .child_init = child_init,
    .child_destroy = child_destroy,
    .child_view = child_view,
};

prom_counter *prom_counter_new(const prom_opts *opts)
{
    pm_family *f = pm_family_new(&counter_ops, opts, NULL, NULL);
    return f != NULL ? pm_family_handle(f) : NULL;
}

prom_counter *prom_counter_labels(prom_counter *family, ...)
{
    va_list ap;
    va_start(ap, family);
    pm_child *c = pm_lookupv(family, ap);
    va_end(ap);
    return (prom_counter *)c;
}

prom_counter *prom_counter_labels_v(prom_counter *family, const char *const values[], size_t n)
{
    return (prom_counter *)pm_lookup(family, values, n);
}

int prom_counter_remove(prom_counter *family, const char *const values[], size_t n)
{
    return pm_remove(family, values, n);
}

void prom_counter_clear(prom_counter *family)
{
    pm_clear(family);
}

static int add(prom_counter *c, double v, const char *what)
{
    pm_child *child = pm_child_of(c);
    if (PM_UNLIKELY(child == NULL)) return pm_not_a_child(c, what);
    uint32_t slot = ((counter_child *)child)->slot;
    if (PM_UNLIKELY(slot == NO_SLOT))
        return pm_error(PROM_ESTATE, "%s: \"%s\" is a callback counter", what, child->family->name);
    pm_word *w = pm_cells(slot);
    if (PM_UNLIKELY(w == NULL))
        return pm_error(PROM_ENOMEM, "out of memory for this thread's cells");
    pm_word_add(w, v);
    return 0;
}

int prom_counter_inc(prom_counter *c)
{
    return add(c, 1.0, "prom_counter_inc");
}

int prom_counter_add(prom_counter *c, double v)
{
    if (PM_UNLIKELY(!(v >= 0)))
        return pm_error(PROM_EINVAL, "prom_counter_add: a counter cannot go down (add %g)", v);
    return add(c, v, "prom_counter_add");
}

int prom_counter_add_exemplar(prom_counter *c, double v, const prom_label *labels, size_t n)
{
    if (!(v >= 0))
        return pm_error(PROM_EINVAL, "prom_counter_add_exemplar: a counter cannot go down (add %g)",
                        v);
    int rc = pm_exemplar_check(labels, n);
    if (rc < 0) return rc;
    if ((rc = add(c, v, "prom_counter_add_exemplar")) < 0) return rc;
    return pm_exemplar_store(&((counter_child *)c)->exemplar, v, labels, n);
}

double prom_counter_value(const prom_counter *c)
{
    pm_child *child = pm_child_of((void *)c);
    if (child == NULL) return NAN;
    if (((const counter_child *)child)->slot == NO_SLOT) {
        const counter_func *cf = child->family->type_data;
        return cf->fn(cf->userdata);
    }
    return read_cell(((const counter_child *)child)->slot);
}

/* ---- Callback counters */

static void func_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    const counter_func *cf = f->type_data;
    v->value = cf->fn(cf->userdata);
}

static int func_child_init(pm_family *f, pm_child *c)
{
    ((counter_child *)c)->slot = NO_SLOT;
    return 0;
}

static void func_destroy(pm_family *f)
{
    free(f->type_data);
}

static const pm_type_ops counter_func_ops = {
    .type = PROM_COUNTER,
    .child_size = sizeof(counter_child),
    .child_init = func_child_init,
    .child_view = func_view,
    .family_destroy = func_destroy,
};

prom_counter *prom_counter_func_new(const prom_opts *opts, double (*fn)(void *), void *userdata)
{
    if (fn == NULL) {
        pm_error(PROM_EINVAL, "prom_counter_func_new: the callback is NULL");
        return NULL;
    }
    if (opts != NULL && opts->n_labels > 0) {
        pm_error(PROM_EINVAL, "callback counter \"%s\" cannot have labels",
                 opts->name ? opts->name : "");
        return NULL;
    }
    counter_func *cf = malloc(sizeof *cf);
    if (cf == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    cf->fn = fn;
    cf->userdata = userdata;
    pm_family *f = pm_family_new(&counter_func_ops, opts, NULL, cf);
    return f != NULL ? pm_family_handle(f) : NULL;
}
