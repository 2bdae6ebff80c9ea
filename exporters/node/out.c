/*
 * out.c - what a collector emits in one scrape, see node.h.
 *
 * Everything lives in the output's arena: families in a growable array, each
 * with its samples in another, the name index, and the strings, which are
 * copied in.  An array that grows moves to a block twice its size and leaves
 * the old one behind (at most as much again), which costs less than the
 * malloc and free of each array: a scrape makes some 300 families and 1,000
 * samples, and those calls were 6% of its time.  The scrape writes the
 * families itself in the text formats (expose.c); nx_out_replay() hands them
 * to libprom's emitter for the protobuf format.
 */
#include "out.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

void nx_out_init_sized(nx_out *o, const char *collector, size_t block)
{
    memset(o, 0, offsetof(nx_out, err)); /* the error text is set before it is read */
    o->err.msg[0] = '\0';
    o->failed = o->no_data = false;
    o->scrape = 0;
    core_arena_init(&o->arena, block);
    o->collector = collector;
    o->current = -1;
}

void nx_out_init(nx_out *o, const char *collector)
{
    nx_out_init_sized(o, collector, 16 * 1024);
}

void nx_out_destroy(nx_out *o)
{
    core_arena_destroy(&o->arena);
    memset(o, 0, offsetof(nx_out, err));
}

/* An array of n elements of `size` in the arena, with the `used` first of old copied. */
static void *grow(nx_out *o, const void *old, size_t used, size_t n, size_t size)
{
    void *p = core_arena_alloc(&o->arena, n * size);
    if (used > 0) memcpy(p, old, used * size);
    return p;
}

core_arena *nx_arena(nx_out *o)
{
    return &o->arena;
}

