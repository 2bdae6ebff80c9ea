/*
 * info.c - OpenMetrics info and stateset metrics, see metrics.h.
 *
 * Both change rarely and as a whole, so a change takes the family's mutex,
 * the same one a render holds while it reads the children: a scrape never
 * sees half an info label set or two states of an enum true at once.
 */
#include "metric.h"

#include <stdlib.h>
#include <string.h>

/* ---- Info */

typedef struct info_child {
    pm_child base;
    prom_label *labels; /* sorted by name, one allocation with the strings */
    size_t n;
} info_child;

static void info_destroy(pm_family *f, pm_child *c)
{
    free(((info_child *)c)->labels);
}

static void info_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    info_child *ic = (info_child *)c;
    v->value = 1;
    v->info_labels = ic->labels;
    v->n_info_labels = ic->n;
}

static const pm_type_ops info_ops = {
    .type = PROM_INFO,
    .child_size = sizeof(info_child),
    .child_destroy = info_destroy,
    .child_view = info_view,
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

prom_info *prom_info_new(const prom_opts *opts)
{
    if (opts != NULL && opts->name != NULL && ends_with(opts->name, "_info")) {
        pm_error(PROM_EINVAL, "info metric \"%s\": give the name without \"_info\", which is added",
                 opts->name);
        return NULL;
    }
    pm_family *f = pm_family_new(&info_ops, opts, NULL, NULL);
    return f != NULL ? pm_family_handle(f) : NULL;
}

prom_info *prom_info_labels(prom_info *family, ...)
{
    va_list ap;
    va_start(ap, family);
    pm_child *c = pm_lookupv(family, ap);
    va_end(ap);
    return (prom_info *)c;
}

prom_info *prom_info_labels_v(prom_info *family, const char *const values[], size_t n)
{
    return (prom_info *)pm_lookup(family, values, n);
}

int prom_info_remove(prom_info *family, const char *const values[], size_t n)
{
    return pm_remove(family, values, n);
}

void prom_info_clear(prom_info *family)
{
    pm_clear(family);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const prom_label *)a)->name, ((const prom_label *)b)->name);
}

static int check_info_labels(const pm_family *f, const prom_label *labels, size_t n)
{
    if (n > 0 && labels == NULL)
        return pm_error(PROM_EINVAL, "info \"%s\": %zu labels given but the array is NULL", f->name,
                        n);
    for (size_t i = 0; i < n; i++) {
        int rc = pm_check_label_name(labels[i].name, NULL);
        if (rc < 0) return rc;
        if (labels[i].value == NULL)
            return pm_error(PROM_EINVAL, "info \"%s\": label \"%s\" has no value", f->name,
                            labels[i].name);
        for (size_t k = 0; k < f->n_all; k++)
            if (strcmp(labels[i].name, f->all_names[k]) == 0)
                return pm_error(PROM_EINVAL,
                                "info \"%s\": label \"%s\" is already a label of "
                                "the family",
                                f->name, labels[i].name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(labels[i].name, labels[k].name) == 0)
                return pm_error(PROM_EINVAL, "info \"%s\": label \"%s\" is given twice", f->name,
                                labels[i].name);
    }
    return 0;
}

/* One allocation: the pairs sorted by name, then the strings. */
static prom_label *copy_labels(const prom_label *labels, size_t n)
{
    size_t bytes = (n + 1) * sizeof(prom_label);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(labels[i].name) + strlen(labels[i].value) + 2;
    prom_label *out = malloc(bytes);
    if (out == NULL) return NULL;
    char *p = (char *)(out + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(labels[i].name) + 1, vl = strlen(labels[i].value) + 1;
        out[i].name = memcpy(p, labels[i].name, nl);
        out[i].value = memcpy(p + nl, labels[i].value, vl);
        p += nl + vl;
    }
    qsort(out, n, sizeof *out, cmp_label);
    return out;
}

int prom_info_set(prom_info *info, const prom_label *labels, size_t n)
{
    pm_child *c = pm_child_of(info);
    if (c == NULL) return pm_not_a_child(info, "prom_info_set");
    int rc = check_info_labels(c->family, labels, n);
    if (rc < 0) return rc;
    prom_label *copy = copy_labels(labels, n);
    if (copy == NULL) return pm_error(PROM_ENOMEM, "out of memory");
    info_child *ic = (info_child *)c;
    pthread_mutex_lock(&c->family->lock);
    prom_label *old = ic->labels;
    ic->labels = copy;
    ic->n = n;
    pthread_mutex_unlock(&c->family->lock);
    free(old);
    return 0;
}

/* ---- StateSet */

typedef struct stateset_data {
    size_t n;
    char **states;
} stateset_data;

typedef struct stateset_child {
    pm_child base;
    uint8_t *values; /* one per state, 0 or 1 */
} stateset_child;