char *nx_sprintf(nx_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return core_arena_strdup(&o->arena, "");
    if ((size_t)n < sizeof tmp) return core_arena_strndup(&o->arena, tmp, (size_t)n);
    char *p = core_arena_alloc(&o->arena, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static size_t name_slot(const nx_out *o, const char *name)
{
    return core_hash_str(name) & (o->index_cap - 1);
}

static nx_fam *find_family(nx_out *o, const char *name)
{
    /* Collectors emit a family's samples together; the last one is the usual hit. */
    if (o->current >= 0 && strcmp(o->families[o->current].name, name) == 0)
        return &o->families[o->current];
    if (o->index_cap == 0) return NULL;
    for (size_t i = name_slot(o, name);; i = (i + 1) & (o->index_cap - 1)) {
        uint32_t k = o->index[i];
        if (k == 0) return NULL;
        if (strcmp(o->families[k - 1].name, name) == 0) {
            o->current = (ptrdiff_t)k - 1;
            return &o->families[k - 1];
        }
    }
}

/* Records family number idx in the index, growing it to stay under half full. */
static void index_add(nx_out *o, size_t idx)
{
    if ((o->n_families + 1) * 2 > o->index_cap) {
        o->index_cap = o->index_cap ? o->index_cap * 2 : 32;
        o->index = core_arena_calloc(&o->arena, o->index_cap, sizeof *o->index);
        for (size_t i = 0; i < o->n_families; i++)
            index_add(o, i);
    }
    size_t i = name_slot(o, o->families[idx].name);
    while (o->index[i] != 0)
        i = (i + 1) & (o->index_cap - 1);
    o->index[i] = (uint32_t)idx + 1;
}

void nx_family(nx_out *o, const char *name, const char *help, prom_type type,
               const char *const *labels)
{
    if (find_family(o, name) != NULL) return;
    if (o->n_families == o->cap_families) {
        o->cap_families = o->cap_families ? o->cap_families * 2 : 8;
        o->families = grow(o, o->families, o->n_families, o->cap_families, sizeof *o->families);
    }
    nx_fam *f = &o->families[o->n_families];
    memset(f, 0, sizeof *f);
    f->name = core_arena_strdup(&o->arena, name);
    f->help = core_arena_strdup(&o->arena, help != NULL ? help : "");
    f->type = type;
    size_t n = 0;
    while (labels != NULL && labels[n] != NULL)
        n++;
    f->n_labels = n;
    f->labels = core_arena_alloc(&o->arena, (n + 1) * sizeof *f->labels);
    for (size_t i = 0; i < n; i++)
        f->labels[i] = core_arena_strdup(&o->arena, labels[i]);
    f->labels[n] = NULL;
    index_add(o, o->n_families);
    o->current = (ptrdiff_t)o->n_families++;
}

static nx_sample_rec *new_sample(nx_out *o, const char *const *values)
{
    if (o->current < 0) {
        nx_warn(o, "a sample before any family");
        return NULL;
    }
    nx_fam *f = &o->families[o->current];
    if (f->n_samples == f->cap_samples) {
        f->cap_samples = f->cap_samples ? f->cap_samples * 2 : 2;
        f->samples = grow(o, f->samples, f->n_samples, f->cap_samples, sizeof *f->samples);
    }
    nx_sample_rec *s = &f->samples[f->n_samples];
    memset(s, 0, sizeof *s);
    s->values = core_arena_alloc(&o->arena, (f->n_labels + 1) * sizeof *s->values);
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = values != NULL ? values[i] : NULL;
        s->values[i] = v != NULL ? core_arena_strdup(&o->arena, v) : NULL; /* NULL: absent */
    }
    f->n_samples++;
    return s;
}

void nx_sample(nx_out *o, double value, const char *const *label_values)
{
    nx_sample_rec *s = new_sample(o, label_values);
    if (s != NULL) s->value = value;
}

void nx_samplev(nx_out *o, double value, ...)
{
    const char *values[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, value);
    const char *v;
    while (n < 31 && (v = va_arg(ap, const char *)) != NULL)
        values[n++] = v;
    va_end(ap);
    values[n] = NULL;
    nx_sample(o, value, values);
}

void nx_gauge(nx_out *o, const char *name, const char *help, double value)
{
    nx_family(o, name, help, PROM_GAUGE, NULL);
    nx_sample(o, value, NULL);
}

void nx_counter(nx_out *o, const char *name, const char *help, double value)
{
    nx_family(o, name, help, PROM_COUNTER, NULL);
    nx_sample(o, value, NULL);
}

void nx_histogram(nx_out *o, const char *const *label_values, const double *bounds,
                  const uint64_t *cumulative, size_t n_buckets, double sum)
{
    nx_sample_rec *s = new_sample(o, label_values);
    if (s == NULL) return;
    s->n = n_buckets;
    s->bounds = core_arena_alloc(&o->arena, n_buckets * sizeof *s->bounds);
    s->counts = core_arena_alloc(&o->arena, n_buckets * sizeof *s->counts);
    memcpy(s->bounds, bounds, n_buckets * sizeof *s->bounds);
    memcpy(s->counts, cumulative, n_buckets * sizeof *s->counts);
    s->sum = sum;
}

void nx_summary(nx_out *o, const char *const *label_values, const double *quantiles,
                const double *values, size_t n, double sum, uint64_t count)
{
    nx_sample_rec *s = new_sample(o, label_values);
    if (s == NULL) return;
    s->n = n;
    s->bounds = core_arena_alloc(&o->arena, (n + 1) * sizeof *s->bounds);
    s->qvalues = core_arena_alloc(&o->arena, (n + 1) * sizeof *s->qvalues);
    if (n > 0) {
        memcpy(s->bounds, quantiles, n * sizeof *s->bounds);
        memcpy(s->qvalues, values, n * sizeof *s->qvalues);
    }
    s->sum = sum;
    s->count = count;
}

int nx_error(nx_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_err_setv(&o->err, fmt, ap);
    va_end(ap);
    o->failed = true;
    return -1;
}

int nx_no_data(nx_out *o, const char *fmt, ...)
{
    /* Only ever logged at debug level: formatted only when that is on (a
     * dozen collectors find nothing on a typical host, every scrape). */
    if (core_log_enabled(CORE_LOG_DEBUG)) {
        va_list ap;
        va_start(ap, fmt);
        core_err_setv(&o->err, fmt, ap);
        va_end(ap);
    } else {
        snprintf(o->err.msg, sizeof o->err.msg, "no data");
    }
    o->failed = o->no_data = true;
    return -1;
}

void nx_warn(nx_out *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core_warn("collector", msg, "collector", o->collector);
}

void nx_out_replay(const nx_out *o, prom_emitter *e)
{
    for (size_t i = 0; i < o->n_families; i++) {
        const nx_fam *f = &o->families[i];
        if (f->n_samples == 0) continue;
        if (prom_emit_family(e, f->name, f->help, f->type, NULL, (const char *const *)f->labels,
                             f->n_labels) < 0) {
            core_warn("collector", "family dropped", "collector", o->collector, "family", f->name,
                      "err", prom_last_error());
            continue;
        }
        for (size_t k = 0; k < f->n_samples; k++) {
            const nx_sample_rec *s = &f->samples[k];
            const char *const *values = (const char *const *)s->values;
            if (f->type == PROM_HISTOGRAM)
                prom_emit_histogram(e, values, s->bounds, s->counts, s->n, s->sum);
            else if (f->type == PROM_SUMMARY)
                prom_emit_summary(e, values, s->bounds, s->qvalues, s->n, s->sum, s->count);
            else
                prom_emit_value(e, values, s->value);
        }
    }
}