static int stateset_init(pm_family *f, pm_child *c)
{
    const stateset_data *d = f->type_data;
    stateset_child *sc = (stateset_child *)c;
    sc->values = calloc(d->n + 1, 1);
    return sc->values != NULL ? 0 : pm_error(PROM_ENOMEM, "out of memory");
}

static void stateset_destroy(pm_family *f, pm_child *c)
{
    free(((stateset_child *)c)->values);
}

static void stateset_view(pm_family *f, pm_child *c, pm_metric_view *v)
{
    const stateset_data *d = f->type_data;
    v->states = (const char *const *)d->states;
    v->state_values = ((stateset_child *)c)->values;
    v->n_states = d->n;
}

static void stateset_family_destroy(pm_family *f)
{
    stateset_data *d = f->type_data;
    if (d == NULL) return;
    for (size_t i = 0; i < d->n; i++)
        free(d->states[i]);
    free(d->states);
    free(d);
}

static const pm_type_ops stateset_ops = {
    .type = PROM_STATESET,
    .child_size = sizeof(stateset_child),
    .child_init = stateset_init,
    .child_destroy = stateset_destroy,
    .child_view = stateset_view,
    .family_destroy = stateset_family_destroy,
};

static int check_states(const prom_opts *opts, const char *const states[], size_t n)
{
    const char *name = opts != NULL && opts->name != NULL ? opts->name : "";
    int rc = pm_check_label_name(name, NULL);
    if (rc < 0)
        return pm_error(PROM_EINVAL,
                        "stateset \"%s\": the name is also its state label, so it must be a valid "
                        "label name",
                        name);
    if (n == 0 || states == NULL)
        return pm_error(PROM_EINVAL, "stateset \"%s\" needs at least one state", name);
    for (size_t i = 0; i < n; i++) {
        if (states[i] == NULL || states[i][0] == '\0')
            return pm_error(PROM_EINVAL, "stateset \"%s\": state %zu is empty", name, i + 1);
        for (size_t k = 0; k < i; k++)
            if (strcmp(states[i], states[k]) == 0)
                return pm_error(PROM_EINVAL, "stateset \"%s\": state \"%s\" is given twice", name,
                                states[i]);
    }
    return 0;
}

prom_stateset *prom_stateset_new(const prom_opts *opts, const char *const states[], size_t n)
{
    if (check_states(opts, states, n) < 0) return NULL;
    stateset_data *d = calloc(1, sizeof *d);
    char **copy = calloc(n, sizeof *copy);
    bool ok = d != NULL && copy != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (copy[i] = strdup(states[i])) != NULL;
    if (!ok) {
        for (size_t i = 0; copy != NULL && i < n; i++)
            free(copy[i]);
        free(copy);
        free(d);
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    d->n = n;
    d->states = copy;
    pm_family *f = pm_family_new(&stateset_ops, opts, opts->name, d);
    return f != NULL ? pm_family_handle(f) : NULL;
}

prom_stateset *prom_stateset_labels(prom_stateset *family, ...)
{
    va_list ap;
    va_start(ap, family);
    pm_child *c = pm_lookupv(family, ap);
    va_end(ap);
    return (prom_stateset *)c;
}

prom_stateset *prom_stateset_labels_v(prom_stateset *family, const char *const values[], size_t n)
{
    return (prom_stateset *)pm_lookup(family, values, n);
}

int prom_stateset_remove(prom_stateset *family, const char *const values[], size_t n)
{
    return pm_remove(family, values, n);
}

void prom_stateset_clear(prom_stateset *family)
{
    pm_clear(family);
}

/* Sets state `state` to `value`; with `exclusive` every other state to 0. */
static int set_state(prom_stateset *s, const char *state, int value, bool exclusive,
                     const char *what)
{
    pm_child *c = pm_child_of(s);
    if (c == NULL) return pm_not_a_child(s, what);
    const stateset_data *d = c->family->type_data;
    size_t i = 0;
    while (i < d->n && (state == NULL || strcmp(d->states[i], state) != 0))
        i++;
    if (i == d->n)
        return pm_error(PROM_EINVAL, "%s: \"%s\" has no state \"%s\"", what, c->family->name,
                        state != NULL ? state : "(null)");
    stateset_child *sc = (stateset_child *)c;
    pthread_mutex_lock(&c->family->lock);
    if (exclusive) memset(sc->values, 0, d->n);
    sc->values[i] = value != 0;
    pthread_mutex_unlock(&c->family->lock);
    return 0;
}

int prom_stateset_set(prom_stateset *s, const char *state)
{
    return set_state(s, state, 1, true, "prom_stateset_set");
}

int prom_stateset_set_state(prom_stateset *s, const char *state, int value)
{
    return set_state(s, state, value, false, "prom_stateset_set_state");
}
